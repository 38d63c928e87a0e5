//! Evidence flags: short words that travel with a number and say what limited or spoiled it.
//!
//! A req/s figure alone cannot say whether the server or ab was the bottleneck, whether the
//! CPU quota throttled the server, or whether half the answers were errors. Each flag below is
//! computed from what the cell recorded, and every report prints the flags next to the number.
//!
//! A flag is a [`Flag`]: its word (as `results.json` stores it), its letter (charts) and the
//! sentence that explains it (reports) are all in [`Flag::info`]. Adding a flag is a variant,
//! its line there, and its place in [`Flag::ALL`].

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::results::Cell;

/// ab used at least this share of the CPU it may use (ab is single-threaded: at most 1 core).
pub const LOADGEN_BOUND_SHARE: f64 = 0.9;
/// The server was throttled in at least this share of its CFS periods.
pub const THROTTLED_SHARE: f64 = 0.25;
/// Slowest connect at or above this many ms: the SYN-retry signature of a full listen backlog
/// (Linux retries a dropped SYN after 1 s, then 3 s, 7 s, ...).
pub const CONNECT_RETRY_MS: f64 = 1000.0;
/// An open-loop cell achieved less than this share of its offered rate below it: the
/// server (or the load generator) could not keep up with the schedule.
pub const RATE_SHORTFALL_SHARE: f64 = 0.05;
/// Spread of repetitions (max - min) above this share of the median.
pub const UNSTABLE_SPREAD: f64 = 0.10;

/// What spoiled or limited a number.
///
/// Equality is by the word, so a `Flag` can be looked up and joined like a `&str`
/// (`cell.flags.join(", ")`). It has no `Ord`: [`Flag::rank`] gives the report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flag {
    Errors,
    SharedCpus,
    RateShortfall,
    LoadgenBound,
    CpuThrottled,
    ConnectRetries,
    AbWarning,
    Unstable,
    Failed,
}

impl Flag {
    /// Every flag, most serious first: the order in which reports list them.
    pub const ALL: [Flag; 9] = [
        Flag::Errors,
        Flag::SharedCpus,
        Flag::RateShortfall,
        Flag::LoadgenBound,
        Flag::CpuThrottled,
        Flag::ConnectRetries,
        Flag::AbWarning,
        Flag::Unstable,
        Flag::Failed,
    ];

    /// The word (as stored and shown), the letter on chart points, and the explanation.
    fn info(self) -> (&'static str, char, &'static str) {
        match self {
            Flag::Errors => ("errors", 'E', "failed requests or non-2xx responses: ab counts non-2xx as successes, our good req/s column does not"),
            Flag::SharedCpus => ("shared-cpus", 'X', "another lab run had containers on this cell's CPUs while it ran: each measured the other, so the number describes neither; run one lab at a time per machine (or pin them apart)"),
            Flag::RateShortfall => ("rate-shortfall", 'S', "open loop: the achieved rate fell more than 5% short of the offered rate; the server (or the load generator) could not keep up, and the requests it did not take waited in the queue"),
            Flag::LoadgenBound => ("loadgen-bound", 'L', "the load tool used >= 90% of the CPU it may use (ab: one core at most), or its CPU limit throttled it in >= 25% of periods: the number measures the load generator, not the server"),
            Flag::CpuThrottled => ("cpu-throttled", 'T', "the server's CPU quota throttled it in >= 25% of scheduler periods"),
            Flag::ConnectRetries => ("connect-retries", 'R', "the slowest connect took >= 1 s: SYN retries, the listen backlog overflowed"),
            Flag::AbWarning => ("ab-warning", 'W', "ab itself warned that its results are not reliable"),
            Flag::Unstable => ("unstable", 'U', "the repetitions disagree: the 95% interval of the median is wider than 10% of it (with fewer than 6 repetitions: max - min > 10% of the median)"),
            Flag::Failed => ("failed", 'F', "the cell did not produce a measurement (see its reason)"),
        }
    }

