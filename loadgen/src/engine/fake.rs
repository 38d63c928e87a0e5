//! An in-memory [`Engine`] for tests: containers and networks are entries in a map, every
//! call is written to a log, and a script says what goes wrong (a server that dies in a
//! cell, a container that will not start, an exec that fails, a Ctrl-C in the middle of a
//! cell). Like hyperfine's `MockExecutor`, it lets the run loop be tested without a daemon.
//!
//! It plays `lab-agent` inside the load generator container: `get` answers 200 (404 for
//! `/metrics`), `cpu-model` names a CPU, and `run` answers with a captured ab report whose
//! rate the script chooses per server. A cell is a `run` whose command names a URL; the
//! URL's address says which server it measured.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use futures_util::future::BoxFuture;

use super::{
    ContainerEnd, ContainerSpec, Engine, EngineKind, ExecOutput, Labels, Sampler, StatsSample,
    Throttling, RUN_LABEL,
};
use crate::endpoint::{Endpoint, Source};

/// A captured ab report (1000 requests, 10 connections); its rate is replaced per cell.
const AB_REPORT: &str = include_str!("../../tests/fixtures/ab/plain-200-n1000-c10-quiet.txt");
const AB_RATE: &str = "3353.71";

/// The fake engine. Share it as `Arc<Fake>`: the test keeps one handle to script and
/// inspect it, the run gets another as `Arc<dyn Engine>`. Script it before the run starts.
pub struct Fake {
    endpoint: Endpoint,
    state: Mutex<State>,
    /// Resolved when the script's Ctrl-C fires (see [`Fake::cancel_in_cell`]).
    cancelled: tokio::sync::Notify,
    /// The servers' engine, when it is another one (see [`Fake::reaches`]).
    servers: std::sync::OnceLock<Arc<Fake>>,
}

#[derive(Default)]
struct State {
    next_id: u32,
    containers: BTreeMap<String, Container>,
    /// Network name → its labels.
    networks: BTreeMap<String, Labels>,
    log: Vec<String>,
    /// The server (its first alias) each cell measured, in order.
    cells: Vec<String>,
    /// Container starts so far, by `lab.role`.
    starts: HashMap<String, u32>,
    /// The engine went away: every call fails, `answers` says no.
    gone: bool,
    script: Script,
}

#[derive(Default)]
struct Script {
    /// Server name → its `n`-th cell (1-based, over the whole run) kills it.
    die_in_cell: HashMap<String, u32>,
    /// Server name → (exit code, last log line): it exits as soon as it starts.
    exit_at_start: HashMap<String, (i64, String)>,
    /// (role, n): the `n`-th start of a container of that role fails.
    fail_start: Option<(String, u32)>,
    /// The `n`-th cell's exec fails.
    fail_exec: Option<u32>,
    /// The `n`-th cell never ends, and Ctrl-C is pressed while it runs.
    cancel_in_cell: Option<u32>,
    /// The engine goes away during the `n`-th cell.
    gone_in_cell: Option<u32>,
    /// Server name → the req/s of its cells, in turn, over and over.
    rates: HashMap<String, Vec<f64>>,
    /// Server name → how long each of its requests takes, ms (default 1).
    latency_ms: HashMap<String, u64>,
}

impl State {
    /// Fails once the engine went away, as every call to a stopped daemon does.
    fn check(&self) -> Result<()> {
        match self.gone {
            true => bail!("error sending request: Cannot connect to the Docker daemon"),
            false => Ok(()),
        }
    }
}

struct Container {
    spec: ContainerSpec,
    ip: String,
    end: ContainerEnd,
    /// The last line it logged.
    said: String,
    /// The host port its published port got.
    published: Option<u16>,
    stats_reads: u64,
}

impl Container {
    fn server(&self) -> String {
        self.spec.aliases.first().cloned().unwrap_or_default()
    }

    /// Whether `url` reaches this container: at its address on the network, or at the
    /// port it published (on another fake engine's host).
    fn answers(&self, url: &str) -> bool {
        let authority = url.trim_start_matches("http://").split('/').next();
        let (host, port) = authority
            .and_then(|a| a.rsplit_once(':'))
            .unwrap_or_default();
        host == self.ip || (self.published.is_some() && port.parse().ok() == self.published)
    }
}

impl Default for Fake {
    fn default() -> Self {
        Fake::new()
    }
}

impl Fake {
    pub fn new() -> Fake {
        Fake::named("engine")
    }

