//! A points chart: a title, one legend line and side-by-side panels of marked points, each
//! a value with an optional interval, filled green when it passed and an open red ring when
//! it did not, over a dashed target line. tune draws its probe charts with it (limit probed
//! against req/s and p99); it knows nothing of tune's types, so the import runs tune → report.

use anyhow::Result;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::draw::{err, Area};
use super::{FLAG_RED, FONT, PALETTE, TEXT_GREY};

/// Colour of a point that passed (the palette's green).
const PASS: RGBColor = PALETTE[2];

/// One marked point of a panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub x: f64,
    pub y: f64,
    /// An interval drawn as a vertical bar through the point (low, high).
    pub interval: Option<(f64, f64)>,
    pub pass: bool,
}

/// One panel: axes titles, the points, and a dashed horizontal target.
#[derive(Debug, Clone, PartialEq)]
pub struct PointsPanel {
    pub x_desc: String,
    pub y_desc: String,
    pub marks: Vec<Mark>,
    pub target: Option<f64>,
}

/// The whole chart: panels laid out left to right under the title and legend line.
#[derive(Debug, Clone, PartialEq)]
pub struct PointsChart {
    pub title: String,
    pub legend: String,
    pub size: (u32, u32),
    pub panels: Vec<PointsPanel>,
}

/// The SVG document of a points chart (no XML declaration, so it can be inlined in HTML).
pub fn svg(chart: &PointsChart) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, chart.size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (top, body) = root.split_vertically(52);
        top.draw(&Text::new(
            chart.title.clone(),
            (12, 10),
            (FONT, 18).into_font().style(FontStyle::Bold).color(&BLACK),
        ))
        .map_err(err)?;
        top.draw(&Text::new(
            chart.legend.clone(),
            (12, 32),
            (FONT, 12).into_font().color(&TEXT_GREY),
        ))
        .map_err(err)?;
        let areas = body.split_evenly((1, chart.panels.len().max(1)));
        for (panel, area) in chart.panels.iter().zip(areas.iter()) {
            draw_panel(area, panel)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// The x range of a panel's points, padded; (0, 1) when it has none.
fn x_range(marks: &[Mark]) -> (f64, f64) {
    let (mut x0, mut x1) = marks.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), m| {
        (lo.min(m.x), hi.max(m.x))
    });
    if !x0.is_finite() {
        (x0, x1) = (0.0, 1.0);
    }
    let pad = ((x1 - x0) * 0.08).max(0.02);
    ((x0 - pad).max(0.0), x1 + pad)
}

fn draw_panel(area: &Area, panel: &PointsPanel) -> Result<()> {
    let (x0, x1) = x_range(&panel.marks);
    let y_max = panel
        .marks
        .iter()
        .flat_map(|m| [m.y, m.interval.map_or(0.0, |r| r.1)])
        .chain(panel.target)
        .fold(0.0f64, f64::max)
        .max(1.0)
        * 1.15;
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(x0..x1, 0.0..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(panel.x_desc.as_str())
        .y_desc(panel.y_desc.as_str())
        .label_style((FONT, 13))
        .light_line_style(WHITE)
        .draw()
        .map_err(err)?;
    if let Some(v) = panel.target {
        chart
            .draw_series(std::iter::once(DashedPathElement::new(
                vec![(x0, v), (x1, v)],
                6,
                4,
                TEXT_GREY.stroke_width(2),
            )))
            .map_err(err)?;
    }
    for m in &panel.marks {
        let color = if m.pass { PASS } else { FLAG_RED };
        if let Some((lo, hi)) = m.interval {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(m.x, lo), (m.x, hi)],
                    color.stroke_width(2),
                )))
                .map_err(err)?;
        }
        let marker = if m.pass {
            Circle::new((m.x, m.y), 5, color.filled())
        } else {
            Circle::new((m.x, m.y), 5, color.stroke_width(2))
        };
        chart.draw_series(std::iter::once(marker)).map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::charts::color_hex;

    fn mark(x: f64, y: f64, pass: bool) -> Mark {
        Mark {
            x,
            y,
            interval: Some((y * 0.9, y * 1.1)),
            pass,
        }
    }

    fn chart(targets: [Option<f64>; 2]) -> PointsChart {
        let panel = |target| PointsPanel {
            x_desc: "cpus".into(),
            y_desc: "req/s".into(),
            marks: vec![mark(0.5, 400.0, true), mark(0.25, 200.0, false)],
            target,
        };
        PointsChart {
            title: "the title".into(),
            legend: "the legend".into(),
            size: (960, 412),
            panels: targets.into_iter().map(panel).collect(),
        }
    }

    #[test]
    fn every_mark_is_drawn_in_its_colour_with_the_title_and_legend() {
        let svg = svg(&chart([Some(300.0), None])).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("the title") && svg.contains("the legend"));
        assert_eq!(svg.matches("<circle").count(), 4);
        let green = format!("fill=\"{}\"", color_hex(PASS));
        let red = format!("fill=\"none\" stroke=\"{}\"", color_hex(FLAG_RED));
        assert_eq!(
            svg.matches(&green).count(),
            2,
            "a filled green pass per panel"
        );
        assert_eq!(svg.matches(&red).count(), 2, "an open red miss per panel");
    }

    #[test]
    fn a_target_is_a_dashed_grey_line_only_where_the_panel_has_one() {
        let grey = format!("stroke=\"{}\"", color_hex(TEXT_GREY));
        let none = svg(&chart([None, None])).unwrap().matches(&grey).count();
        let one = svg(&chart([Some(300.0), None]))
            .unwrap()
            .matches(&grey)
            .count();
        let two = svg(&chart([Some(300.0), Some(300.0)]))
            .unwrap()
            .matches(&grey)
            .count();
        assert_eq!(none, 0);
        // Dashed: drawn as several segments, the same number on either panel.
        assert!(one > 1, "{one} grey segments");
        assert_eq!(two, 2 * one);
    }
}
