//! Every server of a series side by side: req/s, p99, CPU per request and verdict per
//! concurrency, and the ratio of two servers when it compares them.

use super::rows::{Grid, Row};
use crate::record::Limiter;
use crate::record::Percentile;
use crate::report::doc::{num, Cell, Table, Text, Tone, DASH};

/// The comparison of one series.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonTable {
    /// The series: `hello `/` · keep-alive off · cpus=1 memory=256m`.
    pub title: Text,
    pub table: Table,
    /// Why some rows do not compare the models, and what to change.
    pub notes: Vec<Text>,
}

impl ComparisonTable {
    pub fn of(grid: &Grid<'_, '_>) -> ComparisonTable {
        let pair = (grid.servers.len() == 2).then(|| (grid.servers[0], grid.servers[1]));
        let mut columns = vec![if grid.series.is_open_loop() {
            "Offered rate".to_string()
        } else {
            "Concurrency".to_string()
        }];
        for s in &grid.servers {
            columns.extend([
                format!("{s} req/s"),
                format!("{s} p99 ms"),
                format!("{s} CPU µs/req"),
                format!("{s} limited by"),
            ]);
        }
        if let Some((a, b)) = pair {
            columns.push(format!("{a} / {b}"));
        }
        let mut table = Table::new(columns);
        let mut by_cpu = false;
        for &c in &grid.levels {
            let mut cells = vec![Cell::num(c.label())];
            for s in &grid.servers {
                cells.extend(server_cells(grid.at(s, c)));
            }
            if let Some((a, b)) = pair {
                let ratio = Ratio::of(grid.at(a, c), grid.at(b, c));
                by_cpu |= matches!(ratio, Ratio::CpuPerRequest(..));
                cells.push(ratio.cell());
            }
            table.push(cells, false);
        }
        let mut notes = comparison_notes(&grid.rows);
        if grid.rows.iter().any(|r| r.cpu_per_request().is_some()) {
            notes.push(CPU_NOTE.to_string());
        }
        let memory: Vec<(&str, Option<super::memory::PerConnection>)> = grid
            .servers
            .iter()
            .map(|s| {
                let rows: Vec<&Row> = grid
                    .rows
                    .iter()
                    .copied()
                    .filter(|r| r.server == *s)
                    .collect();
                (*s, super::memory::PerConnection::of(&rows))
            })
            .collect();
        notes.extend(super::memory::note(&memory));
        if let (true, Some((a, b))) = (by_cpu, pair) {
            notes.push(format!(
                "× CPU/req: where a side's req/s measured the load generator, the ratio is the servers' CPU time per request instead ({b}'s ÷ {a}'s: above 1, {a} serves a request for less CPU), over each cell's steady window (the whole cell's for a cell without one, such as an open-loop cell). It says which model is cheaper per request at this load, not which would serve more with more load generator: a server that spins while idle, or batches under load, is misjudged by it."
            ));
        }
        ComparisonTable {
            title: super::series_title(&grid.series),
            table,
            notes: notes.into_iter().map(Text::from).collect(),
        }
    }
}

/// What the CPU µs/req columns hold.
const CPU_NOTE: &str = "CPU µs/req: the server's CPU time per request (its container's CPU counters over each cell's steady window, or the whole cell without one), the median over the repetitions with, in brackets, their min–max (2 to 5 repetitions) or the 95% interval of the median (6 or more); n=1 for a single cell.";

/// req/s (with the row's flags), p99, CPU per request and verdict of one server at one
/// level.
fn server_cells(row: Option<&Row<'_>>) -> [Cell; 4] {
    let flags = row.map(Row::flag_marks).unwrap_or_default();
    [
        Cell::num(num(row.and_then(|r| r.rps).map(|s| s.median), 2)).flag_marks(flags),
        Cell::num(num(row.and_then(|r| r.latency(Percentile::P99)), 2)),
        Cell::num(cpu_text(row.and_then(Row::cpu_per_request))),
        Cell::text(row.map_or(DASH, |r| r.limited_by())),
    ]
}

