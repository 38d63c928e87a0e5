//! SVG charts of a run, written to `RUN_DIR/charts/` and inlined in `report.html`.
//!
//! One set of charts per series (workload × keep-alive × resource group, see
//! [`view::series`]), each with one line per server:
//!
//! | file                         | what                                                        |
//! |------------------------------|-------------------------------------------------------------|
//! | `rps-<series>.svg`           | requests/s vs concurrency, min–max error bars when repeated |
//! | `latency-<series>.svg`       | p50, p90, p99 and max latency (four panels, log ms)         |
//! | `connect-<series>.svg`       | ab's mean connect vs processing time (two panels, log ms)   |
//! | `resources-<series>.svg`     | server CPU (cores), memory peak (MiB), threads (pids peak)  |
//!
//! `<series>` is `g<group>-<workload>-<ka|noka>`. The resources chart exists only when the
//! run captured resource figures. Concurrency is always on a log axis with a tick at every
//! level that was measured. A flagged row (see `flags.rs`) gets a red ring on its point;
//! the req/s chart also prints the flags' letters beside it, and the legend spells them
//! out. A row without a measurement is a red cross on the x axis.
//!
//! Only plotters' SVG backend is used, without fonts: text is emitted as SVG `<text>` and
//! laid out by whatever displays the file.

use std::path::PathBuf;

use anyhow::{anyhow, Context, Result};
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::view::{self, Row, Series};
use super::Run;

/// One rendered chart.
#[derive(Debug, Clone)]
pub struct Chart {
    /// File name inside `charts/`, e.g. `rps-g0-hello-noka.svg`.
    pub file_name: String,
    /// What the chart shows, one line (for `alt`-like captions).
    pub caption: String,
    pub series: Series,
    /// The whole SVG document (no XML declaration, so it can be inlined in HTML).
    pub svg: String,
}

/// Line colours of the servers, in the order the lab file lists them. Red is left out: it
/// marks flagged cells.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),  // blue
    RGBColor(255, 127, 14),  // orange
    RGBColor(44, 160, 44),   // green
    RGBColor(148, 103, 189), // purple
    RGBColor(140, 86, 75),   // brown
    RGBColor(23, 190, 207),  // cyan
    RGBColor(127, 127, 127), // grey
    RGBColor(188, 189, 34),  // olive
];

/// Colour of flag rings, failure crosses and flag letters.
pub const FLAG_RED: RGBColor = RGBColor(214, 39, 40);

const FONT: &str = "sans-serif";
const GRID: RGBColor = RGBColor(232, 232, 232);
const TEXT_GREY: RGBColor = RGBColor(90, 90, 90);

/// The colour of the `i`-th server (in [`view::server_order`]).
pub fn server_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// `#1F77B4`: how the SVG backend writes a colour (for tests and CSS).
pub fn color_hex(c: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

/// Short letter of a flag, for labels on chart points.
pub fn flag_letter(flag: &str) -> char {
    match flag {
        "errors" => 'E',
        "loadgen-bound" => 'L',
        "cpu-throttled" => 'T',
        "connect-retries" => 'R',
        "ab-warning" => 'W',
        "unstable" => 'U',
        "failed" => 'F',
        other => other
            .chars()
            .next()
            .map(|c| c.to_ascii_uppercase())
            .unwrap_or('?'),
    }
}

/// `g0-hello-noka`: the part of chart file names that names the series.
pub fn series_slug(s: &Series) -> String {
    let safe: String = s
        .workload
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "g{}-{}-{}",
        s.group,
        safe,
        if s.keepalive { "ka" } else { "noka" }
    )
}

