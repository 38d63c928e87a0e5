//! The run's record: `results.json` (every cell, every repetition, with the tool-neutral
//! measurement, the tool's own report, the resource figures and the judgment).
//!
//! Plain data: this layer imports nothing of the lab's logic (only the leaf report types
//! of `ab` and `oha`, and `metrics`' counters), so that the tools, the judge, the runner,
//! tune and the reports can all stand on it. `meta.json` is the `meta` module's.
//!
//! `results.json` is rewritten after every cell through a temporary file and a rename, so a
//! crash or Ctrl-C mid-run leaves a complete file holding every finished cell and never a
//! half-written one. Reports are rendered from this file alone (`lab report RUN_DIR`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::metrics::CellMetrics;

pub mod confirmation;
pub mod judgment;
pub mod measurement;
pub mod placed;
pub mod rate;
pub mod resources;
pub mod steady;
mod tool;
pub mod upgrade;

pub use confirmation::{Confirmation, RowKey};
pub use judgment::{Flag, Limiter, Verdict};
pub use measurement::{FailureKind, Measurement, OhaReport, TimeSummary, ToolReport};
pub use placed::{Placed, PlacedLoadgen, Route};
pub use rate::RateSpec;
pub use resources::ResourceSummary;
pub use steady::{CounterSample, RequestLog, Steady};
pub use tool::Tool;

/// Bumped when a field changes meaning or disappears (adding a field does not bump it).
///
/// 2: a cell's tool report moved from `ab` / `oha` to one tagged `report`, beside a
/// tool-neutral `measurement`; `placement.route` became a tagged route. Schema 1 files
/// are still read (see [`upgrade`]).
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    pub schema_version: u32,
    pub run_id: String,
    pub name: String,
    /// `running` while cells are being measured, then `complete`, `interrupted` or `aborted`.
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// The lab file as validated (sizes in bytes, durations in seconds).
    pub config: serde_json::Value,
    /// Server instances that could not be started or verified, with the reason.
    #[serde(default)]
    pub server_failures: Vec<ServerFailure>,
    /// Which Docker host the servers' and the load generator's containers ran on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placed>,
    pub cells: Vec<Cell>,
    /// `lab run --confirm`: each `server-cpu` and `loadgen` row's verdict checked by a
    /// counterfactual cell (their rows' cells carry `unconfirmed` when it failed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub confirmations: Vec<Confirmation>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerFailure {
    pub server: String,
    pub group: usize,
    pub reason: String,
}

/// Where a run stands: stored as its word (`"complete"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Cells are being measured (or the run died without a stop mark).
    Running,
    Complete,
    /// Stopped by Ctrl-C, SIGTERM or SIGHUP; the finished cells are kept.
    Interrupted,
    /// Stopped by an error; the finished cells are kept.
    Aborted,
    /// A word this lab does not know (a newer lab wrote it), kept as written.
    #[serde(untagged)]
    Other(String),
}

impl RunStatus {
    pub fn as_str(&self) -> &str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Complete => "complete",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Aborted => "aborted",
            RunStatus::Other(s) => s,
        }
    }
}

impl From<&str> for RunStatus {
    fn from(word: &str) -> RunStatus {
        match word {
            "running" => RunStatus::Running,
            "complete" => RunStatus::Complete,
            "interrupted" => RunStatus::Interrupted,
            "aborted" => RunStatus::Aborted,
            other => RunStatus::Other(other.to_string()),
        }
    }
}

impl PartialEq<&str> for RunStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a cell produced a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Failed,
}

impl Status {
    /// `ok` or `failed`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failed => "failed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The limits a cell ran under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    pub cpus: f64,
    pub memory_bytes: u64,
    pub pids: Option<i64>,
    /// CPU set of the server container (`None`: not pinned).
    pub cpuset: Option<String>,
    pub loadgen_cpus: Option<f64>,
    pub loadgen_cpuset: Option<String>,
    /// CPUs of the machine the load generator's daemon runs on (`None` in records written
    /// before the lab recorded it): what an unlimited, multi-threaded tool may use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loadgen_host_cpus: Option<u32>,
    /// Load generator hosts that sent the cell together (`hosts.loadgen` as a list; `None`:
    /// one), each with the CPUs above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loadgen_hosts: Option<u32>,
}

