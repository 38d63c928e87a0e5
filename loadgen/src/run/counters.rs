//! Where a container's cumulative counters are read from: its cgroup files when the
//! daemon is on this machine (exact, microseconds), else Docker's one-shot stats (exact
//! too, but a read can wait up to a second for the daemon's collector). See `cgroup.rs`.
//!
//! Docker stats lack what the files have: a memory peak on cgroup v2, any pids peak, and
//! (from Podman) CPU throttling. Peaks then come from the ~1 s stats stream sampled during
//! the cell ([`Counters::samples_peaks`]), and unreported throttling is recorded as such.

use anyhow::Result;

use crate::cgroup::{self, CgroupFiles};
use crate::engine::{Engine, EngineKind, StatsSample};

#[derive(Debug, Clone)]
pub enum Counters {
    Files(CgroupFiles),
    /// Docker's stats endpoint; `throttling` says whether the engine reports CFS throttling
    /// (Podman 4's compatible API always says 0).
    DockerStats {
        throttling: bool,
    },
}

impl Counters {
    /// Pick the source for a running container. `LAB_COUNTERS=docker-stats` picks Docker
    /// stats even where the files are reachable: to compare the two sources, and to test
    /// the fallback that remote daemons and Docker Desktop get.
    pub async fn locate(engine: &dyn Engine, container: &str) -> Counters {
        if std::env::var("LAB_COUNTERS").as_deref() == Ok("docker-stats") {
            return Counters::stats(engine.kind());
        }
        let pid = engine.pid(container).await.unwrap_or(0);
        match cgroup::locate(std::path::Path::new("/"), pid, container) {
            Some(files) => Counters::Files(files),
            None => {
                tracing::debug!("{container}: cgroup files not reachable; using Docker stats");
                Counters::stats(engine.kind())
            }
        }
    }

    /// The stats source of an engine of this kind.
    pub fn stats(kind: EngineKind) -> Counters {
        Counters::DockerStats {
            throttling: kind != EngineKind::Podman,
        }
    }

    pub async fn read(&self, engine: &dyn Engine, container: &str) -> Result<StatsSample> {
        match self {
            Counters::Files(f) => f.read(),
            Counters::DockerStats { .. } => Ok(self.adjust(engine.snapshot(container).await?)),
        }
    }

    /// Drop what the source reports without measuring it.
    fn adjust(&self, mut sample: StatsSample) -> StatsSample {
        if let Counters::DockerStats { throttling: false } = self {
            sample.throttling = None;
        }
        sample
    }

    /// Start a new memory-peak interval; `true` when the next read's peak is this
    /// interval's own.
    pub fn reset_memory_peak(&self) -> bool {
        match self {
            Counters::Files(f) => f.reset_memory_peak(),
            Counters::DockerStats { .. } => false,
        }
    }

    /// Whether peaks need the stats stream during a cell (the source keeps no peak the lab
    /// can reset).
    pub fn samples_peaks(&self) -> bool {
        matches!(self, Counters::DockerStats { .. })
    }

    /// Stream samples as this source would read them.
    pub fn adjust_all(&self, samples: Vec<StatsSample>) -> Vec<StatsSample> {
        samples.into_iter().map(|s| self.adjust(s)).collect()
    }

    /// The CFS period in force and the quota per period, seconds, as the container's cgroup
    /// says (`None` when the counters are Docker stats: the cgroup is not reachable).
    pub fn bandwidth(&self) -> Option<(f64, Option<f64>)> {
        match self {
            Counters::Files(f) => f.bandwidth().ok(),
            Counters::DockerStats { .. } => None,
        }
    }

    /// How reports name the source.
    pub fn as_str(&self) -> &'static str {
        match self {
            Counters::Files(_) => "cgroup files",
            Counters::DockerStats { .. } => "docker stats",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Throttling;

    #[test]
    fn podman_stats_throttling_is_unreported_and_dockers_is_kept() {
        let sample = StatsSample {
            throttling: Some(Throttling::default()),
            ..Default::default()
        };
        let podman = Counters::stats(EngineKind::Podman);
        let docker = Counters::stats(EngineKind::Docker);
        assert_eq!(podman.adjust_all(vec![sample.clone()])[0].throttling, None);
        assert_eq!(
            docker.adjust_all(vec![sample])[0].throttling,
            Some(Throttling::default())
        );
        assert!(podman.samples_peaks() && !podman.reset_memory_peak());
    }
}
