//! What is drawn: the charts of one series, their panels and lines, taken from the report
//! model's rows.

use plotters::style::RGBColor;

use super::{server_color, TEXT_GREY};
use crate::record::Flag;
use crate::record::Percentile;
use crate::report::model::{CellFigures, Report, Row, Series};

/// One point of a line: a row of the series.
#[derive(Debug, Clone)]
pub struct Pt {
    pub x: f64,
    /// `None`: the row has no value for this metric (failed, or not captured).
    pub y: Option<f64>,
    /// Error bar (min, max) when the row was repeated.
    pub bar: Option<(f64, f64)>,
    pub flags: Vec<Flag>,
}

#[derive(Debug, Clone)]
pub struct Line {
    pub color: RGBColor,
    pub points: Vec<Pt>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    Linear,
    Log,
}

pub struct Panel {
    pub title: String,
    pub y_desc: String,
    pub lines: Vec<Line>,
    /// Horizontal dashed lines (a CPU limit): colour, value.
    pub limits: Vec<(RGBColor, f64)>,
}

pub struct ChartSpec {
    pub kind: &'static str,
    pub title: String,
    pub scale: Scale,
    /// All panels share one y range (so their values compare by eye).
    pub shared_y: bool,
    /// Grid of panels: columns.
    pub cols: usize,
    pub size: (u32, u32),
    pub panels: Vec<Panel>,
    /// Print flag letters beside flagged points.
    pub letters: bool,
    /// Extra legend entry for dashed limit lines.
    pub limit_legend: Option<String>,
}

/// What every chart of one series needs to know.
pub struct SeriesCtx<'r, 'a> {
    pub rows: Vec<&'r Row<'a>>,
    /// (name, name shown in the legend, colour) per server present in the series, in order.
    pub servers: Vec<(String, String, RGBColor)>,
    /// Tick positions of the x axis: the concurrency levels, or the offered rates.
    pub x_keys: Vec<f64>,
    /// The series varies the offered rate (open loop): x is req/s offered, per server.
    pub open_loop: bool,
    /// The run's load tool (axis titles name it).
    pub tool: crate::tool::Tool,
    pub run_name: String,
    pub subtitle: String,
    pub reps: usize,
}

impl<'r, 'a> SeriesCtx<'r, 'a> {
    pub fn new(report: &'r Report<'a>, series: &Series) -> Self {
        let rows: Vec<&Row> = report.rows.iter().filter(|r| r.series == *series).collect();
        let order = crate::report::model::rows::server_order(&report.run.results);
        let open_loop = series.is_open_loop();
        let mut names: Vec<&str> = Vec::new();
        for r in &rows {
            if !names.contains(&r.server.as_str()) {
                names.push(&r.server);
            }
        }
        let x_keys = x_keys(rows.iter().filter_map(|r| x_of(r, open_loop)).collect());
        // Servers' own limits, named in the legend when they differ within the series.
        let limits_of = |name: &str| {
            rows.iter()
                .find(|r| r.server == name)
                .map(|r| r.representative.limits.label())
                .unwrap_or_default()
        };
        let differ = names.iter().any(|n| limits_of(n) != limits_of(names[0]));
        let servers = names
            .iter()
            .map(|n| {
                let idx = order.iter().position(|s| s == n).unwrap_or(0);
                let limits = differ.then(|| limits_of(n));
                (
                    n.to_string(),
                    legend_label(&rows, n, limits),
                    server_color(idx),
                )
            })
            .collect();
        let reps = rows.iter().map(|r| r.cells.len()).max().unwrap_or(1);
        let limits = if differ {
            let pids = rows[0].representative.limits.pids;
            format!(
                "{}{}",
                series.group_label,
                pids.map(|p| format!(" pids={p}")).unwrap_or_default()
            )
        } else {
            limits_of(names[0])
        };
        let amount = match series.open_loop_connections {
            Some(c) => format!("open loop over {c} connections"),
            None => crate::report::model::steady::per_cell(rows[0].representative),
        };
        let subtitle = subtitle(series, &limits, &amount, reps);
        SeriesCtx {
            rows,
            servers,
            x_keys,
            open_loop,
            tool: report.tool,
            run_name: report.run.results.name.clone(),
            subtitle,
            reps,
        }
    }

