//! `lab merge DIR... --output DIR`: join the run folders of a split sweep's shards into one
//! run folder, as if one host had run the sweep: one results.json (cells in the unsharded
//! run's order), one meta.json listing the shards, every raw output, every report, and a
//! *Shards* section in the report.
//!
//! It refuses, in one line each (exit 2), what would make the joined run lie: shards of
//! different lab files, settings or images, a missing or duplicated shard, an unfinished
//! shard, and shards measured on hosts of different fingerprints, unless
//! `--allow-mixed-hosts`, which keeps each host's rows apart (the resource group's label
//! names the host, so no table, chart or ratio mixes two hosts).
//!
//! | module     | what                                                                 |
//! |------------|----------------------------------------------------------------------|
//! | [`load`]   | the shard folders given (or the run folders inside them)             |
//! | [`refuse`] | the checks, each a one-line [`Refusal`]                              |
//! | [`join`]   | the merged results.json, meta.json and raw outputs                   |

pub mod join;
pub mod load;
pub mod refuse;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub use refuse::Refusal;

/// What a merge made.
#[derive(Debug)]
pub struct Merged {
    pub dir: PathBuf,
    pub shards: usize,
    pub cells: usize,
    /// Distinct host fingerprints among the shards (more than 1 only with
    /// `--allow-mixed-hosts`).
    pub hosts: usize,
}

/// Merge the shards in `dirs` into the new run folder `output`. A [`Refusal`] (in the
/// error chain) means bad input; anything else failed on the way.
pub fn merge(dirs: &[PathBuf], output: &Path, allow_mixed_hosts: bool) -> Result<Merged> {
    let shards = load::shards(dirs)?;
    let checked = refuse::check(&shards, allow_mixed_hosts)?;
    refuse::fresh_output(output)?;
    std::fs::create_dir_all(output.join("raw"))
        .with_context(|| format!("creating {}", output.display()))?;
    let (results, meta) = join::join(&shards, &checked, output)?;
    join::copy_files(&shards, output)?;
    crate::record::write_json_atomic(&output.join("results.json"), &results)?;
    crate::record::write_json_atomic(&output.join("meta.json"), &meta)?;
    let run = crate::report::Run::load(output)?;
    crate::report::write_all(&run)?;
    Ok(Merged {
        dir: output.to_path_buf(),
        shards: shards.len(),
        cells: results.cells.len(),
        hosts: checked.hosts.len(),
    })
}
