//! The shape every report shares: cells grouped into rows (one row = one server at one
//! concurrency for one workload, keep-alive setting and resource group, over its
//! repetitions) and rows grouped into sweeps (one server's concurrency sweep) and grids
//! (every server of a series side by side).

use crate::config::RateSpec;
use crate::judge::{self, interval};
use crate::record::{Cell, Percentile, Results, Status};
use crate::record::{Flag, Verdict};
use crate::report::doc::FlagMark;
use crate::stats::{self, Spread};

/// What one table varies over: everything but the concurrency (closed loop) or the
/// offered rate (open loop).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Series {
    pub group: usize,
    pub group_label: String,
    pub workload: String,
    pub path: String,
    pub keepalive: bool,
    /// Open loop: the connections the rates were sent over (a series varies the rate).
    pub open_loop_connections: Option<u32>,
}

impl Series {
    fn of(c: &Cell) -> Series {
        Series {
            group: c.group,
            group_label: c.group_label.clone(),
            workload: c.workload.clone(),
            path: c.path.clone(),
            keepalive: c.keepalive,
            open_loop_connections: c.rate.map(|_| c.concurrency),
        }
    }

    /// Does the series vary the offered rate (open loop) rather than the concurrency?
    pub fn is_open_loop(&self) -> bool {
        self.open_loop_connections.is_some()
    }

    /// `on` or `off`.
    pub fn keepalive_word(&self) -> &'static str {
        if self.keepalive {
            "on"
        } else {
            "off"
        }
    }
}

/// Where a row sits in its series: a concurrency (closed loop), or a concurrency and an
/// offered rate (open loop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Level {
    pub concurrency: u32,
    pub rate: Option<RateSpec>,
}

impl Level {
    /// `100`, or the rate as written for an open-loop row: `50%`, `2000/s`.
    pub fn label(&self) -> String {
        match self.rate {
            None => self.concurrency.to_string(),
            Some(r @ RateSpec::Percent(_)) => r.to_string(),
            Some(r) => format!("{r}/s"),
        }
    }
}

/// One server at one concurrency level (or offered rate) of a series, over its repetitions.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    pub series: Series,
    pub server: String,
    pub model: String,
    pub concurrency: u32,
    /// Open loop: the rate as the lab file asked for it.
    pub rate: Option<RateSpec>,
    /// Open loop: the rate offered (median over the repetitions), req/s.
    pub offered_rps: Option<f64>,
    pub cells: Vec<&'a Cell>,
    /// Spread of ab's req/s over the repetitions that produced a report.
    pub rps: Option<Spread>,
    /// Spread of req/s counting only good (2xx, not failed) responses.
    pub good_rps: Option<Spread>,
    /// The repetition whose req/s is the median one (or the first cell): the one whose ab
    /// numbers the baseline table shows.
    pub representative: &'a Cell,
    /// Union of the cells' flags, plus `unstable` when the repetitions disagree; most
    /// serious first.
    pub flags: Vec<Flag>,
    pub failed: usize,
    /// The distribution-free 95% interval of the median req/s (6 or more repetitions).
    pub ci95: Option<(f64, f64)>,
    /// The same interval of the median good req/s.
    pub good_ci95: Option<(f64, f64)>,
    /// Repetitions whose req/s is an outlier (modified Z-score > 3.5).
    pub outliers: usize,
    /// What limited the cells (the most common verdict of the repetitions).
    pub verdict: Option<&'a Verdict>,
}

impl Row<'_> {
    /// Median over the measured repetitions of the server's CPU time per request, µs (over
    /// each cell's steady window when it has one: see `Cell::server_cpu_per_request_us`).
    pub fn cpu_per_request_us(&self) -> Option<f64> {
        self.cpu_per_request().map(|i| i.median)
    }

    /// The server's CPU time per request over the measured repetitions, µs: their median
    /// and where it lies as well as the repetitions tell ([`stats::Interval::of`]: the 95%
    /// interval of the median from 6 repetitions, their min–max from 2 to 5).
    pub fn cpu_per_request(&self) -> Option<stats::Interval> {
        let vals: Vec<f64> = self
            .cells
            .iter()
            .filter(|c| c.status == Status::Ok)
            .filter_map(|c| c.server_cpu_per_request_us())
            .collect();
        stats::Interval::of(&vals)
    }

    /// Median over the repetitions of the latency at `p`, ms.
    pub fn latency(&self, p: Percentile) -> Option<f64> {
        let vals: Vec<f64> = self.cells.iter().filter_map(|c| c.latency(p)).collect();
        (!vals.is_empty()).then(|| Spread::of(&vals).median)
    }

    /// `async c=100`, or `async 50% (812 req/s)` in open loop: how notes and banners name
    /// a row.
    pub fn name(&self) -> String {
        match (self.rate, self.offered_rps) {
            (Some(r), Some(o)) if r.is_percent() => {
                format!("{} {r} ({o:.0} req/s)", self.server)
            }
            (Some(_), _) => format!("{} {}", self.server, self.level().label()),
            (None, _) => format!("{} c={}", self.server, self.concurrency),
        }
    }

    pub fn level(&self) -> Level {
        Level {
            concurrency: self.concurrency,
            rate: self.rate,
        }
    }

    /// Open loop: the achieved rate over the offered one (median repetition).
    pub fn achieved_share(&self) -> Option<f64> {
        Some(self.rps?.median / self.offered_rps.filter(|o| *o > 0.0)?)
    }

    /// The row's flags with their details (`short-cell (3 periods)`).
    pub fn flag_marks(&self) -> Vec<FlagMark> {
        super::steady::flag_marks(&self.flags, &self.cells)
    }

    /// The word of the row's verdict, or `—`.
    pub fn limited_by(&self) -> &'static str {
        self.verdict.map_or("—", |v| v.limiter.as_str())
    }

    /// Did any repetition answer errors or fail outright?
    pub fn has_errors(&self) -> bool {
        self.flags
            .iter()
            .any(|f| matches!(f, Flag::Errors | Flag::Failed))
    }
}

