//! ApacheBench: `ab -n N -c C -s T -r [-e FILE] [-k] URL`, parsed by [`crate::ab`].

use std::collections::BTreeMap;

use super::{Amount, Load, LoadTool, Tool};
use crate::ab::AbReport;
use crate::record::{FailureKind, Measurement, TimeSummary, ToolReport};

/// Where ab writes its `-e` percentile file inside the load generator container (`/tmp` is
/// world-writable there: the lab copies it in with the agent).
pub const PERCENTILE_FILE: &str = "/tmp/lab-percentiles.csv";

/// ab has `-t` but it silently caps requests at 50000 (see NOTES): a timed run is refused
/// by validation, so this many requests stand in should one reach here.
const TIMED_FALLBACK_REQUESTS: u64 = 50_000;

pub struct Ab;

/// ab's report in the lab's terms. ab splits its failures into connect, receive, length
/// and exceptions; the last two are neither a refused nor a broken connection: `other`.
pub fn measurement(ab: &AbReport) -> Measurement {
    let mut failed_by_kind = BTreeMap::new();
    if let Some(b) = &ab.failed_breakdown {
        for (kind, n) in [
            (FailureKind::Connect, b.connect),
            (FailureKind::Receive, b.receive),
            (FailureKind::Other, b.length + b.exceptions),
        ] {
            if n > 0 {
                *failed_by_kind.entry(kind).or_insert(0) += n;
            }
        }
    }
    let times = ab.connection_times.as_ref();
    Measurement {
        time_taken_s: ab.time_taken_s,
        complete: ab.complete_requests,
        failed: ab.failed_requests,
        failed_by_kind,
        non_2xx: ab.non_2xx,
        rps: ab.requests_per_second,
        transferred: ab.total_transferred,
        time_per_request_ms: ab.time_per_request_ms,
        time_per_request_all_ms: ab.time_per_request_all_ms,
        transfer_rate_kbps: ab.transfer_rate_kbps,
        latency_ms: ab.percentiles.clone().unwrap_or_default(),
        connect: times.and_then(|t| t.connect.as_ref()).map(|r| TimeSummary {
            mean: r.mean,
            max: r.max,
        }),
        processing_mean_ms: times.and_then(|t| t.processing.as_ref()).map(|r| r.mean),
        warnings: ab.warnings.clone(),
    }
}

impl LoadTool for Ab {
    fn tool(&self) -> Tool {
        Tool::Ab
    }

    /// `-r` keeps ab going on receive errors, so they count as failures instead of ending
    /// the run without a report. ab has no rate: `load.rate` is ignored (validation refuses
    /// `rate:` with ab).
    fn command(&self, load: &Load<'_>) -> Vec<String> {
        let requests = match load.amount {
            Amount::Requests(n) => n,
            Amount::Seconds(_) => TIMED_FALLBACK_REQUESTS,
        };
        let mut cmd: Vec<String> = [
            "ab",
            "-n",
            &requests.to_string(),
            "-c",
            &load.concurrency.to_string(),
            "-s",
            &load.timeout_s.to_string(),
            "-r",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if load.percentiles {
            cmd.extend(["-e".to_string(), PERCENTILE_FILE.to_string()]);
        }
        if load.keepalive {
            cmd.push("-k".into());
        }
        cmd.push(load.url.to_string());
        cmd
    }

    fn version_command(&self) -> Vec<String> {
        vec!["ab".into(), "-V".into()]
    }

    fn collect(&self, load: &Load<'_>) -> Vec<&'static str> {
        if load.percentiles {
            vec![PERCENTILE_FILE]
        } else {
            Vec::new()
        }
    }

    fn parse(&self, stdout: &str, _files: &BTreeMap<String, String>) -> Result<ToolReport, String> {
        crate::ab::parse(stdout)
            .map(|r| ToolReport::Ab(Box::new(r)))
            .map_err(|e| e.to_string())
    }

    fn max_cores(&self) -> Option<f64> {
        Some(1.0)
    }

    fn open_loop(&self) -> bool {
        false
    }

    fn stdout_extension(&self) -> &'static str {
        "txt"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_abs_command_line() {
        let load = Load {
            amount: Amount::Requests(1000),
            concurrency: 10,
            rate: None,
            timeout_s: 30,
            keepalive: true,
            url: "http://172.18.0.2:45000/",
            percentiles: true,
        };
        assert_eq!(
            Ab.command(&load).join(" "),
            "ab -n 1000 -c 10 -s 30 -r -e /tmp/lab-percentiles.csv -k http://172.18.0.2:45000/"
        );
        assert_eq!(Ab.collect(&load), vec![PERCENTILE_FILE]);
        let plain = Load {
            keepalive: false,
            percentiles: false,
            ..load
        };
        assert_eq!(
            Ab.command(&plain).join(" "),
            "ab -n 1000 -c 10 -s 30 -r http://172.18.0.2:45000/"
        );
        assert!(Ab.collect(&plain).is_empty());
    }
}
