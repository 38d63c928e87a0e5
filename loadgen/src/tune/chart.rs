//! The probe chart of one search phase: the limit probed (x) against the median req/s with
//! its interval (left) and the median p99 (right), passes in green and misses in red, with
//! the target's lines dashed. It shows at a glance where the server stops keeping up and
//! how far apart the probes around the answer are. This module only turns the phase into
//! a [`PointsChart`]; `report::charts::points` draws it, as report draws every chart.

use anyhow::Result;

use super::record::{Dimension, Phase, ProbeRecord};
use super::search::Outcome;
use crate::config::Target;
use crate::report::charts::points::{self, Mark, PointsChart, PointsPanel};

const LEGEND: &str =
    "filled green: met the target · open red: missed it (the probe table says why) · dashed: the target";

/// The SVG of one phase's probes; `title` names the server and target.
pub fn svg(title: &str, phase: &Phase, target: &Target) -> Result<String> {
    points::svg(&spec(title, phase, target))
}

/// What the probe chart shows: req/s (with its interval) and p99 against the limit.
pub fn spec(title: &str, phase: &Phase, target: &Target) -> PointsChart {
    let x_desc = match phase.dimension {
        Dimension::Cpus => "cpus",
        Dimension::Memory => "memory (MiB)",
    };
    let panel = |y_desc: &str, marks, target| PointsPanel {
        x_desc: x_desc.to_string(),
        y_desc: y_desc.to_string(),
        marks,
        target,
    };
    PointsChart {
        title: title.to_string(),
        legend: LEGEND.to_string(),
        size: (960, 412),
        panels: vec![
            panel(
                "req/s (median)",
                marks(phase, |p| p.figures.rps, |p| p.figures.rps_range),
                Some(target.rps),
            ),
            panel(
                "p99 ms (median)",
                marks(phase, |p| p.figures.p99_ms, |_| None),
                target.p99_ms,
            ),
        ],
    }
}

/// One mark per probe: its limit (memory in MiB), the figure, and whether it passed.
fn marks(
    phase: &Phase,
    value: impl Fn(&ProbeRecord) -> Option<f64>,
    range: impl Fn(&ProbeRecord) -> Option<(f64, f64)>,
) -> Vec<Mark> {
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
            Mark {
                x,
                // A probe with no figure (the server did not start) sits on the axis.
                y: value(p).unwrap_or(0.0),
                interval: range(p),
                pass: p.outcome == Outcome::Pass,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tune::TargetLoad;
    use crate::tune::probe::Figures;

    fn phase() -> Phase {
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
                confirm_s: None,
                wall_s: None,
            });
        }
        phase
    }

    fn target() -> Target {
        Target {
            workload: "cpu".into(),
            rps: 400.0,
            load: TargetLoad::Closed { concurrency: 4 },
            requests: 400,
            keepalive: true,
            p99_ms: Some(100.0),
            errors: 0.0,
        }
    }

    #[test]
    fn the_spec_has_a_mark_per_probe_and_the_target_lines() {
        let spec = spec("async: cpu", &phase(), &target());
        assert_eq!(spec.panels.len(), 2);
        let [rps, p99] = [&spec.panels[0], &spec.panels[1]];
        assert_eq!(rps.target, Some(400.0));
        assert_eq!(p99.target, Some(100.0));
        let passes: Vec<(f64, bool)> = rps.marks.iter().map(|m| (m.x, m.pass)).collect();
        assert_eq!(passes, [(1.0, true), (0.5, true), (0.25, false)]);
        assert_eq!(rps.marks[0].interval, Some((900.0 * 0.9, 900.0 * 1.1)));
        assert!(p99
            .marks
            .iter()
            .all(|m| m.y == 10.0 && m.interval.is_none()));
    }

    #[test]
    fn a_chart_has_a_point_per_probe_on_each_panel() {
        let svg = svg("async: cpu", &phase(), &target()).unwrap();
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<circle").count(), 6);
        assert!(svg.contains("async: cpu"));
    }
}
