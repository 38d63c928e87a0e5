//! The `lab` commands that need no Docker: parse-ab, check, report errors.

mod common;

use common::*;

fn fixture(name: &str) -> String {
    workspace()
        .join("loadgen/tests/fixtures/ab")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn parse_ab_prints_the_documented_json() {
    let o = lab(&["parse-ab", &fixture("plain-200-n1000-c10-quiet.txt")]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for key in [
        "server_software",
        "server_hostname",
        "server_port",
        "document_path",
        "document_length",
        "concurrency",
        "time_taken_s",
        "complete_requests",
        "failed_requests",
        "failed_breakdown",
        "write_errors",
        "non_2xx",
        "keepalive_requests",
        "total_transferred",
        "html_transferred",
        "requests_per_second",
        "time_per_request_ms",
        "time_per_request_all_ms",
        "transfer_rate_kbps",
        "connection_times",
        "percentiles",
        "warnings",
    ] {
        assert!(v.get(key).is_some(), "missing {key} in {v}");
    }
    assert_eq!(v["complete_requests"], 1000);
    assert_eq!(v["concurrency"], 10);
    assert!(v["non_2xx"].is_null());
    assert!(v["connection_times"]["connect"]["max"].is_number());
    assert!(v["percentiles"]["99"].is_number());
}

#[test]
fn parse_ab_without_a_report_exits_1_with_one_line() {
    let o = lab(&["parse-ab", &fixture("conn-refused.txt")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("Connection refused"), "{err}");
    assert!(o.stdout.is_empty());
}

#[test]
fn check_prints_the_plan_of_the_default_lab() {
    let o = lab(&["check", "lab.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("up to 160 cells, up to 480 s of load"),
        "{out}"
    );
    assert!(out.contains("runs of 3s (the steady-state policy"), "{out}");
    assert!(out.contains("lab.yaml: ok"), "{out}");
}

#[test]
fn check_accepts_every_example() {
    let dir = workspace().join("examples");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "yaml") {
            let o = lab(&["check", p.to_str().unwrap()]);
            assert!(o.status.success(), "{}: {}", p.display(), text(&o));
            n += 1;
        }
    }
    assert!(n >= 1, "no examples in {}", dir.display());
}

#[test]
fn missing_lab_file_is_one_line_naming_it() {
    let o = lab(&["check", "no-such-lab.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no-such-lab.yaml") && err.trim().lines().count() == 1,
        "{err}"
    );
}

/// `lab check FILE` fails with exit 2 and one line on stderr; the line is returned.
fn check_fails(file: &str) -> String {
    let o = lab(&["check", file]);
    assert_eq!(o.status.code(), Some(2), "{file}: {}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr).trim().to_string();
    assert_eq!(err.lines().count(), 1, "{file}: {err}");
    assert!(o.stdout.is_empty(), "{file}: {}", text(&o));
    err
}

#[test]
fn check_refuses_unreadable_and_oversized_files_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.yaml");
    let default = std::fs::read_to_string(workspace().join("lab.yaml")).unwrap();
    std::fs::write(&big, format!("{default}#{}\n", "x".repeat(1 << 20))).unwrap();
    let big = big.to_str().unwrap();
    let e = check_fails(big);
    assert!(
        e.contains(big) && e.contains("too large for a lab file"),
        "{e}"
    );

    let e = check_fails("/dev/null");
    assert!(e.contains("/dev/null: it is a character device"), "{e}");
    let e = check_fails("examples");
    assert!(e.contains("examples: it is a directory"), "{e}");
}

#[test]
fn check_refuses_an_alias_bomb_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let default = std::fs::read_to_string(workspace().join("lab.yaml")).unwrap();
    let bomb = format!("x-arg: &a \"{}\"\n{default}", "y".repeat(1000)).replace(
        "  - { name: thread, model: thread, port: 46000 }",
        &format!(
            "  - {{ name: thread, model: thread, port: 46000, args: [{}] }}",
            vec!["*a"; 500].join(", ")
        ),
    );
    let file = dir.path().join("bomb.yaml");
    std::fs::write(&file, bomb).unwrap();
    let e = check_fails(file.to_str().unwrap());
    assert!(
        e.contains("servers[1].args[") && e.contains("alias bomb"),
        "{e}"
    );
}

#[test]
fn check_refuses_values_that_would_fail_at_run_time_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let default = std::fs::read_to_string(workspace().join("lab.yaml")).unwrap();
    for (from, to, needle) in [
        (
            "\nresources: { cpus: 0.25,",
            "\nresources: { cpus: 0.001,",
            "resources.cpus: 0.001 is less than 0.01",
        ),
        (
            "warmup: 1000",
            "warmup: 18446744073709551615",
            "warmup: 18446744073709551615 is more than",
        ),
        (
            "name: baseline",
            "name: \"base\\tline\"",
            "name: `base\\tline` contains '\\t'",
        ),
        (
            "{ name: async, model: async,",
            "{ name: async, image: \"Nginx\",",
            "lowercase (`nginx`)",
        ),
    ] {
        assert!(default.contains(from), "{from}");
        let file = dir.path().join("lab.yaml");
        std::fs::write(&file, default.replacen(from, to, 1)).unwrap();
        let e = check_fails(file.to_str().unwrap());
        assert!(e.contains(needle), "{to}: {e}");
    }
}

