//! `lab history DIR...`: many runs of the same lab file (one per commit, say), each row's
//! figures over them as a trend, and the runs where a figure stepped ([`change`]).
//!
//! Runs are ordered by their start time, or with `--order git` by where their commit
//! (`meta.json`'s `git_commit`) sits in `git log` of the current directory's repository,
//! oldest first. A row is a server at one concurrency (or offered rate) of one series, the
//! same identity thresholds use (without the resource group when every run has one, so
//! that a changed limit is followed, not split); a row missing from a run is a gap.
//!
//! Output: `history.md` and `history.html` (charts inline) and `charts/*.svg` in the
//! output folder; the change points are also printed.

pub mod change;
mod render;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::config::thresholds::Figure;
use crate::judge::thresholds::{figure_of, row_name, row_name_without_group};
use crate::record::{Percentile, Results, Status};
use change::ChangePoint;

/// How `lab history` orders the runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Order {
    /// By the time each run started
    Time,
    /// By the commit each run measured, in `git log` order of the current repository
    Git,
}

/// One run of the history.
#[derive(Debug, Clone)]
pub struct Entry {
    pub dir: PathBuf,
    pub results: Results,
    /// `meta.json`'s `git_commit`, when recorded.
    pub commit: Option<String>,
}

impl Entry {
    /// The commit's first 7 characters, or `—`.
    pub fn short_commit(&self) -> String {
        self.commit
            .as_deref()
            .map_or("—".into(), |c| c.chars().take(7).collect())
    }
}

/// The figures a history follows, each with its change points: the figure, its label,
/// and the factor from the figure's unit to the label's.
pub const FIGURES: [(Figure, &str, f64); 3] = [
    (Figure::GoodRps, "good req/s", 1.0),
    (
        Figure::Latency {
            percentile: Percentile::P99.0,
        },
        "p99 ms",
        1.0,
    ),
    (Figure::CpuPerRequest, "server CPU µs/request", 1e6),
];

/// One row over the runs.
#[derive(Debug, Clone)]
pub struct Trend {
    pub row: String,
    /// Per figure of [`FIGURES`], per run: the figure of each measured repetition.
    pub values: Vec<Vec<Vec<f64>>>,
    /// Per figure of [`FIGURES`]: its change points.
    pub changes: Vec<Vec<ChangePoint>>,
}

/// The whole history: the runs in order and every row's trend.
#[derive(Debug, Clone)]
pub struct History {
    pub entries: Vec<Entry>,
    pub trends: Vec<Trend>,
}

/// `lab history`: read, order, find the steps, write the reports, print the steps.
pub fn command(dirs: &[PathBuf], order: Order, output: &Path) -> Result<()> {
    let mut entries = dirs.iter().map(|d| load(d)).collect::<Result<Vec<_>>>()?;
    match order {
        Order::Time => sort_by_time(&mut entries),
        Order::Git => sort_by_git(&mut entries, &git_log()?)?,
    }
    let history = History::of(entries);
    for p in render::write(&history, output)? {
        println!("{}", p.display());
    }
    print!("{}", render::summary(&history));
    Ok(())
}

/// A run folder's record and commit.
pub fn load(dir: &Path) -> Result<Entry> {
    let results = crate::judge::load(dir)?;
    let commit = std::fs::read_to_string(dir.join("meta.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("git_commit")?.as_str().map(str::to_string));
    Ok(Entry {
        dir: dir.to_path_buf(),
        results,
        commit,
    })
}

/// Oldest first (RFC 3339 start times sort as text); ties keep the command line's order.
pub fn sort_by_time(entries: &mut [Entry]) {
    entries.sort_by(|a, b| a.results.started_at.cmp(&b.results.started_at));
}

/// Oldest commit first, by position in `log` (newest first, as `git log` prints it);
/// runs of one commit by time. A run without a commit, or with one not in the log, is an
/// error: it has no place in the order.
pub fn sort_by_git(entries: &mut [Entry], log: &[String]) -> Result<()> {
    let position = |e: &Entry| -> Result<usize> {
        let Some(c) = &e.commit else {
            bail!(
                "{}: meta.json records no git commit; order by --order time",
                e.dir.display()
            );
        };
        log.iter()
            .position(|l| l.starts_with(c.as_str()) || c.starts_with(l.as_str()))
            .with_context(|| {
                format!(
                    "{}: commit {c} is not in `git log` of this repository",
                    e.dir.display()
                )
            })
    };
    let mut keyed = Vec::new();
    for e in entries.iter() {
        keyed.push((
            std::cmp::Reverse(position(e)?),
            e.results.started_at.clone(),
        ));
    }
    let mut idx: Vec<usize> = (0..entries.len()).collect();
    idx.sort_by(|a, b| keyed[*a].cmp(&keyed[*b]));
    let sorted: Vec<Entry> = idx.iter().map(|i| entries[*i].clone()).collect();
    entries.clone_from_slice(&sorted);
    Ok(())
}

/// Commit hashes of `git log` in the current directory, newest first.
fn git_log() -> Result<Vec<String>> {
    let out = std::process::Command::new("git")
        .args(["log", "--format=%H"])
        .output()
        .context("cannot run git")?;
    if !out.status.success() {
        bail!(
            "git log failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect())
}

impl History {
    /// Every row of every run, in order of first appearance, with its change points.
    pub fn of(entries: Vec<Entry>) -> History {
        // As `lab compare`: when every run has one resource group, a changed limit is what
        // the history follows, so the group does not split a row.
        let by_group = entries.iter().any(|e| {
            let mut labels: Vec<&str> = e
                .results
                .cells
                .iter()
                .map(|c| c.group_label.as_str())
                .collect();
            labels.sort_unstable();
            labels.dedup();
            labels.len() > 1
        });
        let row_name = |c: &crate::record::Cell| {
            if by_group {
                row_name(c)
            } else {
                row_name_without_group(c)
            }
        };
        let mut rows: Vec<String> = Vec::new();
        for e in &entries {
            for c in &e.results.cells {
                let name = row_name(c);
                if !rows.contains(&name) {
                    rows.push(name);
                }
            }
        }
        let trends = rows
            .into_iter()
            .map(|row| {
                let values: Vec<Vec<Vec<f64>>> = FIGURES
                    .iter()
                    .map(|(f, _, scale)| {
                        entries
                            .iter()
                            .map(|e| {
                                e.results
                                    .cells
                                    .iter()
                                    .filter(|c| c.status == Status::Ok && row_name(c) == row)
                                    .filter_map(|c| figure_of(c, *f))
                                    .map(|v| v * scale)
                                    .collect()
                            })
                            .collect()
                    })
                    .collect();
                let changes = values.iter().map(|v| change::change_points(v)).collect();
                Trend {
                    row,
                    values,
                    changes,
                }
            })
            .collect();
        History { entries, trends }
    }
}
