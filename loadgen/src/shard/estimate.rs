//! How long a sweep takes per shard, so a user can pick N before renting N host pairs
//! (`lab check FILE --shard-count N`).
//!
//! The model, every figure stated:
//!
//! - **a cell** measures for [`cell_seconds_estimate`] seconds: the file's `duration` when it
//!   sets one; else, with neither `requests` nor `duration` given, the cell-length policy's
//!   time (`config::length`: `ceil(min_periods × cpu_period) + 1` s, 3 s by default, more
//!   on `/sleep/` routes); else `requests` at a nominal [`NOMINAL_RPS`];
//! - plus the lab's own cost per cell, [`CELL_OVERHEAD_S`] (counters, exec, parsing;
//!   measured with `examples/overhead.yaml`);
//! - plus, per group a shard touches, a server start per server ([`SERVER_START_S`]: start,
//!   verify every path, warm up) and its warm-up requests at the nominal rate;
//! - times the repetitions: `repeat: N` rounds per point; `repeat: auto` at least `min`
//!   rounds (the lower bound) and at most `max`, or fewer when the point's `time` budget
//!   runs out first (the upper bound).
//!
//! Image builds (once per host) and open-loop capacity probes are left out.

use std::fmt::Write as _;

use super::split::{points_of, Shard};
use crate::config::{Group, Lab, Plan, Point};

/// Requests per second assumed for a closed-loop cell of `requests` requests: a
/// conservative figure for `/` under a CPU limit on one core (hello cells measured 6,000 to
/// 20,000 req/s here; `/sleep` and `/cpu` workloads are slower, so give `duration` there).
pub const NOMINAL_RPS: f64 = 5_000.0;
/// The lab's own cost per cell besides the measurement, seconds (measured ~0.5 s).
pub const CELL_OVERHEAD_S: f64 = 0.5;
/// Starting, verifying and warming one server container, seconds (measured ~3 s).
pub const SERVER_START_S: f64 = 3.0;

/// Seconds one cell of `point` spends measuring: what the cell-length policy gives its
/// workload (`config::length::cell_seconds`: the file's `duration`, or the policy's time
/// when the file gives neither `requests` nor `duration`); otherwise `requests` ÷
/// [`NOMINAL_RPS`].
pub fn cell_seconds_estimate(lab: &Lab, point: &Point) -> f64 {
    let path = &lab.workloads[point.workload].path;
    crate::config::length::cell_seconds(lab, path)
        .unwrap_or(lab.loadgen.requests as f64 / NOMINAL_RPS)
}

/// One shard's share of the sweep, and how long it should take.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardEstimate {
    pub shard: Shard,
    pub points: usize,
    pub groups: usize,
    /// Cells at the fewest and the most repetitions.
    pub cells: (u64, u64),
    /// Wall time, seconds, at the fewest and the most repetitions.
    pub seconds: (f64, f64),
}

/// The wall time of each of `count` shards of `lab` (see the module's model).
pub fn estimate(lab: &Lab, count: u32) -> Vec<ShardEstimate> {
    let whole = Plan::new(lab);
    Shard::all(count)
        .map(|shard| {
            let plan = shard.select(whole.clone());
            let mut est = ShardEstimate {
                shard,
                points: points_of(&plan).len(),
                groups: plan.groups.len(),
                cells: (0, 0),
                seconds: (0.0, 0.0),
            };
            for group in &plan.groups {
                add_group(lab, group, &mut est);
            }
            est
        })
        .collect()
}

fn add_group(lab: &Lab, group: &Group, est: &mut ShardEstimate) {
    let servers = group.instances.len() as f64;
    let start = servers * (SERVER_START_S + lab.warmup as f64 / NOMINAL_RPS);
    est.seconds.0 += start;
    est.seconds.1 += start;
    for point in &group.points {
        let round_s = servers * (cell_seconds_estimate(lab, point) + CELL_OVERHEAD_S);
        let (low, high) = rounds(lab, round_s);
        let n = group.instances.len() as u64;
        est.cells.0 += low as u64 * n;
        est.cells.1 += high as u64 * n;
        est.seconds.0 += f64::from(low) * round_s;
        est.seconds.1 += f64::from(high) * round_s;
    }
}