    /// A fake engine at `fake://<name>`: two names are two daemons.
    pub fn named(name: &str) -> Fake {
        Fake {
            endpoint: Endpoint {
                host: format!("fake://{name}"),
                tls: None,
                source: Source::Setting("the fake engine".into()),
            },
            state: Mutex::default(),
            cancelled: tokio::sync::Notify::new(),
            servers: std::sync::OnceLock::new(),
        }
    }

    /// This engine runs the load generator, and `servers` (another fake) the servers it
    /// reaches at their published ports. A cell is counted and scripted by the engine that
    /// runs its server.
    pub fn reaches(&self, servers: Arc<Fake>) {
        let _ = self.servers.set(servers);
    }

    /// The engine whose container answers at `url`: this one, or the servers' engine.
    fn holder(&self, url: &str) -> &Fake {
        let here = self.state().containers.values().any(|c| c.answers(url));
        match self.servers.get() {
            Some(servers) if !here => servers,
            _ => self,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The server named `server` dies (OOM-killed) during its `n`-th cell.
    pub fn die_in_cell(&self, server: &str, n: u32) {
        self.state().script.die_in_cell.insert(server.into(), n);
    }

    /// The server named `server` exits with `code` as soon as it starts, saying `line`.
    pub fn exit_at_start(&self, server: &str, code: i64, line: &str) {
        let end = (code, line.to_string());
        self.state().script.exit_at_start.insert(server.into(), end);
    }

    /// The `n`-th start of a container whose `lab.role` is `role` fails.
    pub fn fail_start(&self, role: &str, n: u32) {
        self.state().script.fail_start = Some((role.into(), n));
    }

    /// The exec of the `n`-th cell fails.
    pub fn fail_exec_in_cell(&self, n: u32) {
        self.state().script.fail_exec = Some(n);
    }

    /// The engine goes away (its daemon stops) during the `n`-th cell.
    pub fn go_away_in_cell(&self, n: u32) {
        self.state().script.gone_in_cell = Some(n);
    }

    /// Ctrl-C during the `n`-th cell, which never ends by itself.
    pub fn cancel_in_cell(&self, n: u32) {
        self.state().script.cancel_in_cell = Some(n);
    }

    /// The req/s the cells of `server` report, in turn, over and over (default 1000).
    pub fn rates(&self, server: &str, rates: &[f64]) {
        self.state()
            .script
            .rates
            .insert(server.into(), rates.to_vec());
    }

    /// Every request to `server` takes `ms` (in the per-request file of a timed ab).
    pub fn latency(&self, server: &str, ms: u64) {
        self.state().script.latency_ms.insert(server.into(), ms);
    }

    /// Resolves when the scripted Ctrl-C fires.
    pub async fn cancelled(&self) {
        self.cancelled.notified().await
    }

    /// Every call so far, one line each (`start lab-…`, `exec …`, `remove …`).
    pub fn log(&self) -> Vec<String> {
        self.state().log.clone()
    }

    /// The server each cell measured, in order.
    pub fn cells(&self) -> Vec<String> {
        self.state().cells.clone()
    }

    /// Containers started so far with this `lab.role`.
    pub fn starts(&self, role: &str) -> u32 {
        self.state().starts.get(role).copied().unwrap_or(0)
    }

    /// What is left: the names of containers and networks not removed.
    pub fn leftovers(&self) -> Vec<String> {
        let st = self.state();
        let containers = st.containers.values().map(|c| c.spec.name.clone());
        containers.chain(st.networks.keys().cloned()).collect()
    }

    fn record(&self, line: String) {
        self.state().log.push(line);
    }

    fn create(&self, spec: &ContainerSpec) -> Result<String> {
        let mut st = self.state();
        st.check()?;
        let role = spec.labels.get("lab.role").cloned().unwrap_or_default();
        let n = {
            let n = st.starts.entry(role.clone()).or_default();
            *n += 1;
            *n
        };
        st.log.push(format!("start {}", spec.name));
        if st.script.fail_start.as_ref() == Some(&(role.clone(), n)) {
            bail!(
                "starting container {}: the fake refuses this start",
                spec.name
            );
        }
        if let Some(net) = &spec.network {
            if !st.networks.contains_key(net) {
                bail!("starting container {}: network {net} not found", spec.name);
            }
        }
        st.next_id += 1;
        let id = format!("fake{:08}", st.next_id);
        let ip = format!("10.9.{}.{}", st.next_id / 250, st.next_id % 250 + 2);
        let alias = spec.aliases.first().cloned().unwrap_or_default();
        let (end, said) = match st.script.exit_at_start.get(&alias) {
            Some((code, line)) => (
                ContainerEnd {
                    running: false,
                    exit_code: Some(*code),
                    ..ContainerEnd::default()
                },
                line.clone(),
            ),
            None => (
                ContainerEnd {
                    running: true,
                    ..ContainerEnd::default()
                },
                String::new(),
            ),
        };
        let container = Container {
            spec: spec.clone(),
            ip,
            end,
            said,
            published: spec.publish.map(|_| 30000 + st.next_id as u16),
            stats_reads: 0,
        };
        st.containers.insert(id.clone(), container);
        Ok(id)
    }

    fn container<T>(&self, id: &str, read: impl FnOnce(&mut Container) -> T) -> Result<T> {
        let mut st = self.state();
        st.check()?;
        let c = st
            .containers
            .get_mut(id)
            .ok_or_else(|| anyhow!("Docker said 404: no such container: {id}"))?;
        Ok(read(c))
    }

    /// What `lab-agent` prints for `cmd` in the load generator container.
    async fn agent(&self, cmd: &[String]) -> Result<ExecOutput> {
        let verb = cmd.get(1).map(String::as_str).unwrap_or_default();
        let stdout = match verb {
            "get" => {
                let url = cmd.last().cloned().unwrap_or_default();
                serde_json::to_string(&self.holder(&url).get(url))?
            }
            "cpu-model" => "Fake CPU @ 1.00GHz".into(),
            "run" => {
                let tool = cmd.iter().skip_while(|a| *a != "--").skip(1);
                let tool: Vec<String> = tool.cloned().collect();
                // Several processes (`-- A --and B`): each one a cell of its own rate.
                let mut reports = Vec::new();
                for process in tool.split(|a| a == "--and") {
                    reports.push(match process.iter().find(|a| a.starts_with("http://")) {
                        Some(url) => self.holder(url).cell(url, process).await?,
                        None => agent::RunReport {
                            exit_code: Some(0),
                            stdout: "This is ApacheBench, Version 2.3 <fake>\n".into(),
                            ..agent::RunReport::default()
                        },
                    });
                }
                let mut report = reports.remove(0);
                report.others = reports;
                serde_json::to_string(&report)?
            }
            other => bail!("the fake agent has no `{other}`"),
        };
        Ok(ExecOutput {
            stdout,
            stderr: String::new(),
            exit_code: Some(0),
        })
    }

    /// `lab-agent get url`: 200 from a running server (404 for `/metrics`), else refused.
    fn get(&self, url: String) -> agent::Fetch {
        let up = self
            .state()
            .containers
            .values()
            .any(|c| c.answers(&url) && c.end.running);
        let status = match (up, url.ends_with("/metrics")) {
            (false, _) => None,
            (true, true) => Some(404),
            (true, false) => Some(200),
        };
        agent::Fetch {
            error: (!up).then(|| "Connection refused (os error 111)".into()),
            url,
            status,
            ..agent::Fetch::default()
        }
    }

    /// One cell against the server at `url`: count it, play the script, report a rate (and,
    /// for a timed ab with `-g`, its per-request file: `rate` requests in every second).
    async fn cell(&self, url: &str, tool: &[String]) -> Result<agent::RunReport> {
        let (cancel, rate, ttime) = {
            let mut st = self.state();
            let State {
                containers,
                cells,
                script,
                ..
            } = &mut *st;
            let server = containers
                .values_mut()
                .find(|c| c.answers(url) && c.end.running)
                .ok_or_else(|| anyhow!("nothing answers at {url}"))?;
            let name = server.server();
            cells.push(name.clone());
            let of_server = cells.iter().filter(|s| **s == name).count();
            if script.die_in_cell.get(&name) == Some(&(of_server as u32)) {
                server.end = ContainerEnd {
                    running: false,
                    exit_code: Some(137),
                    oom_killed: true,
                    error: None,
                };
            }
            let rates = script.rates.get(&name).cloned().unwrap_or_default();
            let rate = match rates.len() {
                0 => 1000.0,
                len => rates[(of_server - 1) % len],
            };
            let n = cells.len() as u32;
            if script.gone_in_cell == Some(n) {
                st.gone = true;
                bail!("error sending request: Cannot connect to the Docker daemon");
            }
            if script.fail_exec == Some(n) {
                bail!("exec in container: the fake fails cell {n}");
            }
            let ttime = script.latency_ms.get(&name).copied().unwrap_or(1);
            (script.cancel_in_cell == Some(n), rate, ttime)
        };
        if cancel {
            self.cancelled.notify_one();
            std::future::pending::<()>().await;
        }
        let mut report = agent::RunReport {
            exit_code: Some(0),
            wall_s: 0.3,
            stdout: AB_REPORT.replace(AB_RATE, &format!("{rate:.2}")),
            ..agent::RunReport::default()
        };
        ab_files(tool, rate, ttime, &mut report)?;
        Ok(report)
    }
}

/// The files a fake ab leaves for the agent to collect: `-e`'s sub-millisecond
/// percentiles, and `-g`'s per-request log (with the run's start and end it implies).
fn ab_files(tool: &[String], rate: f64, ttime: u64, report: &mut agent::RunReport) -> Result<()> {
    let arg = |flag: &str| {
        let at = tool.iter().position(|a| a == flag)?;
        tool.get(at + 1).cloned()
    };
    if let Some(file) = arg("-e") {
        // ab's sub-millisecond percentiles: p(k) = k / 400 ms (p99 0.2475 ms).
        let rows: String = (0..=100)
            .map(|k| format!("{k},{}\n", k as f64 / 400.0))
            .collect();
        report
            .files
            .insert(file, format!("Percentage served,Time in ms\n{rows}"));
    }
    if let Some(file) = arg("-g") {
        // A start at .40 of a second, as `--start-between` makes it; a timed run sends
        // `rate` requests in each of its seconds, a counted one its `-n` in 0.2 s.
        let start = 1_800_000_000.40;
        let (secs, per_second) = match arg("-t") {
            Some(t) => (t.parse::<f64>()?, rate as u64),
            None => (0.2, arg("-n").map_or(Ok(0), |n| n.parse::<u64>())?),
        };
        report.started_unix_s = Some(start);
        report.ended_unix_s = Some(start + secs + 0.02);
        report.wall_s = secs + 0.02;
        let mut text = "starttime\tseconds\tctime\tdtime\tttime\twait\n".to_string();
        for s in 0..=(secs as u64) {
            let second = 1_800_000_000 + s;
            for _ in 0..per_second {
                text.push_str(&format!(
                    "Fri Jan 15 08:00:00 2027\t{second}\t0\t{ttime}\t{ttime}\t{ttime}\n"
                ));
            }
        }
        report.files.insert(file, text);
    }
    Ok(())
}

impl Engine for Fake {
    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn kind(&self) -> EngineKind {
        EngineKind::Docker
    }

    fn answers(&self) -> BoxFuture<'_, bool> {
        let gone = self.state().gone;
        Box::pin(async move { !gone })
    }

    fn other_runs<'a>(&'a self, own_run: &'a str) -> BoxFuture<'a, Result<Vec<(Labels, String)>>> {
        let st = self.state();
        let others = st.check().map(|()| {
            let theirs = |c: &&Container| {
                let run = c.spec.labels.get(RUN_LABEL);
                c.end.running && run.is_some_and(|r| r != own_run)
            };
            let cpuset = |c: &Container| c.spec.cpuset.clone().unwrap_or_default();
            st.containers
                .values()
                .filter(theirs)
                .map(|c| (c.spec.labels.clone(), cpuset(c)))
                .collect()
        });
        Box::pin(async move { others })
    }

    fn image_id<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(async move { Ok(Some(format!("sha256:fake-{name}"))) })
    }