/// Every chart of the run, series by series (rps, latency, connect, resources).
pub fn render(run: &Run) -> Result<Vec<Chart>> {
    let rows = view::rows(&run.results);
    let servers = view::server_order(&run.results);
    let mut out = Vec::new();
    for series in view::series(&rows) {
        let in_series: Vec<&Row> = rows.iter().filter(|r| r.series == series).collect();
        let ctx = SeriesCtx::new(run, &series, &in_series, &servers);
        for spec in chart_specs(&ctx) {
            let svg = draw_chart(&ctx, &spec)
                .with_context(|| format!("drawing {} chart of {}", spec.kind, series.title()))?;
            out.push(Chart {
                file_name: format!("{}-{}.svg", spec.kind, series_slug(&series)),
                caption: format!("{} — {}", spec.title, ctx.subtitle),
                series: series.clone(),
                svg,
            });
        }
    }
    Ok(out)
}

/// Render the charts into `RUN_DIR/charts/` (atomically, one file at a time), removing
/// SVG files a previous rendering left there that this one no longer produces.
pub fn write(run: &Run) -> Result<Vec<PathBuf>> {
    let charts = render(run)?;
    let dir = run.dir.join("charts");
    if charts.is_empty() && !dir.exists() {
        return Ok(Vec::new());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    for c in &charts {
        let path = dir.join(&c.file_name);
        crate::results::write_atomic(&path, c.svg.as_bytes())?;
        written.push(path);
    }
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "svg") && !written.contains(&p) {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
    Ok(written)
}

// ---------------------------------------------------------------------------------------
// What is drawn

/// One point of a line: a row of the series.
#[derive(Debug, Clone)]
struct Pt {
    x: f64,
    /// `None`: the row has no value for this metric (failed, or not captured).
    y: Option<f64>,
    /// Error bar (min, max) when the row was repeated.
    bar: Option<(f64, f64)>,
    flags: Vec<String>,
}

#[derive(Debug, Clone)]
struct Line {
    color: RGBColor,
    points: Vec<Pt>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Scale {
    Linear,
    Log,
}

struct Panel {
    title: String,
    y_desc: String,
    lines: Vec<Line>,
    /// Horizontal dashed lines (a CPU limit): colour, value.
    limits: Vec<(RGBColor, f64)>,
}

struct ChartSpec {
    kind: &'static str,
    title: String,
    scale: Scale,
    /// All panels share one y range (so their values compare by eye).
    shared_y: bool,
    /// Grid of panels: columns.
    cols: usize,
    size: (u32, u32),
    panels: Vec<Panel>,
    /// Print flag letters beside flagged points.
    letters: bool,
    /// Extra legend entry for dashed limit lines.
    limit_legend: Option<String>,
}

/// What every chart of one series needs to know.
struct SeriesCtx<'r, 'a> {
    rows: Vec<&'r Row<'a>>,
    /// (name shown in the legend, colour) per server present in the series, in order.
    servers: Vec<(String, String, RGBColor)>,
    levels: Vec<u32>,
    run_name: String,
    subtitle: String,
    reps: usize,
}

impl<'r, 'a> SeriesCtx<'r, 'a> {
    fn new(run: &Run, series: &Series, rows: &[&'r Row<'a>], order: &[String]) -> Self {
        let mut names: Vec<&str> = Vec::new();
        let mut levels: Vec<u32> = Vec::new();
        for r in rows {
            if !names.contains(&r.server.as_str()) {
                names.push(&r.server);
            }
            if !levels.contains(&r.concurrency) {
                levels.push(r.concurrency);
            }
        }
        levels.sort_unstable();
        // Servers' own limits, named in the legend when they differ within the series.
        let limits_of = |name: &str| {
            rows.iter()
                .find(|r| r.server == name)
                .map(|r| limits_label(&r.representative.limits))
                .unwrap_or_default()
        };
        let differ = names.iter().any(|n| limits_of(n) != limits_of(names[0]));
        let servers = names
            .iter()
            .map(|n| {
                let row = rows
                    .iter()
                    .find(|r| r.server == *n)
                    .expect("server has a row");
                let mut label = n.to_string();
                if row.model != *n {
                    label.push_str(&format!(" ({})", row.model));
                }
                if differ {
                    label.push_str(&format!(" · {}", limits_of(n)));
                }
                let idx = order.iter().position(|s| s == n).unwrap_or(0);
                (n.to_string(), label, server_color(idx))
            })
            .collect();
        let reps = rows.iter().map(|r| r.cells.len()).max().unwrap_or(1);
        let first = rows[0].representative;
        let pids = first
            .limits
            .pids
            .map(|p| format!(" pids={p}"))
            .unwrap_or_default();
        let subtitle = format!(
            "{} GET {} · keep-alive {} · {} · {} requests per cell · {}",
            series.workload,
            series.path,
            if series.keepalive { "on" } else { "off" },
            if differ {
                format!("{}{pids}", series.group_label)
            } else {
                limits_of(names[0])
            },
            first.requests,
            if reps > 1 {
                format!("median of {reps} runs")
            } else {
                "1 run each".to_string()
            }
        );
        SeriesCtx {
            rows: rows.to_vec(),
            servers,
            levels,
            run_name: run.results.name.clone(),
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
                    .map(|r| {
                        let v = metric(r);
                        Pt {
                            x: f64::from(r.concurrency),
                            y: v.map(|v| v.0),
                            bar: v.and_then(|v| v.1),
                            flags: r.flags.clone(),
                        }
                    })
                    .collect(),
            })
            .collect()
    }
}

/// `cpus=1 memory=256m pids=4096`
pub fn limits_label(l: &crate::results::Limits) -> String {
    let mut s = format!(
        "cpus={} memory={}",
        l.cpus,
        crate::config::format_memory(l.memory_bytes)
    );
    if let Some(p) = l.pids {
        s.push_str(&format!(" pids={p}"));
    }
    s
}

fn chart_specs(ctx: &SeriesCtx) -> Vec<ChartSpec> {
    let mut specs = Vec::new();
    let rps = ctx.lines(|r| {
        r.rps
            .map(|s| (s.median, (s.n > 1).then_some((s.min, s.max))))
    });
    specs.push(ChartSpec {
        kind: "rps",
        title: "Requests per second vs concurrency".into(),
        scale: Scale::Linear,
        shared_y: false,
        cols: 1,
        size: (960, 560),
        panels: vec![Panel {
            title: String::new(),
            y_desc: "requests per second [#/sec] (ab)".into(),
            lines: rps,
            limits: Vec::new(),
        }],
        letters: true,
        limit_legend: None,
    });

    let pct = |p: &'static str, title: &str| Panel {
        title: title.into(),
        y_desc: "latency [ms], log scale".into(),
        lines: ctx.lines(move |r| r.p(p).map(|v| (v, None))),
        limits: Vec::new(),
    };
    specs.push(ChartSpec {
        kind: "latency",
        title: "Latency percentiles vs concurrency".into(),
        scale: Scale::Log,
        shared_y: true,
        cols: 2,
        size: (960, 760),
        panels: vec![
            pct("50", "p50 (median)"),
            pct("90", "p90"),
            pct("99", "p99"),
            pct("100", "max (longest request)"),
        ],
        letters: false,
        limit_legend: None,
    });

    let conn = |pick: fn(&crate::ab::ConnectionTimes) -> Option<f64>, title: &str| Panel {
        title: title.into(),
        y_desc: "mean time [ms], log scale".into(),
        lines: ctx.lines(move |r| {
            r.representative
                .ab
                .as_ref()
                .and_then(|a| a.connection_times.as_ref())
                .and_then(pick)
                .map(|v| (v, None))
        }),
        limits: Vec::new(),
    };
    specs.push(ChartSpec {
        kind: "connect",
        title: "Where the time went: connect vs processing (ab Connection Times, mean)".into(),
        scale: Scale::Log,
        shared_y: true,
        cols: 2,
        size: (960, 470),
        panels: vec![
            conn(|t| t.connect.map(|r| r.mean), "connect"),
            conn(|t| t.processing.map(|r| r.mean), "processing"),
        ],
        letters: false,
        limit_legend: None,
    });

    if ctx
        .rows
        .iter()
        .any(|r| r.representative.server_resources.is_some())
    {
        let res = |f: fn(&crate::resources::ResourceSummary) -> f64| {
            ctx.lines(move |r| {
                r.representative
                    .server_resources
                    .as_ref()
                    .map(|s| (f(s), None))
            })
        };
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
        specs.push(ChartSpec {
            kind: "resources",
            title: "Server resources vs concurrency (Docker stats)".into(),
            scale: Scale::Linear,
            shared_y: false,
            cols: 3,
            size: (960, 440),
            panels: vec![
                Panel {
                    title: "CPU, average".into(),
                    y_desc: "CPU [cores]".into(),
                    lines: res(|s| s.cpu_cores_avg),
                    limits: cpu_limits,
                },
                Panel {
                    title: "memory, peak".into(),
                    y_desc: "memory [MiB]".into(),
                    lines: res(|s| s.memory_peak_bytes as f64 / (1024.0 * 1024.0)),
                    limits: Vec::new(),
                },
                Panel {
                    title: "threads (pids), peak".into(),
                    y_desc: "threads [#]".into(),
                    lines: res(|s| s.pids_peak as f64),
                    limits: Vec::new(),
                },
            ],
            letters: false,
            limit_legend: Some("CPU limit (--cpus)".into()),
        });
    }
    specs
}

