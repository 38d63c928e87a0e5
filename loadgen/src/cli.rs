//! The command line: `lab run | tune | check | images | report | compare | merge | shards |
//! parse-ab | clean`.
//!
//! Exit codes: 0 done; 1 the command failed; 2 bad input (usage, lab file) or the Docker
//! daemon is unreachable; 3 a run completed with failed cells; 4 a threshold or the
//! regression gate failed; 130 interrupted by Ctrl-C (or SIGTERM, SIGHUP) after cleaning up.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::config::{self, Plan};
use crate::docker::Docker;
use crate::engine::Engine;
use crate::placement::{Engines, Overrides, Placement, Role};
use crate::report;
use crate::run::{self as runner, Ended, OwnedRun, RunId, RunOptions};

mod shards;
pub use shards::{EmitArgs, ShardArgs};

#[derive(Debug, Parser)]
#[command(
    name = "lab",
    version,
    about = "Compare an async and a thread-per-connection HTTP server under ApacheBench, in containers with CPU and memory limits"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// `lab run --repeat`: a fixed count, or `auto` with the file's (or default) settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RepeatOverride {
    Times(u32),
    Auto,
}

fn parse_repeat(text: &str) -> Result<RepeatOverride, String> {
    match text {
        "auto" => Ok(RepeatOverride::Auto),
        n => match n.parse::<u32>() {
            Ok(n) if (1..=crate::config::MAX_REPEAT).contains(&n) => Ok(RepeatOverride::Times(n)),
            _ => Err(format!(
                "`{n}` is not 1..={} or `auto`",
                crate::config::MAX_REPEAT
            )),
        },
    }
}

/// Where each role runs, over the lab file's `hosts:` (see `placement.rs`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct HostArgs {
    /// Docker endpoint of the servers' host (unix://, tcp://, ssh://), over `hosts.servers`
    #[arg(long, env = "LAB_SERVERS_HOST", value_name = "ENDPOINT")]
    pub servers_host: Option<String>,
    /// Docker endpoint of the load generator's host, over `hosts.loadgen`
    #[arg(long, env = "LAB_LOADGEN_HOST", value_name = "ENDPOINT")]
    pub loadgen_host: Option<String>,
    /// Name or IP the load generator uses to reach the servers' host, over
    /// `hosts.servers.address`
    #[arg(long, env = "LAB_SERVERS_ADDRESS", value_name = "HOST")]
    pub servers_address: Option<String>,
}

