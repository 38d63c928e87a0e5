//! The run's record on disk: its folder and id, `results.json` rewritten after every cell,
//! `meta.json`, and the stop marks (`interrupted`, `aborted`) a run gets when it does not
//! complete.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::owner::RunId;
use crate::clock::Utc;
use crate::config::Lab;
use crate::meta::Meta;
use crate::record::{self as results, Cell, Results, ServerFailure};

/// `results.json` of a run in progress. Every change is written through at once (atomic
/// rename), so a crash leaves every finished cell on disk.
pub struct Record {
    path: PathBuf,
    pub results: Results,
}

impl Record {
    /// Fill the (new, locked) run folder: `raw/`, the lab file, a `running` record.
    pub fn create(run: &RunId, lab_file: &Path, lab: &Lab) -> Result<Record> {
        std::fs::create_dir_all(run.dir.join("raw"))
            .with_context(|| format!("creating {}", run.dir.display()))?;
        // The lab file as run, minus the values marked secret.
        crate::config::redact::copy_lab_file(lab_file, &run.dir.join("lab.yaml"))?;
        let record = Record {
            path: run.dir.join("results.json"),
            results: Results {
                schema_version: results::SCHEMA_VERSION,
                run_id: run.id.clone(),
                name: lab.name.clone(),
                status: "running".into(),
                started_at: Utc::now().rfc3339(),
                finished_at: None,
                config: serde_json::to_value(lab)?,
                server_failures: Vec::new(),
                placement: None,
                cells: Vec::new(),
                confirmations: Vec::new(),
            },
        };
        record.save()?;
        Ok(record)
    }

    fn save(&self) -> Result<()> {
        results::write_json_atomic(&self.path, &self.results)
    }

    pub fn push_cell(&mut self, cell: Cell) -> Result<()> {
        self.results.cells.push(cell);
        self.save()
    }

    pub fn set_placement(&mut self, placed: results::Placed) -> Result<()> {
        self.results.placement = Some(placed);
        self.save()
    }

    pub fn push_server_failure(&mut self, failure: ServerFailure) -> Result<()> {
        self.results.server_failures.push(failure);
        self.save()
    }

    /// Mark the run complete.
    pub fn complete(mut self) -> Result<Results> {
        self.results.status = "complete".into();
        self.results.finished_at = Some(Utc::now().rfc3339());
        self.save()?;
        Ok(self.results)
    }
}

pub fn write_meta(run: &RunId, meta: &Meta) -> Result<()> {
    results::write_json_atomic(&run.dir.join("meta.json"), meta)
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
