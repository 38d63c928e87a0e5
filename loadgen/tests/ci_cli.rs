//! The lab in CI without Docker (issue 26): thresholds judged again by `lab report` on a
//! recorded run (exit 4, the report section, a JUnit file checked element by element), a
//! bad threshold in a lab file, and `lab history` finding a step in five runs.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use loadgen::config::thresholds::{bound, Selector, Threshold};

fn fixture_run(name: &str) -> PathBuf {
    workspace().join("loadgen/tests/fixtures/runs").join(name)
}

fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn write_json(p: &Path, v: &serde_json::Value) {
    std::fs::write(p, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

/// async's req/s at concurrency `c` in the fixture run, per repetition.
fn fixture_rps(run: &serde_json::Value, server: &str, c: u64) -> Vec<f64> {
    run["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["server"] == server && x["concurrency"] == c && x["status"] == "ok")
        .map(|x| x["ab"]["requests_per_second"].as_f64().unwrap())
        .collect()
}

/// The fixture run copied into `dir` with `thresholds` recorded in its lab file.
fn run_with_thresholds(dir: &Path, thresholds: &[Threshold]) -> PathBuf {
    let run = dir.join("run");
    copy_dir(&fixture_run("a-baseline"), &run);
    let path = run.join("results.json");
    let mut v = read_json(&path);
    v["config"]["thresholds"] = serde_json::to_value(thresholds).unwrap();
    write_json(&path, &v);
    run
}

fn threshold(server: &str, concurrency: u32, checks: &[&str]) -> Threshold {
    Threshold {
        select: Selector {
            server: Some(server.into()),
            concurrency: Some(concurrency),
            ..Selector::default()
        },
        checks: checks.iter().map(|c| bound(c).unwrap()).collect(),
    }
}

#[test]
fn lab_report_judges_thresholds_exits_4_and_writes_a_junit_file() {
    let dir = tempfile::tempdir().unwrap();
    let recorded = read_json(&fixture_run("a-baseline").join("results.json"));
    let rps = fixture_rps(&recorded, "async", 10);
    let (min, max) = rps
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
    let mut sorted = rps.clone();
    sorted.sort_by(f64::total_cmp);
    let (pass, fail, open) = (
        format!("rps > {}", (min * 0.8).floor()),
        format!("rps > {}", (max * 1.5).ceil()),
        format!("rps > {}", sorted[1]),
    );
    let run = run_with_thresholds(
        dir.path(),
        &[threshold(
            "async",
            10,
            &[&pass, &fail, &open, "errors == 0"],
        )],
    );
    let junit = dir.path().join("junit.xml");
    let o = lab(&[
        "report",
        run.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("thresholds: 2 passed, 1 failed, 1 inconclusive"),
        "{out}"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("1 of 4 threshold checks failed"),
        "one line says why the exit is 4: {err}"
    );
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    let section = report.split("## Thresholds").nth(1).expect("the section");
    // The check as written (HTML-escaped inside the table's code span), with its outcome.
    let fail_shown = fail.replace('>', "&gt;");
    assert!(
        section.contains(&fail_shown) && section.contains("| fail |"),
        "{section}"
    );
    assert!(section.contains("| inconclusive |") && section.contains("straddles"));
    assert!(std::fs::read_to_string(run.join("report.html"))
        .unwrap()
        .contains("id=\"thresholds\""));

    let suites = junit_shape(&std::fs::read_to_string(&junit).unwrap());
    assert_eq!(suites.len(), 1);
    let s = &suites[0];
    assert_eq!(s.name, "thresholds");
    assert_eq!((s.tests, s.failures, s.skipped), (4, 1, 1));
    assert_eq!(s.cases.len(), 4);
    let failed: Vec<&Case> = s.cases.iter().filter(|c| c.failure.is_some()).collect();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].name.ends_with(&fail), "{}", failed[0].name);
    assert!(failed[0].failure.as_ref().unwrap().contains("none of it >"));
    assert_eq!(s.cases.iter().filter(|c| c.skipped.is_some()).count(), 1);

    // Thresholds that all pass: exit 0, and the JUnit file says so.
    let dir = tempfile::tempdir().unwrap();
    let run = run_with_thresholds(dir.path(), &[threshold("async", 10, &[&pass])]);
    let o = lab(&[
        "report",
        run.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let suites = junit_shape(&std::fs::read_to_string(&junit).unwrap());
    assert_eq!(
        (suites[0].tests, suites[0].failures, suites[0].skipped),
        (1, 0, 0)
    );
}

/// What a JUnit consumer reads: suites with counts, test cases, failures and skips.
#[derive(Debug, Default)]
struct Suite {
    name: String,
    tests: usize,
    failures: usize,
    skipped: usize,
    cases: Vec<Case>,
}

#[derive(Debug, Default)]
struct Case {
    name: String,
    failure: Option<String>,
    skipped: Option<String>,
}

/// Parse the document with an XML parser and check the common JUnit shape: one
/// `testsuites` root whose counts add up, `testsuite` children with `name`, `tests`,
/// `failures`, `skipped`, `errors`, `time`; `testcase` children with `classname`, `name`,
/// `time`, holding at most a `failure message=…` or a `skipped message=…`.
fn junit_shape(xml: &str) -> Vec<Suite> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let attr = |e: &quick_xml::events::BytesStart, key: &str| -> Option<String> {
        e.attributes()
            .map(|a| a.unwrap())
            .find(|a| a.key.as_ref() == key.as_bytes())
            .map(|a| {
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .unwrap()
                    .to_string()
            })
    };
    let mut suites: Vec<Suite> = Vec::new();
    let mut root: Option<(usize, usize, usize)> = None;
    let mut stack: Vec<String> = Vec::new();
    loop {
        let ev = reader.read_event().unwrap();
        let (e, empty) = match &ev {
            Event::Start(e) => (e.clone(), false),
            Event::Empty(e) => (e.clone(), true),
            Event::End(_) => {
                stack.pop();
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let tag = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
        let parent = stack.last().map(String::as_str);
        let num = |k: &str| -> usize {
            attr(&e, k)
                .unwrap_or_else(|| panic!("<{tag}> lacks {k}"))
                .parse()
                .unwrap()
        };
        match (tag.as_str(), parent) {
            ("testsuites", None) => {
                root = Some((num("tests"), num("failures"), num("skipped")));
                assert_eq!(num("errors"), 0);
            }
            ("testsuite", Some("testsuites")) => {
                attr(&e, "time").unwrap().parse::<f64>().unwrap();
                assert_eq!(num("errors"), 0);
                suites.push(Suite {
                    name: attr(&e, "name").unwrap(),
                    tests: num("tests"),
                    failures: num("failures"),
                    skipped: num("skipped"),
                    cases: Vec::new(),
                });
            }
            ("testcase", Some("testsuite")) => {
                assert!(attr(&e, "classname").is_some_and(|c| !c.is_empty()));
                attr(&e, "time").unwrap().parse::<f64>().unwrap();
                suites.last_mut().unwrap().cases.push(Case {
                    name: attr(&e, "name").unwrap(),
                    ..Case::default()
                });
            }
            ("failure", Some("testcase")) => {
                let case = suites.last_mut().unwrap().cases.last_mut().unwrap();
                assert!(case.failure.is_none() && case.skipped.is_none());
                case.failure = Some(attr(&e, "message").expect("failure message"));
            }
            ("skipped", Some("testcase")) => {
                let case = suites.last_mut().unwrap().cases.last_mut().unwrap();
                assert!(case.failure.is_none() && case.skipped.is_none());
                case.skipped = Some(attr(&e, "message").expect("skipped message"));
            }
            (other, parent) => panic!("unexpected <{other}> in {parent:?}"),
        }
        if !empty {
            stack.push(tag);
        }
    }
    let (tests, failures, skipped) = root.expect("a <testsuites> root");
    for s in &suites {
        assert_eq!(s.tests, s.cases.len(), "{s:?}");
        assert_eq!(
            s.failures,
            s.cases.iter().filter(|c| c.failure.is_some()).count()
        );
        assert_eq!(
            s.skipped,
            s.cases.iter().filter(|c| c.skipped.is_some()).count()
        );
    }
    assert_eq!(tests, suites.iter().map(|s| s.tests).sum::<usize>());
    assert_eq!(failures, suites.iter().map(|s| s.failures).sum::<usize>());
    assert_eq!(skipped, suites.iter().map(|s| s.skipped).sum::<usize>());
    suites
}

#[test]
fn a_bad_threshold_names_file_line_column_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = [
        "name: ci",
        "servers:",
        "  - { name: async, model: async, port: 45000 }",
        "resources: { cpus: 1, memory: 64m }",
        "loadgen: { requests: 100, concurrency: [1, 10] }",
        "workloads:",
        "  - { name: hello, path: / }",
        "thresholds:",
        "  - { server: async, check: [p99 < 5ms, rps >> 100] }",
        "  - { server: asink, check: p99 < 5 }",
        "",
    ]
    .join("\n");
    let file = lab_file(dir.path(), "ci.yaml", &yaml);
    let o = lab(&["check", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        err.trim(),
        format!(
            "error: {}:9:41: thresholds[0].check[1]: `>>` is not a comparison; use <, <=, >, >= or ==",
            file.display()
        )
    );
    let fixed = yaml.replace("rps >> 100", "rps > 100");
    std::fs::write(&file, &fixed).unwrap();
    let err = String::from_utf8_lossy(&lab(&["check", file.to_str().unwrap()]).stderr).to_string();
    assert!(
        err.contains(":10:15: thresholds[1].server: `asink` is not a server this file runs; use one of: async"),
        "{err}"
    );
    std::fs::write(&file, fixed.replace("server: asink", "server: async")).unwrap();
    let err = String::from_utf8_lossy(&lab(&["check", file.to_str().unwrap()]).stderr).to_string();
    assert!(
        err.contains(":10:29: thresholds[1].check: `5` has no unit; write e.g. 5ms"),
        "{err}"
    );
    std::fs::write(
        &file,
        fixed.replace(
            "server: asink, check: p99 < 5 ",
            "server: async, check: p99 < 5ms ",
        ),
    )
    .unwrap();
    let o = lab(&["check", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("[0] server=async: p99 < 5ms, rps > 100"),
        "{out}"
    );
}

/// Five runs of the same lab file, one a day, made from the recorded fixture run: each run
/// gets its own id, start time and commit, and every cell a small run-to-run jitter (±1%,
/// as repeated runs on one machine show); from the third run on, thread at c=100 serves
/// 40% fewer requests a second with a 60% longer p99 (a commit that made it slower).
fn five_runs(dir: &Path) -> Vec<PathBuf> {
    let jitter = [0.0, 0.01, -0.01, 0.005, -0.005];
    (0..5)
        .map(|i| {
            let run = dir.join(format!("run{i}"));
            copy_dir(&fixture_run("a-baseline"), &run);
            let path = run.join("results.json");
            let mut v = read_json(&path);
            v["run_id"] = format!("2026030{}-101500-baseline", i + 1).into();
            v["started_at"] = format!("2026-03-0{}T10:15:00Z", i + 1).into();
            for (k, cell) in v["cells"].as_array_mut().unwrap().iter_mut().enumerate() {
                if !cell["ab"].is_object() {
                    continue;
                }
                // Repetitions differ a little too (k: the cell's place in the run).
                let mut speed = 1.0 + jitter[i] + 0.002 * (k % 3) as f64;
                let step = i >= 2 && cell["server"] == "thread" && cell["concurrency"] == 100;
                if step {
                    speed *= 0.6;
                }
                let ab = &mut cell["ab"];
                let rps = ab["requests_per_second"].as_f64().unwrap();
                ab["requests_per_second"] = (rps * speed).into();
                let t = ab["time_taken_s"].as_f64().unwrap();
                ab["time_taken_s"] = (t / speed).into();
                if let Some(p) = ab["percentiles"].as_object_mut() {
                    for (_, ms) in p.iter_mut() {
                        *ms = (ms.as_f64().unwrap() / speed).into();
                    }
                }
            }
            write_json(&path, &v);
            let meta_path = run.join("meta.json");
            let mut meta = read_json(&meta_path);
            meta["git_commit"] = format!("{:040x}", 0xc0ffee_u64 + i as u64).into();
            write_json(&meta_path, &meta);
            run
        })
        .collect()
}

#[test]
fn lab_history_finds_the_step_in_five_runs() {
    let dir = tempfile::tempdir().unwrap();
    let runs = five_runs(dir.path());
    let out_dir = dir.path().join("history");
    // Given out of order: `--order time` (the default) sorts them by start time.
    let mut args = vec!["history".to_string()];
    for i in [3, 0, 4, 1, 2] {
        args.push(runs[i].display().to_string());
    }
    args.extend(["--output".into(), out_dir.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = lab(&args);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let changes: Vec<&str> = out.lines().filter(|l| l.starts_with("change: ")).collect();
    assert_eq!(changes.len(), 2, "good req/s and p99 of one row: {out}");
    for c in &changes {
        assert!(
            c.starts_with("change: thread hello c=100 keep-alive off:"),
            "only the row that stepped: {c}"
        );
        assert!(c.contains("from run 3 (20260303-101500-baseline"), "{c}");
    }
    assert!(changes[0].contains("good req/s -4"), "{}", changes[0]);
    assert!(changes[1].contains("p99 ms +"), "{}", changes[1]);

    let md = std::fs::read_to_string(out_dir.join("history.md")).unwrap();
    assert!(md.contains("Mann–Whitney"), "the method is stated");
    assert!(md.contains("▼ good req/s"), "{md}");
    let html = std::fs::read_to_string(out_dir.join("history.html")).unwrap();
    assert!(html.contains("<svg"), "charts inline");
    let charts = std::fs::read_dir(out_dir.join("charts")).unwrap().count();
    assert_eq!(charts, md.matches("## ").count() - 1, "one chart per row");
}

#[test]
fn lab_history_orders_by_git_log() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let git = |args: &[&str]| {
        let o = std::process::Command::new("git")
            .current_dir(&repo)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    git(&["init", "-q"]);
    let mut commits = Vec::new();
    for i in 0..3 {
        git(&["commit", "-q", "--allow-empty", "-m", &format!("c{i}")]);
        commits.push(git(&["rev-parse", "HEAD"]));
    }
    // Run i measured commit 2 − i but started on day i + 1: time and git order disagree.
    let runs: Vec<PathBuf> = five_runs(dir.path()).into_iter().take(3).collect();
    for (i, run) in runs.iter().enumerate() {
        let p = run.join("meta.json");
        let mut meta = read_json(&p);
        meta["git_commit"] = commits[2 - i].clone().into();
        write_json(&p, &meta);
    }
    let out = dir.path().join("h");
    let history_in_git_order = || {
        std::process::Command::new(lab_bin())
            .current_dir(&repo)
            .args([
                "history",
                "--order",
                "git",
                "--output",
                out.to_str().unwrap(),
            ])
            .args(&runs)
            .output()
            .unwrap()
    };
    let o = history_in_git_order();
    assert!(o.status.success(), "{}", text(&o));
    let md = std::fs::read_to_string(out.join("history.md")).unwrap();
    let pos = |run: &str| md.find(run).unwrap_or_else(|| panic!("{run} in {md}"));
    assert!(
        pos("20260303-101500") < pos("20260302-101500")
            && pos("20260302-101500") < pos("20260301-101500"),
        "oldest commit first: {md}"
    );
    // A run whose commit is not in the log has no place in git order.
    let p = runs[0].join("meta.json");
    let mut meta = read_json(&p);
    meta["git_commit"] = "f".repeat(40).into();
    write_json(&p, &meta);
    let o = history_in_git_order();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not in `git log`"));
}