impl HostArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            servers: self.servers_host.clone(),
            loadgen: self.loadgen_host.clone(),
            address: self.servers_address.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run an experiment and write results/<run-id>/
    Run {
        /// The lab file
        #[arg(default_value = "lab.yaml")]
        file: PathBuf,
        /// Use the existing server images instead of rebuilding them
        #[arg(long)]
        no_build: bool,
        /// Write the run folder under DIR instead of the lab file's `output`
        #[arg(long, value_name = "DIR")]
        output: Option<PathBuf>,
        /// Measure each cell N times (1..=100), or `auto`, instead of the file's `repeat`
        #[arg(long, value_name = "N|auto", value_parser = parse_repeat)]
        repeat: Option<RepeatOverride>,
        /// Write the file's thresholds as JUnit test cases to FILE
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Check each `server-cpu` and `loadgen` verdict with a counterfactual cell (more
        /// server CPU, or more load generator CPU) after the run, as `confirm: true` does
        #[arg(long)]
        confirm: bool,
        #[command(flatten)]
        shard: ShardArgs,
        #[command(flatten)]
        hosts: HostArgs,
    },
    /// Find the smallest CPU and memory limits that still meet the file's `tune:` targets
    Tune {
        /// The lab file, with a `tune:` section
        file: PathBuf,
        /// Use the existing server images instead of rebuilding them
        #[arg(long)]
        no_build: bool,
        /// Write the tune folder under DIR instead of the lab file's `output`
        #[arg(long, value_name = "DIR")]
        output: Option<PathBuf>,
        #[command(flatten)]
        hosts: HostArgs,
    },
    /// Validate a lab file and print the plan and placement (no Docker needed)
    Check {
        #[arg(default_value = "lab.yaml")]
        file: PathBuf,
        #[command(flatten)]
        shard: ShardArgs,
        #[command(flatten)]
        hosts: HostArgs,
    },
    /// Build or resolve every image the lab file needs, each on its role's host
    Images {
        #[arg(default_value = "lab.yaml")]
        file: PathBuf,
        #[command(flatten)]
        hosts: HostArgs,
    },
    /// Re-render the reports of a run from RUN_DIR/results.json (of a tune from tune.json)
    /// and judge its thresholds again (exit 4 when one fails)
    Report {
        run_dir: PathBuf,
        /// Write the run's thresholds as JUnit test cases to FILE
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
    },
    /// Compare two runs: change in req/s and p99 per cell present in both
    Compare {
        a: PathBuf,
        b: PathBuf,
        /// Output format
        #[arg(long, value_enum, default_value_t = report::compare::Format::Markdown)]
        format: report::compare::Format,
        /// Exit 4 when a row got worse by more than PCT with intervals apart (e.g. 5%)
        #[arg(long, value_name = "PCT", value_parser = report::compare::gate::parse_fail_on)]
        fail_on: Option<f64>,
        /// The figures the gate watches (default: all)
        #[arg(long, value_enum, value_delimiter = ',', requires = "fail_on")]
        only: Vec<report::compare::gate::Gated>,
        /// Write the gate's rows as JUnit test cases to FILE
        #[arg(long, value_name = "FILE", requires = "fail_on")]
        junit: Option<PathBuf>,
    },
    /// Trend of each row over many runs (one per commit), with change points, in Markdown
    /// and HTML
    History {
        /// Run folders (each with a results.json)
        #[arg(required = true, num_args = 1..)]
        dirs: Vec<PathBuf>,
        /// How to order the runs: by start time, or by the commits' order in `git log`
        #[arg(long, value_enum, default_value_t = crate::history::Order::Time)]
        order: crate::history::Order,
        /// Folder for history.md, history.html and the charts
        #[arg(long, value_name = "DIR", default_value = "history")]
        output: PathBuf,
    },
    /// Join the run folders of a split sweep's shards into one run folder, with one report
    Merge {
        /// Shard run folders, or folders holding them
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// The merged run folder (new or empty)
        #[arg(long, value_name = "DIR")]
        output: PathBuf,
        /// Merge shards measured on different kinds of host, keeping each host's rows apart
        #[arg(long)]
        allow_mixed_hosts: bool,
    },
    /// Split a sweep into N shards: each shard's points and wall time, or (--emit) a
    /// Kubernetes Indexed Job, a GitHub Actions matrix or a Slurm array that runs them
    Shards(EmitArgs),
    /// Parse saved ab output into JSON on stdout
    ParseAb { file: PathBuf },
    /// Remove containers and networks left behind by lab runs that are no longer running,
    /// on the docker CLI's daemon and on the hosts a lab file (or the flags) name
    Clean {
        /// Also remove those of runs still in progress
        #[arg(long)]
        all: bool,
        /// A lab file whose `hosts:` to clean as well
        file: Option<PathBuf>,
        #[command(flatten)]
        hosts: HostArgs,
    },
}

/// `eprintln!` that never panics: after SIGHUP the terminal is gone and writing to it fails,
/// but the cleanup after it must still run.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Failure classes that pick the exit code:
///
/// | code | meaning |
/// |---|---|
/// | 0 | the run completed and every cell was measured |
/// | 1 | an error stopped the command (a run is marked `aborted`, finished cells kept) |
/// | 2 | bad input: the lab file, the command line, or an unreachable Docker daemon |
/// | 3 | the run completed, but some cells failed, got no 2xx answer, or some servers could not start |
/// | 4 | a threshold failed (`lab run`, `lab report`), or a row got worse (`lab compare --fail-on`); wins over 3 |
/// | 130 | interrupted (Ctrl-C, SIGTERM, SIGHUP); finished cells kept |
#[derive(Debug, thiserror::Error)]
pub enum Exit {
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    CellsFailed(String),
    /// A threshold of the lab file, or the regression gate of `lab compare`, failed.
    #[error("{0}")]
    ThresholdsFailed(String),
    #[error("interrupted")]
    Interrupted,
}

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    init_logging();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            say!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    match rt.block_on(dispatch(cli.command)) {
        Ok(()) => 0,
        Err(e) => {
            if let Some(exit) = e.downcast_ref::<Exit>() {
                return match exit {
                    Exit::BadInput(msg) => {
                        say!("error: {msg}");
                        2
                    }
                    Exit::CellsFailed(msg) => {
                        say!("error: {msg}");
                        3
                    }
                    Exit::ThresholdsFailed(msg) => {
                        say!("error: {msg}");
                        4
                    }
                    Exit::Interrupted => 130,
                };
            }
            if let Some(u) = e.downcast_ref::<crate::docker::Unreachable>() {
                say!("error: {u}");
                return 2;
            }
            say!("error: {e:#}");
            1
        }
    }
}

