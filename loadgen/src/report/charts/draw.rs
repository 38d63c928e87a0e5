//! Drawing a [`ChartSpec`] with plotters' SVG backend: title, panels, legend.

use anyhow::{anyhow, Result};
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::{CoordTranslate, Shift};
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::legend::{draw_legend, legend_height};
use super::spec::{ChartSpec, Line, Panel, Scale, SeriesCtx};
use super::{FLAG_RED, FONT, GRID, TEXT_GREY};
use crate::record::Flag;

pub type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// The plotting area of a panel, in data coordinates.
type Plot<'a, CT> = DrawingArea<SVGBackend<'a>, CT>;

pub fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("{e}")
}

/// The whole SVG document of one chart.
pub fn draw_chart(ctx: &SeriesCtx, spec: &ChartSpec) -> Result<String> {
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
        for pt in p.lines.iter().flat_map(|l| &l.points) {
            vals.extend(pt.y);
            vals.extend(pt.bar.iter().flat_map(|(lo, hi)| [*lo, *hi]));
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

/// Axes and grid on a log x axis (concurrency, or offered rate in open loop), then the
/// panel's limits and lines.
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
    let lo = *ctx.x_keys.first().unwrap_or(&1.0);
    let hi = *ctx.x_keys.last().unwrap_or(&1.0);
    let (x0, x1) = (lo / 1.5, hi * 1.5);
    let keys = ctx.x_keys.clone();
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
        .x_desc(ctx.x_desc().as_str())
        .y_desc(panel.y_desc.as_str())
        .x_label_formatter(&|v| format!("{}", v.round() as i64))
        .y_label_formatter(&|v| tick(*v))
        .y_labels(8)
        .label_style((FONT, 15).into_font().color(&TEXT_GREY))
        .axis_desc_style((FONT, 16).into_font().color(&BLACK))
        .draw()
        .map_err(err)?;
    let plot = chart.plotting_area();
    draw_limits(plot, panel, (x0, x1))?;
    for line in &panel.lines {
        draw_path(plot, line, floor)?;
        draw_bars(plot, line, floor)?;
        draw_points(plot, line, floor, spec.letters)?;
    }
    Ok(())
}

/// Dashed horizontal lines across the panel (a CPU limit).
fn draw_limits<CT: CoordTranslate<From = (f64, f64)>>(
    plot: &Plot<'_, CT>,
    panel: &Panel,
    (x0, x1): (f64, f64),
) -> Result<()> {
    for (color, value) in &panel.limits {
        let points = vec![(x0, *value), (x1, *value)];
        let dashed = DashedPathElement::new(points, 6, 4, color.stroke_width(1));
        plot.draw(&dashed).map_err(err)?;
    }
    Ok(())
}

/// The line, broken where a row has no value.
fn draw_path<CT: CoordTranslate<From = (f64, f64)>>(
    plot: &Plot<'_, CT>,
    line: &Line,
    floor: f64,
) -> Result<()> {
    let style = line.color.stroke_width(2);
    let mut run: Vec<(f64, f64)> = Vec::new();
    let mut segments: Vec<Vec<(f64, f64)>> = Vec::new();
    for p in &line.points {
        match p.y {
            Some(v) => run.push((p.x, v.max(floor))),
            None if !run.is_empty() => segments.push(std::mem::take(&mut run)),
            None => {}
        }
    }
    if !run.is_empty() {
        segments.push(run);
    }
    for seg in segments {
        plot.draw(&PathElement::new(seg, style)).map_err(err)?;
    }
    Ok(())
}

/// Min–max error bars of repeated rows.
fn draw_bars<CT: CoordTranslate<From = (f64, f64)>>(
    plot: &Plot<'_, CT>,
    line: &Line,
    floor: f64,
) -> Result<()> {
    let bar = line.color.stroke_width(1);
    for p in line.points.iter().filter(|p| p.y.is_some()) {
        let Some((a, b)) = p.bar else { continue };
        let (a, b) = (a.max(floor), b.max(floor));
        for end in [a, b] {
            let cap = EmptyElement::at((p.x, end)) + PathElement::new(vec![(-5, 0), (5, 0)], bar);
            plot.draw(&cap).map_err(err)?;
        }
        plot.draw(&PathElement::new(vec![(p.x, a), (p.x, b)], bar))
            .map_err(err)?;
    }
    Ok(())
}

/// A dot per value; a red ring (and the flags' letters) on a flagged one; a red cross on
/// the axis where a row has no measurement.
fn draw_points<CT: CoordTranslate<From = (f64, f64)>>(
    plot: &Plot<'_, CT>,
    line: &Line,
    floor: f64,
    letters: bool,
) -> Result<()> {
    let label_style = (FONT, 15)
        .into_font()
        .style(FontStyle::Bold)
        .color(&FLAG_RED);
    for p in &line.points {
        let text: String = p.flags.iter().map(|f| f.letter()).collect();
        match p.y {
            Some(v) => {
                let at = (p.x, v.max(floor));
                plot.draw(&Circle::new(at, 3, line.color.filled()))
                    .map_err(err)?;
                if p.flags.is_empty() {
                    continue;
                }
                let ring = EmptyElement::at(at) + Circle::new((0, 0), 7, FLAG_RED.stroke_width(2));
                plot.draw(&ring).map_err(err)?;
                if letters {
                    let t = EmptyElement::at(at) + Text::new(text, (8, -20), label_style.clone());
                    plot.draw(&t).map_err(err)?;
                }
            }
            None if p.flags.contains(&Flag::Failed) || letters => {
                let at = (p.x, floor);
                let cross = EmptyElement::at(at) + Cross::new((0, 0), 5, FLAG_RED.stroke_width(2));
                plot.draw(&cross).map_err(err)?;
                if letters && !text.is_empty() {
                    let t = EmptyElement::at(at) + Text::new(text, (8, -18), label_style.clone());
                    plot.draw(&t).map_err(err)?;
                }
            }
            None => {}
        }
    }
    Ok(())
}

/// Axis tick text: `0.25`, `3`, `1.5k`, `12k`.
pub fn tick(v: f64) -> String {
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
}
