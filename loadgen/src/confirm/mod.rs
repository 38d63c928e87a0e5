//! `lab run --confirm` (or `confirm: true`): verdicts that check themselves.
//!
//! A verdict is a claim about what would happen if the named limit moved. After the run,
//! each closed-loop row whose verdict is `server-cpu` or `loadgen` is measured once more
//! with that limit moved, and the record says whether req/s moved as the verdict predicts:
//!
//! | verdict | counterfactual cell | prediction |
//! |---|---|---|
//! | `server-cpu` | the server's `cpus` × 1.5 | req/s rises at least [`RISE`]× |
//! | `loadgen`, the load generator has a CPU limit | the load generator's `cpus` × 1.5 | req/s rises at least [`RISE`]× |
//! | `loadgen`, ab at a whole core of a limit of 2 CPUs or more | twice the ab processes (`loadgen.processes`) | req/s rises at least [`RISE`]× |
//! | `loadgen`, no limit (ab already has its one core) | the server's `cpus` × 1.5 | req/s stays within [`FLAT`]× |
//!
//! Between [`FLAT`] and [`RISE`] the check does not decide (this machine's speed drifts by
//! 10–20% within minutes, and a counterfactual cell runs minutes after its row); a check
//! whose counterfactual cell hit the *other* side's limit does not decide either (both
//! were near their limits). A limit that cannot grow by at least 1.2× (a server pinned to
//! one CPU at `cpus: 1`, ab at a whole core) is not checked, and the record says why.
//!
//! Rows that share the change and the limits run as one counterfactual run (its own folder
//! under `<run>/confirm/`, one repetition per point), so checking every row of the default
//! lab costs one more group of 16 cells, not 16 server starts.
//!
//! This file plans and judges (pure functions of the record); `run.rs` runs the
//! counterfactual runs.

use std::collections::BTreeSet;

use crate::config::Lab;
use crate::record::{Cell, Confirmation, Flag, Limiter, Results, RowKey, Status};
use crate::report::model::rows::{rows, Row};

mod run;
#[cfg(test)]
mod tests;

pub use run::confirm;

pub use crate::record::confirmation::{FLAT, RISE, STEP};
/// A limit that cannot grow by at least this factor is not checked.
const MIN_GROWTH: f64 = 1.2;

/// What a counterfactual run changes, from the row's value to the new one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    ServerCpus {
        from: f64,
        to: f64,
    },
    LoadgenCpus {
        from: f64,
        to: f64,
    },
    /// A single-threaded tool at a whole core: twice its processes (`loadgen.processes`),
    /// where the load generator's CPUs allow them.
    LoadgenProcesses {
        from: u32,
        to: u32,
    },
}

impl Change {
    /// `server cpus 0.25 → 0.375`.
    pub fn describe(&self) -> String {
        match self {
            Change::ServerCpus { from, to } => format!("server cpus {from} → {to}"),
            Change::LoadgenCpus { from, to } => format!("load generator cpus {from} → {to}"),
            Change::LoadgenProcesses { from, to } => {
                format!("load generator processes {from} → {to}")
            }
        }
    }

    /// The folder-name form: `server-cpus-0.375`.
    fn slug(&self) -> String {
        match self {
            Change::ServerCpus { to, .. } => format!("server-cpus-{to}"),
            Change::LoadgenCpus { to, .. } => format!("loadgen-cpus-{to}"),
            Change::LoadgenProcesses { to, .. } => format!("loadgen-processes-{to}"),
        }
    }
}

/// What the verdict predicts the change does to req/s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prediction {
    Rises,
    Stays,
}

impl Prediction {
    pub fn describe(self) -> String {
        match self {
            Prediction::Rises => format!("req/s rises at least {RISE}×"),
            Prediction::Stays => {
                format!("req/s stays within {FLAT}× (the server was not the limit)")
            }
        }
    }
}

/// A row to check: its identity, what it measured, and the counterfactual that checks it.
#[derive(Debug, Clone)]
pub struct Pending {
    pub row: RowKey,
    pub verdict: Limiter,
    pub before_rps: f64,
    pub change: Change,
    pub prediction: Prediction,
    /// The row's server limits that the counterfactual keeps (all but the one it moves).
    pub cpus: f64,
    pub memory_bytes: u64,
    pub pids: Option<i64>,
}

