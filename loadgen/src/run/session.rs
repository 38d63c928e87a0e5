//! The load generator session: one long-lived container per run (per load generator
//! cpuset) in which every cell, probe and warm-up runs through `docker exec`.
//!
//! Starting a container per cell cost ~0.5–1 s and, worse, hid ab's resource use: the
//! container was gone before its counters could be read. A container that lives for the
//! run has cumulative cgroup counters that can be read before and after each cell, and
//! `lab-agent` (copied in before start, see `agent/`) runs ab as its child and reports ab's
//! exact CPU time. Any image with `ab` on its PATH works: the agent needs no shell.

use std::collections::HashMap;
use std::time::Duration;

use agent::{Fetch, RunReport};
use anyhow::{anyhow, Context, Result};

use super::counters::Counters;
use super::{unique_name, Ctx};
use crate::engine::{ContainerSpec, StatsSample};
use crate::images::AGENT_PATH;

/// Slack on top of the agent's own `--timeout` before the lab stops waiting for an exec.
const EXEC_SLACK: Duration = Duration::from_secs(30);
/// Limits of the load generator container besides its CPU limit: ab holds a few KiB per
/// connection, so even c = 20000 fits; the pids limit bounds a runaway.
pub const LOADGEN_MEMORY: u64 = 1 << 30;
pub const LOADGEN_PIDS: i64 = 256;

/// A running load generator container.
pub struct Session {
    /// Which load generator host it runs on: 0 the first, `i` `ctx.loadgen_also[i - 1]`.
    pub host: usize,
    pub container: String,
    pub cpuset: Option<String>,
    pub counters: Counters,
    /// The other lab runs seen on the CPUs at the end of the last cell (its CPU sets, when,
    /// and who): the next cell's "before", when it starts right after (see
    /// `measure::neighbours`). Saves one container listing per cell.
    pub last_neighbours: std::sync::Mutex<Option<SeenNeighbours>>,
    /// Per point (see `measure::point_key`), the length its cells run when the policy's
    /// was too short for its requests' latency: learnt from the point's first cell, so
    /// its later repetitions are not measured twice.
    pub lengths: std::sync::Mutex<HashMap<String, f64>>,
}

/// When the agent starts a run's tools.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Start {
    /// As soon as it can.
    Now,
    /// Within this fraction of a second (`lab-agent --start-between LO HI`).
    Between(f64, f64),
    /// At this wall-clock time, Unix seconds (`lab-agent --start-at`).
    At(f64),
}

/// One look for other lab runs on a cell's CPUs.
#[derive(Debug, Clone)]
pub struct SeenNeighbours {
    pub cpusets: [Option<String>; 2],
    pub at: std::time::Instant,
    pub runs: Vec<String>,
}

/// The running sessions of a run, one per cpuset, created on first use.
#[derive(Default)]
pub struct Sessions {
    by_cpuset: HashMap<Option<String>, Session>,
}

impl Sessions {
    /// The session for `cpuset`, starting it if needed.
    pub async fn get(&mut self, ctx: &Ctx<'_>, cpuset: Option<&str>) -> Result<&Session> {
        let key = cpuset.map(str::to_string);
        if !self.by_cpuset.contains_key(&key) {
            let session = Session::start(ctx, 0, cpuset).await?;
            self.by_cpuset.insert(key.clone(), session);
        }
        Ok(&self.by_cpuset[&key])
    }

    pub async fn stop_all(self, ctx: &Ctx<'_>) {
        stop(ctx, self.by_cpuset.into_values()).await;
    }
}

/// Stop and remove `sessions`, on the daemons that still answer (nothing can be removed
/// from one that went away; the run's end says so once).
pub async fn stop(ctx: &Ctx<'_>, sessions: impl IntoIterator<Item = Session>) {
    for s in sessions {
        let engine = s.engine(ctx);
        if !engine.answers().await {
            continue;
        }
        if let Err(e) = engine
            .stop_and_remove(&s.container, Duration::from_secs(2))
            .await
        {
            tracing::warn!("{e:#}");
        }
    }
}

/// A session on every load generator host after the first (`hosts.loadgen` as a list), in
/// their order: not pinned (`pin` places the first host's CPUs), each under `loadgen.cpus`.
pub async fn start_also(ctx: &Ctx<'_>) -> Result<Vec<Session>> {
    let mut sessions = Vec::new();
    for host in 1..=ctx.loadgen_also.len() {
        match Session::start(ctx, host, None).await {
            Ok(s) => sessions.push(s),
            Err(e) => {
                stop(ctx, sessions).await;
                return Err(e);
            }
        }
    }
    Ok(sessions)
}

