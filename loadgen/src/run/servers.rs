//! The server pool: start each server of a resource group in its own container with its
//! limits, wait until it answers, verify every workload path answers 2xx, warm it up,
//! replace it when it dies, and stop it when the group is done.
//!
//! One server container serves all cells of its group (not one per cell): that is how a
//! server lives in production, and it keeps a run short. A server that dies (OOM, crash)
//! fails the cell it died in and is started afresh for the next one.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{anyhow, Result};

use super::counters::Counters;
use super::session::Session;
use super::{last_line, unique_name, Ctx, Reach};
use crate::config::{self, Instance, ServerSource};
use crate::engine::ContainerSpec;
use crate::images::AGENT_PATH;
use crate::metrics;
use crate::record::ServerFailure;
use crate::tool::{Amount, Load};
use agent::Fetch;

/// How long a server may take to answer its first request.
const READY_DEADLINE: Duration = Duration::from_secs(30);
/// How long each try of the first request waits before the container's state is checked.
const READY_STEP: Duration = Duration::from_secs(1);
/// Bound on a warm-up run.
const WARMUP_DEADLINE: Duration = Duration::from_secs(300);

/// A started, verified server container.
#[derive(Debug, Clone)]
pub struct LiveServer {
    pub container: String,
    pub ip: String,
    pub port: u16,
    /// Where each load generator host after the first connects to it (`hosts.loadgen` as a
    /// list): its address and port by that host's own route.
    pub also: Vec<(String, u16)>,
    /// The server answered its metrics endpoint when verified (built-in models do).
    pub metrics: bool,
    pub counters: Counters,
}

impl LiveServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}:{}{}", self.ip, self.port, path)
    }

    /// [`LiveServer::url`] from load generator host `host` (0 the first).
    pub fn url_from(&self, host: usize, path: &str) -> String {
        match host.checked_sub(1).and_then(|i| self.also.get(i)) {
            Some((ip, port)) => format!("http://{ip}:{port}{path}"),
            None => self.url(path),
        }
    }

    /// Where the lab scrapes the server's own counters, when it has them.
    pub fn metrics_url(&self) -> Option<String> {
        self.metrics.then(|| self.url("/metrics"))
    }
}

/// The servers of one group: instance index → the live server or why there is none.
pub struct Pool {
    group: usize,
    cpuset: Option<String>,
    live: HashMap<usize, Result<LiveServer, String>>,
}

impl Pool {
    /// Start every instance of `group`. An instance that cannot start is recorded (and
    /// returned as a failure); its cells will fail with the reason.
    pub async fn start(
        ctx: &Ctx<'_>,
        session: &Session,
        group: &config::Group,
        cpuset: Option<String>,
        image_failures: &HashMap<usize, String>,
    ) -> (Pool, Vec<ServerFailure>) {
        let mut pool = Pool {
            group: group.index,
            cpuset,
            live: HashMap::new(),
        };
        let mut failures = Vec::new();
        for (i, inst) in group.instances.iter().enumerate() {
            let server = &ctx.lab.servers[inst.server];
            let started = match image_failures.get(&inst.server) {
                Some(reason) => Err(reason.clone()),
                None => pool.start_one(ctx, session, inst).await,
            };
            if let Err(reason) = &started {
                tracing::error!("server {} ({}): {reason}", server.name, group.label);
                failures.push(ServerFailure {
                    server: server.name.clone(),
                    group: group.index,
                    reason: reason.clone(),
                });
            }
            pool.live.insert(i, started);
        }
        (pool, failures)
    }

    async fn start_one(
        &self,
        ctx: &Ctx<'_>,
        session: &Session,
        inst: &Instance,
    ) -> Result<LiveServer, String> {
        start_server(ctx, session, self.group, inst, self.cpuset.as_deref())
            .await
            .map_err(|e| format!("{e:#}"))
    }

    /// The live server of instance `i`, or why there is none.
    pub fn get(&self, i: usize) -> Result<&LiveServer, &str> {
        match self.live.get(&i) {
            Some(Ok(s)) => Ok(s),
            Some(Err(e)) => Err(e),
            None => Err("not started"),
        }
    }

