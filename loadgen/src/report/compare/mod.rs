//! `lab compare A B`: how run B differs from run A, row by row of the two runs' report
//! models.
//!
//! Rows of the two runs (see [`model::rows`](crate::report::model::rows)) are matched on
//! their series (workload, path, keep-alive, resource-group label), server and concurrency.
//! For each match the change in good requests per second (2xx answers only, median over
//! repetitions: a side whose requests failed does not look fast) and in p99 latency is
//! given as a ratio B/A and a percentage. A change is **significant** when both sides have
//! a 95% confidence interval of the median (6 or more repetitions, e.g. `repeat: auto`) and
//! the intervals do not overlap; otherwise when it is larger than the spread of both sides:
//! a side's spread is the min–max range of its repetitions, or, for a side measured once,
//! a ±5 % noise floor ([`NOISE_FLOOR`]) of its median. Each side's verdict (what limited
//! it) is carried along: a loadgen-bound side compares ab, not the servers. Rows found in
//! only one run are listed, never dropped.
//!
//! Two formats: Markdown for people ([`layout`], rendered by the report's Markdown), and
//! JSON ([`Comparison`]) for scripts, with a stable shape: fields are only ever added.

mod diff;
pub mod gate;
pub mod layout;

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::markup::Markup;
use super::model::rows::{self, Row};
use super::Run;
use crate::record::Flag;
use crate::record::Limiter;
use crate::record::Percentile;
use crate::stats::Spread;

/// A change within ±5 % of a single measurement is not called significant.
pub const NOISE_FLOOR: f64 = crate::stats::NOISE_FLOOR;

/// Output format of `lab compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Markdown tables, for people
    #[value(name = "md")]
    Markdown,
    /// The `Comparison` as JSON, for scripts
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
    /// `--fail-on`: the regression gate's verdict per row and figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<gate::Gate>,
}

/// B relative to A.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Significantly more good req/s.
    Faster,
    Slower,
    /// Within the spread.
    Same,
    /// A side has no measurement.
    #[serde(rename = "no measurement")]
    NoMeasurement,
}

/// How the spread of the two sides was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Basis {
    /// Both sides have a 95% interval of the median.
    #[serde(rename = "95% CI")]
    Ci95,
    /// Both sides repeated: their min–max ranges.
    #[serde(rename = "spread")]
    Spread,
    /// Both measured once: the noise floor.
    #[serde(rename = "noise floor")]
    NoiseFloor,
    #[serde(rename = "spread + noise floor")]
    SpreadAndNoiseFloor,
    /// Nothing to judge (a side has no measurement).
    #[serde(rename = "—")]
    Unmeasured,
}

impl Basis {
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Ci95 => "95% CI",
            Basis::Spread => "spread",
            Basis::NoiseFloor => "noise floor",
            Basis::SpreadAndNoiseFloor => "spread + noise floor",
            Basis::Unmeasured => "—",
        }
    }
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
    /// Open loop: the offered rate as written (`50%`, `2000`); req/s is then the achieved
    /// rate and p99 the telling figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
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
    /// The server's CPU time per request, µs (median over repetitions; `None`: not
    /// measured, as in runs before the lab kept CPU seconds).
    #[serde(default)]
    pub a_cpu_per_request_us: Option<f64>,
    #[serde(default)]
    pub b_cpu_per_request_us: Option<f64>,
    /// The req/s change exceeds both sides' spread (see the module docs).
    pub significant: bool,
    /// How the spread was judged: `95% CI` (both sides have an interval), `spread` (both
    /// sides repeated), `noise floor` (both measured once) or `spread + noise floor`.
    pub basis: Basis,
    /// 95% confidence interval of the median good req/s, when a side has one.
    #[serde(default)]
    pub a_ci95: Option<[f64; 2]>,
    #[serde(default)]
    pub b_ci95: Option<[f64; 2]>,
    /// What limited each side (`judge/verdict.rs`): `server-cpu`, `loadgen`, ...
    #[serde(default)]
    pub a_limited_by: Option<Limiter>,
    #[serde(default)]
    pub b_limited_by: Option<Limiter>,
    /// `faster`, `slower` (B relative to A, when significant), `same` or `no measurement`.
    pub verdict: Change,
    pub a_flags: Vec<Flag>,
    pub b_flags: Vec<Flag>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    pub rps: Option<f64>,
    pub p99_ms: Option<f64>,
    pub flags: Vec<Flag>,
}

