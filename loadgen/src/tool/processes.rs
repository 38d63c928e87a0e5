//! One cell's load sent by several processes of a single-threaded tool
//! (`loadgen.processes`): how the load is split between them, and how their results merge
//! back into one measurement.
//!
//! ab uses one core. A server that answers a request for less CPU than ab spends sending it
//! (no keep-alive: ab's connect and close cost more than a fast server's answer) is then
//! faster than any single ab process can show, whatever the host. Several processes,
//! started together in the load generator's container, each with its share of the
//! connections and requests, use as many cores as it may.
//!
//! The merge is exact where it can be: counts and failures are summed, req/s is the
//! requests over the longest process's measuring time (timed cells: the steady window
//! over the union of every process's per-request data), and the latency percentiles are
//! nearest-rank over the union of every request's total time (ab `-g`, whole ms): not an
//! average of each process's percentiles, which is not a percentile of anything.

use crate::record::{Measurement, Percentile, RequestLog, TimeSummary};

use super::{Amount, Load};

/// The loads of `n` processes sharing `load`: the connections split as evenly as they go
/// (the first ones take one more), the requests in proportion to the connections; each
/// process has at least one connection, so there are at most `concurrency` of them.
pub fn split<'a>(load: &Load<'a>, n: u32) -> Vec<Load<'a>> {
    let n = n.clamp(1, load.concurrency.max(1));
    let c = load.concurrency;
    let shares: Vec<u32> = (0..n).map(|i| c / n + u32::from(i < c % n)).collect();
    let mut left = match load.amount {
        Amount::Requests(total) => total,
        Amount::Seconds(_) => 0,
    };
    let mut connections_left = u64::from(c);
    shares
        .iter()
        .map(|&share| {
            let amount = match load.amount {
                Amount::Requests(_) => {
                    // In proportion to the connections, the last process taking the rest.
                    let take = (left * u64::from(share))
                        .div_ceil(connections_left)
                        .max(u64::from(share));
                    left -= take.min(left);
                    connections_left -= u64::from(share);
                    Amount::Requests(take)
                }
                seconds => seconds,
            };
            Load {
                amount,
                concurrency: share,
                ..load.clone()
            }
        })
        .collect()
}

/// The percentiles ab prints (its whole-ms table): the merged measurement gives the same
/// set, from the union of the processes' requests.
const AB_PERCENTILES: [f64; 9] = [50.0, 66.0, 75.0, 80.0, 90.0, 95.0, 98.0, 99.0, 100.0];