    /// Replace instance `i`, which `ended` (e.g. "exited with code 137 (OOM-killed)").
    pub async fn restart(
        &mut self,
        ctx: &Ctx<'_>,
        session: &Session,
        i: usize,
        inst: &Instance,
        ended: &str,
    ) {
        if let Some(Ok(old)) = self.live.get(&i) {
            let _ = ctx.servers.engine.remove(&old.container).await;
        }
        tracing::warn!(
            "server {} {ended}; starting a fresh container",
            ctx.lab.servers[inst.server].name
        );
        let fresh = self
            .start_one(ctx, session, inst)
            .await
            .map_err(|e| format!("restart after it {ended}: {e}"));
        self.live.insert(i, fresh);
    }

    pub async fn stop_all(self, ctx: &Ctx<'_>) {
        // Nothing can be removed from a daemon that went away; the run's end says so once.
        if !ctx.servers.engine.answers().await {
            return;
        }
        for srv in self.live.into_values().flatten() {
            if let Err(e) = ctx
                .servers
                .engine
                .stop_and_remove(&srv.container, Duration::from_secs(5))
                .await
            {
                tracing::warn!("{e:#}");
            }
        }
    }
}

/// Start one server container with its limits, wait until it answers, verify every
/// workload path answers 2xx, and warm it up.
async fn start_server(
    ctx: &Ctx<'_>,
    session: &Session,
    group: usize,
    inst: &Instance,
    cpuset: Option<&str>,
) -> Result<LiveServer> {
    let server = &ctx.lab.servers[inst.server];
    let spec = server_spec(ctx, group, inst, cpuset);
    let container = ctx.servers.engine.start(&spec, None).await?;
    let found = async {
        let first = reach(ctx, ctx.reach, &container, server.port).await?;
        let mut also = Vec::new();
        for a in &ctx.loadgen_also {
            also.push(reach(ctx, &a.reach, &container, server.port).await?);
        }
        anyhow::Ok((first, also))
    };
    let ((ip, port), also) = match found.await {
        Ok(found) => found,
        Err(e) => {
            // A server that exits at once loses its address before we ask for it: say how
            // it ended, not that it has no address.
            let err = match ctx.servers.engine.state(&container).await {
                Ok(end) if !end.running => anyhow!("the server container {}", end.describe()),
                _ => e,
            };
            return Err(give_up(ctx, &container, err).await);
        }
    };
    let counters = Counters::locate(ctx.servers.engine, &container).await;
    let mut srv = LiveServer {
        container,
        ip,
        port,
        also,
        metrics: false,
        counters,
    };
    match verify(ctx, session, &srv).await {
        Ok(metrics) => srv.metrics = metrics,
        Err(e) => return Err(give_up(ctx, &srv.container, e).await),
    }
    if let Err(e) = verify_also(ctx, &srv).await {
        return Err(give_up(ctx, &srv.container, e).await);
    }
    warm_up(ctx, session, server, &srv).await?;
    tracing::info!(
        "server {} up at {}:{} (cpus {}, memory {}{})",
        server.name,
        srv.ip,
        srv.port,
        inst.cpus,
        config::format_memory(inst.memory),
        if srv.metrics {
            ", metrics endpoint"
        } else {
            ""
        }
    );
    Ok(srv)
}

