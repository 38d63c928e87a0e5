//! Judging a run against the lab file's `thresholds:` (see `config/thresholds.rs`).
//!
//! A check is judged per row (a server at one concurrency, or offered rate, of one series,
//! over its repetitions) on the **interval** of the figure, not on the median alone
//! ([`Interval`]: the 95% interval of the median with 6+ repetitions, the min–max range
//! with 2–5, ±5% of a single measurement):
//!
//! * **pass** when the whole interval meets the bound;
//! * **fail** when the whole interval misses it;
//! * **inconclusive** when the bound lies inside the interval (more repetitions narrow it),
//!   when no repetition was measured, or when any repetition's verdict is `loadgen`: then
//!   the figure measured the load generator, not the server, and it never passes (nor
//!   fails) a server's threshold.
//!
//! Pure functions of the record: tested without Docker.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::thresholds::{Bound, Figure, Op, Selector, Threshold};
use crate::record::{Cell, Limiter, Percentile, Results, Status};
use crate::stats::{Basis, Interval};

/// What a check concluded for one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Inconclusive,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Inconclusive => "inconclusive",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One check of one threshold, judged on one row (or on none, when nothing matched).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judged {
    /// Index of the threshold in the lab file (`thresholds[i]`).
    pub threshold: usize,
    /// The check as written: `p99 < 5ms`.
    pub check: String,
    /// The selection as written: `server=async c=100`.
    pub selection: String,
    /// The row: `async hello c=100 keep-alive off cpus=1 memory=256m`; `None` when no
    /// cell of the run matched the selection.
    pub row: Option<String>,
    pub figure: Figure,
    /// The figure over the row's measured repetitions.
    pub interval: Option<Interval>,
    pub outcome: Outcome,
    /// The figures behind the outcome, and for an inconclusive one what would settle it.
    pub why: String,
}

impl Judged {
    /// `thresholds[0] p99 < 5ms`: how a JUnit test case or a summary names it.
    pub fn name(&self) -> String {
        match &self.row {
            Some(row) => format!("{row}: {}", self.check),
            None => format!("{}: {}", self.selection, self.check),
        }
    }
}

/// The thresholds recorded with a run (its `config.thresholds`), judged on its cells.
pub fn of_results(results: &Results) -> Vec<Judged> {
    judge(&recorded(results), &results.cells)
}

/// The thresholds in a record's lab file; none for records written before thresholds.
pub fn recorded(results: &Results) -> Vec<Threshold> {
    results
        .config
        .get("thresholds")
        .and_then(|t| serde_json::from_value(t.clone()).ok())
        .unwrap_or_default()
}

/// Every check of every threshold, per row it selects, in file order.
pub fn judge(thresholds: &[Threshold], cells: &[Cell]) -> Vec<Judged> {
    let mut out = Vec::new();
    for (i, t) in thresholds.iter().enumerate() {
        let rows = rows(&t.select, cells);
        for b in &t.checks {
            if rows.is_empty() {
                out.push(Judged {
                    threshold: i,
                    check: b.text.clone(),
                    selection: t.select.describe(),
                    row: None,
                    figure: b.figure,
                    interval: None,
                    outcome: Outcome::Inconclusive,
                    why: "no cell of this run matches the selection (was the run stopped early?)"
                        .into(),
                });
            }
            for (name, row) in &rows {
                out.push(judge_row(i, t, b, name, row));
            }
        }
    }
    out
}

/// How many checks failed.
pub fn failures(judged: &[Judged]) -> usize {
    judged.iter().filter(|j| j.outcome == Outcome::Fail).count()
}

/// The value of `figure` in one measured cell, in the figure's unit.
pub fn figure_of(cell: &Cell, figure: Figure) -> Option<f64> {
    let m = cell.measurement()?;
    match figure {
        Figure::Latency { percentile } => cell.latency(Percentile(percentile)),
        Figure::Rps => cell.rps(),
        Figure::GoodRps => cell.good_rps(),
        Figure::Errors => Some(m.bad() as f64),
        Figure::ErrorShare => {
            let complete = m.complete.filter(|n| *n > 0)?;
            Some(m.bad() as f64 / complete as f64)
        }
        // 0 is a counter that was not recorded: no request is served without CPU.
        Figure::CpuPerRequest => cell
            .server_cpu_per_request_us()
            .map(|us| us * 1e-6)
            .filter(|s| *s > 0.0),
        Figure::MemoryPeak => cell
            .server_resources
            .as_ref()
            .map(|r| r.memory_peak_bytes as f64)
            .filter(|b| *b > 0.0),
    }
}

/// The rows the selection picks, each named, with its cells, in the run's order.
fn rows<'c>(select: &Selector, cells: &'c [Cell]) -> Vec<(String, Vec<&'c Cell>)> {
    let mut out: Vec<(String, Vec<&Cell>)> = Vec::new();
    for c in cells.iter().filter(|c| selects(select, c)) {
        let name = row_name(c);
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => v.push(c),
            None => out.push((name, vec![c])),
        }
    }
    out
}

