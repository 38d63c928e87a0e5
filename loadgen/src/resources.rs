//! Resource figures of one container over one measurement, from Docker stats.
//!
//! Averages come from two snapshots of the cumulative counters taken just before ab starts
//! and just after it exits (exact even for a 0.2 s cell); peaks come from the ~1 s stats
//! stream sampled in between (so a cell shorter than a second has peak = average for CPU).

use serde::{Deserialize, Serialize};

use crate::docker::StatsSample;

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
    /// Highest memory use seen (cgroup v1 `max_usage` since start when available, else the
    /// highest sample).
    pub memory_peak_bytes: u64,
    /// Most processes/threads seen at once (pids cgroup).
    pub pids_peak: u64,
    pub samples: usize,
    /// Where the counters came from: `cgroup files` or `docker stats`.
    #[serde(default)]
    pub source: String,
    /// The memory peak is this cell's own (the cgroup's peak was reset just before it);
    /// otherwise it is the peak since the container started.
    #[serde(default)]
    pub memory_peak_per_cell: bool,
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

/// Summarise `before` → `after` with the stream `samples` taken in between.
pub fn summarize(
    before: &StatsSample,
    after: &StatsSample,
    samples: &[StatsSample],
) -> ResourceSummary {
    let wall_ns = match (before.at, after.at) {
        (Some(a), Some(b)) => b.duration_since(a).as_nanos() as f64,
        _ => 0.0,
    };
    let cpu_ns = after.cpu_total_ns.saturating_sub(before.cpu_total_ns) as f64;
    let cpu_cores_avg = if wall_ns > 0.0 { cpu_ns / wall_ns } else { 0.0 };
    // Peak: the busiest interval between consecutive samples (including the snapshots).
    let mut points: Vec<&StatsSample> = Vec::with_capacity(samples.len() + 2);
    points.push(before);
    points.extend(samples.iter().filter(|s| s.cpu_total_ns > 0));
    points.push(after);
    let mut cpu_cores_peak = cpu_cores_avg;
    for w in points.windows(2) {
        if let (Some(a), Some(b)) = (w[0].at, w[1].at) {
            let dt = b.saturating_duration_since(a).as_nanos() as f64;
            // Intervals under 200 ms are too noisy to call a peak.
            if dt >= 2e8 && w[1].cpu_total_ns >= w[0].cpu_total_ns {
                let cores = (w[1].cpu_total_ns - w[0].cpu_total_ns) as f64 / dt;
                cpu_cores_peak = cpu_cores_peak.max(cores);
            }
        }
    }
    let all = samples.iter().chain([before, after]);
    let memory_peak_bytes = all
        .clone()
        .map(|s| s.memory_max_bytes.unwrap_or(0).max(s.memory_bytes))
        .max()
        .unwrap_or(0);
    let pids_peak = all.map(|s| s.pids).max().unwrap_or(0);
    ResourceSummary {
        cpu_cores_avg,
        cpu_s: cpu_ns / 1e9,
        cpu_cores_peak,
        throttled_periods: after
            .throttled_periods
            .saturating_sub(before.throttled_periods),
        periods: after.periods.saturating_sub(before.periods),
        throttled_s: after.throttled_ns.saturating_sub(before.throttled_ns) as f64 / 1e9,
        memory_peak_bytes,
        pids_peak,
        samples: samples.len(),
        source: String::new(),
        memory_peak_per_cell: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn sample(at: Instant, cpu_ns: u64, mem: u64, pids: u64, thr: (u64, u64)) -> StatsSample {
        StatsSample {
            at: Some(at),
            cpu_total_ns: cpu_ns,
            memory_bytes: mem,
            pids,
            throttled_periods: thr.0,
            periods: thr.1,
            ..Default::default()
        }
    }

    #[test]
    fn averages_from_snapshots_and_peaks_from_samples() {
        let t0 = Instant::now();
        let before = sample(t0, 1_000_000_000, 10, 2, (5, 100));
        // 1 s at 0.5 cores, then 1 s at 1.5 cores.
        let mid = sample(
            t0 + Duration::from_secs(1),
            1_500_000_000,
            50,
            900,
            (20, 200),
        );
        let after = sample(t0 + Duration::from_secs(2), 3_000_000_000, 20, 3, (45, 300));
        let s = summarize(&before, &after, &[mid]);
        assert!((s.cpu_cores_avg - 1.0).abs() < 1e-9);
        assert!((s.cpu_s - 2.0).abs() < 1e-9);
        assert!((s.cpu_cores_peak - 1.5).abs() < 1e-9);
        assert_eq!(s.memory_peak_bytes, 50);
        assert_eq!(s.pids_peak, 900);
        assert_eq!((s.throttled_periods, s.periods), (40, 200));
        assert_eq!(s.throttled_share(), Some(0.2));
        let mut s = s;
        s.average_over(1.0);
        assert!((s.cpu_cores_avg - 2.0).abs() < 1e-9);
        assert!((s.cpu_cores_peak - 2.0).abs() < 1e-9);
    }
}