impl Pending {
    /// Is `row` (of a control or counterfactual run, at other limits) this row's point?
    fn is_row(&self, row: &Row<'_>) -> bool {
        row.rate.is_none() && self.row.same_point(&RowKey::of(row.representative))
    }

    /// The record of this check, with `outcome` (see [`judge`]) and the folders of the
    /// control and counterfactual runs.
    fn record(&self, outcome: Outcome, (control_run, run): (String, String)) -> Confirmation {
        Confirmation {
            row: self.row.clone(),
            verdict: self.verdict,
            change: self.change.describe(),
            prediction: self.prediction.describe(),
            before_rps: self.before_rps,
            control_rps: outcome.control_rps,
            after_rps: outcome.after_rps,
            after_verdict: outcome.after_verdict,
            confirmed: outcome.confirmed,
            reason: outcome.reason,
            run,
            control_run,
        }
    }
}

/// Rows that share one counterfactual run: the same change under the same limits.
#[derive(Debug, Clone)]
pub struct Batch {
    pub change: Change,
    pub rows: Vec<Pending>,
}

impl Batch {
    /// The lab of the counterfactual run (`moved`) or of its control (the rows' own
    /// limits): the run's own, narrowed to the batch's servers, workloads, keep-alive
    /// settings and concurrencies (their cross product: a point outside the batch is
    /// measured but not read), one repetition.
    pub fn lab(&self, lab: &Lab, output: &std::path::Path, moved: bool) -> Lab {
        let first = &self.rows[0];
        let (server_cpus, loadgen_cpus) = match (self.change, moved) {
            (Change::ServerCpus { to, .. }, true) => (to, lab.loadgen.cpus),
            (Change::LoadgenCpus { to, .. }, true) => (first.cpus, Some(to)),
            (Change::ServerCpus { from, .. }, false) => (from, lab.loadgen.cpus),
            (Change::LoadgenCpus { from, .. }, false) => (first.cpus, Some(from)),
            (Change::LoadgenProcesses { .. }, _) => (first.cpus, lab.loadgen.cpus),
        };
        let pick = |f: &dyn Fn(&Pending) -> String| -> BTreeSet<String> {
            self.rows.iter().map(f).collect()
        };
        let servers = pick(&|p| p.row.server.clone());
        let workloads = pick(&|p| p.row.workload.clone());
        let mut out = lab.clone();
        out.name = if moved {
            format!("{}-confirm-{}", lab.name, self.change.slug())
        } else {
            format!("{}-control-{}", lab.name, self.change.slug())
        };
        out.output = output.to_path_buf();
        out.servers.retain(|s| servers.contains(&s.name));
        for s in &mut out.servers {
            s.resources = Default::default();
        }
        out.workloads.retain(|w| workloads.contains(&w.name));
        out.resources.cpus = vec![server_cpus];
        out.resources.memory = vec![first.memory_bytes];
        out.resources.pids = first.pids;
        out.loadgen.cpus = loadgen_cpus;
        if let Change::LoadgenProcesses { from, to } = self.change {
            let n = if moved { to } else { from };
            out.loadgen.processes = crate::config::Processes::Count(n);
        }
        let concurrency: BTreeSet<u32> = self.rows.iter().map(|p| p.row.concurrency).collect();
        let keepalive: BTreeSet<bool> = self.rows.iter().map(|p| p.row.keepalive).collect();
        out.loadgen.concurrency = concurrency.into_iter().collect();
        out.loadgen.keepalive = keepalive.into_iter().collect();
        out.loadgen.rate.clear();
        out.repeat = 1;
        out.repeat_auto = None;
        out.tune = None;
        out.thresholds.clear();
        out.confirm = false;
        out
    }
}

/// How far a limit can grow: to `from × STEP`, at most `room`; `None` when that is less
/// than [`MIN_GROWTH`] × `from`.
fn grow(from: f64, room: f64) -> Option<f64> {
    let to = ((from * STEP).min(room) * 1000.0).round() / 1000.0;
    (to >= from * MIN_GROWTH).then_some(to)
}

/// The CPUs a container may use beyond its quota: its cpuset's size, or the host's.
fn room(cpuset: Option<&str>, host_cpus: f64) -> f64 {
    cpuset
        .and_then(crate::pin::cpuset_size)
        .map_or(host_cpus, |n| n as f64)
}

