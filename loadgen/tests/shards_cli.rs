//! Split sweeps without Docker: `lab check --shard`, `lab shards`, and `lab merge` of shards
//! cut from a recorded run (the fixture `a-baseline`, split as `lab run --shard i/3` splits
//! it), which merge back into that run; every case the merge must refuse is refused in one
//! line with exit 2.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use loadgen::shard::split::{shard_point_ids, Shard};
use serde_json::{json, Value};

fn fixture_dir() -> PathBuf {
    workspace().join("loadgen/tests/fixtures/runs/a-baseline")
}

fn read(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn write(p: &Path, v: &Value) {
    std::fs::write(p, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

fn fingerprint(cpu: &str) -> Value {
    let host = json!({
        "cpu_model": cpu, "cpus": 2, "memory_bytes": 8_589_934_592i64, "kernel": "6.1.0",
        "engine": "Docker 20.10.24 (API 1.41)", "cgroup_version": "1"
    });
    json!({ "servers": host, "loadgen": host })
}

/// The fixture run cut into `count` shard folders under `dir`, as `lab run --shard` would
/// have written them (cells of the shard's points, meta.json with the sweep and the host).
fn cut(dir: &Path, count: u32) -> Vec<PathBuf> {
    let results = read(&fixture_dir().join("results.json"));
    let meta = read(&fixture_dir().join("meta.json"));
    let lab: loadgen::config::Lab = serde_json::from_value(results["config"].clone()).unwrap();
    Shard::all(count)
        .map(|shard| {
            let points = shard_point_ids(&lab, &shard);
            let folder = dir.join(format!("20261203-200000-baseline-shard-{}-of-{count}", shard.index));
            std::fs::create_dir_all(folder.join("raw")).unwrap();
            let mut r = results.clone();
            r["run_id"] = json!(folder.file_name().unwrap().to_str().unwrap());
            let cells: Vec<Value> = results["cells"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| {
                    let id = c["id"].as_str().unwrap();
                    let point = id.replacen(&format!("-{}-", c["server"].as_str().unwrap()), "-", 1);
                    let point = point.rsplit_once("-r").unwrap().0.to_string();
                    points.contains(&point)
                })
                .cloned()
                .collect();
            for c in &cells {
                for key in ["raw_stdout", "raw_stderr"] {
                    let rel = c[key].as_str().unwrap();
                    let from = fixture_dir().join(rel);
                    if from.exists() {
                        std::fs::copy(from, folder.join(rel)).unwrap();
                    }
                }
            }
            r["cells"] = json!(cells);
            write(&folder.join("results.json"), &r);
            let mut m = meta.clone();
            m["run_id"] = r["run_id"].clone();
            m["sweep"] = json!({ "lab_sha256": "5eed", "shard": { "index": shard.index, "count": count }, "points": points });
            m["fingerprint"] = fingerprint("Test CPU");
            write(&folder.join("meta.json"), &m);
            std::fs::write(folder.join("lab.yaml"), "name: baseline\n").unwrap();
            folder
        })
        .collect()
}

fn merge(dirs: &[&Path], output: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["merge".to_string()];
    args.extend(dirs.iter().map(|d| d.display().to_string()));
    args.extend(["--output".to_string(), output.display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    lab(&args)
}

#[test]
fn three_shards_merge_back_into_the_run_they_were_cut_from() {
    let dir = tempfile::tempdir().unwrap();
    let shards = cut(&dir.path().join("shards"), 3);
    let sizes: Vec<usize> = shards.iter().map(|s| cell_ids(s).len()).collect();
    assert_eq!(
        sizes,
        [6, 6, 12],
        "4 points: 1, 1 and 2 of them, 6 cells a point"
    );
    let out = dir.path().join("merged");
    // A folder holding the shard folders is as good as the folders themselves.
    let o = merge(&[&dir.path().join("shards")], &out, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "merged 3 shards (24 cells) into {}",
            out.display()
        )),
        "{}",
        text(&o)
    );
    assert_eq!(
        cell_ids(&out),
        cell_ids(&fixture_dir()),
        "every cell once, in the unsharded order"
    );
    let r = read(&out.join("results.json"));
    assert_eq!(r["status"], "complete");
    assert_eq!(r["run_id"], "merged");
    let meta = read(&out.join("meta.json"));
    assert_eq!(meta["shards"].as_array().unwrap().len(), 3);
    assert_eq!(
        meta["shards"][2]["points"],
        json!(["g0-hello-noka-c100", "g0-hello-noka-c1000"])
    );
    assert!(
        meta.get("sweep").is_none(),
        "the merged run is the whole sweep"
    );
    for raw in std::fs::read_dir(fixture_dir().join("raw")).unwrap() {
        assert!(out.join("raw").join(raw.unwrap().file_name()).exists());
    }
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## Shards"), "{report}");
    assert!(report.contains("| 2/3 | host A |"), "{report}");
    assert!(
        report.contains("host A: Test CPU, 2 CPUs, 8.0 GiB"),
        "{report}"
    );
    assert!(report.contains("## Comparison"), "{report}");
    assert!(out.join("report.html").exists() && out.join("results.csv").exists());
    // `lab report` re-renders it and `lab compare` reads it.
    std::fs::remove_file(out.join("report.md")).unwrap();
    let o = lab(&["report", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(out.join("report.md")).unwrap(),
        report
    );
    let o = lab(&[
        "compare",
        fixture_dir().to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
}

/// `lab merge` of `dirs` fails with exit 2 and one line that contains `expected`.
fn refused(dirs: &[&Path], out: &Path, extra: &[&str], expected: &str) {
    let o = merge(dirs, out, extra);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{expected}: {}", text(&o));
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains(expected),
        "{expected}: {err}"
    );
    assert!(!out.exists(), "a refused merge writes nothing");
}

fn edit(folder: &Path, file: &str, change: impl Fn(&mut Value)) {
    let p = folder.join(file);
    let mut v = read(&p);
    change(&mut v);
    write(&p, &v);
}

#[test]
fn every_bad_case_is_refused_in_one_line_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let s = cut(dir.path(), 3);
    let out = dir.path().join("merged");
    let copy = |from: &Path, name: &str| {
        let to = dir.path().join(name);
        std::process::Command::new("cp")
            .arg("-a")
            .arg(from)
            .arg(&to)
            .status()
            .unwrap();
        to
    };

    refused(
        &[&s[0], &s[1]],
        &out,
        &[],
        "shard 2/3 of the 3-way split is missing",
    );
    let twin = copy(&s[0], "twin");
    refused(
        &[&s[0], &twin, &s[1], &s[2]],
        &out,
        &[],
        "shard 0/3 is given twice",
    );

    let unfinished = copy(&s[2], "unfinished");
    edit(&unfinished, "results.json", |r| {
        r["status"] = json!("interrupted")
    });
    refused(
        &[&s[0], &s[1], &unfinished],
        &out,
        &[],
        "shard 2/3 is interrupted, not complete",
    );

    let other_file = copy(&s[1], "other-file");
    edit(&other_file, "meta.json", |m| {
        m["sweep"]["lab_sha256"] = json!("d1ff")
    });
    refused(
        &[&s[0], &other_file, &s[2]],
        &out,
        &[],
        "shard 1/3 is of another lab file",
    );

    let other_split = copy(&s[1], "other-split");
    edit(&other_split, "meta.json", |m| {
        m["sweep"]["shard"]["count"] = json!(4)
    });
    refused(
        &[&s[0], &other_split, &s[2]],
        &out,
        &[],
        "is of a 4-way split",
    );

    let other_image = copy(&s[1], "other-image");
    edit(&other_image, "meta.json", |m| {
        m["images"]["httpd:2.4"] = json!("sha256:0ther0ther0ther")
    });
    refused(
        &[&s[0], &other_image, &s[2]],
        &out,
        &[],
        "measured another image httpd:2.4",
    );

    let other_repeat = copy(&s[1], "other-repeat");
    edit(&other_repeat, "results.json", |r| {
        r["config"]["repeat"] = json!(5)
    });
    refused(
        &[&s[0], &other_repeat, &s[2]],
        &out,
        &[],
        "ran other settings than",
    );

    let not_a_shard = copy(&s[1], "not-a-shard");
    edit(&not_a_shard, "meta.json", |m| {
        m.as_object_mut().unwrap().remove("sweep");
    });
    refused(&[&s[0], &not_a_shard, &s[2]], &out, &[], "not a shard");

    let other_host = copy(&s[1], "other-host");
    edit(&other_host, "meta.json", |m| {
        m["fingerprint"] = fingerprint("Other CPU")
    });
    refused(
        &[&s[0], &other_host, &s[2]],
        &out,
        &[],
        "ran on another kind of host than",
    );
    refused(&[&dir.path().join("nowhere")], &out, &[], "no such folder");

    // Allowed, each host's rows stay apart: shard 1's group is labelled with its host.
    let o = merge(&[&s[0], &other_host, &s[2]], &out, &["--allow-mixed-hosts"]);
    assert!(o.status.success(), "{}", text(&o));
    let r = read(&out.join("results.json"));
    let labels: std::collections::BTreeSet<&str> = r["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["group_label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels.into_iter().collect::<Vec<_>>(),
        ["cpus=1 memory=256m · host A", "cpus=1 memory=256m · host B"]
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("kinds of host (--allow-mixed-hosts)"),
        "{report}"
    );
    // No comparison table holds both hosts: each is one host's series.
    for section in report.split("## Comparison").skip(1) {
        let section = section.split("\n## ").next().unwrap();
        assert!(
            !(section.contains("host A") && section.contains("host B")),
            "{section}"
        );
    }
    // A merged folder is never merged into.
    let o = merge(&[&s[0], &s[1], &s[2]], &out, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.trim_end().lines().count() == 1 && err.contains("already exists and is not empty"),
        "{err}"
    );
}

const TWELVE: &str = "name: twelve\nservers:\n  - { name: a, model: async, port: 45000 }\n  - { name: t, model: thread, port: 46000 }\nresources: { cpus: [0.5, 1], memory: 64m }\nloadgen: { requests: 1000, concurrency: [1, 5, 10], keepalive: [false, true] }\nworkloads:\n  - { name: hello, path: / }\n";

#[test]
fn check_prints_a_shard_or_every_shards_wall_time_and_refuses_impossible_splits() {
    let dir = tempfile::tempdir().unwrap();
    let file = lab_file(dir.path(), "twelve.yaml", TWELVE);
    let file = file.to_str().unwrap();
    let o = lab(&["check", file, "--shard", "2/3"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("shard 2/3: points 8..12 of 12 (4 point(s), 8 cell(s)), in 1 group(s):\n  [1] cpus=1 memory=64m: g1-hello-noka-c10, g1-hello-ka-c1, g1-hello-ka-c5, g1-hello-ka-c10"), "{out}");
    let o = lab(&["check", file, "--shard-count", "3"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("wall time with 3 shard(s), one host pair each (estimate):"),
        "{out}"
    );
    assert!(
        out.contains("  shard 1/3: 4 point(s) in 2 group(s), 8 cells, "),
        "{out}"
    );
    for (args, expected) in [
        (vec!["--shard", "3/3"], "shards are numbered 0 to 2 of 3"),
        (
            vec!["--shard-count", "13"],
            "the plan has 12 point(s), too few for 13 shards",
        ),
        (vec!["--shard", "1/3", "--shard-count", "4"], "disagree"),
    ] {
        let mut a = vec!["check", file];
        a.extend(args);
        let o = lab(&a);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(expected),
            "{}",
            text(&o)
        );
    }
    // `--shard auto` with no job engine around says what to give instead.
    let o = std::process::Command::new(lab_bin())
        .args(["check", file, "--shard", "auto"])
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = std::process::Command::new(lab_bin())
        .args(["check", file, "--shard-count", "3", "--shard", "auto"])
        .env("JOB_COMPLETION_INDEX", "1")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("shard 1/3: points 4..8 of 12"),
        "{}",
        text(&o)
    );
}

#[test]
fn lab_shards_emits_a_kubernetes_job_that_parses_as_an_indexed_job() {
    use serde::Deserialize;
    let dir = tempfile::tempdir().unwrap();
    let file = lab_file(dir.path(), "twelve.yaml", TWELVE);
    let o = lab(&[
        "shards",
        file.to_str().unwrap(),
        "--count",
        "4",
        "--emit",
        "kubernetes",
        "--image",
        "registry.example/lab:1",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde_yaml::Value::deserialize(d).unwrap())
        .collect();
    let job = docs.iter().find(|d| d["kind"] == "Job").expect("a Job");
    assert_eq!(job["apiVersion"], "batch/v1");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    assert_eq!(job["spec"]["completions"], 4);
    let c = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "registry.example/lab:1");
    let command: Vec<&str> = c["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(
        &command[..5],
        ["lab", "run", "/lab/lab.yaml", "--shard", "auto"]
    );
    assert!(command.ends_with(&["--shard-count", "4"]), "{command:?}");
    let secret = docs
        .iter()
        .find(|d| d["kind"] == "Secret")
        .expect("the lab file");
    assert_eq!(secret["stringData"]["lab.yaml"].as_str().unwrap(), TWELVE);
    // Without --emit: each shard's points and the estimate.
    let o = lab(&["shards", file.to_str().unwrap(), "--count", "2"]);
    assert!(o.status.success(), "{}", text);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("shard 0/2: points 0..6 of 12") && out.contains("wall time with 2 shard(s)"),
        "{out}"
    );
}
