//! oha: closed loop `oha -n N -c C …` or open loop `oha -z D -q R --latency-correction …`,
//! always `--no-tui --output-format json`, parsed by [`crate::oha`].

use std::collections::BTreeMap;

use super::{Amount, Load, LoadTool, Tool};
use crate::record::{Measurement, OhaReport, ToolReport};

pub struct Oha;

/// oha's report in the lab's terms (see `crate::oha` for how its counts are read). oha
/// prints no connect times and no warnings.
pub fn measurement(oha: &OhaReport) -> Measurement {
    Measurement {
        time_taken_s: Some(oha.total_s),
        complete: Some(oha.complete()),
        failed: Some(oha.failed()),
        failed_by_kind: oha.failures_by_kind(),
        non_2xx: Some(oha.non_2xx()),
        rps: Some(oha.requests_per_second()),
        transferred: Some(oha.total_data),
        latency_ms: oha.latency_ms.clone(),
        ..Measurement::default()
    }
}

/// Seconds as oha's `-z` and `-t` read them (humantime: `10s`, `2.5s` is not accepted).
fn duration_arg(seconds: f64) -> String {
    let ms = (seconds * 1000.0).round().max(1.0) as u64;
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// A rate as `-q` reads it: whole numbers without a fraction.
fn rate_arg(rate: f64) -> String {
    if rate.fract() == 0.0 {
        format!("{}", rate as u64)
    } else {
        format!("{rate:.3}")
    }
}

impl LoadTool for Oha {
    fn tool(&self) -> Tool {
        Tool::Oha
    }

    /// `--latency-correction` measures each request from when it was *due* (its slot in
    /// the fixed schedule), not from when a free connection sent it: without it a stalled
    /// server delays the sending and the stall vanishes from the latencies (coordinated
    /// omission). oha ignores it without `-q`. At the end of a timed run oha aborts the
    /// requests still in flight and counts them as "aborted due to deadline"; the parser
    /// keeps them apart from failures.
    fn command(&self, load: &Load<'_>) -> Vec<String> {
        let mut cmd: Vec<String> = vec!["oha".into()];
        match load.amount {
            Amount::Requests(n) => cmd.extend(["-n".into(), n.to_string()]),
            Amount::Seconds(s) => cmd.extend(["-z".into(), duration_arg(s)]),
        }
        cmd.extend(["-c".into(), load.concurrency.to_string()]);
        if let Some(rate) = load.rate {
            cmd.extend(["-q".into(), rate_arg(rate), "--latency-correction".into()]);
        }
        cmd.extend([
            "-t".into(),
            duration_arg(load.timeout_s as f64),
            "--no-tui".into(),
            "--output-format".into(),
            "json".into(),
        ]);
        if !load.keepalive {
            cmd.push("--disable-keepalive".into());
        }
        cmd.push(load.url.to_string());
        cmd
    }

    fn version_command(&self) -> Vec<String> {
        vec!["oha".into(), "--version".into()]
    }

    fn collect(&self, _load: &Load<'_>) -> Vec<&'static str> {
        Vec::new()
    }

    fn parse(&self, stdout: &str, _files: &BTreeMap<String, String>) -> Result<ToolReport, String> {
        crate::oha::parse(stdout)
            .map(ToolReport::Oha)
            .map_err(|e| e.to_string())
    }

    fn max_cores(&self) -> Option<f64> {
        None
    }

    fn open_loop(&self) -> bool {
        true
    }

    fn stdout_extension(&self) -> &'static str {
        "json"
    }
}

#[cfg(test)]
mod parser_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_closed_and_open_loop_command_lines() {
        let closed = Load {
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
            Oha.command(&closed).join(" "),
            "oha -n 1000 -c 10 -t 30s --no-tui --output-format json http://172.18.0.2:45000/"
        );
        let open = Load {
            amount: Amount::Seconds(2.5),
            rate: Some(500.0),
            keepalive: false,
            ..closed
        };
        assert_eq!(
            Oha.command(&open).join(" "),
            "oha -z 2500ms -c 10 -q 500 --latency-correction -t 30s --no-tui --output-format json \
             --disable-keepalive http://172.18.0.2:45000/"
        );
        assert_eq!(rate_arg(12.5), "12.500");
    }
}
