//! `lab run`: turn a validated lab file into containers, ab runs and a results folder.
//!
//! The flow, per resource group of the plan (see `config::plan`):
//! start every server of the group in its own container with its limits → wait until each
//! answers and verify one GET of every workload path is 2xx → warm up → run the group's
//! cells in plan order (repetitions interleave the servers) → stop the servers.
//! Each cell is one ab container on the run's bridge network; its stdout, stderr and exit
//! code are saved under `raw/` and the cell is appended to `results.json` at once.
//!
//! One server container serves all cells of its group (not one per cell): that is how a
//! server lives in production, and it keeps a 16-cell run short. A server that dies (OOM,
//! crash) fails the cell it died in and is started afresh for the next one.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};

use crate::ab;
use crate::clock::Utc;
use crate::config::{self, Lab, Plan, ServerSource};
use crate::docker::{ContainerSpec, Engine, StatsSample, RUN_LABEL};
use crate::host;
use crate::images;
use crate::resources::{self, ResourceSummary};
use crate::results::{self, Cell, Limits, Meta, Results, ServerFailure, Status};

/// Label holding the PID of the `lab` process that owns an object, so a later start can tell
/// a dead run's leftovers from a live run's containers.
pub const PID_LABEL: &str = "lab.pid";
/// Where ab writes its `-e` percentile file inside its container.
const PERCENTILE_FILE: &str = "/tmp/lab-percentiles.csv";
/// Upper bound on one ab container's life; ab's own `-s` bounds each request.
const CELL_DEADLINE: Duration = Duration::from_secs(900);
/// Time the background ab gets to open its connections before a measurement.
const BACKGROUND_SETTLE: Duration = Duration::from_secs(2);
/// How long a server may take to answer its first request.
const READY_DEADLINE: Duration = Duration::from_secs(30);

/// Everything a run needs besides the lab file.
pub struct RunOptions {
    pub lab_file: PathBuf,
    pub lab: Lab,
    /// Use existing server images instead of rebuilding them.
    pub no_build: bool,
}

/// The identity of a run, known before it starts so Ctrl-C can clean up after it.
#[derive(Debug, Clone)]
pub struct RunId {
    pub id: String,
    pub dir: PathBuf,
}

impl RunId {
    /// `<output>/<yyyymmdd-hhmmss>-<name>`, with a suffix if that folder exists.
    pub fn new(lab: &Lab) -> RunId {
        let base = format!("{}-{}", Utc::now().compact(), lab.name);
        let mut id = base.clone();
        let mut n = 2;
        while lab.output.join(&id).exists() {
            id = format!("{base}-{n}");
            n += 1;
        }
        RunId {
            dir: lab.output.join(&id),
            id,
        }
    }
}

/// A started server container.
struct LiveServer {
    container: String,
    ip: String,
}

