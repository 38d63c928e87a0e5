//! `lab run`: turn a validated lab file into containers, measured cells and a results folder.
//!
//! The flow: images → a labelled network → per resource group (see `config::plan`): start
//! the load generator session for the group's cpuset (`session.rs`), start and verify the
//! group's servers (`servers.rs`), measure the cells point by point (`measure.rs`), with
//! repetitions decided by `repeat` (`rounds.rs`), appending each to the record
//! (`record.rs`), then stop the servers. Every cell is judged (`judge/`) as it is
//! recorded; reports are rendered later from `results.json` alone.

mod capacity;
mod counters;
#[cfg(test)]
mod fake_tests;
mod measure;
mod owner;
mod record;
mod rounds;
mod sampler;
mod servers;
mod session;
mod spread;
mod stop;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

use agent::RunReport;
use anyhow::{anyhow, Context, Result};

use crate::config::{self, Lab, Plan, ServerSource};
use crate::engine::{Engine, RUN_LABEL};
use crate::host;
use crate::images;
use crate::meta::{HostMeta, HostsMeta, Meta};
use crate::placement::{Engines, Route};
use crate::record::{Cell, Limits, Placed, Results, Status};
use crate::ulimit::{self, Ulimit, UlimitPlan};

pub use owner::{owner_dir, owner_is_gone, run_is_dead, OwnedRun, RunId, OWNER_LABEL};
pub use record::mark_stopped;
pub use stop::{cleanup, guard, Ended};

/// Everything a run needs besides the lab file.
pub struct RunOptions {
    pub lab_file: PathBuf,
    pub lab: Lab,
    /// Use existing server images (and agent binary) instead of rebuilding them.
    pub no_build: bool,
    /// Run one shard of a split sweep (`--shard i/N`): its identity and points go to
    /// meta.json, and only its points are measured (see `shard`).
    pub sweep: Option<crate::meta::sweep::Sweep>,
}

/// One role's daemon and the run's network on it.
pub struct Side<'a> {
    pub engine: &'a dyn Engine,
    pub network: &'a str,
}

/// How the load generator reaches a server: the record's [`Route`](crate::record::Route),
/// resolved from `placement`'s plan once the networks exist, and carried as is into
/// results.json and meta.json.
pub type Reach = crate::record::Route;

/// A load generator host after the first (`hosts.loadgen` as a list): it sends its share of
/// every cell at the same moment as the first (see `measure`).
pub struct AlsoLoadgen<'a> {
    pub side: Side<'a>,
    /// How it reaches the servers (the first host's route is [`Ctx::reach`]).
    pub reach: Reach,
    /// The load generator image on its daemon.
    pub image: String,
    /// Its Docker endpoint, as the record names the host.
    pub endpoint: String,
}

/// What every step of a run shares.
pub struct Ctx<'a> {
    pub servers: Side<'a>,
    pub loadgen: Side<'a>,
    /// The load generator hosts after the first, in `hosts.loadgen`'s order.
    pub loadgen_also: Vec<AlsoLoadgen<'a>>,
    /// Their sessions, in the same order (started once the rest of the context exists).
    pub also_sessions: Vec<session::Session>,
    pub reach: &'a Reach,
    pub lab: &'a Lab,
    pub loadgen_image: &'a str,
    /// The tar archive copied into every load generator container (`lab-agent`, `/tmp`).
    pub agent_archive: &'a [u8],
    pub labels: &'a HashMap<String, String>,
    pub run: &'a RunId,
    /// Limits given to every container the run starts (see `ulimit.rs`).
    pub ulimits: &'a [Ulimit],
    /// CPUs of the servers' daemon's machine, for pinning.
    pub daemon_cpus: usize,
    /// CPUs of the load generator's daemon's machine, as that daemon reports them: what
    /// an unlimited multi-threaded tool may use (recorded in every cell's limits).
    pub loadgen_host_cpus: Option<u32>,
    /// Servers and load generator share one machine's CPUs (so `pin: auto` separates them).
    pub one_machine: bool,
}

impl<'a> Ctx<'a> {
    /// Load generator host `host`: 0 the first, `i` `loadgen_also[i - 1]`.
    pub fn loadgen_side(&self, host: usize) -> &Side<'a> {
        match host {
            0 => &self.loadgen,
            i => &self.loadgen_also[i - 1].side,
        }
    }

    /// The load generator image on host `host`'s daemon.
    pub fn loadgen_image(&self, host: usize) -> &str {
        match host {
            0 => self.loadgen_image,
            i => &self.loadgen_also[i - 1].image,
        }
    }

    /// How many load generator hosts send each cell.
    pub fn loadgen_hosts(&self) -> usize {
        1 + self.loadgen_also.len()
    }
}

