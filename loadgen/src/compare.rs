//! `lab compare A B`: how run B differs from run A, cell by cell.
//!
//! Rows of the two runs (see [`report::view::rows`]) are matched on their series (workload,
//! path, keep-alive, resource-group label), server and concurrency. For each match the
//! change in good requests per second (2xx answers only, median over repetitions: a side
//! whose requests failed does not look fast) and in p99 latency is given as a ratio B/A
//! and a percentage. A change is **significant** when both sides have a 95% confidence
//! interval of the median (6 or more repetitions, e.g. `repeat: auto`) and the intervals do
//! not overlap; otherwise when it is larger than the spread of both sides: a side's spread
//! is the min–max range of its repetitions, or, for a side measured once, a ±5 % noise
//! floor ([`NOISE_FLOOR`]) of its median. Each side's verdict (what limited it) is carried
//! along: a loadgen-bound side compares ab, not the servers. Rows found in only one run
//! are listed, never dropped.
//!
//! Two formats: Markdown for people, and JSON ([`Comparison`]) for scripts, with a stable
//! shape: fields are only ever added.

use std::fmt::Write;
use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::report::charts::limits_label;
use crate::report::view::{self, Row, Series};
use crate::report::{num, Run};

/// A change within ±5 % of a single measurement is not called significant.
pub const NOISE_FLOOR: f64 = 0.05;

/// Output format of `lab compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Json,
}

/// Everything `lab compare` reports; also its JSON shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Run id of A (the reference).
    pub a: String,
    /// Run id of B (the run compared with it).
    pub b: String,
    /// The noise floor used for sides measured once, in percent.
    pub noise_floor_pct: f64,
    /// Differences between the two lab files as run (`path: A → B`), `name`/`output` aside.
    pub config_changes: Vec<String>,
    /// Rows present in both runs, in A's order.
    pub rows: Vec<CompareRow>,
    pub only_in_a: Vec<OneSided>,
    pub only_in_b: Vec<OneSided>,
}

/// One server at one concurrency of one series, measured in both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareRow {
    pub server: String,
    pub workload: String,
    pub path: String,
    pub keepalive: bool,
    /// Resource-group label of the series, e.g. `cpus=1 memory=256m`.
    pub group: String,
    /// The server's own limits; `cpus=1→2 memory=256m` when they differ between A and B.
    pub limits: String,
    pub concurrency: u32,
    /// Median req/s over repetitions (`None`: no measurement).
    pub a_rps: Option<f64>,
    pub b_rps: Option<f64>,
    /// `[min, max]` req/s over repetitions.
    pub a_rps_range: Option<[f64; 2]>,
    pub b_rps_range: Option<[f64; 2]>,
    /// Repetitions that produced a measurement.
    pub a_repetitions: usize,
    pub b_repetitions: usize,
    /// B / A.
    pub rps_ratio: Option<f64>,
    /// (B − A) / A × 100.
    pub rps_change_pct: Option<f64>,
    pub a_p99_ms: Option<f64>,
    pub b_p99_ms: Option<f64>,
    /// B / A: below 1 means B answered faster at the 99th percentile.
    pub p99_ratio: Option<f64>,
    /// The req/s change exceeds both sides' spread (see the module docs).
    pub significant: bool,
    /// How the spread was judged: `95% CI` (both sides have an interval), `spread` (both
    /// sides repeated), `noise floor` (both measured once) or `spread + noise floor`.
    pub basis: String,
    /// 95% confidence interval of the median good req/s, when a side has one.
    #[serde(default)]
    pub a_ci95: Option<[f64; 2]>,
    #[serde(default)]
    pub b_ci95: Option<[f64; 2]>,
    /// What limited each side (`verdict.rs`): `server-cpu`, `loadgen`, ...
    #[serde(default)]
    pub a_limited_by: Option<String>,
    #[serde(default)]
    pub b_limited_by: Option<String>,
    /// `faster`, `slower` (B relative to A, when significant), `same` or `no measurement`.
    pub verdict: String,
    pub a_flags: Vec<String>,
    pub b_flags: Vec<String>,
}

/// A row measured in one run only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OneSided {
    pub server: String,
    pub workload: String,
    pub path: String,
    pub keepalive: bool,
    pub group: String,
    pub limits: String,
    pub concurrency: u32,
    pub rps: Option<f64>,
    pub p99_ms: Option<f64>,
    pub flags: Vec<String>,
}

