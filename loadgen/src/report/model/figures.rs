//! The figures of one cell that reports derive from its record, each derived here once: the
//! evidence table shows them for a row's median repetition, `results.csv` for every cell,
//! the charts plot them.

use crate::record::Cell;

/// The threads a server had at its peak, and how that was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadsPeak {
    /// The server's own count (built-in models' `/metrics`).
    Threads(u64),
    /// The container's pids peak: threads of every process in it.
    Pids(u64),
}

/// What one cell recorded, as the numbers reports show.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CellFigures {
    pub connect_mean_ms: Option<f64>,
    pub connect_max_ms: Option<f64>,
    pub processing_mean_ms: Option<f64>,
    /// Server CPU in cores, averaged over ab's run, and its highest sample.
    pub server_cpu_cores: Option<f64>,
    pub server_cpu_cores_peak: Option<f64>,
    /// Share of scheduler periods the server's quota throttled it.
    pub server_throttled: Option<f64>,
    /// The server container's memory peak (cgroup or Docker stats).
    pub container_memory_peak_bytes: Option<u64>,
    /// The server process's own peak resident memory (`/metrics`).
    pub process_memory_peak_bytes: Option<u64>,
    pub pids_peak: Option<u64>,
    pub connections_peak: Option<u64>,
    pub threads_peak: Option<ThreadsPeak>,
    /// ab's CPU seconds over its wall time: the cores it kept busy.
    pub tool_cores: Option<f64>,
}

impl CellFigures {
    pub fn of(c: &Cell) -> CellFigures {
        let m = c.measurement();
        let connect = m.and_then(|m| m.connect);
        let srv = c.server_resources.as_ref();
        let metrics = c.server_metrics.as_ref();
        let pids_peak = srv.map(|s| s.pids_peak);
        CellFigures {
            connect_mean_ms: connect.map(|r| r.mean),
            connect_max_ms: connect.map(|r| r.max),
            processing_mean_ms: m.and_then(|m| m.processing_mean_ms),
            server_cpu_cores: srv.map(|s| s.cpu_cores_avg),
            server_cpu_cores_peak: srv.map(|s| s.cpu_cores_peak),
            server_throttled: srv.and_then(|s| s.throttled_share()),
            container_memory_peak_bytes: srv.map(|s| s.memory_peak_bytes),
            process_memory_peak_bytes: metrics.and_then(|m| m.memory_peak_bytes),
            pids_peak,
            connections_peak: metrics.and_then(|m| m.connections_peak),
            threads_peak: metrics
                .and_then(|m| m.threads_peak)
                .map(ThreadsPeak::Threads)
                .or(pids_peak.map(ThreadsPeak::Pids)),
            tool_cores: c
                .tool_usage
                .as_ref()
                .filter(|u| u.wall_s > 0.0)
                .map(|u| u.cpu_s / u.wall_s),
        }
    }

    /// The server's memory peak: its own count when it keeps one, else its container's.
    pub fn memory_peak_bytes(&self) -> Option<u64> {
        self.process_memory_peak_bytes
            .or(self.container_memory_peak_bytes)
    }
}
