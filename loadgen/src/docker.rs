//! Every call the lab makes to the Docker Engine lives here.
//!
//! The rest of the driver talks in lab terms ("start this server with these limits", "run ab
//! and give me its output"); this module turns that into bollard calls. Keeping all of them in
//! one place means one place to read when a Docker version behaves differently, and one place
//! that knows about bollard's quirks (a request timeout of 2 minutes by default, `wait`
//! reporting a non-zero exit as an error, logs needing stdout *and* stderr switched on).
//!
//! [`Docker`] is the real implementation of the [`Engine`] seam (`engine/`) that run/,
//! tune/ and the CLI hold; the plain types crossing it live there too, so that this module
//! is the only one that knows bollard. Connecting ([`Docker::connect_to`]) stays here.
//!
//! The engine may be Docker or Podman's Docker-compatible service ([`EngineKind`]). Where
//! they differ (Podman's stats report no CPU throttling, its default rlimits are more than
//! it may grant), callers decide from [`Engine::kind`]; this module stays a thin client.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use bollard::errors::Error as BollardError;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerStatsResponse, EndpointSettings, HostConfig,
    NetworkCreateRequest, NetworkingConfig, PortBinding, ResourcesUlimits,
};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateContainerOptionsBuilder, CreateImageOptionsBuilder,
    DownloadFromContainerOptionsBuilder, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, StatsOptionsBuilder,
    StopContainerOptionsBuilder, UploadToContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use bollard::{Docker as Client, API_DEFAULT_VERSION};
use futures_util::future::BoxFuture;
use futures_util::StreamExt;

use crate::endpoint::{self, Endpoint};
use crate::engine::{
    ContainerEnd, ContainerSpec, Engine, EngineInfo, EngineKind, ExecOutput, Labels, Sampler,
    StatsSample, Throttling, RUN_LABEL,
};

#[cfg(test)]
mod tests;

/// bollard's own request timeout, in seconds. Runs can take long; every call that can wait
/// is bounded by the lab's own timeouts instead.
const REQUEST_TIMEOUT_S: u64 = 3600;

/// No daemon could be chosen, or the chosen one could not be reached. The CLI maps this to
/// exit code 2. Each says where the choice came from (`... from DOCKER_HOST`).
#[derive(Debug, thiserror::Error)]
pub enum Unreachable {
    #[error("cannot choose a Docker daemon: {0}")]
    NoEndpoint(String),
    #[error("cannot reach the Docker daemon at {endpoint}: {reason} ({hint})")]
    Daemon {
        endpoint: String,
        reason: String,
        hint: &'static str,
    },
}

/// A connection to the Docker Engine, with the API version negotiated: the real
/// [`Engine`].
#[derive(Clone)]
pub struct Docker {
    docker: Client,
    endpoint: Endpoint,
    kind: EngineKind,
}

impl StatsSample {
    /// The counters of one `GET /containers/{id}/stats` document. Docker fills the same
    /// fields from cgroup v1 and v2 (v2 has no `max_usage` and no `percpu_usage`, and takes
    /// throttling from `cpu.stat`), so one reading serves both.
    pub fn from_response(r: &ContainerStatsResponse, at: Instant) -> StatsSample {
        let cpu = r.cpu_stats.as_ref();
        let thr = cpu.and_then(|c| c.throttling_data.as_ref());
        let mem = r.memory_stats.as_ref();
        StatsSample {
            at: Some(at),
            cpu_total_ns: cpu
                .and_then(|c| c.cpu_usage.as_ref())
                .and_then(|u| u.total_usage)
                .unwrap_or(0),
            throttling: thr.map(|t| Throttling {
                periods: t.periods.unwrap_or(0),
                throttled_periods: t.throttled_periods.unwrap_or(0),
                throttled_ns: t.throttled_time.unwrap_or(0),
            }),
            memory_bytes: mem.and_then(|m| m.usage).unwrap_or(0),
            memory_max_bytes: mem.and_then(|m| m.max_usage).filter(|v| *v > 0),
            pids: r.pids_stats.as_ref().and_then(|p| p.current).unwrap_or(0),
            pids_max: None,
        }
    }
}

#[cfg(test)]
mod stats_tests;

