//! One cell: read both containers' cumulative counters, run the load tool (ab or oha, see
//! `tool`) through the agent (which scrapes the server's metrics just before and after),
//! read the counters again, then turn it all into the cell's figures, raw files, flags and
//! verdict. Also the short closed-loop pass that measures the capacity an open-loop
//! percentage rate refers to ([`capacity`]).
//!
//! Counters bracket the cell exactly however short it is: CPU seconds and throttled
//! periods are the differences of two one-shot stats reads (~10 ms each), ab's CPU comes
//! from the kernel's rusage of the reaped ab process, and the peaks of open connections
//! and threads come from the server's own since-last-scrape maxima.

use std::time::{Duration, Instant};

use agent::RunReport;
use anyhow::{anyhow, Result};

use super::sampler::PeriodSampler;
use super::servers::LiveServer;
use super::session::Session;
use super::{describe_exit, last_line, unique_name, Ctx};
use crate::ab;
use crate::config;
use crate::engine::{ContainerSpec, StatsSample};
use crate::metrics::{self, CellMetrics};
use crate::record::{self as results, Cell, Status, ToolUsage};
use crate::resources;
use crate::tool::{self, Amount};
use crate::tool::{Load, PERCENTILE_FILE};

/// Upper bound on one counted run; the tool's own timeout bounds each request.
const CELL_DEADLINE: Duration = Duration::from_secs(900);

/// A timed cell's bound: its duration plus the per-request timeout (the requests in flight
/// at the end) plus the slack of a counted run.
fn cell_deadline(ctx: &Ctx<'_>) -> Duration {
    let lg = &ctx.lab.loadgen;
    match lg.duration_s {
        Some(d) => CELL_DEADLINE + Duration::from_secs_f64(d + lg.timeout_s as f64),
        None => CELL_DEADLINE,
    }
}
/// Time the background ab gets to open its connections before a measurement.
const BACKGROUND_SETTLE: Duration = Duration::from_secs(2);

/// How the server was after the cell.
pub enum ServerAfter {
    Running,
    /// It is gone; the text says how it ended.
    Ended(String),
}

/// Measure `cell` against `srv`. The cell comes back filled in, ok or failed with a reason.
pub async fn measure(
    ctx: &Ctx<'_>,
    session: &Session,
    srv: &LiveServer,
    cell: &mut Cell,
) -> ServerAfter {
    let started = Instant::now();
    let policy_s = config::length::cell_seconds(ctx.lab, &cell.path);
    let sized = ctx.lab.loadgen.sized_by_policy();
    let key = point_key(cell);
    let learnt = sized
        .then(|| session.lengths.lock().ok()?.get(&key).copied())
        .flatten();
    let collect = set_length(ctx, srv, cell, learnt.or(policy_s));
    let background = match &ctx.lab.background {
        Some(bg) => match start_background(ctx, bg, srv, session.cpuset.as_deref()).await {
            Ok(id) => Some(id),
            Err(e) => {
                cell.reason = Some(format!("background load: {e:#}"));
                return server_after(ctx, srv).await;
            }
        },
        None => None,
    };
    let before = neighbours_before(ctx, session, cell).await;
    let timed = policy_s.is_some();
    let mut measured =
        run_bracketed(ctx, session, srv, &commands(ctx, cell), &collect, timed).await;
    let longer = match &measured {
        Ok(m) if sized && learnt.is_none() => longer_try(ctx, cell, m),
        _ => None,
    };
    if let Some(s) = longer {
        tracing::info!(
            "{}: its requests' latency left fewer than {} quota periods of steady load in {} s; measuring it again for {s} s (and the point's next cells)",
            cell.id,
            ctx.lab.loadgen.min_periods,
            cell.duration_s.unwrap_or_default()
        );
        if let Ok(mut lengths) = session.lengths.lock() {
            lengths.insert(key, s);
        }
        set_length(ctx, srv, cell, Some(s));
        measured = run_bracketed(ctx, session, srv, &commands(ctx, cell), &collect, timed).await;
    }
    match measured {
        Ok(m) => fill(ctx, cell, m),
        Err(e) => cell.reason = Some(format!("{e:#}")),
    }
    if let (Some(steady), Some(p), Some(s)) = (&mut cell.steady, policy_s, cell.duration_s) {
        steady.lengthened_from_s = (s > p).then_some(p);
    }
    let at_end = neighbours(ctx, cell).await;
    remember_neighbours(session, cell, &at_end);
    cell.neighbours = before.into_iter().chain(at_end).collect();
    cell.neighbours.sort();
    cell.neighbours.dedup();
    if let Some(id) = background {
        let _ = ctx.loadgen.engine.remove(&id).await;
    }
    let after = server_after(ctx, srv).await;
    // A server that died under load fails the cell even if ab printed a report.
    if let ServerAfter::Ended(how) = &after {
        cell.status = Status::Failed;
        cell.reason = Some(format!("the server {how} during the cell"));
    }
    crate::judge::judge(cell);
    cell.wall_s = started.elapsed().as_secs_f64();
    after
}

