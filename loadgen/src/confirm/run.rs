//! Running the counterfactual runs a check needs, each a run of its own under
//! `<run>/confirm/` (with its report, one click from the run's), and keeping the record
//! current after each, so that Ctrl-C keeps the checks already made.

use std::path::Path;
use std::sync::Mutex;

use anyhow::Result;

use super::{apply, judge, plan, Batch, Outcome};
use crate::config::Lab;
use crate::placement::Engines;
use crate::record::{Confirmation, Results};
use crate::report::model::rows::{rows, Row};
use crate::run::{self as runner, OwnedRun, RunId, RunOptions};

/// Check the verdicts of the finished run in `run_dir` (see the module's doc). `current`
/// holds the counterfactual run in progress, for Ctrl-C to remove its containers. Returns
/// every check, also written into the run's `results.json`.
pub async fn confirm(
    engines: &Engines,
    lab_file: &Path,
    lab: &Lab,
    run_dir: &Path,
    current: &Mutex<Option<RunId>>,
) -> Result<Vec<Confirmation>> {
    let judged = crate::judge::load(run_dir)?;
    let (batches, mut done) = plan(&judged, engines.servers_info.cpus.max(1) as f64);
    let rows_to_check: usize = batches.iter().map(|b| b.rows.len()).sum();
    tracing::info!(
        "confirm: {rows_to_check} row(s) to check in {} counterfactual run(s), {} not checkable",
        batches.len(),
        done.len()
    );
    save(run_dir, &done)?;
    for batch in &batches {
        done.extend(check(engines, lab_file, lab, run_dir, batch, current).await?);
        save(run_dir, &done)?;
    }
    Ok(done)
}

/// One batch's control run and counterfactual run, back to back, and the checks they
/// settle.
async fn check(
    engines: &Engines,
    lab_file: &Path,
    lab: &Lab,
    run_dir: &Path,
    batch: &Batch,
    current: &Mutex<Option<RunId>>,
) -> Result<Vec<Confirmation>> {
    tracing::info!(
        "confirm: {} for {} row(s), after a control run at the rows' own limits",
        batch.change.describe(),
        batch.rows.len()
    );
    let control = sub_run(
        engines,
        lab_file,
        batch.lab(lab, &run_dir.join("confirm"), false),
        run_dir,
        current,
    )
    .await?;
    let after = sub_run(
        engines,
        lab_file,
        batch.lab(lab, &run_dir.join("confirm"), true),
        run_dir,
        current,
    )
    .await?;
    let folders = (control.folder.clone(), after.folder.clone());
    let (control_rows, after_rows) = (control.rows(), after.rows());
    Ok(batch
        .rows
        .iter()
        .map(|p| {
            let outcome = match (&control_rows, &after_rows) {
                (Ok(c), Ok(a)) => judge(
                    p,
                    c.iter().find(|r| p.is_row(r)),
                    a.iter().find(|r| p.is_row(r)),
                ),
                (Err(e), _) | (_, Err(e)) => Outcome::undecided(e.clone()),
            };
            tracing::info!(
                "confirm: {} c={} {}: {}",
                p.row.server,
                p.row.concurrency,
                p.verdict,
                outcome.reason
            );
            p.record(outcome, folders.clone())
        })
        .collect())
}

/// A control or counterfactual run that ran (or failed): its folder, relative to the
/// run's, and its record.
struct SubRun {
    folder: String,
    results: Result<Results, String>,
}

impl SubRun {
    fn rows(&self) -> Result<Vec<Row<'_>>, String> {
        self.results.as_ref().map(rows).map_err(Clone::clone)
    }
}

/// Run `sub` in its own folder (with its report); a failure is kept as the reason.
async fn sub_run(
    engines: &Engines,
    lab_file: &Path,
    sub: Lab,
    run_dir: &Path,
    current: &Mutex<Option<RunId>>,
) -> Result<SubRun> {
    let owned = OwnedRun::create(&sub)?;
    let folder = owned
        .id
        .dir
        .strip_prefix(run_dir)
        .unwrap_or(&owned.id.dir)
        .display()
        .to_string();
    *current.lock().unwrap_or_else(|e| e.into_inner()) = Some(owned.id.clone());
    let opts = RunOptions {
        lab_file: lab_file.to_path_buf(),
        lab: sub,
        // The run itself has just built (or found) the images.
        no_build: true,
        sweep: None,
    };
    let ran = runner::run(engines, &opts, &owned).await;
    *current.lock().unwrap_or_else(|e| e.into_inner()) = None;
    if let Err(e) = ran {
        return Ok(SubRun {
            folder: folder.clone(),
            results: Err(format!("the run {folder} failed: {e:#}")),
        });
    }
    if let Ok(run) = crate::report::Run::load(&owned.id.dir) {
        if let Err(e) = crate::report::write_all(&run) {
            tracing::warn!("report of {}: {e:#}", owned.id.dir.display());
        }
    }
    let results = crate::judge::load(&owned.id.dir).map_err(|e| format!("{e:#}"));
    Ok(SubRun { folder, results })
}

/// Write the checks so far into the run's record (read as stored, not as judged).
fn save(run_dir: &Path, done: &[Confirmation]) -> Result<()> {
    let mut results = crate::record::load(run_dir)?;
    for cell in &mut results.cells {
        cell.flags
            .retain(|f| *f != crate::record::Flag::Unconfirmed);
    }
    apply(&mut results, done.to_vec());
    crate::record::write_json_atomic(&run_dir.join("results.json"), &results)
}