#[test]
fn parse_ab_of_a_report_without_its_failure_count_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let report = std::fs::read_to_string(fixture("plain-200-n1000-c10-quiet.txt")).unwrap();
    let file = dir.path().join("ab.txt");
    std::fs::write(&file, report.replace("Failed requests:        0\n", "")).unwrap();
    let o = lab(&["parse-ab", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("unusable ab report: no `Failed requests` line"),
        "{err}"
    );
}

#[test]
fn report_of_a_folder_without_results_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let o = lab(&["report", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("results.json"));
}

/// A copy of a fixture run with `edit` applied to its results.json.
fn edited_run(edit: impl Fn(&mut serde_json::Value)) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let src = workspace().join("loadgen/tests/fixtures/runs/a-baseline");
    let mut results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("results.json")).unwrap()).unwrap();
    edit(&mut results);
    std::fs::write(run.join("results.json"), results.to_string()).unwrap();
    std::fs::copy(src.join("meta.json"), run.join("meta.json")).unwrap();
    (dir, run)
}

#[test]
fn report_refuses_an_absurd_figure_instead_of_drawing_it_forever() {
    // A connect mean of 1.7e308 in every cell once kept `lab report` at 100% CPU for ever.
    let (_dir, run) = edited_run(|r| {
        for cell in r["cells"].as_array_mut().unwrap() {
            if cell["ab"].is_object() {
                cell["ab"]["connection_times"]["connect"]["mean"] = 1.7e308.into();
            }
        }
    });
    let o = lab_within(
        &["report", run.to_str().unwrap()],
        std::time::Duration::from_secs(120),
    )
    .expect("lab report did not finish");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cells[0].ab.connection_times.connect.mean: 1.7e308 is not a figure"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!run.join("report.md").exists());
}

/// `lab parse-ab` on `text` written to a file.
fn parse_ab_text(text: &[u8]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("ab.txt");
    std::fs::write(&f, text).unwrap();
    lab(&["parse-ab", f.to_str().unwrap()])
}

#[test]
fn parse_ab_reads_a_bounded_amount_of_an_endless_file() {
    let o = lab_within(
        &["parse-ab", "/dev/zero"],
        std::time::Duration::from_secs(120),
    )
    .expect("lab parse-ab /dev/zero did not finish");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("more than 1048576 bytes"), "{err}");
}

#[test]
fn parse_ab_never_prints_control_bytes_from_its_input() {
    let o = parse_ab_text(
        b"Benchmarking x\x1b[31m red\x00 (be patient)\napr_socket_recv: \x1b]0;pwned\x07 (104)\n",
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("\\u{1b}]0;pwned\\u{7}"), "{err}");
    assert!(!o.stderr.iter().any(|&b| b < 0x20 && b != b'\n'), "{err:?}");
}

#[test]
fn parse_ab_refuses_inconsistent_and_concatenated_reports() {
    let good = std::fs::read_to_string(fixture("plain-200-n1000-c10-quiet.txt")).unwrap();
    let cases = [
        (
            good.replace("Failed requests:        0", "Failed requests:        5000"),
            "failed requests (5000) exceed complete requests + 10 (1010)",
        ),
        (format!("{good}{good}"), "is given twice (lines"),
        (
            good.replace(
                "Requests per second:    ",
                "Requests per second:    1e308 #",
            ),
            "figure no run can produce",
        ),
    ];
    for (input, needle) in cases {
        let o = parse_ab_text(input.as_bytes());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{needle}: {}", text(&o));
        assert!(err.contains(needle), "{needle}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn check_refuses_image_names_that_are_not_references() {
    let dir = tempfile::tempdir().unwrap();
    let default = std::fs::read_to_string(workspace().join("lab.yaml")).unwrap();
    for bad in ["--privileged", "-x", "../x", "x@sha256:zz", "x:y:z"] {
        let file = dir.path().join("lab.yaml");
        let text = default.replacen("image: \"httpd:2.4\"", &format!("image: \"{bad}\""), 1);
        assert_ne!(text, default);
        std::fs::write(&file, text).unwrap();
        let e = check_fails(file.to_str().unwrap());
        assert!(
            e.contains(&format!(
                "loadgen.image: `{bad}` is not an image reference ([host[:port]/]name[:tag][@digest])"
            )),
            "{bad}: {e}"
        );
    }
}