/// The cell's point (group, server, workload, concurrency, keep-alive): what its
/// repetitions share.
fn point_key(cell: &Cell) -> String {
    format!(
        "{}/{}/{}/{}/{}",
        cell.group, cell.server, cell.workload, cell.concurrency, cell.keepalive
    )
}

/// Give the cell its length (`seconds`; `None`: its requests) and the load tool's command
/// for it (one per process, see `loadgen.processes`, on each load generator host, see
/// `spread`); the files the tool leaves to collect.
fn set_length(
    ctx: &Ctx<'_>,
    srv: &LiveServer,
    cell: &mut Cell,
    seconds: Option<f64>,
) -> Vec<&'static str> {
    let url = srv.url(&cell.path);
    // Each host connects to the server by its own route.
    let urls: Vec<String> = (0..ctx.loadgen_hosts())
        .map(|h| srv.url_from(h, &cell.path))
        .collect();
    let driver = ctx.lab.loadgen.tool.driver();
    cell.duration_s = seconds;
    let load = Load {
        amount: match seconds {
            Some(s) => Amount::Seconds(s),
            None => Amount::Requests(cell.requests),
        },
        concurrency: cell.concurrency,
        rate: cell.offered_rps,
        timeout_s: ctx.lab.loadgen.timeout_s,
        keepalive: cell.keepalive,
        url: &url,
        percentiles: true,
        per_request: true,
    };
    // A tool that runs a thread per core itself (oha) is always one process (per host).
    let per_host = match driver.max_cores() {
        Some(_) => ctx
            .lab
            .loadgen
            .processes
            .resolve(crate::pin::loadgen_cores(&cell.limits), cell.concurrency),
        None => 1,
    };
    let hosts = ctx.loadgen_hosts();
    let loads = tool::processes::split(&load, per_host * hosts as u32);
    let owners = super::spread::hosts_of(loads.len(), hosts);
    let mut commands = (loads.iter().zip(&owners))
        .map(|(l, &h)| {
            driver.command(&Load {
                url: &urls[h],
                ..l.clone()
            })
        })
        .collect::<Vec<_>>();
    cell.command = commands.first().cloned().unwrap_or_default();
    cell.processes = match commands.len() {
        1 => Vec::new(),
        _ => (commands.drain(..).zip(owners).enumerate())
            .map(|(i, (command, h))| results::ProcessRun {
                host: (hosts > 1).then(|| ctx.loadgen_side(h).engine.endpoint().host.clone()),
                ..process_run(cell, i, command)
            })
            .collect(),
    };
    driver.collect(&load)
}

/// Process `i` (from 0) of a cell that runs several: its command and its raw files (the
/// first process's are the cell's own; the others' carry `.p2`, `.p3`, ...).
fn process_run(cell: &Cell, i: usize, command: Vec<String>) -> results::ProcessRun {
    let stem = format!("raw/{}.", cell.id);
    let renamed = |path: &str| match i {
        0 => path.to_string(),
        _ => path.replacen(&stem, &format!("raw/{}.p{}.", cell.id, i + 1), 1),
    };
    results::ProcessRun {
        command,
        raw_stdout: renamed(&cell.raw_stdout),
        raw_stderr: renamed(&cell.raw_stderr),
        raw_requests: Some(renamed(&format!("raw/{}.requests.tsv.gz", cell.id))),
        ..Default::default()
    }
}

/// The commands of a cell's run: one per process, each with the load generator host it
/// runs on (0 the first).
fn commands(ctx: &Ctx<'_>, cell: &Cell) -> Vec<(usize, Vec<String>)> {
    match cell.processes.is_empty() {
        true => vec![(0, cell.command.clone())],
        false => (cell.processes.iter())
            .map(|p| (super::spread::host_of(ctx, p), p.command.clone()))
            .collect(),
    }
}

