//! Every report format, the charts and `lab compare` on an open-loop oha run (issue 14).
//!
//! The fixture `tests/fixtures/runs/d-open-loop/` is part of a real run of
//! `examples/open-loop.yaml` (group 0, the `/sleep/10` workload: 2 servers × 5 rates,
//! their raw oha JSON and capacity passes), so the reports are tested on what the lab
//! writes, not on a hand-made record.

mod common;
use common::copy_dir;

use std::path::{Path, PathBuf};

use loadgen::record::Flag;
use loadgen::record::{Percentile, Tool, ToolReport};
use loadgen::report::compare::{self, Format};
use loadgen::report::{self, charts, html, markdown, terminal, Report, Run};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/runs")
        .join(name)
}

fn open_loop() -> Run {
    Run::load(&fixture("d-open-loop")).unwrap()
}

#[test]
fn the_record_reads_back_with_one_evidence_model() {
    let run = open_loop();
    let cells = &run.results.cells;
    assert_eq!(cells.len(), 10);
    for c in cells {
        assert_eq!(c.tool(), Some(Tool::Oha));
        assert!(matches!(c.report, Some(ToolReport::Oha(_))));
        // The figures every tool gives, read the same way as an ab cell's.
        let counts = c.measurement().unwrap();
        assert_eq!(counts.bad(), 0);
        assert!(c.rps().unwrap() > 0.0 && c.good_rps() == c.rps());
        assert!(c.latency(Percentile(99.9)).unwrap() >= c.latency(Percentile::P99).unwrap());
        assert!(c.latency(Percentile::P50).unwrap() >= 10.0, "/sleep/10");
        // A percentage is resolved against the server's own capacity.
        let share = f64::from(match c.rate.unwrap() {
            loadgen::config::RateSpec::Percent(p) => p,
            other => panic!("{other}"),
        }) / 100.0;
        let (offered, capacity) = (c.offered_rps.unwrap(), c.capacity_rps.unwrap());
        assert!((offered - share * capacity).abs() < 1e-6);
        // The flag follows the achieved share, both ways.
        let short = c.achieved_share().unwrap() < 1.0 - loadgen::judge::RATE_SHORTFALL_SHARE;
        assert_eq!(c.flags.contains(&Flag::RateShortfall), short, "{}", c.id);
        assert!(run.dir.join(&c.raw_stdout).is_file(), "{}", c.raw_stdout);
    }
    // 125% of capacity was not achieved by either model.
    assert!(cells
        .iter()
        .filter(|c| c.id.contains("q125pct"))
        .all(|c| c.flags.contains(&Flag::RateShortfall)));
}

#[test]
fn markdown_and_html_show_offered_and_achieved_rates_and_the_flag() {
    let run = open_loop();
    let report = Report::of(&run);
    assert_eq!(report.tool, Tool::Oha);
    let md = markdown::render(&report);
    for needle in [
        "| Offered rate | async req/s",
        "| 25% |",
        "| 125% |",
        "rate-shortfall",
        "offered → achieved req/s",
        "p99.9 ms",
        "open loop (latency corrected for coordinated omission) at 25% of capacity",
        "latency-rate-g0-wait-10ms-ka-c50.svg",
        "offered-rate",
    ] {
        assert!(md.contains(needle), "report.md lacks {needle:?}");
    }
    // The baseline table's level column names connections and rate.
    assert!(md.contains("50 @ 100% ("), "{md}");
    let page = html::render(&report).unwrap();
    assert!(page.contains("Offered rate") && page.contains("rate-shortfall"));
    let summary = terminal::summary(&run);
    assert!(summary.contains("Offered rate"), "{summary}");
}

#[test]
fn open_loop_charts_plot_latency_against_the_offered_rate_one_line_per_server() {
    let run = open_loop();
    let charts = charts::render(&Report::of(&run)).unwrap();
    let names: Vec<&str> = charts.iter().map(|c| c.file_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "latency-rate-g0-wait-10ms-ka-c50.svg",
            "achieved-g0-wait-10ms-ka-c50.svg",
            "resources-g0-wait-10ms-ka-c50.svg"
        ]
    );
    let latency = &charts[0].svg;
    assert!(latency.starts_with("<svg"), "{}", &latency[..80]);
    assert!(latency.contains("offered rate [req/s] (open loop, oha -q), log scale"));
    assert!(latency.contains("latency [ms], log scale"));
    // One line per server in each of the four panels (p50, p99, p99.9, max).
    for color in ["#1F77B4", "#FF7F0E"] {
        let lines = latency
            .matches("<polyline")
            .zip(latency.split("<polyline").skip(1))
            .filter(|(_, rest)| rest.split('>').next().unwrap().contains(color))
            .count();
        assert!(lines >= 4, "{color}: {lines} lines");
    }
}

#[test]
fn csv_has_the_tool_the_rates_and_failures_by_kind() {
    let (tmp, dir) = {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        copy_dir(&fixture("d-open-loop"), &dir);
        (tmp, dir)
    };
    let run = Run::load(&dir).unwrap();
    report::write_all(&run).unwrap();
    let mut csv = csv::Reader::from_path(dir.join("results.csv")).unwrap();
    let header = csv.headers().unwrap().clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let (tool, rate, offered, p999) = (
        col("tool"),
        col("rate"),
        col("offered_rps"),
        col("p99_9_ms"),
    );
    col("capacity_rps");
    col("achieved_share");
    col("failed_by_kind");
    let rows: Vec<csv::StringRecord> = csv.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 10);
    for r in &rows {
        assert_eq!(&r[tool], "oha");
        assert!(r[rate].ends_with('%'), "{r:?}");
        assert!(r[offered].parse::<f64>().unwrap() > 0.0);
        assert!(r[p999].parse::<f64>().unwrap() > 0.0);
    }
    assert!(dir
        .join("charts/latency-rate-g0-wait-10ms-ka-c50.svg")
        .is_file());
    drop(tmp);
}

#[test]
fn lab_compare_matches_open_loop_rows_by_rate_and_keeps_ab_rows_apart() {
    let same = compare::render(
        &fixture("d-open-loop"),
        &fixture("d-open-loop"),
        Format::Json,
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&same).unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 10, "one row per server and rate");
    assert!(rows.iter().all(|r| r["rate"].is_string()));
    let md = compare::render(
        &fixture("d-open-loop"),
        &fixture("d-open-loop"),
        Format::Markdown,
    )
    .unwrap();
    assert!(md.contains("| 50 @ 125% |"), "{md}");
    // An ab run and an oha run share no row: nothing is compared across the tools.
    let across = compare::render(
        &fixture("a-baseline"),
        &fixture("d-open-loop"),
        Format::Json,
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&across).unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 0);
    assert_eq!(v["only_in_b"].as_array().unwrap().len(), 10);
}