/// Run the experiment. Returns the results as written.
pub async fn run(engine: &Engine, opts: &RunOptions, run: &RunId) -> Result<Results> {
    let lab = &opts.lab;
    let plan = Plan::new(lab);
    std::fs::create_dir_all(run.dir.join("raw"))
        .with_context(|| format!("creating {}", run.dir.display()))?;
    std::fs::copy(&opts.lab_file, run.dir.join("lab.yaml"))
        .with_context(|| format!("copying {}", opts.lab_file.display()))?;
    let load_start = host::load_average();

    // Images.
    let mut image_ids = BTreeMap::new();
    let models: Vec<config::Model> = {
        let mut m: Vec<_> = lab
            .servers
            .iter()
            .filter_map(|s| match &s.source {
                ServerSource::Model(m) => Some(*m),
                ServerSource::Image(_) => None,
            })
            .collect();
        m.sort_by_key(|m| m.image());
        m.dedup();
        m
    };
    if opts.no_build {
        for m in &models {
            let id = engine.image_id(m.image()).await?.ok_or_else(|| {
                anyhow!(
                    "--no-build: image {} does not exist; run `lab images` first",
                    m.image()
                )
            })?;
            image_ids.insert(m.image().to_string(), id);
        }
    } else {
        image_ids.extend(images::build_server_images(engine, &models).await?);
    }
    let (ab_image, ab_id, ab_source) = images::resolve_loadgen(engine, &lab.loadgen.image).await?;
    image_ids.insert(ab_image.clone(), ab_id);
    let mut image_failures: HashMap<usize, String> = HashMap::new();
    for (i, s) in lab.servers.iter().enumerate() {
        if let ServerSource::Image(img) = &s.source {
            match images::ensure_pulled(engine, img).await {
                Ok(id) => {
                    image_ids.insert(img.clone(), id);
                }
                Err(e) => {
                    tracing::error!("server {}: {e:#}", s.name);
                    image_failures.insert(i, format!("{e:#}"));
                }
            }
        }
    }

    let labels = HashMap::from([
        (RUN_LABEL.to_string(), run.id.clone()),
        (PID_LABEL.to_string(), std::process::id().to_string()),
    ]);
    let network = format!("lab-{}", run.id);
    engine.create_network(&network, &labels).await?;

    let ab_version = ab_version(engine, &ab_image, &network, &run.id, &labels).await;
    let engine_info = engine.info().await.unwrap_or_default();
    let mut meta = Meta {
        run_id: run.id.clone(),
        lab_file: opts.lab_file.display().to_string(),
        lab_version: env!("CARGO_PKG_VERSION").to_string(),
        host_cpus: host::host_cpus(),
        host_cpu_model: host::cpu_model(),
        host_kernel: engine_info.kernel.clone(),
        load_average_start: load_start,
        load_average_end: None,
        docker: engine_info,
        images: image_ids,
        loadgen_image_source: ab_source,
        ab_version,
        git_commit: host::git(&["rev-parse", "HEAD"]),
        git_dirty: host::git(&["status", "--porcelain"]).map(|s| !s.is_empty()),
    };
    results::write_json_atomic(&run.dir.join("meta.json"), &meta)?;

    let mut record = Results {
        schema_version: results::SCHEMA_VERSION,
        run_id: run.id.clone(),
        name: lab.name.clone(),
        status: "running".into(),
        started_at: Utc::now().rfc3339(),
        finished_at: None,
        config: serde_json::to_value(lab)?,
        server_failures: Vec::new(),
        cells: Vec::new(),
    };
    let results_path = run.dir.join("results.json");
    results::write_json_atomic(&results_path, &record)?;

    let cells = plan.cells();
    let progress = crate::progress::Progress::new(cells.len() as u64);
    let ctx = Ctx {
        engine,
        lab,
        network: &network,
        ab_image: &ab_image,
        labels: &labels,
        run,
    };

    for group in &plan.groups {
        let (server_cpuset, loadgen_cpuset) = crate::pin::resolve_pin(lab, group);
        let mut live: HashMap<usize, Result<LiveServer, String>> = HashMap::new();
        for (ii, inst) in group.instances.iter().enumerate() {
            let server = &lab.servers[inst.server];
            let started = match image_failures.get(&inst.server) {
                Some(reason) => Err(reason.clone()),
                None => ctx
                    .start_server(group.index, inst, server_cpuset.as_deref())
                    .await
                    .map_err(|e| format!("{e:#}")),
            };
            if let Err(reason) = &started {
                tracing::error!("server {} ({}): {reason}", server.name, group.label);
                record.server_failures.push(ServerFailure {
                    server: server.name.clone(),
                    group: group.index,
                    reason: reason.clone(),
                });
            }
            live.insert(ii, started);
        }

        for cref in cells.iter().filter(|c| c.group == group.index) {
            let inst = &group.instances[cref.instance];
            let point = &group.points[cref.point];
            let server = &lab.servers[inst.server];
            let workload = &lab.workloads[point.workload];
            let id = format!(
                "g{}-{}-{}-{}-c{}-r{}",
                group.index,
                server.name,
                workload.name,
                if point.keepalive { "ka" } else { "noka" },
                point.concurrency,
                cref.repetition
            );
            progress.start_cell(&id);
            let limits = Limits {
                cpus: inst.cpus,
                memory_bytes: inst.memory,
                pids: inst.pids,
                cpuset: server_cpuset.clone(),
                loadgen_cpus: lab.loadgen.cpus,
                loadgen_cpuset: loadgen_cpuset.clone(),
            };
            let mut cell = Cell {
                id: id.clone(),
                group: group.index,
                group_label: group.label.clone(),
                server: server.name.clone(),
                model: match &server.source {
                    ServerSource::Model(m) => format!("{m:?}").to_lowercase(),
                    ServerSource::Image(i) => i.clone(),
                },
                workload: workload.name.clone(),
                path: workload.path.clone(),
                concurrency: point.concurrency,
                keepalive: point.keepalive,
                requests: lab.loadgen.requests,
                repetition: cref.repetition,
                limits,
                status: Status::Failed,
                reason: None,
                exit_code: None,
                command: Vec::new(),
                raw_stdout: format!("raw/{id}.stdout.txt"),
                raw_stderr: format!("raw/{id}.stderr.txt"),
                ab: None,
                percentiles_fine: None,
                server_resources: None,
                loadgen_resources: None,
                flags: Vec::new(),
                wall_s: 0.0,
            };

            // A server that died in an earlier cell is replaced before this one.
            let entry = live
                .get_mut(&cref.instance)
                .expect("every instance was started");
            if let Ok(srv) = entry {
                match engine.state(&srv.container).await {
                    Ok(end) if !end.running => {
                        tracing::warn!(
                            "server {} {}; starting a fresh container",
                            server.name,
                            end.describe()
                        );
                        let _ = engine.remove(&srv.container).await;
                        *entry = ctx
                            .start_server(group.index, inst, server_cpuset.as_deref())
                            .await
                            .map_err(|e| format!("restart after it {}: {e:#}", end.describe()));
                    }
                    _ => {}
                }
            }
            match &*entry {
                Err(reason) => {
                    cell.reason = Some(format!("server not available: {reason}"));
                }
                Ok(srv) => {
                    ctx.measure(&mut cell, srv, loadgen_cpuset.as_deref()).await;
                }
            }
            cell.flags = crate::flags::cell_flags(&cell);
            progress.finish_cell(&cell);
            record.cells.push(cell);
            results::write_json_atomic(&results_path, &record)?;
        }

        for srv in live.into_values().flatten() {
            if let Err(e) = engine
                .stop_and_remove(&srv.container, Duration::from_secs(5))
                .await
            {
                tracing::warn!("{e:#}");
            }
        }
    }
    progress.done();

    engine.remove_network(&network).await?;
    record.status = "complete".into();
    record.finished_at = Some(Utc::now().rfc3339());
    results::write_json_atomic(&results_path, &record)?;
    meta.load_average_end = host::load_average();
    results::write_json_atomic(&run.dir.join("meta.json"), &meta)?;
    Ok(record)
}

