//! `timeline-<series>.svg`: how one cell per server went second by second and quota period
//! by quota period, from its steady window (`results.json`'s `steady`), so a reader sees
//! the CPU quota's on/off cycle and whether the load was steady.
//!
//! Drawn for each server at the highest concurrency it was measured at with a steady
//! window (the median repetition's cell; the legend names the concurrency): that is where
//! a quota bites hardest. A short cell may hold no whole second of steady load; the highest
//! concurrency whose window holds one is preferred. Panels, stacked on one time axis
//! (seconds from the start of each cell's own steady window; the window's edges dashed):
//!
//! - requests per second, one step per whole second of the window (`seconds[].requests`);
//! - p99 latency per second (`seconds[].p99_ms`) (these two only when a window holds a
//!   whole second);
//! - per server, its CPU in cores per counter reading (`server_periods`), the quota dashed,
//!   a red dot on each reading in which the quota throttled it.
//!
//! A series without steady windows (runs recorded before them, open loop) has no timeline.

use anyhow::Result;
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::draw::{err, tick, Area};
use super::legend::{draw_lines, lines_height, wrap, Swatch};
use super::spec::SeriesCtx;
use super::{FLAG_RED, FONT, GRID, TEXT_GREY};
use crate::record::Steady;
use crate::report::model::Row;

/// The file name's kind: `timeline-g0-hello-noka.svg`.
pub const KIND: &str = "timeline";

/// The chart's title, also the start of its caption.
pub const TITLE: &str =
    "Steady window over time: req/s and p99 per second, server CPU per quota period";

const PANEL_H: u32 = 210;
const HEADER_H: u32 = 66;
const WIDTH: u32 = 960;

/// One server's cell on the timeline.
pub struct Track<'a> {
    /// `async c=100`.
    pub label: String,
    pub color: RGBColor,
    pub steady: &'a Steady,
}

/// The cells a series' timeline shows: one per server, `None` when no row has a steady
/// window.
pub fn tracks<'a>(ctx: &SeriesCtx<'_, 'a>) -> Option<Vec<Track<'a>>> {
    let tracks: Vec<Track<'a>> = ctx
        .servers
        .iter()
        .filter_map(|(name, label, color)| {
            let row: &Row<'a> = ctx
                .rows
                .iter()
                .copied()
                .filter(|r| &r.server == name && shows(r.representative.steady.as_ref()))
                .max_by_key(|r| (has_seconds(r), r.concurrency))?;
            Some(Track {
                label: format!("{label} c={}", row.concurrency),
                color: *color,
                steady: row.representative.steady.as_ref()?,
            })
        })
        .collect();
    (!ctx.open_loop && !tracks.is_empty()).then_some(tracks)
}

fn shows(s: Option<&Steady>) -> bool {
    s.is_some_and(|s| !s.seconds.is_empty() || !s.server_periods.is_empty())
}

/// Did the row's cell hold a whole second of steady load? (A short cell may not.)
fn has_seconds(r: &Row<'_>) -> bool {
    r.representative
        .steady
        .as_ref()
        .is_some_and(|s| !s.seconds.is_empty())
}

/// One track's line in a panel: steps `(from, to, value)` and marked points `(x, value)`.
struct StepLine {
    color: RGBColor,
    steps: Vec<(f64, f64, f64)>,
    marks: Vec<(f64, f64)>,
}

/// One panel: its title, y axis, and per track a step line.
struct Panel {
    title: String,
    y_desc: &'static str,
    lines: Vec<StepLine>,
    /// A dashed limit (the quota), in the line's colour.
    limit: Option<(RGBColor, f64)>,
}