fn is_not_found(e: &BollardError) -> bool {
    matches!(
        e,
        BollardError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Turn a bollard error into one readable line (the server's message when there is one).
/// Transport errors keep their causes: hyper's "client error (Connect)" alone does not say
/// that a certificate was refused or a socket is missing.
pub fn explain(e: &BollardError) -> String {
    match e {
        BollardError::DockerResponseServerError {
            status_code,
            message,
        } => format!("Docker said {status_code}: {}", message.trim()),
        BollardError::DockerStreamError { error } => error.trim().to_string(),
        other => {
            let mut line = other.to_string();
            let mut cause = std::error::Error::source(other);
            while let Some(c) = cause {
                let text = c.to_string();
                if !line.contains(&text) {
                    line.push_str(": ");
                    line.push_str(&text);
                }
                cause = c.source();
            }
            line.replace('\n', " ")
        }
    }
}

impl Docker {
    /// Connect to the daemon the docker CLI would use (see [`endpoint`]).
    pub async fn connect() -> std::result::Result<Docker, Unreachable> {
        let endpoint =
            endpoint::from_environment().map_err(|e| Unreachable::NoEndpoint(e.to_string()))?;
        Docker::connect_to(&endpoint).await
    }

    /// Connect to `endpoint`, negotiate the API version (an older engine rejects bollard's
    /// default), and check it answers. Every way the lab reaches a daemon goes through here.
    pub async fn connect_to(endpoint: &Endpoint) -> std::result::Result<Docker, Unreachable> {
        let hint = match endpoint.source {
            endpoint::Source::Setting(_) => "is it running, and reachable from this machine?",
            _ => "is it running? DOCKER_HOST or `docker context use` selects another daemon",
        };
        let unreachable = |reason: String| Unreachable::Daemon {
            endpoint: endpoint.to_string(),
            reason,
            hint,
        };
        let docker = client(endpoint).map_err(unreachable)?;
        let docker = tokio::time::timeout(Duration::from_secs(10), docker.negotiate_version())
            .await
            .map_err(|_| unreachable("no answer within 10 s".into()))?
            .map_err(|e| unreachable(explain(&e)))?;
        docker.ping().await.map_err(|e| unreachable(explain(&e)))?;
        let version = docker
            .version()
            .await
            .map_err(|e| unreachable(explain(&e)))?;
        let kind = EngineKind::from_components(
            version.components.iter().flatten().map(|c| c.name.as_str()),
        );
        Ok(Docker {
            docker,
            endpoint: endpoint.clone(),
            kind,
        })
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Whether the daemon still answers (a ping, within 5 s): after an error, it tells a
    /// daemon that went away from one that refused a request.
    pub async fn answers(&self) -> bool {
        matches!(
            tokio::time::timeout(Duration::from_secs(5), self.docker.ping()).await,
            Ok(Ok(_))
        )
    }

    /// Docker or Podman: what serves the API (from `GET /version` at connect).
    pub fn kind(&self) -> EngineKind {
        self.kind
    }

    pub async fn info(&self) -> Result<EngineInfo> {
        let v = self.docker.version().await.context("docker version")?;
        let i = self.docker.info().await.context("docker info")?;
        let security = i.security_options.unwrap_or_default();
        Ok(EngineInfo {
            engine: self.kind,
            version: v.version.unwrap_or_default(),
            api_version: v.api_version.unwrap_or_default(),
            os: i.operating_system.unwrap_or_default(),
            os_type: i.os_type.or(v.os).unwrap_or_default(),
            arch: i.architecture.or(v.arch).unwrap_or_default(),
            kernel: i.kernel_version.unwrap_or_default(),
            cgroup_version: i.cgroup_version.map(|c| c.to_string()).unwrap_or_default(),
            cgroup_driver: i.cgroup_driver.map(|c| c.to_string()).unwrap_or_default(),
            rootless: security.iter().any(|o| o.contains("name=rootless")),
            cpus: i.ncpu.unwrap_or(0),
            memory_bytes: i.mem_total.unwrap_or(0),
            endpoint: self.endpoint.to_string(),
            daemon_id: i.id.unwrap_or_default(),
            hostname: i.name.unwrap_or_default(),
        })
    }

    /// The id of a local image, or `None` when the engine does not have it.
    pub async fn image_id(&self, name: &str) -> Result<Option<String>> {
        match self.docker.inspect_image(name).await {
            Ok(img) => Ok(img.id),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(anyhow!("inspecting image {name}: {}", explain(&e))),
        }
    }

    /// Try to pull `name`, giving up after `timeout` (hosts without a registry fail fast or hang).
    pub async fn pull(&self, name: &str, timeout: Duration) -> Result<()> {
        let (image, tag) = split_tag(name);
        let opts = CreateImageOptionsBuilder::default()
            .from_image(image)
            .tag(tag)
            .build();
        let pull = async {
            let mut stream = self.docker.create_image(Some(opts), None, None);
            while let Some(item) = stream.next().await {
                item.map_err(|e| anyhow!("{}", explain(&e)))?;
            }
            Ok::<(), anyhow::Error>(())
        };
        match tokio::time::timeout(timeout, pull).await {
            Ok(r) => r,
            Err(_) => bail!("no answer from the registry within {}s", timeout.as_secs()),
        }
    }

    /// Build an image with the classic builder (no BuildKit frontend to fetch) from a tar
    /// context held in memory. Returns the image id.
    pub async fn build(
        &self,
        tag: &str,
        dockerfile: &str,
        context_tar: Vec<u8>,
        buildargs: &HashMap<String, String>,
    ) -> Result<String> {
        let previous = self.image_id(tag).await?;
        let opts = BuildImageOptionsBuilder::default()
            .dockerfile(dockerfile)
            .t(tag)
            .rm(true)
            .forcerm(true)
            .buildargs(buildargs)
            .build();
        let mut stream =
            self.docker
                .build_image(opts, None, Some(bollard::body_full(context_tar.into())));
        let mut log = String::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(s) = info.stream {
                        log.push_str(&s);
                    }
                    if let Some(err) = info.error_detail.and_then(|d| d.message) {
                        bail!("building {tag} failed: {err}\n{log}");
                    }
                }
                Err(e) => bail!("building {tag} failed: {}\n{log}", explain(&e)),
            }
        }
        let id = self
            .image_id(tag)
            .await?
            .ok_or_else(|| anyhow!("built {tag} but the engine does not list it"))?;
        // A rebuild moves the tag: drop the old image rather than leave it dangling.
        if let Some(old) = previous.filter(|old| *old != id) {
            self.remove_unused_image(&old).await;
        }
        Ok(id)
    }

    /// Remove an image that nothing uses any more (a previous build of a tag); an image still
    /// in use by a container stays, silently.
    pub async fn remove_unused_image(&self, id: &str) {
        let opts = bollard::query_parameters::RemoveImageOptionsBuilder::default().build();
        if let Err(e) = self.docker.remove_image(id, Some(opts), None).await {
            tracing::debug!("keeping image {id}: {}", explain(&e));
        }
    }

    /// Create a bridge network carrying `labels` (the run id among them). `private`: its
    /// containers talk to each other only (an internal network), which also means no
    /// published ports; a run whose roles are on two hosts needs both.
    pub async fn create_network(
        &self,
        name: &str,
        labels: &HashMap<String, String>,
        private: bool,
    ) -> Result<String> {
        let req = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            // ab and the servers talk to each other only: no route out of the machine. Not on
            // Podman: its internal networks drop container-to-container traffic on hosts whose
            // firewall FORWARD policy is DROP (Docker sets it), so ab never reaches a server.
            internal: Some(private && self.kind == EngineKind::Docker),
            labels: Some(labels.clone()),
            ..Default::default()
        };
        let resp = self
            .docker
            .create_network(req)
            .await
            .map_err(|e| anyhow!("creating network {name}: {}", explain(&e)))?;
        Ok(resp.id)
    }

    pub async fn remove_network(&self, id: &str) -> Result<()> {
        match self.docker.remove_network(id).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(anyhow!("removing network {id}: {}", explain(&e))),
        }
    }

    /// Create a container, copy `files` (a tar archive, unpacked at `/`) into it, then start
    /// it: how a helper binary gets into an image that has no shell to fetch it.
    pub async fn start_with_files(
        &self,
        spec: &ContainerSpec,
        files: Option<Vec<u8>>,
    ) -> Result<String> {
        let drop = spec.hardened || spec.drop_privileges;
        let host_config = HostConfig {
            // The engine refuses NanoCpus beside CpuPeriod/CpuQuota: a period of one's own
            // means the quota is given per period instead.
            nano_cpus: spec
                .cpus
                .filter(|_| spec.cpu_period_us.is_none())
                .map(|c| (c * 1e9).round() as i64),
            cpu_period: spec.cpu_period_us.filter(|_| spec.cpus.is_some()),
            cpu_quota: spec
                .cpu_period_us
                .zip(spec.cpus)
                .map(|(p, c)| (c * p as f64).round().max(1000.0) as i64),
            memory: spec.memory.map(|m| m as i64),
            // Equal to memory: no swap, so the memory limit really limits.
            memory_swap: spec.memory.map(|m| m as i64),
            pids_limit: spec.pids,
            cpuset_cpus: spec.cpuset.clone(),
            network_mode: spec.network.clone(),
            port_bindings: spec.publish.map(|p| {
                HashMap::from([(
                    format!("{p}/tcp"),
                    Some(vec![PortBinding {
                        host_ip: Some(String::new()),
                        host_port: Some(String::new()),
                    }]),
                )])
            }),
            cap_drop: drop.then(|| vec!["ALL".to_string()]),
            readonly_rootfs: spec.hardened.then_some(true),
            security_opt: drop.then(|| vec!["no-new-privileges".to_string()]),
            tmpfs: (!spec.tmpfs.is_empty()).then(|| {
                spec.tmpfs
                    .iter()
                    .map(|p| (p.clone(), "rw,nosuid,nodev,size=64m".to_string()))
                    .collect()
            }),
            ulimits: (!spec.ulimits.is_empty()).then(|| {
                spec.ulimits
                    .iter()
                    .map(|u| ResourcesUlimits {
                        name: Some(u.name.clone()),
                        soft: Some(u.value as i64),
                        hard: Some(u.value as i64),
                    })
                    .collect()
            }),
            ..Default::default()
        };
        let networking_config = spec.network.as_ref().map(|net| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                net.clone(),
                EndpointSettings {
                    aliases: Some(spec.aliases.clone()),
                    ..Default::default()
                },
            )])),
        });
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            cmd: Some(spec.cmd.clone()),
            entrypoint: spec.entrypoint.clone(),
            env: Some(spec.env.clone()),
            labels: Some(spec.labels.clone()),
            tty: Some(false),
            user: spec.user.clone(),
            exposed_ports: spec.publish.map(|p| vec![format!("{p}/tcp")]),
            host_config: Some(host_config),
            networking_config,
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::default()
            .name(&spec.name)
            .build();
        let created = self
            .docker
            .create_container(Some(opts), body)
            .await
            .map_err(|e| anyhow!("creating container {}: {}", spec.name, explain(&e)))?;
        if let Some(tar) = files {
            let opts = UploadToContainerOptionsBuilder::default().path("/").build();
            if let Err(e) = self
                .docker
                .upload_to_container(&created.id, Some(opts), bollard::body_full(tar.into()))
                .await
            {
                let _ = self.remove(&created.id).await;
                bail!(
                    "copying files into container {}: {}",
                    spec.name,
                    explain(&e)
                );
            }
        }
        if let Err(e) = self
            .docker
            .start_container(
                &created.id,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
        {
            let _ = self.remove(&created.id).await;
            bail!("starting container {}: {}", spec.name, explain(&e));
        }
        Ok(created.id)
    }

    /// Run `cmd` inside a running container and collect its output. `None` as the exit
    /// code when the exec is still running at `timeout` (the process is left to the
    /// container: callers bound their commands themselves, e.g. `lab-agent --timeout`).
    pub async fn exec(&self, id: &str, cmd: &[String], timeout: Duration) -> Result<ExecOutput> {
        let config = CreateExecOptions {
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(false),
            cmd: Some(cmd.to_vec()),
            ..Default::default()
        };
        let created = self
            .docker
            .create_exec(id, config)
            .await
            .map_err(|e| anyhow!("exec in container: {}", explain(&e)))?;
        let run = async {
            let started = self
                .docker
                .start_exec(&created.id, None::<StartExecOptions>)
                .await
                .map_err(|e| anyhow!("starting exec: {}", explain(&e)))?;
            let (mut out, mut err) = (Vec::new(), Vec::new());
            if let StartExecResults::Attached { mut output, .. } = started {
                while let Some(item) = output.next().await {
                    match item.map_err(|e| anyhow!("reading exec output: {}", explain(&e)))? {
                        bollard::container::LogOutput::StdErr { message } => {
                            err.extend_from_slice(&message)
                        }
                        bollard::container::LogOutput::StdOut { message }
                        | bollard::container::LogOutput::Console { message } => {
                            out.extend_from_slice(&message)
                        }
                        bollard::container::LogOutput::StdIn { .. } => {}
                    }
                }
            }
            let inspect = self
                .docker
                .inspect_exec(&created.id)
                .await
                .map_err(|e| anyhow!("inspecting exec: {}", explain(&e)))?;
            Ok::<_, anyhow::Error>(ExecOutput {
                stdout: String::from_utf8_lossy(&out).into_owned(),
                stderr: String::from_utf8_lossy(&err).into_owned(),
                exit_code: inspect.exit_code,
            })
        };
        match tokio::time::timeout(timeout, run).await {
            Ok(r) => r,
            Err(_) => bail!("exec did not finish within {} s", timeout.as_secs()),
        }
    }

    /// Wait for a container to stop and return its exit code, or `None` on `timeout`.
    pub async fn wait(&self, id: &str, timeout: Duration) -> Result<Option<i64>> {
        let opts = WaitContainerOptionsBuilder::default()
            .condition("not-running")
            .build();
        let wait = async {
            let mut stream = self.docker.wait_container(id, Some(opts));
            match stream.next().await {
                Some(Ok(resp)) => Ok(resp.status_code),
                // bollard reports a non-zero exit as an error carrying the code.
                Some(Err(BollardError::DockerContainerWaitError { code, .. })) => Ok(code),
                Some(Err(e)) => Err(anyhow!("waiting for container: {}", explain(&e))),
                None => Err(anyhow!("waiting for container: the stream ended")),
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(r) => r.map(Some),
            Err(_) => Ok(None),
        }
    }

    /// The container's stdout and stderr so far, as text.
    pub async fn logs(&self, id: &str) -> Result<(String, String)> {
        let opts = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .build();
        let mut stream = self.docker.logs(id, Some(opts));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        while let Some(item) = stream.next().await {
            match item.map_err(|e| anyhow!("reading logs: {}", explain(&e)))? {
                bollard::container::LogOutput::StdOut { message }
                | bollard::container::LogOutput::Console { message } => {
                    out.extend_from_slice(&message)
                }
                bollard::container::LogOutput::StdErr { message } => {
                    err.extend_from_slice(&message)
                }
                bollard::container::LogOutput::StdIn { .. } => {}
            }
        }
        Ok((
            String::from_utf8_lossy(&out).into_owned(),
            String::from_utf8_lossy(&err).into_owned(),
        ))
    }

    /// `docker inspect` of one container.
    async fn inspect(&self, id: &str) -> Result<bollard::models::ContainerInspectResponse> {
        self.docker
            .inspect_container(
                id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .map_err(|e| anyhow!("inspecting container: {}", explain(&e)))
    }

    /// Is the container still running, and if not, how did it end?
    pub async fn state(&self, id: &str) -> Result<ContainerEnd> {
        let s = self.inspect(id).await?.state.unwrap_or_default();
        Ok(ContainerEnd {
            running: s.running.unwrap_or(false),
            exit_code: s.exit_code,
            oom_killed: s.oom_killed.unwrap_or(false),
            error: s.error,
        })
    }

    /// The host pid of the container's init process (0 when not running).
    pub async fn pid(&self, id: &str) -> Result<i64> {
        Ok(self
            .inspect(id)
            .await?
            .state
            .and_then(|s| s.pid)
            .unwrap_or(0))
    }

    /// The host port the daemon chose for the container's published TCP `port`.
    pub async fn published_port(&self, id: &str, port: u16) -> Result<u16> {
        let c = self.inspect(id).await?;
        c.network_settings
            .and_then(|n| n.ports)
            .and_then(|mut ports| ports.remove(&format!("{port}/tcp")))
            .flatten()
            .into_iter()
            .flatten()
            .find_map(|b| b.host_port.and_then(|p| p.parse().ok()))
            .ok_or_else(|| anyhow!("the daemon published no host port for port {port}"))
    }

    /// The ids of every network the daemon has. Ids are random per daemon (its `none` and
    /// `host` networks get theirs when its data root is made), so two endpoints that list a
    /// common id reach one daemon; `docker info`'s ID cannot tell (daemons that share
    /// `/etc/docker/key.json` share it).
    pub async fn network_ids(&self) -> Result<std::collections::HashSet<String>> {
        let networks = self
            .docker
            .list_networks(None::<bollard::query_parameters::ListNetworksOptions>)
            .await
            .map_err(|e| anyhow!("listing networks: {}", explain(&e)))?;
        Ok(networks.into_iter().filter_map(|n| n.id).collect())
    }

    /// The gateway address of a network: the daemon host's own address on it.
    pub async fn network_gateway(&self, network: &str) -> Result<String> {
        let net = self
            .docker
            .inspect_network(
                network,
                None::<bollard::query_parameters::InspectNetworkOptions>,
            )
            .await
            .map_err(|e| anyhow!("inspecting network {network}: {}", explain(&e)))?;
        net.ipam
            .and_then(|i| i.config)
            .into_iter()
            .flatten()
            .find_map(|c| c.gateway.filter(|g| !g.is_empty()))
            .ok_or_else(|| anyhow!("network {network} has no gateway address"))
    }

    /// The container's IP address on `network`.
    pub async fn ip_on(&self, id: &str, network: &str) -> Result<String> {
        let c = self.inspect(id).await?;
        c.network_settings
            .and_then(|n| n.networks)
            .and_then(|mut nets| nets.remove(network))
            .and_then(|ep| ep.ip_address)
            .filter(|ip| !ip.is_empty())
            .ok_or_else(|| anyhow!("container has no address on network {network}"))
    }

    /// One stats snapshot (cumulative counters).
    pub async fn snapshot(&self, id: &str) -> Result<StatsSample> {
        let opts = StatsOptionsBuilder::default()
            .stream(false)
            .one_shot(true)
            .build();
        let mut stream = self.docker.stats(id, Some(opts));
        match stream.next().await {
            Some(Ok(r)) => Ok(StatsSample::from_response(&r, Instant::now())),
            Some(Err(e)) => Err(anyhow!("stats: {}", explain(&e))),
            None => Err(anyhow!("stats: no sample")),
        }
    }

    /// Sample a container's stats stream (about one sample a second) until the returned
    /// handle is stopped. Sampling never fails the run: a broken stream just ends early.
    pub fn sample(&self, id: &str) -> Sampler {
        let docker = self.docker.clone();
        let id = id.to_string();
        Sampler::spawn(|mut stop| async move {
            let opts = StatsOptionsBuilder::default().stream(true).build();
            let mut stream = docker.stats(&id, Some(opts));
            let mut samples = Vec::new();
            loop {
                tokio::select! {
                    _ = &mut stop => break,
                    item = stream.next() => match item {
                        Some(Ok(r)) => samples.push(StatsSample::from_response(&r, Instant::now())),
                        _ => break,
                    }
                }
            }
            samples
        })
    }

    /// Copy one file out of a (possibly stopped) container.
    pub async fn read_file(&self, id: &str, path: &str) -> Result<Vec<u8>> {
        let opts = DownloadFromContainerOptionsBuilder::default()
            .path(path)
            .build();
        let mut stream = self.docker.download_from_container(id, Some(opts));
        let mut tar_bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            tar_bytes.extend_from_slice(&chunk.map_err(|e| anyhow!("{}", explain(&e)))?);
        }
        let mut archive = tar::Archive::new(tar_bytes.as_slice());
        let mut entries = archive.entries()?;
        if let Some(entry) = entries.next() {
            let mut entry = entry?;
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut buf)?;
            return Ok(buf);
        }
        bail!("{path} not found in the container")
    }

    /// Stop (SIGTERM, then SIGKILL after `grace`) and remove a container.
    pub async fn stop_and_remove(&self, id: &str, grace: Duration) -> Result<()> {
        let opts = StopContainerOptionsBuilder::default()
            .t(grace.as_secs() as i32)
            .build();
        match self.docker.stop_container(id, Some(opts)).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => return Ok(()),
            // 304: already stopped.
            Err(BollardError::DockerResponseServerError {
                status_code: 304, ..
            }) => {}
            Err(e) => tracing::debug!("stop {id}: {}", explain(&e)),
        }
        self.remove(id).await
    }

    /// Remove a container at once, running or not.
    pub async fn remove(&self, id: &str) -> Result<()> {
        let opts = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        match self.docker.remove_container(id, Some(opts)).await {
            Ok(()) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            // 409: removal already in progress.
            Err(BollardError::DockerResponseServerError {
                status_code: 409, ..
            }) => Ok(()),
            Err(e) => Err(anyhow!("removing container {id}: {}", explain(&e))),
        }
    }

    /// Remove every container and network carrying the lab label for which `doomed(labels)`
    /// is true. Returns how many containers and networks were removed.
    /// The running containers of lab runs other than `own_run`: their labels and cpuset
    /// (empty: every CPU).
    pub async fn other_runs(&self, own_run: &str) -> Result<Vec<(Labels, String)>> {
        let filters = HashMap::from([
            ("label".to_string(), vec![RUN_LABEL.to_string()]),
            ("status".to_string(), vec!["running".to_string()]),
        ]);
        let containers = self
            .docker
            .list_containers(Some(
                ListContainersOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(|e| anyhow!("listing containers: {}", explain(&e)))?;
        let mut out = Vec::new();
        for c in containers {
            let labels = c.labels.unwrap_or_default();
            let (Some(id), false) = (c.id, labels.get(RUN_LABEL).is_some_and(|r| r == own_run))
            else {
                continue;
            };
            let cpuset = self
                .inspect(&id)
                .await
                .ok()
                .and_then(|i| i.host_config)
                .and_then(|h| h.cpuset_cpus)
                .unwrap_or_default();
            out.push((labels, cpuset));
        }
        Ok(out)
    }

    pub async fn sweep(&self, doomed: &(dyn Fn(&Labels) -> bool + Sync)) -> Result<(usize, usize)> {
        let filters = HashMap::from([("label".to_string(), vec![RUN_LABEL.to_string()])]);
        let containers = self
            .docker
            .list_containers(Some(
                ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(|e| anyhow!("listing containers: {}", explain(&e)))?;
        let mut removed_c = 0;
        for c in containers {
            if let (Some(id), true) = (c.id, doomed(&c.labels.unwrap_or_default())) {
                self.remove(&id).await?;
                removed_c += 1;
            }
        }
        let networks = self
            .docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(|e| anyhow!("listing networks: {}", explain(&e)))?;
        let mut removed_n = 0;
        for n in networks {
            if let (Some(id), true) = (n.id, doomed(&n.labels.unwrap_or_default())) {
                self.remove_network(&id).await?;
                removed_n += 1;
            }
        }
        Ok((removed_c, removed_n))
    }
}

/// The trait over the inherent methods above: each call boxed, nothing else.
impl Engine for Docker {
    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn kind(&self) -> EngineKind {
        self.kind
    }

    fn answers(&self) -> BoxFuture<'_, bool> {
        Box::pin(Docker::answers(self))
    }

    fn image_id<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(Docker::image_id(self, name))
    }

    fn pull<'a>(&'a self, name: &'a str, timeout: Duration) -> BoxFuture<'a, Result<()>> {
        Box::pin(Docker::pull(self, name, timeout))
    }

    fn build<'a>(
        &'a self,
        tag: &'a str,
        dockerfile: &'a str,
        context_tar: Vec<u8>,
        buildargs: &'a HashMap<String, String>,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(Docker::build(self, tag, dockerfile, context_tar, buildargs))
    }

    fn create_network<'a>(
        &'a self,
        name: &'a str,
        labels: &'a Labels,
        private: bool,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(Docker::create_network(self, name, labels, private))
    }

    fn remove_network<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(Docker::remove_network(self, id))
    }

    fn network_gateway<'a>(&'a self, network: &'a str) -> BoxFuture<'a, Result<String>> {
        Box::pin(Docker::network_gateway(self, network))
    }

    fn start<'a>(
        &'a self,
        spec: &'a ContainerSpec,
        files: Option<Vec<u8>>,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(Docker::start_with_files(self, spec, files))
    }

    fn exec<'a>(
        &'a self,
        id: &'a str,
        cmd: &'a [String],
        timeout: Duration,
    ) -> BoxFuture<'a, Result<ExecOutput>> {
        Box::pin(Docker::exec(self, id, cmd, timeout))
    }

    fn wait<'a>(&'a self, id: &'a str, timeout: Duration) -> BoxFuture<'a, Result<Option<i64>>> {
        Box::pin(Docker::wait(self, id, timeout))
    }

    fn logs<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(String, String)>> {
        Box::pin(Docker::logs(self, id))
    }

    fn state<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<ContainerEnd>> {
        Box::pin(Docker::state(self, id))
    }

    fn pid<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<i64>> {
        Box::pin(Docker::pid(self, id))
    }

    fn published_port<'a>(&'a self, id: &'a str, port: u16) -> BoxFuture<'a, Result<u16>> {
        Box::pin(Docker::published_port(self, id, port))
    }

    fn ip_on<'a>(&'a self, id: &'a str, network: &'a str) -> BoxFuture<'a, Result<String>> {
        Box::pin(Docker::ip_on(self, id, network))
    }

    fn snapshot<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<StatsSample>> {
        Box::pin(Docker::snapshot(self, id))
    }

    fn sample(&self, id: &str) -> Sampler {
        Docker::sample(self, id)
    }

    fn stop_and_remove<'a>(&'a self, id: &'a str, grace: Duration) -> BoxFuture<'a, Result<()>> {
        Box::pin(Docker::stop_and_remove(self, id, grace))
    }

    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(Docker::remove(self, id))
    }

    fn other_runs<'a>(&'a self, own_run: &'a str) -> BoxFuture<'a, Result<Vec<(Labels, String)>>> {
        Box::pin(Docker::other_runs(self, own_run))
    }

    fn sweep<'a>(
        &'a self,
        doomed: &'a (dyn Fn(&Labels) -> bool + Sync),
    ) -> BoxFuture<'a, Result<(usize, usize)>> {
        Box::pin(Docker::sweep(self, doomed))
    }
}

