//! The engine seam: what `run/`, `tune/` and the CLI need from a container engine, as one
//! trait, and the plain types that cross it.
//!
//! `docker::Docker` implements it with bollard against a real daemon (Docker or
//! Podman's compatible API); the in-memory `fake` implements it for tests, so that round
//! scheduling, server restarts, cleanup on failure and Ctrl-C are tested without a daemon,
//! as hyperfine tests its run loop through a `MockExecutor` behind its `Executor` trait.
//!
//! The surface is what the lab does, not bollard's API: start a container from a spec,
//! exec in it, read its counters, logs and end, find its address, remove it, and sweep
//! everything a run labelled. This module imports nothing of the lab above it.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Result;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::endpoint::Endpoint;

#[cfg(test)]
pub mod fake;

/// Label put on every container and network the lab creates; its value is the run id.
pub const RUN_LABEL: &str = "lab.run";

/// Labels of a container or network.
pub type Labels = HashMap<String, String>;

/// A container engine as the lab uses it. Every method that talks to the engine returns a
/// boxed future, so that run/ holds `&dyn Engine` and a test can hand it the fake.
pub trait Engine: Send + Sync {
    /// Where the engine was reached, and how it was chosen.
    fn endpoint(&self) -> &Endpoint;

    /// Docker or Podman: what serves the API.
    fn kind(&self) -> EngineKind;

    /// Whether the engine still answers: after an error, it tells an engine that went
    /// away from one that refused a request.
    fn answers(&self) -> BoxFuture<'_, bool>;

    /// The id of a local image, or `None` when the engine does not have it.
    fn image_id<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>>>;

    /// Try to pull `name`, giving up after `timeout`.
    fn pull<'a>(&'a self, name: &'a str, timeout: Duration) -> BoxFuture<'a, Result<()>>;

    /// Build an image from a tar context held in memory. Returns the image id.
    fn build<'a>(
        &'a self,
        tag: &'a str,
        dockerfile: &'a str,
        context_tar: Vec<u8>,
        buildargs: &'a HashMap<String, String>,
    ) -> BoxFuture<'a, Result<String>>;

    /// Create a bridge network carrying `labels`; `private`: its containers reach only each
    /// other. Returns its id.
    fn create_network<'a>(
        &'a self,
        name: &'a str,
        labels: &'a Labels,
        private: bool,
    ) -> BoxFuture<'a, Result<String>>;

    /// Remove a network (gone already is fine).
    fn remove_network<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<()>>;

    /// The gateway address of a network: the engine host's own address on it.
    fn network_gateway<'a>(&'a self, network: &'a str) -> BoxFuture<'a, Result<String>>;

    /// Create a container, copy `files` (a tar archive, unpacked at `/`) into it when
    /// given, and start it. Returns its id.
    fn start<'a>(
        &'a self,
        spec: &'a ContainerSpec,
        files: Option<Vec<u8>>,
    ) -> BoxFuture<'a, Result<String>>;

    /// Run `cmd` inside a running container and collect its output.
    fn exec<'a>(
        &'a self,
        id: &'a str,
        cmd: &'a [String],
        timeout: Duration,
    ) -> BoxFuture<'a, Result<ExecOutput>>;

    /// Wait for a container to stop and return its exit code, or `None` on `timeout`.
    fn wait<'a>(&'a self, id: &'a str, timeout: Duration) -> BoxFuture<'a, Result<Option<i64>>>;

    /// The container's stdout and stderr so far.
    fn logs<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(String, String)>>;

    /// Is the container still running, and if not, how did it end?
    fn state<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<ContainerEnd>>;

    /// The host pid of the container's init process (0 when not running or not known).
    fn pid<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<i64>>;

    /// The host port the engine chose for the container's published TCP `port`.
    fn published_port<'a>(&'a self, id: &'a str, port: u16) -> BoxFuture<'a, Result<u16>>;

    /// The container's IP address on `network`.
    fn ip_on<'a>(&'a self, id: &'a str, network: &'a str) -> BoxFuture<'a, Result<String>>;

    /// One stats snapshot (cumulative counters).
    fn snapshot<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<StatsSample>>;

    /// Sample a container's stats (about once a second) until the sampler is finished.
    fn sample(&self, id: &str) -> Sampler;

    /// Stop (SIGTERM, then SIGKILL after `grace`) and remove a container.
    fn stop_and_remove<'a>(&'a self, id: &'a str, grace: Duration) -> BoxFuture<'a, Result<()>>;

    /// Remove a container at once, running or not (gone already is fine).
    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<()>>;

    /// The running containers of lab runs other than `own_run`: their labels and cpuset
    /// (empty: every CPU).
    fn other_runs<'a>(&'a self, own_run: &'a str) -> BoxFuture<'a, Result<Vec<(Labels, String)>>>;

    /// Remove every container and network carrying [`RUN_LABEL`] for which
    /// `doomed(labels)` is true. Returns how many containers and networks were removed.
    fn sweep<'a>(
        &'a self,
        doomed: &'a (dyn Fn(&Labels) -> bool + Sync),
    ) -> BoxFuture<'a, Result<(usize, usize)>>;
}