/// All rows of a run, in a stable order: series, then server (as configured), then concurrency.
pub fn rows(results: &Results) -> Vec<Row<'_>> {
    let servers = server_order(results);
    let mut keys: Vec<(Series, usize, u32, Option<RateSpec>)> = Vec::new();
    for c in &results.cells {
        let server = servers.iter().position(|s| *s == c.server).unwrap_or(0);
        let k = (Series::of(c), server, c.concurrency, c.rate);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.sort();
    keys.into_iter()
        .map(|(series, si, conc, rate)| {
            let cells: Vec<&Cell> = results
                .cells
                .iter()
                .filter(|c| {
                    c.server == servers[si]
                        && c.concurrency == conc
                        && c.rate == rate
                        && Series::of(c) == series
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
    let representative = rps
        .and_then(|s| {
            measured.iter().copied().min_by(|a, b| {
                let da = (a.rps().unwrap_or(0.0) - s.median).abs();
                let db = (b.rps().unwrap_or(0.0) - s.median).abs();
                da.total_cmp(&db)
            })
        })
        .unwrap_or(cells[0]);
    let unstable = judge::unstable(&rps_vals).then_some(Flag::Unstable);
    let flags = Flag::ordered(
        cells
            .iter()
            .flat_map(|c| c.flags.iter().copied())
            .chain(unstable),
    );
    let offered: Vec<f64> = cells.iter().filter_map(|c| c.offered_rps).collect();
    Row {
        server: cells[0].server.clone(),
        model: cells[0].model.clone(),
        concurrency: cells[0].concurrency,
        rate: cells[0].rate,
        offered_rps: (!offered.is_empty()).then(|| Spread::of(&offered).median),
        failed: cells.iter().filter(|c| c.status == Status::Failed).count(),
        series,
        representative,
        rps,
        good_rps,
        flags,
        ci95: stats::row_ci95(&rps_vals, &interval::batches(&measured, |_| 1.0)),
        good_ci95: stats::row_ci95(
            &good_vals,
            &interval::batches(&measured, interval::good_share),
        ),
        outliers: stats::outliers(&rps_vals).len(),
        verdict: judge::prevailing(cells.iter().filter_map(|c| c.verdict.as_ref())),
        cells,
    }
}

/// The rows of one server's sweep over concurrency in one series.
#[derive(Debug, Clone)]
pub struct Sweep<'r, 'a> {
    pub series: Series,
    pub server: String,
    pub model: String,
    pub rows: Vec<&'r Row<'a>>,
}

impl Sweep<'_, '_> {
    /// Most repetitions of any row.
    pub fn repetitions(&self) -> usize {
        self.rows.iter().map(|r| r.cells.len()).max().unwrap_or(1)
    }
}

/// Rows grouped into one sweep per (series, server).
pub fn sweeps<'r, 'a>(rows: &'r [Row<'a>]) -> Vec<Sweep<'r, 'a>> {
    let mut out: Vec<Sweep<'r, 'a>> = Vec::new();
    for r in rows {
        match out
            .iter_mut()
            .find(|t| t.series == r.series && t.server == r.server)
        {
            Some(t) => t.rows.push(r),
            None => out.push(Sweep {
                series: r.series.clone(),
                server: r.server.clone(),
                model: r.model.clone(),
                rows: vec![r],
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

/// One series laid out as a grid: servers across, concurrency levels (or rates) down.
pub struct Grid<'r, 'a> {
    pub series: Series,
    pub rows: Vec<&'r Row<'a>>,
    /// Servers in configured order.
    pub servers: Vec<&'r str>,
    /// Levels, ascending.
    pub levels: Vec<Level>,
}

impl<'r, 'a> Grid<'r, 'a> {
    pub fn of(rows: &'r [Row<'a>], series: &Series) -> Grid<'r, 'a> {
        let rows: Vec<&Row> = rows.iter().filter(|r| r.series == *series).collect();
        let mut servers: Vec<&str> = Vec::new();
        let mut levels: Vec<Level> = Vec::new();
        for r in &rows {
            if !servers.contains(&r.server.as_str()) {
                servers.push(&r.server);
            }
            if !levels.contains(&r.level()) {
                levels.push(r.level());
            }
        }
        levels.sort_unstable();
        Grid {
            series: series.clone(),
            rows,
            servers,
            levels,
        }
    }

    /// The row of `server` at `level`, if it was measured.
    pub fn at(&self, server: &str, level: Level) -> Option<&'r Row<'a>> {
        self.rows
            .iter()
            .copied()
            .find(|r| r.server == server && r.level() == level)
    }
}