/// The counterfactual that checks a row's verdict (`None`: its limit cannot grow enough)
/// and what the verdict predicts it does to req/s.
fn counterfactual(
    verdict: Limiter,
    cell: &Cell,
    server_room: f64,
    server_host_cpus: f64,
) -> (Option<Change>, Prediction) {
    let limits = &cell.limits;
    match (verdict, limits.loadgen_cpus) {
        (Limiter::Loadgen, Some(l)) => {
            // ab is single-threaded: past one core, more CPU is no more ab.
            let tool_room = room(
                limits.loadgen_cpuset.as_deref(),
                limits.loadgen_host_cpus.map_or(server_host_cpus, f64::from),
            );
            let single_threaded = !cell.command.first().is_some_and(|c| c.contains("oha"));
            let per_process = if single_threaded {
                tool_room.min(1.0)
            } else {
                tool_room
            };
            let change = grow(l, per_process)
                .map(|to| Change::LoadgenCpus { from: l, to })
                .or_else(|| {
                    // ab at a whole core: more processes, where its CPUs allow them.
                    let from = cell.processes.len().max(1) as u32;
                    let to = (2 * from).min(cell.concurrency);
                    (single_threaded && to > from && l.min(tool_room) >= f64::from(to))
                        .then_some(Change::LoadgenProcesses { from, to })
                });
            (change, Prediction::Rises)
        }
        (Limiter::Loadgen, None) => (
            grow(limits.cpus, server_room).map(|to| Change::ServerCpus {
                from: limits.cpus,
                to,
            }),
            Prediction::Stays,
        ),
        _ => (
            grow(limits.cpus, server_room).map(|to| Change::ServerCpus {
                from: limits.cpus,
                to,
            }),
            Prediction::Rises,
        ),
    }
}

/// The checks a run's record calls for: batches to run, and the rows that cannot be
/// checked, already recorded as undecided with the reason. `server_host_cpus`: CPUs of the
/// servers' machine (Docker refuses a `--cpus` above it).
pub fn plan(results: &Results, server_host_cpus: f64) -> (Vec<Batch>, Vec<Confirmation>) {
    let mut batches: Vec<Batch> = Vec::new();
    let mut unchecked = Vec::new();
    for row in rows(results) {
        let Some(verdict) = row
            .verdict
            .map(|v| v.limiter)
            .filter(|l| matches!(l, Limiter::ServerCpu | Limiter::Loadgen))
        else {
            continue;
        };
        let (Some(rps), None) = (row.rps, row.rate) else {
            continue;
        };
        let cell: &Cell = row.representative;
        let limits = &cell.limits;
        let server_room = room(limits.cpuset.as_deref(), server_host_cpus);
        let (change, prediction) = counterfactual(verdict, cell, server_room, server_host_cpus);
        let placeholder = Change::ServerCpus {
            from: limits.cpus,
            to: limits.cpus,
        };
        let pending = Pending {
            row: RowKey::of(cell),
            verdict,
            before_rps: rps.median,
            change: change.unwrap_or(placeholder),
            prediction,
            cpus: limits.cpus,
            memory_bytes: limits.memory_bytes,
            pids: limits.pids,
        };
        let Some(change) = change else {
            let what = match (verdict, limits.loadgen_cpus) {
                (Limiter::Loadgen, Some(l)) => format!(
                    "the load generator's cpus {l} cannot grow {MIN_GROWTH}× (ab uses one core at most, within its cpuset), nor hold twice its processes"
                ),
                _ => format!(
                    "the server's cpus {} cannot grow {MIN_GROWTH}× ({server_room} CPUs to use{})",
                    limits.cpus,
                    limits
                        .cpuset
                        .as_deref()
                        .map(|s| format!(": its cpuset is {s}"))
                        .unwrap_or_default()
                ),
            };
            let mut c = pending.record(
                Outcome::undecided(format!("not checked: {what}")),
                Default::default(),
            );
            c.change = "none".into();
            unchecked.push(c);
            continue;
        };
        match batches
            .iter_mut()
            .find(|b| b.change == change && b.rows[0].row.group_label == pending.row.group_label)
        {
            Some(b) => b.rows.push(pending),
            None => batches.push(Batch {
                change,
                rows: vec![pending],
            }),
        }
    }
    (batches, unchecked)
}

