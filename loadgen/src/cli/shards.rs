//! The command line of split sweeps: `--shard` / `--shard-count` on `run` and `check`,
//! `lab shards` (job definitions) and `lab merge` (see the `shard` and `merge` modules).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::Exit;
use crate::config::{Lab, Plan};
use crate::meta::sweep::Sweep;
use crate::shard::{self, emit, ShardArg};

/// `--shard i/N|auto` and `--shard-count N`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ShardArgs {
    /// Run only shard i of N (0-based) of the sweep's points, or `auto`: from
    /// JOB_COMPLETION_INDEX (Kubernetes) or SLURM_ARRAY_TASK_ID (Slurm)
    #[arg(long, value_name = "i/N|auto", value_parser = shard::env::parse_arg)]
    pub shard: Option<ShardArg>,
    /// The number of shards: with JOB_COMPLETION_INDEX (`lab run`), or to estimate each
    /// shard's wall time (`lab check`)
    #[arg(long, value_name = "N", value_parser = shard::split::parse_shard_count)]
    pub shard_count: Option<u32>,
}

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

/// The split's points of `lab`, or a one-line refusal when N is too big.
fn fits(lab: &Lab, shard: &shard::Shard) -> Result<()> {
    let points = shard::split::points_of(&Plan::new(lab)).len();
    shard
        .check_fits(points)
        .map_err(|e| Exit::BadInput(e).into())
}

/// `lab run`'s shard, with the identity meta.json records (`None`: the whole sweep).
pub fn sweep_for_run(file: &Path, lab: &Lab, args: &ShardArgs) -> Result<Option<Sweep>> {
    let Some(shard) = shard::resolve(args.shard, args.shard_count, &env).map_err(Exit::BadInput)?
    else {
        return Ok(None);
    };
    fits(lab, &shard)?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let points = shard::split::shard_point_ids(lab, &shard);
    tracing::info!(
        "shard {shard}: {} of the sweep's {} points",
        points.len(),
        shard::split::points_of(&Plan::new(lab)).len()
    );
    Ok(Some(Sweep {
        lab_sha256: shard::sha256_hex(&bytes),
        shard,
        points,
    }))
}

/// `lab check`'s extra lines: one shard's points (`--shard`), or every shard's wall time
/// (`--shard-count` alone).
pub fn check(lab: &Lab, args: &ShardArgs) -> Result<()> {
    if args.shard.is_none() {
        if let Some(n) = args.shard_count {
            fits(lab, &shard::Shard { index: 0, count: n })?;
            println!("{}", shard::estimate::describe(lab, n));
        }
        return Ok(());
    }
    if let Some(s) = shard::resolve(args.shard, args.shard_count, &env).map_err(Exit::BadInput)? {
        fits(lab, &s)?;
        println!("{}", shard::split::describe(lab, &s));
    }
    Ok(())
}

/// `lab shards`' options.
#[derive(Debug, Clone, clap::Args)]
pub struct EmitArgs {
    /// The lab file
    pub file: PathBuf,
    /// How many shards (host pairs)
    #[arg(long, value_parser = shard::split::parse_shard_count)]
    pub count: u32,
    /// Print a job definition for this engine; without it, print each shard's points and
    /// the wall-time estimate
    #[arg(long, value_enum)]
    pub emit: Option<emit::Format>,
    /// Shards running at once (Slurm `%P`, GitHub max-parallel, Kubernetes parallelism)
    #[arg(long, value_name = "P")]
    pub parallel: Option<u32>,
    /// Where each shard writes its run folder (default: the lab file's `output`)
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// The folder the jobs run in, with the repository (Slurm default: this one;
    /// Kubernetes: /src/lab in the image)
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<PathBuf>,
    /// The shards use the images already on their Docker hosts (`lab run --no-build`)
    #[arg(long)]
    pub no_build: bool,
    /// Kubernetes: the container image holding the lab repository with `lab` built
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Kubernetes: the Docker endpoint the pods use (default: the node's socket, mounted)
    #[arg(long, value_name = "ENDPOINT")]
    pub docker_host: Option<String>,
    /// GitHub: the runner label (default: ubuntu-latest)
    #[arg(long, value_name = "LABEL")]
    pub runner: Option<String>,
}

/// `lab shards FILE --count N [--emit FORMAT]`.
pub fn shards(args: &EmitArgs) -> Result<()> {
    let lab = super::load_lab(&args.file)?;
    fits(
        &lab,
        &shard::Shard {
            index: 0,
            count: args.count,
        },
    )?;
    let Some(format) = args.emit else {
        for s in shard::Shard::all(args.count) {
            println!("{}", shard::split::describe(&lab, &s));
        }
        println!("{}", shard::estimate::describe(&lab, args.count));
        return Ok(());
    };
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let workdir = match (&args.workdir, format) {
        (Some(d), _) => Some(d.display().to_string()),
        // Slurm runs the tasks where `lab shards` ran (the repository), wherever sbatch is.
        (None, emit::Format::Slurm) => Some(std::env::current_dir()?.display().to_string()),
        (None, _) => None,
    };
    let job = emit::Job {
        lab: &lab,
        file: args.file.display().to_string(),
        text,
        count: args.count,
        parallel: args.parallel,
        output: args
            .output
            .clone()
            .unwrap_or_else(|| lab.output.clone())
            .display()
            .to_string(),
        workdir,
        no_build: args.no_build,
        image: if format == emit::Format::Github {
            args.runner.clone()
        } else {
            args.image.clone()
        },
        docker_host: args.docker_host.clone(),
    };
    print!("{}", emit::emitter(format).render(&job));
    Ok(())
}

/// `lab merge DIR... --output DIR [--allow-mixed-hosts]`.
pub fn merge(dirs: &[PathBuf], output: &Path, allow_mixed_hosts: bool) -> Result<()> {
    let merged = crate::merge::merge(dirs, output, allow_mixed_hosts).map_err(|e| {
        match e.downcast_ref::<crate::merge::Refusal>() {
            Some(r) => Exit::BadInput(r.0.clone()).into(),
            None => e,
        }
    })?;
    let run = crate::report::Run::load(&merged.dir)?;
    print!("{}", crate::report::terminal::summary(&run));
    println!(
        "\nmerged {} shards ({} cells{}) into {}",
        merged.shards,
        merged.cells,
        if merged.hosts > 1 {
            format!(", {} kinds of host, each host's rows apart", merged.hosts)
        } else {
            String::new()
        },
        merged.dir.display()
    );
    println!("report: {}", merged.dir.join("report.md").display());
    Ok(())
}
