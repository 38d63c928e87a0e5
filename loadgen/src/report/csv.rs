//! `results.csv`: one row per cell (every repetition), flat, for spreadsheets and pandas.
//! The `ab_*` columns hold the load tool's figures whichever tool ran (their names predate
//! oha and stay for the scripts that read them).
//!
//! Each column is its name and how to read it off a cell ([`COLUMNS`]), so the header and
//! the values cannot drift apart; derived figures come from the model's
//! [`CellFigures`](super::model::CellFigures). Columns are only ever added, at the end.

use anyhow::Result;

use super::model::{CellFigures, Report};
use super::Exporter;
use crate::record::{Cell, Percentile, Steady};

pub struct Csv;

/// How one column is read off a cell and its figures.
type Column = (&'static str, fn(&Cell, &CellFigures) -> String);

fn f(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn u(v: Option<u64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

const COLUMNS: &[Column] = &[
    ("id", |c, _| c.id.clone()),
    ("group", |c, _| c.group.to_string()),
    ("limits", |c, _| c.group_label.clone()),
    ("server", |c, _| c.server.clone()),
    ("model", |c, _| c.model.clone()),
    ("workload", |c, _| c.workload.clone()),
    ("path", |c, _| c.path.clone()),
    ("keepalive", |c, _| c.keepalive.to_string()),
    ("concurrency", |c, _| c.concurrency.to_string()),
    ("repetition", |c, _| c.repetition.to_string()),
    ("requests", |c, _| c.requests.to_string()),
    ("status", |c, _| c.status.as_str().to_string()),
    ("reason", |c, _| c.reason.clone().unwrap_or_default()),
    ("exit_code", |c, _| {
        c.exit_code.map(|v| v.to_string()).unwrap_or_default()
    }),
    ("time_taken_s", |c, _| {
        f(c.measurement().and_then(|n| n.time_taken_s))
    }),
    ("complete_requests", |c, _| {
        u(c.measurement().and_then(|n| n.complete))
    }),
    ("failed_requests", |c, _| {
        u(c.measurement().and_then(|n| n.failed))
    }),
    ("non_2xx", |c, _| u(c.measurement().and_then(|n| n.non_2xx))),
    ("total_transferred", |c, _| {
        u(c.measurement().and_then(|n| n.transferred))
    }),
    ("requests_per_second", |c, _| f(c.rps())),
    ("good_requests_per_second", |c, _| f(c.good_rps())),
    ("time_per_request_ms", |c, _| {
        f(c.measurement().and_then(|a| a.time_per_request_ms))
    }),
    ("time_per_request_all_ms", |c, _| {
        f(c.measurement().and_then(|a| a.time_per_request_all_ms))
    }),
    ("transfer_rate_kbps", |c, _| {
        f(c.measurement().and_then(|a| a.transfer_rate_kbps))
    }),
    ("p50_ms", |c, _| f(c.latency(Percentile::P50))),
    ("p90_ms", |c, _| f(c.latency(Percentile::P90))),
    ("p99_ms", |c, _| f(c.latency(Percentile::P99))),
    ("max_ms", |c, _| f(c.latency(Percentile::MAX))),
    ("connect_mean_ms", |_, x| f(x.connect_mean_ms)),
    ("connect_max_ms", |_, x| f(x.connect_max_ms)),
    ("processing_mean_ms", |_, x| f(x.processing_mean_ms)),
    ("cpus", |c, _| c.limits.cpus.to_string()),
    ("memory_bytes", |c, _| c.limits.memory_bytes.to_string()),
    ("pids", |c, _| {
        c.limits.pids.map(|p| p.to_string()).unwrap_or_default()
    }),
    ("server_cpuset", |c, _| {
        c.limits.cpuset.clone().unwrap_or_default()
    }),
    ("loadgen_cpuset", |c, _| {
        c.limits.loadgen_cpuset.clone().unwrap_or_default()
    }),
    ("server_cpu_cores_avg", |_, x| f(x.server_cpu_cores)),
    ("server_cpu_cores_peak", |_, x| f(x.server_cpu_cores_peak)),
    ("server_throttled_share", |_, x| f(x.server_throttled)),
    ("server_memory_peak_bytes", |_, x| {
        u(x.container_memory_peak_bytes)
    }),
    ("server_pids_peak", |_, x| u(x.pids_peak)),
    ("loadgen_cpu_cores_avg", |c, _| {
        f(c.loadgen_resources.as_ref().map(|s| s.cpu_cores_avg))
    }),
    ("server_cpu_s", |c, _| {
        f(c.server_resources.as_ref().map(|s| s.cpu_s))
    }),
    ("ab_cpu_s", |c, _| f(c.tool_usage.as_ref().map(|t| t.cpu_s))),
    ("ab_wall_s", |c, _| {
        f(c.tool_usage.as_ref().map(|t| t.wall_s))
    }),
    ("server_connections_peak", |_, x| u(x.connections_peak)),
    ("server_threads_peak", |c, _| {
        u(c.server_metrics.as_ref().and_then(|m| m.threads_peak))
    }),
    ("server_requests_counted", |c, _| {
        u(c.server_metrics.as_ref().and_then(|m| m.requests))
    }),
    ("verdict", |c, _| {
        c.verdict
            .as_ref()
            .map(|v| v.limiter.as_str().to_string())
            .unwrap_or_default()
    }),
    ("verdict_evidence", |c, _| {
        c.verdict
            .as_ref()
            .map(|v| v.evidence.clone())
            .unwrap_or_default()
    }),
    ("cell_wall_s", |c, _| c.wall_s.to_string()),
    ("flags", |c, _| c.flags.join(" ")),
    ("server_process_memory_peak_bytes", |_, x| {
        u(x.process_memory_peak_bytes)
    }),
    ("ab_cpu_cores", |_, x| f(x.tool_cores)),
    // Added with oha: the tool, the open-loop rates and the finer percentiles.
    ("tool", |c, _| {
        c.tool().map(|t| t.to_string()).unwrap_or_default()
    }),
    ("rate", |c, _| {
        c.rate.map(|r| r.to_string()).unwrap_or_default()
    }),
    ("offered_rps", |c, _| f(c.offered_rps)),
    ("capacity_rps", |c, _| f(c.capacity_rps)),
    ("achieved_share", |c, _| f(c.achieved_share())),
    ("p99_9_ms", |c, _| f(c.latency(Percentile(99.9)))),
    ("failed_by_kind", |c, _| {
        c.measurement()
            .map(|n| {
                n.failed_by_kind
                    .iter()
                    .map(|(k, v)| format!("{}={v}", k.as_str()))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    }),
    // Added with the steady window: how long the cell ran, the quota periods its steady
    // window covered, and that window's figures (empty for runs recorded before it).
    ("duration_s", |c, _| f(c.duration_s)),
    ("period_s", |c, _| f(steady(c).map(|s| s.period_s))),
    ("periods_covered", |c, _| {
        f(steady(c).map(|s| s.periods_covered))
    }),
    ("steady_window_s", |c, _| f(steady(c).map(Steady::window_s))),
    ("steady_requests", |c, _| u(steady(c).map(|s| s.requests))),
    ("server_cpu_per_request_us", |c, _| {
        f(c.server_cpu_per_request_us())
    }),
    ("steady_server_throttled_share", |c, _| {
        f(steady(c).and_then(|s| s.server_throttled_share))
    }),
    ("halves_change", |c, _| {
        f(steady(c).and_then(|s| s.halves_change))
    }),
    // Added with `loadgen.processes`: the tool processes that sent the cell's load.
    ("tool_processes", |c, _| {
        c.processes.len().max(1).to_string()
    }),
];

fn steady(c: &Cell) -> Option<&Steady> {
    c.steady.as_ref()
}

impl Exporter for Csv {
    fn file_name(&self) -> &'static str {
        "results.csv"
    }

    fn render(&self, report: &Report<'_>) -> Result<Vec<u8>> {
        let mut w = ::csv::Writer::from_writer(Vec::new());
        w.write_record(COLUMNS.iter().map(|(name, _)| *name))?;
        for c in &report.run.results.cells {
            let figures = CellFigures::of(c);
            w.write_record(COLUMNS.iter().map(|(_, value)| value(c, &figures)))?;
        }
        Ok(w.into_inner()?)
    }
}
