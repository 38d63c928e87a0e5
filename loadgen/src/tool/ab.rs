//! ApacheBench: `ab -n N -c C -s T -r [-e FILE] [-g FILE] [-k] URL`, or timed
//! `ab -t SECS -n CAP ...`, parsed by [`crate::ab`].

use std::collections::BTreeMap;

use super::{Amount, Load, LoadTool, Tool};
use crate::ab::AbReport;
use crate::record::{FailureKind, Measurement, RequestLog, TimeSummary, ToolReport};

/// Where ab writes its `-e` percentile file: relative, so in the work folder `lab-agent`
/// gives each process of a run (under `/tmp`, world-writable in the load generator
/// container: the lab copies it in with the agent), so that processes do not collide.
pub const PERCENTILE_FILE: &str = "lab-percentiles.csv";

/// Where ab writes its `-g` per-request file (start second and total time of each
/// request): the steady window and its timeline are computed from it. Relative, as above.
pub const REQUESTS_FILE: &str = "lab-requests.tsv";

/// ab's `-t` sets the request count to 50000 (see NOTES); a `-n` given after it lifts
/// that cap. ab reserves a record per request up front (calloc: pages are touched only as
/// requests complete), so the cap costs address space, not memory.
const TIMED_REQUEST_CAP: u64 = crate::config::MAX_REQUESTS;

pub struct Ab;

/// ab's report in the lab's terms. ab splits its failures into connect, receive, length
/// and exceptions. A `length` failure is an answer whose length differs from the first
/// answer's: a non-2xx answer of another length is counted by ab both there and in
/// `Non-2xx responses` (a pids-limited thread server's 503s), so as many length failures
/// as there are non-2xx answers are that double count and dropped; the rest (an empty
/// answer from a connection closed without a response, as an overflowing backlog gives)
/// stay failures, with exceptions, as `other`: neither refused nor broken.
pub fn measurement(ab: &AbReport) -> Measurement {
    let mut failed_by_kind = BTreeMap::new();
    let doubled = ab
        .failed_breakdown
        .as_ref()
        .map_or(0, |b| b.length.min(ab.non_2xx.unwrap_or(0)));
    if let Some(b) = &ab.failed_breakdown {
        for (kind, n) in [
            (FailureKind::Connect, b.connect),
            (FailureKind::Receive, b.receive),
            (FailureKind::Other, b.length - doubled + b.exceptions),
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
        failed: ab.failed_requests.map(|f| f.saturating_sub(doubled)),
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
        let mut cmd: Vec<String> = vec!["ab".into()];
        match load.amount {
            Amount::Requests(n) => cmd.extend(["-n".into(), n.to_string()]),
            // `-t` first: it resets the count, which `-n` then sets (order matters).
            Amount::Seconds(s) => cmd.extend([
                "-t".into(),
                (s.ceil() as u64).max(1).to_string(),
                "-n".into(),
                TIMED_REQUEST_CAP.to_string(),
            ]),
        }
        cmd.extend(
            [
                "-c",
                &load.concurrency.to_string(),
                "-s",
                &load.timeout_s.to_string(),
                "-r",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        if load.percentiles {
            cmd.extend(["-e".to_string(), PERCENTILE_FILE.to_string()]);
        }
        if load.per_request {
            cmd.extend(["-g".to_string(), REQUESTS_FILE.to_string()]);
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
        [
            (load.percentiles, PERCENTILE_FILE),
            (load.per_request, REQUESTS_FILE),
        ]
        .into_iter()
        .filter_map(|(wanted, file)| wanted.then_some(file))
        .collect()
    }

    fn request_log(&self, files: &BTreeMap<String, String>) -> Option<RequestLog> {
        let text = files.get(REQUESTS_FILE)?;
        match crate::ab::parse_gnuplot(text) {
            Ok(by_second) => Some(RequestLog { by_second }),
            Err(e) => {
                tracing::warn!("{e}");
                None
            }
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

    /// ab counts a non-2xx answer of another length twice (a `Length` failure and a
    /// non-2xx response): the lab counts it once; length failures beyond the non-2xx
    /// answers (empty answers, other lengths) stay failed requests.
    #[test]
    fn a_non_2xx_answer_of_another_length_is_counted_once() {
        let fixture = |name: &str| {
            let path = format!("{}/tests/fixtures/ab/{name}", env!("CARGO_MANIFEST_DIR"));
            measurement(&crate::ab::parse(&std::fs::read_to_string(path).unwrap()).unwrap())
        };
        // 300 answers, 100 of them 404s of another length.
        let m = fixture("non2xx-404-n300-c5.txt");
        assert_eq!(
            (m.complete, m.failed, m.non_2xx),
            (Some(300), Some(0), Some(100))
        );
        assert_eq!(m.bad(), 100);
        assert!(m.failed_by_kind.is_empty(), "{:?}", m.failed_by_kind);
        let good = m.good_rps().unwrap() / m.rps.unwrap();
        assert!((good - 200.0 / 300.0).abs() < 1e-9, "{good}");
        // 454 of 500 answers of another length and no non-2xx: still 454 failures.
        let m = fixture("failed-length-n500-c10.txt");
        assert_eq!((m.failed, m.bad()), (Some(454), 454));
        assert_eq!(m.failed_by_kind.get(&FailureKind::Other), Some(&454));
    }

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
            per_request: false,
        };
        assert_eq!(
            Ab.command(&load).join(" "),
            "ab -n 1000 -c 10 -s 30 -r -e lab-percentiles.csv -k http://172.18.0.2:45000/"
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
        let timed = Load {
            amount: Amount::Seconds(2.5),
            per_request: true,
            ..plain
        };
        assert_eq!(
            Ab.command(&timed).join(" "),
            "ab -t 3 -n 10000000 -c 10 -s 30 -r -g lab-requests.tsv http://172.18.0.2:45000/"
        );
        assert_eq!(Ab.collect(&timed), vec![REQUESTS_FILE]);
    }
}
