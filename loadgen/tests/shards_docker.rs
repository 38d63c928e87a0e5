//! End-to-end: a 12-point lab run as three shards (`lab run --shard i/3`) and merged gives
//! the cell set of the same lab run whole, with one report; nothing is left on Docker.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;

/// 2 groups (cpus 0.5, 1) × keep-alive off/on × concurrency 1, 5, 10 = 12 points, 2
/// servers each: small enough that three shards and the whole run take about a minute.
fn twelve_points(output: &Path) -> String {
    format!(
        "name: split\noutput: {}\nwarmup: 50\npin: off\nservers:\n  - {{ name: async, model: async, port: 45000 }}\n  - {{ name: thread, model: thread, port: 46000 }}\nresources: {{ cpus: [0.5, 1], memory: 64m }}\nloadgen: {{ requests: 100, concurrency: [1, 5, 10], keepalive: [false, true], timeout: 10s }}\nworkloads:\n  - {{ name: hello, path: / }}\n",
        output.display()
    )
}

#[test]
fn three_shards_merged_equal_the_whole_run() {
    if !docker_available("three_shards_merged_equal_the_whole_run") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let file = lab_file(
        dir.path(),
        "split.yaml",
        &twelve_points(&dir.path().join("whole")),
    );
    let file = file.to_str().unwrap();
    let shards = dir.path().join("shards");

    let o = lab(&["check", file, "--shard", "1/3"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains("shard 1/3: points 4..8 of 12 (4 point(s), 8 cell(s)), in 2 group(s):"),
        "{}",
        text(&o)
    );

    for shard in ["0/3", "1/3", "2/3"] {
        let o = lab(&[
            "run",
            file,
            "--shard",
            shard,
            "--output",
            shards.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "shard {shard}: {}", text(&o));
    }
    let o = lab(&["run", file, "--no-build"]);
    assert!(o.status.success(), "{}", text(&o));
    let whole = only_run(&dir.path().join("whole"));

    let mut folders: Vec<_> = std::fs::read_dir(&shards)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    folders.sort_by_key(|p| {
        p.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .rsplit("-shard-")
            .next()
            .unwrap()
            .to_string()
    });
    let names: Vec<String> = folders
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
        .collect();
    for (i, name) in names.iter().enumerate() {
        assert!(
            name.ends_with(&format!("-split-shard-{i}-of-3")),
            "{names:?}"
        );
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(folders[i].join("meta.json")).unwrap())
                .unwrap();
        assert_eq!(meta["sweep"]["shard"]["index"], i, "{meta}");
        assert_eq!(
            meta["sweep"]["points"].as_array().unwrap().len(),
            4,
            "{meta}"
        );
        assert_eq!(meta["sweep"]["lab_sha256"].as_str().unwrap().len(), 64);
        let print = &meta["fingerprint"]["servers"];
        assert!(
            print["cpus"].as_i64().unwrap() >= 1 && !print["kernel"].as_str().unwrap().is_empty(),
            "{meta}"
        );
        let run_id = results_json(&folders[i])["run_id"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(leftovers(&run_id), Vec::<String>::new());
    }

    let merged = dir.path().join("merged");
    let o = lab(&[
        "merge",
        shards.to_str().unwrap(),
        "--output",
        merged.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let merged_ids = cell_ids(&merged);
    assert_eq!(merged_ids.len(), 24, "12 points x 2 servers");
    assert_eq!(
        merged_ids.iter().collect::<BTreeSet<_>>(),
        cell_ids(&whole).iter().collect::<BTreeSet<_>>(),
        "the merged cell set is the whole run's"
    );
    assert_eq!(merged_ids, cell_ids(&whole), "and in the same order");
    let results = results_json(&merged);
    assert_eq!(results["status"], "complete");
    assert!(results["cells"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] == "ok"));
    let report = std::fs::read_to_string(merged.join("report.md")).unwrap();
    assert!(
        report.contains("## Shards") && report.contains("| 2/3 | host A |"),
        "{report}"
    );
    assert!(report.contains("## Comparison"), "{report}");
    let o = lab(&["compare", whole.to_str().unwrap(), merged.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
}
