//! The cells of one group, point by point, with repetitions decided by `repeat`.
//!
//! A point (one workload, keep-alive setting and concurrency) is measured in rounds: each
//! round measures every server once, interleaved A B, then B A (see `config::plan`). With
//! `repeat: N` there are N rounds. With `repeat: auto` rounds go on until every server's
//! 95% interval of the median req/s is within the target, or `max` rounds, or the point's
//! time budget; `stop_reason` decides, as a pure function of the figures so far.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Result;

use super::capacity::Capacities;
use super::measure::{self, ServerAfter};
use super::record::Record;
use super::servers::Pool;
use super::session::Session;
use super::{new_cell, since, Ctx};
use crate::config::{self, AutoRepeat, CellRef, Plan};
use crate::record::Limits;
use crate::stats;

/// What the measurement of a group needs besides the pool and the record.
pub struct Step<'a, 'c> {
    pub ctx: &'a Ctx<'c>,
    pub session: &'a Session,
    pub group: &'a config::Group,
    pub limits: &'a dyn Fn(&config::Instance) -> Limits,
    pub progress: &'a crate::progress::Progress,
}

/// Why `repeat: auto` stopped repeating a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Every server's interval is within the target.
    Target,
    /// `max` repetitions done.
    Max,
    /// The point used its time budget.
    Time,
}

/// What one server of a point measured so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SoFar {
    /// req/s of its ok cells.
    pub values: Vec<f64>,
    /// The steady seconds' req/s of each ok cell (empty for a cell without them).
    pub batches: Vec<Vec<f64>>,
    /// Its failed cells.
    pub failures: u32,
}

#[cfg(test)]
impl SoFar {
    fn of(values: Vec<f64>, failures: u32) -> SoFar {
        SoFar {
            batches: Vec::new(),
            values,
            failures,
        }
    }
}

/// Should `repeat: auto` stop after `rounds` rounds taking `elapsed_s`, given what each
/// server measured so far? `None`: go on. The interval is the one reports print
/// (`stats::row_ci95`: batch means over the steady seconds, else the median's).
pub fn stop_reason(
    auto: &AutoRepeat,
    rounds: u32,
    elapsed_s: f64,
    servers: &[SoFar],
) -> Option<Stop> {
    if rounds >= auto.max {
        return Some(Stop::Max);
    }
    if rounds < auto.min {
        return None;
    }
    // A server that keeps failing cannot narrow its interval: it does not hold the point.
    let known = |s: &SoFar| {
        let median = stats::Spread::of(&s.values).median;
        let batches = if s.batches.iter().any(|b| b.is_empty()) {
            &[][..]
        } else {
            &s.batches[..]
        };
        stats::row_ci95(&s.values, batches)
            .and_then(|ci| stats::relative_half_width(ci, median))
            .is_some_and(|w| w <= auto.target)
    };
    let all_known = servers
        .iter()
        .all(|s| s.failures >= 2 || (!s.values.is_empty() && known(s)));
    if all_known {
        Some(Stop::Target)
    } else if elapsed_s >= auto.time_s {
        Some(Stop::Time)
    } else {
        None
    }
}

/// Measure every point of the step's group, in plan order.
pub async fn run_group(
    step: &Step<'_, '_>,
    plan: &Plan,
    pool: &mut Pool,
    record: &mut Record,
) -> Result<()> {
    let cells: Vec<CellRef> = plan
        .cells()
        .into_iter()
        .filter(|c| c.group == step.group.index)
        .collect();
    let mut capacities = Capacities::default();
    for point in 0..step.group.points.len() {
        let of_point: Vec<&CellRef> = cells.iter().filter(|c| c.point == point).collect();
        run_point(step, plan, &of_point, pool, &mut capacities, record).await?;
    }
    Ok(())
}

async fn run_point(
    step: &Step<'_, '_>,
    plan: &Plan,
    cells: &[&CellRef],
    pool: &mut Pool,
    capacities: &mut Capacities,
    record: &mut Record,
) -> Result<()> {
    let started = Instant::now();
    let mut figures: BTreeMap<usize, SoFar> = BTreeMap::new();
    for round in 0..plan.repeat {
        for cref in cells.iter().filter(|c| c.repetition == round) {
            let (rps, batches, ok) = measure_one(step, cref, pool, capacities, record).await?;
            let entry = figures.entry(cref.instance).or_default();
            match rps.filter(|_| ok) {
                Some(v) => {
                    entry.values.push(v);
                    entry.batches.push(batches);
                }
                None => entry.failures += 1,
            }
        }
        let Some(auto) = &step.ctx.lab.repeat_auto else {
            continue;
        };
        let servers: Vec<SoFar> = figures.values().cloned().collect();
        if let Some(stop) = stop_reason(auto, round + 1, since(started), &servers) {
            let left = cells.iter().filter(|c| c.repetition > round).count();
            step.progress.skip(left as u64);
            tracing::debug!(
                "point {} stopped after {} rounds: {stop:?}",
                cells[0].point,
                round + 1
            );
            break;
        }
    }
    Ok(())
}

