//! The steady window of a cell: the part of its load that describes a CPU limit rather
//! than the phase of its quota, as the record stores it (`judge/steady.rs` computes it).
//!
//! A CPU limit is a CFS quota: `cpus × period` of CPU time per period (100 ms unless the
//! lab file sets `resources.cpu_period`). A cell must cover many periods of steady load
//! for its figures to describe the limit; this record says how many it covered, which
//! window the figures come from, and how the load went second by second and period by
//! period inside it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Per-request data of one cell, reduced to what the steady window needs, as a load tool
/// reports it: each request's start (whole seconds of the load generator's clock, ab `-g`)
/// and total time (whole ms). Written by the tool layer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RequestLog {
    /// Start second (Unix time) → total times (ms) → requests.
    pub by_second: BTreeMap<u64, BTreeMap<u64, u64>>,
}

impl RequestLog {
    pub fn len(&self) -> u64 {
        self.by_second.values().flat_map(|h| h.values()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Add another process's requests (several processes of one cell share one log).
    pub fn merge(&mut self, other: &RequestLog) {
        for (second, hist) in &other.by_second {
            let into = self.by_second.entry(*second).or_default();
            for (ms, n) in hist {
                *into.entry(*ms).or_insert(0) += n;
            }
        }
    }

    /// All its requests' total times, whole ms → requests.
    pub fn histogram(&self) -> BTreeMap<u64, u64> {
        let mut out = BTreeMap::new();
        for hist in self.by_second.values() {
            for (ms, n) in hist {
                *out.entry(*ms).or_insert(0) += n;
            }
        }
        out
    }

    /// The longest total time of any request, ms.
    pub fn max_ms(&self) -> Option<u64> {
        self.by_second
            .values()
            .filter_map(|h| h.keys().next_back().copied())
            .max()
    }
}

/// Nearest-rank percentile of a histogram of whole ms.
pub fn percentile_ms(hist: &BTreeMap<u64, u64>, p: f64) -> Option<f64> {
    let total: u64 = hist.values().sum();
    if total == 0 {
        return None;
    }
    let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (ms, n) in hist {
        seen += n;
        if seen >= rank {
            return Some(*ms as f64);
        }
    }
    hist.keys().next_back().map(|ms| *ms as f64)
}

/// One reading of the server container's cumulative CPU counters during a cell (cgroup
/// files, read by the lab every quota period).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CounterSample {
    /// When it was read: seconds since the Unix epoch, the lab host's clock.
    pub at_unix_s: f64,
    /// CPU time used since the container started, seconds.
    pub cpu_s: f64,
    /// Quota periods elapsed and throttled since the container started.
    pub periods: u64,
    pub throttled: u64,
}

/// The steady figures of a cell and where they come from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Steady {
    /// The CFS period of the server container, seconds (read from its cgroup, or the
    /// period the lab asked for when the cgroup could not be read).
    pub period_s: f64,
    /// Where `period_s` was read: `cgroup` or `configured`.
    pub period_source: String,
    /// The server's CPU quota per period in cores (`None`: no quota).
    pub quota_cores: Option<f64>,
    /// The window the figures describe: whole seconds of the load generator's clock, after
    /// the tool's start-up and before the requests still in flight at its end.
    pub window_start_unix_s: f64,
    pub window_end_unix_s: f64,
    /// The window's length in quota periods.
    pub periods_covered: f64,
    /// The periods the policy asks for (`loadgen.min_periods`).
    pub periods_wanted: u32,
    /// Requests that started in the window, and their rate.
    pub requests: u64,
    pub rps: f64,
    /// Latency percentiles of those requests (whole ms: the tool's resolution), keyed like
    /// the measurement's (`"50"`, `"99"`).
    pub latency_ms: BTreeMap<String, f64>,
    /// The server's CPU over the window (interpolated between the per-period readings that
    /// bracket its edges), and per request in it. `None` when the counters could not be
    /// read per period (Docker stats of a remote daemon).
    pub server_cpu_s: Option<f64>,
    pub server_cpu_per_request_us: Option<f64>,
    /// Share of the window's quota periods in which the server was throttled.
    pub server_throttled_share: Option<f64>,
    /// Each whole second of the window: one batch of the batch-means interval.
    pub seconds: Vec<SecondFigures>,
    /// Each quota period of the cell as the server's counters saw it.
    pub server_periods: Vec<PeriodFigures>,
    /// Relative change of req/s between the window's first and second half (second ÷
    /// first − 1), and the least-squares trend of the seconds' req/s, per second, as a
    /// share of the mean.
    pub halves_change: Option<f64>,
    pub trend_per_s: Option<f64>,
    /// The length the policy first gave this cell, seconds, when that first try kept fewer
    /// than `periods_wanted` periods because its requests' latency left too little room
    /// before the tool stopped: the cell was measured again, longer, and these are the
    /// longer try's figures (see `run::measure`). `None`: measured once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lengthened_from_s: Option<f64>,
}

/// One whole second of the window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SecondFigures {
    /// Seconds from the window's start.
    pub offset_s: f64,
    pub requests: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// One quota period as the server's counters saw it (between two readings).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PeriodFigures {
    /// Seconds from the window's start (negative: before it) to the reading that ends it.
    pub offset_s: f64,
    /// CPU used over the interval, in cores.
    pub cores: f64,
    /// Periods in which the quota throttled the server, of those elapsed.
    pub throttled: u64,
    pub periods: u64,
}

impl Steady {
    /// The window's length, seconds.
    pub fn window_s(&self) -> f64 {
        self.window_end_unix_s - self.window_start_unix_s
    }

    /// Did the window cover the periods the policy asks for?
    pub fn long_enough(&self) -> bool {
        self.periods_covered + 1e-9 >= f64::from(self.periods_wanted)
    }

    /// The seconds' req/s: the batches of the batch-means interval.
    pub fn batches(&self) -> Vec<f64> {
        self.seconds.iter().map(|s| s.requests as f64).collect()
    }

    /// The server's CPU over the window, in cores.
    pub fn server_cores(&self) -> Option<f64> {
        let w = self.window_s();
        self.server_cpu_s.filter(|_| w > 0.0).map(|c| c / w)
    }
}
