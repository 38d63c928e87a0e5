//! The shape every report shares: cells grouped into rows (one row = one server at one
//! concurrency for one workload, keep-alive setting and resource group, over its
//! repetitions) and rows grouped into tables (one table = one server's concurrency sweep).

use std::collections::BTreeSet;

use crate::results::{Cell, Results, Status};
use crate::stats::Spread;

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
}

/// Columns of the evidence table every format shows under a baseline table; the flags
/// column comes last so formats can render it their own way.
pub const EVIDENCE_COLUMNS: [&str; 15] = [
    "c",
    "good req/s",
    "req/s spread (CV)",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "connect mean / max ms",
    "processing mean ms",
    "server CPU avg / peak (cores)",
    "throttled",
    "server memory peak",
    "server threads peak",
    "ab CPU (cores)",
    "flags",
];

impl Row<'_> {
    /// The evidence cells as plain text, in `EVIDENCE_COLUMNS` order (flags joined by ", ").
    pub fn evidence(&self) -> [String; 15] {
        use super::{mib, num};
        let dash = || "—".to_string();
        let c = self.representative;
        let ct = c.ab.as_ref().and_then(|a| a.connection_times.as_ref());
        let connect = ct.and_then(|t| t.connect.as_ref());
        let processing = ct.and_then(|t| t.processing.as_ref());
        let srv = c.server_resources.as_ref();
        let lg = c.loadgen_resources.as_ref();
        [
            self.concurrency.to_string(),
            num(self.good_rps.map(|s| s.median), 2),
            match self.rps {
                Some(s) if s.n > 1 => {
                    format!("{:.0}–{:.0} ({:.1}%)", s.min, s.max, s.cv * 100.0)
                }
                _ => dash(),
            },
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
            srv.map(|s| format!("{:.2} / {:.2}", s.cpu_cores_avg, s.cpu_cores_peak))
                .unwrap_or_else(dash),
            srv.and_then(|s| s.throttled_share())
                .map(|v| format!("{:.0}%", v * 100.0))
                .unwrap_or_else(dash),
            srv.map(|s| mib(s.memory_peak_bytes)).unwrap_or_else(dash),
            srv.map(|s| s.pids_peak.to_string()).unwrap_or_else(dash),
            lg.map(|s| format!("{:.2}", s.cpu_cores_avg))
                .unwrap_or_else(dash),
            if self.flags.is_empty() {
                dash()
            } else {
                self.flags.join(", ")
            },
        ]
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