/// The regression gate's settings (`--fail-on`, `--only`).
#[derive(Debug, Clone, PartialEq)]
pub struct GateSpec {
    /// The smallest change that fails, as a share (5% → 0.05).
    pub fail_on: f64,
    pub figures: Vec<gate::Gated>,
}

/// Compare the runs in folders `a` and `b` and render the result.
pub fn render(a: &Path, b: &Path, format: Format) -> Result<String> {
    Ok(render_gated(a, b, format, None)?.1)
}

/// Compare the runs in folders `a` and `b` (and gate them with `spec`); the comparison and
/// its rendering.
pub fn render_gated(
    a: &Path,
    b: &Path,
    format: Format,
    spec: Option<&GateSpec>,
) -> Result<(Comparison, String)> {
    let ra = Run::load(a)?;
    let rb = Run::load(b)?;
    let mut cmp = compare(&ra, &rb);
    if let Some(spec) = spec {
        cmp.gate = Some(gate_runs(&ra, &rb, spec));
    }
    let text = match format {
        Format::Markdown => markdown(&cmp),
        Format::Json => serde_json::to_string_pretty(&cmp)? + "\n",
    };
    Ok((cmp, text))
}

/// The regression gate over the rows both runs measured.
pub fn gate_runs(a: &Run, b: &Run, spec: &GateSpec) -> gate::Gate {
    let rows_a = rows::rows(&a.results);
    let rows_b = rows::rows(&b.results);
    let pairs: Vec<(&Row<'_>, &Row<'_>)> = matched(&rows_a, &rows_b)
        .into_iter()
        .filter_map(|(x, y)| Some((x, y?)))
        .collect();
    gate::gate(&pairs, spec.fail_on, &spec.figures)
}

/// The comparison as Markdown.
pub fn markdown(c: &Comparison) -> String {
    super::markdown::Markdown.blocks(&layout::document(c))
}

type Key = (String, String, bool, String, String, u32, Option<String>);

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
        r.rate.map(|r| r.to_string()),
    )
}

/// The rows of two runs, matched: each row of A with its row in B (`None`: only in A).
/// A changed top-level limit does not keep rows apart when each run has one group.
pub fn matched<'r, 'a, 'b>(
    rows_a: &'r [Row<'a>],
    rows_b: &'r [Row<'b>],
) -> Vec<(&'r Row<'a>, Option<&'r Row<'b>>)> {
    let by_group = groups(rows_a) > 1 || groups(rows_b) > 1;
    rows_a
        .iter()
        .map(|ra| {
            let k = key(ra, by_group);
            (ra, rows_b.iter().find(|rb| key(rb, by_group) == k))
        })
        .collect()
}

