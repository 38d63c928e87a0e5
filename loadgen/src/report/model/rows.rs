//! The shape every report shares: cells grouped into rows (one row = one server at one
//! concurrency for one workload, keep-alive setting and resource group, over its
//! repetitions) and rows grouped into tables (one table = one server's concurrency sweep).

use std::collections::BTreeSet;

use crate::results::{Cell, Results, Status};
use crate::stats::Spread;
use crate::verdict::{Limiter, Verdict};

/// What one table varies over: everything but the concurrency.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Series {
    pub group: usize,
    pub group_label: String,
    pub workload: String,
    pub path: String,
    pub keepalive: bool,
}

impl Series {
    /// `hello / · keep-alive off · cpus=1 memory=256m`
    pub fn title(&self) -> String {
        format!(
            "{} `{}` · keep-alive {} · {}",
            self.workload,
            self.path,
            if self.keepalive { "on" } else { "off" },
            self.group_label
        )
    }
}

/// One server at one concurrency level of a series, over its repetitions.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    pub series: Series,
    pub server: String,
    pub model: String,
    pub concurrency: u32,
    pub cells: Vec<&'a Cell>,
    /// Spread of ab's req/s over the repetitions that produced a report.
    pub rps: Option<Spread>,
    /// Spread of req/s counting only good (2xx, not failed) responses.
    pub good_rps: Option<Spread>,
    /// The repetition whose req/s is the median one (or the first cell): the one whose ab
    /// numbers the baseline table shows.
    pub representative: &'a Cell,
    /// Union of the cells' flags, plus `unstable` when the repetitions disagree.
    pub flags: Vec<String>,
    pub failed: usize,
    /// The distribution-free 95% interval of the median req/s (6 or more repetitions).
    pub ci95: Option<(f64, f64)>,
    /// Repetitions whose req/s is an outlier (modified Z-score > 3.5).
    pub outliers: usize,
    /// What limited the cells (the most common verdict of the repetitions).
    pub verdict: Option<&'a Verdict>,
}

/// Columns of the evidence table every format shows under a baseline table; the flags
/// column comes last so formats can render it their own way.
pub const EVIDENCE_COLUMNS: [&str; 17] = [
    "c",
    "good req/s",
    "req/s 95% CI (n)",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "connect mean / max ms",
    "processing mean ms",
    "server CPU (cores)",
    "throttled",
    "server memory peak",
    "peak connections",
    "peak threads",
    "ab CPU (cores)",
    "limited by",
    "flags",
];