/// A first try of a cell sized by the policy that kept fewer quota periods of steady load
/// than the policy wants because its requests' latency left too little room before the
/// tool stopped (the window ends where the requests still in flight begin): the length,
/// seconds, that holds them at that latency, when it is longer than the try's.
fn longer_try(ctx: &Ctx<'_>, cell: &Cell, m: &Measured) -> Option<f64> {
    let seconds = cell.duration_s?;
    let log = request_log(ctx, &m.report)?;
    let steady = steady_window(ctx, cell, m, &log)?;
    if steady.periods_covered >= f64::from(steady.periods_wanted) {
        return None;
    }
    // The latency that ended the window early: the tail of the requests from its first
    // second on, as `judge::steady` allows for it (the window's own requests may not hold
    // that tail: it is what cut the window short).
    let tail_s = crate::judge::steady::tail_latency_s(&log, steady.window_start_unix_s);
    let latency_s = (steady.latency_ms.get("100").copied()? / 1000.0).max(tail_s);
    let longer = config::length::seconds_for_latency(ctx.lab, &cell.path, latency_s);
    (longer > seconds).then_some(longer)
}

/// How long the last cell's closing look stands for the next cell's opening one: the lab
/// goes from one cell to the next in milliseconds (recording the cell between them).
const NEIGHBOURS_FRESH: Duration = Duration::from_millis(500);

/// The other lab runs on this cell's CPUs just before it: the previous cell's closing
/// look when it was on the same CPUs moments ago, else a new look.
async fn neighbours_before(ctx: &Ctx<'_>, session: &Session, cell: &Cell) -> Vec<String> {
    let cpusets = [
        cell.limits.cpuset.clone(),
        cell.limits.loadgen_cpuset.clone(),
    ];
    let last = session
        .last_neighbours
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    match last {
        Some(seen) if seen.cpusets == cpusets && seen.at.elapsed() < NEIGHBOURS_FRESH => seen.runs,
        _ => neighbours(ctx, cell).await,
    }
}

fn remember_neighbours(session: &Session, cell: &Cell, runs: &[String]) {
    *session
        .last_neighbours
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = Some(super::session::SeenNeighbours {
        cpusets: [
            cell.limits.cpuset.clone(),
            cell.limits.loadgen_cpuset.clone(),
        ],
        at: Instant::now(),
        runs: runs.to_vec(),
    });
}

/// Other live lab runs on this cell's CPUs (see [`super::owner::neighbours`]): asked
/// before and after the measurement, outside the measured window.
async fn neighbours(ctx: &Ctx<'_>, cell: &Cell) -> Vec<String> {
    let mut engines = vec![ctx.servers.engine];
    if ctx.loadgen.engine.endpoint().host != ctx.servers.engine.endpoint().host {
        engines.push(ctx.loadgen.engine);
    }
    let cpusets = [
        cell.limits.cpuset.as_deref(),
        cell.limits.loadgen_cpuset.as_deref(),
    ];
    super::owner::neighbours(&engines, &ctx.run.id, &cpusets).await
}