fn selects(s: &Selector, c: &Cell) -> bool {
    s.server.as_ref().map_or(true, |x| *x == c.server)
        && s.workload.as_ref().map_or(true, |x| *x == c.workload)
        && s.concurrency.map_or(true, |x| x == c.concurrency)
        && s.rate.map_or(true, |x| Some(x) == c.rate)
        && s.keepalive.map_or(true, |x| x == c.keepalive)
        && s.cpus.map_or(true, |x| x == c.limits.cpus)
        && s.memory.map_or(true, |x| x == c.limits.memory_bytes)
}

/// `async hello c=100 keep-alive off cpus=1 memory=256m`: one row's identity, for people.
pub fn row_name(c: &Cell) -> String {
    format!("{} {}", row_name_without_group(c), c.group_label)
}

/// [`row_name`] without the resource group: the identity of a row across runs that each
/// have one group, where a changed limit is what is being followed (as `lab compare` does).
pub fn row_name_without_group(c: &Cell) -> String {
    let level = match c.rate {
        Some(r) => format!("rate={r} c={}", c.concurrency),
        None => format!("c={}", c.concurrency),
    };
    format!(
        "{} {} {level} keep-alive {}",
        c.server,
        c.workload,
        if c.keepalive { "on" } else { "off" },
    )
}

fn judge_row(i: usize, t: &Threshold, b: &Bound, name: &str, cells: &[&Cell]) -> Judged {
    let measured: Vec<&&Cell> = cells
        .iter()
        .filter(|c| c.status == Status::Ok && c.measurement().is_some())
        .collect();
    let measured: Vec<&Cell> = measured.into_iter().copied().collect();
    let interval = super::interval::row_interval(&measured, b.figure);
    let loadgen = measured
        .iter()
        .filter(|c| {
            c.verdict
                .as_ref()
                .is_some_and(|v| v.limiter == Limiter::Loadgen)
        })
        .count();
    let (outcome, why) = match interval {
        None => (
            Outcome::Inconclusive,
            format!(
                "no figure: {} of {} repetition(s) measured {}",
                measured
                    .iter()
                    .filter(|c| figure_of(c, b.figure).is_some())
                    .count(),
                cells.len(),
                b.figure.name()
            ),
        ),
        Some(_) if loadgen > 0 => (
            Outcome::Inconclusive,
            format!(
                "the load generator limited {loadgen} of {} repetition(s) (verdict loadgen): \
                 the figure measures the load generator, not the server; give it more CPU \
                 (loadgen.cpus, more cores) or fewer connections",
                measured.len()
            ),
        ),
        Some(iv) => decide(b, &iv),
    };
    Judged {
        threshold: i,
        check: b.text.clone(),
        selection: t.select.describe(),
        row: Some(name.to_string()),
        figure: b.figure,
        interval,
        outcome,
        why,
    }
}