impl Row<'_> {
    /// The evidence cells as plain text, in `EVIDENCE_COLUMNS` order (flags joined by ", ").
    pub fn evidence(&self) -> [String; 17] {
        use super::{mib, num};
        let dash = || "—".to_string();
        let c = self.representative;
        let ct = c.ab.as_ref().and_then(|a| a.connection_times.as_ref());
        let connect = ct.and_then(|t| t.connect.as_ref());
        let processing = ct.and_then(|t| t.processing.as_ref());
        let srv = c.server_resources.as_ref();
        let metrics = c.server_metrics.as_ref();
        [
            self.concurrency.to_string(),
            num(self.good_rps.map(|s| s.median), 2),
            self.interval_text(),
            num(self.p("50"), 2),
            num(self.p("90"), 2),
            num(self.p("99"), 2),
            num(self.p("100"), 2),
            format!(
                "{} / {}",
                num(connect.map(|r| r.mean), 0),
                num(connect.map(|r| r.max), 0)
            ),
            num(processing.map(|r| r.mean), 0),
            srv.map(|s| {
                format!(
                    "{:.2} of {}",
                    s.cpu_cores_avg,
                    crate::verdict::cores_text(c.limits.cpus)
                )
            })
            .unwrap_or_else(dash),
            srv.and_then(|s| s.throttled_share())
                .map(|v| format!("{:.0}%", v * 100.0))
                .unwrap_or_else(dash),
            metrics
                .and_then(|m| m.memory_peak_bytes)
                .or_else(|| srv.map(|s| s.memory_peak_bytes))
                .map(mib)
                .unwrap_or_else(dash),
            num(
                metrics.and_then(|m| m.connections_peak).map(|v| v as f64),
                0,
            ),
            metrics
                .and_then(|m| m.threads_peak)
                .map(|v| v.to_string())
                .or_else(|| srv.map(|s| format!("{} (pids)", s.pids_peak)))
                .unwrap_or_else(dash),
            c.tool_usage
                .as_ref()
                .filter(|u| u.wall_s > 0.0)
                .map(|u| format!("{:.2}", u.cpu_s / u.wall_s))
                .unwrap_or_else(dash),
            self.verdict
                .map(|v| v.limiter.as_str().to_string())
                .unwrap_or_else(dash),
            if self.flags.is_empty() {
                dash()
            } else {
                self.flags.join(", ")
            },
        ]
    }

    /// `14900–15600 ±2.3% (n=8, 1 outlier)`; min–max with fewer than 6 repetitions.
    pub fn interval_text(&self) -> String {
        let Some(s) = self.rps else {
            return "—".into();
        };
        let outliers = match self.outliers {
            0 => String::new(),
            1 => ", 1 outlier".into(),
            k => format!(", {k} outliers"),
        };
        match self.ci95 {
            Some((lo, hi)) => format!(
                "{lo:.0}–{hi:.0} ±{:.1}% (n={}{outliers})",
                crate::stats::relative_half_width((lo, hi), s.median).unwrap_or(0.0) * 100.0,
                s.n
            ),
            None if s.n > 1 => format!("min–max {:.0}–{:.0} (n={}{outliers})", s.min, s.max, s.n),
            None => "(n=1)".into(),
        }
    }

    pub fn p(&self, pct: &str) -> Option<f64> {
        let vals: Vec<f64> = self
            .cells
            .iter()
            .filter_map(|c| c.percentile(pct))
            .collect();
        (!vals.is_empty()).then(|| Spread::of(&vals).median)
    }
}

/// One server's sweep over concurrency for one series.
#[derive(Debug, Clone)]
pub struct Table<'a> {
    pub series: Series,
    pub server: String,
    pub model: String,
    pub rows: Vec<Row<'a>>,
}

/// All rows of a run, in a stable order: series, then server (as configured), then concurrency.
pub fn rows(results: &Results) -> Vec<Row<'_>> {
    let servers = server_order(results);
    let mut keys: Vec<(Series, usize, u32)> = Vec::new();
    for c in &results.cells {
        let k = (
            series_of(c),
            servers.iter().position(|s| *s == c.server).unwrap_or(0),
            c.concurrency,
        );
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.sort();
    keys.into_iter()
        .map(|(series, si, conc)| {
            let cells: Vec<&Cell> = results
                .cells
                .iter()
                .filter(|c| {
                    c.server == servers[si] && c.concurrency == conc && series_of(c) == series
                })
                .collect();
            build_row(series, cells)
        })
        .collect()
}

fn build_row(series: Series, cells: Vec<&Cell>) -> Row<'_> {
    let measured: Vec<&Cell> = cells
        .iter()
        .copied()
        .filter(|c| c.status == Status::Ok && c.rps().is_some())
        .collect();
    let rps_vals: Vec<f64> = measured.iter().filter_map(|c| c.rps()).collect();
    let good_vals: Vec<f64> = measured.iter().filter_map(|c| c.good_rps()).collect();
    let rps = (!rps_vals.is_empty()).then(|| Spread::of(&rps_vals));
    let good_rps = (!good_vals.is_empty()).then(|| Spread::of(&good_vals));
    let representative = match rps {
        Some(s) => measured
            .iter()
            .copied()
            .min_by(|a, b| {
                let da = (a.rps().unwrap_or(0.0) - s.median).abs();
                let db = (b.rps().unwrap_or(0.0) - s.median).abs();
                da.total_cmp(&db)
            })
            .unwrap_or(cells[0]),
        None => cells[0],
    };
    let mut flags: BTreeSet<String> = cells.iter().flat_map(|c| c.flags.iter().cloned()).collect();
    if crate::flags::unstable(&rps_vals) {
        flags.insert("unstable".into());
    }
    let verdict = crate::verdict::prevailing(cells.iter().filter_map(|c| c.verdict.as_ref()));
    Row {
        server: cells[0].server.clone(),
        model: cells[0].model.clone(),
        concurrency: cells[0].concurrency,
        failed: cells.iter().filter(|c| c.status == Status::Failed).count(),
        series,
        representative,
        rps,
        good_rps,
        flags: order_flags(flags),
        ci95: crate::stats::median_ci95(&rps_vals),
        outliers: crate::stats::outliers(&rps_vals).len(),
        verdict,
        cells,
    }
}

