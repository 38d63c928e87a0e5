//! oha end to end (issue 14): the lab builds the oha image offline (once), sends open-loop
//! load at fixed rates, and tells a rate the server kept up with from one it could not.
//!
//! One lab run covers it, to keep CI short: a server at 1 CPU and one at 0.2 CPU, both on
//! `/cpu/100`, each offered 50 req/s (modest: both must achieve it within 5%), 50% of its
//! own measured capacity, and 5000 req/s (far above what 0.2 CPU can serve: flagged
//! `rate-shortfall`). The oha image is built by the first test that needs it and found by
//! every later one: [`oha_image`] runs `lab images` once per test process, and the lab
//! itself skips the build when the image or its kept binary exists.

mod common;

use std::sync::OnceLock;

use common::*;

const LAB: &str = r#"warmup: 50
servers:
  - { name: one-cpu, model: async, port: 45000, args: ["--workers", "1"] }
  - { name: fifth-cpu, model: async, port: 45000, args: ["--workers", "1"], resources: { cpus: 0.2 } }
resources: { cpus: 1.0, memory: 128m, pids: 512 }
loadgen: { tool: oha, rate: [50, 50%, 5000], duration: 3s, concurrency: 20, keepalive: true, timeout: 10s }
workloads:
  - { name: cpu, path: /cpu/100 }
"#;

/// Build (or find) `lab/oha:<version>` once for this test process: `lab images` on a lab
/// file that names oha. Returns the build's output for the first caller's diagnostics.
fn oha_image() -> &'static Result<(), String> {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let file = lab_file(
            dir.path(),
            "oha-image.yaml",
            &format!("name: oha-image\n{LAB}"),
        );
        let o = lab(&["images", file.to_str().unwrap()]);
        if o.status.success() {
            Ok(())
        } else {
            Err(text(&o))
        }
    })
}

fn cell<'a>(cells: &'a [serde_json::Value], server: &str, rate: &str) -> &'a serde_json::Value {
    cells
        .iter()
        .find(|c| c["server"] == server && c["rate"].to_string().trim_matches('"') == rate)
        .unwrap_or_else(|| panic!("no cell {server} at {rate}"))
}

fn flags(c: &serde_json::Value) -> Vec<&str> {
    c["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect()
}

/// achieved ÷ offered of a cell, from what results.json recorded.
fn achieved_share(c: &serde_json::Value) -> f64 {
    let offered = c["offered_rps"].as_f64().unwrap();
    let oha = &c["report"];
    let answers: u64 = oha["status_codes"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    answers as f64 / oha["total_s"].as_f64().unwrap() / offered
}

#[test]
fn open_loop_cells_achieve_a_modest_rate_and_flag_one_the_server_cannot_take() {
    if !docker_available("open_loop_cells_achieve_a_modest_rate") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(out) = oha_image() {
        panic!("lab images could not build the oha image:\n{out}");
    }
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("results");
    let yaml = format!("name: open-loop-e2e\noutput: {}\n{LAB}", out_dir.display());
    let file = lab_file(dir.path(), "open-loop-e2e.yaml", &yaml);
    let o = lab(&["run", file.to_str().unwrap()]);
    // Every cell must measure (exit 3 would mean some failed).
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let run = only_run(&out_dir);
    let results = results_json(&run);
    assert_eq!(
        leftovers(results["run_id"].as_str().unwrap()),
        Vec::<String>::new()
    );
    let cells = results["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 6, "2 servers × 3 rates");

    for c in cells {
        assert_eq!(c["status"], "ok", "{c}");
        assert_eq!(c["command"][0], "oha");
        assert!(c["command"]
            .as_array()
            .unwrap()
            .contains(&"--latency-correction".into()));
        // Every cell keeps oha's raw JSON.
        let raw = std::fs::read_to_string(run.join(c["raw_stdout"].as_str().unwrap())).unwrap();
        assert!(raw.contains("\"latencyPercentiles\""), "{raw}");
        assert!(c["report"]["latency_ms"]["99.9"].as_f64().is_some(), "{c}");
    }

    // A modest rate: achieved within 5%, and not flagged.
    for server in ["one-cpu", "fifth-cpu"] {
        let c = cell(cells, server, "50");
        let share = achieved_share(c);
        assert!(
            (0.95..=1.05).contains(&share),
            "{server}: achieved {share} of 50 req/s: {c}"
        );
        assert!(!flags(c).contains(&"rate-shortfall"), "{c}");
        assert_eq!(c["verdict"]["limiter"], "offered-rate", "{c}");
    }

    // Far above 0.2 CPU's capacity: not achieved, and flagged.
    let over = cell(cells, "fifth-cpu", "5000");
    assert!(achieved_share(over) < 0.95, "{over}");
    assert!(flags(over).contains(&"rate-shortfall"), "{over}");

    // A percentage resolves against each server's own capacity, measured first.
    let one = cell(cells, "one-cpu", "50%");
    let fifth = cell(cells, "fifth-cpu", "50%");
    for c in [one, fifth] {
        let capacity = c["capacity_rps"].as_f64().unwrap();
        let offered = c["offered_rps"].as_f64().unwrap();
        assert!((offered - capacity / 2.0).abs() < 1e-6, "{c}");
    }
    assert!(
        one["capacity_rps"].as_f64() > fifth["capacity_rps"].as_f64(),
        "1 CPU must serve more than 0.2 CPU: {one} {fifth}"
    );
    assert!(run
        .join("raw/g0-fifth-cpu-cpu-ka-c20-capacity.json")
        .is_file());

    // Where it came from, and the reports: latency vs offered rate, achieved vs offered.
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("meta.json")).unwrap()).unwrap();
    assert!(
        meta["ab_version"].as_str().unwrap().starts_with("oha "),
        "{meta}"
    );
    assert!(
        meta["loadgen_image_source"]
            .as_str()
            .unwrap()
            .contains("crates.io"),
        "{meta}"
    );
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("Offered rate"), "{report}");
    assert!(report.contains("rate-shortfall"), "{report}");
    assert!(run.join("charts/latency-rate-g0-cpu-ka-c20.svg").is_file());
    assert!(run.join("charts/achieved-g0-cpu-ka-c20.svg").is_file());
    let csv = std::fs::read_to_string(run.join("results.csv")).unwrap();
    assert!(csv.lines().next().unwrap().contains("offered_rps"));

    // The second build is a no-op: the image is found, not rebuilt.
    let again = lab(&["images", file.to_str().unwrap()]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(!text(&again).contains("building oha"), "{}", text(&again));
}