fn init_logging() {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let indicatif = tracing_indicatif::IndicatifLayer::new();
    let fmt = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_writer(indicatif.get_stderr_writer());
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(indicatif)
        .try_init();
}

async fn dispatch(cmd: Command) -> Result<()> {
    match cmd {
        Command::Check { file, shard, hosts } => check(&file, &shard, &hosts),
        Command::Run {
            file,
            no_build,
            output,
            repeat,
            junit,
            confirm,
            shard,
            hosts,
        } => {
            run(
                &file,
                no_build,
                (output, repeat, confirm),
                junit.as_deref(),
                &shard,
                &hosts,
            )
            .await
        }
        Command::Tune {
            file,
            no_build,
            output,
            hosts,
        } => tune(&file, no_build, output, &hosts).await,
        Command::Images { file, hosts } => images(&file, &hosts).await,
        Command::Report { run_dir, junit } => report_cmd(&run_dir, junit.as_deref()),
        Command::Compare {
            a,
            b,
            format,
            fail_on,
            only,
            junit,
        } => compare(&a, &b, format, fail_on, only, junit.as_deref()),
        Command::History {
            dirs,
            order,
            output,
        } => crate::history::command(&dirs, order, &output),
        Command::Merge {
            dirs,
            output,
            allow_mixed_hosts,
        } => shards::merge(&dirs, &output, allow_mixed_hosts),
        Command::Shards(args) => shards::shards(&args),
        Command::ParseAb { file } => parse_ab(&file),
        Command::Clean { all, file, hosts } => clean(all, file.as_deref(), &hosts).await,
    }
}

/// Read and validate a lab file; a bad file is bad input (exit 2) with file:line:col.
pub fn load_lab(file: &Path) -> Result<config::Lab> {
    config::load(file, crate::host::host_cpus()).map_err(|e| Exit::BadInput(e.to_string()).into())
}

/// [`load_lab`] with the command line's host settings applied over `hosts:`.
fn load_placed(file: &Path, hosts: &HostArgs) -> Result<(config::Lab, Placement)> {
    let mut lab = load_lab(file)?;
    hosts
        .overrides()
        .apply(&mut lab.hosts)
        .map_err(Exit::BadInput)?;
    let placement = Placement::resolve(
        &lab.hosts,
        &file.display().to_string(),
        &|key| std::env::var(key).ok(),
        crate::endpoint::config_dir(&|key| std::env::var(key).ok()).as_deref(),
    )
    .map_err(|e| Exit::BadInput(format!("cannot choose a Docker daemon: {e}")))?;
    Ok((lab, placement))
}

fn check(file: &Path, shard: &ShardArgs, hosts: &HostArgs) -> Result<()> {
    let (lab, placement) = load_placed(file, hosts)?;
    let plan = Plan::new(&lab);
    println!("{}", config::describe(&lab, &plan));
    println!("{}", placement.describe());
    if let Some(tune) = &lab.tune {
        println!("{}", tune.describe(lab.servers.len()));
    }
    if !lab.thresholds.is_empty() {
        println!("{}", config::thresholds::describe(&lab.thresholds));
    }
    shards::check(&lab, shard)?;
    println!("{}: ok", file.display());
    Ok(())
}

/// Connect to the daemon the docker CLI would use, and say which one in the log.
async fn connect() -> Result<std::sync::Arc<dyn Engine>> {
    let engine = Docker::connect().await?;
    tracing::info!("{} at {}", engine.kind().name(), engine.endpoint());
    Ok(std::sync::Arc::new(engine))
}