/// Flags in the order of `flags::EXPLANATIONS` (most serious first).
fn order_flags(set: BTreeSet<String>) -> Vec<String> {
    let mut v: Vec<String> = set.into_iter().collect();
    let rank = |f: &String| {
        crate::flags::EXPLANATIONS
            .iter()
            .position(|(name, _)| name == f)
            .unwrap_or(usize::MAX)
    };
    v.sort_by_key(rank);
    v
}

/// Rows grouped into one table per (series, server).
pub fn tables<'a>(rows: &[Row<'a>]) -> Vec<Table<'a>> {
    let mut out: Vec<Table<'a>> = Vec::new();
    for r in rows {
        match out
            .iter_mut()
            .find(|t| t.series == r.series && t.server == r.server)
        {
            Some(t) => t.rows.push(r.clone()),
            None => out.push(Table {
                series: r.series.clone(),
                server: r.server.clone(),
                model: r.model.clone(),
                rows: vec![r.clone()],
            }),
        }
    }
    out
}

/// The distinct series of a run, in order.
pub fn series(rows: &[Row<'_>]) -> Vec<Series> {
    let mut v: Vec<Series> = Vec::new();
    for r in rows {
        if !v.contains(&r.series) {
            v.push(r.series.clone());
        }
    }
    v
}

/// Server names in the order the lab file lists them (first appearance in the cells).
pub fn server_order(results: &Results) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for c in &results.cells {
        if !v.contains(&c.server) {
            v.push(c.server.clone());
        }
    }
    v
}

fn series_of(c: &Cell) -> Series {
    Series {
        group: c.group,
        group_label: c.group_label.clone(),
        workload: c.workload.clone(),
        path: c.path.clone(),
        keepalive: c.keepalive,
    }
}

/// One series laid out as a grid: servers across, concurrency levels down.
pub struct Grid<'r, 'a> {
    pub rows: Vec<&'r Row<'a>>,
    /// Servers in configured order.
    pub servers: Vec<&'r str>,
    /// Concurrency levels, ascending.
    pub levels: Vec<u32>,
}

impl<'r, 'a> Grid<'r, 'a> {
    pub fn of(rows: &'r [Row<'a>], series: &Series) -> Grid<'r, 'a> {
        let rows: Vec<&Row> = rows.iter().filter(|r| r.series == *series).collect();
        let mut servers: Vec<&str> = Vec::new();
        let mut levels: Vec<u32> = Vec::new();
        for r in &rows {
            if !servers.contains(&r.server.as_str()) {
                servers.push(&r.server);
            }
            if !levels.contains(&r.concurrency) {
                levels.push(r.concurrency);
            }
        }
        levels.sort_unstable();
        Grid {
            rows,
            servers,
            levels,
        }
    }

    /// The row of `server` at `concurrency`, if it was measured.
    pub fn at(&self, server: &str, concurrency: u32) -> Option<&'r Row<'a>> {
        self.rows
            .iter()
            .copied()
            .find(|r| r.server == server && r.concurrency == concurrency)
    }
}