    /// One line per server of `metric` (value, optional min–max bar).
    fn lines(&self, metric: impl Fn(&Row) -> Option<(f64, Option<(f64, f64)>)>) -> Vec<Line> {
        self.servers
            .iter()
            .map(|(name, _, color)| Line {
                color: *color,
                points: self
                    .rows
                    .iter()
                    .filter(|r| &r.server == name)
                    .filter_map(|r| {
                        let v = metric(r);
                        Some(Pt {
                            x: x_of(r, self.open_loop)?,
                            y: v.map(|v| v.0),
                            bar: v.and_then(|v| v.1),
                            flags: r.flags.clone(),
                        })
                    })
                    .collect(),
            })
            .collect()
    }

    /// One line per server of a figure of each row's median repetition.
    fn figure_lines(&self, figure: impl Fn(&CellFigures) -> Option<f64>) -> Vec<Line> {
        self.lines(|r| figure(&CellFigures::of(r.representative)).map(|v| (v, None)))
    }
}

/// Where a row sits on the x axis: its concurrency, or (open loop) the rate it was offered;
/// `None` for an open-loop row whose rate never resolved (its capacity pass failed).
fn x_of(r: &Row<'_>, open_loop: bool) -> Option<f64> {
    if open_loop {
        r.offered_rps.filter(|o| *o > 0.0)
    } else {
        Some(f64::from(r.concurrency))
    }
}

/// Ticks for the x axis: every value, ascending, without ticks closer than 8% to the
/// previous one (rates offered to different servers would crowd the axis).
fn x_keys(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    let mut keys: Vec<f64> = Vec::new();
    for v in values {
        if keys.last().map_or(true, |k| v > k * 1.08) {
            keys.push(v);
        }
    }
    keys
}

impl SeriesCtx<'_, '_> {
    /// The x axis, in words.
    pub fn x_desc(&self) -> String {
        if self.open_loop {
            format!(
                "offered rate [req/s] (open loop, {} -q), log scale",
                self.tool
            )
        } else {
            format!("concurrency ({} -c), log scale", self.tool)
        }
    }
}

