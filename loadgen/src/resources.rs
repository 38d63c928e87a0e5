//! Resource figures of one container over one measurement, and how exact each one is.
//!
//! Averages come from two reads of the cumulative counters taken just before ab starts and
//! just after it exits (exact even for a 0.2 s cell). Peaks come from the kernel's own
//! record where the source has one (cgroup v1 `max_usage`, v2 `memory.peak`, `pids.peak`),
//! else from the values read in between, so a peak can be exact for the cell, the
//! container's peak since it started, or sampled: [`FigureExactness`] records which, per
//! cell, because the same lab gives different ones on cgroup v1, v2, Docker and Podman.

use crate::engine::StatsSample;

pub use crate::record::resources::{Exactness, FigureExactness, ResourceSummary};
/// Summarise `before` → `after` with the stream `samples` taken in between;
/// `memory_peak_reset` says the kernel's memory peak was reset just before `before`.
pub fn summarize(
    before: &StatsSample,
    after: &StatsSample,
    samples: &[StatsSample],
    memory_peak_reset: bool,
) -> ResourceSummary {
    let wall_ns = match (before.at, after.at) {
        (Some(a), Some(b)) => b.duration_since(a).as_nanos() as f64,
        _ => 0.0,
    };
    let cpu_ns = after.cpu_total_ns.saturating_sub(before.cpu_total_ns) as f64;
    let cpu_cores_avg = if wall_ns > 0.0 { cpu_ns / wall_ns } else { 0.0 };
    let all: Vec<&StatsSample> = samples.iter().chain([before, after]).collect();
    let memory_read = all.iter().map(|s| s.memory_bytes).max().unwrap_or(0);
    let (memory_peak_bytes, memory_exactness) = peak(
        (before.memory_max_bytes, after.memory_max_bytes),
        memory_peak_reset,
        memory_read,
    );
    let pids_read = all.iter().map(|s| s.pids).max().unwrap_or(0);
    let (pids_peak, pids_exactness) = peak((before.pids_max, after.pids_max), false, pids_read);
    let (throttling, throttling_exactness) = match (before.throttling, after.throttling) {
        (Some(b), Some(a)) => (
            (
                a.throttled_periods.saturating_sub(b.throttled_periods),
                a.periods.saturating_sub(b.periods),
                a.throttled_ns.saturating_sub(b.throttled_ns),
            ),
            Exactness::Exact,
        ),
        _ => ((0, 0, 0), Exactness::Unavailable),
    };
    ResourceSummary {
        cpu_cores_avg,
        cpu_s: cpu_ns / 1e9,
        cpu_cores_peak: cpu_peak(before, after, samples, cpu_cores_avg),
        throttled_periods: throttling.0,
        periods: throttling.1,
        throttled_s: throttling.2 as f64 / 1e9,
        memory_peak_bytes,
        pids_peak,
        samples: samples.len(),
        source: String::new(),
        memory_peak_per_cell: memory_exactness == Exactness::Exact,
        exactness: FigureExactness {
            cpu: Exactness::Exact,
            cpu_peak: Exactness::Sampled,
            throttling: throttling_exactness,
            memory_peak: memory_exactness,
            pids_peak: pids_exactness,
        },
    }
}

/// The busiest interval between consecutive reads (the snapshots and the stream samples),
/// in cores; at least the average.
fn cpu_peak(
    before: &StatsSample,
    after: &StatsSample,
    samples: &[StatsSample],
    average: f64,
) -> f64 {
    let mut points: Vec<&StatsSample> = Vec::with_capacity(samples.len() + 2);
    points.push(before);
    points.extend(samples.iter().filter(|s| s.cpu_total_ns > 0));
    points.push(after);
    let mut peak = average;
    for w in points.windows(2) {
        if let (Some(a), Some(b)) = (w[0].at, w[1].at) {
            let dt = b.saturating_duration_since(a).as_nanos() as f64;
            // Intervals under 200 ms are too noisy to call a peak.
            if dt >= 2e8 && w[1].cpu_total_ns >= w[0].cpu_total_ns {
                let cores = (w[1].cpu_total_ns - w[0].cpu_total_ns) as f64 / dt;
                peak = peak.max(cores);
            }
        }
    }
    peak
}