/// Everything one measurement gathered, before interpretation.
struct Measured {
    report: RunReport,
    server: (StatsSample, StatsSample),
    /// The server's stats stream during the cell, when its counters keep no peaks.
    server_samples: Vec<StatsSample>,
    loadgen: (StatsSample, StatsSample),
    /// The server's CPU counters read every quota period during the cell (cgroup files).
    server_periods: Vec<crate::record::CounterSample>,
    /// The CFS period and quota in force in the server's container, and where read.
    bandwidth: (f64, Option<f64>, &'static str),
    server_source: &'static str,
    loadgen_source: &'static str,
    server_peak_reset: bool,
    loadgen_peak_reset: bool,
}

async fn run_bracketed(
    ctx: &Ctx<'_>,
    session: &Session,
    srv: &LiveServer,
    commands: &[(usize, Vec<String>)],
    collect: &[&str],
    timed: bool,
) -> Result<Measured> {
    let scrapes: Vec<String> = srv.metrics_url().into_iter().collect();
    let bandwidth = match srv.counters.bandwidth() {
        Some((period, quota)) => (period, quota, "cgroup"),
        None => (ctx.lab.resources.period_s(), None, "configured"),
    };
    let server_peak_reset = srv.counters.reset_memory_peak();
    let loadgen_peak_reset = session.counters.reset_memory_peak();
    let (server_before, loadgen_before) = tokio::join!(
        srv.counters.read(ctx.servers.engine, &srv.container),
        session.read_counters(ctx)
    );
    let sampler = srv
        .counters
        .samples_peaks()
        .then(|| ctx.servers.engine.sample(&srv.container));
    let periods = PeriodSampler::start(&srv.counters, Duration::from_secs_f64(bandwidth.0));
    let report = super::spread::run(
        ctx,
        session,
        commands,
        &scrapes,
        collect,
        cell_deadline(ctx),
        timed,
    )
    .await;
    let server_periods = periods.finish().await;
    let server_samples = match sampler {
        Some(s) => srv.counters.adjust_all(s.finish().await),
        None => Vec::new(),
    };
    let report = report?;
    let (server_after, loadgen_after) = tokio::join!(
        srv.counters.read(ctx.servers.engine, &srv.container),
        session.read_counters(ctx)
    );
    Ok(Measured {
        report,
        server: (server_before?, server_after?),
        server_samples,
        loadgen: (loadgen_before?, loadgen_after?),
        server_periods,
        bandwidth,
        server_source: srv.counters.as_str(),
        loadgen_source: session.counters.as_str(),
        server_peak_reset,
        loadgen_peak_reset,
    })
}

/// Interpret a measurement into the cell: raw files, ab's report, resources, metrics.
fn fill(ctx: &Ctx<'_>, cell: &mut Cell, m: Measured) {
    let r = &m.report;
    // Several processes: the first that did not exit 0 speaks for the cell.
    cell.exit_code = r
        .processes()
        .find(|p| p.exit_code != Some(0))
        .unwrap_or(r)
        .exit_code
        .map(i64::from);
    save_raw(ctx, cell, r);
    cell.tool_usage = Some(usage_of_all(r));
    let mut server = resources::summarize(
        &m.server.0,
        &m.server.1,
        &m.server_samples,
        m.server_peak_reset,
    );
    server.source = m.server_source.to_string();
    let mut loadgen = resources::summarize(&m.loadgen.0, &m.loadgen.1, &[], m.loadgen_peak_reset);
    loadgen.source = m.loadgen_source.to_string();
    cell.loadgen_resources = Some(loadgen);
    if let (Some(b), Some(a)) = (r.scrapes_before.first(), r.scrapes_after.first()) {
        let metrics = CellMetrics::between(&metrics::parse(&b.body), &metrics::parse(&a.body));
        cell.server_metrics = (!metrics.is_empty()).then_some(metrics);
    }
    // Every process's per-request data, parsed once: the merge's percentiles and the
    // steady window both read it.
    let log = request_log(ctx, r);
    match parse_all(ctx, cell, r, log.as_ref()) {
        Ok(counts) => {
            cell.status = Status::Ok;
            cell.measurement = Some(counts.clone());
            cell.steady = log.as_ref().and_then(|l| steady_window(ctx, cell, &m, l));
            // Without a background load, all of the server's CPU in the window went to
            // this run: average it over the time the tool actually measured.
            if ctx.lab.background.is_none() {
                if let Some(t) = counts.time_taken_s {
                    server.average_over(t);
                }
            }
            if counts.bad() > 0 {
                cell.reason = Some(format!(
                    "{} failed, {} non-2xx of {} requests",
                    counts.failed.unwrap_or(0),
                    counts.non_2xx.unwrap_or(0),
                    counts.complete.unwrap_or(0)
                ));
            }
        }
        Err(e) => cell.reason = Some(e),
    }
    cell.server_resources = Some(server);
}

/// Parse every process's report into the cell (its tool report: the first process's) and
/// return the cell's measurement: the one process's, or the exact merge of several (see
/// `tool::processes`). `Err`: why a process's output gave no report.
fn parse_all(
    ctx: &Ctx<'_>,
    cell: &mut Cell,
    r: &RunReport,
    log: Option<&results::RequestLog>,
) -> Result<results::Measurement, String> {
    let tool = ctx.lab.loadgen.tool;
    let several = !r.others.is_empty();
    let mut parts = Vec::new();
    for (i, p) in r.processes().enumerate() {
        let parsed = tool.driver().parse(&p.stdout, &p.files).map_err(|e| {
            let detail = last_line(&p.stderr).unwrap_or(e);
            let which = if several {
                format!(" (process {})", i + 1)
            } else {
                String::new()
            };
            format!("{tool}{which} {}: {detail}", describe_exit(p))
        })?;
        let counts = tool::measurement(&parsed, None);
        if let Some(run) = cell.processes.get_mut(i) {
            run.exit_code = p.exit_code.map(i64::from);
            run.usage = Some(usage_of(p));
            run.complete = counts.complete;
            run.rps = counts.rps;
            run.started_unix_s = p.started_unix_s;
        }
        if i == 0 {
            // ab's -e rows are wrong for 50 requests or fewer (see NOTES): keep the
            // whole-ms table then. A timed cell asks for no count: what it completed
            // counts. Several processes' -e files cannot be merged: none then.
            cell.percentiles_fine = r
                .files
                .get(PERCENTILE_FILE)
                .and_then(|text| ab::parse_percentile_csv(text).ok())
                .filter(|_| counts.complete.unwrap_or(0) > 50 && !several);
            cell.report = Some(parsed.clone());
        }
        parts.push(match (i, &cell.percentiles_fine) {
            (0, Some(fine)) => tool::measurement(&parsed, Some(fine)),
            _ => counts,
        });
    }
    Ok(match several {
        false => parts.remove(0),
        true => tool::processes::merge(&parts, log, cell.concurrency),
    })
}

/// One process's exact resource use.
fn usage_of(p: &RunReport) -> ToolUsage {
    ToolUsage {
        cpu_s: p.cpu_s(),
        user_s: p.user_s,
        sys_s: p.sys_s,
        wall_s: p.wall_s,
        max_rss_kib: p.max_rss_kib,
    }
}

/// The tool's resource use over all its processes: CPU summed, the longest wall time, the
/// largest peak memory.
fn usage_of_all(r: &RunReport) -> ToolUsage {
    r.processes()
        .map(usage_of)
        .fold(ToolUsage::default(), |a, b| ToolUsage {
            cpu_s: a.cpu_s + b.cpu_s,
            user_s: a.user_s + b.user_s,
            sys_s: a.sys_s + b.sys_s,
            wall_s: a.wall_s.max(b.wall_s),
            max_rss_kib: a.max_rss_kib.max(b.max_rss_kib),
        })
}

/// The per-request data of every process of the run, as one log; `None` when a process
/// wrote none (then no figure may come from part of the requests).
fn request_log(ctx: &Ctx<'_>, r: &RunReport) -> Option<results::RequestLog> {
    let driver = ctx.lab.loadgen.tool.driver();
    let mut log = results::RequestLog::default();
    for p in r.processes() {
        log.merge(&driver.request_log(&p.files)?);
    }
    Some(log)
}

/// The cell's steady window, from the tool's per-request data (`log`: ab `-g`, every
/// process's) and the server's per-period counters.
fn steady_window(
    ctx: &Ctx<'_>,
    cell: &Cell,
    m: &Measured,
    log: &results::RequestLog,
) -> Option<crate::record::Steady> {
    let r = &m.report;
    let started = r.started_unix_s?;
    let ended = r.ended_unix_s.unwrap_or(started + r.wall_s);
    // A timed tool stops sending at its duration; what follows is its report being written.
    let stopped = cell
        .duration_s
        .map_or(ended, |d| (started + d.ceil()).min(ended));
    let (period_s, quota, source) = m.bandwidth;
    Some(crate::judge::steady::steady(
        &crate::judge::steady::Inputs {
            log,
            tool_start_unix_s: started,
            tool_end_unix_s: stopped,
            samples: &m.server_periods,
            period_s,
            period_source: source,
            // Read from the cgroup when it could be; else the limit the lab set.
            quota_cores: match source {
                "cgroup" => quota.map(|q| q / period_s),
                _ => Some(cell.limits.cpus),
            },
            min_periods: ctx.lab.loadgen.min_periods,
        },
    ))
}

/// The tool's stdout and stderr (every process's), its per-request files, and the server's
/// metrics scrapes, under `raw/`.
fn save_raw(ctx: &Ctx<'_>, cell: &Cell, r: &RunReport) {
    let dir = &ctx.run.dir;
    let mut files = Vec::new();
    for (i, p) in r.processes().enumerate() {
        let (stdout, stderr) = match cell.processes.get(i) {
            Some(run) => (run.raw_stdout.clone(), run.raw_stderr.clone()),
            None => (cell.raw_stdout.clone(), cell.raw_stderr.clone()),
        };
        files.push((stdout, p.stdout.clone()));
        files.push((stderr, p.stderr.clone()));
    }
    if !r.scrapes_before.is_empty() {
        let text = |label: &str, f: &[agent::Fetch]| {
            f.iter()
                .map(|f| format!("# {label} {}\n{}", f.url, f.body))
                .collect::<String>()
        };
        files.push((
            format!("raw/{}.metrics.txt", cell.id),
            text("before", &r.scrapes_before) + &text("after", &r.scrapes_after),
        ));
    }
    for (path, text) in files {
        if let Err(e) = results::write_atomic(&dir.join(path), text.as_bytes()) {
            tracing::error!("{e:#}");
        }
    }
    // The per-request files: tens of thousands of similar lines, kept compressed.
    for (i, p) in r.processes().enumerate() {
        let Some(text) = p.files.get(tool::ab::REQUESTS_FILE) else {
            continue;
        };
        let path = match cell
            .processes
            .get(i)
            .and_then(|run| run.raw_requests.clone())
        {
            Some(path) => path,
            None => format!("raw/{}.requests.tsv.gz", cell.id),
        };
        let path = dir.join(path);
        if let Err(e) = gzip(text.as_bytes()).and_then(|b| results::write_atomic(&path, &b)) {
            tracing::error!("{e:#}");
        }
    }
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(bytes)?;
    Ok(z.finish()?)
}

/// Is the server still running? When not, how it ended and its last log line.
async fn server_after(ctx: &Ctx<'_>, srv: &LiveServer) -> ServerAfter {
    match ctx.servers.engine.state(&srv.container).await {
        Ok(end) if !end.running => {
            let (out, err) = ctx
                .servers
                .engine
                .logs(&srv.container)
                .await
                .unwrap_or_default();
            let how = match last_line(&err).or_else(|| last_line(&out)) {
                Some(line) => format!("{} (its last log line: {line})", end.describe()),
                None => end.describe(),
            };
            ServerAfter::Ended(how)
        }
        _ => ServerAfter::Running,
    }
}

/// Start the background load (see `config::Background`) in a container of its own, and give
/// it time to open its connections before the measurement starts.
async fn start_background(
    ctx: &Ctx<'_>,
    bg: &config::Background,
    srv: &LiveServer,
    cpuset: Option<&str>,
) -> Result<String> {
    let url = srv.url(&bg.path);
    let mut cmd = ctx.lab.loadgen.tool.driver().command(&Load {
        amount: Amount::Requests(10_000_000),
        rate: None,
        concurrency: bg.concurrency,
        timeout_s: 120,
        keepalive: bg.keepalive,
        url: &url,
        percentiles: false,
        per_request: false,
    });
    let program = cmd.remove(0);
    let mut labels = ctx.labels.clone();
    labels.insert("lab.role".into(), "background".into());
    let spec = ContainerSpec {
        name: unique_name(&format!(
            "lab-{}-{}-background",
            ctx.run.id, ctx.lab.loadgen.tool
        )),
        image: ctx.loadgen_image.to_string(),
        entrypoint: Some(vec![program]),
        cmd,
        labels,
        network: Some(ctx.loadgen.network.to_string()),
        cpus: ctx.lab.loadgen.cpus,
        cpuset: cpuset.map(str::to_string),
        memory: Some(super::session::LOADGEN_MEMORY),
        pids: Some(super::session::LOADGEN_PIDS),
        user: Some("65534:65534".into()),
        drop_privileges: true,
        ulimits: ctx.ulimits.to_vec(),
        ..Default::default()
    };
    let id = ctx.loadgen.engine.start(&spec, None).await?;
    tokio::time::sleep(BACKGROUND_SETTLE).await;
    let end = ctx.loadgen.engine.state(&id).await?;
    if !end.running {
        let (out, err) = ctx.loadgen.engine.logs(&id).await.unwrap_or_default();
        let _ = ctx.loadgen.engine.remove(&id).await;
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
