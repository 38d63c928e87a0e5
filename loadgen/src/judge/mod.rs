//! The judge: what limited a cell, and what spoiled or qualified its number.
//!
//! One [`Evidence`] is taken from each cell's record; the verdict ([`verdict`]) and the
//! flags ([`flags`]) are both read from it, through the same tests with the same
//! thresholds (defined once, below). So a flag that names the verdict's limiter is raised
//! whenever the verdict says so (`loadgen` ⇒ `loadgen-bound`, `errors` ⇒ `errors`,
//! `connect-queue` ⇒ `connect-retries`), and a report never lists as "not raised" a flag a
//! verdict relies on.
//!
//! Everything here is a pure function of recorded figures: tested without Docker.

use std::path::Path;

use anyhow::Result;

use crate::record::{Cell, Flag, Limiter, Results, Status, Verdict};

mod evidence;
mod flags;
pub mod interval;
pub mod steady;
pub mod thresholds;
mod verdict;

#[cfg(test)]
mod tests;

pub use evidence::{sleep_ms, Evidence};
pub use flags::{flags, unstable};
pub use verdict::{cores_text, verdict};

/// Share of its CPU allowance at which a process counts as saturated.
pub const CPU_SATURATED: f64 = 0.90;
/// Share of its CPU allowance below which a process is not near its limit (the verdict
/// `concurrency` needs both the server and the load tool below it).
pub const CPU_IDLE: f64 = 0.60;
/// Share of CFS periods throttled at which a quota counts as the limit.
pub const THROTTLED: f64 = 0.25;
/// Slowest connect (ms) that means SYN retries (Linux retries a dropped SYN after 1 s,
/// then 3 s, 7 s, ...): the signature of a full listen backlog.
pub const CONNECT_RETRY_MS: f64 = 1000.0;
/// Share of bad responses that makes errors the story of the cell.
pub const ERROR_SHARE: f64 = 0.01;
/// How close req/s must come to concurrency ÷ wait for the wait to be the limit.
pub const LITTLE_TOLERANCE: f64 = 0.10;
/// An open-loop cell achieved less than this share below its offered rate: the server
/// (or the load generator) could not keep up with the schedule.
pub const RATE_SHORTFALL_SHARE: f64 = crate::config::tune::ACHIEVED_WITHIN;
/// Spread of repetitions above this share of the median: unstable.
pub const UNSTABLE_SPREAD: f64 = 0.10;

/// Judge a cell from its record: its flags, and its verdict when it produced a
/// measurement with a time and a rate. `shared-cpus` (another lab run on the cell's CPUs)
/// is raised whether or not the tool measured anything.
pub fn judge(cell: &mut Cell) {
    let evidence = Evidence::of(cell);
    let shared = (!cell.neighbours.is_empty()).then_some(Flag::SharedCpus);
    cell.flags = shared.into_iter().chain(flags(evidence.as_ref())).collect();
    cell.verdict = evidence
        .filter(|e| cell.status == Status::Ok && e.time_taken_s.is_some() && e.rps.is_some())
        .map(|e| verdict(&e));
}

/// The flag that must accompany a verdict with this limiter, if one names it.
pub fn flag_of(limiter: Limiter) -> Option<Flag> {
    match limiter {
        Limiter::Errors => Some(Flag::Errors),
        Limiter::ConnectQueue => Some(Flag::ConnectRetries),
        Limiter::Loadgen => Some(Flag::LoadgenBound),
        Limiter::ServerCpu
        | Limiter::Workload
        | Limiter::OfferedRate
        | Limiter::Concurrency
        | Limiter::Undetermined => None,
    }
}

/// Read `RUN_DIR/results.json` whole, whatever schema wrote it: every cell with its
/// measurement (made by the tool layer from the tool's report, for schema 1) and a
/// judgment whose flags include the one its verdict relies on. Older labs judged flags
/// and verdicts apart, so an old cell can say `loadgen` without `loadgen-bound`: its
/// verdict is kept as recorded (it is what the run's findings quote) and the flag added.
pub fn load(run_dir: &Path) -> Result<Results> {
    let mut results = crate::record::load(run_dir)?;
    complete(&mut results);
    Ok(results)
}

/// A record read from JSON by other means (a test's fixture), made whole as [`load`] does.
pub fn complete(results: &mut Results) {
    crate::record::upgrade::cells(&mut results.cells);
    for cell in &mut results.cells {
        crate::tool::measure(cell);
        reconcile(cell);
    }
}

/// Add the flag a cell's verdict relies on, when the record lacks it.
pub fn reconcile(cell: &mut Cell) {
    let Some(flag) = cell.verdict.as_ref().and_then(|v| flag_of(v.limiter)) else {
        return;
    };
    if !cell.flags.contains(&flag) {
        cell.flags.push(flag);
        cell.flags = Flag::ordered(cell.flags.iter().copied());
    }
}

/// The verdict shown for a row of repetitions: the most common one; ties go to the
/// limiter that comes first in the checking order.
pub fn prevailing<'a>(verdicts: impl IntoIterator<Item = &'a Verdict>) -> Option<&'a Verdict> {
    let all: Vec<&Verdict> = verdicts.into_iter().collect();
    let count = |l: Limiter| all.iter().filter(|v| v.limiter == l).count();
    let best = Limiter::ALL
        .into_iter()
        .max_by_key(|l| (count(*l), std::cmp::Reverse(*l)))?;
    all.into_iter().find(|v| v.limiter == best)
}