// ---------------------------------------------------------------------------------------
// Drawing

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("{e}")
}

fn draw_chart(ctx: &SeriesCtx, spec: &ChartSpec) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, spec.size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (w, h) = spec.size;
        let (top, rest) = root.split_vertically(66);
        let legend_h = legend_height(ctx, spec, w);
        let (body, bottom) = rest.split_vertically(h as i32 - 66 - legend_h as i32);
        top.draw(&Text::new(
            format!("{}: {}", ctx.run_name, spec.title),
            (14, 10),
            (FONT, 23).into_font().style(FontStyle::Bold).color(&BLACK),
        ))
        .map_err(err)?;
        top.draw(&Text::new(
            ctx.subtitle.clone(),
            (14, 40),
            (FONT, 16).into_font().color(&TEXT_GREY),
        ))
        .map_err(err)?;

        let rows = spec.panels.len().div_ceil(spec.cols);
        let areas = body.split_evenly((rows, spec.cols));
        let shared = spec.shared_y.then(|| y_range(spec.scale, &spec.panels));
        for (panel, area) in spec.panels.iter().zip(areas.iter()) {
            let range = shared.unwrap_or_else(|| y_range(spec.scale, std::slice::from_ref(panel)));
            draw_panel(area, ctx, spec, panel, range)?;
        }
        draw_legend(&bottom, ctx, spec)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// (low, high) of the y axis. Log scales start below the smallest positive value; zeros