/// Run the experiment in the run folder `owned`. Returns the results as written.
pub async fn run(engines: &Engines, opts: &RunOptions, owned: &OwnedRun) -> Result<Results> {
    let lab = &opts.lab;
    let prepare = async {
        let images = Images::get(engines, lab, opts.no_build).await?;
        // Building the server images (not `no_build`) has just built the agent with them.
        let agent_archive = images::agent_archive(opts.no_build || !lab.models().is_empty())?;
        Ok((images, agent_archive))
    };
    run_with(engines, opts, owned, prepare).await
}

/// [`run`] with the images and the agent archive from `prepare` (awaited once the record
/// exists, so that a failed image build is recorded): tests give the fake engine's.
async fn run_with(
    engines: &Engines,
    opts: &RunOptions,
    owned: &OwnedRun,
    prepare: impl std::future::Future<Output = Result<(Images, Vec<u8>)>>,
) -> Result<Results> {
    let run = &owned.id;
    let lab = &opts.lab;
    let limits = ulimits(&*engines.loadgen, lab);
    let mut record = record::Record::create(run, &opts.lab_file, lab)?;
    let load_start = host::load_average();
    let (images, agent_archive) = prepare.await?;

    let labels = HashMap::from([
        (RUN_LABEL.to_string(), run.id.clone()),
        (OWNER_LABEL.to_string(), owned.label()),
    ]);
    let network = format!("lab-{}", run.id);
    let (reach, reach_also) = place(engines, &network, &labels, &mut record).await?;
    let loadgen_also = also_sides(engines, reach_also, &images.loadgen_also, &network);
    let mut ctx = Ctx {
        servers: Side {
            engine: &*engines.servers,
            network: &network,
        },
        loadgen: Side {
            engine: &*engines.loadgen,
            network: &network,
        },
        loadgen_also,
        also_sessions: Vec::new(),
        reach: &reach,
        lab,
        loadgen_image: &images.loadgen,
        agent_archive: &agent_archive,
        labels: &labels,
        run,
        ulimits: &limits.ulimits,
        daemon_cpus: usize::try_from(engines.servers_info.cpus)
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or_else(host::host_cpus),
        one_machine: engines.one_machine(),
        loadgen_host_cpus: u32::try_from(engines.loadgen_info.cpus)
            .ok()
            .filter(|n| *n > 0),
    };

    let plan = match &opts.sweep {
        Some(sweep) => sweep.shard.select(Plan::new(lab)),
        None => Plan::new(lab),
    };
    ctx.also_sessions = session::start_also(&ctx).await?;
    let mut sessions = session::Sessions::default();
    let mut meta = meta(&ctx, &images, load_start, engines, &limits);
    meta.sweep = opts.sweep.clone();
    let progress = crate::progress::Progress::new(plan.cell_count() as u64);
    let outcome = measure_groups(
        &ctx,
        &plan,
        &images,
        &mut sessions,
        &mut record,
        &progress,
        &mut meta,
    )
    .await;
    progress.done();
    sessions.stop_all(&ctx).await;
    let also = std::mem::take(&mut ctx.also_sessions);
    session::stop(&ctx, also).await;
    meta.fingerprint = meta.hosts.as_ref().map(crate::meta::sweep::Fingerprint::of);
    outcome?;
    record::write_meta(run, &meta)?;

    for engine in engines.each() {
        engine.remove_network(&network).await?;
    }
    let results = record.complete()?;
    meta.load_average_end = host::load_average();
    record::write_meta(run, &meta)?;
    Ok(results)
}

/// The load generator hosts after the first, each with its route (`reach`, in their order)
/// and its daemon's load generator image.
fn also_sides<'a>(
    engines: &'a Engines,
    reach: Vec<Reach>,
    images: &[String],
    network: &'a str,
) -> Vec<AlsoLoadgen<'a>> {
    (engines.loadgen_also.iter().zip(reach))
        .zip(images)
        .map(|((also, reach), image)| AlsoLoadgen {
            side: Side {
                engine: &*also.engine,
                network,
            },
            reach,
            image: image.clone(),
            endpoint: also.engine.endpoint().host.clone(),
        })
        .collect()
}

