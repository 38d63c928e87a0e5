//! The server's own counters, served at `GET /metrics` in the Prometheus text exposition
//! format (version 0.0.4), so the lab can bracket every measured cell with two scrapes.
//!
//! One process-wide registry, [`METRICS`], is shared by both models: the model files only
//! say *when* a connection opens or a thread starts; what is counted, and how it is
//! printed, lives here. On the request path everything is a relaxed atomic (no lock, no
//! allocation); only a scrape allocates (the text it answers with).
//!
//! # Metrics
//!
//! | name | type | meaning |
//! |---|---|---|
//! | `server_info{model="async"\|"thread"}` | gauge | always 1; the label names the model |
//! | `server_requests_total` | counter | requests answered, any status (408, 413, 503 ... included), scrapes of `/metrics` excluded |
//! | `server_connections_accepted_total` | counter | connections accepted |
//! | `server_connections_open` | gauge | connections open now, the scrape's own included |
//! | `server_connections_open_peak` | gauge | most connections open at once since the previous scrape |
//! | `server_threads_alive` | gauge | thread model: connection threads alive now (idle ones waiting for the next connection included, see `--idle-thread-timeout`); async model: runtime worker threads (constant) |
//! | `server_threads_alive_peak` | gauge | most threads alive at once since the previous scrape |
//! | `server_rejected_total{reason="connection_cap"\|"spawn_failed"}` | counter | connections answered 503 because the connection cap was reached / no thread could be started (refused by the kernel, or past the thread budget of [`crate::limits`]); both labels always present |
//! | `server_accept_errors_total` | counter | `accept(2)` calls that failed (out of file descriptors, connection aborted before accept ...); `EINTR`/`EAGAIN` are not errors |
//! | `process_resident_memory_bytes` | gauge | `VmRSS` of `/proc/self/status` |
//! | `process_resident_memory_peak_bytes` | gauge | `VmHWM` of `/proc/self/status`: the most resident memory since the previous scrape |
//!
//! # Peaks reset on every scrape
//!
//! A `_peak` gauge answers "how high did it go between the previous scrape and this one",
//! which is what a lab needs to bracket a measured cell: scrape before, run the load,
//! scrape after, and the second scrape's peak is the peak of the cell. Precisely: a scrape
//! reports the maximum the gauge reached since the previous scrape, and then resets the
//! peak to the gauge's value at that moment (not to 0: connections still open at the reset
//! count in the next window). So after a burst, the scrape right after it shows the burst,
//! and the scrape after that shows no more than what was open at the first one (plus
//! whatever came since). Consequences: every GET *or HEAD* of `/metrics` resets the peaks,
//! so only one client should scrape a server; and the first scrape reports the peak since
//! the process started.
//!
//! `process_resident_memory_peak_bytes` follows the same rule with the kernel's help: after
//! reading `VmHWM` the scrape writes `5` to `/proc/self/clear_refs`, which resets the
//! high-water mark to the current RSS (Linux 4.0 and later). That reset is best effort:
//! where the write fails (a read-only `/proc`, an older kernel) the error is ignored and
//! the value is the peak since the process started. The two memory lines are left out
//! where `/proc/self/status` cannot be read (not Linux).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;

/// The registry of this process.
pub static METRICS: Metrics = Metrics::new();

/// Why a connection was answered 503 instead of being served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// `--max-connections` connections were already being served.
    ConnectionCap,
    /// No thread could be started for the connection (thread model): the kernel refused
    /// one, or the thread budget ([`crate::limits::map_budget`]) was reached.
    SpawnFailed,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::ConnectionCap => "connection_cap",
            Rejection::SpawnFailed => "spawn_failed",
        }
    }
}

/// An atomic on its own cache line, so that counters bumped by different cores do not
/// slow each other down (false sharing).
#[derive(Debug, Default)]
#[repr(align(64))]
struct Padded(AtomicU64);

/// A gauge and the most it reached since the last [`PeakGauge::read_and_reset`].
#[derive(Debug, Default)]
struct PeakGauge {
    now: Padded,
    peak: Padded,
}

impl PeakGauge {
    const fn new() -> PeakGauge {
        PeakGauge {
            now: Padded(AtomicU64::new(0)),
            peak: Padded(AtomicU64::new(0)),
        }
    }

    fn inc(&self) {
        let now = self.now.0.fetch_add(1, Relaxed) + 1;
        self.raise_peak(now);
    }

    fn dec(&self) {
        self.now.0.fetch_sub(1, Relaxed);
    }

    fn set(&self, value: u64) {
        self.now.0.store(value, Relaxed);
        self.raise_peak(value);
    }

