//! The tables of one server's sweep: the original exercise's nine columns, and the evidence
//! behind them. Every figure is formatted here, once, for every format.
//!
//! The baseline table keeps exactly the original nine columns; anything wrong with a number
//! is marked *in* the cell (⚠ and the count of non-2xx or failed requests) so that no reader
//! can take a table of 404s for a table of answers again.

use super::figures::{CellFigures, ThreadsPeak};
use super::rows::{Row, Sweep};
use crate::record::{Percentile, Status};
use crate::report::doc::{int, mib, num, Cell, Table, Text, Tone, DASH};

/// The columns of the original exercise, in its order.
pub const BASELINE_COLUMNS: [&str; 9] = [
    "No test",
    "Concurrency level",
    "Time taken for test [seconds]",
    "Complete request",
    "Failed request",
    "Total transferred [bytes]",
    "Request per second [#/sec]",
    "Time per request [ms]",
    "Transfer rate [Kbytes/sec]",
];

/// Columns of the evidence table under each baseline table.
pub const EVIDENCE_COLUMNS: [&str; 19] = [
    "c",
    "offered → achieved req/s",
    "good req/s",
    "req/s 95% CI (n)",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "p99.9 ms",
    "max ms",
    "connect mean / max ms",
    "processing mean ms",
    "server CPU (cores)",
    "throttled",
    "server memory peak",
    "peak connections",
    "peak threads",
    "load tool CPU (cores)",
    "limited by",
    "flags",
];

/// Everything shown for one server's sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepTables {
    /// `async (async) — hello `/` · keep-alive off · cpus=1 memory=256m`
    pub heading: Text,
    pub baseline: Table,
    /// Under the baseline table: how repetitions were summarized, why cells failed.
    pub notes: Vec<Text>,
    pub evidence_summary: Text,
    pub evidence: Table,
    /// Under the evidence table, per row with a steady window: the verdict's evidence and
    /// the window its figures come from (none for runs recorded before steady windows).
    pub evidence_notes: Vec<Text>,
}

impl SweepTables {
    pub fn of(sweep: &Sweep<'_, '_>) -> SweepTables {
        let title = super::series_title(&sweep.series);
        let mut baseline = Table::new(BASELINE_COLUMNS);
        let mut notes = Vec::new();
        if sweep.repetitions() > 1 {
            notes.push(Text::from(format!(
                "Request per second: median of up to {} repetitions [95% confidence interval: of the batch means of the steady seconds where the cells have 4 or more between them, else of the median with 6 or more repetitions, else min–max]; the other columns are from the median repetition.",
                sweep.repetitions()
            )));
        }
        for (i, row) in sweep.rows.iter().enumerate() {
            let (cells, failure) = baseline_row(i + 1, row);
            baseline.push(cells, !row.flags.is_empty());
            notes.extend(failure);
        }
        let mut evidence = Table::new(EVIDENCE_COLUMNS);
        for row in &sweep.rows {
            evidence.push(evidence_row(row), false);
        }
        SweepTables {
            heading: Text::from(format!("{} ({}) — ", sweep.server, sweep.model))
                .append(title.clone()),
            baseline,
            notes,
            evidence_summary: Text::from(format!("Evidence for {} — ", sweep.server)).append(title),
            evidence,
            evidence_notes: sweep.rows.iter().copied().filter_map(steady_note).collect(),
        }
    }
}

/// `100`, or `20 @ 50% (812/s)` for an open-loop row: connections @ offered rate.
fn level_text(row: &Row<'_>) -> String {
    match (row.rate, row.offered_rps) {
        (Some(r), Some(o)) if r.is_percent() => format!("{} @ {r} ({o:.0}/s)", row.concurrency),
        (Some(_), _) => format!("{} @ {}", row.concurrency, row.level().label()),
        (None, _) => row.concurrency.to_string(),
    }
}

/// `1000 → 978 (98%)`: an open-loop row's offered and achieved rate; a dash in closed loop.
fn offered_text(row: &Row<'_>) -> Cell {
    let (Some(o), Some(share)) = (row.offered_rps, row.achieved_share()) else {
        return Cell::num(DASH);
    };
    let text = format!("{o:.0} → {:.0} ({:.0}%)", o * share, share * 100.0);
    let short = share < 1.0 - crate::judge::RATE_SHORTFALL_SHARE;
    let cell = Cell::num(text);
    if short {
        cell.tone(Tone::Bad)
    } else {
        cell
    }
}

