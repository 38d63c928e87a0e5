//! How a run stops when it does not finish: an error, or Ctrl-C (SIGINT, SIGTERM, SIGHUP).
//!
//! Either way every container and network labelled with the run goes, on each role's
//! engine that still answers (one that went away is named, with what may be left on it),
//! and results.json says how the run ended, with the finished cells kept. This
//! lives beside the run rather than in the CLI so that the fake engine can test it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use super::{record, RunId};
use crate::engine::{Engine, RUN_LABEL};
use crate::placement::Engines;

/// How a guarded run ended.
pub enum Ended<T> {
    Finished(T),
    /// An error stopped it; the run is cleaned up and marked `aborted` (or its folder is
    /// gone when nothing was measured or no server failed).
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
        Some(Err(e)) => Ended::Aborted(aborted(engines, run, e).await),
        None => {
            tracing::warn!("interrupted: removing the run's containers and network");
            cleanup(engines, run).await;
            let _ = record::mark_stopped(&run.dir, "interrupted");
            Ended::Interrupted
        }
    }
}

/// Clean up after a run an error stopped, on the engines that still answer, and keep what
/// it measured (or leave no empty run folder). Returns the error to show.
async fn aborted(engines: &Engines, run: &RunId, e: anyhow::Error) -> anyhow::Error {
    let mut live = Vec::new();
    let mut gone = None;
    for engine in engines.each() {
        if engine.answers().await {
            live.push(engine);
        } else {
            gone.get_or_insert(engine);
        }
    }
    cleanup_on(&live, run).await;
    // A daemon that went away mid-run explains the error better than the error does
    // (`client error (Connect): No such file or directory`), and nothing could be removed
    // from it.
    let e = match gone {
        Some(engine) => {
            tracing::debug!("the error after the daemon went away: {e:#}");
            anyhow::anyhow!(
                "the Docker daemon at {} went away; these objects may be left on it: the \
                 containers and networks labelled lab.run={id} (names start with lab-{id}); \
                 run `lab clean` when it is back",
                engine.endpoint().host,
                id = run.id
            )
        }
        None => e,
    };
    if !measured_something(&run.dir) {
        let _ = std::fs::remove_dir_all(&run.dir);
        return e;
    }
    let unmarked = match record::mark_stopped(&run.dir, "aborted") {
        Ok(()) => String::new(),
        // A full disk: the record still says `running`.
        Err(m) => format!(
            " (its results.json still says `running`: {}; run `lab clean FILE` once that \
             is fixed, to mark it)",
            m.root_cause()
        ),
    };
    e.context(format!(
        "run {} stopped; finished cells are in {}{unmarked}",
        run.id,
        run.dir.display()
    ))
}

/// Whether the run folder records a finished cell or a server that could not start: what
/// an aborted run keeps. (A run stopped before either says so, and leaves no folder.)
fn measured_something(dir: &std::path::Path) -> bool {
    crate::record::load(dir).is_ok_and(|r| !r.cells.is_empty() || !r.server_failures.is_empty())
}

/// Remove everything labelled with this run, on each role's engine. Twice: a create
/// request in flight when the run was cancelled can still land just after the first sweep.
pub async fn cleanup(engines: &Engines, run: &RunId) {
    cleanup_on(&engines.each(), run).await;
}

/// [`cleanup`] on some of the run's engines.
async fn cleanup_on(engines: &[&Arc<dyn Engine>], run: &RunId) {
    let ours = |l: &crate::engine::Labels| l.get(RUN_LABEL) == Some(&run.id);
    for pass in 0..2 {
        if pass > 0 {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        for engine in engines {
            if let Err(e) = engine.sweep(&ours).await {
                tracing::warn!("cleanup on {}: {e:#}", engine.endpoint());
            }
        }
    }
}
