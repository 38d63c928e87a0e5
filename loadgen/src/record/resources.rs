//! Resource figures of one container over one measurement, and how exact each one is
//! (the record's data; the `resources` module computes them from stats samples).
use serde::{Deserialize, Serialize};

/// How far one figure can be trusted for one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exactness {
    /// Exact for this cell: cumulative counters read just before and just after it, or a
    /// kernel-recorded peak that was reset just before it, or that rose during it.
    Exact,
    /// The container's peak since it started (the kernel's record could not be reset and
    /// did not rise during the cell): an upper bound for this cell.
    SinceStart,
    /// The highest value read at the cell's edges (and, from Docker stats, once a second in
    /// between): a lower bound for this cell.
    Sampled,
    /// The source does not report it (the figure reads 0).
    Unavailable,
    /// Not recorded: results written before the lab recorded exactness.
    #[default]
    Unknown,
}

impl Exactness {
    pub fn as_str(&self) -> &'static str {
        match self {
            Exactness::Exact => "exact",
            Exactness::SinceStart => "since-start",
            Exactness::Sampled => "sampled",
            Exactness::Unavailable => "unavailable",
            Exactness::Unknown => "unknown",
        }
    }
}

/// The exactness of each figure of a [`ResourceSummary`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FigureExactness {
    /// `cpu_s` and `cpu_cores_avg`: differences of cumulative counters, always exact.
    pub cpu: Exactness,
    /// `cpu_cores_peak`: the busiest interval of at least 200 ms between reads: sampled.
    pub cpu_peak: Exactness,
    /// `periods`, `throttled_periods`, `throttled_s`: exact, or unavailable (Podman stats).
    pub throttling: Exactness,
    /// `memory_peak_bytes`.
    pub memory_peak: Exactness,
    /// `pids_peak`.
    pub pids_peak: Exactness,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceSummary {
    /// CPU used, in cores, averaged over the measurement (ab's "Time taken for tests" when
    /// known: the container start around it would dilute a short cell's average).
    pub cpu_cores_avg: f64,
    /// CPU time used over the whole window, in seconds.
    #[serde(default)]
    pub cpu_s: f64,
    /// Highest CPU use over one stats interval (~1 s), in cores.
    pub cpu_cores_peak: f64,
    /// Scheduler periods in which the CPU quota throttled the container, and all periods.
    pub throttled_periods: u64,
    pub periods: u64,
    /// Time spent throttled, in seconds.
    pub throttled_s: f64,
    /// Highest memory use: the kernel's peak when the source has one (see
    /// `exactness.memory_peak` for whether it is this cell's), else the highest read.
    pub memory_peak_bytes: u64,
    /// Most processes/threads at once (pids cgroup), as exact as `exactness.pids_peak` says.
    pub pids_peak: u64,
    pub samples: usize,
    /// Where the counters came from: `cgroup files` or `docker stats`.
    #[serde(default)]
    pub source: String,
    /// The memory peak is this cell's own (`exactness.memory_peak` is `exact`).
    #[serde(default)]
    pub memory_peak_per_cell: bool,
    /// How exact each figure is, for this cell on this host.
    #[serde(default)]
    pub exactness: FigureExactness,
}

impl ResourceSummary {
    /// Re-average the CPU over `seconds` (the time the load actually ran).
    pub fn average_over(&mut self, seconds: f64) {
        if seconds > 0.0 {
            self.cpu_cores_avg = self.cpu_s / seconds;
            self.cpu_cores_peak = self.cpu_cores_peak.max(self.cpu_cores_avg);
        }
    }

    /// Share of CFS periods throttled (0..1), when any period ran.
    pub fn throttled_share(&self) -> Option<f64> {
        (self.periods > 0).then(|| self.throttled_periods as f64 / self.periods as f64)
    }
}
