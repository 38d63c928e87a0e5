//! The probe chart of one search phase: the limit probed (x) against the median req/s with
//! its interval (left) and the median p99 (right), passes in green and misses in red, with
//! the target's lines dashed. It shows at a glance where the server stops keeping up and
//! how far apart the probes around the answer are.

use anyhow::{anyhow, Result};
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::record::{Dimension, Phase};
use super::search::Outcome;
use crate::config::Target;

const PASS: RGBColor = RGBColor(44, 160, 44);
const FAIL: RGBColor = RGBColor(214, 39, 40);
const TARGET: RGBColor = RGBColor(90, 90, 90);
const FONT: &str = "sans-serif";

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("{e}")
}

/// The SVG of one phase's probes; `title` names the server and target.
pub fn svg(title: &str, phase: &Phase, target: &Target) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 412)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (top, body) = root.split_vertically(52);
        top.draw(&Text::new(
            title.to_string(),
            (12, 10),
            (FONT, 18).into_font().style(FontStyle::Bold).color(&BLACK),
        ))
        .map_err(err)?;
        top.draw(&Text::new(
            "filled green: met the target · open red: missed it (the probe table says why) · dashed: the target",
            (12, 32),
            (FONT, 12).into_font().color(&TARGET),
        ))
        .map_err(err)?;
        let (left, right) = body.split_horizontally(480);
        let rps: Vec<Point> = points(phase, |p| p.figures.rps, |p| p.figures.rps_range);
        panel(
            &left,
            phase.dimension,
            "req/s (median)",
            &rps,
            Some(target.rps),
        )?;
        let p99: Vec<Point> = points(phase, |p| p.figures.p99_ms, |_| None);
        panel(
            &right,
            phase.dimension,
            "p99 ms (median)",
            &p99,
            target.p99_ms,
        )?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// (limit, value, interval, passed)
type Point = (f64, f64, Option<(f64, f64)>, bool);

fn points(
    phase: &Phase,
    value: impl Fn(&super::record::ProbeRecord) -> Option<f64>,
    range: impl Fn(&super::record::ProbeRecord) -> Option<(f64, f64)>,
) -> Vec<Point> {
    phase
        .probes
        .iter()
        .map(|p| {
            let x = phase.grid[p.index];
            let x = if phase.dimension == Dimension::Memory {
                x / (1024.0 * 1024.0)
            } else {
                x
            };
            // A probe with no figure (the server did not start) sits on the axis.
            let y = value(p).unwrap_or(0.0);
            (x, y, range(p), p.outcome == Outcome::Pass)
        })
        .collect()
}

fn panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    d: Dimension,
    y_label: &str,
    pts: &[Point],
    line: Option<f64>,
) -> Result<()> {
    let xs = pts.iter().map(|p| p.0);
    let (mut x0, mut x1) = xs.fold((f64::INFINITY, 0.0f64), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    if !x0.is_finite() {
        (x0, x1) = (0.0, 1.0);
    }
    let pad = ((x1 - x0) * 0.08).max(0.02);
    let y_max = pts
        .iter()
        .flat_map(|p| [p.1, p.2.map_or(0.0, |r| r.1)])
        .chain(line)
        .fold(0.0f64, f64::max)
        .max(1.0)
        * 1.15;
    let x_label = match d {
        Dimension::Cpus => "cpus",
        Dimension::Memory => "memory (MiB)",
    };
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d((x0 - pad).max(0.0)..x1 + pad, 0.0..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style((FONT, 13))
        .light_line_style(WHITE)
        .draw()
        .map_err(err)?;
    if let Some(v) = line {
        chart
            .draw_series(std::iter::once(DashedPathElement::new(
                vec![((x0 - pad).max(0.0), v), (x1 + pad, v)],
                6,
                4,
                TARGET.stroke_width(2),
            )))
            .map_err(err)?;
    }
    for &(x, y, range, pass) in pts {
        let color = if pass { PASS } else { FAIL };
        if let Some((lo, hi)) = range {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, lo), (x, hi)],
                    color.stroke_width(2),
                )))
                .map_err(err)?;
        }
        let marker = if pass {
            Circle::new((x, y), 5, color.filled())
        } else {
            Circle::new((x, y), 5, color.stroke_width(2))
        };
        chart.draw_series(std::iter::once(marker)).map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tune::TargetLoad;
    use crate::tune::probe::Figures;
    use crate::tune::record::ProbeRecord;

    #[test]
    fn a_chart_has_a_point_per_probe_and_the_target_lines() {
        let mut phase = Phase::new(Dimension::Cpus, vec![0.25, 0.5, 1.0]);
        for (index, rps, outcome) in [
            (2, 900.0, Outcome::Pass),
            (1, 450.0, Outcome::Pass),
            (0, 220.0, Outcome::Fail),
        ] {
            phase.probes.push(ProbeRecord {
                number: 1,
                index,
                cpus: phase.grid[index],
                memory_bytes: 64 << 20,
                outcome,
                figures: Figures {
                    rps: Some(rps),
                    rps_range: Some((rps * 0.9, rps * 1.1)),
                    p99_ms: Some(10.0),
                    ..Figures::default()
                },
                dir: String::new(),
            });
        }
        let target = Target {
            workload: "cpu".into(),
            rps: 400.0,
            load: TargetLoad::Closed { concurrency: 4 },
            requests: 400,
            keepalive: true,
            p99_ms: Some(100.0),
            errors: 0.0,
        };
        let svg = svg("async: cpu", &phase, &target).unwrap();
        assert!(svg.starts_with("<svg"));
        // Three probes on each of the two panels.
        assert_eq!(svg.matches("<circle").count(), 6);
        // Two dashed target lines (req/s and p99), drawn as dash segments.
        assert!(svg.contains("async: cpu"));
    }
}