/// `thread-64k (thread) · cpus=1 memory=64m`: a server's name, its model when that is not
/// its name, and its own limits when they differ from the others'.
fn legend_label(rows: &[&Row<'_>], name: &str, limits: Option<String>) -> String {
    let mut label = name.to_string();
    if let Some(row) = rows.iter().find(|r| r.server == name && r.model != name) {
        label.push_str(&format!(" ({})", row.model));
    }
    if let Some(l) = limits {
        label.push_str(&format!(" · {l}"));
    }
    label
}

/// `hello GET / · keep-alive off · cpus=1 memory=256m · 1000 requests per cell · median of 3 runs`
fn subtitle(series: &Series, limits: &str, amount: &str, reps: usize) -> String {
    format!(
        "{} GET {} · keep-alive {} · {limits} · {amount} · {}",
        series.workload,
        series.path,
        series.keepalive_word(),
        if reps > 1 {
            format!("median of {reps} runs")
        } else {
            "1 run each".to_string()
        }
    )
}

/// Every chart of a series: req/s, latency, connect vs processing, and resources when the
/// run captured them.
pub fn chart_specs(ctx: &SeriesCtx) -> Vec<ChartSpec> {
    let mut specs = if ctx.open_loop {
        vec![latency_vs_rate(ctx), achieved(ctx)]
    } else {
        vec![rps(ctx), latency(ctx), connect(ctx)]
    };
    if ctx
        .rows
        .iter()
        .any(|r| r.representative.server_resources.is_some())
    {
        specs.push(resources(ctx));
    }
    specs
}

fn panel(title: &str, y_desc: &str, lines: Vec<Line>) -> Panel {
    Panel {
        title: title.into(),
        y_desc: y_desc.into(),
        lines,
        limits: Vec::new(),
    }
}

fn rps(ctx: &SeriesCtx) -> ChartSpec {
    let lines = ctx.lines(|r| {
        r.rps
            .map(|s| (s.median, (s.n > 1).then_some((s.min, s.max))))
    });
    ChartSpec {
        kind: "rps",
        title: "Requests per second vs concurrency".into(),
        scale: Scale::Linear,
        shared_y: false,
        cols: 1,
        size: (960, 560),
        panels: vec![panel("", "requests per second [#/sec]", lines)],
        letters: true,
        limit_legend: None,
    }
}

/// The classic curve of open-loop load: latency (corrected for coordinated omission) against
/// the offered rate, one line per server; where a line leaves the flat part is where that
/// server stops keeping up.
fn latency_vs_rate(ctx: &SeriesCtx) -> ChartSpec {
    let pct = |p: Percentile, title: &str| {
        let lines = ctx.lines(|r| r.latency(p).map(|v| (v, None)));
        panel(title, "latency [ms], log scale", lines)
    };
    ChartSpec {
        kind: "latency-rate",
        title: "Latency vs offered rate (open loop, corrected for coordinated omission)".into(),
        scale: Scale::Log,
        shared_y: true,
        cols: 2,
        size: (960, 760),
        panels: vec![
            pct(Percentile::P50, "p50 (median)"),
            pct(Percentile::P99, "p99"),
            pct(Percentile(99.9), "p99.9"),
            pct(Percentile::MAX, "max (longest request)"),
        ],
        letters: true,
        limit_legend: None,
    }
}

/// Achieved vs offered rate: a point below its offered rate fell short (flag S).
fn achieved(ctx: &SeriesCtx) -> ChartSpec {
    let lines = ctx.lines(|r| {
        r.rps
            .map(|s| (s.median, (s.n > 1).then_some((s.min, s.max))))
    });
    ChartSpec {
        kind: "achieved",
        title: "Achieved vs offered rate (open loop)".into(),
        scale: Scale::Linear,
        shared_y: false,
        cols: 1,
        size: (960, 560),
        panels: vec![panel("", "achieved requests per second [#/sec]", lines)],
        letters: true,
        limit_legend: None,
    }
}

fn latency(ctx: &SeriesCtx) -> ChartSpec {
    let pct = |p: Percentile, title: &str| {
        let lines = ctx.lines(|r| r.latency(p).map(|v| (v, None)));
        panel(title, "latency [ms], log scale", lines)
    };
    ChartSpec {
        kind: "latency",
        title: "Latency percentiles vs concurrency".into(),
        scale: Scale::Log,
        shared_y: true,
        cols: 2,
        size: (960, 760),
        panels: vec![
            pct(Percentile::P50, "p50 (median)"),
            pct(Percentile::P90, "p90"),
            pct(Percentile::P99, "p99"),
            pct(Percentile::MAX, "max (longest request)"),
        ],
        letters: false,
        limit_legend: None,
    }
}

fn connect(ctx: &SeriesCtx) -> ChartSpec {
    let y = "mean time [ms], log scale";
    ChartSpec {
        kind: "connect",
        title: "Where the time went: connect vs processing (ab Connection Times, mean)".into(),
        scale: Scale::Log,
        shared_y: true,
        cols: 2,
        size: (960, 470),
        panels: vec![
            panel("connect", y, ctx.figure_lines(|f| f.connect_mean_ms)),
            panel("processing", y, ctx.figure_lines(|f| f.processing_mean_ms)),
        ],
        letters: false,
        limit_legend: None,
    }
}

fn resources(ctx: &SeriesCtx) -> ChartSpec {
    let mut cpu_limits: Vec<(RGBColor, f64)> = Vec::new();
    for (name, _, color) in &ctx.servers {
        if let Some(r) = ctx.rows.iter().find(|r| &r.server == name) {
            let lim = r.representative.limits.cpus;
            if !cpu_limits.iter().any(|(_, l)| *l == lim) {
                cpu_limits.push((*color, lim));
            }
        }
    }
    if cpu_limits.len() == 1 {
        cpu_limits[0].0 = TEXT_GREY;
    }
    let mib = |b: Option<u64>| b.map(|b| b as f64 / (1024.0 * 1024.0));
    let mut cpu = panel(
        "CPU, average",
        "CPU [cores]",
        ctx.figure_lines(|f| f.server_cpu_cores),
    );
    cpu.limits = cpu_limits;
    ChartSpec {
        kind: "resources",
        title: if ctx.open_loop {
            "Server resources vs offered rate (Docker stats)".into()
        } else {
            "Server resources vs concurrency (Docker stats)".into()
        },
        scale: Scale::Linear,
        shared_y: false,
        cols: 3,
        size: (960, 440),
        panels: vec![
            cpu,
            panel(
                "memory, peak",
                "memory [MiB]",
                ctx.figure_lines(|f| mib(f.container_memory_peak_bytes)),
            ),
            panel(
                "threads (pids), peak",
                "threads [#]",
                ctx.figure_lines(|f| f.pids_peak.map(|p| p as f64)),
            ),
        ],
        letters: false,
        limit_legend: Some("CPU limit (--cpus)".into()),
    }
}