impl Limits {
    pub fn label(&self) -> String {
        let mut s = format!(
            "cpus={} memory={}",
            self.cpus,
            format_memory(self.memory_bytes)
        );
        if let Some(p) = self.pids {
            s.push_str(&format!(" pids={p}"));
        }
        s
    }
}

/// One ab run: a server, a workload, a concurrency level, keep-alive on or off, one repetition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cell {
    /// Unique in the run, also the stem of the raw output files.
    pub id: String,
    pub group: usize,
    /// Human label of the resource group, e.g. `cpus=1 memory=256m`.
    pub group_label: String,
    pub server: String,
    /// `async`, `thread`, or the image name for an external server.
    pub model: String,
    pub workload: String,
    pub path: String,
    pub concurrency: u32,
    pub keepalive: bool,
    /// Requests the tool was asked for (0 when the cell ran for a time: `duration_s`).
    pub requests: u64,
    /// Seconds the tool was asked to send for (timed cells: the steady-state policy or
    /// `loadgen.duration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    pub repetition: u32,
    pub limits: Limits,
    pub status: Status,
    /// Why the cell failed (or what is wrong with an ok cell's numbers, e.g. non-2xx).
    pub reason: Option<String>,
    pub exit_code: Option<i64>,
    /// The exact load tool command line.
    pub command: Vec<String>,
    /// Paths of the raw ab output, relative to the run folder.
    pub raw_stdout: String,
    pub raw_stderr: String,
    /// What the tool measured, in the lab's terms: what every reader reads.
    #[serde(default)]
    pub measurement: Option<Measurement>,
    /// The tool's own parsed report: read by the tool layer and raw exports only.
    #[serde(default)]
    pub report: Option<ToolReport>,
    /// Schema 1: the tool's report, before it moved to `report` (read, never written).
    #[serde(default, rename = "ab", skip_serializing)]
    pub(crate) v1_ab: Option<Box<crate::ab::AbReport>>,
    #[serde(default, rename = "oha", skip_serializing)]
    pub(crate) v1_oha: Option<OhaReport>,
    /// Open-loop cells: the rate as the lab file asked for it (`500`, `50%`).
    #[serde(default)]
    pub rate: Option<RateSpec>,
    /// Open-loop cells: the rate offered, requests per second (a percentage resolved
    /// against the measured capacity).
    #[serde(default)]
    pub offered_rps: Option<f64>,
    /// Open-loop cells: the closed-loop capacity a percentage rate was taken of, req/s.
    #[serde(default)]
    pub capacity_rps: Option<f64>,
    /// `ab -e` percentiles (0..100 → ms, sub-millisecond precision), when captured.
    pub percentiles_fine: Option<BTreeMap<String, f64>>,
    pub server_resources: Option<ResourceSummary>,
    pub loadgen_resources: Option<ResourceSummary>,
    /// ab's own CPU time, peak memory and wall time, exact (rusage of the reaped process,
    /// reported by `lab-agent` inside the load generator container).
    #[serde(default)]
    pub tool_usage: Option<ToolUsage>,
    /// The load tool's processes when the cell ran several (`loadgen.processes`), the
    /// first one first: each its command, raw output and exact resource use. The cell's
    /// own `command` and raw files are the first process's; `tool_usage` sums them (CPU)
    /// and takes the longest wall time; `measurement` is their merge (see `tool::processes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<ProcessRun>,
    /// What the server counted during the cell (built-in models' `/metrics`): exact peaks
    /// of open connections and threads.
    #[serde(default)]
    pub server_metrics: Option<CellMetrics>,
    /// The steady window: the figures that describe the CPU limit, with the period, the
    /// periods covered and the timeline (see [`steady`]). `None`: the tool gave no
    /// per-request data (oha, records before the lab kept it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steady: Option<Steady>,
    /// What limited the cell (see the judge layer, `judge/`).
    #[serde(default)]
    pub verdict: Option<Verdict>,
    /// Evidence flags (see the judge layer, `judge/`): loadgen-bound, cpu-throttled, errors, ab-warning, ...
    pub flags: Vec<Flag>,
    /// Other lab runs that had running containers on this cell's CPUs when it started or
    /// ended (`run ID on CPUs 0-1`): each measured the other (flag `shared-cpus`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub neighbours: Vec<String>,
    /// Wall time of the whole cell as the lab spent it (counters, exec, ab, parsing): minus
    /// ab's "Time taken", it is the lab's own overhead per cell.
    pub wall_s: f64,
}