/// Pass, fail or inconclusive from where the interval lies against the bound.
fn decide(b: &Bound, iv: &Interval) -> (Outcome, String) {
    let (lo, hi, v) = (iv.lo, iv.hi, b.value);
    let (pass, fail) = match b.op {
        Op::Lt => (hi < v, lo >= v),
        Op::Le => (hi <= v, lo > v),
        Op::Gt => (lo > v, hi <= v),
        Op::Ge => (lo >= v, hi < v),
        Op::Eq => (lo == v && hi == v, hi < v || lo > v),
    };
    let f = b.figure;
    let span = f.show_span(lo, hi);
    let basis = match iv.basis {
        Basis::Ci95 => format!("95% CI of the median of {} repetitions", iv.n),
        Basis::Spread => format!("range of {} repetitions", iv.n),
        Basis::NoiseFloor => "one repetition ± 5% noise floor".into(),
        Basis::BatchMeans => format!(
            "95% CI by batch means of the steady seconds of {} repetitions",
            iv.n
        ),
    };
    let bound = format!("{} {}", b.op, f.show(v));
    if pass {
        (
            Outcome::Pass,
            format!("{span} ({basis}): all of it {bound}"),
        )
    } else if fail {
        (
            Outcome::Fail,
            format!("{span} ({basis}): none of it {bound}"),
        )
    } else {
        let settle = match iv.basis {
            Basis::Ci95 | Basis::BatchMeans => {
                "more repetitions (a larger repeat) narrow the interval"
            }
            _ => "repeat the cell 6 or more times (repeat: auto, or lab run --repeat 10) for a 95% interval of the median",
        };
        (
            Outcome::Inconclusive,
            format!("{span} ({basis}) straddles {bound}: {settle}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::thresholds::bound;
    use crate::stats::Spread;

    /// The recorded fixture run (`tests/fixtures/runs/a-baseline`): two servers, three
    /// repetitions per concurrency, one failed repetition of thread c=1000.
    fn run() -> Results {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runs/a-baseline");
        crate::judge::load(&dir).unwrap()
    }

    fn threshold(server: &str, concurrency: u32, checks: &[String]) -> Threshold {
        Threshold {
            select: Selector {
                server: Some(server.into()),
                concurrency: Some(concurrency),
                ..Selector::default()
            },
            checks: checks.iter().map(|c| bound(c).unwrap()).collect(),
        }
    }

    /// async c=10's req/s over its repetitions, as the record has them.
    fn rps_of(r: &Results, server: &str, concurrency: u32) -> Spread {
        let v: Vec<f64> = r
            .cells
            .iter()
            .filter(|c| c.server == server && c.concurrency == concurrency)
            .filter(|c| c.status == Status::Ok)
            .filter_map(|c| c.rps())
            .collect();
        Spread::of(&v)
    }

    #[test]
    fn a_threshold_passes_fails_or_is_inconclusive_by_where_the_interval_lies() {
        let r = run();
        let s = rps_of(&r, "async", 10);
        assert_eq!(s.n, 3, "the fixture has three repetitions");
        let checks = [
            format!("rps > {}", (s.min * 0.9).floor()),
            format!("rps > {}", (s.max * 1.1).ceil()),
            format!("rps > {}", s.median),
            "errors == 0".to_string(),
            "memory_peak < 64m".to_string(),
        ];
        let judged = judge(&[threshold("async", 10, &checks)], &r.cells);
        let outcomes: Vec<Outcome> = judged.iter().map(|j| j.outcome).collect();
        assert_eq!(
            outcomes,
            [
                Outcome::Pass,
                Outcome::Fail,
                Outcome::Inconclusive,
                Outcome::Pass,
                Outcome::Pass
            ],
            "{judged:#?}"
        );
        let iv = judged[0].interval.unwrap();
        assert_eq!((iv.lo, iv.median, iv.hi), (s.min, s.median, s.max));
        assert_eq!(iv.basis, Basis::Spread);
        assert!(judged[0].why.contains("all of it >"), "{}", judged[0].why);
        assert!(judged[1].why.contains("none of it >"), "{}", judged[1].why);
        assert!(
            judged[2].why.contains("straddles")
                && judged[2].why.contains("repeat the cell 6 or more times"),
            "an inconclusive check says what would settle it: {}",
            judged[2].why
        );
        assert_eq!(failures(&judged), 1);
        let row = judged[0].row.as_deref().unwrap();
        assert!(row.starts_with("async hello c=10 keep-alive off"), "{row}");
    }

    #[test]
    fn a_loadgen_bound_row_is_inconclusive_never_passed_nor_failed() {
        let mut r = run();
        let s = rps_of(&r, "async", 10);
        let cell = r
            .cells
            .iter_mut()
            .find(|c| c.server == "async" && c.concurrency == 10)
            .unwrap();
        cell.verdict = Some(crate::record::Verdict {
            limiter: Limiter::Loadgen,
            evidence: "ab CPU 0.98 of 1 core".into(),
            advice: None,
        });
        let checks = [
            format!("rps > {}", (s.min * 0.5).floor()),
            format!("rps > {}", (s.max * 2.0).ceil()),
        ];
        let judged = judge(&[threshold("async", 10, &checks)], &r.cells);
        for j in &judged {
            assert_eq!(j.outcome, Outcome::Inconclusive, "{j:#?}");
            assert!(j.why.contains("load generator limited 1 of 3"), "{}", j.why);
        }
        // The other rows are judged as usual.
        let judged = judge(&[threshold("async", 100, &checks[..1])], &r.cells);
        assert_eq!(judged[0].outcome, Outcome::Pass);
    }

    #[test]
    fn failed_repetitions_are_left_out_and_nothing_matched_is_inconclusive() {
        let r = run();
        let judged = judge(
            &[threshold("thread", 1000, &["rps > 0".to_string()])],
            &r.cells,
        );
        assert_eq!(judged[0].interval.unwrap().n, 2, "one of three failed");
        assert_eq!(judged[0].outcome, Outcome::Pass);
        let judged = judge(
            &[threshold("thread", 7, &["rps > 0".to_string()])],
            &r.cells,
        );
        assert_eq!(judged[0].outcome, Outcome::Inconclusive);
        assert!(judged[0].row.is_none());
        assert!(judged[0].why.contains("no cell"));
    }

    #[test]
    fn cpu_per_request_is_server_cpu_over_completed_requests() {
        let mut r = run();
        for c in &mut r.cells {
            if let Some(res) = &mut c.server_resources {
                res.cpu_s = 0.05;
            }
        }
        let cell = r.cells.iter().find(|c| c.status == Status::Ok).unwrap();
        let complete = cell.measurement().unwrap().complete.unwrap() as f64;
        let per = figure_of(cell, Figure::CpuPerRequest).unwrap();
        assert!((per - 0.05 / complete).abs() < 1e-15);
        let judged = judge(
            &[threshold(
                "async",
                10,
                &["cpu_per_request < 1s".to_string()],
            )],
            &r.cells,
        );
        assert_eq!(judged[0].outcome, Outcome::Pass);
        assert!(judged[0].why.contains("µs"), "{}", judged[0].why);
    }

    #[test]
    fn a_record_without_thresholds_has_none() {
        assert!(of_results(&run()).is_empty());
    }
}
