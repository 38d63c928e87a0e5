//! A verdict checked by a counterfactual cell (`lab run --confirm`), as the record stores
//! it: which row, what was changed, what the verdict predicted, both figures and whether
//! the number moved as predicted. The `confirm` module plans and judges them; this file
//! only names them, so every report can print them without importing it.

use serde::{Deserialize, Serialize};

use super::{Cell, Limiter};

/// Counterfactual limits are the row's × this.
pub const STEP: f64 = 1.5;
/// A predicted rise is confirmed at this ratio of req/s or more (√1.5 ≈ 1.22, rounded up:
/// a rise the drift of this machine does not make on its own).
pub const RISE: f64 = 1.25;
/// A predicted standstill is confirmed at this ratio or less (either way).
pub const FLAT: f64 = 1.10;

/// A closed-loop row of a run, as its cells name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowKey {
    pub server: String,
    /// The resource group's label, `cpus=0.25 memory=256m`.
    pub group_label: String,
    pub workload: String,
    pub keepalive: bool,
    pub concurrency: u32,
}

impl RowKey {
    pub fn of(cell: &Cell) -> RowKey {
        RowKey {
            server: cell.server.clone(),
            group_label: cell.group_label.clone(),
            workload: cell.workload.clone(),
            keepalive: cell.keepalive,
            concurrency: cell.concurrency,
        }
    }

    /// Is `cell` one of this row's (closed loop, same limits)?
    pub fn holds(&self, cell: &Cell) -> bool {
        cell.rate.is_none() && RowKey::of(cell) == *self
    }

    /// The same point at any limits: server, workload, keep-alive and concurrency.
    pub fn same_point(&self, other: &RowKey) -> bool {
        (
            &self.server,
            &self.workload,
            self.keepalive,
            self.concurrency,
        ) == (
            &other.server,
            &other.workload,
            other.keepalive,
            other.concurrency,
        )
    }

    /// `thread c=1 · hello keep-alive off · cpus=1 memory=256m`
    pub fn name(&self) -> String {
        format!(
            "{} c={} · {} keep-alive {} · {}",
            self.server,
            self.concurrency,
            self.workload,
            if self.keepalive { "on" } else { "off" },
            self.group_label
        )
    }
}

/// One row's verdict put to the test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The row (its fields stand beside the others in the JSON).
    #[serde(flatten)]
    pub row: RowKey,
    /// The row's verdict that was checked (`server-cpu` or `loadgen`).
    pub verdict: Limiter,
    /// What the counterfactual cell changed: `server cpus 0.25 → 0.375`.
    pub change: String,
    /// What the verdict predicts it does to req/s: `req/s rises at least 1.25×`.
    pub prediction: String,
    /// The row's median req/s in the run (steady window where there is one).
    pub before_rps: f64,
    /// The control cell's req/s: the row's point at the row's own limits, measured again
    /// right before the counterfactual cell, so that the two are compared side by side
    /// (the machine's speed drifts between the run and the check). `None`: it produced none.
    #[serde(default)]
    pub control_rps: Option<f64>,
    /// The counterfactual cell's req/s (`None`: it produced none).
    pub after_rps: Option<f64>,
    /// The counterfactual cell's own verdict.
    pub after_verdict: Option<Limiter>,
    /// `true`: the number moved as the verdict predicts; `false`: it did not (the verdict
    /// is wrong, or names only part of the story); `None`: the check could not decide
    /// (see `reason`).
    pub confirmed: Option<bool>,
    /// One sentence: why it is confirmed, unconfirmed or undecided, with the figures.
    pub reason: String,
    /// The counterfactual run's folder, relative to this run's (empty when none ran).
    pub run: String,
    /// The control run's folder, relative to this run's (empty when none ran).
    #[serde(default)]
    pub control_run: String,
}

impl Confirmation {
    /// `confirmed`, `unconfirmed` or `undecided`: the word reports print.
    pub fn word(&self) -> &'static str {
        match self.confirmed {
            Some(true) => "confirmed",
            Some(false) => "unconfirmed",
            None => "undecided",
        }
    }

    /// The counterfactual's req/s over the control's, when both exist.
    pub fn ratio(&self) -> Option<f64> {
        Some(self.after_rps? / self.control_rps?).filter(|r| r.is_finite())
    }
}