/// A load tool's exact resource use, from `getrusage` of the reaped process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolUsage {
    /// User + system CPU seconds.
    pub cpu_s: f64,
    pub user_s: f64,
    pub sys_s: f64,
    /// Spawn to exit, seconds.
    pub wall_s: f64,
    pub max_rss_kib: i64,
}

/// One of a cell's load tool processes (see [`Cell::processes`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessRun {
    pub command: Vec<String>,
    /// Its stdout, stderr and per-request file under `raw/`.
    pub raw_stdout: String,
    pub raw_stderr: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_requests: Option<String>,
    pub exit_code: Option<i64>,
    pub usage: Option<ToolUsage>,
    /// The load generator host it ran on (its Docker endpoint), when the cell was sent
    /// from several (`hosts.loadgen` as a list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// When its agent started it (Unix seconds, that host's clock): the processes of
    /// several hosts start within milliseconds of each other when the hosts' clocks agree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_unix_s: Option<f64>,
    /// Requests it completed, and its own rate (its report's).
    pub complete: Option<u64>,
    pub rps: Option<f64>,
}

impl Cell {
    /// What the tool measured (`None` before it ran or when its output did not parse).
    pub fn measurement(&self) -> Option<&Measurement> {
        self.measurement.as_ref()
    }

    /// Requests per second counting only successful (2xx, not failed) responses: ab's own
    /// figure counts non-2xx answers as successes. Over the steady window when there is
    /// one (the cell's share of good answers applied to its rate).
    pub fn good_rps(&self) -> Option<f64> {
        let m = self.measurement()?;
        match &self.steady {
            Some(s) if s.requests > 0 => Some(s.rps * m.good_rps()? / m.rps.filter(|r| *r > 0.0)?),
            _ => m.good_rps(),
        }
        .or_else(|| m.good_rps())
    }

    /// Completed requests per second (non-2xx included): over the steady window when the
    /// cell has one, else as the tool counted them over its whole run.
    pub fn rps(&self) -> Option<f64> {
        match &self.steady {
            Some(s) if s.requests > 0 => Some(s.rps),
            _ => self.measurement()?.rps,
        }
    }

    /// The server's CPU time per request, µs: over the steady window when the cell has one
    /// with per-period counters, else the cell's CPU over its completed requests.
    pub fn server_cpu_per_request_us(&self) -> Option<f64> {
        if let Some(us) = self
            .steady
            .as_ref()
            .and_then(|s| s.server_cpu_per_request_us)
        {
            return Some(us);
        }
        // 0: records from before the lab kept CPU seconds.
        let cpu = self.server_resources.as_ref()?.cpu_s;
        let cpu = (cpu > 0.0).then_some(cpu)?;
        let n = self.measurement()?.complete.filter(|n| *n > 0)?;
        Some(cpu / n as f64 * 1e6)
    }

    /// Open-loop cells: the achieved rate over the offered one (1.0 = all sent and done).
    pub fn achieved_share(&self) -> Option<f64> {
        let offered = self.offered_rps.filter(|r| *r > 0.0)?;
        Some(self.rps()? / offered)
    }

    /// Latency at percentile `p`, in ms (see [`Measurement::latency_ms`]).
    pub fn latency(&self, p: Percentile) -> Option<f64> {
        self.percentile(&p.key())
    }

    /// [`Cell::latency`] by the key the record stores (`"99"`).
    pub fn percentile(&self, key: &str) -> Option<f64> {
        self.measurement()?.latency_ms.get(key).copied()
    }

    /// The load tool of the cell's command line (`None` before it ran).
    pub fn tool(&self) -> Option<Tool> {
        Tool::of_program(self.command.first()?)
    }
}

/// A latency percentile: 99.0 is p99, 100.0 the longest request.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Percentile(pub f64);

impl Percentile {
    pub const P50: Percentile = Percentile(50.0);
    pub const P90: Percentile = Percentile(90.0);
    pub const P99: Percentile = Percentile(99.0);
    /// The longest request.
    pub const MAX: Percentile = Percentile(100.0);

