//! `tune.json`: every search of a `lab tune`, every probe with its figures and the folder
//! of its evidence. Rewritten atomically after every probe (a Ctrl-C never leaves half a
//! file), and the only input of the tune report.

use std::path::Path;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::probe::Figures;
use super::search::{Answer, Outcome};
use crate::config::{format_memory, Target, Tune};
use crate::record::RunStatus;

/// Bumped when a field changes meaning or disappears.
pub const SCHEMA_VERSION: u32 = 1;
/// The record's file name in the tune folder.
pub const FILE: &str = "tune.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TuneRecord {
    pub schema_version: u32,
    pub id: String,
    pub name: String,
    /// `running`, then `complete`, `interrupted` or `aborted`.
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// Wall time so far, seconds.
    pub elapsed_s: f64,
    pub tune: Tune,
    /// Probes run.
    pub probes_used: u32,
    /// Why the budget stopped the tune, when it did.
    pub budget_note: Option<String>,
    pub searches: Vec<SearchRecord>,
}

impl TuneRecord {
    pub fn save(&self, dir: &Path) -> Result<()> {
        crate::record::write_json_atomic(&dir.join(FILE), self)
    }

    pub fn load(dir: &Path) -> Result<TuneRecord> {
        let path = dir.join(FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        crate::figures::check(&text, &path)?;
        serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{} is not a tune record: {e}", path.display()))
    }

    pub fn target(&self, s: &SearchRecord) -> &Target {
        &self.tune.targets[s.target]
    }
}

/// One server against one target: the CPU search, then the memory search at its answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchRecord {
    pub server: String,
    /// `async`, `thread`, or the image.
    pub model: String,
    /// Index into `tune.targets`.
    pub target: usize,
    /// The lab file's own limits for this server: used for what is not searched.
    pub base_cpus: f64,
    pub base_memory: u64,
    pub cpus: Option<Phase>,
    pub memory: Option<Phase>,
    /// The CPU limit the memory search ran at (see `memory_search_cpus`).
    #[serde(default)]
    pub memory_cpus: Option<f64>,
    /// Why a phase did not run (e.g. no CPU answer to search memory at).
    pub notes: Vec<String>,
}

/// Which limit a phase searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    Cpus,
    Memory,
}

impl Dimension {
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Cpus => "cpus",
            Dimension::Memory => "memory",
        }
    }

    /// A grid value as people read it: `0.35` CPUs, `48m`.
    pub fn show(self, v: f64) -> String {
        match self {
            Dimension::Cpus => format!("{v}"),
            Dimension::Memory => format_memory(v as u64),
        }
    }
}

/// One search over one limit.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Phase {
    pub dimension: Dimension,
    /// The limits it may probe, ascending (CPUs, or bytes).
    pub grid: Vec<f64>,
    pub probes: Vec<ProbeRecord>,
    /// `None` while it runs.
    pub answer: Option<Answer>,
    /// Limits that passed below one that failed (noise, or a server that does worse with
    /// more of the resource).
    #[serde(default)]
    pub non_monotonic: Vec<f64>,
}

impl Phase {
    pub fn new(dimension: Dimension, grid: Vec<f64>) -> Phase {
        Phase {
            dimension,
            grid,
            probes: Vec::new(),
            answer: None,
            non_monotonic: Vec::new(),
        }
    }

    pub fn history(&self) -> Vec<(usize, Outcome)> {
        self.probes.iter().map(|p| (p.index, p.outcome)).collect()
    }

    /// The limit found, when the search found one.
    pub fn found(&self) -> Option<f64> {
        match self.answer {
            Some(Answer::Found { at, .. }) => Some(self.grid[at]),
            _ => None,
        }
    }

    /// The last passing probe at grid index `at`: the figures an answer reports.
    pub fn passing_at(&self, at: usize) -> Option<&ProbeRecord> {
        self.probes
            .iter()
            .rev()
            .find(|p| p.index == at && p.outcome == Outcome::Pass)
    }

    /// The confirmation run at `at` that passed, if one did.
    pub fn confirmed_at(&self, at: usize) -> Option<&ProbeRecord> {
        self.probes
            .iter()
            .find(|p| p.index == at && p.confirm_s.is_some() && p.outcome == Outcome::Pass)
    }

    /// The last probe at `at` that did not pass.
    pub fn failing_at(&self, at: usize) -> Option<&ProbeRecord> {
        self.probes
            .iter()
            .rev()
            .find(|p| p.index == at && p.outcome != Outcome::Pass)
    }
}

/// One probe as the record keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeRecord {
    /// The probe's number in the tune (1, 2, ...): the prefix of its folder.
    pub number: u32,
    /// Index into the phase's grid.
    pub index: usize,
    pub cpus: f64,
    pub memory_bytes: u64,
    pub outcome: Outcome,
    pub figures: Figures,
    /// Its run folder, relative to the tune folder.
    pub dir: String,
    /// A confirmation run at an answer: its length, seconds (`None`: a search probe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_s: Option<f64>,
    /// Wall time the probe took, start and stop of its containers included, seconds
    /// (`None`: records from before the lab timed them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_s: Option<f64>,
}