/// What every step of a run shares.
struct Ctx<'a> {
    engine: &'a Engine,
    lab: &'a Lab,
    network: &'a str,
    ab_image: &'a str,
    labels: &'a HashMap<String, String>,
    run: &'a RunId,
}

impl Ctx<'_> {
    /// Start one server container with its limits, wait until it answers, verify every
    /// workload path answers 2xx, and warm it up.
    async fn start_server(
        &self,
        group: usize,
        inst: &config::Instance,
        cpuset: Option<&str>,
    ) -> Result<LiveServer> {
        let server = &self.lab.servers[inst.server];
        let (image, hardened) = match &server.source {
            ServerSource::Model(m) => (m.image().to_string(), true),
            ServerSource::Image(i) => (i.clone(), false),
        };
        let mut env: Vec<String> = server.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        if matches!(server.source, ServerSource::Model(_)) {
            env.push(format!("SERVER_PORT={}", server.port));
        }
        let mut labels = self.labels.clone();
        labels.insert("lab.role".into(), "server".into());
        let name = unique_name(&format!("lab-{}-{}-g{group}", self.run.id, server.name));
        let spec = ContainerSpec {
            name,
            image,
            cmd: server.args.clone(),
            env,
            labels,
            network: Some(self.network.to_string()),
            aliases: vec![server.name.clone()],
            cpus: Some(inst.cpus),
            memory: Some(inst.memory),
            pids: inst.pids,
            cpuset: cpuset.map(str::to_string),
            hardened,
            ..Default::default()
        };
        let container = self.engine.start(&spec).await?;
        let ip = match self.engine.ip_on(&container, self.network).await {
            Ok(ip) => ip,
            Err(e) => {
                // A server that exits at once loses its address before we ask for it: say
                // how it ended, not that it has no address.
                let err = match self.engine.state(&container).await {
                    Ok(end) if !end.running => anyhow!("the server container {}", end.describe()),
                    _ => e,
                };
                let (_, stderr) = self.engine.logs(&container).await.unwrap_or_default();
                let _ = self.engine.remove(&container).await;
                return Err(match last_line(&stderr) {
                    Some(t) => anyhow!("{err:#}; its last log line: {t}"),
                    None => err,
                });
            }
        };
        let srv = LiveServer { container, ip };
        if let Err(e) = self.verify_and_warm(server, &srv).await {
            let (_, stderr) = self.engine.logs(&srv.container).await.unwrap_or_default();
            let _ = self.engine.remove(&srv.container).await;
            let tail = last_line(&stderr);
            return Err(match tail {
                Some(t) => anyhow!("{e:#}; its last log line: {t}"),
                None => e,
            });
        }
        tracing::info!(
            "server {} up at {}:{} (cpus {}, memory {})",
            server.name,
            srv.ip,
            server.port,
            inst.cpus,
            config::format_memory(inst.memory)
        );
        Ok(srv)
    }

    async fn verify_and_warm(&self, server: &config::Server, srv: &LiveServer) -> Result<()> {
        let deadline = Instant::now() + READY_DEADLINE;
        for (i, w) in self.lab.workloads.iter().enumerate() {
            let url = format!("http://{}:{}{}", srv.ip, server.port, w.path);
            loop {
                let out = self
                    .ab(
                        &["-n", "1", "-c", "1", "-s", "5", "-v", "2", &url],
                        None,
                        "probe",
                    )
                    .await?;
                let parsed = ab::parse(&out.stdout);
                match parsed {
                    Ok(r)
                        if r.complete_requests == Some(1)
                            && r.failed_requests == Some(0)
                            && r.non_2xx.unwrap_or(0) == 0 =>
                    {
                        break
                    }
                    Ok(r) if r.non_2xx.unwrap_or(0) > 0 => {
                        let status = response_status(&out.stdout)
                            .unwrap_or_else(|| "a non-2xx status".into());
                        return Err(anyhow!(
                            "verification failed: GET {} answered {status}",
                            w.path
                        ));
                    }
                    // Refused, reset or garbled: the server may still be starting.
                    _ if i == 0 && Instant::now() < deadline => {
                        let end = self.engine.state(&srv.container).await?;
                        if !end.running {
                            return Err(anyhow!("the server container {}", end.describe()));
                        }
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                    Ok(_) => {
                        return Err(anyhow!(
                            "verification failed: GET {} did not complete ({})",
                            w.path,
                            last_line(&out.stdout).unwrap_or_default()
                        ))
                    }
                    Err(e) => {
                        return Err(anyhow!(
                            "verification failed: GET {} got no answer: {e}",
                            w.path
                        ))
                    }
                }
            }
        }
        if self.lab.warmup > 0 {
            let n = self.lab.warmup.to_string();
            let c = self.lab.warmup.min(10).to_string();
            for w in &self.lab.workloads {
                let url = format!("http://{}:{}{}", srv.ip, server.port, w.path);
                let out = self
                    .ab(
                        &["-n", &n, "-c", &c, "-s", "10", "-r", &url],
                        None,
                        "warmup",
                    )
                    .await?;
                if out.exit_code != Some(0) {
                    tracing::warn!(
                        "warm-up of {} on {} ended with exit code {:?}",
                        server.name,
                        w.path,
                        out.exit_code
                    );
                }
            }
        }
        Ok(())
    }

    /// Run ab once (probe or warm-up), collecting its output; the container is removed.
    async fn ab(&self, args: &[&str], cpuset: Option<&str>, role: &str) -> Result<AbOutput> {
        let spec = self.ab_spec(args.iter().map(|s| s.to_string()).collect(), cpuset, role);
        let id = self.engine.start(&spec).await?;
        let out = self.collect(&id, Duration::from_secs(120)).await;
        let _ = self.engine.remove(&id).await;
        out
    }

    fn ab_spec(&self, args: Vec<String>, cpuset: Option<&str>, role: &str) -> ContainerSpec {
        let mut labels = self.labels.clone();
        labels.insert("lab.role".into(), role.into());
        ContainerSpec {
            name: unique_name(&format!("lab-{}-ab-{role}", self.run.id)),
            image: self.ab_image.to_string(),
            entrypoint: Some(vec!["ab".into()]),
            cmd: args,
            labels,
            network: Some(self.network.to_string()),
            cpus: self.lab.loadgen.cpus,
            cpuset: cpuset.map(str::to_string),
            ..Default::default()
        }
    }

    async fn collect(&self, id: &str, deadline: Duration) -> Result<AbOutput> {
        let exit_code = self.engine.wait(id, deadline).await?;
        if exit_code.is_none() {
            let _ = self.engine.remove(id).await;
            return Err(anyhow!("ab did not finish within {} s", deadline.as_secs()));
        }
        let (stdout, stderr) = self.engine.logs(id).await?;
        Ok(AbOutput {
            stdout,
            stderr,
            exit_code,
        })
    }

    /// Measure one cell: run ab against the live server while sampling both containers.
    async fn measure(&self, cell: &mut Cell, srv: &LiveServer, loadgen_cpuset: Option<&str>) {
        let server = self
            .lab
            .servers
            .iter()
            .find(|s| s.name == cell.server)
            .expect("cell names a configured server");
        let url = format!("http://{}:{}{}", srv.ip, server.port, cell.path);
        let mut args: Vec<String> = vec![
            "-n".into(),
            cell.requests.to_string(),
            "-c".into(),
            cell.concurrency.to_string(),
            "-s".into(),
            self.lab.loadgen.timeout_s.to_string(),
            // Keep going on receive errors: count them as failures instead of losing the run.
            "-r".into(),
            "-e".into(),
            PERCENTILE_FILE.into(),
        ];
        if cell.keepalive {
            args.push("-k".into());
        }
        args.push(url.clone());
        cell.command = std::iter::once("ab".to_string())
            .chain(args.clone())
            .collect();

        let background = match &self.lab.background {
            Some(bg) => match self.start_background(bg, srv, server, loadgen_cpuset).await {
                Ok(id) => Some(id),
                Err(e) => {
                    cell.reason = Some(format!("background load: {e:#}"));
                    return;
                }
            },
            None => None,
        };
        self.measure_with(cell, srv, args, loadgen_cpuset).await;
        if let Some(id) = background {
            let _ = self.engine.remove(&id).await;
        }
    }

    /// Start the background ab (see `config::Background`) and give it time to open its
    /// connections before the measurement starts.
    async fn start_background(
        &self,
        bg: &config::Background,
        srv: &LiveServer,
        server: &config::Server,
        cpuset: Option<&str>,
    ) -> Result<String> {
        let url = format!("http://{}:{}{}", srv.ip, server.port, bg.path);
        let mut args: Vec<String> = [
            "-n",
            "10000000",
            "-c",
            &bg.concurrency.to_string(),
            "-s",
            "120",
            "-r",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if bg.keepalive {
            args.push("-k".into());
        }
        args.push(url);
        let id = self
            .engine
            .start(&self.ab_spec(args, cpuset, "background"))
            .await?;
        tokio::time::sleep(BACKGROUND_SETTLE).await;
        let end = self.engine.state(&id).await?;
        if !end.running {
            let (out, err) = self.engine.logs(&id).await.unwrap_or_default();
            let _ = self.engine.remove(&id).await;
            return Err(anyhow!(
                "the background ab {}: {}",
                end.describe(),
                last_line(&err)
                    .or_else(|| last_line(&out))
                    .unwrap_or_default()
            ));
        }
        Ok(id)
    }

    /// The measurement itself: ab against the server with both containers sampled.
    async fn measure_with(
        &self,
        cell: &mut Cell,
        srv: &LiveServer,
        args: Vec<String>,
        loadgen_cpuset: Option<&str>,
    ) {
        let server_before = self.engine.snapshot(&srv.container).await.ok();
        let server_sampler = self.engine.sample(&srv.container);
        let spec = self.ab_spec(args, loadgen_cpuset, "loadgen");
        let started = Instant::now();
        let ab_id = match self.engine.start(&spec).await {
            Ok(id) => id,
            Err(e) => {
                server_sampler.finish().await;
                cell.reason = Some(format!("{e:#}"));
                return;
            }
        };
        let ab_sampler = self.engine.sample(&ab_id);
        let out = self.collect(&ab_id, CELL_DEADLINE).await;
        cell.wall_s = started.elapsed().as_secs_f64();
        let ab_samples = ab_sampler.finish().await;
        let server_samples = server_sampler.finish().await;
        let server_after = self.engine.snapshot(&srv.container).await.ok();
        if let (Some(b), Some(a)) = (&server_before, &server_after) {
            cell.server_resources = Some(resources::summarize(b, a, &server_samples));
        }
        cell.loadgen_resources = loadgen_summary(started, &ab_samples);

        let out = match out {
            Ok(o) => o,
            Err(e) => {
                let _ = self.engine.remove(&ab_id).await;
                cell.reason = Some(format!("{e:#}"));
                return;
            }
        };
        if let Ok(bytes) = self.engine.read_file(&ab_id, PERCENTILE_FILE).await {
            cell.percentiles_fine = ab::parse_percentile_csv(&String::from_utf8_lossy(&bytes))
                .ok()
                // ab's -e rows are wrong for n <= 50 (see NOTES): keep the whole-ms table.
                .filter(|_| cell.requests > 50);
        }
        let _ = self.engine.remove(&ab_id).await;
        cell.exit_code = out.exit_code;
        let dir = &self.run.dir;
        for (path, text) in [
            (&cell.raw_stdout, &out.stdout),
            (&cell.raw_stderr, &out.stderr),
        ] {
            if let Err(e) = results::write_atomic(&dir.join(path), text.as_bytes()) {
                tracing::error!("{e:#}");
            }
        }
        match ab::parse(&out.stdout) {
            Ok(report) => {
                cell.status = Status::Ok;
                // Without a background load, all of the server's CPU in the window went to
                // this ab run: average it over the time ab actually ran.
                if self.lab.background.is_none() {
                    if let (Some(t), Some(srv)) =
                        (report.time_taken_s, cell.server_resources.as_mut())
                    {
                        srv.average_over(t);
                    }
                }
                let bad = report.failed_requests.unwrap_or(0) + report.non_2xx.unwrap_or(0);
                if bad > 0 {
                    cell.reason = Some(format!(
                        "{} failed, {} non-2xx of {} requests",
                        report.failed_requests.unwrap_or(0),
                        report.non_2xx.unwrap_or(0),
                        report.complete_requests.unwrap_or(0)
                    ));
                }
                cell.ab = Some(report);
            }
            Err(e) => {
                let stderr_line = last_line(&out.stderr);
                cell.reason = Some(match stderr_line {
                    Some(l) => format!("ab exited with code {:?}: {l}", out.exit_code),
                    None => format!("ab exited with code {:?}: {e}", out.exit_code),
                });
            }
        }
        // A server that died under load fails the cell even if ab printed a report.
        if let Ok(end) = self.engine.state(&srv.container).await {
            if !end.running {
                cell.status = Status::Failed;
                cell.reason = Some(format!("the server {} during the cell", end.describe()));
            }
        }
    }
}

struct AbOutput {
    stdout: String,
    stderr: String,
    exit_code: Option<i64>,
}

/// ab's CPU figures from its stats stream. Its container is gone once ab exits, so there is
/// no "after" snapshot: the last sample closes the window. Needs at least one sample taken
/// a while after start; shorter cells get no ab figures (and so no loadgen-bound flag).
fn loadgen_summary(started: Instant, samples: &[StatsSample]) -> Option<ResourceSummary> {
    let last = samples.iter().rfind(|s| {
        s.cpu_total_ns > 0
            && s.at
                .is_some_and(|t| t.duration_since(started).as_millis() >= 500)
    })?;
    let before = StatsSample {
        at: Some(started),
        ..Default::default()
    };
    let inner: Vec<StatsSample> = samples
        .iter()
        .filter(|s| s.at <= last.at)
        .cloned()
        .collect();
    Some(resources::summarize(&before, last, &inner))
}

/// `ab -V` inside the load generator image: the version that actually measures.
async fn ab_version(
    engine: &Engine,
    image: &str,
    network: &str,
    run_id: &str,
    labels: &HashMap<String, String>,
) -> String {
    let spec = ContainerSpec {
        name: unique_name(&format!("lab-{run_id}-ab-version")),
        image: image.to_string(),
        entrypoint: Some(vec!["ab".into()]),
        cmd: vec!["-V".into()],
        labels: labels.clone(),
        network: Some(network.to_string()),
        ..Default::default()
    };
    let result = async {
        let id = engine.start(&spec).await?;
        engine.wait(&id, Duration::from_secs(30)).await?;
        let (out, _) = engine.logs(&id).await?;
        let _ = engine.remove(&id).await;
        Ok::<_, anyhow::Error>(out.lines().next().unwrap_or_default().trim().to_string())
    }
    .await;
    result.unwrap_or_else(|e| format!("unknown ({e:#})"))
}

/// The status line of the response in `ab -v 2` output (`LOG: Response code = 404`).
fn response_status(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let l = l.trim();
        l.strip_prefix("LOG: Response code = ")
            .map(|c| format!("HTTP {c}"))
            .or_else(|| {
                l.strip_prefix("WARNING: Response code not 2xx (")
                    .map(|c| format!("HTTP {}", c.trim_end_matches(')')))
            })
    })
}

fn last_line(text: &str) -> Option<String> {
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}

/// Container names must be unique per engine; probes and cells get a counter suffix.
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

/// Mark a run that did not complete in its results.json (its finished cells stay):
/// `interrupted` (Ctrl-C, SIGTERM, SIGHUP) or `aborted` (an error stopped it).
pub fn mark_stopped(dir: &Path, status: &str) -> Result<()> {
    let path = dir.join("results.json");
    if !path.exists() {
        return Ok(());
    }
    let mut r = results::load(dir)?;
    r.status = status.into();
    r.finished_at = Some(Utc::now().rfc3339());
    results::write_json_atomic(&path, &r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_response_status_in_verbose_ab_output() {
        let text = "Benchmarking 172.18.0.2 (be patient)...\nLOG: header received:\nHTTP/1.1 404 Not Found\n\nWARNING: Response code not 2xx (404)\nLOG: Response code = 404\n";
        assert_eq!(response_status(text).as_deref(), Some("HTTP 404"));
    }

    #[test]
    fn unique_names_are_docker_safe() {
        let a = unique_name("lab-x/y z");
        let b = unique_name("lab-x/y z");
        assert_ne!(a, b);
        assert!(a.starts_with("lab-x-y-z-"));
    }
}