fn server_spec(
    ctx: &Ctx<'_>,
    group: usize,
    inst: &Instance,
    cpuset: Option<&str>,
) -> ContainerSpec {
    let server = &ctx.lab.servers[inst.server];
    // The built-in models need nothing; an image server gets a writable /tmp, and its
    // own privileges only when the lab file says `hardening: false`.
    let (image, hardened, tmpfs) = match &server.source {
        ServerSource::Model(m) => (m.image().to_string(), true, vec![]),
        ServerSource::Image(i) => (i.clone(), server.hardening, vec!["/tmp".to_string()]),
    };
    let mut env: Vec<String> = server
        .env
        .iter()
        .map(|(k, v)| format!("{k}={}", v.value))
        .collect();
    if matches!(server.source, ServerSource::Model(_)) {
        env.push(format!("SERVER_PORT={}", server.port));
    }
    let mut labels = ctx.labels.clone();
    labels.insert("lab.role".into(), "server".into());
    ContainerSpec {
        name: unique_name(&format!("lab-{}-{}-g{group}", ctx.run.id, server.name)),
        image,
        cmd: server.args.clone(),
        env,
        labels,
        network: Some(ctx.servers.network.to_string()),
        aliases: vec![server.name.clone()],
        // Published when any load generator host reaches the servers from another daemon.
        publish: std::iter::once(ctx.reach)
            .chain(ctx.loadgen_also.iter().map(|a| &a.reach))
            .any(|r| matches!(r, Reach::Published { .. }))
            .then_some(server.port),
        cpus: Some(inst.cpus),
        memory: Some(inst.memory),
        pids: inst.pids,
        cpuset: cpuset.map(str::to_string),
        hardened,
        tmpfs: if hardened { tmpfs } else { vec![] },
        ulimits: ctx.ulimits.to_vec(),
        ..Default::default()
    }
}

/// Where a load generator host whose route is `route` connects to a started server: its
/// address on the shared network and its own port (one host), or the servers' host address
/// and the port Docker published it on (two hosts).
async fn reach(ctx: &Ctx<'_>, route: &Reach, container: &str, port: u16) -> Result<(String, u16)> {
    match route {
        Reach::Network => Ok((
            ctx.servers
                .engine
                .ip_on(container, ctx.servers.network)
                .await?,
            port,
        )),
        Reach::Published { address } => Ok((
            address.clone(),
            ctx.servers.engine.published_port(container, port).await?,
        )),
    }
}

/// The CPU model of the servers' host (on another machine than the load generator): a
/// one-shot container of `image` runs `lab-agent cpu-model` there.
pub async fn host_cpu_model(ctx: &Ctx<'_>, image: &str) -> String {
    let engine = ctx.servers.engine;
    let mut labels = ctx.labels.clone();
    labels.insert("lab.role".into(), "probe".into());
    let spec = ContainerSpec {
        name: unique_name(&format!("lab-{}-cpu-model", ctx.run.id)),
        image: image.to_string(),
        entrypoint: Some(vec![AGENT_PATH.into()]),
        cmd: vec!["cpu-model".into()],
        labels,
        network: Some(ctx.servers.network.to_string()),
        user: Some("65534:65534".into()),
        drop_privileges: true,
        ..Default::default()
    };
    let read = async {
        let id = engine
            .start(&spec, Some(ctx.agent_archive.to_vec()))
            .await?;
        let _ = engine.wait(&id, Duration::from_secs(30)).await;
        let (out, _) = engine.logs(&id).await.unwrap_or_default();
        let _ = engine.remove(&id).await;
        anyhow::Ok(out.trim().to_string())
    };
    read.await.unwrap_or_else(|e| format!("unknown ({e:#})"))
}

/// Remove a server that failed to come up; the error gains its last log line.
async fn give_up(ctx: &Ctx<'_>, container: &str, err: anyhow::Error) -> anyhow::Error {
    let (_, stderr) = ctx.servers.engine.logs(container).await.unwrap_or_default();
    let _ = ctx.servers.engine.remove(container).await;
    if let Some(t) = error_line(&stderr) {
        return anyhow!("{err:#}; its error: {t}");
    }
    match last_line(&stderr) {
        Some(t) => anyhow!("{err:#}; its last log line: {t}"),
        None => err,
    }
}

/// The line of a dead server's log that says why: its first `error…` line (clap prints
/// the error first, then a usage hint and `For more information, try '--help'.`), or a
/// Rust panic message.
fn error_line(log: &str) -> Option<String> {
    log.lines()
        .map(str::trim)
        .find(|l| {
            let lower = l.to_ascii_lowercase();
            lower.starts_with("error") || lower.contains("panicked at")
        })
        .map(|l| l.chars().filter(|c| !c.is_control()).take(300).collect())
}