/// are drawn on the bottom edge.
fn y_range(scale: Scale, panels: &[Panel]) -> (f64, f64) {
    let mut vals: Vec<f64> = Vec::new();
    for p in panels {
        for l in &p.lines {
            for pt in &l.points {
                vals.extend(pt.y);
                if let Some((lo, hi)) = pt.bar {
                    vals.push(lo);
                    vals.push(hi);
                }
            }
        }
        vals.extend(p.limits.iter().map(|(_, v)| *v));
    }
    let max = vals.iter().copied().fold(0.0f64, f64::max);
    match scale {
        Scale::Linear => (0.0, if max > 0.0 { max * 1.12 } else { 1.0 }),
        Scale::Log => {
            let min_pos = vals
                .iter()
                .copied()
                .filter(|v| *v > 0.0)
                .fold(f64::INFINITY, f64::min);
            let lo = if min_pos.is_finite() {
                min_pos / 2.0
            } else {
                0.1
            };
            let hi = if max > 0.0 { max * 2.0 } else { 10.0 };
            (lo, hi.max(lo * 10.0))
        }
    }
}

fn draw_panel(
    area: &Area,
    ctx: &SeriesCtx,
    spec: &ChartSpec,
    panel: &Panel,
    (ylo, yhi): (f64, f64),
) -> Result<()> {
    match spec.scale {
        Scale::Linear => draw_panel_in(area, ctx, spec, panel, ylo, RangedCoordf64::from(ylo..yhi)),
        Scale::Log => draw_panel_in(area, ctx, spec, panel, ylo, (ylo..yhi).log_scale()),
    }
}

