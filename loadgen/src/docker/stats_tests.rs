//! The stats documents of real engines (`tests/fixtures/stats/`, see its README) read
//! through [`StatsSample::from_response`] and summarised by the same code: Docker on cgroup
//! v1 and v2 must give the same figures, and Podman's must not pass zeros off as data.

use std::time::{Duration, Instant};

use super::*;
use crate::resources::{self, Exactness, ResourceSummary};

/// A pair of stats documents from `tests/fixtures/stats/`, read as the lab reads them,
/// 1.5 s apart.
fn fixture(name: &str) -> (StatsSample, StatsSample) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stats");
    let read = |when: &str, at: Instant| {
        let path = dir.join(format!("{name}-{when}.json"));
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: ContainerStatsResponse =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        StatsSample::from_response(&doc, at)
    };
    let t0 = Instant::now();
    (
        read("before", t0),
        read("after", t0 + Duration::from_millis(1500)),
    )
}

fn summary(name: &str) -> ResourceSummary {
    let (before, after) = fixture(name);
    resources::summarize(&before, &after, &[], false)
}

#[test]
fn docker_stats_on_cgroup_v1_and_v2_give_the_same_figures() {
    let v1 = summary("docker-20.10-cgroup-v1");
    let v2 = summary("docker-cgroup-v2");
    // CPU: 0.615 s over the 1.5 s window; v2 counts whole microseconds.
    assert!((v1.cpu_s - 0.615253715).abs() < 1e-9, "{}", v1.cpu_s);
    assert!(
        (v2.cpu_s - v1.cpu_s).abs() < 1e-6,
        "{} vs {}",
        v2.cpu_s,
        v1.cpu_s
    );
    assert!((v2.cpu_cores_avg - v1.cpu_cores_avg).abs() < 1e-6);
    // Throttling: 16 periods, 1 throttled, the same on both.
    for s in [&v1, &v2] {
        assert_eq!((s.throttled_periods, s.periods), (1, 16));
        assert!((s.throttled_s - 0.006757).abs() < 1e-6, "{}", s.throttled_s);
        assert_eq!(s.throttled_share(), Some(1.0 / 16.0));
        assert_eq!(s.pids_peak, 1);
        assert_eq!(s.exactness.cpu, Exactness::Exact);
        assert_eq!(s.exactness.throttling, Exactness::Exact);
        // Docker stats never carry pids.peak: the highest of the reads.
        assert_eq!(s.exactness.pids_peak, Exactness::Sampled);
    }
    // Memory peak: v1's max_usage rose during the window, so it is this window's peak;
    // v2 has no max_usage, so the peak is the highest usage read (a lower bound).
    assert_eq!(
        (v1.memory_peak_bytes, v1.exactness.memory_peak),
        (4_497_408, Exactness::Exact)
    );
    assert_eq!(
        (v2.memory_peak_bytes, v2.exactness.memory_peak),
        (3_387_392, Exactness::Sampled)
    );
}

#[test]
fn cgroup_v2_stats_have_no_kernel_memory_peak_and_v1_stats_do() {
    let (b1, a1) = fixture("docker-20.10-cgroup-v1");
    let (b2, a2) = fixture("docker-cgroup-v2");
    assert_eq!(
        (b1.memory_max_bytes, a1.memory_max_bytes),
        (Some(3_821_568), Some(4_497_408))
    );
    assert_eq!((b2.memory_max_bytes, a2.memory_max_bytes), (None, None));
    // Everything else is the same reading.
    assert_eq!((a1.memory_bytes, a1.pids), (a2.memory_bytes, a2.pids));
    assert_eq!(
        a1.throttling.map(|t| t.periods),
        a2.throttling.map(|t| t.periods)
    );
}

#[test]
fn podman_stats_give_cpu_and_memory_but_zero_throttling() {
    let (before, after) = fixture("podman-4.3-cgroup-v1");
    // Podman 4.3 writes zeros whatever the cgroup says; `run::counters` marks them unreported.
    assert_eq!(after.throttling, Some(Throttling::default()));
    assert_eq!(after.memory_max_bytes, None);
    let s = resources::summarize(&before, &after, &[], false);
    assert!((s.cpu_s - 0.573669452).abs() < 1e-9, "{}", s.cpu_s);
    assert_eq!(
        (s.memory_peak_bytes, s.exactness.memory_peak),
        (1_347_584, Exactness::Sampled)
    );
}