/// A bollard client for `endpoint` (lazy: nothing is sent yet).
fn client(endpoint: &Endpoint) -> std::result::Result<Client, String> {
    let host = endpoint.host.as_str();
    let scheme = host.split_once("://").map_or("", |(s, _)| s);
    let (t, v) = (REQUEST_TIMEOUT_S, API_DEFAULT_VERSION);
    let made = match (scheme, &endpoint.tls) {
        ("unix", _) => Client::connect_with_unix(host, t, v),
        ("tcp" | "https", Some(tls)) => {
            Client::connect_with_ssl(host, &tls.key, &tls.cert, &tls.ca, t, v)
        }
        ("tcp" | "http", None) => Client::connect_with_http(host, t, v),
        ("https", None) => {
            return Err("https:// needs TLS files: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH, \
                 or use a Docker context that has them"
                .into())
        }
        // bollard runs the system's `ssh` (with its config, agent and known hosts) and
        // speaks the API over `docker system dial-stdio` on the far side, as the CLI does.
        ("ssh", _) => Client::connect_with_ssh(host, t, v, None),
        _ => {
            return Err(format!(
                "unsupported address `{host}`; use unix://, tcp:// (with TLS files for TLS), ssh:// or a Docker context"
            ))
        }
    };
    made.map_err(|e| explain(&e))
}

/// `httpd:2.4` → (`httpd`, `2.4`); `repo/x` → (`repo/x`, `latest`). A registry port is not a tag.
fn split_tag(name: &str) -> (&str, &str) {
    match name.rsplit_once(':') {
        Some((image, tag)) if !tag.contains('/') => (image, tag),
        _ => (name, "latest"),
    }
}