impl Session {
    /// The daemon of the host the session runs on.
    pub fn engine<'c>(&self, ctx: &Ctx<'c>) -> &'c dyn crate::engine::Engine {
        ctx.loadgen_side(self.host).engine
    }

    async fn start(ctx: &Ctx<'_>, host: usize, cpuset: Option<&str>) -> Result<Session> {
        let side = ctx.loadgen_side(host);
        let mut labels = ctx.labels.clone();
        labels.insert("lab.role".into(), "loadgen".into());
        let spec = ContainerSpec {
            name: unique_name(&format!("lab-{}-loadgen", ctx.run.id)),
            image: ctx.loadgen_image(host).to_string(),
            entrypoint: Some(vec![AGENT_PATH.into()]),
            cmd: vec!["idle".into()],
            labels,
            network: Some(side.network.to_string()),
            cpus: ctx.lab.loadgen.cpus,
            memory: Some(LOADGEN_MEMORY),
            pids: Some(LOADGEN_PIDS),
            cpuset: cpuset.map(str::to_string),
            // No capabilities and no root: ab needs neither. The root file system stays
            // writable because the agent is copied in before start (Docker refuses to copy
            // into a read-only root).
            user: Some("65534:65534".into()),
            drop_privileges: true,
            ulimits: ctx.ulimits.to_vec(),
            ..Default::default()
        };
        let container = side
            .engine
            .start(&spec, Some(ctx.agent_archive.to_vec()))
            .await
            .with_context(|| match host {
                0 => "starting the load generator container".to_string(),
                _ => format!(
                    "starting the load generator container on {}",
                    side.engine.endpoint()
                ),
            })?;
        let counters = Counters::locate(side.engine, &container).await;
        Ok(Session {
            host,
            last_neighbours: std::sync::Mutex::new(None),
            lengths: std::sync::Mutex::new(HashMap::new()),
            container,
            cpuset: cpuset.map(str::to_string),
            counters,
        })
    }

    /// Run `command` (the tool and its arguments) through the agent: scrape `scrapes` just
    /// before and after, collect `collect` files, kill the tool after `timeout`.
    pub async fn run_tool(
        &self,
        ctx: &Ctx<'_>,
        command: &[String],
        scrapes: &[String],
        collect: &[&str],
        timeout: Duration,
    ) -> Result<RunReport> {
        let commands = [command.to_vec()];
        self.run_tool_aligned(ctx, &commands, scrapes, collect, timeout, Start::Now)
            .await
    }

    /// [`Session::run_tool`], started when `start` says: how a timed cell gets whole
    /// seconds of steady load, and how several hosts start one cell together. Several
    /// commands are several processes started together (`lab-agent run -- A --and B`).
    pub async fn run_tool_aligned(
        &self,
        ctx: &Ctx<'_>,
        commands: &[Vec<String>],
        scrapes: &[String],
        collect: &[&str],
        timeout: Duration,
        start: Start,
    ) -> Result<RunReport> {
        let mut cmd = vec![AGENT_PATH.to_string(), "run".into()];
        match start {
            Start::Now => {}
            Start::Between(lo, hi) => cmd.extend([
                "--start-between".to_string(),
                lo.to_string(),
                hi.to_string(),
            ]),
            Start::At(at) => cmd.extend(["--start-at".to_string(), format!("{at:.6}")]),
        }
        for url in scrapes {
            cmd.extend(["--scrape".to_string(), url.clone()]);
        }
        for path in collect {
            cmd.extend(["--collect".to_string(), path.to_string()]);
        }
        cmd.extend(["--timeout".to_string(), timeout.as_secs().to_string()]);
        for (i, command) in commands.iter().enumerate() {
            cmd.push(if i == 0 { "--" } else { "--and" }.into());
            cmd.extend(command.iter().cloned());
        }
        let out = self
            .engine(ctx)
            .exec(&self.container, &cmd, timeout + EXEC_SLACK)
            .await?;
        serde_json::from_str(out.stdout.trim()).map_err(|e| {
            anyhow!(
                "lab-agent gave no report (exit code {}): {}",
                out.exit_code.map_or("unknown".into(), |c| c.to_string()),
                super::last_line(&out.stderr)
                    .or_else(|| super::last_line(&out.stdout))
                    .unwrap_or_else(|| e.to_string())
            )
        })
    }

    /// One GET from inside the load generator container, retrying refused connections for
    /// up to `wait` (a server that is still starting).
    pub async fn get(&self, ctx: &Ctx<'_>, url: &str, wait: Duration) -> Result<Fetch> {
        let cmd: Vec<String> = vec![
            AGENT_PATH.into(),
            "get".into(),
            "--wait".into(),
            wait.as_secs_f64().to_string(),
            url.into(),
        ];
        let out = self
            .engine(ctx)
            .exec(&self.container, &cmd, wait + EXEC_SLACK)
            .await?;
        serde_json::from_str(out.stdout.trim())
            .with_context(|| format!("lab-agent get {url}: {}", out.stderr.trim()))
    }

    /// The CPU model of the load generator's host, as `lab-agent cpu-model` reads it there.
    pub async fn cpu_model(&self, ctx: &Ctx<'_>) -> String {
        let cmd = [AGENT_PATH.to_string(), "cpu-model".into()];
        match self
            .engine(ctx)
            .exec(&self.container, &cmd, EXEC_SLACK)
            .await
        {
            Ok(out) if out.exit_code == Some(0) => out.stdout.trim().to_string(),
            Ok(out) => format!("unknown ({})", out.stderr.trim()),
            Err(e) => format!("unknown ({e:#})"),
        }
    }

    /// The load generator container's cumulative counters.
    pub async fn read_counters(&self, ctx: &Ctx<'_>) -> Result<StatsSample> {
        self.counters.read(self.engine(ctx), &self.container).await
    }
}