/// `46.2 (44.0–48.1)`, `46.2 (n=1)`, or `—`.
fn cpu_text(cpu: Option<crate::stats::Interval>) -> String {
    match cpu {
        None => DASH.into(),
        Some(i) if i.n < 2 => format!("{:.1} (n=1)", i.median),
        Some(i) => format!("{:.1} ({:.1}–{:.1})", i.median, i.lo, i.hi),
    }
}

/// The ratio column of a two-server comparison, decided once for every format.
#[derive(Debug, Clone, PartialEq)]
pub enum Ratio {
    /// First server's median req/s over the second's.
    Value(f64),
    /// A side's req/s measured the load generator, not the server, but both servers' CPU
    /// per request was measured: the second's CPU per request over the first's (above 1:
    /// the first serves a request for less CPU), with the word that withheld req/s.
    CpuPerRequest(f64, &'static str),
    /// The row has numbers, but they do not compare the servers (a side answered errors,
    /// or was limited by the load generator with no CPU figures): the word says which.
    NotComparable(&'static str),
    Missing,
}

impl Ratio {
    pub fn of(a: Option<&Row<'_>>, b: Option<&Row<'_>>) -> Ratio {
        let (Some(a), Some(b)) = (a, b) else {
            return Ratio::Missing;
        };
        for (limiter, word) in [
            (Limiter::Errors, "errors"),
            (Limiter::Loadgen, "loadgen-bound"),
        ] {
            if [a, b]
                .iter()
                .any(|r| r.verdict.is_some_and(|v| v.limiter == limiter))
            {
                // Throughput set by ab says nothing of the servers; the CPU each spent
                // per request still does (errors spoil both).
                if limiter == Limiter::Loadgen {
                    if let (Some(x), Some(y)) = (a.cpu_per_request_us(), b.cpu_per_request_us()) {
                        if x > 0.0 {
                            return Ratio::CpuPerRequest(y / x, word);
                        }
                    }
                }
                return Ratio::NotComparable(word);
            }
        }
        match (a.rps, b.rps) {
            (Some(x), Some(y)) if y.median > 0.0 => Ratio::Value(x.median / y.median),
            _ => Ratio::Missing,
        }
    }

    /// `1.23×`, `1.73× CPU/req (loadgen-bound)`, `— (loadgen-bound)`, or `—`.
    pub fn text(&self) -> String {
        match self {
            Ratio::Value(v) => format!("{v:.2}×"),
            Ratio::CpuPerRequest(v, why) => format!("{v:.2}× CPU/req ({why})"),
            Ratio::NotComparable(why) => format!("— ({why})"),
            Ratio::Missing => DASH.into(),
        }
    }

    fn cell(&self) -> Cell {
        let cell = Cell::num(self.text());
        match self {
            Ratio::NotComparable(_) | Ratio::CpuPerRequest(..) => cell.tone(Tone::Warn),
            _ => cell,
        }
    }
}

/// One line per limiter that keeps rows of a comparison from measuring the servers, with
/// what to change; empty when every row measures the servers.
pub fn comparison_notes(rows: &[&Row<'_>]) -> Vec<String> {
    let mut notes = Vec::new();
    for limiter in [Limiter::Loadgen, Limiter::Errors] {
        let hit: Vec<&&Row> = rows
            .iter()
            .filter(|r| r.verdict.is_some_and(|v| v.limiter == limiter))
            .collect();
        if hit.is_empty() {
            continue;
        }
        let names: Vec<String> = hit.iter().map(|r| r.name()).collect();
        let advice = hit
            .iter()
            .find_map(|r| r.verdict.and_then(|v| v.advice.clone()))
            .unwrap_or_default();
        notes.push(format!(
            "{} ({}): these numbers are not a difference between the models. {}",
            limiter,
            names.join(", "),
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