/// Connect to both roles' daemons and check, before anything starts, that each can run
/// what the lab will start there and that the load generator can reach the servers.
async fn connect_placed(placement: &Placement) -> Result<Engines> {
    let engines = Engines::connect(placement).await?;
    for (role, engine, info) in [
        (Role::Servers, &engines.servers, &engines.servers_info),
        (Role::Loadgen, &engines.loadgen, &engines.loadgen_info),
    ] {
        tracing::info!(
            "{}: {} at {}",
            role.noun(),
            engine.kind().name(),
            engine.endpoint()
        );
        crate::images::check_platform(info).map_err(|e| {
            Exit::BadInput(format!(
                "{} ({}) cannot run this lab: {e:#}",
                role.noun(),
                engine.endpoint()
            ))
        })?;
    }
    engines.route().map_err(Exit::BadInput)?;
    Ok(engines)
}

/// `lab run`. `overrides`: `--output`, `--repeat` and `--confirm`, over the file's.
async fn run(
    file: &Path,
    no_build: bool,
    overrides: (Option<PathBuf>, Option<RepeatOverride>, bool),
    junit: Option<&Path>,
    shard: &ShardArgs,
    hosts: &HostArgs,
) -> Result<()> {
    let (mut lab, placement) = load_placed(file, hosts)?;
    let (output, repeat, confirm) = overrides;
    apply_overrides(&mut lab, output, repeat);
    lab.confirm |= confirm;
    let sweep = shards::sweep_for_run(file, &lab, shard)?;
    crate::host::check_free_space(&lab.output, crate::host::needed_bytes(&Plan::new(&lab)))
        .map_err(|e| Exit::BadInput(format!("{e:#}")))?;
    let engines = connect_placed(&placement).await?;
    for engine in engines.each() {
        let (c, n) = sweep_dead_runs(&**engine).await?;
        if c + n > 0 {
            tracing::info!(
                "removed {c} containers and {n} networks left behind by earlier runs on {}",
                engine.endpoint()
            );
        }
    }
    let owned = match &sweep {
        Some(s) => OwnedRun::create_suffixed(
            &lab,
            &format!("-shard-{}-of-{}", s.shard.index, s.shard.count),
        )?,
        None => OwnedRun::create(&lab)?,
    };
    let run_id = owned.id.clone();
    tracing::info!("run {} → {}", run_id.id, run_id.dir.display());
    let opts = RunOptions {
        lab_file: file.to_path_buf(),
        lab,
        no_build,
        sweep,
    };
    let work = runner::run(&engines, &opts, &owned);
    match runner::guard(&engines, &run_id, work, interrupted()).await {
        Ended::Finished(results) if opts.lab.confirm => {
            match confirm_verdicts(&engines, &opts, &run_id).await {
                Ok(()) => finished(&run_id, &results, junit),
                Err(e) if matches!(e.downcast_ref::<Exit>(), Some(Exit::Interrupted)) => {
                    interrupted_run(&run_id)
                }
                Err(e) => Err(e.context(format!(
                    "checking the verdicts; the run itself is complete in {}",
                    run_id.dir.display()
                ))),
            }
        }
        Ended::Finished(results) => finished(&run_id, &results, junit),
        Ended::Aborted(e) => Err(e),
        Ended::Interrupted => interrupted_run(&run_id),
    }
}

/// `--confirm`: the counterfactual runs after a finished run (see `confirm`). Ctrl-C
/// removes the running one's containers and marks it `interrupted`; the checks already
/// made stay in the run's record. Prints one line per check.
async fn confirm_verdicts(engines: &Engines, opts: &RunOptions, run_id: &RunId) -> Result<()> {
    let current = std::sync::Mutex::new(None);
    let outcome = {
        let work =
            crate::confirm::confirm(engines, &opts.lab_file, &opts.lab, &run_id.dir, &current);
        tokio::pin!(work);
        tokio::select! {
            r = &mut work => Some(r),
            _ = interrupted() => None,
        }
    };
    let running = current.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let (Some(sub), false) = (&running, matches!(outcome, Some(Ok(_)))) {
        runner::cleanup(engines, sub).await;
        let status = if outcome.is_none() {
            "interrupted"
        } else {
            "aborted"
        };
        let _ = runner::mark_stopped(&sub.dir, status);
    }
    match outcome {
        Some(Ok(_)) => Ok(()),
        Some(Err(e)) => Err(e),
        None => {
            say!("interrupted: removed the counterfactual run's containers and network");
            Err(Exit::Interrupted.into())
        }
    }
}

