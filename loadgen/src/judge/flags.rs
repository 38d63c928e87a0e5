//! Evidence flags: short words that travel with a number and say what limited or spoiled it.
//!
//! A req/s figure alone cannot say whether the server or ab was the bottleneck, whether the
//! CPU quota throttled the server, or whether half the answers were errors. Each flag below is
//! computed from what the cell recorded, and every report prints the flags next to the number.
//!
//! Each flag is one test of the cell's [`Evidence`], the same test the verdict's rule of
//! the same name uses: a cell judged `loadgen` always carries `loadgen-bound`, one judged
//! `errors` always carries `errors`, `connect-queue` always `connect-retries`. A flag can
//! also be raised under a verdict that an earlier rule decided (a cell with 5% errors and
//! a saturated ab is judged `errors` and flagged `errors, loadgen-bound`).
//!
//! The flags themselves ([`Flag`]: word, letter, explanation) are record data.

use super::{Evidence, UNSTABLE_SPREAD};
use crate::record::Flag;

/// The flags of one cell (all but `unstable`, which needs the other repetitions): `failed`
/// alone when the tool measured nothing.
pub fn flags(evidence: Option<&Evidence>) -> Vec<Flag> {
    let Some(e) = evidence else {
        return vec![Flag::Failed];
    };
    [
        (e.has_errors(), Flag::Errors),
        (e.short_cell_periods.is_some(), Flag::ShortCell),
        (e.not_steady, Flag::NotSteady),
        (e.rate_shortfall(), Flag::RateShortfall),
        (e.loadgen_bound(), Flag::LoadgenBound),
        (e.server_throttled(), Flag::CpuThrottled),
        (e.connect_retries(), Flag::ConnectRetries),
        (e.tool_warned, Flag::AbWarning),
    ]
    .into_iter()
    .filter_map(|(raised, flag)| raised.then_some(flag))
    .collect()
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
}
