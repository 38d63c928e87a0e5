//! `results.csv`: one row per cell (every repetition), flat, for spreadsheets and pandas.

use anyhow::Result;

use super::{Exporter, Run};

pub struct Csv;

const HEADER: &[&str] = &[
    "id",
    "group",
    "limits",
    "server",
    "model",
    "workload",
    "path",
    "keepalive",
    "concurrency",
    "repetition",
    "requests",
    "status",
    "reason",
    "exit_code",
    "time_taken_s",
    "complete_requests",
    "failed_requests",
    "non_2xx",
    "total_transferred",
    "requests_per_second",
    "good_requests_per_second",
    "time_per_request_ms",
    "time_per_request_all_ms",
    "transfer_rate_kbps",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "max_ms",
    "connect_mean_ms",
    "connect_max_ms",
    "processing_mean_ms",
    "cpus",
    "memory_bytes",
    "pids",
    "server_cpuset",
    "loadgen_cpuset",
    "server_cpu_cores_avg",
    "server_cpu_cores_peak",
    "server_throttled_share",
    "server_memory_peak_bytes",
    "server_pids_peak",
    "loadgen_cpu_cores_avg",
    "server_cpu_s",
    "ab_cpu_s",
    "ab_wall_s",
    "server_connections_peak",
    "server_threads_peak",
    "server_requests_counted",
    "verdict",
    "verdict_evidence",
    "cell_wall_s",
    "flags",
];

impl Exporter for Csv {
    fn file_name(&self) -> &'static str {
        "results.csv"
    }

    fn render(&self, run: &Run) -> Result<Vec<u8>> {
        let mut w = ::csv::Writer::from_writer(Vec::new());
        w.write_record(HEADER)?;
        let f = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        let u = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
        for c in &run.results.cells {
            let ab = c.ab.as_ref();
            let ct = ab.and_then(|a| a.connection_times.as_ref());
            let connect = ct.and_then(|t| t.connect.as_ref());
            let processing = ct.and_then(|t| t.processing.as_ref());
            let srv = c.server_resources.as_ref();
            let lg = c.loadgen_resources.as_ref();
            let metrics = c.server_metrics.as_ref();
            w.write_record([
                c.id.clone(),
                c.group.to_string(),
                c.group_label.clone(),
                c.server.clone(),
                c.model.clone(),
                c.workload.clone(),
                c.path.clone(),
                c.keepalive.to_string(),
                c.concurrency.to_string(),
                c.repetition.to_string(),
                c.requests.to_string(),
                format!("{:?}", c.status).to_lowercase(),
                c.reason.clone().unwrap_or_default(),
                c.exit_code.map(|v| v.to_string()).unwrap_or_default(),
                f(ab.and_then(|a| a.time_taken_s)),
                u(ab.and_then(|a| a.complete_requests)),
                u(ab.and_then(|a| a.failed_requests)),
                u(ab.and_then(|a| a.non_2xx)),
                u(ab.and_then(|a| a.total_transferred)),
                f(ab.and_then(|a| a.requests_per_second)),
                f(c.good_rps()),
                f(ab.and_then(|a| a.time_per_request_ms)),
                f(ab.and_then(|a| a.time_per_request_all_ms)),
                f(ab.and_then(|a| a.transfer_rate_kbps)),
                f(c.percentile("50")),
                f(c.percentile("90")),
                f(c.percentile("99")),
                f(c.percentile("100")),
                f(connect.map(|r| r.mean)),
                f(connect.map(|r| r.max)),
                f(processing.map(|r| r.mean)),
                c.limits.cpus.to_string(),
                c.limits.memory_bytes.to_string(),
                c.limits.pids.map(|p| p.to_string()).unwrap_or_default(),
                c.limits.cpuset.clone().unwrap_or_default(),
                c.limits.loadgen_cpuset.clone().unwrap_or_default(),
                f(srv.map(|s| s.cpu_cores_avg)),
                f(srv.map(|s| s.cpu_cores_peak)),
                f(srv.and_then(|s| s.throttled_share())),
                u(srv.map(|s| s.memory_peak_bytes)),
                u(srv.map(|s| s.pids_peak)),
                f(lg.map(|s| s.cpu_cores_avg)),
                f(srv.map(|s| s.cpu_s)),
                f(c.tool_usage.as_ref().map(|t| t.cpu_s)),
                f(c.tool_usage.as_ref().map(|t| t.wall_s)),
                u(metrics.and_then(|m| m.connections_peak)),
                u(metrics.and_then(|m| m.threads_peak)),
                u(metrics.and_then(|m| m.requests)),
                c.verdict
                    .as_ref()
                    .map(|v| v.limiter.as_str().to_string())
                    .unwrap_or_default(),
                c.verdict
                    .as_ref()
                    .map(|v| v.evidence.clone())
                    .unwrap_or_default(),
                c.wall_s.to_string(),
                c.flags.join(" "),
            ])?;
        }
        Ok(w.into_inner()?)
    }
}
