//! `lab compare A B --fail-on 5%`: the regression gate. A row **got worse** when, for one
//! of the gated figures, the intervals of A and B do not overlap ([`Interval::apart`]: the
//! 95% CI of the median with 6+ repetitions a side, else the min–max range, else ±5% of a
//! single measurement) *and* B's median is worse than A's by more than the given share.
//! Worse is fewer good (2xx) req/s, a higher p99, more server CPU per request.
//!
//! A row whose side was limited by the load generator (verdict loadgen) measured the
//! load tool, not the server: it is inconclusive, never a regression and never a pass.

use serde::{Deserialize, Serialize};

use super::super::model::rows::Row;
use crate::config::thresholds::Figure;
use crate::judge::thresholds::{row_name_without_group, Outcome};
use crate::record::{Cell, Limiter, Percentile, Status};
use crate::stats::Interval;

/// A figure the gate watches (`--only`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Gated {
    /// Good (2xx) requests per second: fewer is worse
    Rps,
    /// 99th percentile latency: higher is worse
    P99,
    /// Server CPU time per completed request: more is worse
    #[value(name = "cpu_per_request")]
    CpuPerRequest,
}

impl Gated {
    pub const ALL: [Gated; 3] = [Gated::Rps, Gated::P99, Gated::CpuPerRequest];

    pub fn as_str(self) -> &'static str {
        match self {
            Gated::Rps => "rps",
            Gated::P99 => "p99",
            Gated::CpuPerRequest => "cpu_per_request",
        }
    }

    fn figure(self) -> Figure {
        match self {
            Gated::Rps => Figure::GoodRps,
            Gated::P99 => Figure::Latency {
                percentile: Percentile::P99.0,
            },
            Gated::CpuPerRequest => Figure::CpuPerRequest,
        }
    }

    /// Is a larger value better?
    fn higher_is_better(self) -> bool {
        matches!(self, Gated::Rps)
    }
}

/// The gate's settings and what it found; part of `lab compare --format json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gate {
    /// The smallest change that fails the gate, percent (`--fail-on 5%` → 5).
    pub fail_on_pct: f64,
    pub figures: Vec<Gated>,
    pub rows: Vec<GateRow>,
}

impl Gate {
    /// The rows that got worse.
    pub fn failures(&self) -> Vec<&GateRow> {
        self.rows
            .iter()
            .filter(|r| r.outcome == Outcome::Fail)
            .collect()
    }
}

/// One figure of one row present in both runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateRow {
    /// `async hello c=100 keep-alive off cpus=0.5→0.25 memory=64m`: the row and its
    /// server's limits, `A→B` where they differ.
    pub row: String,
    pub figure: Gated,
    pub a: Option<Interval>,
    pub b: Option<Interval>,
    /// (B − A) / A of the medians, percent.
    pub change_pct: Option<f64>,
    /// `fail`: got worse; `pass`: did not; `inconclusive`: a side has no figure or was
    /// limited by the load generator.
    pub outcome: Outcome,
    pub why: String,
    /// Seconds the tool measured B's repetitions (a JUnit case's `time`).
    pub time_s: f64,
}

impl GateRow {
    /// `async hello c=100 …: p99`: how a JUnit test case names it.
    pub fn name(&self) -> String {
        format!("{}: {}", self.row, self.figure.as_str())
    }
}

/// Gate every matched pair of rows on each of `figures`.
pub fn gate(pairs: &[(&Row<'_>, &Row<'_>)], fail_on: f64, figures: &[Gated]) -> Gate {
    let mut rows = Vec::new();
    for (a, b) in pairs {
        for &g in figures {
            rows.push(gate_row(a, b, g, fail_on));
        }
    }
    Gate {
        fail_on_pct: fail_on * 100.0,
        figures: figures.to_vec(),
        rows,
    }
}

fn measured<'c>(row: &Row<'c>) -> Vec<&'c Cell> {
    row.cells
        .iter()
        .copied()
        .filter(|c| c.status == Status::Ok && c.measurement().is_some())
        .collect()
}

fn interval(row: &Row<'_>, g: Gated) -> Option<Interval> {
    crate::judge::interval::row_interval(&measured(row), g.figure())
}

fn loadgen_bound(row: &Row<'_>) -> bool {
    measured(row).iter().any(|c| {
        c.verdict
            .as_ref()
            .is_some_and(|v| v.limiter == Limiter::Loadgen)
    })
}