/// Rounds a point takes: `repeat: N` exactly; `auto` from `min` to `max` or the time budget.
fn rounds(lab: &Lab, round_s: f64) -> (u32, u32) {
    match &lab.repeat_auto {
        None => (lab.repeat, lab.repeat),
        Some(a) => {
            let by_time = if round_s > 0.0 {
                (a.time_s / round_s).ceil().max(0.0) as u32
            } else {
                a.max
            };
            (a.min, by_time.clamp(a.min, a.max))
        }
    }
}

/// `3d04h`, `2h05m`, `4m10s`, `12s`.
pub fn format_duration(seconds: f64) -> String {
    let s = seconds.round().max(0.0) as u64;
    let (d, h, m, sec) = (s / 86_400, s / 3_600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d{h:02}h")
    } else if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m{sec:02}s")
    } else {
        format!("{sec}s")
    }
}

fn span(low: f64, high: f64) -> String {
    if format_duration(low) == format_duration(high) {
        format_duration(low)
    } else {
        format!("{} – {}", format_duration(low), format_duration(high))
    }
}

/// `lab check FILE --shard-count N`: the estimate per shard, the sweep's wall time (its
/// longest shard) against one host pair, and the model's assumptions in one line.
pub fn describe(lab: &Lab, count: u32) -> String {
    let shards = estimate(lab, count);
    let one = &estimate(lab, 1)[0];
    let mut s = String::new();
    let _ = writeln!(
        s,
        "wall time with {count} shard(s), one host pair each (estimate):"
    );
    for e in &shards {
        let cells = if e.cells.0 == e.cells.1 {
            e.cells.0.to_string()
        } else {
            format!("{}–{}", e.cells.0, e.cells.1)
        };
        let _ = writeln!(
            s,
            "  shard {}: {} point(s) in {} group(s), {cells} cells, {}",
            e.shard,
            e.points,
            e.groups,
            span(e.seconds.0, e.seconds.1)
        );
    }
    let longest = |pick: fn(&ShardEstimate) -> f64| shards.iter().map(pick).fold(0.0, f64::max);
    let _ = writeln!(
        s,
        "  the sweep: {} with {count} host pair(s), {} with one",
        span(longest(|e| e.seconds.0), longest(|e| e.seconds.1)),
        span(one.seconds.0, one.seconds.1)
    );
    let cell = match (lab.loadgen.duration_s, lab.loadgen.sized_by_policy()) {
        (Some(d), _) => format!("a cell measures its duration, {d} s"),
        (None, true) => format!(
            "a cell measures the policy's {} s ({} periods of {} ms, more on /sleep/ routes)",
            crate::config::length::policy_seconds(lab, "/"),
            lab.loadgen.min_periods,
            lab.resources.period_s() * 1000.0
        ),
        (None, false) => format!(
            "a cell of {} requests measures {:.2} s at a nominal {NOMINAL_RPS} req/s",
            lab.loadgen.requests,
            lab.loadgen.requests as f64 / NOMINAL_RPS
        ),
    };
    let repeat = match &lab.repeat_auto {
        None => format!("{} round(s) per point", lab.repeat),
        Some(a) => format!(
            "repeat: auto, {}–{} rounds per point (time budget {} s)",
            a.min, a.max, a.time_s
        ),
    };
    let _ = write!(
        s,
        "  model: {cell}, + {CELL_OVERHEAD_S} s lab overhead per cell, + {SERVER_START_S} s per server start per group a shard touches, {repeat}; image builds not counted"
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab(loadgen: &str, extra: &str) -> Lab {
        let yaml = format!(
            "name: s\nwarmup: 0\nservers:\n  - {{ name: a, model: async, port: 45000 }}\n  - {{ name: t, model: thread, port: 46000 }}\nresources: {{ cpus: [0.5, 1], memory: 64m }}\nloadgen: {loadgen}\nworkloads:\n  - {{ name: hello, path: / }}\n{extra}"
        );
        crate::config::parse(&yaml, "s.yaml", 2).unwrap()
    }

    #[test]
    fn a_cell_is_requests_at_the_nominal_rate_or_the_files_duration() {
        let l = lab("{ requests: 5000, concurrency: [1, 10] }", "");
        let p = &Plan::new(&l).groups[0].points[0];
        assert_eq!(cell_seconds_estimate(&l, p), 5000.0 / NOMINAL_RPS);
        let sized = lab("{ concurrency: [1, 10] }", "");
        assert!(sized.loadgen.sized_by_policy());
        assert_eq!(
            cell_seconds_estimate(&sized, p),
            crate::config::length::policy_seconds(&sized, "/"),
            "no requests: the policy's length"
        );
        let mut timed = sized.clone();
        timed.loadgen.duration_s = Some(7.0);
        assert_eq!(cell_seconds_estimate(&timed, p), 7.0);
    }

    #[test]
    fn shards_add_up_to_the_whole_plus_their_extra_server_starts() {
        // 2 groups x 2 concurrencies = 4 points, 2 servers, repeat 3, 1 s cells.
        let l = lab("{ requests: 5000, concurrency: [1, 10] }", "repeat: 3\n");
        let one = &estimate(&l, 1)[0];
        let cell = 1.0 + CELL_OVERHEAD_S;
        let expected = 2.0 * 2.0 * SERVER_START_S + 4.0 * 3.0 * 2.0 * cell;
        assert!((one.seconds.0 - expected).abs() < 1e-9, "{one:?}");
        assert_eq!(one.cells, (24, 24));
        // Three shards: 1, 1 and 2 points; the middle one starts in group 0 and the
        // last in group 1, so no shard starts two groups.
        let three = estimate(&l, 3);
        let points: Vec<usize> = three.iter().map(|e| e.points).collect();
        assert_eq!(points, vec![1, 1, 2]);
        let cells: u64 = three.iter().map(|e| e.cells.0).sum();
        assert_eq!(cells, 24);
        let total: f64 = three.iter().map(|e| e.seconds.0).sum();
        let extra_starts = 2.0 * SERVER_START_S; // group 0 started twice
        assert!((total - expected - extra_starts).abs() < 1e-9, "{three:?}");
    }

    #[test]
    fn repeat_auto_bounds_by_min_and_by_max_or_the_time_budget() {
        let l = lab(
            "{ requests: 5000, concurrency: [1] }",
            "repeat: { min: 6, max: 20, time: 100s }\n",
        );
        let round = 2.0 * (1.0 + CELL_OVERHEAD_S);
        assert_eq!(
            rounds(&l, round),
            (6, 20),
            "the budget allows 34 rounds: max wins"
        );
        let short = lab(
            "{ requests: 5000, concurrency: [1] }",
            "repeat: { min: 6, max: 20, time: 30s }\n",
        );
        assert_eq!(rounds(&short, round), (6, 10), "30 s / 3 s per round");
    }

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(format_duration(12.4), "12s");
        assert_eq!(format_duration(250.0), "4m10s");
        assert_eq!(format_duration(7_500.0), "2h05m");
        assert_eq!(format_duration(273_600.0), "3d04h");
    }

    #[test]
    fn the_description_names_every_shard_and_the_model() {
        let l = lab("{ requests: 5000, concurrency: [1, 10] }", "");
        let text = describe(&l, 2);
        assert!(
            text.contains("shard 0/2: 2 point(s) in 1 group(s), 4 cells, "),
            "{text}"
        );
        assert!(
            text.contains("shard 1/2: 2 point(s) in 1 group(s), 4 cells, "),
            "{text}"
        );
        assert!(
            text.contains("the sweep: 12s with 2 host pair(s), 24s with one"),
            "{text}"
        );
        assert!(
            text.contains("model: a cell of 5000 requests measures 1.00 s at a nominal 5000 req/s"),
            "{text}"
        );
    }
}
