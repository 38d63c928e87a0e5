//! `loadgen.processes` on real containers (issue 22): one cell's load sent by several ab
//! processes in the load generator's container, merged exactly.
//!
//! Without keep-alive, ab spends more CPU per request (connect, close) than the async
//! server spends answering it, so a server at 1 CPU is faster than one ab process can
//! show: that process is saturated and the cell is `loadgen`. Given two CPUs
//! (`loadgen.cpus: 2`, `processes: auto`), two ab processes send more requests per
//! second. Runs of one and two processes alternate (this machine's speed drifts 10–20% in
//! minutes: only side-by-side ratios mean anything); one of the one-process runs is
//! checked with `--confirm`, which puts its `loadgen` verdict to twice the processes.
//! Then the record is checked against
//! the raw files: each process's output and per-request file kept, counts summed, and the
//! merged latency percentiles equal to the nearest-rank percentiles of the union of every
//! request's total time in the raw `-g` files.

mod common;

use std::path::Path;

use common::*;

fn lab_yaml(output: &Path, name: &str, processes: &str) -> String {
    format!(
        "name: {name}\noutput: {}\nrepeat: 1\nwarmup: 200\npin: off\n\
         servers:\n  - {{ name: async, model: async, port: 45000 }}\n\
         resources: {{ cpus: 1, memory: 128m }}\n\
         loadgen: {{ cpus: 2, concurrency: 20, keepalive: false, processes: {processes} }}\n\
         workloads:\n  - {{ name: hello, path: / }}\n",
        output.display()
    )
}

/// One run of `file` (with `extra` arguments): its folder, its one cell and its checks.
fn run_one(file: &Path, output: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "run",
        file.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ];
    args.extend(extra);
    let o = lab(&args);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let run = only_run(output);
    let mut results = results_json(&run);
    let cell = results["cells"][0].take();
    assert_eq!(cell["status"], "ok", "{cell:#}");
    let checks = results["confirmations"].take();
    serde_json::json!({ "run": run, "cell": cell, "confirmations": checks })
}

/// The total times (ms) of every request in a gzipped ab `-g` file.
fn request_times(path: &Path) -> Vec<u64> {
    requests_tsv(path)
        .iter()
        .map(|row| row[4].parse().unwrap())
        .collect()
}

/// Nearest-rank percentile of sorted values.
fn nearest_rank(sorted: &[u64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank - 1] as f64
}

#[test]
fn two_processes_outrun_one_and_their_merge_equals_the_raw_requests() {
    if !docker_available("two_processes_outrun_one_and_their_merge_equals_the_raw_requests") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let one = lab_file(dir.path(), "one.yaml", &lab_yaml(dir.path(), "one", "1"));
    let two = lab_file(dir.path(), "two.yaml", &lab_yaml(dir.path(), "two", "auto"));
    let (mut ones, mut twos) = (Vec::new(), Vec::new());
    for round in 0..2 {
        // The second one-process run checks its verdict: twice the processes.
        let confirm: &[&str] = if round == 1 { &["--confirm"] } else { &[] };
        let out = dir.path().join(format!("one-{round}"));
        ones.push(run_one(&one, &out, confirm));
        twos.push(run_one(&two, &dir.path().join(format!("two-{round}")), &[]));
    }
    let rps = |runs: &[serde_json::Value]| -> Vec<f64> {
        runs.iter()
            .map(|r| r["cell"]["steady"]["rps"].as_f64().expect("steady rps"))
            .collect()
    };
    let (r1, r2) = (rps(&ones), rps(&twos));
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    eprintln!("req/s, rounds interleaved: one process {r1:?}, two processes {r2:?}");
    assert!(
        mean(&r2) > 1.1 * mean(&r1),
        "two ab processes should send more than one: {r2:?} vs {r1:?}"
    );
    for r in &ones {
        let cell = &r["cell"];
        assert!(cell.get("processes").is_none(), "one process: {cell:#}");
        assert_eq!(
            cell["verdict"]["limiter"], "loadgen",
            "one ab process is the slower side: {:#}",
            cell["verdict"]
        );
    }

    // `--confirm` puts the loadgen verdict to twice the processes: more req/s, not refuted.
    let check = &ones[1]["confirmations"][0];
    assert_eq!(
        check["change"], "load generator processes 1 → 2",
        "{check:#}"
    );
    assert_ne!(check["confirmed"], false, "{check:#}");
    assert!(
        check["after_rps"].as_f64() > check["control_rps"].as_f64(),
        "{check:#}"
    );

    // The record of a two-process cell against its raw files.
    let run = Path::new(twos[1]["run"].as_str().unwrap());
    let cell = &twos[1]["cell"];
    let processes = cell["processes"]
        .as_array()
        .expect("two processes recorded");
    assert_eq!(processes.len(), 2, "auto with loadgen.cpus 2: {cell:#}");
    let mut times = Vec::new();
    let mut complete = 0;
    for p in processes {
        assert_eq!(p["exit_code"], 0, "{p:#}");
        let c: Vec<&str> = p["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(
            c[c.iter().position(|a| *a == "-c").unwrap() + 1],
            "10",
            "{c:?}"
        );
        let out = std::fs::read_to_string(run.join(p["raw_stdout"].as_str().unwrap())).unwrap();
        assert!(out.contains("Requests per second"), "{out}");
        assert!(p["usage"]["cpu_s"].as_f64().unwrap() > 0.0, "{p:#}");
        let own = request_times(&run.join(p["raw_requests"].as_str().unwrap()));
        assert_eq!(own.len() as u64, p["complete"].as_u64().unwrap());
        complete += own.len() as u64;
        times.extend(own);
    }
    assert_ne!(
        processes[0]["raw_stdout"], processes[1]["raw_stdout"],
        "each process's output kept"
    );
    let m = &cell["measurement"];
    assert_eq!(m["complete"].as_u64(), Some(complete), "counts summed");
    times.sort_unstable();
    for p in ["50", "90", "99", "100"] {
        assert_eq!(
            m["latency_ms"][p].as_f64(),
            Some(nearest_rank(&times, p.parse().unwrap())),
            "p{p} of the union of {} requests: {m:#}",
            times.len()
        );
    }
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(
        report.contains("sent by one process per CPU the load generator may use"),
        "the report says how the load was sent"
    );
    assert!(
        report.contains("p2 stdout"),
        "and links every process's output"
    );
}
