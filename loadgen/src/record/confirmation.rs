//! A verdict checked by a counterfactual cell (`lab run --confirm`), as the record stores
//! it: which row, what was changed, what the verdict predicted, both figures and whether
//! the number moved as predicted. The `confirm` module plans and judges them; this file
//! only names them, so every report can print them without importing it.

use serde::{Deserialize, Serialize};

use super::Limiter;

/// Counterfactual limits are the row's × this.
pub const STEP: f64 = 1.5;
/// A predicted rise is confirmed at this ratio of req/s or more (√1.5 ≈ 1.22, rounded up:
/// a rise the drift of this machine does not make on its own).
pub const RISE: f64 = 1.25;
/// A predicted standstill is confirmed at this ratio or less (either way).
pub const FLAT: f64 = 1.10;

/// One row's verdict put to the test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confirmation {
    /// The row: server, resource group label, workload, keep-alive and concurrency, as
    /// its cells record them.
    pub server: String,
    pub group_label: String,
    pub workload: String,
    pub keepalive: bool,
    pub concurrency: u32,
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
