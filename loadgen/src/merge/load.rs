//! The shards `lab merge` is given: run folders, or folders holding run folders (what a
//! CI artifact download or a shared volume gives: `shards/shard-0/<run>/`).

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::Refusal;
use crate::meta::{self, Meta};
use crate::record::{self, Results};

/// One shard's run folder, read.
#[derive(Debug, Clone)]
pub struct ShardDir {
    pub dir: PathBuf,
    pub results: Results,
    pub meta: Meta,
}

impl ShardDir {
    /// `results/20261203-201500-sweep-shard-1-of-3 (shard 1/3)`
    pub fn name(&self) -> String {
        match &self.meta.sweep {
            Some(s) => format!("{} (shard {})", self.dir.display(), s.shard),
            None => self.dir.display().to_string(),
        }
    }
}

fn is_run(dir: &Path) -> bool {
    dir.join("results.json").is_file()
}

/// The run folders named by `dirs`: each one itself, or the run folders one or two levels
/// below it, sorted by path.
pub fn run_dirs(dirs: &[PathBuf]) -> Result<Vec<PathBuf>, Refusal> {
    let mut out = Vec::new();
    for dir in dirs {
        if is_run(dir) {
            out.push(dir.clone());
            continue;
        }
        if !dir.is_dir() {
            return Err(Refusal(format!("{}: no such folder", dir.display())));
        }
        let mut found = Vec::new();
        for child in subdirs(dir) {
            if is_run(&child) {
                found.push(child);
            } else {
                found.extend(subdirs(&child).into_iter().filter(|d| is_run(d)));
            }
        }
        if found.is_empty() {
            return Err(Refusal(format!(
                "{}: not a run folder (no results.json), and none inside it",
                dir.display()
            )));
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Read every shard named by `dirs` (see [`run_dirs`]).
pub fn shards(dirs: &[PathBuf]) -> Result<Vec<ShardDir>> {
    let mut out = Vec::new();
    for dir in run_dirs(dirs)? {
        let results = record::load(&dir).map_err(|e| Refusal(format!("{e:#}")))?;
        let meta = meta::load_meta(&dir).ok_or_else(|| {
            Refusal(format!(
                "{}: no readable meta.json, so nothing says which shard it is",
                dir.display()
            ))
        })?;
        out.push(ShardDir { dir, results, meta });
    }
    Ok(out)
}