/// Compare the runs in folders `a` and `b` and render the result.
pub fn render(a: &Path, b: &Path, format: Format) -> Result<String> {
    let ra = Run::load(a)?;
    let rb = Run::load(b)?;
    let cmp = compare(&ra, &rb);
    Ok(match format {
        Format::Markdown => markdown(&cmp),
        Format::Json => serde_json::to_string_pretty(&cmp)? + "\n",
    })
}

type Key = (String, String, bool, String, String, u32);

/// The identity of a row across runs. `by_group` is false when each run has a single
/// resource group: then a changed top-level limit (cpus 1 → 2) is exactly what the user
/// wants compared, so the group label must not keep the rows apart.
fn key(r: &Row<'_>, by_group: bool) -> Key {
    (
        r.series.workload.clone(),
        r.series.path.clone(),
        r.series.keepalive,
        if by_group {
            r.series.group_label.clone()
        } else {
            String::new()
        },
        r.server.clone(),
        r.concurrency,
    )
}

/// Match the rows of two runs.
pub fn compare(a: &Run, b: &Run) -> Comparison {
    let rows_a = view::rows(&a.results);
    let rows_b = view::rows(&b.results);
    let mut rows = Vec::new();
    let mut only_in_a = Vec::new();
    let groups = |rows: &[Row<'_>]| {
        let mut labels: Vec<&str> = rows.iter().map(|r| r.series.group_label.as_str()).collect();
        labels.sort_unstable();
        labels.dedup();
        labels.len()
    };
    let by_group = groups(&rows_a) > 1 || groups(&rows_b) > 1;
    let key = |r: &Row<'_>| key(r, by_group);
    for ra in &rows_a {
        match rows_b.iter().find(|rb| key(rb) == key(ra)) {
            Some(rb) => rows.push(compare_row(ra, rb)),
            None => only_in_a.push(one_sided(ra)),
        }
    }
    let only_in_b = rows_b
        .iter()
        .filter(|rb| !rows_a.iter().any(|ra| key(ra) == key(rb)))
        .map(one_sided)
        .collect();
    let mut config_changes = Vec::new();
    diff_json(
        "",
        &a.results.config,
        &b.results.config,
        &mut config_changes,
    );
    Comparison {
        a: a.results.run_id.clone(),
        b: b.results.run_id.clone(),
        noise_floor_pct: NOISE_FLOOR * 100.0,
        config_changes,
        rows,
        only_in_a,
        only_in_b,
    }
}

fn compare_row(a: &Row<'_>, b: &Row<'_>) -> CompareRow {
    let la = limits_label(&a.representative.limits);
    let lb = limits_label(&b.representative.limits);
    let a_rps = a.good_rps.map(|s| s.median);
    let b_rps = b.good_rps.map(|s| s.median);
    let (a_ci, b_ci) = (good_ci95(a), good_ci95(b));
    let ratio = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) if x > 0.0 => Some(y / x),
        _ => None,
    };
    let rps_ratio = ratio(a_rps, b_rps);
    let (a_p99, b_p99) = (a.p("99"), b.p("99"));
    let (significant, basis, verdict) = match (a.good_rps, b.good_rps) {
        (Some(sa), Some(sb)) => {
            let delta = (sb.median - sa.median).abs();
            let threshold = |s: &crate::stats::Spread| {
                if s.n > 1 {
                    s.max - s.min
                } else {
                    NOISE_FLOOR * s.median
                }
            };
            let (significant, basis) = match (a_ci, b_ci) {
                (Some((alo, ahi)), Some((blo, bhi))) => (blo > ahi || bhi < alo, "95% CI"),
                _ => (
                    delta > threshold(&sa) && delta > threshold(&sb),
                    match (sa.n > 1, sb.n > 1) {
                        (true, true) => "spread",
                        (false, false) => "noise floor",
                        _ => "spread + noise floor",
                    },
                ),
            };
            let verdict = if !significant {
                "same"
            } else if sb.median > sa.median {
                "faster"
            } else {
                "slower"
            };
            (significant, basis, verdict)
        }
        _ => (false, "—", "no measurement"),
    };
    CompareRow {
        server: a.server.clone(),
        workload: a.series.workload.clone(),
        path: a.series.path.clone(),
        keepalive: a.series.keepalive,
        group: a.series.group_label.clone(),
        limits: limits_change(&la, &lb),
        concurrency: a.concurrency,
        a_rps,
        b_rps,
        a_rps_range: a.good_rps.map(|s| [s.min, s.max]),
        b_rps_range: b.good_rps.map(|s| [s.min, s.max]),
        a_repetitions: a.good_rps.map(|s| s.n).unwrap_or(0),
        b_repetitions: b.good_rps.map(|s| s.n).unwrap_or(0),
        rps_ratio: rps_ratio.map(|r| round(r, 4)),
        rps_change_pct: rps_ratio.map(|r| round((r - 1.0) * 100.0, 2)),
        a_p99_ms: a_p99,
        b_p99_ms: b_p99,
        p99_ratio: ratio(a_p99, b_p99).map(|r| round(r, 4)),
        significant,
        basis: basis.to_string(),
        a_ci95: a_ci.map(|(lo, hi)| [lo, hi]),
        b_ci95: b_ci.map(|(lo, hi)| [lo, hi]),
        a_limited_by: a.verdict.map(|v| v.limiter.as_str().to_string()),
        b_limited_by: b.verdict.map(|v| v.limiter.as_str().to_string()),
        verdict: verdict.to_string(),
        a_flags: a.flags.clone(),
        b_flags: b.flags.clone(),
    }
}

