//! The steady window of a cell, from the tool's per-request data and the server's
//! per-period counters: a pure function, tested without Docker.
//!
//! **The window** is made of whole seconds of the load generator's clock (ab stamps each
//! request's start with a whole second): from the first whole second that begins at least
//! [`RAMP_S`] after the tool started (its connections are open, the first period's unused
//! quota is spent) to the last whole second whose requests could all end before the tool
//! stopped (its end minus the 99.9th percentile of the total time of the requests from the
//! window's first second on, with [`END_SLACK_S`] of slack). Requests are counted by the second they started in; in a closed loop, starts
//! and completions balance, and no request of the window is cut off by the tool's end.
//!
//! **The counters** are read every period by the lab during the cell (`run/sampler.rs`):
//! the server's CPU over the window is the difference of the cumulative CPU time
//! interpolated linearly at the window's two edges between the readings around each, so
//! it brackets the same window as the requests to within the interpolation's error (CPU
//! use is near-constant within a 100 ms reading interval under steady load).
//!
//! **Steadiness**: the window's seconds are the batches of the batch-means interval
//! (`stats::batch_ci95`); the cell is `not-steady` when its halves differ by more than
//! [`HALVES_TOLERANCE`] or its seconds trend by more than [`TREND_TOLERANCE`] per second.

use std::collections::BTreeMap;

use crate::record::steady::{PeriodFigures, SecondFigures};
use crate::record::{CounterSample, Percentile, RequestLog, Steady};

/// Start-up left out before the window's first second: ab opens its connections within
/// a few ms of starting.
pub const RAMP_S: f64 = 0.05;
/// A request of the window's last second may still end this long after the tool stopped
/// (and so be missing from its data): at most 1% of that second.
pub const END_SLACK_S: f64 = 0.01;
/// The halves of the window may differ by this share of req/s before `not-steady`.
pub const HALVES_TOLERANCE: f64 = 0.10;
/// The seconds' req/s may trend by this share of the mean per second before `not-steady`.
pub const TREND_TOLERANCE: f64 = 0.05;

/// What the steady window is computed from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub log: &'a RequestLog,
    /// When the tool started and stopped sending (the load generator host's clock).
    pub tool_start_unix_s: f64,
    pub tool_end_unix_s: f64,
    /// The server's CPU counters, read every period during the cell (the lab host's clock;
    /// empty when they could not be read so often).
    pub samples: &'a [CounterSample],
    pub period_s: f64,
    pub period_source: &'a str,
    pub quota_cores: Option<f64>,
    pub min_periods: u32,
}

/// The steady window of a cell (see the module's doc).
pub fn steady(i: &Inputs<'_>) -> Steady {
    let (start, end) = window(i);
    let seconds_in: Vec<(u64, &BTreeMap<u64, u64>)> = i
        .log
        .by_second
        .range(start as u64..end as u64)
        .map(|(s, h)| (*s, h))
        .collect();
    let window_s = end - start;
    let period = i.period_s.max(1e-6);
    let periods_covered = if window_s > 0.0 {
        window_s / period
    } else {
        // No whole second of steady load: the cell covered its whole run at most.
        (i.tool_end_unix_s - i.tool_start_unix_s).max(0.0) / period
    };
    let hist = merged(seconds_in.iter().map(|(_, h)| *h));
    let requests: u64 = hist.values().sum();
    let seconds = per_second(i.log, start, end);
    let server_cpu_s = (window_s > 0.0)
        .then(|| cpu_between(i.samples, start, end))
        .flatten();
    // A cell too short for a whole second: its CPU per request over the tool's own run
    // (not the scrapes and the exec around it), from the same readings.
    let whole_run_cpu_per_request_us = (window_s <= 0.0 && !i.log.is_empty())
        .then(|| cpu_between(i.samples, i.tool_start_unix_s, i.tool_end_unix_s))
        .flatten()
        .map(|c| c / i.log.len() as f64 * 1e6);
    let throttled_share = (window_s > 0.0)
        .then(|| {
            let (a, b) = (at(i.samples, start)?, at(i.samples, end)?);
            let periods = b.periods_f - a.periods_f;
            (periods >= 0.5).then(|| ((b.throttled_f - a.throttled_f) / periods).clamp(0.0, 1.0))
        })
        .flatten();
    let batches: Vec<f64> = seconds.iter().map(|s| s.requests as f64).collect();
    Steady {
        period_s: i.period_s,
        period_source: i.period_source.to_string(),
        quota_cores: i.quota_cores,
        window_start_unix_s: start,
        window_end_unix_s: end,
        periods_covered,
        periods_wanted: i.min_periods,
        requests,
        rps: if window_s > 0.0 {
            requests as f64 / window_s
        } else {
            0.0
        },
        latency_ms: [
            Percentile::P50,
            Percentile::P90,
            Percentile::P99,
            Percentile::MAX,
        ]
        .into_iter()
        .filter_map(|p| Some((p.key(), crate::record::steady::percentile_ms(&hist, p.0)?)))
        .collect(),
        server_cpu_per_request_us: server_cpu_s
            .filter(|_| requests > 0)
            .map(|c| c / requests as f64 * 1e6)
            .or(whole_run_cpu_per_request_us),
        server_cpu_s,
        server_throttled_share: throttled_share,
        seconds,
        server_periods: periods(i.samples, start),
        halves_change: halves_change(&batches),
        trend_per_s: trend(&batches),
        lengthened_from_s: None,
    }
}