/// `lab tune`: the searches of the file's `tune:` section, each probe a run of its own in
/// the tune folder. Ctrl-C removes the running probe's containers and network, marks that
/// probe and the tune `interrupted`, and renders the report of what was found.
async fn tune(
    file: &Path,
    no_build: bool,
    output: Option<PathBuf>,
    hosts: &HostArgs,
) -> Result<()> {
    let (mut lab, placement) = load_placed(file, hosts)?;
    if lab.tune.is_none() {
        return Err(Exit::BadInput(format!(
            "{}: there is no `tune:` section to search with; add one (see examples/tune.yaml)",
            file.display()
        ))
        .into());
    }
    if let Some(dir) = output {
        lab.output = dir;
    }
    let engines = connect_placed(&placement).await?;
    for engine in engines.each() {
        sweep_dead_runs(&**engine).await?;
    }
    let owned = crate::tune::create_folder(&lab)?;
    let dir = owned.id.dir.clone();
    tracing::info!("tune {} → {}", owned.id.id, dir.display());
    let current = std::sync::Mutex::new(None);
    let outcome = {
        let work = crate::tune::run(&engines, file, &lab, &owned, no_build, &current);
        tokio::pin!(work);
        tokio::select! {
            r = &mut work => Some(r),
            _ = interrupted() => None,
        }
    };
    let probe = current.lock().unwrap_or_else(|e| e.into_inner()).take();
    let stopped = match &outcome {
        Some(Ok(_)) => None,
        Some(Err(_)) => Some("aborted"),
        None => Some("interrupted"),
    };
    if let (Some(status), Some(run)) = (stopped, &probe) {
        runner::cleanup(&engines, run).await;
        let _ = runner::mark_stopped(&run.dir, status);
    }
    match outcome {
        Some(Ok(record)) => {
            print!("{}", crate::tune::report::terminal(&record, &dir));
            Ok(())
        }
        Some(Err(e)) => {
            let _ = crate::tune::mark_stopped(&dir, "aborted");
            Err(e.context(format!(
                "tune stopped; what it found is in {}",
                dir.display()
            )))
        }
        None => {
            say!("interrupted: removed the running probe's containers and network");
            if crate::tune::mark_stopped(&dir, "interrupted").is_ok() {
                say!(
                    "what the tune found so far is in {}",
                    dir.join("tune.md").display()
                );
            }
            Err(Exit::Interrupted.into())
        }
    }
}

/// `--output` and `--repeat` win over the lab file.
fn apply_overrides(lab: &mut config::Lab, output: Option<PathBuf>, repeat: Option<RepeatOverride>) {
    if let Some(dir) = output {
        lab.output = dir;
    }
    match repeat {
        Some(RepeatOverride::Times(n)) => {
            lab.repeat = n;
            lab.repeat_auto = None;
        }
        Some(RepeatOverride::Auto) => {
            let auto = lab.repeat_auto.unwrap_or_default();
            lab.repeat = auto.max;
            lab.repeat_auto = Some(auto);
        }
        None => {}
    }
}

/// A run that completed: reports, the summary, the thresholds, and exit code 4 when a
/// threshold failed, else 3 when cells failed.
fn finished(run_id: &RunId, results: &crate::record::Results, junit: Option<&Path>) -> Result<()> {
    let run = report::Run::load(&run_id.dir)?;
    report::write_all(&run)?;
    print!("{}", report::terminal::summary(&run));
    let report_md = run_id.dir.join("report.md");
    let thresholds = judge_thresholds(&run, junit, &report_md)?;
    println!("\nreport: {}", report_md.display());
    match (thresholds, exit_for(results, &report_md)) {
        (Some(t), Some(Exit::CellsFailed(cells))) => {
            Err(Exit::ThresholdsFailed(format!("{t}; also {cells}")).into())
        }
        (Some(t), _) => Err(Exit::ThresholdsFailed(t).into()),
        (None, Some(exit)) => Err(exit.into()),
        (None, None) => Ok(()),
    }
}

