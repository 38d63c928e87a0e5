//! End-to-end evidence: each test provokes one bottleneck on purpose in real containers and
//! checks that the lab names it, both as a flag (connect-retries, cpu-throttled,
//! loadgen-bound) and as the cell's verdict (connect-queue, server-cpu, loadgen, workload),
//! and that exact per-cell peaks (threads, open connections) come through for short cells.

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

fn verdict(c: &serde_json::Value) -> &str {
    c["verdict"]["limiter"].as_str().unwrap_or("none")
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
/// ab's timeout is long (60 s): SYN retries back off 1, 2, 4, 8, 16 s, and on a loaded
/// machine every waiting connection can sit in one back-off longer than ab's 20 s default
/// poll without an event (exit 119), which is the machine's load, not what is tested.
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
loadgen: { requests: 1000, concurrency: [100], timeout: 60s }
workloads:
  - { name: cpu, path: /cpu/100 }
"#,
    );
    let b5 = cell(&cells, "b5");
    let b1024 = cell(&cells, "b1024");
    assert!(flags(b5).contains(&"connect-retries".to_string()), "{b5}");
    assert!(
        b5["report"]["connection_times"]["connect"]["max"]
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
    // The verdicts: SYN retries decide the first (unless its starved event loop also
    // dropped 1% or more of the requests, which the errors verdict names first), the
    // 0.2-CPU quota the second.
    assert!(["connect-queue", "errors"].contains(&verdict(b5)), "{b5}");
    assert_eq!(verdict(b1024), "server-cpu", "{b1024}");
    assert!(
        b1024["verdict"]["evidence"]
            .as_str()
            .unwrap()
            .contains("of 0.2 cores"),
        "{b1024}"
    );
}

/// A fast keep-alive server with every CPU of the host and an ab allowed a fifth of a
/// core: ab is the bottleneck, and its exact CPU time says so.
#[test]
fn starved_ab_gets_loadgen_bound() {
    if !docker_available("starved_ab_gets_loadgen_bound") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cells = run_lab(
        "abbound",
        &format!(
            r#"warmup: 1000
pin: off
servers:
  - {{ name: async, model: async, port: 45000 }}
resources: {{ cpus: {cpus}, memory: 128m, pids: 512 }}
loadgen: {{ cpus: 0.2, requests: 20000, concurrency: [50], keepalive: true, timeout: 10s }}
workloads:
  - {{ name: hello, path: / }}
"#
        ),
    );
    let c = cell(&cells, "async");
    assert_eq!(c["report"]["keepalive_requests"], 20000, "{c}");
    assert!(flags(c).contains(&"loadgen-bound".to_string()), "{c}");
    assert_eq!(verdict(c), "loadgen", "{c}");
    assert!(c["verdict"]["advice"]
        .as_str()
        .unwrap()
        .contains("keep-alive"));
    // The evidence: ab's own CPU seconds (rusage) and its container's throttling.
    let ab_cpu_s = c["tool_usage"]["cpu_s"].as_f64().unwrap();
    assert!(ab_cpu_s > 0.0, "{c}");
    let lg = &c["loadgen_resources"];
    let throttled = lg["throttled_periods"].as_f64().unwrap() / lg["periods"].as_f64().unwrap();
    assert!(
        throttled >= 0.25,
        "ab's quota should have throttled it: {lg}"
    );
    // The server, with every CPU, was not the limit.
    assert!(!flags(c).contains(&"cpu-throttled".to_string()), "{c}");
}

/// A route that sleeps 200 ms at c = 50: Little's law says 250 req/s, the CPUs idle, and
/// the verdict is the workload's own wait.
#[test]
fn a_sleep_route_is_workload_bound_by_littles_law() {
    if !docker_available("a_sleep_route_is_workload_bound_by_littles_law") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cells = run_lab(
        "littles",
        r#"warmup: 0
servers:
  - { name: async, model: async, port: 45000 }
resources: { cpus: 1, memory: 128m }
loadgen: { requests: 1000, concurrency: [50], keepalive: true, timeout: 10s }
workloads:
  - { name: io, path: /sleep/200 }
"#,
    );
    let c = cell(&cells, "async");
    assert_eq!(verdict(c), "workload", "{c}");
    let rps = c["report"]["requests_per_second"].as_f64().unwrap();
    let predicted = 50.0 / 0.2;
    assert!(
        (rps / predicted - 1.0).abs() <= 0.10,
        "Little's law: {rps} req/s vs {predicted}"
    );
    assert!(c["verdict"]["evidence"]
        .as_str()
        .unwrap()
        .contains("Little's law"));
}

/// With 500 keep-alive connections at once, the thread model runs ~500 threads and the
/// async model stays at its worker count. The cell lasts a fraction of a second, far too
/// short for 1 Hz sampling: the peaks come from the servers' own `/metrics`.
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
loadgen: { requests: 1000, concurrency: [500], keepalive: true, timeout: 20s }
workloads:
  - { name: io, path: /sleep/100 }
"#,
    );
    let thread = cell(&cells, "thread");
    let asyn = cell(&cells, "async");
    for c in [thread, asyn] {
        assert_eq!(c["status"], "ok", "{c}");
        assert_eq!(c["report"]["complete_requests"], 1000);
        eprintln!(
            "{}: cell of {} s, peak threads {}, peak connections {}",
            c["server"],
            c["report"]["time_taken_s"],
            c["server_metrics"]["threads_peak"],
            c["server_metrics"]["connections_peak"]
        );
    }
    let peak = |c: &serde_json::Value, what: &str| c["server_metrics"][what].as_u64().unwrap();
    assert!(peak(thread, "threads_peak") >= 450, "{thread}");
    assert!(peak(thread, "connections_peak") >= 450, "{thread}");
    assert!(peak(asyn, "connections_peak") >= 450, "{asyn}");
    assert!(peak(asyn, "threads_peak") <= 4, "async workers: {asyn}");
    // The server counted every request ab sent (the scrapes themselves are not counted).
    assert_eq!(peak(thread, "requests"), 1000, "{thread}");
}