/// The latency, seconds, that the window's end leaves room for: the 99.9th percentile of
/// the total time of the requests from whole second `start` (Unix time) on.
pub fn tail_latency_s(log: &RequestLog, start: f64) -> f64 {
    let after_ramp = merged(log.by_second.range(start as u64..).map(|(_, h)| h));
    crate::record::steady::percentile_ms(&after_ramp, 99.9).unwrap_or(0.0) / 1000.0
}

/// The window's first and last whole second (Unix time; the end excluded).
fn window(i: &Inputs<'_>) -> (f64, f64) {
    let start = (i.tool_start_unix_s + RAMP_S).ceil();
    // The tail of the requests from the window's first second on: the start-up's own
    // outliers (a SYN retried after 1 s while the connections open) say nothing about
    // how long the last second's requests take.
    let latency_s = tail_latency_s(i.log, start);
    let end = (i.tool_end_unix_s - latency_s + END_SLACK_S)
        .floor()
        .max(start);
    (start, end)
}

/// The figures of each whole second of the window: the per-period timeline's requests.
fn per_second(log: &RequestLog, start: f64, end: f64) -> Vec<SecondFigures> {
    (start as u64..end as u64)
        .map(|s| {
            let h = log.by_second.get(&s).cloned().unwrap_or_default();
            SecondFigures {
                offset_s: s as f64 - start,
                requests: h.values().sum(),
                p50_ms: crate::record::steady::percentile_ms(&h, 50.0).unwrap_or(0.0),
                p99_ms: crate::record::steady::percentile_ms(&h, 99.0).unwrap_or(0.0),
            }
        })
        .collect()
}

/// Is the window's load steady (see [`HALVES_TOLERANCE`], [`TREND_TOLERANCE`])? Windows
/// of fewer than 2 seconds cannot say: they are taken as steady.
pub fn is_steady(s: &Steady) -> bool {
    let halves = s
        .halves_change
        .map_or(true, |c| c.abs() <= HALVES_TOLERANCE);
    let trend = s.trend_per_s.map_or(true, |t| t.abs() <= TREND_TOLERANCE);
    halves && trend
}

/// Second half's mean over the first half's, minus 1 (an odd middle second is left out).
fn halves_change(batches: &[f64]) -> Option<f64> {
    let n = batches.len();
    if n < 2 {
        return None;
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (first, second) = (mean(&batches[..n / 2]), mean(&batches[n.div_ceil(2)..]));
    (first > 0.0).then(|| second / first - 1.0)
}

/// Least-squares slope of the batches per second, as a share of their mean (3 or more).
fn trend(batches: &[f64]) -> Option<f64> {
    let n = batches.len();
    if n < 3 {
        return None;
    }
    let xm = (n as f64 - 1.0) / 2.0;
    let ym = batches.iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (x, y) in batches.iter().enumerate() {
        sxy += (x as f64 - xm) * (y - ym);
        sxx += (x as f64 - xm).powi(2);
    }
    (ym > 0.0 && sxx > 0.0).then(|| sxy / sxx / ym)
}

/// Histograms summed.
fn merged<'a>(hists: impl Iterator<Item = &'a BTreeMap<u64, u64>>) -> BTreeMap<u64, u64> {
    let mut out = BTreeMap::new();
    for h in hists {
        for (ms, n) in h {
            *out.entry(*ms).or_insert(0) += n;
        }
    }
    out
}