/// Judge the run's thresholds: one line each failed or inconclusive one, the JUnit file if
/// asked for; `Some(message)` when a threshold failed (exit 4).
fn judge_thresholds(
    run: &report::Run,
    junit: Option<&Path>,
    report_md: &Path,
) -> Result<Option<String>> {
    use crate::judge::thresholds::{self, Outcome};
    let judged = thresholds::of_results(&run.results);
    if let Some(path) = junit {
        let suite = report::junit::thresholds_suite(&judged, &run.results.cells);
        report::junit::write(path, &[suite])?;
        println!("junit: {}", path.display());
    }
    if judged.is_empty() {
        return Ok(None);
    }
    let count = |o: Outcome| judged.iter().filter(|j| j.outcome == o).count();
    println!(
        "\nthresholds: {} passed, {} failed, {} inconclusive",
        count(Outcome::Pass),
        count(Outcome::Fail),
        count(Outcome::Inconclusive)
    );
    for j in judged.iter().filter(|j| j.outcome != Outcome::Pass) {
        println!("  {} {}: {}", j.outcome, j.name(), j.why);
    }
    let failed = thresholds::failures(&judged);
    Ok((failed > 0).then(|| {
        format!(
            "{failed} of {} threshold checks failed; the figures are in {}",
            judged.len(),
            report_md.display()
        )
    }))
}

/// `lab compare A B`, with the regression gate when `--fail-on` is given.
fn compare(
    a: &Path,
    b: &Path,
    format: report::compare::Format,
    fail_on: Option<f64>,
    only: Vec<report::compare::gate::Gated>,
    junit: Option<&Path>,
) -> Result<()> {
    let spec = fail_on.map(|fail_on| report::compare::GateSpec {
        fail_on,
        figures: if only.is_empty() {
            report::compare::gate::Gated::ALL.to_vec()
        } else {
            only
        },
    });
    let (cmp, text) = report::compare::render_gated(a, b, format, spec.as_ref())?;
    print!("{text}");
    let Some(gate) = &cmp.gate else {
        return Ok(());
    };
    if let Some(path) = junit {
        report::junit::write(path, &[report::junit::gate_suite(gate)])?;
        say!("junit: {}", path.display());
    }
    let failed = gate.failures();
    if failed.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = failed
        .iter()
        .map(|r| format!("{}: {}", r.row, r.why))
        .collect();
    Err(Exit::ThresholdsFailed(format!(
        "{} row(s) got worse by more than {}%:\n  {}",
        failed.len(),
        gate.fail_on_pct,
        rows.join("\n  ")
    ))
    .into())
}

/// Exit code 3 for a completed run when cells failed, servers could not start, or a cell
/// got no successful (2xx) answer at all: such a cell measured only how fast errors come
/// back, however fast that was. A cell with *some* errors is a finding, not a failure (an
/// overloaded server answering 503 is what a sweep is for): its verdict says `errors`.
fn exit_for(results: &crate::record::Results, report: &Path) -> Option<Exit> {
    let failed = results
        .cells
        .iter()
        .filter(|c| c.status == crate::record::Status::Failed)
        .count();
    let errors_only = results
        .cells
        .iter()
        .filter(|c| c.status == crate::record::Status::Ok)
        .filter(|c| {
            c.measurement()
                .is_some_and(|n| n.complete.unwrap_or(0) <= n.bad())
        })
        .count();
    let servers = results.server_failures.len();
    if failed + servers + errors_only == 0 {
        return None;
    }
    let mut what = Vec::new();
    if failed > 0 {
        what.push(format!("{failed} of {} cells failed", results.cells.len()));
    }
    if errors_only > 0 {
        what.push(format!(
            "{errors_only} of {} cells got no successful (2xx) answer",
            results.cells.len()
        ));
    }
    if servers > 0 {
        what.push(format!("{servers} server instance(s) could not start"));
    }
    Some(Exit::CellsFailed(format!(
        "{}; the reasons are in {}",
        what.join(", "),
        report.display()
    )))
}

/// Ctrl-C, SIGTERM or SIGHUP: the run is cleaned up and marked (see `run::guard`); keep
/// the finished cells' reports, exit 130.
fn interrupted_run(run_id: &RunId) -> Result<()> {
    if run_id.dir.join("results.json").exists() {
        if let Ok(run) = report::Run::load(&run_id.dir) {
            let _ = report::write_all(&run);
        }
        say!("finished cells are kept in {}", run_id.dir.display());
    }
    Err(Exit::Interrupted.into())
}