/// The nine columns of one row, and the note of a row without a measurement. For an oha
/// cell the derived columns are computed as ab computes them: time per request =
/// concurrency × time taken ÷ complete, transfer rate = bytes ÷ 1024 ÷ time taken.
fn baseline_row(n: usize, row: &Row<'_>) -> (Vec<Cell>, Option<Text>) {
    let c = row.representative;
    let lead = [Cell::num(n.to_string()), Cell::num(level_text(row))];
    let Some(counts) = c.measurement().filter(|_| c.status == Status::Ok) else {
        let mut cells = lead.to_vec();
        cells.push(Cell::text("✗ failed").tone(Tone::Bad));
        cells.extend((0..3).map(|_| Cell::num(DASH)));
        cells.push(Cell::num(DASH).flag_marks(row.flag_marks()));
        cells.extend((0..2).map(|_| Cell::num(DASH)));
        let reason = c.reason.as_deref().unwrap_or("no result");
        let note = Text::from(format!("c={}: failed: {reason}", level_text(row)));
        return (cells, Some(note));
    };
    let non2xx = counts.non_2xx.unwrap_or(0);
    let failed = counts.failed.unwrap_or(0);
    let complete = match non2xx {
        0 => Cell::num(int(counts.complete)),
        n => Cell::num(format!("{} ⚠ {n} non-2xx", int(counts.complete))).tone(Tone::Warn),
    };
    let failed = match failed {
        0 => Cell::num(int(counts.failed)),
        n => Cell::num(format!("{n} ⚠")).tone(Tone::Bad),
    };
    let taken = counts.time_taken_s.filter(|t| *t > 0.0);
    let time_per_request = counts.time_per_request_ms.or_else(|| {
        let done = counts.complete.filter(|d| *d > 0)? as f64;
        Some(f64::from(c.concurrency) * taken? * 1000.0 / done)
    });
    let transfer_rate = counts
        .transfer_rate_kbps
        .or_else(|| Some(counts.transferred? as f64 / 1024.0 / taken?));
    let rps = match (row.rps, row.ci95) {
        (Some(s), Some((lo, hi))) => {
            Cell::num(format!("{:.2}", s.median)).aside(Some(format!("[{lo:.2}–{hi:.2}]")))
        }
        (Some(s), None) if s.n > 1 => Cell::num(format!("{:.2}", s.median))
            .aside(Some(format!("[{:.2}–{:.2}]", s.min, s.max))),
        _ => Cell::num(num(counts.rps, 2)),
    };
    let mut cells = lead.to_vec();
    cells.extend([
        Cell::num(num(counts.time_taken_s, 3)),
        complete,
        failed,
        Cell::num(int(counts.transferred)),
        rps.flag_marks(row.flag_marks()),
        Cell::num(num(time_per_request, 3)),
        Cell::num(num(transfer_rate, 2)),
    ]);
    (cells, None)
}

/// The evidence cells of one row, in [`EVIDENCE_COLUMNS`] order: the latency percentiles
/// are medians over the repetitions, the rest are the median repetition's.
fn evidence_row(row: &Row<'_>) -> Vec<Cell> {
    let f = CellFigures::of(row.representative);
    let cores = crate::judge::cores_text(row.representative.limits.cpus);
    let latency = |p: Percentile| Cell::num(num(row.latency(p), 2));
    vec![
        Cell::num(level_text(row)),
        offered_text(row),
        Cell::num(num(row.good_rps.map(|s| s.median), 2)),
        Cell::num(interval_text(row)),
        latency(Percentile::P50),
        latency(Percentile::P90),
        latency(Percentile::P99),
        latency(Percentile(99.9)),
        latency(Percentile::MAX),
        Cell::num(format!(
            "{} / {}",
            num(f.connect_mean_ms, 0),
            num(f.connect_max_ms, 0)
        )),
        Cell::num(num(f.processing_mean_ms, 0)),
        Cell::num(
            f.server_cpu_cores
                .map_or(DASH.into(), |v| format!("{v:.2} of {cores}")),
        ),
        Cell::num(
            f.server_throttled
                .map_or(DASH.into(), |v| format!("{:.0}%", v * 100.0)),
        ),
        Cell::num(f.memory_peak_bytes().map_or(DASH.into(), mib)),
        Cell::num(int(f.connections_peak)),
        Cell::num(match f.threads_peak {
            Some(ThreadsPeak::Threads(n)) => n.to_string(),
            Some(ThreadsPeak::Pids(n)) => format!("{n} (pids)"),
            None => DASH.into(),
        }),
        Cell::num(num(f.tool_cores, 2)),
        Cell::text(row.limited_by()),
        flags_cell(row),
    ]
}

/// `c=10: server-cpu — server CPU 0.25 of 0.25 cores (100%), throttled 85%; steady window
/// 2 s (20 periods of 100 ms), 5451 requests, 77 µs of server CPU per request`: the median
/// repetition's.
fn steady_note(row: &Row<'_>) -> Option<Text> {
    let c = row.representative;
    let s = c.steady.as_ref()?;
    let verdict = c
        .verdict
        .as_ref()
        .map(|v| format!("{} — {}; ", v.limiter, v.evidence))
        .unwrap_or_default();
    let per_request = s
        .server_cpu_per_request_us
        .map(|us| format!(", {us:.0} µs of server CPU per request"))
        .unwrap_or_default();
    Some(Text::from(format!(
        "c={}: {verdict}{}{per_request}",
        level_text(row),
        super::steady::window_text(s)
    )))
}

/// A column of flags alone: the words, or a dash.
fn flags_cell(row: &Row<'_>) -> Cell {
    if row.flags.is_empty() {
        Cell::text(DASH)
    } else {
        Cell::text(Text::new()).flag_marks(row.flag_marks())
    }
}

/// `14900–15600 ±2.3% (n=8, 1 outlier)`; min–max with fewer than 6 repetitions.
pub fn interval_text(row: &Row<'_>) -> String {
    let Some(s) = row.rps else {
        return DASH.into();
    };
    let outliers = match row.outliers {
        0 => String::new(),
        1 => ", 1 outlier".into(),
        k => format!(", {k} outliers"),
    };
    match row.ci95 {
        Some((lo, hi)) => format!(
            "{lo:.0}–{hi:.0} ±{:.1}% (n={}{outliers})",
            crate::stats::relative_half_width((lo, hi), s.median).unwrap_or(0.0) * 100.0,
            s.n
        ),
        None if s.n > 1 => format!("min–max {:.0}–{:.0} (n={}{outliers})", s.min, s.max, s.n),
        None => "(n=1)".into(),
    }
}