/// The server's CPU between `a` and `b`, from the readings interpolated at both.
fn cpu_between(samples: &[CounterSample], a: f64, b: f64) -> Option<f64> {
    Some(at(samples, b)?.cpu_s - at(samples, a)?.cpu_s).filter(|c| *c >= 0.0)
}

/// The cumulative counters interpolated at time `t`, when readings bracket it.
struct Interpolated {
    cpu_s: f64,
    periods_f: f64,
    throttled_f: f64,
}

fn at(samples: &[CounterSample], t: f64) -> Option<Interpolated> {
    let after = samples.iter().position(|s| s.at_unix_s >= t)?;
    let b = samples[after];
    let a = if after == 0 {
        // Read exactly at t, or nothing before it.
        (b.at_unix_s == t).then_some(b)?
    } else {
        samples[after - 1]
    };
    let span = b.at_unix_s - a.at_unix_s;
    let w = if span > 0.0 {
        (t - a.at_unix_s) / span
    } else {
        1.0
    };
    let lerp = |x: f64, y: f64| x + (y - x) * w;
    Some(Interpolated {
        cpu_s: lerp(a.cpu_s, b.cpu_s),
        periods_f: lerp(a.periods as f64, b.periods as f64),
        throttled_f: lerp(a.throttled as f64, b.throttled as f64),
    })
}

