//! Evidence flags: short words that travel with a number and say what limited or spoiled it.
//!
//! A req/s figure alone cannot say whether the server or ab was the bottleneck, whether the
//! CPU quota throttled the server, or whether half the answers were errors. Each flag below is
//! computed from what the cell recorded, and every report prints the flags next to the number.

use crate::results::Cell;

/// ab used at least this share of the CPU it may use (ab is single-threaded: at most 1 core).
pub const LOADGEN_BOUND_SHARE: f64 = 0.9;
/// The server was throttled in at least this share of its CFS periods.
pub const THROTTLED_SHARE: f64 = 0.25;
/// Slowest connect at or above this many ms: the SYN-retry signature of a full listen backlog
/// (Linux retries a dropped SYN after 1 s, then 3 s, 7 s, ...).
pub const CONNECT_RETRY_MS: f64 = 1000.0;
/// Spread of repetitions (max - min) above this share of the median.
pub const UNSTABLE_SPREAD: f64 = 0.10;

/// Every flag with the sentence that explains it, for reports.
pub const EXPLANATIONS: &[(&str, &str)] = &[
    ("errors", "failed requests or non-2xx responses: ab counts non-2xx as successes, our good req/s column does not"),
    ("loadgen-bound", "ab used >= 90% of the CPU it may use, or its CPU limit throttled it in >= 25% of periods: the number measures ab, not the server"),
    ("cpu-throttled", "the server's CPU quota throttled it in >= 25% of scheduler periods"),
    ("connect-retries", "the slowest connect took >= 1 s: SYN retries, the listen backlog overflowed"),
    ("ab-warning", "ab itself warned that its results are not reliable"),
    ("unstable", "the spread (max - min) of repetitions is > 10% of the median"),
    ("failed", "the cell did not produce a measurement (see its reason)"),
];

/// The flags of one finished cell (all but `unstable`, which needs the other repetitions).
pub fn cell_flags(cell: &Cell) -> Vec<String> {
    let mut flags = Vec::new();
    let Some(ab) = cell.ab.as_ref() else {
        flags.push("failed".to_string());
        return flags;
    };
    if ab.failed_requests.unwrap_or(0) > 0 || ab.non_2xx.unwrap_or(0) > 0 {
        flags.push("errors".into());
    }
    if let Some(lg) = &cell.loadgen_resources {
        let allowance = cell.limits.loadgen_cpus.unwrap_or(1.0).min(1.0);
        // Either ab used (nearly) all the CPU it may use, or its CPU quota held it back in
        // a large share of periods: both mean ab, not the server, set the pace. The second
        // catches short cells, whose average is diluted by the container's start.
        let throttled = lg.throttled_share().is_some_and(|s| s >= THROTTLED_SHARE);
        if lg.cpu_cores_avg >= LOADGEN_BOUND_SHARE * allowance || throttled {
            flags.push("loadgen-bound".into());
        }
    }
    if let Some(share) = cell
        .server_resources
        .as_ref()
        .and_then(|s| s.throttled_share())
    {
        if share >= THROTTLED_SHARE {
            flags.push("cpu-throttled".into());
        }
    }
    let connect_max = ab
        .connection_times
        .as_ref()
        .and_then(|t| t.connect.as_ref())
        .map(|r| r.max);
    if connect_max.is_some_and(|m| m >= CONNECT_RETRY_MS) {
        flags.push("connect-retries".into());
    }
    if !ab.warnings.is_empty()
        && ab
            .warnings
            .iter()
            .any(|w| w.contains("not reliable") || w.contains("WARNING") || w.contains("ERROR"))
    {
        flags.push("ab-warning".into());
    }
    flags
}

/// Is the spread of these repetitions too wide to trust the median?
pub fn unstable(values: &[f64]) -> bool {
    if values.len() < 2 {
        return false;
    }
    let s = crate::stats::Spread::of(values);
    s.median > 0.0 && (s.max - s.min) > UNSTABLE_SPREAD * s.median
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unstable_needs_two_values_and_a_wide_spread() {
        assert!(!unstable(&[100.0]));
        assert!(!unstable(&[100.0, 105.0, 102.0]));
        assert!(unstable(&[100.0, 120.0, 101.0]));
    }
}