/// Which engine serves the Docker API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// Docker Engine (Moby), including Docker Desktop and rootless Docker.
    #[default]
    Docker,
    /// `podman system service`, Podman's Docker-compatible API.
    Podman,
    /// Something else that speaks the Docker API.
    Other,
}

impl EngineKind {
    /// From the `Components` of `GET /version`: Podman names itself "Podman Engine",
    /// Docker "Engine".
    pub fn from_components<'a>(names: impl IntoIterator<Item = &'a str>) -> EngineKind {
        let names: Vec<&str> = names.into_iter().collect();
        if names
            .iter()
            .any(|n| n.to_ascii_lowercase().contains("podman"))
        {
            EngineKind::Podman
        } else if names.contains(&"Engine") {
            EngineKind::Docker
        } else {
            EngineKind::Other
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            EngineKind::Docker => "docker",
            EngineKind::Podman => "podman",
            EngineKind::Other => "other",
        }
    }

    /// How the log names it.
    pub fn name(&self) -> &'static str {
        match self {
            EngineKind::Docker => "Docker",
            EngineKind::Podman => "Podman",
            EngineKind::Other => "a Docker-compatible engine",
        }
    }
}

/// What the engine says about itself; recorded in `meta.json`.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct EngineInfo {
    /// `docker`, `podman` or `other`: which engine served the run.
    #[serde(default)]
    pub engine: EngineKind,
    pub version: String,
    pub api_version: String,
    /// The daemon host's operating system, e.g. `Debian GNU/Linux 12 (bookworm)`.
    pub os: String,
    /// `linux` or `windows`: the kind of containers the daemon runs.
    #[serde(default)]
    pub os_type: String,
    /// The daemon's CPU architecture as it reports it (`x86_64`, `aarch64`, `amd64`, ...).
    #[serde(default)]
    pub arch: String,
    pub kernel: String,
    pub cgroup_version: String,
    #[serde(default)]
    pub cgroup_driver: String,
    /// The daemon runs without root (rootless Docker or Podman).
    #[serde(default)]
    pub rootless: bool,
    pub cpus: i64,
    pub memory_bytes: i64,
    /// The endpoint the lab used and where it came from (`unix:///... from DOCKER_HOST`).
    #[serde(default)]
    pub endpoint: String,
    /// `docker info`'s ID (not unique: daemons sharing `/etc/docker/key.json` share it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub daemon_id: String,
    /// The daemon host's name (`docker info`'s Name).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hostname: String,
}

/// One resource limit applied to every container, soft = hard (see `ulimit.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ulimit {
    /// Docker's name: `nofile`, `nproc`.
    pub name: String,
    pub value: u64,
}