    fn raise_peak(&self, value: u64) {
        // A plain load first: the peak is rarely beaten, and a read-modify-write on every
        // connection would cost more than the load.
        if value > self.peak.0.load(Relaxed) {
            self.peak.0.fetch_max(value, Relaxed);
        }
    }

    /// `(now, peak since the previous call)`, then the peak restarts from `now`.
    ///
    /// The peak is swapped out *before* `now` is read: an increment that lands between the
    /// two raises the fresh peak itself, so no maximum is lost between two scrapes.
    fn read_and_reset(&self) -> (u64, u64) {
        let peak = self.peak.0.swap(0, Relaxed);
        let now = self.now.0.load(Relaxed);
        self.raise_peak(now);
        (now, peak.max(now))
    }
}

/// Every counter both models keep. See the module documentation for their meaning.
#[derive(Debug)]
pub struct Metrics {
    model: OnceLock<&'static str>,
    requests: Padded,
    accepted: Padded,
    connections: PeakGauge,
    threads: PeakGauge,
    rejected_cap: Padded,
    rejected_spawn: Padded,
    accept_errors: Padded,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub const fn new() -> Metrics {
        Metrics {
            model: OnceLock::new(),
            requests: Padded(AtomicU64::new(0)),
            accepted: Padded(AtomicU64::new(0)),
            connections: PeakGauge::new(),
            threads: PeakGauge::new(),
            rejected_cap: Padded(AtomicU64::new(0)),
            rejected_spawn: Padded(AtomicU64::new(0)),
            accept_errors: Padded(AtomicU64::new(0)),
        }
    }

    /// Name the model (the `model` label of `server_info`); the first call wins.
    pub fn set_model(&self, model: &'static str) {
        let _ = self.model.set(model);
    }

    /// A request was answered (not a scrape).
    pub fn request_answered(&self) {
        self.requests.0.fetch_add(1, Relaxed);
    }

    /// A connection was accepted; it counts as open until the guard is dropped.
    #[must_use = "the connection counts as open until the guard is dropped"]
    pub fn connection_opened(&'static self) -> OpenConnection {
        self.accepted.0.fetch_add(1, Relaxed);
        self.connections.inc();
        OpenConnection(self)
    }

    /// A connection thread started; it counts as alive until the guard is dropped.
    #[must_use = "the thread counts as alive until the guard is dropped"]
    pub fn thread_started(&'static self) -> AliveThread {
        self.threads.inc();
        AliveThread(self)
    }

    /// A fixed number of threads serves every connection (the async model's workers).
    pub fn set_threads(&self, threads: usize) {
        self.threads.set(threads as u64);
    }

    /// A connection was answered 503 for `reason`.
    pub fn rejected(&self, reason: Rejection) {
        match reason {
            Rejection::ConnectionCap => &self.rejected_cap,
            Rejection::SpawnFailed => &self.rejected_spawn,
        }
        .0
        .fetch_add(1, Relaxed);
    }

    /// `accept(2)` failed.
    pub fn accept_error(&self) {
        self.accept_errors.0.fetch_add(1, Relaxed);
    }

    /// The exposition text. Resets the peaks (see the module documentation).
    pub fn render(&self) -> String {
        let mut out = Prometheus(String::with_capacity(2048));
        let model = self.model.get().copied().unwrap_or("unknown");
        out.metric(
            "server_info",
            "gauge",
            "The concurrency model of this server.",
        );
        out.sample("server_info", &format!("model=\"{model}\""), 1);

        let requests = self.requests.0.load(Relaxed);
        out.metric(
            "server_requests_total",
            "counter",
            "Requests answered, any status, scrapes of /metrics excluded.",
        );
        out.sample("server_requests_total", "", requests);
        let accepted = self.accepted.0.load(Relaxed);
        out.metric(
            "server_connections_accepted_total",
            "counter",
            "Connections accepted.",
        );
        out.sample("server_connections_accepted_total", "", accepted);

        let (open, open_peak) = self.connections.read_and_reset();
        out.gauge_with_peak(
            "server_connections_open",
            "Connections open now, this scrape's own included.",
            open,
            open_peak,
        );
        let (threads, threads_peak) = self.threads.read_and_reset();
        out.gauge_with_peak(
            "server_threads_alive",
            "Thread model: connection threads alive; async model: runtime workers.",
            threads,
            threads_peak,
        );
        self.render_failures(&mut out);
        render_memory(&mut out);
        out.0
    }