/// Each interval between two readings, as the server's counters saw it.
fn periods(samples: &[CounterSample], start: f64) -> Vec<PeriodFigures> {
    samples
        .windows(2)
        .filter(|w| w[1].at_unix_s > w[0].at_unix_s)
        .map(|w| PeriodFigures {
            offset_s: w[1].at_unix_s - start,
            cores: (w[1].cpu_s - w[0].cpu_s) / (w[1].at_unix_s - w[0].at_unix_s),
            throttled: w[1].throttled.saturating_sub(w[0].throttled),
            periods: w[1].periods.saturating_sub(w[0].periods),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `per_second` requests of `ms` each, in every second from `from` to `to` (exclusive).
    fn log(from: u64, to: u64, per_second: impl Fn(u64) -> u64, ms: u64) -> RequestLog {
        RequestLog {
            by_second: (from..to)
                .map(|s| (s, [(ms, per_second(s))].into_iter().collect()))
                .collect(),
        }
    }

    /// Readings every 100 ms from `from` to `to`, the server using `cores` and throttled in
    /// every other period.
    fn samples(from: f64, to: f64, cores: f64) -> Vec<CounterSample> {
        let n = ((to - from) / 0.1).round() as u64;
        (0..=n)
            .map(|k| CounterSample {
                at_unix_s: from + k as f64 * 0.1,
                cpu_s: 100.0 + k as f64 * 0.1 * cores,
                periods: 1000 + k,
                throttled: 500 + k / 2,
            })
            .collect()
    }

    fn inputs<'a>(
        log: &'a RequestLog,
        samples: &'a [CounterSample],
        start: f64,
        end: f64,
    ) -> Inputs<'a> {
        Inputs {
            log,
            tool_start_unix_s: start,
            tool_end_unix_s: end,
            samples,
            period_s: 0.1,
            period_source: "cgroup",
            quota_cores: Some(0.25),
            min_periods: 20,
        }
    }

    #[test]
    fn the_window_is_the_whole_seconds_between_start_up_and_the_end() {
        // A 3 s run started at .40: seconds 1001 and 1002 are whole and steady; 1000 and
        // 1003 are partial (start-up, end).
        let l = log(
            1000,
            1004,
            |s| if s == 1000 || s == 1003 { 300 } else { 5000 },
            2,
        );
        let ss = samples(1000.3, 1003.5, 0.25);
        let s = steady(&inputs(&l, &ss, 1000.40, 1003.40));
        assert_eq!(
            (s.window_start_unix_s, s.window_end_unix_s),
            (1001.0, 1003.0)
        );
        assert_eq!(s.requests, 10_000);
        assert_eq!(s.rps, 5000.0);
        assert!((s.periods_covered - 20.0).abs() < 1e-9);
        assert!(s.long_enough());
        assert_eq!(s.seconds.len(), 2);
        assert_eq!(s.latency_ms["99"], 2.0);
        // 0.25 cores over 2 s = 0.5 CPU seconds for 10,000 requests: 50 µs each.
        assert!(
            (s.server_cpu_s.unwrap() - 0.5).abs() < 1e-9,
            "{:?}",
            s.server_cpu_s
        );
        assert!((s.server_cpu_per_request_us.unwrap() - 50.0).abs() < 1e-6);
        assert!((s.server_throttled_share.unwrap() - 0.5).abs() < 0.051);
        assert!((s.server_cores().unwrap() - 0.25).abs() < 1e-9);
        assert!(is_steady(&s));
        assert_eq!(s.server_periods.len(), 32);
    }

    #[test]
    fn slow_requests_move_the_end_back_and_a_short_run_covers_its_length() {
        // p99.9 of 300 ms: requests that start in 1002 may end after the tool stopped at
        // 1003.1, so the window ends at 1002.
        let l = log(1000, 1004, |_| 100, 300);
        let s = steady(&inputs(&l, &[], 1000.30, 1003.10));
        assert_eq!(
            (s.window_start_unix_s, s.window_end_unix_s),
            (1001.0, 1002.0)
        );
        assert!(!s.long_enough(), "10 periods of 20");
        assert_eq!(s.server_cpu_s, None, "no readings");
        // A 1000-request cell of 0.2 s: no whole second; it covered 2 periods, and its CPU
        // per request is taken over the tool's own run.
        let l = log(1000, 1001, |_| 1000, 1);
        let ss = samples(1000.3, 1000.9, 0.25);
        let s = steady(&inputs(&l, &ss, 1000.50, 1000.70));
        assert_eq!((s.requests, s.rps), (0, 0.0));
        assert!((s.periods_covered - 2.0).abs() < 1e-9);
        // 0.25 cores × 0.2 s = 50 ms for 1000 requests.
        assert!((s.server_cpu_per_request_us.unwrap() - 50.0).abs() < 1e-6);
    }

    #[test]
    fn start_up_outliers_do_not_move_the_end() {
        // The thread model at 0.1 CPU, c = 100: ~200 ms per request, and a few connections
        // of the start-up second waited 1.2 s for a retried SYN. Only the window's own tail
        // (200 ms) decides whether its last second's requests ended before the tool did.
        let mut l = log(1000, 1004, |_| 500, 200);
        l.by_second.get_mut(&1000).unwrap().insert(1200, 5);
        let s = steady(&inputs(&l, &[], 1000.40, 1003.40));
        assert_eq!(
            (s.window_start_unix_s, s.window_end_unix_s),
            (1001.0, 1003.0),
            "two whole seconds, not one"
        );
        assert!(s.long_enough());
    }

    #[test]
    fn a_trend_or_unequal_halves_is_not_steady() {
        let l = log(1000, 1008, |s| 1000 + (s - 1000) * 100, 1);
        let s = steady(&inputs(&l, &[], 1000.5, 1008.5));
        assert!(
            s.trend_per_s.unwrap() > TREND_TOLERANCE,
            "{:?}",
            s.trend_per_s
        );
        assert!(!is_steady(&s));
        let l = log(1000, 1008, |_| 1000, 1);
        assert!(is_steady(&steady(&inputs(&l, &[], 1000.5, 1008.5))));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let h: BTreeMap<u64, u64> = [(1, 98), (5, 1), (9, 1)].into_iter().collect();
        assert_eq!(crate::record::steady::percentile_ms(&h, 50.0), Some(1.0));
        assert_eq!(crate::record::steady::percentile_ms(&h, 99.0), Some(5.0));
        assert_eq!(crate::record::steady::percentile_ms(&h, 100.0), Some(9.0));
        assert_eq!(
            crate::record::steady::percentile_ms(&BTreeMap::new(), 50.0),
            None
        );
    }
}
