//! End-to-end evidence flags: each test provokes one bottleneck on purpose in real containers
//! and checks the lab names it (connect-retries, cpu-throttled, loadgen-bound), and that the
//! thread model's thread count is visible.

mod common;

use common::*;

/// Run a lab file and return its results.json cells.
fn run_lab(name: &str, body: &str) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("results");
    let yaml = format!("name: {name}\noutput: {}\n{body}", out_dir.display());
    let file = lab_file(dir.path(), &format!("{name}.yaml"), &yaml);
    let o = lab(&["run", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let run = only_run(&out_dir);
    let results = results_json(&run);
    assert_eq!(
        leftovers(results["run_id"].as_str().unwrap()),
        Vec::<String>::new()
    );
    results["cells"].as_array().unwrap().clone()
}

fn cell<'a>(cells: &'a [serde_json::Value], server: &str) -> &'a serde_json::Value {
    cells.iter().find(|c| c["server"] == server).unwrap()
}

fn flags(c: &serde_json::Value) -> Vec<String> {
    c["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

/// The classic pathology: a single event loop busy with CPU work cannot accept, a listen
/// backlog of 5 overflows, and dropped SYNs come back after 1 s. The same server with the
/// default backlog shows no such connect times. Both run at 0.2 CPU and are throttled.
#[test]
fn backlog_5_gets_connect_retries_and_0_2_cpu_gets_throttled() {
    if !docker_available("backlog_5_gets_connect_retries") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cells = run_lab(
        "backlog",
        r#"warmup: 0
servers:
  - { name: b5, model: async, port: 45000, args: ["--backlog", "5", "--workers", "1"] }
  - { name: b1024, model: async, port: 45000, args: ["--workers", "1"] }
resources: { cpus: 0.2, memory: 128m, pids: 512 }
loadgen: { requests: 1000, concurrency: [100], timeout: 20s }
workloads:
  - { name: cpu, path: /cpu/100 }
"#,
    );
    let b5 = cell(&cells, "b5");
    let b1024 = cell(&cells, "b1024");
    assert!(flags(b5).contains(&"connect-retries".to_string()), "{b5}");
    assert!(
        b5["ab"]["connection_times"]["connect"]["max"]
            .as_f64()
            .unwrap()
            >= 1000.0
    );
    assert!(
        !flags(b1024).contains(&"connect-retries".to_string()),
        "{b1024}"
    );
    for c in [b5, b1024] {
        assert!(flags(c).contains(&"cpu-throttled".to_string()), "{c}");
        assert!(c["server_resources"]["throttled_periods"].as_u64().unwrap() > 0);
        assert_eq!(c["limits"]["cpus"], 0.2);
    }
}

/// A fast keep-alive server and an ab allowed a quarter of a core: ab is the bottleneck.
#[test]
fn starved_ab_gets_loadgen_bound() {
    if !docker_available("starved_ab_gets_loadgen_bound") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cells = run_lab(
        "abbound",
        r#"warmup: 1000
pin: auto
servers:
  - { name: async, model: async, port: 45000 }
resources: { cpus: 1, memory: 128m, pids: 512 }
loadgen: { cpus: 0.25, requests: 40000, concurrency: [50], keepalive: true, timeout: 10s }
workloads:
  - { name: hello, path: / }
"#,
    );
    let c = cell(&cells, "async");
    assert_eq!(c["ab"]["keepalive_requests"], 40000, "{c}");
    assert!(flags(c).contains(&"loadgen-bound".to_string()), "{c}");
    // The evidence behind the flag: ab ran at its quota, or was throttled by it.
    let lg = &c["loadgen_resources"];
    let ab_cpu = lg["cpu_cores_avg"].as_f64().unwrap();
    let throttled = lg["throttled_periods"].as_f64().unwrap() / lg["periods"].as_f64().unwrap();
    assert!(ab_cpu >= 0.9 * 0.25 || throttled >= 0.25, "ab: {lg}");
    // The server, on its own core with a whole CPU, was not the limit.
    assert!(!flags(c).contains(&"cpu-throttled".to_string()), "{c}");
}

/// With 1000 keep-alive connections held open, the thread model runs ~1000 threads; the
/// async model stays at its worker count.
#[test]
fn thread_model_runs_a_thread_per_connection() {
    if !docker_available("thread_model_runs_a_thread_per_connection") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cells = run_lab(
        "threads",
        r#"warmup: 0
pin: auto
servers:
  - { name: thread, model: thread, port: 46000 }
  - { name: async, model: async, port: 45000 }
resources: { cpus: 1, memory: 256m, pids: 4096 }
loadgen: { requests: 20000, concurrency: [1000], keepalive: true, timeout: 20s }
workloads:
  - { name: io, path: /sleep/100 }
"#,
    );
    let thread = cell(&cells, "thread");
    let asyn = cell(&cells, "async");
    for c in [thread, asyn] {
        assert_eq!(c["status"], "ok", "{c}");
        assert_eq!(c["ab"]["complete_requests"], 20000);
    }
    let thread_peak = thread["server_resources"]["pids_peak"].as_u64().unwrap();
    let async_peak = asyn["server_resources"]["pids_peak"].as_u64().unwrap();
    assert!(
        thread_peak >= 900,
        "thread model peak threads {thread_peak}"
    );
    assert!(async_peak <= 4, "async model peak threads {async_peak}");
}
