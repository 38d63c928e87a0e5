//! The steady window of a cell as reports put it into words (the record's
//! [`Steady`](crate::record::Steady), computed by `judge/steady.rs`): how many quota periods
//! a short cell covered, the window a row's figures come from, and the cell-length policy
//! of the run. Runs recorded before the steady window have none of it, and their reports
//! show nothing of it.

use crate::config::Lab;
use crate::record::{Cell, Flag, Results, Steady};
use crate::report::doc::FlagMark;

/// `100 ms`, `250 ms`, `1 s`.
pub fn period_text(period_s: f64) -> String {
    let ms = period_s * 1000.0;
    if ms >= 1000.0 {
        format!("{} s", trim(period_s))
    } else {
        format!("{} ms", trim(ms))
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.1}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Whole periods covered, rounded down: a short cell never reads as long enough.
fn periods(p: f64) -> String {
    let n = (p + 1e-9).floor().max(0.0) as u64;
    if n == 1 {
        "1 period".into()
    } else {
        format!("{n} periods")
    }
}

/// The flags of a row (or a cell) with their details: `short-cell (3 periods)` names the
/// periods of steady load its cells covered (the fewest and the most, when repetitions
/// differ).
pub fn flag_marks(flags: &[Flag], cells: &[&Cell]) -> Vec<FlagMark> {
    flags
        .iter()
        .map(|&flag| FlagMark {
            flag,
            detail: (flag == Flag::ShortCell)
                .then(|| short_cell_detail(cells))
                .flatten(),
        })
        .collect()
}

fn short_cell_detail(cells: &[&Cell]) -> Option<String> {
    let covered: Vec<f64> = cells
        .iter()
        .filter(|c| c.flags.contains(&Flag::ShortCell))
        .filter_map(|c| c.steady.as_ref().map(|s| s.periods_covered))
        .collect();
    let lo = covered.iter().copied().reduce(f64::min)?;
    let hi = covered.iter().copied().reduce(f64::max)?;
    if periods(lo) == periods(hi) {
        Some(periods(lo))
    } else {
        Some(format!("{}–{}", lo.floor(), periods(hi)))
    }
}

/// `steady window 2 s (20 periods of 100 ms), 5451 requests` (`, in a cell lengthened from
/// 3 s for its latency` when the policy's length was too short for it); for a cell too
/// short to hold one whole second: `no whole second of steady load (8 periods of 100 ms in
/// all)`.
pub fn window_text(s: &Steady) -> String {
    let w = s.window_s();
    let of = period_text(s.period_s);
    if w <= 0.0 || s.requests == 0 {
        return format!(
            "no whole second of steady load ({} of {of} in all)",
            periods(s.periods_covered)
        );
    }
    let lengthened = s.lengthened_from_s.map_or(String::new(), |from| {
        format!(
            ", in a cell lengthened from {} s for its latency",
            trim(from)
        )
    });
    format!(
        "steady window {} s ({} of {of}), {} requests{lengthened}",
        trim(w),
        periods(s.periods_covered),
        s.requests
    )
}

/// The cell-length policy of a run in one or two sentences, from its lab file and its
/// cells; `None` for a run whose cells have no steady window (recorded before it).
pub fn cell_length(results: &Results, lab: Option<&Lab>) -> Option<String> {
    let steady: Vec<&Steady> = results
        .cells
        .iter()
        .filter_map(|c| c.steady.as_ref())
        .collect();
    let first = steady.first()?;
    let wanted = first.periods_wanted;
    let of = period_text(first.period_s);
    let ran = ran_text(results);
    let sized = lab.is_some_and(|l| l.loadgen.sized_by_policy());
    let mut out = if sized {
        format!("sized by the lab: cells ran {ran}, to cover {wanted} quota periods of {of} of steady load (loadgen.min_periods)")
    } else {
        format!("as the lab file asks: cells ran {ran}; the policy asks for {wanted} quota periods of {of} of steady load (loadgen.min_periods), and a cell with fewer is flagged short-cell")
    };
    out.push_str(". Req/s, good req/s and server CPU per request are the steady window's: the whole seconds of the load tool's clock after its start-up and before the requests still in flight at its end (the whole run's when a cell held no such second)");
    out.push('.');
    Some(out)
}

/// `3 s each`, `2–4 s each`, or `1500 requests each`.
fn ran_text(results: &Results) -> String {
    let durations: Vec<f64> = results.cells.iter().filter_map(|c| c.duration_s).collect();
    if let (Some(lo), Some(hi)) = (
        durations.iter().copied().reduce(f64::min),
        durations.iter().copied().reduce(f64::max),
    ) {
        return if lo == hi {
            format!("{} s each", trim(lo))
        } else {
            format!("{}–{} s each", trim(lo), trim(hi))
        };
    }
    let requests: Vec<u64> = results.cells.iter().map(|c| c.requests).collect();
    match (requests.iter().min(), requests.iter().max()) {
        (Some(lo), Some(hi)) if lo == hi => format!("{lo} requests each"),
        (Some(lo), Some(hi)) => format!("{lo}–{hi} requests each"),
        _ => "no cells".into(),
    }
}

/// The amount a series' cells sent, for chart subtitles: `3 s per cell` for timed cells.
pub fn per_cell(cell: &Cell) -> String {
    match cell.duration_s.filter(|_| cell.requests == 0) {
        Some(d) => format!("{} s per cell", trim(d)),
        None => format!("{} requests per cell", cell.requests),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_round_down() {
        assert_eq!(periods(19.7), "19 periods");
        assert_eq!(periods(20.0), "20 periods");
        assert_eq!(periods(1.2), "1 period");
        assert_eq!(period_text(0.1), "100 ms");
        assert_eq!(period_text(0.25), "250 ms");
        assert_eq!(period_text(1.0), "1 s");
    }

    #[test]
    fn window_in_words() {
        let s = Steady {
            period_s: 0.1,
            window_start_unix_s: 10.0,
            window_end_unix_s: 12.0,
            periods_covered: 20.0,
            periods_wanted: 20,
            requests: 5451,
            ..Steady::default()
        };
        assert_eq!(
            window_text(&s),
            "steady window 2 s (20 periods of 100 ms), 5451 requests"
        );
        let longer = Steady {
            lengthened_from_s: Some(3.0),
            ..s.clone()
        };
        assert_eq!(
            window_text(&longer),
            "steady window 2 s (20 periods of 100 ms), 5451 requests, in a cell lengthened from 3 s for its latency"
        );
        let empty = Steady {
            window_end_unix_s: 10.0,
            periods_covered: 8.06,
            requests: 0,
            ..s
        };
        assert_eq!(
            window_text(&empty),
            "no whole second of steady load (8 periods of 100 ms in all)"
        );
    }
}