fn panels(tracks: &[Track<'_>]) -> Vec<Panel> {
    let per_second = |value: fn(&crate::record::steady::SecondFigures) -> f64| {
        tracks
            .iter()
            .map(|t| {
                let steps = t
                    .steady
                    .seconds
                    .iter()
                    .map(|s| (s.offset_s, s.offset_s + 1.0, value(s)))
                    .collect();
                StepLine {
                    color: t.color,
                    steps,
                    marks: Vec::new(),
                }
            })
            .collect()
    };
    let any_seconds = tracks.iter().any(|t| !t.steady.seconds.is_empty());
    let mut out = Vec::new();
    out.extend(
        any_seconds
            .then(|| {
                [
                    Panel {
                        title: "requests per second (each whole second of the steady window)"
                            .into(),
                        y_desc: "requests [#/sec]",
                        lines: per_second(|s| s.requests as f64),
                        limit: None,
                    },
                    Panel {
                        title: "p99 latency per second".into(),
                        y_desc: "p99 [ms]",
                        lines: per_second(|s| s.p99_ms),
                        limit: None,
                    },
                ]
            })
            .into_iter()
            .flatten(),
    );
    for t in tracks {
        let s = t.steady;
        let mut steps = Vec::new();
        let mut marks = Vec::new();
        let mut from = s
            .server_periods
            .first()
            .map_or(0.0, |p| p.offset_s - s.period_s);
        for p in &s.server_periods {
            steps.push((from, p.offset_s, p.cores));
            if p.throttled > 0 {
                marks.push(((from + p.offset_s) / 2.0, p.cores));
            }
            from = p.offset_s;
        }
        out.push(Panel {
            title: format!(
                "{}: server CPU per counter reading ({} throttled of {})",
                t.label,
                s.server_periods.iter().filter(|p| p.throttled > 0).count(),
                s.server_periods.len()
            ),
            y_desc: "CPU [cores]",
            lines: vec![StepLine {
                color: t.color,
                steps,
                marks,
            }],
            limit: s.quota_cores.map(|q| (t.color, q)),
        });
    }
    out
}

/// The time axis: every step and every window's edges, with a little room.
fn x_range(tracks: &[Track<'_>], panels: &[Panel]) -> (f64, f64) {
    let xs = panels
        .iter()
        .flat_map(|p| &p.lines)
        .flat_map(|l| l.steps.iter().flat_map(|s| [s.0, s.1]))
        .chain(tracks.iter().flat_map(|t| [0.0, t.steady.window_s()]));
    let (lo, hi) = xs.fold((0.0f64, 1.0f64), |(lo, hi), x| (lo.min(x), hi.max(x)));
    (lo - 0.05, hi + 0.05)
}

fn legend(tracks: &[Track<'_>]) -> Vec<(Swatch, String)> {
    let mut items: Vec<(Swatch, String)> = tracks
        .iter()
        .map(|t| (Swatch::Line(t.color), t.label.clone()))
        .collect();
    let throttled = |t: &Track<'_>| t.steady.server_periods.iter().any(|p| p.throttled > 0);
    if tracks.iter().any(throttled) {
        items.push((Swatch::Dot(FLAG_RED), "throttled by the quota".into()));
    }
    if tracks.iter().any(|t| t.steady.quota_cores.is_some()) {
        items.push((Swatch::Dashed(TEXT_GREY), "CPU quota (cores)".into()));
    }
    items.push((Swatch::Dashed(TEXT_GREY), "steady window's edges".into()));
    items
}

/// The whole SVG document of a series' timeline.
pub fn draw(ctx: &SeriesCtx, tracks: &[Track<'_>]) -> Result<String> {
    let panels = panels(tracks);
    let legend = wrap(legend(tracks), WIDTH);
    let legend_h = lines_height(&legend);
    let height = HEADER_H + PANEL_H * panels.len() as u32 + legend_h;
    let (x0, x1) = x_range(tracks, &panels);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (top, rest) = root.split_vertically(HEADER_H);
        let (body, bottom) = rest.split_vertically(PANEL_H * panels.len() as u32);
        top.draw(&Text::new(
            format!("{}: {TITLE}", ctx.run_name),
            (14, 10),
            (FONT, 21).into_font().style(FontStyle::Bold).color(&BLACK),
        ))
        .map_err(err)?;
        top.draw(&Text::new(
            ctx.subtitle.clone(),
            (14, 40),
            (FONT, 16).into_font().color(&TEXT_GREY),
        ))
        .map_err(err)?;
        let areas = body.split_evenly((panels.len(), 1));
        for (panel, area) in panels.iter().zip(areas.iter()) {
            draw_panel(area, panel, tracks, (x0, x1))?;
        }
        draw_lines(&bottom, legend)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

fn draw_panel(
    area: &Area,
    panel: &Panel,
    tracks: &[Track<'_>],
    (x0, x1): (f64, f64),
) -> Result<()> {
    let max = panel
        .lines
        .iter()
        .flat_map(|l| l.steps.iter().map(|s| s.2))
        .chain(panel.limit.map(|l| l.1))
        .fold(0.0f64, f64::max);
    let y1 = if max > 0.0 { max * 1.15 } else { 1.0 };
    let mut chart = ChartBuilder::on(area)
        .margin_left(8)
        .margin_right(18)
        .margin_top(4)
        .margin_bottom(4)
        .x_label_area_size(36)
        .y_label_area_size(70)
        .caption(&panel.title, (FONT, 16).into_font().color(&BLACK))
        .build_cartesian_2d(RangedCoordf64::from(x0..x1), RangedCoordf64::from(0.0..y1))
        .map_err(err)?;
    chart
        .configure_mesh()
        .bold_line_style(GRID)
        .light_line_style(WHITE)
        .axis_style(TEXT_GREY)
        .x_desc("seconds from the start of the cell's steady window")
        .y_desc(panel.y_desc)
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .y_labels(5)
        .label_style((FONT, 13).into_font().color(&TEXT_GREY))
        .axis_desc_style((FONT, 14).into_font().color(&BLACK))
        .draw()
        .map_err(err)?;
    let plot = chart.plotting_area();
    let dashed = |points: Vec<(f64, f64)>, color: RGBColor| {
        DashedPathElement::new(points, 6, 4, color.stroke_width(1))
    };
    let edges: Vec<f64> =
        tracks
            .iter()
            .flat_map(|t| [0.0, t.steady.window_s()])
            .fold(Vec::new(), |mut v, x| {
                if !v.iter().any(|e: &f64| (e - x).abs() < 1e-9) {
                    v.push(x);
                }
                v
            });
    for x in edges {
        plot.draw(&dashed(vec![(x, 0.0), (x, y1)], TEXT_GREY))
            .map_err(err)?;
    }
    if let Some((color, q)) = panel.limit {
        plot.draw(&dashed(vec![(x0, q), (x1, q)], color))
            .map_err(err)?;
    }
    for line in &panel.lines {
        let mut path: Vec<(f64, f64)> = Vec::new();
        for &(from, to, v) in &line.steps {
            path.push((from, v));
            path.push((to, v));
        }
        plot.draw(&PathElement::new(path, line.color.stroke_width(2)))
            .map_err(err)?;
        for &at in &line.marks {
            plot.draw(&Circle::new(at, 3, FLAG_RED.filled()))
                .map_err(err)?;
        }
    }
    Ok(())
}