    /// The key of ab's tables and of `results.json`: `"99"`, `"99.9"`.
    pub fn key(self) -> String {
        format!("{}", self.0)
    }

    /// How reports name it: `p99`, or `max` for 100.
    pub fn label(self) -> String {
        if self.0 >= 100.0 {
            "max".into()
        } else {
            format!("p{}", self.0)
        }
    }
}

/// Formats a byte count compactly: exact multiples get the largest unit (`268435456` →
/// `256m`), so the text parses back to the same number; other counts get one decimal of
/// the largest unit that fits (`100000` → `97.7k`), and small ones stay bytes (`1000`).
pub fn format_memory(bytes: u64) -> String {
    for (unit, size) in [
        ("g", (1u64 << 30)),
        ("m", (1u64 << 20)),
        ("k", (1u64 << 10)),
    ] {
        if bytes >= size && bytes % size == 0 {
            return format!("{}{unit}", bytes / size);
        }
    }
    for (unit, size) in [
        ("g", (1u64 << 30)),
        ("m", (1u64 << 20)),
        ("k", (1u64 << 10)),
    ] {
        if bytes >= size {
            return format!("{:.1}{unit}", bytes as f64 / size as f64);
        }
    }
    bytes.to_string()
}

/// Write `value` as pretty JSON to `path` atomically (temp file in the same folder + rename).
pub fn write_json_atomic<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    write_atomic(path, text.as_bytes())
}

/// Write bytes to `path` so that readers see the old file or the new one, never a torn one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_path(path);
    let written = std::fs::write(&tmp, bytes)
        .with_context(|| format!("writing {}", tmp.display()))
        .and_then(|()| {
            std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))
        });
    if written.is_err() {
        // A full disk or a vanished folder: leave the old file, not a partial temp file.
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Read `RUN_DIR/results.json`, in the current shape whatever schema wrote it. A schema 1
/// cell comes back with its tool report in `report` and no `measurement` yet: the tool
/// layer fills it in (the judge's `load` reads a record whole).
pub fn load(run_dir: &Path) -> Result<Results> {
    let path = run_dir.join("results.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    crate::figures::check(&text, &path)?;
    let mut results: Results = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a lab results file", path.display()))?;
    if results.schema_version > SCHEMA_VERSION {
        anyhow::bail!(
            "{} has schema_version {}, this lab reads up to {SCHEMA_VERSION}: update the lab",
            path.display(),
            results.schema_version
        );
    }
    upgrade::cells(&mut results.cells);
    // In memory it is now today's shape: written back, it says so.
    results.schema_version = SCHEMA_VERSION;
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_status_reads_every_word_and_keeps_unknown_ones() {
        for word in ["running", "complete", "interrupted", "aborted", "paused"] {
            let s: RunStatus = serde_json::from_str(&format!("\"{word}\"")).unwrap();
            assert_eq!(s, RunStatus::from(word));
            assert_eq!(s.as_str(), word);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{word}\""));
        }
        assert_eq!(RunStatus::from("complete"), RunStatus::Complete);
        assert!(RunStatus::Complete == "complete");
    }

    #[test]
    fn percentiles_have_the_records_keys() {
        assert_eq!(Percentile::P99.key(), "99");
        assert_eq!(Percentile::MAX.key(), "100");
        assert_eq!(Percentile(99.9).key(), "99.9");
        assert_eq!(Percentile::P50.label(), "p50");
        assert_eq!(Percentile::MAX.label(), "max");
        assert_eq!(Tool::of_program("/usr/bin/ab"), Some(Tool::Ab));
        assert_eq!(Tool::of_program("wrk"), None);
    }

    #[test]
    fn a_failed_write_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a folder: the rename fails after the temp file was written.
        let p = dir.path().join("results.json");
        std::fs::create_dir(&p).unwrap();
        std::fs::write(p.join("x"), "keep").unwrap();
        assert!(write_atomic(&p, b"{}").is_err());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("results.json")]);
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("results.json");
        write_json_atomic(&p, &serde_json::json!({"a": 1})).unwrap();
        write_json_atomic(&p, &serde_json::json!({"a": 2})).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(v["a"], 2);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("results.json")]);
    }
}
