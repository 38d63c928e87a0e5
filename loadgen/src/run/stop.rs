//! How a run stops when it does not finish: an error, or Ctrl-C (SIGINT, SIGTERM, SIGHUP).
//!
//! Either way every container and network labelled with the run goes, on each role's
//! engine, and results.json says how the run ended, with the finished cells kept. This
//! lives beside the run rather than in the CLI so that the fake engine can test it.

use std::future::Future;
use std::time::Duration;

use anyhow::Result;

use super::{record, RunId};
use crate::engine::RUN_LABEL;
use crate::placement::Engines;

/// How a guarded run ended.
pub enum Ended<T> {
    Finished(T),
    /// An error stopped it; the run is cleaned up and marked `aborted` (or its folder is
    /// gone when nothing was measured).
    Aborted(anyhow::Error),
    /// `cancel` resolved first; the run is cleaned up and marked `interrupted`.
    Interrupted,
}

/// Drive `work` (a run, or a tune whose current probe is `run`) until it ends or
/// `cancel` resolves. When it does not finish, clean up after it.
pub async fn guard<T>(
    engines: &Engines,
    run: &RunId,
    work: impl Future<Output = Result<T>>,
    cancel: impl Future<Output = ()>,
) -> Ended<T> {
    // The work is dropped here, before the cleanup: nothing it started is polled again.
    let outcome = {
        tokio::pin!(work);
        tokio::select! {
            r = &mut work => Some(r),
            _ = cancel => None,
        }
    };
    match outcome {
        Some(Ok(done)) => Ended::Finished(done),
        Some(Err(e)) => {
            cleanup(engines, run).await;
            Ended::Aborted(aborted(run, e))
        }
        None => {
            tracing::warn!("interrupted: removing the run's containers and network");
            cleanup(engines, run).await;
            let _ = record::mark_stopped(&run.dir, "interrupted");
            Ended::Interrupted
        }
    }
}

/// Keep what an aborted run measured, or leave no empty run folder behind.
fn aborted(run: &RunId, e: anyhow::Error) -> anyhow::Error {
    if run.dir.join("results.json").exists() {
        let _ = record::mark_stopped(&run.dir, "aborted");
        e.context(format!(
            "run {} stopped; finished cells are in {}",
            run.id,
            run.dir.display()
        ))
    } else {
        let _ = std::fs::remove_dir_all(&run.dir);
        e
    }
}

/// Remove everything labelled with this run, on each role's engine. Twice: a create
/// request in flight when the run was cancelled can still land just after the first sweep.
pub async fn cleanup(engines: &Engines, run: &RunId) {
    let ours = |l: &crate::engine::Labels| l.get(RUN_LABEL) == Some(&run.id);
    for pass in 0..2 {
        if pass > 0 {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        for engine in engines.each() {
            if let Err(e) = engine.sweep(&ours).await {
                tracing::warn!("cleanup on {}: {e:#}", engine.endpoint());
            }
        }
    }
}
