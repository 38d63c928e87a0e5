//! `meta.json`: what machine and software produced a run (host, engine, images, tools,
//! source revision, where each role ran). Beside the record, not in it: it names the
//! engine's own types.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub mod sweep;

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
    /// A shard of a split sweep (`lab run --shard i/N`): the sweep's identity and the
    /// shard's points (see `sweep.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<sweep::Sweep>,
    /// What makes this run's figures comparable with another host's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<sweep::Fingerprint>,
    /// A merged run (`lab merge`): the shards it was joined from, in shard order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<sweep::ShardRun>,
}

/// Both roles' Docker hosts, as meta.json records them.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct HostsMeta {
    pub servers: HostMeta,
    pub loadgen: HostMeta,
    /// The roles shared one daemon.
    pub one_daemon: bool,
    /// How ab reached the servers: `private network` or `ADDRESS (published ports)`.
    pub route: crate::record::Route,
    /// The load generator hosts after the first (`hosts.loadgen` as a list).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loadgen_also: Vec<AlsoHostMeta>,
}

/// A load generator host after the first, and how it reached the servers.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct AlsoHostMeta {
    #[serde(flatten)]
    pub host: HostMeta,
    pub route: crate::record::Route,
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

/// Read `RUN_DIR/meta.json` when present.
pub fn load_meta(run_dir: &Path) -> Option<Meta> {
    let text = std::fs::read_to_string(run_dir.join("meta.json")).ok()?;
    serde_json::from_str(&text).ok()
}