/// A peak over one cell, and how exact it is, from the kernel's running record read
/// before and after the cell (when the source has one) and the highest value `read`.
///
/// The record is the cell's own when it was reset just before the cell, or when it rose
/// during the cell (the new maximum happened in it), or when a read reached it (nothing in
/// the cell can have been higher). Otherwise it only bounds the cell from above.
pub fn peak(record: (Option<u64>, Option<u64>), reset: bool, read: u64) -> (u64, Exactness) {
    match record {
        (_, None) => (read, Exactness::Sampled),
        (before, Some(after)) if reset || after > before.unwrap_or(0) || after <= read => {
            (after.max(read), Exactness::Exact)
        }
        (_, Some(after)) => (after, Exactness::SinceStart),
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
            throttling: Some(crate::engine::Throttling {
                throttled_periods: thr.0,
                periods: thr.1,
                throttled_ns: 0,
            }),
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
        let s = summarize(&before, &after, &[mid], false);
        assert!((s.cpu_cores_avg - 1.0).abs() < 1e-9);
        assert!((s.cpu_s - 2.0).abs() < 1e-9);
        assert!((s.cpu_cores_peak - 1.5).abs() < 1e-9);
        assert_eq!(s.memory_peak_bytes, 50);
        assert_eq!(s.pids_peak, 900);
        assert_eq!((s.throttled_periods, s.periods), (40, 200));
        assert_eq!(s.throttled_share(), Some(0.2));
        // No kernel peaks in these samples: the peaks are the highest reads.
        assert_eq!(
            (s.exactness.memory_peak, s.exactness.pids_peak),
            (Exactness::Sampled, Exactness::Sampled)
        );
        assert_eq!(
            (s.exactness.cpu, s.exactness.throttling),
            (Exactness::Exact, Exactness::Exact)
        );
        let mut s = s;
        s.average_over(1.0);
        assert!((s.cpu_cores_avg - 2.0).abs() < 1e-9);
        assert!((s.cpu_cores_peak - 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_kernel_peak_is_the_cells_when_reset_risen_or_reached() {
        // Reset just before the cell: exact.
        assert_eq!(peak((Some(10), Some(50)), true, 20), (50, Exactness::Exact));
        // Not reset, but it rose during the cell: the new maximum is the cell's.
        assert_eq!(
            peak((Some(40), Some(50)), false, 20),
            (50, Exactness::Exact)
        );
        // Not reset and unchanged: an upper bound from an earlier cell...
        assert_eq!(
            peak((Some(50), Some(50)), false, 20),
            (50, Exactness::SinceStart)
        );
        // ...unless a read reached it.
        assert_eq!(
            peak((Some(50), Some(50)), false, 50),
            (50, Exactness::Exact)
        );
        // No record at all (Docker stats on cgroup v2): the highest read.
        assert_eq!(peak((None, None), true, 20), (20, Exactness::Sampled));
    }

    #[test]
    fn unreported_throttling_is_unavailable_not_zero() {
        let t0 = Instant::now();
        let mut before = sample(t0, 0, 10, 2, (0, 0));
        let mut after = sample(t0 + Duration::from_secs(1), 1_000_000_000, 10, 2, (0, 0));
        before.throttling = None;
        after.throttling = None;
        let s = summarize(&before, &after, &[], false);
        assert_eq!(s.exactness.throttling, Exactness::Unavailable);
        assert_eq!(s.throttled_share(), None);
        let json = serde_json::to_value(s.exactness).unwrap();
        assert_eq!(json["throttling"], "unavailable");
        assert_eq!(json["memory_peak"], "sampled");
    }
}