    fn render_failures(&self, out: &mut Prometheus) {
        out.metric(
            "server_rejected_total",
            "counter",
            "Connections answered 503 instead of being served, by reason.",
        );
        for (reason, counter) in [
            (Rejection::ConnectionCap, &self.rejected_cap),
            (Rejection::SpawnFailed, &self.rejected_spawn),
        ] {
            let label = format!("reason=\"{}\"", reason.as_str());
            out.sample("server_rejected_total", &label, counter.0.load(Relaxed));
        }
        out.metric(
            "server_accept_errors_total",
            "counter",
            "accept(2) calls that failed.",
        );
        let errors = self.accept_errors.0.load(Relaxed);
        out.sample("server_accept_errors_total", "", errors);
    }
}

/// Counts a connection as open until dropped.
#[derive(Debug)]
pub struct OpenConnection(&'static Metrics);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.connections.dec();
    }
}

/// Counts a connection thread as alive until dropped.
#[derive(Debug)]
pub struct AliveThread(&'static Metrics);

impl Drop for AliveThread {
    fn drop(&mut self) {
        self.0.threads.dec();
    }
}

/// `process_resident_memory_bytes` and `..._peak_bytes`, then the best-effort peak reset.
fn render_memory(out: &mut Prometheus) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return;
    };
    let (Some(rss), Some(hwm)) = (kib_field(&status, "VmRSS:"), kib_field(&status, "VmHWM:"))
    else {
        return;
    };
    // "5" resets VmHWM to the current RSS (proc(5), /proc/pid/clear_refs). Best effort.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    out.metric(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory (VmRSS).",
    );
    out.sample("process_resident_memory_bytes", "", rss);
    out.metric(
        "process_resident_memory_peak_bytes",
        "gauge",
        "Most resident memory since the previous scrape (VmHWM, reset by each scrape).",
    );
    out.sample("process_resident_memory_peak_bytes", "", hwm.max(rss));
}

/// A `Name:   1234 kB` line of `/proc/self/status`, in bytes.
fn kib_field(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find_map(|line| line.strip_prefix(name))?;
    let kib: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kib * 1024)
}

/// The exposition text being written.
struct Prometheus(String);

impl Prometheus {
    fn metric(&mut self, name: &str, kind: &str, help: &str) {
        let _ = write!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
    }

    fn sample(&mut self, name: &str, labels: &str, value: u64) {
        if labels.is_empty() {
            let _ = writeln!(self.0, "{name} {value}");
        } else {
            let _ = writeln!(self.0, "{name}{{{labels}}} {value}");
        }
    }

    fn gauge_with_peak(&mut self, name: &str, help: &str, now: u64, peak: u64) {
        self.metric(name, "gauge", help);
        self.sample(name, "", now);
        let peak_name = format!("{name}_peak");
        self.metric(
            &peak_name,
            "gauge",
            "Most at once since the previous scrape (reset by each scrape).",
        );
        self.sample(&peak_name, "", peak);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, name: &str) -> u64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
            .parse()
            .unwrap()
    }

    #[test]
    fn peak_survives_one_scrape_then_falls_back() {
        static M: Metrics = Metrics::new();
        let scrape = M.connection_opened();
        let held: Vec<_> = (0..5).map(|_| M.connection_opened()).collect();
        drop(held);
        let text = M.render();
        assert_eq!(value(&text, "server_connections_open"), 1);
        assert_eq!(value(&text, "server_connections_open_peak"), 6);
        let text = M.render();
        assert_eq!(value(&text, "server_connections_open_peak"), 1);
        assert_eq!(value(&text, "server_connections_accepted_total"), 6);
        drop(scrape);
    }

    #[test]
    fn every_metric_is_printed() {
        static M: Metrics = Metrics::new();
        M.set_model("thread");
        M.rejected(Rejection::SpawnFailed);
        M.request_answered();
        M.accept_error();
        let text = M.render();
        assert!(text.contains("server_info{model=\"thread\"} 1\n"), "{text}");
        assert!(text.contains("server_rejected_total{reason=\"connection_cap\"} 0\n"));
        assert!(text.contains("server_rejected_total{reason=\"spawn_failed\"} 1\n"));
        assert_eq!(value(&text, "server_requests_total"), 1);
        assert_eq!(value(&text, "server_accept_errors_total"), 1);
        assert!(value(&text, "process_resident_memory_bytes") > 0);
        assert!(value(&text, "process_resident_memory_peak_bytes") > 0);
    }

    #[test]
    fn kib_fields() {
        let status = "Name:\tx\nVmHWM:\t    1696 kB\nVmRSS:\t  12 kB\n";
        assert_eq!(kib_field(status, "VmHWM:"), Some(1696 * 1024));
        assert_eq!(kib_field(status, "VmRSS:"), Some(12 * 1024));
        assert_eq!(kib_field(status, "VmSwap:"), None);
    }
}
