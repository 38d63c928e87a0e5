//! SVG charts of a run, written to `RUN_DIR/charts/` and inlined in `report.html`.
//!
//! One set of charts per series (workload × keep-alive × resource group), each with one
//! line per server, plotted from the report model's rows:
//!
//! | file                         | what                                                        |
//! |------------------------------|-------------------------------------------------------------|
//! | `rps-<series>.svg`           | requests/s vs concurrency, min–max error bars when repeated |
//! | `latency-<series>.svg`       | p50, p90, p99 and max latency (four panels, log ms)         |
//! | `connect-<series>.svg`       | ab's mean connect vs processing time (two panels, log ms)   |
//! | `resources-<series>.svg`     | server CPU (cores), memory peak (MiB), threads (pids peak)  |
//! | `latency-rate-<series>.svg`  | open loop: p50, p99, p99.9, max vs offered rate (log ms)    |
//! | `achieved-<series>.svg`      | open loop: achieved vs offered rate                         |
//! | `timeline-<series>.svg`      | the steady window per second and per quota period ([`timeline`]) |
//!
//! An open-loop series (oha with `rate:`) has the last two and the resources chart, with the
//! offered rate (per server: a percentage resolves to each server's own capacity) on x.
//! `<series>` is `g<group>-<workload>-<ka|noka>`, plus `-c<connections>` in open loop. The resources chart exists only when the
//! run captured resource figures. Concurrency is always on a log axis with a tick at every
//! level that was measured. A flagged row (see `judge/flags.rs`) gets a red ring on its point;
//! the req/s chart also prints the flags' letters beside it, and the legend spells them
//! out. A row without a measurement is a red cross on the x axis.
//!
//! Only plotters' SVG backend is used, without fonts: text is emitted as SVG `<text>` and
//! laid out by whatever displays the file. [`spec`] says what is drawn, [`draw`] and
//! [`legend`] draw it. [`points`] draws a simpler chart of pass/fail points over dashed
//! targets from plain figures; tune's probe charts are drawn with it.

mod draw;
mod legend;
pub mod points;
mod spec;
mod timeline;

use std::path::PathBuf;

use anyhow::{Context, Result};
use plotters::style::RGBColor;

use super::doc::ChartRef;
use super::model::{Report, Series};
use spec::{chart_specs, ChartSpec, SeriesCtx};

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

/// The colour of the `i`-th server (in the order the lab file lists them).
pub fn server_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// `#1F77B4`: how the SVG backend writes a colour (for tests and CSS).
pub fn color_hex(c: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
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
    let connections = s
        .open_loop_connections
        .map(|c| format!("-c{c}"))
        .unwrap_or_default();
    format!(
        "g{}-{}-{}{connections}",
        s.group,
        safe,
        if s.keepalive { "ka" } else { "noka" }
    )
}

/// The charts of every series, specified but not drawn.
fn specs<'r, 'a>(report: &'r Report<'a>) -> Vec<(Series, SeriesCtx<'r, 'a>, Vec<ChartSpec>)> {
    super::model::rows::series(&report.rows)
        .into_iter()
        .map(|series| {
            let ctx = SeriesCtx::new(report, &series);
            let specs = chart_specs(&ctx);
            (series, ctx, specs)
        })
        .collect()
}

fn file_name(kind: &str, series: &Series) -> String {
    format!("{kind}-{}.svg", series_slug(series))
}

/// Which charts the run has, per series, without drawing them.
pub fn planned(report: &Report<'_>) -> Vec<(Series, Vec<ChartRef>)> {
    specs(report)
        .into_iter()
        .map(|(series, ctx, specs)| {
            let mut refs: Vec<ChartRef> = specs
                .iter()
                .map(|s| ChartRef {
                    file_name: file_name(s.kind, &series),
                    caption: format!("{} — {}", s.title, ctx.subtitle),
                })
                .collect();
            if let Some(tracks) = timeline::tracks(&ctx) {
                refs.push(ChartRef {
                    file_name: file_name(timeline::KIND, &series),
                    caption: timeline_caption(&ctx, &tracks),
                });
            }
            (series, refs)
        })
        .collect()
}

/// Every chart of the run, series by series (rps, latency, connect, resources).
pub fn render(report: &Report<'_>) -> Result<Vec<Chart>> {
    let mut out = Vec::new();
    for (series, ctx, specs) in specs(report) {
        for spec in &specs {
            let svg = draw::draw_chart(&ctx, spec).with_context(|| {
                format!("drawing {} chart of {}", spec.kind, series_slug(&series))
            })?;
            out.push(Chart {
                file_name: file_name(spec.kind, &series),
                caption: format!("{} — {}", spec.title, ctx.subtitle),
                series: series.clone(),
                svg,
            });
        }
        if let Some(tracks) = timeline::tracks(&ctx) {
            let svg = timeline::draw(&ctx, &tracks).with_context(|| {
                format!("drawing the timeline chart of {}", series_slug(&series))
            })?;
            out.push(Chart {
                file_name: file_name(timeline::KIND, &series),
                caption: timeline_caption(&ctx, &tracks),
                series: series.clone(),
                svg,
            });
        }
    }
    Ok(out)
}

/// `Steady window over time: … — async c=100, thread c=100 (each server's highest
/// concurrency, median repetition) — hello GET / · …`
fn timeline_caption(ctx: &SeriesCtx, tracks: &[timeline::Track<'_>]) -> String {
    let cells: Vec<&str> = tracks.iter().map(|t| t.label.as_str()).collect();
    format!(
        "{} — {} (each server's highest concurrency whose steady window holds a whole second, else its highest; median repetition) — {}",
        timeline::TITLE,
        cells.join(", "),
        ctx.subtitle
    )
}

/// Render the charts into `RUN_DIR/charts/` (atomically, one file at a time), removing
/// SVG files a previous rendering left there that this one no longer produces.
pub fn write(report: &Report<'_>) -> Result<Vec<PathBuf>> {
    let charts = render(report)?;
    let dir = report.run.dir.join("charts");
    if charts.is_empty() && !dir.exists() {
        return Ok(Vec::new());
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    for c in &charts {
        let path = dir.join(&c.file_name);
        crate::record::write_atomic(&path, c.svg.as_bytes())?;
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
