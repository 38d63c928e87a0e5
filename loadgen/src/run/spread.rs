//! One cell's load spread over several load generator hosts (`hosts.loadgen` as a list).
//!
//! The cell's processes (`loadgen.processes` per host) are shared out in blocks, the first
//! host's first, so process 1 (whose command is the cell's own) always runs on the first
//! host, which also scrapes the server's metrics. Every host's agent is told one wall-clock
//! time to start at (`lab-agent --start-at`), chosen far enough ahead for every `docker
//! exec` to arrive and, for a timed cell, inside the fraction of a second its steady window
//! needs (see `config::length::START_BETWEEN`). The agents' reports are joined into one,
//! process by process in the cell's order, so the merge that several processes on one host
//! get (`tool::processes`) covers several hosts exactly the same way: counts summed, rates
//! over the steady window of the union of every request, percentiles from that union.
//!
//! The hosts' clocks must agree to well under a second (NTP does): requests are stamped by
//! each host's own clock. Both ends of a run on one machine share its clock.

use std::time::Duration;

use agent::RunReport;
use anyhow::{Context, Result};

use super::session::{Session, Start};
use super::Ctx;
use crate::config;
use crate::record::ProcessRun;

/// How far ahead of now the hosts are told to start: time for every `docker exec` to
/// reach its agent (tens of ms on one machine; more over SSH or TLS).
const LEAD_S: f64 = 0.5;

/// How many of `processes` each of `hosts` runs: as evenly as they go, the first hosts
/// taking the rest (host 0 first, so it runs process 1).
pub fn shares(processes: usize, hosts: usize) -> Vec<usize> {
    let hosts = hosts.max(1);
    (0..hosts)
        .map(|h| processes / hosts + usize::from(h < processes % hosts))
        .collect()
}

/// The host (0 the first) of each of `processes`, in blocks: see [`shares`].
pub fn hosts_of(processes: usize, hosts: usize) -> Vec<usize> {
    (shares(processes, hosts).into_iter().enumerate())
        .flat_map(|(h, n)| std::iter::repeat(h).take(n))
        .collect()
}

/// The host (0 the first) a recorded process ran on.
pub fn host_of(ctx: &Ctx<'_>, process: &ProcessRun) -> usize {
    process
        .host
        .as_ref()
        .and_then(|e| ctx.loadgen_also.iter().position(|a| &a.endpoint == e))
        .map_or(0, |i| i + 1)
}

/// The wall-clock time (Unix seconds) several hosts start a cell at, `now` being the
/// present: [`LEAD_S`] ahead, and for a timed cell the first such moment inside
/// `START_BETWEEN`'s fraction of a second.
pub fn start_time(now: f64, timed: bool) -> f64 {
    let t = now + LEAD_S;
    if !timed {
        return t;
    }
    let (lo, hi) = config::length::START_BETWEEN;
    match t.fract() {
        f if f < lo => t.floor() + lo,
        f if f > hi => t.floor() + 1.0 + lo,
        _ => t,
    }
}

/// Run `commands` (each with its host) through every host's agent at once, the first host
/// scraping `scrapes` around them all, and join the reports in the commands' order.
pub async fn run(
    ctx: &Ctx<'_>,
    first: &Session,
    commands: &[(usize, Vec<String>)],
    scrapes: &[String],
    collect: &[&str],
    timeout: Duration,
    timed: bool,
) -> Result<RunReport> {
    let mut hosts: Vec<usize> = commands.iter().map(|(h, _)| *h).collect();
    hosts.dedup();
    let start = match (hosts.len() > 1, timed) {
        (true, _) => Start::At(start_time(unix_now(), timed)),
        (false, true) => {
            let (lo, hi) = config::length::START_BETWEEN;
            Start::Between(lo, hi)
        }
        (false, false) => Start::Now,
    };
    let runs = hosts.iter().map(|&host| {
        let session = match host {
            0 => first,
            i => &ctx.also_sessions[i - 1],
        };
        let own: Vec<Vec<String>> = (commands.iter())
            .filter(|(h, _)| *h == host)
            .map(|(_, c)| c.clone())
            .collect();
        let scrapes = if host == 0 { scrapes } else { &[] };
        async move {
            let report = session
                .run_tool_aligned(ctx, &own, scrapes, collect, timeout, start)
                .await;
            match host {
                0 => report,
                _ => report.with_context(|| {
                    format!("the load generator on {}", session.engine(ctx).endpoint())
                }),
            }
        }
    });
    let reports = futures_util::future::join_all(runs).await;
    let reports = reports.into_iter().collect::<Result<Vec<_>>>()?;
    let starts: Vec<f64> = reports.iter().filter_map(|r| r.started_unix_s).collect();
    let skew = starts.iter().copied().fold(f64::NAN, f64::max)
        - starts.iter().copied().fold(f64::NAN, f64::min);
    if skew > MAX_SKEW_S {
        tracing::warn!(
            "the load generator hosts started this cell {skew:.3} s apart (a `docker exec` \
             arrived late, or the hosts' clocks disagree): the first and last moments of the \
             cell had fewer senders, which the steady window's per-second counts show"
        );
    }
    Ok(join(reports))
}