fn groups(rows: &[Row<'_>]) -> usize {
    let mut labels: Vec<&str> = rows.iter().map(|r| r.series.group_label.as_str()).collect();
    labels.sort_unstable();
    labels.dedup();
    labels.len()
}

/// Match the rows of two runs.
pub fn compare(a: &Run, b: &Run) -> Comparison {
    let rows_a = rows::rows(&a.results);
    let rows_b = rows::rows(&b.results);
    let pairs = matched(&rows_a, &rows_b);
    let mut rows = Vec::new();
    let mut only_in_a = Vec::new();
    for (ra, rb) in &pairs {
        match rb {
            Some(rb) => rows.push(compare_row(ra, rb)),
            None => only_in_a.push(one_sided(ra)),
        }
    }
    let only_in_b = rows_b
        .iter()
        .filter(|rb| {
            !pairs
                .iter()
                .any(|(_, m)| m.is_some_and(|m| std::ptr::eq(m, *rb)))
        })
        .map(one_sided)
        .collect();
    Comparison {
        a: a.results.run_id.clone(),
        b: b.results.run_id.clone(),
        noise_floor_pct: NOISE_FLOOR * 100.0,
        config_changes: diff::config_changes(&a.results.config, &b.results.config),
        rows,
        only_in_a,
        only_in_b,
        gate: None,
    }
}

/// Is B's change significant, judged how, and which way?
fn judge(a: &Row<'_>, b: &Row<'_>) -> (bool, Basis, Change) {
    let (Some(sa), Some(sb)) = (a.good_rps, b.good_rps) else {
        return (false, Basis::Unmeasured, Change::NoMeasurement);
    };
    let (significant, basis) = match (a.good_ci95, b.good_ci95) {
        (Some((alo, ahi)), Some((blo, bhi))) => (blo > ahi || bhi < alo, Basis::Ci95),
        _ => {
            let delta = (sb.median - sa.median).abs();
            let threshold = |s: &Spread| {
                if s.n > 1 {
                    s.max - s.min
                } else {
                    NOISE_FLOOR * s.median
                }
            };
            let basis = match (sa.n > 1, sb.n > 1) {
                (true, true) => Basis::Spread,
                (false, false) => Basis::NoiseFloor,
                _ => Basis::SpreadAndNoiseFloor,
            };
            (delta > threshold(&sa) && delta > threshold(&sb), basis)
        }
    };
    let change = match (significant, sb.median > sa.median) {
        (false, _) => Change::Same,
        (true, true) => Change::Faster,
        (true, false) => Change::Slower,
    };
    (significant, basis, change)
}

fn compare_row(a: &Row<'_>, b: &Row<'_>) -> CompareRow {
    let ratio = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) if x > 0.0 => Some(y / x),
        _ => None,
    };
    let (a_rps, b_rps) = (a.good_rps.map(|s| s.median), b.good_rps.map(|s| s.median));
    let rps_ratio = ratio(a_rps, b_rps);
    let (a_p99, b_p99) = (a.latency(Percentile::P99), b.latency(Percentile::P99));
    let (significant, basis, verdict) = judge(a, b);
    let limits = |r: &Row<'_>| r.representative.limits.label();
    CompareRow {
        server: a.server.clone(),
        workload: a.series.workload.clone(),
        path: a.series.path.clone(),
        keepalive: a.series.keepalive,
        group: a.series.group_label.clone(),
        limits: diff::limits_change(&limits(a), &limits(b)),
        concurrency: a.concurrency,
        rate: a.rate.map(|r| r.to_string()),
        a_rps,
        b_rps,
        a_rps_range: a.good_rps.map(|s| [s.min, s.max]),
        b_rps_range: b.good_rps.map(|s| [s.min, s.max]),
        a_repetitions: a.good_rps.map_or(0, |s| s.n),
        b_repetitions: b.good_rps.map_or(0, |s| s.n),
        rps_ratio: rps_ratio.map(|r| round(r, 4)),
        rps_change_pct: rps_ratio.map(|r| round((r - 1.0) * 100.0, 2)),
        a_p99_ms: a_p99,
        b_p99_ms: b_p99,
        p99_ratio: ratio(a_p99, b_p99).map(|r| round(r, 4)),
        a_cpu_per_request_us: a.cpu_per_request_us().map(|v| round(v, 2)),
        b_cpu_per_request_us: b.cpu_per_request_us().map(|v| round(v, 2)),
        significant,
        basis,
        a_ci95: a.good_ci95.map(|(lo, hi)| [lo, hi]),
        b_ci95: b.good_ci95.map(|(lo, hi)| [lo, hi]),
        a_limited_by: a.verdict.map(|v| v.limiter),
        b_limited_by: b.verdict.map(|v| v.limiter),
        verdict,
        a_flags: a.flags.clone(),
        b_flags: b.flags.clone(),
    }
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
        limits: r.representative.limits.label(),
        concurrency: r.concurrency,
        rate: r.rate.map(|r| r.to_string()),
        rps: r.rps.map(|s| s.median),
        p99_ms: r.latency(Percentile::P99),
        flags: r.flags.clone(),
    }
}
