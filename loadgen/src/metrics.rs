//! The built-in servers' `/metrics` endpoint (Prometheus text format), read before and
//! after each cell.
//!
//! Docker's counters give exact CPU seconds, but a thread count or an open-connection count
//! is a gauge: sampling it at ~1 Hz misses the peak of a 50 ms cell, and cgroup v1 keeps no
//! pids peak at all. The servers keep their own peaks (reset on every scrape), so the
//! scrape taken just after a cell returns the true maximum reached during it.
//!
//! Metric names and meanings are defined by `server/src/metrics.rs`; README lists them.

use serde::{Deserialize, Serialize};

/// One scrape, as numbers. Absent metrics stay `None` (an older server, an image that
/// serves something else at `/metrics`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scrape {
    pub requests_total: Option<f64>,
    pub connections_accepted_total: Option<f64>,
    pub connections_open: Option<f64>,
    pub connections_open_peak: Option<f64>,
    pub threads_alive: Option<f64>,
    pub threads_alive_peak: Option<f64>,
    pub rejected_connection_cap: Option<f64>,
    pub rejected_spawn_failed: Option<f64>,
    pub accept_errors_total: Option<f64>,
    pub resident_memory_bytes: Option<f64>,
    pub resident_memory_peak_bytes: Option<f64>,
}

/// What the server itself counted during one cell: the difference of two scrapes for
/// counters, the second scrape's since-last-scrape peak for gauges.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CellMetrics {
    pub requests: Option<u64>,
    pub connections_accepted: Option<u64>,
    /// Most connections open at once during the cell (the scrape's own included).
    pub connections_peak: Option<u64>,
    /// Most connection-handler threads alive at once (thread model), or the worker count.
    pub threads_peak: Option<u64>,
    /// 503s answered because of the connection cap or a failed thread spawn.
    pub rejected: Option<u64>,
    pub accept_errors: Option<u64>,
    /// Peak resident memory of the server process during the cell (VmHWM, reset per scrape).
    pub memory_peak_bytes: Option<u64>,
}

/// Parse the Prometheus text exposition format (the subset the servers write: no
/// timestamps, simple label sets). Unknown metrics are ignored.
pub fn parse(text: &str) -> Scrape {
    let mut s = Scrape::default();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.rsplit_once(char::is_whitespace) else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let (name, labels) = match key.split_once('{') {
            Some((n, l)) => (n.trim(), l.trim_end_matches('}')),
            None => (key.trim(), ""),
        };
        let slot = match (name, labels) {
            ("server_requests_total", _) => &mut s.requests_total,
            ("server_connections_accepted_total", _) => &mut s.connections_accepted_total,
            ("server_connections_open", _) => &mut s.connections_open,
            ("server_connections_open_peak", _) => &mut s.connections_open_peak,
            ("server_threads_alive", _) => &mut s.threads_alive,
            ("server_threads_alive_peak", _) => &mut s.threads_alive_peak,
            ("server_rejected_total", l) if l.contains("connection_cap") => {
                &mut s.rejected_connection_cap
            }
            ("server_rejected_total", l) if l.contains("spawn_failed") => {
                &mut s.rejected_spawn_failed
            }
            ("server_accept_errors_total", _) => &mut s.accept_errors_total,
            ("process_resident_memory_bytes", _) => &mut s.resident_memory_bytes,
            ("process_resident_memory_peak_bytes", _) => &mut s.resident_memory_peak_bytes,
            _ => continue,
        };
        *slot = Some(value);
    }
    s
}

impl CellMetrics {
    /// The cell's figures from the scrape before it and the scrape after it.
    pub fn between(before: &Scrape, after: &Scrape) -> CellMetrics {
        let delta = |b: Option<f64>, a: Option<f64>| match (b, a) {
            (Some(b), Some(a)) if a >= b => Some((a - b).round() as u64),
            _ => None,
        };
        let gauge = |v: Option<f64>| v.filter(|v| *v >= 0.0).map(|v| v.round() as u64);
        let rejected = |s: &Scrape| match (s.rejected_connection_cap, s.rejected_spawn_failed) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
        };
        CellMetrics {
            requests: delta(before.requests_total, after.requests_total),
            connections_accepted: delta(
                before.connections_accepted_total,
                after.connections_accepted_total,
            ),
            connections_peak: gauge(after.connections_open_peak),
            threads_peak: gauge(after.threads_alive_peak),
            rejected: delta(rejected(before), rejected(after)),
            accept_errors: delta(before.accept_errors_total, after.accept_errors_total),
            memory_peak_bytes: gauge(after.resident_memory_peak_bytes),
        }
    }

    /// Did the scrapes carry anything at all?
    pub fn is_empty(&self) -> bool {
        *self == CellMetrics::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "# TYPE server_info gauge\nserver_info{model=\"thread\"} 1\n\
        server_requests_total 1000\nserver_connections_accepted_total 1002\n\
        server_connections_open 1\nserver_connections_open_peak 1\n\
        server_threads_alive 1\nserver_threads_alive_peak 1\n\
        server_rejected_total{reason=\"connection_cap\"} 0\n\
        server_rejected_total{reason=\"spawn_failed\"} 2\n\
        server_accept_errors_total 0\nprocess_resident_memory_bytes 4194304\n\
        process_resident_memory_peak_bytes 4194304\n";

    #[test]
    fn parses_the_servers_metrics() {
        let s = parse(BEFORE);
        assert_eq!(s.requests_total, Some(1000.0));
        assert_eq!(s.rejected_spawn_failed, Some(2.0));
        assert_eq!(s.rejected_connection_cap, Some(0.0));
        assert_eq!(s.resident_memory_bytes, Some(4194304.0));
        // Garbage and other metrics are skipped, not errors.
        let s = parse("nonsense\nfoo_total 3\nserver_requests_total x\n");
        assert_eq!(s, Scrape::default());
    }

    #[test]
    fn a_cell_is_the_difference_of_counters_and_the_after_peaks() {
        let after = BEFORE
            .replace("server_requests_total 1000", "server_requests_total 2000")
            .replace("accepted_total 1002", "accepted_total 1503")
            .replace("open_peak 1", "open_peak 501")
            .replace("alive_peak 1", "alive_peak 500")
            .replace("spawn_failed\"} 2", "spawn_failed\"} 5")
            .replace("peak_bytes 4194304", "peak_bytes 20971520");
        let m = CellMetrics::between(&parse(BEFORE), &parse(&after));
        assert_eq!(m.requests, Some(1000));
        assert_eq!(m.connections_accepted, Some(501));
        assert_eq!(m.connections_peak, Some(501));
        assert_eq!(m.threads_peak, Some(500));
        assert_eq!(m.rejected, Some(3));
        assert_eq!(m.accept_errors, Some(0));
        assert_eq!(m.memory_peak_bytes, Some(20971520));
        assert!(!m.is_empty());
        // A server restarted in between (counters went down) gives no counter figures.
        let m = CellMetrics::between(&parse(&after), &parse(BEFORE));
        assert_eq!(m.requests, None);
        assert!(CellMetrics::between(&Scrape::default(), &Scrape::default()).is_empty());
    }
}