/// The run's network on each role's daemon (one private network when they are one daemon),
/// how each load generator host reaches the servers (the first's, then the others' in
/// order), and that placement in results.json.
async fn place(
    engines: &Engines,
    network: &str,
    labels: &HashMap<String, String>,
    record: &mut record::Record,
) -> Result<(Reach, Vec<Reach>)> {
    let one_daemon = engines.one_daemon();
    // Private (internal) only when no load generator host reaches the servers from another
    // daemon: an internal network publishes no ports.
    let private = one_daemon && engines.loadgen_also.iter().all(|a| a.with_servers);
    engines
        .servers
        .create_network(network, labels, private)
        .await?;
    if !one_daemon {
        engines
            .loadgen
            .create_network(network, labels, false)
            .await?;
    }
    for also in &engines.loadgen_also {
        if !also.with_servers && !also.with_loadgen {
            also.engine.create_network(network, labels, false).await?;
        }
    }
    let reach = reach(engines, network).await?;
    let mut reach_also = Vec::new();
    for (i, also) in engines.loadgen_also.iter().enumerate() {
        let route = engines.route_also(i).map_err(|e| anyhow!(e))?;
        reach_also.push(resolve_route(route, &*also.engine, network).await?);
    }
    record.set_placement(Placed {
        servers: engines.servers.endpoint().host.clone(),
        loadgen: engines.loadgen.endpoint().host.clone(),
        route: reach.clone(),
        loadgen_also: (engines.loadgen_also.iter().zip(&reach_also))
            .map(|(also, route)| crate::record::PlacedLoadgen {
                loadgen: also.engine.endpoint().host.clone(),
                route: route.clone(),
            })
            .collect(),
    })?;
    if let Reach::Published { address } = &reach {
        tracing::info!(
            "servers on {}, load generator on {}: the load generator reaches the servers \
             at {address} (published ports)",
            engines.servers.endpoint(),
            engines.loadgen.endpoint()
        );
    }
    for (also, route) in engines.loadgen_also.iter().zip(&reach_also) {
        tracing::info!(
            "load generator also on {}, reaching the servers on {route}",
            also.engine.endpoint()
        );
    }
    Ok((reach, reach_also))
}

/// How the (first) load generator will reach the servers (see [`placement::Route`]).
async fn reach(engines: &Engines, network: &str) -> Result<Reach> {
    let route = engines.route().map_err(|e| anyhow!(e))?;
    resolve_route(route, &*engines.loadgen, network).await
}

/// A route from a load generator host on `loadgen`, now that the networks exist.
async fn resolve_route(route: Route, loadgen: &dyn Engine, network: &str) -> Result<Reach> {
    Ok(match route {
        Route::Network => Reach::Network,
        Route::Address(address) => Reach::Published { address },
        Route::LoadgenGateway => Reach::Published {
            address: loadgen.network_gateway(network).await?,
        },
    })
}

/// Every group in plan order: its session, its servers, its cells.
async fn measure_groups(
    ctx: &Ctx<'_>,
    plan: &Plan,
    images: &Images,
    sessions: &mut session::Sessions,
    record: &mut record::Record,
    progress: &crate::progress::Progress,
    meta: &mut Meta,
) -> Result<()> {
    for group in &plan.groups {
        let (server_cpuset, loadgen_cpuset) =
            crate::pin::resolve_pin(ctx.lab, group, ctx.daemon_cpus, ctx.one_machine);
        let session = sessions.get(ctx, loadgen_cpuset.as_deref()).await?;
        if meta.ab_version.is_empty() {
            meta.ab_version = ab_version(ctx, session).await;
            if let Some(hosts) = &mut meta.hosts {
                hosts.loadgen.cpu_model = session.cpu_model(ctx).await;
                for (also, s) in hosts.loadgen_also.iter_mut().zip(&ctx.also_sessions) {
                    also.host.cpu_model = s.cpu_model(ctx).await;
                }
                hosts.servers.cpu_model = if ctx.one_machine {
                    hosts.loadgen.cpu_model.clone()
                } else {
                    servers::host_cpu_model(ctx, images.server_image()).await
                };
            }
            record::write_meta(ctx.run, meta)?;
        }
        let (mut pool, failures) =
            servers::Pool::start(ctx, session, group, server_cpuset.clone(), &images.failures)
                .await;
        for f in failures {
            record.push_server_failure(f)?;
        }
        let limits = |inst: &config::Instance| Limits {
            cpus: inst.cpus,
            memory_bytes: inst.memory,
            pids: inst.pids,
            cpuset: server_cpuset.clone(),
            loadgen_cpus: ctx.lab.loadgen.cpus,
            loadgen_cpuset: loadgen_cpuset.clone(),
            loadgen_host_cpus: ctx.loadgen_host_cpus,
            loadgen_hosts: (ctx.loadgen_hosts() > 1).then(|| ctx.loadgen_hosts() as u32),
        };
        let step = rounds::Step {
            ctx,
            session,
            group,
            limits: &limits,
            progress,
        };
        let outcome = rounds::run_group(&step, plan, &mut pool, record).await;
        pool.stop_all(ctx).await;
        outcome?;
    }
    Ok(())
}