fn gate_row(a: &Row<'_>, b: &Row<'_>, g: Gated, fail_on: f64) -> GateRow {
    let (ia, ib) = (interval(a, g), interval(b, g));
    let change = match (ia, ib) {
        (Some(x), Some(y)) if x.median != 0.0 => Some((y.median - x.median) / x.median),
        _ => None,
    };
    let f = g.figure();
    let span = |i: &Interval| format!("{} ({})", f.show_span(i.lo, i.hi), i.basis.as_str());
    let (outcome, why) = match (ia, ib, change) {
        (Some(x), Some(y), Some(ch)) => {
            let worse = if g.higher_is_better() { -ch } else { ch };
            let facts = format!(
                "{} {:+.1}%: A {}, B {}",
                g.as_str(),
                ch * 100.0,
                span(&x),
                span(&y)
            );
            if loadgen_bound(a) || loadgen_bound(b) {
                (
                    Outcome::Inconclusive,
                    format!("{facts}; a side was limited by the load generator (verdict loadgen): it measured the load tool, not the server"),
                )
            } else if x.apart(&y) && worse > fail_on {
                (
                    Outcome::Fail,
                    format!(
                        "{facts}: worse by more than {}% and the intervals do not overlap",
                        fail_on * 100.0
                    ),
                )
            } else if x.apart(&y) && worse > 0.0 {
                (
                    Outcome::Pass,
                    format!("{facts}: worse, but within {}%", fail_on * 100.0),
                )
            } else if x.apart(&y) {
                (Outcome::Pass, format!("{facts}: better"))
            } else {
                (Outcome::Pass, format!("{facts}: the intervals overlap"))
            }
        }
        _ => (
            Outcome::Inconclusive,
            format!(
                "no {} on {}",
                g.as_str(),
                match (ia, ib) {
                    (None, None) => "either side",
                    (None, _) => "side A",
                    _ => "side B",
                }
            ),
        ),
    };
    GateRow {
        row: format!(
            "{} {}",
            row_name_without_group(a.representative),
            super::diff::limits_change(
                &a.representative.limits.label(),
                &b.representative.limits.label()
            )
        ),
        figure: g,
        a: ia,
        b: ib,
        change_pct: change.map(|c| (c * 10000.0).round() / 100.0),
        outcome,
        why,
        time_s: measured(b)
            .iter()
            .filter_map(|c| c.measurement()?.time_taken_s)
            .sum(),
    }
}

/// `--fail-on`: `5%` or `5` (percent), more than 0.
pub fn parse_fail_on(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let n = t.strip_suffix('%').unwrap_or(t).trim();
    match n.parse::<f64>() {
        Ok(p) if p.is_finite() && (0.0..1000.0).contains(&p) => Ok(p / 100.0),
        _ => Err(format!(
            "`{text}` is not a change size; write a percentage such as 5%"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::compare::{gate_runs, GateSpec};
    use crate::report::Run;

    fn fixture(name: &str) -> Run {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/runs")
            .join(name);
        Run::load(&dir).unwrap()
    }

    fn spec(fail_on: f64, figures: &[Gated]) -> GateSpec {
        GateSpec {
            fail_on,
            figures: figures.to_vec(),
        }
    }

    fn row<'g>(g: &'g Gate, server: &str, c: u32, figure: Gated) -> &'g GateRow {
        let prefix = format!("{server} hello c={c} ");
        g.rows
            .iter()
            .find(|r| r.row.starts_with(&prefix) && r.figure == figure)
            .unwrap_or_else(|| panic!("{prefix} {figure:?} in {g:#?}"))
    }

    /// The fixture runs: thread at 2 CPUs (A), then at 1 CPU (B): about 40% fewer req/s.
    #[test]
    fn a_row_fails_when_worse_beyond_the_size_with_intervals_apart() {
        let (a, b) = (fixture("b-thread-2cpu"), fixture("a-baseline"));
        let g = gate_runs(&a, &b, &spec(0.05, &[Gated::Rps]));
        let r = row(&g, "thread", 10, Gated::Rps);
        assert_eq!(r.outcome, Outcome::Fail, "{r:#?}");
        assert!(r.change_pct.unwrap() < -5.0);
        assert!(r.a.unwrap().apart(&r.b.unwrap()));
        assert!(
            r.row.contains("cpus=2→1"),
            "the limits that changed: {}",
            r.row
        );
        // The same change under a 50% gate: worse, but within the size.
        let g = gate_runs(&a, &b, &spec(0.50, &[Gated::Rps]));
        let r = row(&g, "thread", 10, Gated::Rps);
        assert_eq!(r.outcome, Outcome::Pass);
        assert!(r.why.contains("worse, but within 50%"), "{}", r.why);
        // The other way round it got better: never a failure.
        let g = gate_runs(&b, &a, &spec(0.05, &[Gated::Rps]));
        assert_eq!(row(&g, "thread", 10, Gated::Rps).outcome, Outcome::Pass);
        assert!(g.failures().iter().all(|r| r.figure != Gated::Rps));
    }

    #[test]
    fn a_loadgen_bound_side_is_inconclusive_and_only_picks_figures() {
        let a = fixture("b-thread-2cpu");
        let mut b = fixture("a-baseline");
        for c in b
            .results
            .cells
            .iter_mut()
            .filter(|c| c.server == "thread" && c.concurrency == 10)
        {
            c.verdict = Some(crate::record::Verdict {
                limiter: Limiter::Loadgen,
                evidence: "ab CPU 0.99 of 1 core".into(),
                advice: None,
            });
        }
        let g = gate_runs(&a, &b, &spec(0.05, &[Gated::Rps, Gated::P99]));
        let r = row(&g, "thread", 10, Gated::Rps);
        assert_eq!(r.outcome, Outcome::Inconclusive, "{r:#?}");
        assert!(r.why.contains("limited by the load generator"), "{}", r.why);
        assert!(g.rows.iter().all(|r| r.figure != Gated::CpuPerRequest));
        assert_eq!(parse_fail_on("5%"), Ok(0.05));
        assert_eq!(parse_fail_on(" 12.5 "), Ok(0.125));
        assert!(parse_fail_on("-1%").is_err() && parse_fail_on("lots").is_err());
    }
}