/// The ratio column of a two-server comparison, decided once for every format.
#[derive(Debug, Clone, PartialEq)]
pub enum Ratio {
    /// First server's median req/s over the second's.
    Value(f64),
    /// The row has numbers, but they do not compare the servers (a side was limited by
    /// the load generator, or answered errors): the word says which.
    NotComparable(&'static str),
    Missing,
}

impl Ratio {
    pub fn of(a: Option<&Row<'_>>, b: Option<&Row<'_>>) -> Ratio {
        let (Some(a), Some(b)) = (a, b) else {
            return Ratio::Missing;
        };
        for limiter in [Limiter::Errors, Limiter::Loadgen] {
            if [a, b]
                .iter()
                .any(|r| r.verdict.is_some_and(|v| v.limiter == limiter))
            {
                return Ratio::NotComparable(match limiter {
                    Limiter::Errors => "errors",
                    _ => "loadgen-bound",
                });
            }
        }
        match (a.rps, b.rps) {
            (Some(x), Some(y)) if y.median > 0.0 => Ratio::Value(x.median / y.median),
            _ => Ratio::Missing,
        }
    }

    /// `1.23×`, `— (loadgen-bound)`, or `—`.
    pub fn text(&self) -> String {
        match self {
            Ratio::Value(v) => format!("{v:.2}×"),
            Ratio::NotComparable(why) => format!("— ({why})"),
            Ratio::Missing => "—".into(),
        }
    }
}

/// One line per limiter that keeps rows of a comparison from measuring the servers, with
/// what to change; empty when every row measures the servers.
pub fn comparison_notes(rows: &[&Row<'_>]) -> Vec<String> {
    let mut notes = Vec::new();
    for limiter in [Limiter::Loadgen, Limiter::Errors] {
        let hit: Vec<String> = rows
            .iter()
            .filter(|r| r.verdict.is_some_and(|v| v.limiter == limiter))
            .map(|r| format!("{} c={}", r.server, r.concurrency))
            .collect();
        if hit.is_empty() {
            continue;
        }
        let advice = rows
            .iter()
            .filter_map(|r| r.verdict.filter(|v| v.limiter == limiter))
            .find_map(|v| v.advice.clone())
            .unwrap_or_default();
        notes.push(format!(
            "{} ({}): these numbers are not a difference between the models. {}",
            limiter,
            hit.join(", "),
            capitalize(&advice)
        ));
    }
    notes
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Verdicts used by any row, each with its explanation, in checking order.
pub fn verdicts_used(rows: &[Row<'_>]) -> Vec<(Limiter, usize)> {
    Limiter::ALL
        .into_iter()
        .map(|l| {
            let n = rows
                .iter()
                .filter(|r| r.verdict.is_some_and(|v| v.limiter == l))
                .count();
            (l, n)
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// The lab's own cost per cell: wall time of the cell step minus ab's "Time taken".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overhead {
    pub cells: usize,
    /// Summed wall time of the cell steps, and of ab's runs, in seconds.
    pub cells_wall_s: f64,
    pub ab_s: f64,
    /// Median per-cell overhead, seconds.
    pub median_s: f64,
}

impl Overhead {
    pub fn of(results: &Results) -> Option<Overhead> {
        let pairs: Vec<(f64, f64)> = results
            .cells
            .iter()
            .filter_map(|c| Some((c.wall_s, c.ab.as_ref()?.time_taken_s?)))
            .filter(|(wall, _)| *wall > 0.0)
            .collect();
        if pairs.is_empty() {
            return None;
        }
        let overheads: Vec<f64> = pairs.iter().map(|(w, t)| (w - t).max(0.0)).collect();
        Some(Overhead {
            cells: pairs.len(),
            cells_wall_s: pairs.iter().map(|p| p.0).sum(),
            ab_s: pairs.iter().map(|p| p.1).sum(),
            median_s: Spread::of(&overheads).median,
        })
    }

    /// `16 cells: 2.31 s of cell steps for 1.24 s of ab (1.9×), 0.068 s overhead per cell (median)`
    pub fn text(&self) -> String {
        format!(
            "{} cells: {:.2} s of cell steps for {:.2} s of ab time ({:.1}×), {:.3} s lab overhead per cell (median)",
            self.cells,
            self.cells_wall_s,
            self.ab_s,
            if self.ab_s > 0.0 { self.cells_wall_s / self.ab_s } else { f64::NAN },
            self.median_s
        )
    }
}