    fn pull<'a>(&'a self, name: &'a str, _timeout: Duration) -> BoxFuture<'a, Result<()>> {
        self.record(format!("pull {name}"));
        Box::pin(async { Ok(()) })
    }

    fn build<'a>(
        &'a self,
        tag: &'a str,
        _dockerfile: &'a str,
        _context_tar: Vec<u8>,
        _buildargs: &'a HashMap<String, String>,
    ) -> BoxFuture<'a, Result<String>> {
        self.record(format!("build {tag}"));
        Box::pin(async move { Ok(format!("sha256:fake-{tag}")) })
    }

    fn create_network<'a>(
        &'a self,
        name: &'a str,
        labels: &'a Labels,
        _private: bool,
    ) -> BoxFuture<'a, Result<String>> {
        let mut st = self.state();
        st.log.push(format!("create network {name}"));
        st.networks.insert(name.into(), labels.clone());
        Box::pin(async move { Ok(name.to_string()) })
    }

    fn remove_network<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<()>> {
        let mut st = self.state();
        st.log.push(format!("remove network {id}"));
        if let Err(e) = st.check() {
            return Box::pin(async { Err(e) });
        }
        let attached = st
            .containers
            .values()
            .any(|c| c.spec.network.as_deref() == Some(id));
        let result = if attached {
            Err(anyhow!("removing network {id}: it has active endpoints"))
        } else {
            st.networks.remove(id);
            Ok(())
        };
        Box::pin(async move { result })
    }

    fn network_gateway<'a>(&'a self, _network: &'a str) -> BoxFuture<'a, Result<String>> {
        Box::pin(async { Ok("10.9.0.1".to_string()) })
    }

    fn start<'a>(
        &'a self,
        spec: &'a ContainerSpec,
        _files: Option<Vec<u8>>,
    ) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move { self.create(spec) })
    }

    fn exec<'a>(
        &'a self,
        id: &'a str,
        cmd: &'a [String],
        _timeout: Duration,
    ) -> BoxFuture<'a, Result<ExecOutput>> {
        self.record(format!("exec {id} {}", cmd.join(" ")));
        Box::pin(async move {
            if !self.container(id, |c| c.end.running)? {
                bail!("exec in container: container {id} is not running");
            }
            self.agent(cmd).await
        })
    }

    fn wait<'a>(&'a self, id: &'a str, _timeout: Duration) -> BoxFuture<'a, Result<Option<i64>>> {
        Box::pin(async move {
            self.container(id, |c| {
                c.end.running = false;
                c.end.exit_code = Some(0);
                Some(0)
            })
        })
    }

    fn logs<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(String, String)>> {
        Box::pin(async move {
            self.container(id, |c| {
                let last = match c.end.oom_killed {
                    true => "out of memory",
                    false => c.said.as_str(),
                };
                (String::new(), format!("fake: {}\n{last}", c.spec.name))
            })
        })
    }

    fn state<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<ContainerEnd>> {
        Box::pin(async move { self.container(id, |c| c.end.clone()) })
    }

    fn pid<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<i64>> {
        // No process to read cgroup files of: counters come from `snapshot`.
        Box::pin(async move { self.container(id, |_| 0) })
    }

    fn published_port<'a>(&'a self, id: &'a str, port: u16) -> BoxFuture<'a, Result<u16>> {
        Box::pin(async move {
            self.container(id, |c| c.published)?
                .ok_or_else(|| anyhow!("the daemon published no host port for port {port}"))
        })
    }

    fn ip_on<'a>(&'a self, id: &'a str, network: &'a str) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            // As Docker: a container that is not running has no address.
            let (ip, on) = self.container(id, |c| {
                let on = c.spec.network.as_deref() == Some(network) && c.end.running;
                (c.ip.clone(), on)
            })?;
            if !on {
                bail!("container has no address on network {network}");
            }
            Ok(ip)
        })
    }

    fn snapshot<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<StatsSample>> {
        Box::pin(async move {
            self.container(id, |c| {
                c.stats_reads += 1;
                StatsSample {
                    at: Some(Instant::now()),
                    cpu_total_ns: c.stats_reads * 100_000_000,
                    throttling: Some(Throttling::default()),
                    memory_bytes: 8 << 20,
                    memory_max_bytes: None,
                    pids: 2,
                    pids_max: None,
                }
            })
        })
    }

    fn sample(&self, _id: &str) -> Sampler {
        Sampler::spawn(|stop| async move {
            let _ = stop.await;
            Vec::new()
        })
    }

    fn stop_and_remove<'a>(&'a self, id: &'a str, _grace: Duration) -> BoxFuture<'a, Result<()>> {
        self.remove(id)
    }

    fn remove<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<()>> {
        let mut st = self.state();
        st.log.push(format!("remove {id}"));
        let removed = st.check().map(|()| {
            st.containers.remove(id);
        });
        Box::pin(async { removed })
    }

    fn sweep<'a>(
        &'a self,
        doomed: &'a (dyn Fn(&Labels) -> bool + Sync),
    ) -> BoxFuture<'a, Result<(usize, usize)>> {
        let mut st = self.state();
        st.log.push("sweep".into());
        if let Err(e) = st.check() {
            return Box::pin(async { Err(e) });
        }
        let ours = |l: &Labels| l.contains_key(RUN_LABEL) && doomed(l);
        let before = (st.containers.len(), st.networks.len());
        st.containers.retain(|_, c| !ours(&c.spec.labels));
        st.networks.retain(|_, labels| !ours(labels));
        let removed = (before.0 - st.containers.len(), before.1 - st.networks.len());
        Box::pin(async move { Ok(removed) })
    }
}