/// What one check found.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub control_rps: Option<f64>,
    pub after_rps: Option<f64>,
    pub after_verdict: Option<Limiter>,
    pub confirmed: Option<bool>,
    pub reason: String,
}

impl Outcome {
    fn undecided(reason: String) -> Outcome {
        Outcome {
            control_rps: None,
            after_rps: None,
            after_verdict: None,
            confirmed: None,
            reason,
        }
    }
}

/// The req/s of a row of a control or counterfactual run, or why it has none.
fn rate_of(row: Option<&Row<'_>>, which: &str) -> Result<f64, String> {
    let row = row.ok_or_else(|| format!("the {which} run has no such row"))?;
    row.rps.map(|s| s.median).ok_or_else(|| {
        let why = row
            .cells
            .iter()
            .find(|c| c.status == Status::Failed)
            .and_then(|c| c.reason.clone())
            .unwrap_or_else(|| "no req/s".into());
        format!("the {which} cell measured nothing: {why}")
    })
}

/// Judge one row's check from the control run's row (its own limits, measured again) and
/// the counterfactual run's (the limit moved): the ratio of the two decides.
pub fn judge(p: &Pending, control: Option<&Row<'_>>, after: Option<&Row<'_>>) -> Outcome {
    let after_verdict = after.and_then(|r| r.verdict).map(|v| v.limiter);
    let (control_rps, after_rps) = match (
        rate_of(control, "control"),
        rate_of(after, "counterfactual"),
    ) {
        (Ok(c), Ok(a)) => (c, a),
        (c, a) => {
            return Outcome {
                control_rps: c.as_ref().ok().copied(),
                after_rps: a.as_ref().ok().copied(),
                after_verdict,
                ..Outcome::undecided(c.err().or(a.err()).unwrap_or_default())
            }
        }
    };
    let ratio = after_rps / control_rps;
    let moved = format!(
        "req/s {control_rps:.0} → {after_rps:.0} ({ratio:.2}×) with {}",
        p.change.describe()
    );
    let other = match p.verdict {
        Limiter::ServerCpu => Limiter::Loadgen,
        _ => Limiter::ServerCpu,
    };
    let hit_other = after_verdict == Some(other) && p.prediction == Prediction::Rises;
    let (confirmed, why) = match p.prediction {
        Prediction::Rises if ratio >= RISE => (Some(true), "as predicted".to_string()),
        Prediction::Rises if ratio <= FLAT && hit_other => (
            None,
            format!("the counterfactual cell was limited by {other}: both sides were near their limits"),
        ),
        Prediction::Rises if ratio <= FLAT => (
            Some(false),
            format!(
                "predicted a rise of at least {RISE}×: {} did not set the pace",
                limit_name(p.verdict)
            ),
        ),
        Prediction::Stays if (1.0 / FLAT..=FLAT).contains(&ratio) => {
            (Some(true), "as predicted".to_string())
        }
        Prediction::Stays if ratio >= RISE => (
            Some(false),
            "predicted no change: the server's CPU set the pace, not the load generator".into(),
        ),
        _ => (
            None,
            format!("outside the predicted bounds by less than this machine's speed drifts ({FLAT}×–{RISE}×)"),
        ),
    };
    Outcome {
        control_rps: Some(control_rps),
        after_rps: Some(after_rps),
        after_verdict,
        confirmed,
        reason: format!("{moved}: {why}"),
    }
}

fn limit_name(l: Limiter) -> &'static str {
    match l {
        Limiter::Loadgen => "the load generator's CPU",
        _ => "the server's CPU quota",
    }
}

/// Put the checks into the record: `results.confirmations`, and the `unconfirmed` flag on
/// every cell of a row whose check failed (so every report shows it beside the number).
pub fn apply(results: &mut Results, confirmations: Vec<Confirmation>) {
    for c in confirmations.iter().filter(|c| c.confirmed == Some(false)) {
        for cell in results.cells.iter_mut().filter(|cell| c.row.holds(cell)) {
            if !cell.flags.contains(&Flag::Unconfirmed) {
                cell.flags.push(Flag::Unconfirmed);
                cell.flags = Flag::ordered(cell.flags.iter().copied());
            }
        }
    }
    results.confirmations = confirmations;
}