/// One measurement of several processes' measurements, `log` being the union of their
/// per-request data (without it, no latency percentiles: none can be merged exactly).
pub fn merge(parts: &[Measurement], log: Option<&RequestLog>, concurrency: u32) -> Measurement {
    let sum = |f: fn(&Measurement) -> Option<u64>| -> Option<u64> {
        parts.iter().map(f).sum::<Option<u64>>()
    };
    let complete = sum(|m| m.complete);
    let time_taken_s = parts.iter().filter_map(|m| m.time_taken_s).reduce(f64::max);
    let rps = match (complete, time_taken_s) {
        (Some(n), Some(t)) if t > 0.0 => Some(n as f64 / t),
        _ => None,
    };
    let transferred = sum(|m| m.transferred);
    let mut failed_by_kind = std::collections::BTreeMap::new();
    for (kind, n) in parts.iter().flat_map(|m| &m.failed_by_kind) {
        *failed_by_kind.entry(*kind).or_insert(0) += n;
    }
    let weighted = |f: fn(&Measurement) -> Option<f64>| -> Option<f64> {
        let (mut total, mut weight) = (0.0, 0.0);
        for m in parts {
            let w = m.complete.unwrap_or(0) as f64;
            total += f(m)? * w;
            weight += w;
        }
        (weight > 0.0).then(|| total / weight)
    };
    let histogram = log.map(RequestLog::histogram).unwrap_or_default();
    let mut warnings: Vec<String> = parts.iter().flat_map(|m| m.warnings.clone()).collect();
    warnings.dedup();
    Measurement {
        time_taken_s,
        complete,
        failed: sum(|m| m.failed),
        failed_by_kind,
        non_2xx: sum(|m| m.non_2xx),
        rps,
        transferred,
        // ab's two "time per request" figures, for all connections together.
        time_per_request_ms: rps.map(|r| f64::from(concurrency) * 1000.0 / r),
        time_per_request_all_ms: rps.map(|r| 1000.0 / r),
        transfer_rate_kbps: match (transferred, time_taken_s) {
            (Some(b), Some(t)) if t > 0.0 => Some(b as f64 / 1024.0 / t),
            _ => None,
        },
        latency_ms: AB_PERCENTILES
            .iter()
            .filter_map(|&p| {
                let ms = crate::record::steady::percentile_ms(&histogram, p)?;
                Some((Percentile(p).key(), ms))
            })
            .collect(),
        connect: weighted(|m| m.connect.map(|c| c.mean)).map(|mean| TimeSummary {
            mean,
            max: parts
                .iter()
                .filter_map(|m| m.connect.map(|c| c.max))
                .fold(0.0, f64::max),
        }),
        processing_mean_ms: weighted(|m| m.processing_mean_ms),
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn load(amount: Amount, concurrency: u32) -> Load<'static> {
        Load {
            amount,
            concurrency,
            rate: None,
            timeout_s: 30,
            keepalive: false,
            url: "http://h:1/",
            percentiles: true,
            per_request: true,
        }
    }

    #[test]
    fn connections_and_requests_are_shared_out_whole() {
        let parts = split(&load(Amount::Requests(1000), 10), 3);
        let c: Vec<u32> = parts.iter().map(|l| l.concurrency).collect();
        assert_eq!(c, [4, 3, 3]);
        let n: Vec<u64> = parts
            .iter()
            .map(|l| match l.amount {
                Amount::Requests(n) => n,
                Amount::Seconds(_) => 0,
            })
            .collect();
        assert_eq!(n.iter().sum::<u64>(), 1000);
        assert_eq!(n, [400, 300, 300]);
        // Never more processes than connections, and each sends at least its connections.
        let parts = split(&load(Amount::Requests(3), 2), 8);
        assert_eq!(parts.len(), 2);
        assert!(parts
            .iter()
            .all(|l| matches!(l.amount, Amount::Requests(n) if n >= u64::from(l.concurrency))));
        // A timed cell: every process sends for the whole time.
        let parts = split(&load(Amount::Seconds(3.0), 5), 2);
        assert_eq!(
            parts.iter().map(|l| l.concurrency).collect::<Vec<_>>(),
            [3, 2]
        );
        assert!(parts.iter().all(|l| l.amount == Amount::Seconds(3.0)));
    }

    #[test]
    fn the_merge_sums_counts_and_takes_percentiles_of_the_union() {
        let part = |complete: u64, t: f64, failed: u64| Measurement {
            time_taken_s: Some(t),
            complete: Some(complete),
            failed: Some(failed),
            non_2xx: Some(0),
            rps: Some(complete as f64 / t),
            transferred: Some(complete * 100),
            latency_ms: BTreeMap::from([("50".to_string(), 99.0)]),
            ..Measurement::default()
        };
        // Process one: 90 requests of 1 ms; process two: 10 of 20 ms. The union's p90 is
        // 1 ms and its p99 20 ms; neither process's own percentiles say so.
        let mut one = RequestLog::default();
        one.by_second.insert(100, BTreeMap::from([(1, 90)]));
        let mut two = RequestLog::default();
        two.by_second.insert(100, BTreeMap::from([(20, 10)]));
        one.merge(&two);
        let m = merge(&[part(90, 2.0, 1), part(10, 2.5, 0)], Some(&one), 10);
        assert_eq!((m.complete, m.failed), (Some(100), Some(1)));
        assert_eq!(m.rps, Some(40.0), "100 requests over the longest 2.5 s");
        assert_eq!(m.latency_ms["90"], 1.0);
        assert_eq!(m.latency_ms["99"], 20.0);
        assert_eq!(m.latency_ms["100"], 20.0);
        assert_eq!(m.time_per_request_ms, Some(250.0));
        // Without per-request data no percentile is made up.
        assert!(merge(&[part(1, 1.0, 0)], None, 1).latency_ms.is_empty());
    }
}