/// The first GET of a server: tried for [`READY_STEP`] at a time, and between tries its
/// container is asked whether it still runs, so a server that exits at start (a bad flag)
/// is noticed within a step instead of after [`READY_DEADLINE`].
async fn first_get(
    ctx: &Ctx<'_>,
    session: &Session,
    srv: &LiveServer,
    path: &str,
) -> Result<Fetch> {
    let started = std::time::Instant::now();
    loop {
        let fetch = session.get(ctx, &srv.url(path), READY_STEP).await?;
        if fetch.status.is_some() || started.elapsed() >= READY_DEADLINE {
            return Ok(fetch);
        }
        let end = ctx.servers.engine.state(&srv.container).await?;
        if !end.running {
            return Err(anyhow!("the server container {}", end.describe()));
        }
    }
}

/// GET the first workload path from every load generator host after the first, by its own
/// route, and require 2xx: a host that cannot reach the server fails it here, once, not
/// every cell.
async fn verify_also(ctx: &Ctx<'_>, srv: &LiveServer) -> Result<()> {
    let Some(w) = ctx.lab.workloads.first() else {
        return Ok(());
    };
    for (i, session) in ctx.also_sessions.iter().enumerate() {
        let url = srv.url_from(i + 1, &w.path);
        let fetch = session.get(ctx, &url, READY_STEP).await?;
        match fetch.status {
            Some(status) if (200..300).contains(&status) => {}
            status => {
                return Err(anyhow!(
                    "verification failed: the load generator on {} got {} for GET {url}",
                    session.engine(ctx).endpoint(),
                    status.map_or_else(
                        || format!("no answer ({})", fetch.error.unwrap_or_default()),
                        |s| format!("HTTP {s}")
                    )
                ))
            }
        }
    }
    Ok(())
}

/// GET every workload path from the load generator container (the path ab will take) and
/// require 2xx; the first GET waits for the server to start listening. Returns whether the
/// server has a metrics endpoint the lab can read.
async fn verify(ctx: &Ctx<'_>, session: &Session, srv: &LiveServer) -> Result<bool> {
    for (i, w) in ctx.lab.workloads.iter().enumerate() {
        let fetch = if i == 0 {
            first_get(ctx, session, srv, &w.path).await?
        } else {
            session.get(ctx, &srv.url(&w.path), Duration::ZERO).await?
        };
        match fetch.status {
            Some(status) if (200..300).contains(&status) => {}
            Some(status) => {
                return Err(anyhow!(
                    "verification failed: GET {} answered HTTP {status}",
                    w.path
                ))
            }
            None => {
                let end = ctx.servers.engine.state(&srv.container).await?;
                if !end.running {
                    return Err(anyhow!("the server container {}", end.describe()));
                }
                return Err(anyhow!(
                    "verification failed: GET {} got no answer: {}",
                    w.path,
                    fetch.error.unwrap_or_default()
                ));
            }
        }
    }
    let scrape = session
        .get(ctx, &srv.url("/metrics"), Duration::ZERO)
        .await?;
    Ok(scrape.status == Some(200) && metrics::parse(&scrape.body).requests_total.is_some())
}

/// Send `warmup` requests to every workload path and discard the results.
async fn warm_up(
    ctx: &Ctx<'_>,
    session: &Session,
    server: &config::Server,
    srv: &LiveServer,
) -> Result<()> {
    if ctx.lab.warmup == 0 {
        return Ok(());
    }
    for w in &ctx.lab.workloads {
        let url = srv.url(&w.path);
        let cmd = ctx.lab.loadgen.tool.driver().command(&Load {
            amount: Amount::Requests(ctx.lab.warmup),
            rate: None,
            concurrency: ctx.lab.warmup.min(10) as u32,
            timeout_s: 10,
            keepalive: false,
            url: &url,
            percentiles: false,
            per_request: false,
        });
        let report = session
            .run_tool(ctx, &cmd, &[], &[], WARMUP_DEADLINE)
            .await?;
        if report.exit_code != Some(0) {
            tracing::warn!(
                "warm-up of {} on {} ended with {}",
                server.name,
                w.path,
                super::describe_exit(&report)
            );
        }
    }
    Ok(())
}
