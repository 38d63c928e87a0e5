//! The legend: below the panels, so it never hides a point.

use anyhow::Result;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::draw::{err, Area};
use super::spec::{ChartSpec, Scale, SeriesCtx};
use super::{FLAG_RED, FONT, TEXT_GREY};
use crate::record::Flag;

pub enum Swatch {
    Line(RGBColor),
    Ring,
    Cross,
    Bar(RGBColor),
    Dashed(RGBColor),
    /// A filled dot without a line (a marked sample).
    Dot(RGBColor),
    None,
}

fn legend_items(ctx: &SeriesCtx, spec: &ChartSpec) -> Vec<(Swatch, String)> {
    let mut items: Vec<(Swatch, String)> = ctx
        .servers
        .iter()
        .map(|(_, label, color)| (Swatch::Line(*color), label.clone()))
        .collect();
    let used: Vec<Flag> = Flag::ALL
        .into_iter()
        .filter(|f| ctx.rows.iter().any(|r| r.flags.contains(f)))
        .collect();
    if !used.is_empty() {
        let text = if spec.letters {
            let names: Vec<String> = used.iter().map(|f| format!("{} {f}", f.letter())).collect();
            format!("flagged: {}", names.join(", "))
        } else {
            format!("flagged ({})", used.join(", "))
        };
        items.push((Swatch::Ring, text));
    }
    if ctx.rows.iter().any(|r| r.rps.is_none()) {
        items.push((Swatch::Cross, "no measurement (failed)".into()));
    }
    let points = || {
        spec.panels
            .iter()
            .flat_map(|p| &p.lines)
            .flat_map(|l| &l.points)
    };
    if points().any(|p| p.bar.is_some()) {
        items.push((
            Swatch::Bar(TEXT_GREY),
            format!("min–max of {} repetitions", ctx.reps),
        ));
    }
    if spec.scale == Scale::Log && points().any(|p| p.y.is_some_and(|v| v <= 0.0)) {
        items.push((
            Swatch::None,
            "0 ms values sit on the bottom edge (log scale)".into(),
        ));
    }
    if let Some(text) = &spec.limit_legend {
        let mut colors = spec
            .panels
            .iter()
            .flat_map(|p| p.limits.iter())
            .map(|(c, _)| *c);
        if let Some(c) = colors.next() {
            let several = spec.panels[0].limits.len() > 1;
            items.push((
                Swatch::Dashed(if several { TEXT_GREY } else { c }),
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
    wrap(legend_items(ctx, spec), width)
}

/// Legend items in lines that fit `width`.
pub(super) fn wrap(items: Vec<(Swatch, String)>, width: u32) -> Vec<Vec<(Swatch, String)>> {
    let mut lines: Vec<Vec<(Swatch, String)>> = vec![Vec::new()];
    let mut x = 14;
    for item in items {
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

pub fn legend_height(ctx: &SeriesCtx, spec: &ChartSpec, width: u32) -> u32 {
    lines_height(&layout(ctx, spec, width))
}

pub fn draw_legend(area: &Area, ctx: &SeriesCtx, spec: &ChartSpec) -> Result<()> {
    let width = area.dim_in_pixel().0;
    draw_lines(area, layout(ctx, spec, width))
}

/// The height of `lines` of legend items.
pub(super) fn lines_height(lines: &[Vec<(Swatch, String)>]) -> u32 {
    lines.len() as u32 * LEGEND_ROW + 12
}

/// Draw legend items laid out by [`wrap`].
pub(super) fn draw_lines(area: &Area, lines: Vec<Vec<(Swatch, String)>>) -> Result<()> {
    let style = (FONT, 16).into_font().color(&BLACK);
    for (i, line) in lines.into_iter().enumerate() {
        let y = 4 + i as i32 * LEGEND_ROW as i32 + LEGEND_ROW as i32 / 2;
        let mut x = 14;
        for (swatch, text) in line {
            draw_swatch(area, &swatch, x, y)?;
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

fn draw_swatch(area: &Area, swatch: &Swatch, x: i32, y: i32) -> Result<()> {
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
            for seg in [
                [(x + 13, y - 8), (x + 13, y + 8)],
                [(x + 8, y - 8), (x + 18, y - 8)],
                [(x + 8, y + 8), (x + 18, y + 8)],
            ] {
                area.draw(&PathElement::new(seg.to_vec(), s)).map_err(err)?;
            }
        }
        Swatch::Dashed(c) => {
            let dashed = DashedPathElement::new(vec![(x, y), (x + 26, y)], 6, 4, c.stroke_width(1));
            area.draw(&dashed).map_err(err)?;
        }
        Swatch::Dot(c) => {
            area.draw(&Circle::new((x + 13, y), 4, c.filled()))
                .map_err(err)?;
        }
        Swatch::None => {}
    }
    Ok(())
}