/// Resolves on Ctrl-C (SIGINT), SIGTERM, or SIGHUP (the terminal went away).
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn images(file: &Path, hosts: &HostArgs) -> Result<()> {
    let (lab, placement) = load_placed(file, hosts)?;
    let engines = connect_placed(&placement).await?;
    let engine = &*engines.servers;
    let models = lab.models();
    for (image, id) in crate::images::build_server_images(engine, &models).await? {
        println!("{image}\t{}", crate::images::short_id(&id));
    }
    for s in &lab.servers {
        if let config::ServerSource::Image(img) = &s.source {
            let id = crate::images::ensure_pulled(engine, img).await?;
            println!("{img}\t{}", crate::images::short_id(&id));
        }
    }
    let (image, id, source) =
        crate::images::resolve_loadgen(&*engines.loadgen, &lab.loadgen.image).await?;
    println!("{image}\t{}\t{source}", crate::images::short_id(&id));
    Ok(())
}

fn report_cmd(dir: &Path, junit: Option<&Path>) -> Result<()> {
    // A `lab tune` folder: its report is rendered from tune.json alone.
    if dir.join(crate::tune::record::FILE).exists() {
        let record = crate::tune::record::TuneRecord::load(dir)?;
        for p in crate::tune::report::write_all(dir, &record)? {
            println!("{}", p.display());
        }
        return Ok(());
    }
    let run = report::Run::load(dir)?;
    for p in report::write_all(&run)? {
        println!("{}", p.display());
    }
    match judge_thresholds(&run, junit, &dir.join("report.md"))? {
        Some(t) => Err(Exit::ThresholdsFailed(t).into()),
        None => Ok(()),
    }
}

/// The most `lab parse-ab` reads: ab's report is about 1.5 KB, with its progress lines
/// and a verbose dump of a few requests well under this. (`/dev/zero` once grew it to 2 GB.)
const MAX_AB_OUTPUT: u64 = 1024 * 1024;

fn parse_ab(file: &Path) -> Result<()> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(MAX_AB_OUTPUT + 1).read_to_end(&mut bytes))
        .with_context(|| format!("cannot read {}", file.display()))?;
    if bytes.len() as u64 > MAX_AB_OUTPUT {
        anyhow::bail!(
            "{}: more than {MAX_AB_OUTPUT} bytes is not the output of one ab run",
            file.display()
        );
    }
    // Bytes that are not UTF-8 are shown as U+FFFD: a message must not copy them raw.
    let text = String::from_utf8_lossy(&bytes);
    match crate::ab::parse(&text) {
        Ok(r) => {
            println!("{}", serde_json::to_string_pretty(&r)?);
            Ok(())
        }
        Err(e) => Err(anyhow::anyhow!("{}: {e}", file.display())),
    }
}

async fn clean(all: bool, file: Option<&Path>, hosts: &HostArgs) -> Result<()> {
    let mut engines = vec![connect().await?];
    // Run folders to look through for runs that died `running`: `results/` here, and the
    // output folder of FILE (a run whose disk filled up could not mark itself).
    let mut outputs = vec![PathBuf::from(crate::config::DEFAULT_OUTPUT)];
    let named = match file {
        Some(f) => {
            let (lab, placement) = load_placed(f, hosts)?;
            outputs.push(lab.output);
            Some(placement)
        }
        None if hosts.servers_host.is_some() || hosts.loadgen_host.is_some() => {
            let mut lab_hosts = config::hosts::Hosts::default();
            hosts
                .overrides()
                .apply(&mut lab_hosts)
                .map_err(Exit::BadInput)?;
            let env = |key: &str| std::env::var(key).ok();
            Some(
                Placement::resolve(&lab_hosts, "the command line", &env, None)
                    .map_err(|e| Exit::BadInput(e.to_string()))?,
            )
        }
        None => None,
    };
    if let Some(placement) = named {
        let both = Engines::connect(&placement).await?;
        for engine in both.each() {
            if engines
                .iter()
                .all(|e| e.endpoint().host != engine.endpoint().host)
            {
                engines.push(engine.clone());
            }
        }
    }
    for engine in engines.iter().map(|e| &**e) {
        let (c, n) = if all {
            engine.sweep(&|_| true).await?
        } else {
            sweep_dead_runs(engine).await?
        };
        println!(
            "removed {c} containers and {n} networks on {}",
            engine.endpoint().host
        );
    }
    outputs.dedup_by(|a, b| same_folder(a, b));
    for output in outputs {
        let marked = mark_dead_runs(&output);
        if marked > 0 {
            println!(
                "marked {marked} dead run(s) in {} as interrupted",
                output.display()
            );
        }
    }
    Ok(())
}