fn draw_panel_in<Y>(
    area: &Area,
    ctx: &SeriesCtx,
    spec: &ChartSpec,
    panel: &Panel,
    floor: f64,
    y: Y,
) -> Result<()>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let lo = f64::from(*ctx.levels.first().unwrap_or(&1));
    let hi = f64::from(*ctx.levels.last().unwrap_or(&1));
    let (x0, x1) = (lo / 1.5, hi * 1.5);
    let keys: Vec<f64> = ctx.levels.iter().map(|c| f64::from(*c)).collect();
    let mut builder = ChartBuilder::on(area);
    builder
        .margin_left(8)
        .margin_right(18)
        .margin_top(if panel.title.is_empty() { 6 } else { 4 })
        .margin_bottom(4)
        .x_label_area_size(44)
        .y_label_area_size(if spec.cols > 2 { 58 } else { 70 });
    if !panel.title.is_empty() {
        builder.caption(&panel.title, (FONT, 18).into_font().color(&BLACK));
    }
    let mut chart = builder
        .build_cartesian_2d((x0..x1).log_scale().with_key_points(keys), y)
        .map_err(err)?;
    chart
        .configure_mesh()
        .bold_line_style(GRID)
        .light_line_style(WHITE)
        .axis_style(TEXT_GREY)
        .x_desc("concurrency (ab -c), log scale")
        .y_desc(panel.y_desc.as_str())
        .x_label_formatter(&|v| format!("{}", v.round() as i64))
        .y_label_formatter(&|v| tick(*v))
        .y_labels(8)
        .label_style((FONT, 15).into_font().color(&TEXT_GREY))
        .axis_desc_style((FONT, 16).into_font().color(&BLACK))
        .draw()
        .map_err(err)?;

    for (color, value) in &panel.limits {
        chart
            .draw_series(std::iter::once(DashedPathElement::new(
                vec![(x0, *value), (x1, *value)],
                6,
                4,
                color.stroke_width(1),
            )))
            .map_err(err)?;
    }

    let clamp = |v: f64| v.max(floor);
    for line in &panel.lines {
        let style = line.color.stroke_width(2);
        // The line breaks where a row has no value.
        let mut run: Vec<(f64, f64)> = Vec::new();
        let mut segments: Vec<Vec<(f64, f64)>> = Vec::new();
        for p in &line.points {
            match p.y {
                Some(v) => run.push((p.x, clamp(v))),
                None => {
                    if !run.is_empty() {
                        segments.push(std::mem::take(&mut run));
                    }
                }
            }
        }
        if !run.is_empty() {
            segments.push(run);
        }
        for seg in segments {
            chart
                .draw_series(std::iter::once(PathElement::new(seg, style)))
                .map_err(err)?;
        }
        for p in &line.points {
            if let (Some((a, b)), Some(_)) = (p.bar, p.y) {
                let (a, b) = (clamp(a), clamp(b));
                let bar = line.color.stroke_width(1);
                for end in [a, b] {
                    let cap =
                        EmptyElement::at((p.x, end)) + PathElement::new(vec![(-5, 0), (5, 0)], bar);
                    chart.draw_series(std::iter::once(cap)).map_err(err)?;
                }
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(p.x, a), (p.x, b)],
                        bar,
                    )))
                    .map_err(err)?;
            }
        }
        for p in &line.points {
            let letters: String = p.flags.iter().map(|f| flag_letter(f)).collect();
            let label_style = (FONT, 15)
                .into_font()
                .style(FontStyle::Bold)
                .color(&FLAG_RED);
            match p.y {
                Some(v) => {
                    let at = (p.x, clamp(v));
                    chart
                        .draw_series(std::iter::once(Circle::new(at, 3, line.color.filled())))
                        .map_err(err)?;
                    if !p.flags.is_empty() {
                        let ring =
                            EmptyElement::at(at) + Circle::new((0, 0), 7, FLAG_RED.stroke_width(2));
                        chart.draw_series(std::iter::once(ring)).map_err(err)?;
                        if spec.letters {
                            let t =
                                EmptyElement::at(at) + Text::new(letters, (8, -20), label_style);
                            chart.draw_series(std::iter::once(t)).map_err(err)?;
                        }
                    }
                }
                None if p.flags.iter().any(|f| f == "failed") || spec.letters => {
                    let at = (p.x, floor);
                    let cross =
                        EmptyElement::at(at) + Cross::new((0, 0), 5, FLAG_RED.stroke_width(2));
                    chart.draw_series(std::iter::once(cross)).map_err(err)?;
                    if spec.letters && !letters.is_empty() {
                        let t = EmptyElement::at(at) + Text::new(letters, (8, -18), label_style);
                        chart.draw_series(std::iter::once(t)).map_err(err)?;
                    }
                }
                None => {}
            }
        }
    }
    Ok(())
}

