//! Where a container's cumulative counters are read from: its cgroup files when the
//! daemon is on this machine (exact, microseconds), else Docker's one-shot stats (exact
//! too, but a read can wait up to a second for the daemon's collector). See `cgroup.rs`.

use anyhow::Result;

use crate::cgroup::{self, CgroupFiles};
use crate::docker::{Engine, StatsSample};

#[derive(Debug, Clone)]
pub enum Counters {
    Files(CgroupFiles),
    DockerStats,
}

impl Counters {
    /// Pick the source for a running container.
    pub async fn locate(engine: &Engine, container: &str) -> Counters {
        let pid = engine.pid(container).await.unwrap_or(0);
        match cgroup::locate(std::path::Path::new("/"), pid, container) {
            Some(files) => Counters::Files(files),
            None => {
                tracing::debug!("{container}: cgroup files not reachable; using Docker stats");
                Counters::DockerStats
            }
        }
    }

    pub async fn read(&self, engine: &Engine, container: &str) -> Result<StatsSample> {
        match self {
            Counters::Files(f) => f.read(),
            Counters::DockerStats => engine.snapshot(container).await,
        }
    }

    /// Start a new memory-peak interval; `true` when the next read's peak is this
    /// interval's own.
    pub fn reset_memory_peak(&self) -> bool {
        match self {
            Counters::Files(f) => f.reset_memory_peak(),
            Counters::DockerStats => false,
        }
    }

    /// How reports name the source.
    pub fn as_str(&self) -> &'static str {
        match self {
            Counters::Files(_) => "cgroup files",
            Counters::DockerStats => "docker stats",
        }
    }
}