/// A fresh cell record for one measurement, failed until measured.
fn new_cell(lab: &Lab, group: &config::Group, cref: &config::CellRef, limits: Limits) -> Cell {
    let inst = &group.instances[cref.instance];
    let point = &group.points[cref.point];
    let server = &lab.servers[inst.server];
    let workload = &lab.workloads[point.workload];
    let rate = point
        .rate
        .map(|r| format!("-{}", r.id()))
        .unwrap_or_default();
    let id = format!(
        "g{}-{}-{}-{}-c{}{rate}-r{}",
        group.index,
        server.name,
        workload.name,
        if point.keepalive { "ka" } else { "noka" },
        point.concurrency,
        cref.repetition
    );
    let stdout_ext = lab.loadgen.tool.driver().stdout_extension();
    Cell {
        raw_stdout: format!("raw/{id}.stdout.{stdout_ext}"),
        raw_stderr: format!("raw/{id}.stderr.txt"),
        id,
        group: group.index,
        group_label: group.label.clone(),
        server: server.name.clone(),
        model: match &server.source {
            ServerSource::Model(m) => m.as_str().to_string(),
            ServerSource::Image(i) => i.clone(),
        },
        workload: workload.name.clone(),
        path: workload.path.clone(),
        concurrency: point.concurrency,
        keepalive: point.keepalive,
        requests: lab.loadgen.requests,
        duration_s: None,
        repetition: cref.repetition,
        limits,
        status: Status::Failed,
        reason: None,
        exit_code: None,
        command: Vec::new(),
        measurement: None,
        report: None,
        v1_ab: None,
        v1_oha: None,
        rate: point.rate,
        // Absolute now; a percentage once its capacity is measured (`capacity.rs`).
        offered_rps: point.rate.and_then(|r| r.resolve(None)),
        capacity_rps: None,
        percentiles_fine: None,
        server_resources: None,
        loadgen_resources: None,
        tool_usage: None,
        processes: Vec::new(),
        server_metrics: None,
        steady: None,
        verdict: None,
        flags: Vec::new(),
        neighbours: Vec::new(),
        wall_s: 0.0,
    }
}

/// The images a run uses, resolved once.
struct Images {
    /// image name → id, for meta.json.
    ids: BTreeMap<String, String>,
    loadgen: String,
    loadgen_source: String,
    /// The load generator image on each host after the first.
    loadgen_also: Vec<String>,
    /// Servers whose image could not be had: server index → reason.
    failures: HashMap<usize, String>,
}

impl Images {
    /// An image of the servers' host to borrow as a root file system for a one-shot
    /// helper (the agent brings its own binary): the first server image.
    fn server_image(&self) -> &str {
        self.ids
            .keys()
            .find(|name| *name != &self.loadgen)
            .map_or(self.loadgen.as_str(), String::as_str)
    }

    /// Server images on the servers' host; the load generator image on its own host.
    async fn get(engines: &Engines, lab: &Lab, no_build: bool) -> Result<Images> {
        let engine = &*engines.servers;
        let mut ids = BTreeMap::new();
        let models = lab.models();
        if no_build {
            for m in &models {
                let id = engine.image_id(m.image()).await?.ok_or_else(|| {
                    anyhow!(
                        "--no-build: image {} does not exist; run `lab images` first",
                        m.image()
                    )
                })?;
                ids.insert(m.image().to_string(), id);
            }
        } else {
            ids.extend(images::build_server_images(engine, &models).await?);
        }
        let (loadgen, loadgen_id, loadgen_source) =
            images::resolve_loadgen(&*engines.loadgen, &lab.loadgen.image).await?;
        ids.insert(loadgen.clone(), loadgen_id);
        let mut loadgen_also = Vec::new();
        for also in &engines.loadgen_also {
            let (name, _, _) = images::resolve_loadgen(&*also.engine, &lab.loadgen.image)
                .await
                .with_context(|| {
                    format!("the load generator image on {}", also.engine.endpoint())
                })?;
            loadgen_also.push(name);
        }
        let mut failures = HashMap::new();
        for (i, s) in lab.servers.iter().enumerate() {
            if let ServerSource::Image(img) = &s.source {
                match images::ensure_pulled(engine, img).await {
                    Ok(id) => {
                        ids.insert(img.clone(), id);
                    }
                    Err(e) => {
                        tracing::error!("server {}: {e:#}", s.name);
                        failures.insert(i, format!("{e:#}"));
                    }
                }
            }
        }
        Ok(Images {
            ids,
            loadgen,
            loadgen_source,
            loadgen_also,
            failures,
        })
    }
}

