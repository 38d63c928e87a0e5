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

/// Should `repeat: auto` stop after `rounds` rounds taking `elapsed_s`, given each
/// server's req/s so far (`failures` counts its failed cells)? `None`: go on.
pub fn stop_reason(
    auto: &AutoRepeat,
    rounds: u32,
    elapsed_s: f64,
    servers: &[(Vec<f64>, u32)],
) -> Option<Stop> {
    if rounds >= auto.max {
        return Some(Stop::Max);
    }
    if rounds < auto.min {
        return None;
    }
    // A server that keeps failing cannot narrow its interval: it does not hold the point.
    let known = |values: &Vec<f64>| {
        let median = stats::Spread::of(values).median;
        stats::median_ci95(values)
            .and_then(|ci| stats::relative_half_width(ci, median))
            .is_some_and(|w| w <= auto.target)
    };
    let all_known = servers
        .iter()
        .all(|(values, failures)| *failures >= 2 || (!values.is_empty() && known(values)));
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
    // instance → (req/s of its ok cells, failed cells)
    let mut figures: BTreeMap<usize, (Vec<f64>, u32)> = BTreeMap::new();
    for round in 0..plan.repeat {
        for cref in cells.iter().filter(|c| c.repetition == round) {
            let (rps, ok) = measure_one(step, cref, pool, capacities, record).await?;
            let entry = figures.entry(cref.instance).or_default();
            match rps.filter(|_| ok) {
                Some(v) => entry.0.push(v),
                None => entry.1 += 1,
            }
        }
        let Some(auto) = &step.ctx.lab.repeat_auto else {
            continue;
        };
        let servers: Vec<(Vec<f64>, u32)> = figures.values().cloned().collect();
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
/// req/s and whether it is ok.
async fn measure_one(
    step: &Step<'_, '_>,
    cref: &CellRef,
    pool: &mut Pool,
    capacities: &mut Capacities,
    record: &mut Record,
) -> Result<(Option<f64>, bool)> {
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
    let result = (cell.rps(), cell.status == crate::record::Status::Ok);
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
        let tight = vec![(vec![100.0; 5], 0)];
        assert_eq!(stop_reason(&auto(), 5, 0.1, &tight), None, "min is 6");
        let tight = vec![(vec![100.0, 101.0, 99.0, 100.5, 99.5, 100.0], 0)];
        assert_eq!(stop_reason(&auto(), 6, 0.1, &tight), Some(Stop::Target));
        let wide = vec![(vec![100.0, 150.0, 80.0, 120.0, 60.0, 100.0], 0)];
        assert_eq!(stop_reason(&auto(), 6, 0.1, &wide), None);
        assert_eq!(stop_reason(&auto(), 20, 0.1, &wide), Some(Stop::Max));
        assert_eq!(stop_reason(&auto(), 7, 10.0, &wide), Some(Stop::Time));
    }

    #[test]
    fn every_server_must_be_known_unless_it_keeps_failing() {
        let tight = (vec![100.0, 101.0, 99.0, 100.5, 99.5, 100.0], 0);
        let wide = (vec![100.0, 150.0, 80.0, 120.0, 60.0, 100.0], 0);
        assert_eq!(stop_reason(&auto(), 6, 0.1, &[tight.clone(), wide]), None);
        let failing = (Vec::new(), 6);
        assert_eq!(
            stop_reason(&auto(), 6, 0.1, &[tight, failing]),
            Some(Stop::Target)
        );
    }
}
