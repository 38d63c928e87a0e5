//! The run's record: `results.json` (every cell, every repetition, with the parsed ab report
//! and the resource figures) and `meta.json` (what machine and software produced it).
//!
//! `results.json` is rewritten after every cell through a temporary file and a rename, so a
//! crash or Ctrl-C mid-run leaves a complete file holding every finished cell and never a
//! half-written one. Reports are rendered from this file alone (`lab report RUN_DIR`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::ab::AbReport;
use crate::flags::Flag;
use crate::metrics::CellMetrics;
use crate::resources::ResourceSummary;
use crate::verdict::Verdict;

pub use crate::oha::{FailureKind, OhaReport};
pub use crate::tool::Tool;

/// Bumped when a field changes meaning or disappears (adding a field does not bump it).
pub const SCHEMA_VERSION: u32 = 1;

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
}

/// Where a run's containers ran: every server container on `servers`, every load
/// generator container on `loadgen` (Docker endpoints), and how ab reached the servers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Placed {
    pub servers: String,
    pub loadgen: String,
    /// `private network`, or `ADDRESS (published ports)` across two hosts.
    pub route: String,
}

impl Placed {
    /// The roles ran on two daemons.
    pub fn two_hosts(&self) -> bool {
        self.route != "private network"
    }
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
}