/// The limits every container gets on this engine, said in the log; a warning when they
/// leave no room for the largest concurrency.
fn ulimits(engine: &dyn Engine, lab: &Lab) -> UlimitPlan {
    let limits = ulimit::plan(engine.kind(), lab.nofile, ulimit::engine_limits(engine));
    tracing::info!("container limits: {}", limits.reason);
    let connections = lab.loadgen.concurrency.iter().max().copied().unwrap_or(0)
        + lab.background.as_ref().map_or(0, |b| b.concurrency);
    let need = u64::from(connections) + config::NOFILE_SLACK;
    if let Some(n) = limits.nofile().filter(|n| *n < need) {
        tracing::warn!(
            "containers get {n} open files, fewer than the {need} that {connections} \
             connections need: cells at that concurrency will fail (raise the engine's limit)"
        );
    }
    limits
}

fn meta(
    ctx: &Ctx<'_>,
    images: &Images,
    load_start: Option<String>,
    engines: &Engines,
    limits: &UlimitPlan,
) -> Meta {
    let engine_info = engines.servers_info.clone();
    let hosts = HostsMeta {
        servers: HostMeta::new(&engines.servers_info, String::new()),
        loadgen: HostMeta::new(&engines.loadgen_info, String::new()),
        one_daemon: engines.one_daemon(),
        route: ctx.reach.clone(),
        loadgen_also: (engines.loadgen_also.iter().zip(&ctx.loadgen_also))
            .map(|(also, side)| crate::meta::AlsoHostMeta {
                host: HostMeta::new(&also.info, String::new()),
                route: side.reach.clone(),
            })
            .collect(),
    };
    Meta {
        run_id: ctx.run.id.clone(),
        lab_file: ctx.run.dir.join("lab.yaml").display().to_string(),
        lab_version: env!("CARGO_PKG_VERSION").to_string(),
        host_cpus: host::host_cpus(),
        host_cpu_model: host::cpu_model(),
        host_kernel: engine_info.kernel.clone(),
        load_average_start: load_start,
        load_average_end: None,
        docker: engine_info,
        ulimits: limits.clone(),
        images: images.ids.clone(),
        loadgen_image_source: images.loadgen_source.clone(),
        ab_version: String::new(),
        git_commit: host::git(&["rev-parse", "HEAD"]),
        git_dirty: host::git(&["status", "--porcelain"]).map(|s| !s.is_empty()),
        hosts: Some(hosts),
        ..Meta::default()
    }
}

/// `ab -V` or `oha --version` inside the load generator container: the version that
/// actually measures.
async fn ab_version(ctx: &Ctx<'_>, session: &session::Session) -> String {
    let cmd = ctx.lab.loadgen.tool.driver().version_command();
    match session
        .run_tool(ctx, &cmd, &[], &[], std::time::Duration::from_secs(30))
        .await
    {
        Ok(r) => r
            .stdout
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string(),
        Err(e) => format!("unknown ({e:#})"),
    }
}

/// How a tool run ended, in words: `exited with code 22`, `was killed by signal 9`, ...
fn describe_exit(r: &RunReport) -> String {
    if let Some(e) = &r.spawn_error {
        return e.clone();
    }
    if r.timed_out {
        return format!("did not finish within {:.0} s and was killed", r.wall_s);
    }
    match (r.exit_code, r.signal) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        (None, None) => "ended in an unknown way".into(),
    }
}

fn last_line(text: &str) -> Option<String> {
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}

/// Container names must be unique per engine; every container gets a counter suffix.
fn unique_name(base: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let clean: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{clean}-{}", N.fetch_add(1, Ordering::Relaxed))
}

/// Seconds since `t`, for the overhead figures.
fn since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_are_docker_safe() {
        let a = unique_name("lab-x/y z");
        let b = unique_name("lab-x/y z");
        assert_ne!(a, b);
        assert!(a.starts_with("lab-x-y-z-"));
    }

    #[test]
    fn exits_are_described_in_words() {
        let r = RunReport {
            exit_code: Some(22),
            ..RunReport::default()
        };
        assert_eq!(describe_exit(&r), "exited with code 22");
        let r = RunReport {
            signal: Some(9),
            ..RunReport::default()
        };
        assert_eq!(describe_exit(&r), "was killed by signal 9");
    }
}