/// How to start one container. Limits are `None` when not set.
#[derive(Debug, Clone, Default)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    /// Arguments appended to the image's entrypoint (or the whole command when it has none).
    pub cmd: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub env: Vec<String>,
    pub labels: Labels,
    pub network: Option<String>,
    /// DNS names the container answers to on `network`.
    pub aliases: Vec<String>,
    pub cpus: Option<f64>,
    /// The CFS period of the CPU limit, µs (Docker `--cpu-period`); `None`: the engine's
    /// default (100 ms). With it, `cpus` becomes a quota of `cpus × period` per period.
    pub cpu_period_us: Option<i64>,
    pub memory: Option<u64>,
    pub pids: Option<i64>,
    pub cpuset: Option<String>,
    /// Harden the container: no capabilities, no privilege gain, read-only root.
    pub hardened: bool,
    /// No capabilities and no privilege gain, but a writable root (`hardened` implies it).
    pub drop_privileges: bool,
    /// `uid:gid` to run as, overriding the image's user.
    pub user: Option<String>,
    /// Paths mounted as small private tmpfs (for a read-only root that needs a scratch dir).
    pub tmpfs: Vec<String>,
    /// Resource limits (soft = hard); empty = the engine's defaults.
    pub ulimits: Vec<Ulimit>,
    /// A TCP port of the container to publish on every address of the engine's host, at a
    /// port the engine chooses ([`Engine::published_port`] tells which).
    pub publish: Option<u16>,
}

/// What a command run with [`Engine::exec`] printed, and how it ended.
#[derive(Debug, Clone, Default)]
pub struct ExecOutput {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: Option<i64>,
}

/// How a container ended, from `inspect`.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ContainerEnd {
    pub running: bool,
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
    pub error: Option<String>,
}

impl ContainerEnd {
    /// A short human reason for a container that is no longer running.
    pub fn describe(&self) -> String {
        let mut s = match self.exit_code {
            Some(code) => format!("exited with code {code}"),
            None => "is not running".to_string(),
        };
        if self.oom_killed {
            s.push_str(" (OOM-killed: the memory limit was reached)");
        } else if self.exit_code == Some(137) {
            s.push_str(" (killed by SIGKILL)");
        }
        if let Some(e) = self.error.as_deref().filter(|e| !e.is_empty()) {
            s.push_str(&format!(": {e}"));
        }
        s
    }
}

/// Cumulative counters of one container at one moment (from one stats snapshot or the
/// cgroup files). Docker reports the same counters on cgroup v1 and v2 in the same units;
/// what a source does not report is `None` rather than 0, so that "not reported" never
/// reads as "did not happen".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsSample {
    pub at: Option<Instant>,
    pub cpu_total_ns: u64,
    /// CFS bandwidth counters; `None` when the source does not report them (Podman's
    /// Docker-compatible stats always say 0).
    pub throttling: Option<Throttling>,
    pub memory_bytes: u64,
    /// The highest memory use the kernel recorded (v1 `max_usage`, v2 `memory.peak`); `None`
    /// where the source lacks it (Docker stats on cgroup v2, Podman stats).
    pub memory_max_bytes: Option<u64>,
    pub pids: u64,
    /// The most tasks the kernel recorded (`pids.peak`, recent kernels); Docker stats never
    /// carry it.
    pub pids_max: Option<u64>,
}

/// CFS bandwidth counters of one cgroup, cumulative.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Throttling {
    pub periods: u64,
    pub throttled_periods: u64,
    pub throttled_ns: u64,
}

/// A running stats sampler; `finish` stops it and returns the samples.
pub struct Sampler {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Vec<StatsSample>>,
}

impl Sampler {
    /// Run `collect` in a task until [`Sampler::finish`]; `collect` gets the signal to stop
    /// and returns what it sampled by then.
    pub fn spawn<F>(collect: impl FnOnce(tokio::sync::oneshot::Receiver<()>) -> F) -> Sampler
    where
        F: std::future::Future<Output = Vec<StatsSample>> + Send + 'static,
    {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        Sampler {
            stop,
            task: tokio::spawn(collect(stopped)),
        }
    }

    pub async fn finish(self) -> Vec<StatsSample> {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}