/// How far apart the hosts' starts may be before the lab says so (the agents wait for one
/// wall-clock time; on one machine they start within a millisecond).
const MAX_SKEW_S: f64 = 0.05;

/// One report of several hosts' (each with its own processes), in host order: the first
/// host's first process leads, every other process follows in `others`, each with its own
/// host's start; the run starts with the first host's (the hosts start at one moment, see
/// [`run`]) and ends with the last to end.
pub fn join(reports: Vec<RunReport>) -> RunReport {
    let mut reports = reports.into_iter();
    let Some(mut joined) = reports.next() else {
        return RunReport::default();
    };
    let first_started = joined.started_unix_s;
    for o in &mut joined.others {
        o.started_unix_s = o.started_unix_s.or(first_started);
    }
    for mut report in reports {
        let mut others = std::mem::take(&mut report.others);
        // An agent stamps its run's start once: each of its processes started then.
        for o in &mut others {
            o.started_unix_s = o.started_unix_s.or(report.started_unix_s);
        }
        joined.ended_unix_s = match (joined.ended_unix_s, report.ended_unix_s) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        joined.others.push(report);
        joined.others.extend(others);
    }
    joined
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_are_shared_out_in_blocks_the_first_host_first() {
        assert_eq!(shares(4, 2), [2, 2]);
        assert_eq!(shares(3, 2), [2, 1]);
        assert_eq!(shares(1, 3), [1, 0, 0]);
        assert_eq!(hosts_of(4, 2), [0, 0, 1, 1]);
        assert_eq!(hosts_of(3, 2), [0, 0, 1]);
        assert_eq!(hosts_of(2, 1), [0, 0]);
    }

    #[test]
    fn a_timed_cell_starts_inside_the_steady_windows_fraction_of_a_second() {
        let (lo, hi) = config::length::START_BETWEEN;
        for now in [100.0, 100.2, 100.4, 100.6, 100.9, 100.99] {
            let at = start_time(now, true);
            assert!(at >= now + LEAD_S, "{now} → {at}");
            assert!(at - now < LEAD_S + 1.0, "{now} → {at}");
            assert!((lo - 1e-9..=hi).contains(&at.fract()), "{now} → {at}");
        }
        assert_eq!(start_time(100.2, false), 100.7);
    }

    #[test]
    fn reports_join_in_host_order_over_the_whole_span() {
        let report = |started: f64, ended: f64, stdout: &str, others: Vec<RunReport>| RunReport {
            started_unix_s: Some(started),
            ended_unix_s: Some(ended),
            stdout: stdout.into(),
            others,
            ..RunReport::default()
        };
        let unstamped = |stdout: &str| RunReport {
            stdout: stdout.into(),
            ..RunReport::default()
        };
        let first = report(10.0, 13.0, "a1", vec![unstamped("a2")]);
        let second = report(9.9, 13.2, "b1", vec![unstamped("b2")]);
        let joined = join(vec![first, second]);
        let order: Vec<&str> = joined.processes().map(|p| p.stdout.as_str()).collect();
        assert_eq!(order, ["a1", "a2", "b1", "b2"]);
        assert_eq!(joined.started_unix_s, Some(10.0));
        assert_eq!(joined.ended_unix_s, Some(13.2));
        assert!(joined.others.iter().all(|o| o.others.is_empty()));
        // Each process carries its own host's start.
        let starts: Vec<_> = joined.processes().map(|p| p.started_unix_s).collect();
        assert_eq!(starts, [Some(10.0), Some(10.0), Some(9.9), Some(9.9)]);
    }
}
