//! Every server of a series side by side: req/s, p99 and verdict per concurrency, and the
//! ratio of two servers when it compares them.

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
                format!("{s} limited by"),
            ]);
        }
        if let Some((a, b)) = pair {
            columns.push(format!("{a} / {b}"));
        }
        let mut table = Table::new(columns);
        for &c in &grid.levels {
            let mut cells = vec![Cell::num(c.label())];
            for s in &grid.servers {
                cells.extend(server_cells(grid.at(s, c)));
            }
            if let Some((a, b)) = pair {
                cells.push(Ratio::of(grid.at(a, c), grid.at(b, c)).cell());
            }
            table.push(cells, false);
        }
        ComparisonTable {
            title: super::series_title(&grid.series),
            table,
            notes: comparison_notes(&grid.rows)
                .into_iter()
                .map(Text::from)
                .collect(),
        }
    }
}

/// req/s (with the row's flags), p99 and verdict of one server at one level.
fn server_cells(row: Option<&Row<'_>>) -> [Cell; 3] {
    let flags = row.map(Row::flag_marks).unwrap_or_default();
    [
        Cell::num(num(row.and_then(|r| r.rps).map(|s| s.median), 2)).flag_marks(flags),
        Cell::num(num(row.and_then(|r| r.latency(Percentile::P99)), 2)),
        Cell::text(row.map_or(DASH, |r| r.limited_by())),
    ]
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
        for (limiter, word) in [
            (Limiter::Errors, "errors"),
            (Limiter::Loadgen, "loadgen-bound"),
        ] {
            if [a, b]
                .iter()
                .any(|r| r.verdict.is_some_and(|v| v.limiter == limiter))
            {
                return Ratio::NotComparable(word);
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
            Ratio::Missing => DASH.into(),
        }
    }

    fn cell(&self) -> Cell {
        let cell = Cell::num(self.text());
        match self {
            Ratio::NotComparable(_) => cell.tone(Tone::Warn),
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