/// The 95% interval of a row's median good req/s.
fn good_ci95(row: &Row<'_>) -> Option<(f64, f64)> {
    let values: Vec<f64> = row
        .cells
        .iter()
        .filter(|c| c.status == crate::results::Status::Ok)
        .filter_map(|c| c.good_rps())
        .collect();
    crate::stats::median_ci95(&values)
}

/// Ratios and percentages are rounded so that the JSON reads well and parses back exactly.
fn round(v: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    (v * f).round() / f
}

fn one_sided(r: &Row<'_>) -> OneSided {
    OneSided {
        server: r.server.clone(),
        workload: r.series.workload.clone(),
        path: r.series.path.clone(),
        keepalive: r.series.keepalive,
        group: r.series.group_label.clone(),
        limits: limits_label(&r.representative.limits),
        concurrency: r.concurrency,
        rps: r.rps.map(|s| s.median),
        p99_ms: r.p("99"),
        flags: r.flags.clone(),
    }
}

/// `cpus=1 memory=256m` vs `cpus=2 memory=256m` → `cpus=1→2 memory=256m`.
fn limits_change(a: &str, b: &str) -> String {
    if a == b {
        return a.to_string();
    }
    let ta: Vec<&str> = a.split(' ').collect();
    let tb: Vec<&str> = b.split(' ').collect();
    let same_keys = ta.len() == tb.len()
        && ta
            .iter()
            .zip(&tb)
            .all(|(x, y)| x.split('=').next() == y.split('=').next());
    if !same_keys {
        return format!("{a} → {b}");
    }
    ta.iter()
        .zip(&tb)
        .map(|(x, y)| {
            if x == y {
                x.to_string()
            } else {
                let (k, va) = x.split_once('=').unwrap_or((x, ""));
                let vb = y.split_once('=').map(|p| p.1).unwrap_or("");
                format!("{k}={va}→{vb}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Leaf-level differences of two JSON values, as `path: a → b`.
fn diff_json(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    if out.len() >= 50 || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(ma), Value::Object(mb)) => {
            let mut keys: Vec<&String> = ma.keys().chain(mb.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                if path.is_empty() && (k == "name" || k == "output") {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff_json(
                    &p,
                    ma.get(k).unwrap_or(&Value::Null),
                    mb.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        // Lists of named things (servers, workloads) are matched by name when they can be.
        (Value::Array(la), Value::Array(lb))
            if la.len() == lb.len() && la.iter().all(|v| v.get("name").is_some()) =>
        {
            for (x, y) in la.iter().zip(lb) {
                let name = x["name"].as_str().unwrap_or("?");
                diff_json(&format!("{path}[{name}]"), x, y, out);
            }
        }
        _ => out.push(format!("{path}: {a} → {b}")),
    }
}

fn series_title(s: &Series) -> String {
    s.title()
}

fn pct(v: Option<f64>) -> String {
    match v {
        Some(v) => format!("{v:+.1}%"),
        None => "—".into(),
    }
}

fn ratio(v: Option<f64>) -> String {
    match v {
        Some(v) => format!("{v:.2}×"),
        None => "—".into(),
    }
}

fn with_flags(v: Option<f64>, flags: &[String]) -> String {
    if flags.is_empty() {
        num(v, 2)
    } else {
        format!("{} ({})", num(v, 2), flags.join(", "))
    }
}

/// The comparison as Markdown.
pub fn markdown(c: &Comparison) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Comparison: `{}` → `{}`\n", c.a, c.b);
    let _ = writeln!(md, "- A: `{}` (reference)\n- B: `{}`", c.a, c.b);
    let _ = writeln!(
        md,
        "- Changes are B relative to A, in good (2xx) req/s. A change is **significant** when the 95% confidence intervals of both medians do not overlap (6 or more repetitions a side, e.g. `repeat: auto`); otherwise when it exceeds the min–max spread of both runs' repetitions, and a side measured only once gets a ±{:.0}% noise floor (the `basis` column says which).",
        c.noise_floor_pct
    );
    let _ = writeln!(
        md,
        "- `limited by` says what set each side's pace: a `loadgen` side measures ab, not the server, so its change says nothing about the server."
    );
    if c.config_changes.is_empty() {
        let _ = writeln!(md, "- Lab files: identical (name and output aside).");
    } else {
        let _ = writeln!(md, "- Lab file changes:");
        for ch in &c.config_changes {
            let _ = writeln!(md, "  - `{ch}`");
        }
    }
    md.push('\n');

    let faster = c.rows.iter().filter(|r| r.verdict == "faster").count();
    let slower = c.rows.iter().filter(|r| r.verdict == "slower").count();
    let _ = writeln!(
        md,
        "{} rows in both runs: {faster} significantly faster in B, {slower} significantly slower, {} within the spread; {} only in A, {} only in B.\n",
        c.rows.len(),
        c.rows.iter().filter(|r| r.verdict == "same").count(),
        c.only_in_a.len(),
        c.only_in_b.len()
    );

    let mut groups: Vec<(String, String, bool, String)> = Vec::new();
    for r in &c.rows {
        let g = (
            r.workload.clone(),
            r.path.clone(),
            r.keepalive,
            r.group.clone(),
        );
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    for (workload, path, keepalive, group) in groups {
        let title = series_title(&Series {
            group: 0,
            group_label: group.clone(),
            workload: workload.clone(),
            path: path.clone(),
            keepalive,
        });
        let _ = writeln!(md, "## {title}\n");
        let _ = writeln!(
            md,
            "| server | limits | c | A req/s | B req/s | B/A | change | A p99 ms | B p99 ms | p99 B/A | verdict | basis | limited by (A → B) |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        );
        for r in c.rows.iter().filter(|r| {
            r.workload == workload && r.path == path && r.keepalive == keepalive && r.group == group
        }) {
            let verdict = match r.verdict.as_str() {
                "faster" => "**faster** ▲".to_string(),
                "slower" => "**slower** ▼".to_string(),
                "same" => "within spread".to_string(),
                other => other.to_string(),
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} → {} |",
                r.server,
                r.limits,
                r.concurrency,
                with_flags(r.a_rps, &r.a_flags),
                with_flags(r.b_rps, &r.b_flags),
                ratio(r.rps_ratio),
                pct(r.rps_change_pct),
                num(r.a_p99_ms, 2),
                num(r.b_p99_ms, 2),
                ratio(r.p99_ratio),
                verdict,
                r.basis,
                r.a_limited_by.as_deref().unwrap_or("—"),
                r.b_limited_by.as_deref().unwrap_or("—")
            );
        }
        md.push('\n');
    }
    for (title, list) in [("Only in A", &c.only_in_a), ("Only in B", &c.only_in_b)] {
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(md, "## {title}\n");
        for o in list {
            let _ = writeln!(
                md,
                "- {} · keep-alive {} · {} · server `{}` ({}) · c={}: {} req/s, p99 {} ms{}",
                format_args!("{} `{}`", o.workload, o.path),
                if o.keepalive { "on" } else { "off" },
                o.group,
                o.server,
                o.limits,
                o.concurrency,
                num(o.rps, 2),
                num(o.p99_ms, 2),
                if o.flags.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", o.flags.join(", "))
                }
            );
        }
        md.push('\n');
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_change_names_only_what_changed() {
        assert_eq!(
            limits_change(
                "cpus=1 memory=256m pids=4096",
                "cpus=2 memory=256m pids=4096"
            ),
            "cpus=1→2 memory=256m pids=4096"
        );
        assert_eq!(
            limits_change("cpus=1 memory=64m", "cpus=1 memory=64m"),
            "cpus=1 memory=64m"
        );
        assert_eq!(
            limits_change("cpus=1", "cpus=1 pids=5"),
            "cpus=1 → cpus=1 pids=5"
        );
    }

    #[test]
    fn config_diff_matches_named_lists() {
        let a = serde_json::json!({"name": "x", "servers": [{"name": "t", "resources": {"cpus": null}}], "repeat": 3});
        let b = serde_json::json!({"name": "y", "servers": [{"name": "t", "resources": {"cpus": 2.0}}], "repeat": 3});
        let mut out = Vec::new();
        diff_json("", &a, &b, &mut out);
        assert_eq!(
            out,
            vec!["servers[t].resources.cpus: null → 2.0".to_string()]
        );
    }
}