/// Measure one cell (restarting its server first if it died) and record it. Returns its
/// req/s, its steady seconds' req/s and whether it is ok.
async fn measure_one(
    step: &Step<'_, '_>,
    cref: &CellRef,
    pool: &mut Pool,
    capacities: &mut Capacities,
    record: &mut Record,
) -> Result<(Option<f64>, Vec<f64>, bool)> {
    let ctx = step.ctx;
    let inst = &step.group.instances[cref.instance];
    let mut cell = new_cell(ctx.lab, step.group, cref, (step.limits)(inst));
    step.progress.start_cell(&cell.id);
    let after = match pool.get(cref.instance) {
        Err(reason) => {
            cell.reason = Some(format!("server not available: {reason}"));
            crate::judge::judge(&mut cell);
            None
        }
        Ok(srv) => {
            let srv = srv.clone();
            match capacities
                .resolve(ctx, step.session, &srv, cref.instance, &mut cell)
                .await
            {
                Ok(()) => Some(measure::measure(ctx, step.session, &srv, &mut cell).await),
                Err(reason) => {
                    cell.reason = Some(reason);
                    crate::judge::judge(&mut cell);
                    None
                }
            }
        }
    };
    // A cell that failed because a daemon went away is no measurement: the run stops, and
    // its end names the daemon and what may be left on it.
    if cell.status != crate::record::Status::Ok
        && !(ctx.servers.engine.answers().await && ctx.loadgen.engine.answers().await)
    {
        anyhow::bail!("a Docker daemon stopped answering during cell {}", cell.id);
    }
    if let Some(ServerAfter::Ended(how)) = after {
        pool.restart(ctx, step.session, cref.instance, inst, &how)
            .await;
    }
    step.progress.finish_cell(&cell);
    let batches = cell
        .steady
        .as_ref()
        .map(|s| s.batches())
        .unwrap_or_default();
    let result = (
        cell.rps(),
        batches,
        cell.status == crate::record::Status::Ok,
    );
    record.push_cell(cell)?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auto() -> AutoRepeat {
        AutoRepeat::default()
    }

    #[test]
    fn runs_at_least_min_and_at_most_max() {
        let tight = vec![SoFar::of(vec![100.0; 5], 0)];
        assert_eq!(stop_reason(&auto(), 5, 0.1, &tight), None, "min is 6");
        let tight = vec![SoFar::of(vec![100.0, 101.0, 99.0, 100.5, 99.5, 100.0], 0)];
        assert_eq!(stop_reason(&auto(), 6, 0.1, &tight), Some(Stop::Target));
        let wide = vec![SoFar::of(vec![100.0, 150.0, 80.0, 120.0, 60.0, 100.0], 0)];
        assert_eq!(stop_reason(&auto(), 6, 0.1, &wide), None);
        assert_eq!(stop_reason(&auto(), 20, 0.1, &wide), Some(Stop::Max));
        assert_eq!(stop_reason(&auto(), 7, 10.0, &wide), Some(Stop::Time));
    }

    #[test]
    fn every_server_must_be_known_unless_it_keeps_failing() {
        let tight = SoFar::of(vec![100.0, 101.0, 99.0, 100.5, 99.5, 100.0], 0);
        let wide = SoFar::of(vec![100.0, 150.0, 80.0, 120.0, 60.0, 100.0], 0);
        assert_eq!(stop_reason(&auto(), 6, 0.1, &[tight.clone(), wide]), None);
        let failing = SoFar::of(Vec::new(), 6);
        assert_eq!(
            stop_reason(&auto(), 6, 0.1, &[tight, failing]),
            Some(Stop::Target)
        );
    }

    #[test]
    fn steady_seconds_settle_a_point_in_two_repetitions() {
        let timed = AutoRepeat::timed();
        let steady = |v: f64| SoFar {
            values: vec![v, v * 1.01],
            batches: vec![vec![v, v * 1.02, v * 0.99], vec![v * 1.01, v, v * 1.02]],
            failures: 0,
        };
        assert_eq!(
            stop_reason(&timed, 1, 3.0, &[steady(5000.0)]),
            None,
            "min 2"
        );
        assert_eq!(
            stop_reason(&timed, 2, 6.0, &[steady(5000.0), steady(3000.0)]),
            Some(Stop::Target)
        );
        // Seconds that swing by 30%: not known yet.
        let swinging = SoFar {
            values: vec![5000.0, 5000.0],
            batches: vec![vec![3500.0, 6500.0, 5000.0], vec![6500.0, 3500.0, 5000.0]],
            failures: 0,
        };
        assert_eq!(stop_reason(&timed, 2, 6.0, &[swinging]), None);
    }
}
