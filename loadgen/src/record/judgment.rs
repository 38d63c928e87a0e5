//! The judgment of a cell as the record stores it: the verdict (what limited it, with the
//! figures that decided it) and the evidence flags. the judge layer (`judge/`) computes both from one
//! set of figures; this file only names them, so that every reader of a record can print
//! them without importing the judge.

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The limit that set a cell's pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Limiter {
    Errors,
    ConnectQueue,
    ServerCpu,
    Loadgen,
    Workload,
    OfferedRate,
    Concurrency,
    Undetermined,
}

impl Limiter {
    pub const ALL: [Limiter; 8] = [
        Limiter::Errors,
        Limiter::ConnectQueue,
        Limiter::ServerCpu,
        Limiter::Loadgen,
        Limiter::Workload,
        Limiter::OfferedRate,
        Limiter::Concurrency,
        Limiter::Undetermined,
    ];

    /// The word reports print.
    pub fn as_str(self) -> &'static str {
        match self {
            Limiter::Errors => "errors",
            Limiter::ConnectQueue => "connect-queue",
            Limiter::ServerCpu => "server-cpu",
            Limiter::Loadgen => "loadgen",
            Limiter::Workload => "workload",
            Limiter::OfferedRate => "offered-rate",
            Limiter::Concurrency => "concurrency",
            Limiter::Undetermined => "undetermined",
        }
    }

    /// One sentence for a report's legend.
    pub fn explanation(self) -> &'static str {
        match self {
            Limiter::Errors => "≥ 1% of requests failed or answered non-2xx: the number describes errors",
            Limiter::ConnectQueue => "the slowest connect took ≥ 1 s (SYN retries): the listen backlog overflowed",
            Limiter::ServerCpu => "the server used ≥ 90% of its CPU limit, or its quota throttled it in ≥ 25% of periods: this measures the server",
            Limiter::Loadgen => "the load tool used ≥ 90% of the CPU it can use (ab: one core at most), or its quota throttled it: this measures the load generator, not the server",
            Limiter::Workload => "the route's own wait set the pace: req/s ≈ concurrency ÷ wait (Little's law) within 10%",
            Limiter::OfferedRate => "open loop: the server kept up with the offered rate (within 5%) and nothing was saturated: the rate set the pace, read the latency",
            Limiter::Concurrency => "closed loop with nothing near its limit (server and load tool each below 60% of the CPU they may use, or at c = 1 below saturation: one connection alternates between them; no throttling): each connection's round trip sets the pace, and more concurrency gives more req/s",
            Limiter::Undetermined => "no measured resource was saturated, yet one was busy enough (60–90%) that it may have shaped the number",
        }
    }

    /// Does a number with this verdict describe the server's capacity?
    pub fn measures_the_server(self) -> bool {
        matches!(self, Limiter::ServerCpu | Limiter::Workload)
    }
}

impl fmt::Display for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A cell's verdict: the limit, the figures that decided it, and what to change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub limiter: Limiter,
    /// The deciding numbers, e.g. `ab CPU 0.97 of 1 core; server CPU 0.41 of 1`.
    pub evidence: String,
    /// What to change when the number does not measure the server.
    pub advice: Option<String>,
}

/// What spoiled or limited a number.
///
/// Equality is by the word, so a `Flag` can be looked up and joined like a `&str`
/// (`cell.flags.join(", ")`). It has no `Ord`: [`Flag::rank`] gives the report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flag {
    Errors,
    SharedCpus,
    ShortCell,
    NotSteady,
    Unconfirmed,
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
    pub const ALL: [Flag; 12] = [
        Flag::Errors,
        Flag::SharedCpus,
        Flag::ShortCell,
        Flag::NotSteady,
        Flag::Unconfirmed,
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
            Flag::ShortCell => ("short-cell", 'P', "the server had a CPU quota and the cell covered fewer quota periods of steady load than the policy asks for (loadgen.min_periods, 20 by default): its figures describe where the period boundaries fell, not the limit; leave `requests` out of the lab file to let the lab size the cell"),
            Flag::NotSteady => ("not-steady", 'N', "the cell's load was not steady: req/s of the steady window's two halves differ by more than 10%, or its seconds trend by more than 5% per second"),
            Flag::Unconfirmed => ("unconfirmed", 'C', "`lab run --confirm` put the row's verdict to a counterfactual cell (more server CPU for `server-cpu`; for `loadgen`, more load generator CPU, or more server CPU when the load generator has no limit) and req/s did not move as the verdict predicts: the verdict names the wrong limit, or only part of it; see the row's confirmation"),
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

#[cfg(test)]
mod tests {
    use super::*;

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