impl Limits {
    /// The server's own limits as reports name them: `cpus=1 memory=256m pids=4096`.
    pub fn label(&self) -> String {
        let mut s = format!(
            "cpus={} memory={}",
            self.cpus,
            crate::config::format_memory(self.memory_bytes)
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
    pub requests: u64,
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
    pub ab: Option<AbReport>,
    /// oha's parsed report (oha cells; `ab` stays `None`). Read both through
    /// [`Cell::counts`] and [`Cell::latency`], which every report uses.
    #[serde(default)]
    pub oha: Option<OhaReport>,
    /// Open-loop cells: the rate as the lab file asked for it (`500`, `50%`).
    #[serde(default)]
    pub rate: Option<crate::config::RateSpec>,
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
    /// What the server counted during the cell (built-in models' `/metrics`): exact peaks
    /// of open connections and threads.
    #[serde(default)]
    pub server_metrics: Option<CellMetrics>,
    /// What limited the cell (see `verdict.rs`).
    #[serde(default)]
    pub verdict: Option<Verdict>,
    /// Evidence flags (see `flags.rs`): loadgen-bound, cpu-throttled, errors, ab-warning, ...
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

impl Cell {
    /// The figures every tool reports, from whichever tool measured the cell.
    pub fn counts(&self) -> Option<Counts> {
        if let Some(ab) = &self.ab {
            return Some(Counts::of_ab(ab));
        }
        self.oha.as_ref().map(Counts::of_oha)
    }

    /// Requests per second counting only successful (2xx, not failed) responses: ab's own
    /// figure counts non-2xx answers as successes.
    pub fn good_rps(&self) -> Option<f64> {
        self.counts()?.good_rps()
    }

    /// Completed requests per second as the tool counts them (non-2xx included).
    pub fn rps(&self) -> Option<f64> {
        self.counts().and_then(|c| c.rps)
    }

    /// Open-loop cells: the achieved rate over the offered one (1.0 = all sent and done).
    pub fn achieved_share(&self) -> Option<f64> {
        let offered = self.offered_rps.filter(|r| *r > 0.0)?;
        Some(self.rps()? / offered)
    }

    /// Latency at percentile `p`, in ms: the fine `-e` value when present, else ab's
    /// whole-ms table, or oha's (corrected for coordinated omission in open loop).
    pub fn latency(&self, p: Percentile) -> Option<f64> {
        self.percentile(&p.key())
    }

    /// [`Cell::latency`] by the key the record stores (`"99"`).
    pub fn percentile(&self, key: &str) -> Option<f64> {
        self.percentiles_fine
            .as_ref()
            .and_then(|m| m.get(key).copied())
            .or_else(|| {
                self.ab
                    .as_ref()
                    .and_then(|a| a.percentiles.as_ref())
                    .and_then(|m| m.get(key).copied())
            })
            .or_else(|| {
                self.oha
                    .as_ref()
                    .and_then(|o| o.latency_ms.get(key).copied())
            })
    }

    /// The load tool of the cell's command line (`None` before it ran).
    pub fn tool(&self) -> Option<Tool> {
        Tool::of_program(self.command.first()?)
    }
}

/// The figures of a cell that every load tool gives, in the same units and meaning: the
/// one evidence model reports, verdicts and flags read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    /// The tool's measuring time, seconds (ab's "Time taken", oha's total).
    pub time_taken_s: Option<f64>,
    /// Requests that ended, failed ones included (ab's "Complete requests").
    pub complete: Option<u64>,
    /// Requests without an answer (connect, receive, timeout, ...): not non-2xx.
    pub failed: Option<u64>,
    pub failed_by_kind: BTreeMap<FailureKind, u64>,
    /// Answers whose status was not 2xx.
    pub non_2xx: Option<u64>,
    pub rps: Option<f64>,
    /// Bytes received (ab: headers included; oha: bodies).
    pub transferred: Option<u64>,
}

impl Counts {
    pub fn of_ab(ab: &AbReport) -> Counts {
        let mut failed_by_kind = BTreeMap::new();
        if let Some(b) = &ab.failed_breakdown {
            for (kind, n) in [
                (FailureKind::Connect, b.connect),
                (FailureKind::Receive, b.receive),
                (FailureKind::Other, b.length + b.exceptions),
            ] {
                if n > 0 {
                    *failed_by_kind.entry(kind).or_insert(0) += n;
                }
            }
        }
        Counts {
            time_taken_s: ab.time_taken_s,
            complete: ab.complete_requests,
            failed: ab.failed_requests,
            failed_by_kind,
            non_2xx: ab.non_2xx,
            rps: ab.requests_per_second,
            transferred: ab.total_transferred,
        }
    }

    pub fn of_oha(oha: &OhaReport) -> Counts {
        Counts {
            time_taken_s: Some(oha.total_s),
            complete: Some(oha.complete()),
            failed: Some(oha.failed()),
            failed_by_kind: oha.failures_by_kind(),
            non_2xx: Some(oha.non_2xx()),
            rps: Some(oha.requests_per_second()),
            transferred: Some(oha.total_data),
        }
    }

    /// Requests per second counting only good (2xx, not failed) answers.
    pub fn good_rps(&self) -> Option<f64> {
        let rps = self.rps?;
        let complete = self.complete? as f64;
        if complete == 0.0 {
            return Some(0.0);
        }
        Some(rps * ((complete - self.bad() as f64).max(0.0) / complete))
    }

    /// Failed plus non-2xx.
    pub fn bad(&self) -> u64 {
        self.failed.unwrap_or(0) + self.non_2xx.unwrap_or(0)
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

/// What produced the run: host, engine, images, tools, source revision.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Meta {
    pub run_id: String,
    pub lab_file: String,
    pub lab_version: String,
    pub host_cpus: usize,
    pub host_cpu_model: String,
    pub host_kernel: String,
    pub load_average_start: Option<String>,
    pub load_average_end: Option<String>,
    /// The engine that served the run: Docker or Podman, version, endpoint, architecture.
    pub docker: crate::engine::EngineInfo,
    /// The resource limits every container got, and why.
    #[serde(default)]
    pub ulimits: crate::ulimit::UlimitPlan,
    /// image name → image id
    pub images: BTreeMap<String, String>,
    /// How the load generator image was obtained (local, pulled, packaged from the host,
    /// built from crates.io).
    pub loadgen_image_source: String,
    /// The load tool's version line (`ab -V` or `oha --version`), as the measuring
    /// container printed it. (Named when ab was the only tool; kept for older records.)
    pub ab_version: String,
    pub git_commit: Option<String>,
    pub git_dirty: Option<bool>,
    /// Where each role ran and how the load generator reached the servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<HostsMeta>,
}

/// Both roles' Docker hosts, as meta.json records them.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct HostsMeta {
    pub servers: HostMeta,
    pub loadgen: HostMeta,
    /// The roles shared one daemon.
    pub one_daemon: bool,
    /// How ab reached the servers: `private network` or `ADDRESS (published ports)`.
    pub route: String,
}

/// One role's Docker host.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct HostMeta {
    /// The endpoint and where it came from.
    pub endpoint: String,
    pub hostname: String,
    pub cpu_model: String,
    pub cpus: i64,
    pub memory_bytes: i64,
    pub kernel: String,
    pub os: String,
    pub arch: String,
    pub cgroup_version: String,
    /// `Docker 20.10.24 (API 1.41)`.
    pub engine: String,
}

impl HostMeta {
    pub fn new(info: &crate::engine::EngineInfo, cpu_model: String) -> HostMeta {
        HostMeta {
            endpoint: info.endpoint.clone(),
            hostname: info.hostname.clone(),
            cpu_model,
            cpus: info.cpus,
            memory_bytes: info.memory_bytes,
            kernel: info.kernel.clone(),
            os: info.os.clone(),
            arch: info.arch.clone(),
            cgroup_version: info.cgroup_version.clone(),
            engine: format!(
                "{} {} (API {})",
                info.engine.name(),
                info.version,
                info.api_version
            ),
        }
    }
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

/// Read `RUN_DIR/results.json`.
pub fn load(run_dir: &Path) -> Result<Results> {
    let path = run_dir.join("results.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    crate::figures::check(&text, &path)?;
    let results: Results = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a lab results file", path.display()))?;
    if results.schema_version > SCHEMA_VERSION {
        anyhow::bail!(
            "{} has schema_version {}, this lab reads up to {SCHEMA_VERSION}: update the lab",
            path.display(),
            results.schema_version
        );
    }
    Ok(results)
}

/// Read `RUN_DIR/meta.json` when present.
pub fn load_meta(run_dir: &Path) -> Option<Meta> {
    let text = std::fs::read_to_string(run_dir.join("meta.json")).ok()?;
    serde_json::from_str(&text).ok()
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