/// Remove the objects of runs whose `lab` process is gone, and mark those runs'
/// results.json `interrupted` (a SIGKILLed run would otherwise stay `running`).
async fn sweep_dead_runs(engine: &dyn Engine) -> Result<(usize, usize)> {
    let dirs = std::sync::Mutex::new(std::collections::BTreeSet::new());
    let removed = engine
        .sweep(&|labels| {
            let gone = runner::owner_is_gone(labels);
            if let (true, Some(dir)) = (gone, runner::owner_dir(labels)) {
                dirs.lock().unwrap_or_else(|e| e.into_inner()).insert(dir);
            }
            gone
        })
        .await?;
    for dir in dirs.into_inner().unwrap_or_else(|e| e.into_inner()) {
        mark_if_dead(&dir);
    }
    Ok(removed)
}

fn same_folder(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// Mark every run under `output` that says `running` but has no live owner.
fn mark_dead_runs(output: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(output) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| mark_if_dead(&e.path()))
        .count()
}

/// A run folder, or a tune folder and its probes' run folders, that says `running` while
/// no `lab` process holds its lock any more: mark it `interrupted`.
fn mark_if_dead(dir: &Path) -> bool {
    if let Ok(tune) = crate::tune::record::TuneRecord::load(dir) {
        if tune.status != crate::record::RunStatus::Running || !runner::run_is_dead(dir) {
            return false;
        }
        if let Ok(probes) = std::fs::read_dir(dir.join("probes")) {
            for probe in probes.flatten() {
                mark_if_dead(&probe.path());
            }
        }
        return crate::tune::mark_stopped(dir, "interrupted").is_ok();
    }
    let running = crate::record::load(dir).is_ok_and(|r| r.status == "running");
    running && runner::run_is_dead(dir) && runner::mark_stopped(dir, "interrupted").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The measured cells of the fixture run of `tests/`, all ok, with `edit` applied.
    fn run_with(edit: impl Fn(&mut serde_json::Value)) -> crate::record::Results {
        let mut v: serde_json::Value = serde_json::from_str(include_str!(
            "../tests/fixtures/runs/a-baseline/results.json"
        ))
        .unwrap();
        v["server_failures"] = serde_json::json!([]);
        let cells = v["cells"].as_array_mut().unwrap();
        cells.retain(|c| c["ab"].is_object());
        for cell in cells {
            cell["status"] = "ok".into();
            cell["reason"] = serde_json::Value::Null;
            edit(cell);
        }
        let mut r = serde_json::from_value(v).unwrap();
        crate::judge::complete(&mut r);
        r
    }

    #[test]
    fn a_run_whose_every_answer_was_an_error_exits_3() {
        let report = Path::new("r/report.md");
        let ok = run_with(|_| {});
        assert!(exit_for(&ok, report).is_none());
        // Every response 500: ab counts them complete and says `Non-2xx responses: 1000`.
        let all_500 = run_with(|c| {
            let complete = c["ab"]["complete_requests"].clone();
            c["ab"]["non_2xx"] = complete;
        });
        let n = all_500.cells.len();
        let expected = format!(
            "{n} of {n} cells got no successful (2xx) answer; the reasons are in r/report.md"
        );
        match exit_for(&all_500, report) {
            Some(Exit::CellsFailed(msg)) => assert_eq!(msg, expected),
            other => panic!("{other:?}"),
        }
        // Some errors are a finding (the verdict says `errors`), not a failure.
        let some_503 = run_with(|c| c["ab"]["non_2xx"] = 10.into());
        assert!(exit_for(&some_503, report).is_none());
    }
}