/// Axis tick text: `0.25`, `3`, `1.5k`, `12k`.
fn tick(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 10_000.0 {
        format!("{}k", trim((v / 1000.0 * 10.0).round() / 10.0))
    } else if a >= 1.0 {
        trim((v * 100.0).round() / 100.0)
    } else {
        trim((v * 1000.0).round() / 1000.0)
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

// ---------------------------------------------------------------------------------------
// Legend: below the panels, so it never hides a point.

enum Swatch {
    Line(RGBColor),
    Ring,
    Cross,
    Bar(RGBColor),
    Dashed(RGBColor),
    None,
}

fn legend_items(ctx: &SeriesCtx, spec: &ChartSpec) -> Vec<(Swatch, String)> {
    let mut items: Vec<(Swatch, String)> = ctx
        .servers
        .iter()
        .map(|(_, label, color)| (Swatch::Line(*color), label.clone()))
        .collect();
    let used: Vec<&str> = crate::flags::EXPLANATIONS
        .iter()
        .map(|(f, _)| *f)
        .filter(|f| ctx.rows.iter().any(|r| r.flags.iter().any(|x| x == f)))
        .collect();
    if !used.is_empty() {
        let text = if spec.letters {
            let names: Vec<String> = used
                .iter()
                .map(|f| format!("{} {f}", flag_letter(f)))
                .collect();
            format!("flagged: {}", names.join(", "))
        } else {
            format!("flagged ({})", used.join(", "))
        };
        items.push((Swatch::Ring, text));
    }
    let missing = ctx.rows.iter().any(|r| r.rps.is_none());
    if missing {
        items.push((Swatch::Cross, "no measurement (failed)".into()));
    }
    if spec.panels.iter().any(|p| {
        p.lines
            .iter()
            .any(|l| l.points.iter().any(|p| p.bar.is_some()))
    }) {
        items.push((
            Swatch::Bar(TEXT_GREY),
            format!("min–max of {} repetitions", ctx.reps),
        ));
    }
    let zero_on_log = spec.scale == Scale::Log
        && spec.panels.iter().any(|p| {
            p.lines
                .iter()
                .any(|l| l.points.iter().any(|p| p.y.is_some_and(|v| v <= 0.0)))
        });
    if zero_on_log {
        items.push((
            Swatch::None,
            "0 ms values sit on the bottom edge (log scale)".into(),
        ));
    }
    if let Some(text) = &spec.limit_legend {
        let color = spec
            .panels
            .iter()
            .flat_map(|p| p.limits.iter())
            .map(|(c, _)| *c)
            .next();
        if let Some(c) = color {
            items.push((
                Swatch::Dashed(if spec.panels[0].limits.len() > 1 {
                    TEXT_GREY
                } else {
                    c
                }),
                text.clone(),
            ));
        }
    }
    items
}

const LEGEND_ROW: u32 = 24;

fn item_width(text: &str) -> i32 {
    // A rough width of 13 px sans-serif text (about 7 px per character) plus the swatch.
    34 + (text.chars().count() as i32) * 15 / 2 + 22
}

fn layout(ctx: &SeriesCtx, spec: &ChartSpec, width: u32) -> Vec<Vec<(Swatch, String)>> {
    let mut lines: Vec<Vec<(Swatch, String)>> = vec![Vec::new()];
    let mut x = 14;
    for item in legend_items(ctx, spec) {
        let w = item_width(&item.1);
        if x + w > width as i32 - 10 && !lines.last().expect("one line").is_empty() {
            lines.push(Vec::new());
            x = 14;
        }
        x += w;
        lines.last_mut().expect("one line").push(item);
    }
    lines
}

fn legend_height(ctx: &SeriesCtx, spec: &ChartSpec, width: u32) -> u32 {
    layout(ctx, spec, width).len() as u32 * LEGEND_ROW + 12
}

fn draw_legend(area: &Area, ctx: &SeriesCtx, spec: &ChartSpec) -> Result<()> {
    let width = area.dim_in_pixel().0;
    let style = (FONT, 16).into_font().color(&BLACK);
    for (i, line) in layout(ctx, spec, width).into_iter().enumerate() {
        let y = 4 + i as i32 * LEGEND_ROW as i32 + LEGEND_ROW as i32 / 2;
        let mut x = 14;
        for (swatch, text) in line {
            match swatch {
                Swatch::Line(c) => {
                    area.draw(&PathElement::new(
                        vec![(x, y), (x + 26, y)],
                        c.stroke_width(2),
                    ))
                    .map_err(err)?;
                    area.draw(&Circle::new((x + 13, y), 3, c.filled()))
                        .map_err(err)?;
                }
                Swatch::Ring => {
                    area.draw(&Circle::new((x + 13, y), 7, FLAG_RED.stroke_width(2)))
                        .map_err(err)?;
                }
                Swatch::Cross => {
                    area.draw(&Cross::new((x + 13, y), 5, FLAG_RED.stroke_width(2)))
                        .map_err(err)?;
                }
                Swatch::Bar(c) => {
                    let s = c.stroke_width(1);
                    area.draw(&PathElement::new(vec![(x + 13, y - 8), (x + 13, y + 8)], s))
                        .map_err(err)?;
                    area.draw(&PathElement::new(vec![(x + 8, y - 8), (x + 18, y - 8)], s))
                        .map_err(err)?;
                    area.draw(&PathElement::new(vec![(x + 8, y + 8), (x + 18, y + 8)], s))
                        .map_err(err)?;
                }
                Swatch::None => {}
                Swatch::Dashed(c) => {
                    area.draw(&DashedPathElement::new(
                        vec![(x, y), (x + 26, y)],
                        6,
                        4,
                        c.stroke_width(1),
                    ))
                    .map_err(err)?;
                }
            }
            area.draw(&Text::new(
                text.clone(),
                (x + 34, y),
                style.clone().pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(err)?;
            x += item_width(&text);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(0.25), "0.25");
        assert_eq!(tick(3.0), "3");
        assert_eq!(tick(1500.0), "1500");
        assert_eq!(tick(12_000.0), "12k");
        assert_eq!(tick(15_500.0), "15.5k");
    }

    #[test]
    fn every_known_flag_has_its_own_letter() {
        let letters: Vec<char> = crate::flags::EXPLANATIONS
            .iter()
            .map(|(f, _)| flag_letter(f))
            .collect();
        let mut dedup = letters.clone();
        dedup.sort_unstable();
        dedup.dedup();
        assert_eq!(dedup.len(), letters.len(), "{letters:?}");
    }
}