    /// The word reports print and `results.json` stores: `loadgen-bound`.
    pub fn as_str(self) -> &'static str {
        self.info().0
    }

    /// The letter beside a flagged point in a chart.
    pub fn letter(self) -> char {
        self.info().1
    }

    /// One sentence for a report's legend.
    pub fn explanation(self) -> &'static str {
        self.info().2
    }

    /// Position in [`Flag::ALL`]: lower is more serious.
    pub fn rank(self) -> usize {
        Flag::ALL
            .iter()
            .position(|f| *f == self)
            .unwrap_or(usize::MAX)
    }

    /// Flags without repeats, most serious first.
    pub fn ordered(flags: impl IntoIterator<Item = Flag>) -> Vec<Flag> {
        let mut v: Vec<Flag> = flags.into_iter().collect();
        v.sort_by_key(|f| f.rank());
        v.dedup();
        v
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets a list of flags be joined like a list of words; `Eq` agrees (one word per flag).
impl Borrow<str> for Flag {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

/// The flags of one finished cell (all but `unstable`, which needs the other repetitions).
pub fn cell_flags(cell: &Cell) -> Vec<Flag> {
    let shared = (!cell.neighbours.is_empty()).then_some(Flag::SharedCpus);
    let Some(counts) = cell.counts() else {
        return shared.into_iter().chain([Flag::Failed]).collect();
    };
    let mut flags: Vec<Flag> = shared.into_iter().collect();
    if counts.bad() > 0 {
        flags.push(Flag::Errors);
    }
    if cell
        .achieved_share()
        .is_some_and(|s| s < 1.0 - RATE_SHORTFALL_SHARE)
    {
        flags.push(Flag::RateShortfall);
    }
    if let Some(lg) = &cell.loadgen_resources {
        // ab is single-threaded (1 core at most); oha uses every core it may.
        let max_cores = cell
            .tool()
            .and_then(|t| t.driver().max_cores())
            .unwrap_or(f64::INFINITY);
        let cores = cell
            .limits
            .loadgen_cpuset
            .as_deref()
            .and_then(crate::pin::cpuset_size)
            .map(|n| n as f64);
        let allowance = [cell.limits.loadgen_cpus, cores, Some(max_cores)]
            .into_iter()
            .flatten()
            .fold(f64::INFINITY, f64::min);
        let allowance = if allowance.is_finite() {
            allowance
        } else {
            crate::host::host_cpus() as f64
        };
        // Either ab used (nearly) all the CPU it may use, or its CPU quota held it back in
        // a large share of periods: both mean ab, not the server, set the pace. The second
        // catches short cells, whose average is diluted by the container's start.
        let throttled = lg.throttled_share().is_some_and(|s| s >= THROTTLED_SHARE);
        if lg.cpu_cores_avg >= LOADGEN_BOUND_SHARE * allowance || throttled {
            flags.push(Flag::LoadgenBound);
        }
    }
    if let Some(share) = cell
        .server_resources
        .as_ref()
        .and_then(|s| s.throttled_share())
    {
        if share >= THROTTLED_SHARE {
            flags.push(Flag::CpuThrottled);
        }
    }
    let Some(ab) = cell.ab.as_ref() else {
        return flags;
    };
    let connect_max = ab
        .connection_times
        .as_ref()
        .and_then(|t| t.connect.as_ref())
        .map(|r| r.max);
    if connect_max.is_some_and(|m| m >= CONNECT_RETRY_MS) {
        flags.push(Flag::ConnectRetries);
    }
    if !ab.warnings.is_empty()
        && ab
            .warnings
            .iter()
            .any(|w| w.contains("not reliable") || w.contains("WARNING") || w.contains("ERROR"))
    {
        flags.push(Flag::AbWarning);
    }
    flags
}

/// Is the spread of these repetitions too wide to trust the median? With 6 or more
/// repetitions, when the 95% interval of the median reaches beyond ±10%/2 = ±5% of it
/// (the min–max range of many repetitions grows with their number, an interval does not);
/// with fewer, when max − min exceeds 10% of the median.
pub fn unstable(values: &[f64]) -> bool {
    if values.len() < 2 {
        return false;
    }
    let s = crate::stats::Spread::of(values);
    if s.median <= 0.0 {
        return false;
    }
    match crate::stats::median_ci95(values) {
        Some((lo, hi)) => hi - lo > UNSTABLE_SPREAD * s.median,
        None => (s.max - s.min) > UNSTABLE_SPREAD * s.median,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unstable_needs_two_values_and_a_wide_spread() {
        assert!(!unstable(&[100.0]));
        assert!(!unstable(&[100.0, 105.0, 102.0]));
        assert!(unstable(&[100.0, 120.0, 101.0]));
        // Many repetitions: one far value widens min–max, not the interval of the median.
        let many = [
            100.0, 101.0, 99.0, 100.5, 99.5, 100.2, 99.8, 100.1, 130.0, 100.3,
        ];
        assert!(!unstable(&many));
        let wide = [80.0, 120.0, 90.0, 110.0, 85.0, 115.0, 95.0, 105.0];
        assert!(unstable(&wide));
    }

    #[test]
    fn every_flag_is_listed_once_with_its_own_word_and_letter() {
        let words: Vec<&str> = Flag::ALL.iter().map(|f| f.as_str()).collect();
        let mut letters: Vec<char> = Flag::ALL.iter().map(|f| f.letter()).collect();
        letters.sort_unstable();
        letters.dedup();
        assert_eq!(
            letters.len(),
            Flag::ALL.len(),
            "letters repeat: {letters:?}"
        );
        for (i, f) in Flag::ALL.iter().enumerate() {
            assert_eq!(f.rank(), i);
            assert!(!f.explanation().is_empty());
            // The stored word is the printed word.
            let json = serde_json::to_string(f).unwrap();
            assert_eq!(json, format!("\"{}\"", f.as_str()));
            assert_eq!(serde_json::from_str::<Flag>(&json).unwrap(), *f);
            assert_eq!(words.iter().filter(|w| **w == f.as_str()).count(), 1);
        }
    }

    #[test]
    fn flags_join_like_words_in_report_order() {
        let v = Flag::ordered([Flag::Unstable, Flag::Errors, Flag::Unstable]);
        assert_eq!(v, [Flag::Errors, Flag::Unstable]);
        assert_eq!(v.join(", "), "errors, unstable");
    }
}
