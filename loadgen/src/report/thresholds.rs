//! The report's "Thresholds" section: each check of the lab file's `thresholds:` per row
//! it selects, with the figures and the outcome behind it (judged in `judge/thresholds.rs`,
//! rendered here into the blocks every format marks up).

use super::doc::{Block, Cell, Table, Text, Tone, DASH};
use super::model::Report;
use crate::judge::thresholds::{self, Judged, Outcome};

/// The judged thresholds of the report's run (none when its lab file had none).
pub fn judged(r: &Report<'_>) -> Vec<Judged> {
    thresholds::of_results(&r.run.results)
}

/// The section, or nothing when the lab file has no thresholds.
pub fn section(r: &Report<'_>) -> Vec<Block> {
    let judged = judged(r);
    if judged.is_empty() {
        return Vec::new();
    }
    let count = |o: Outcome| judged.iter().filter(|j| j.outcome == o).count();
    let (fail, open) = (count(Outcome::Fail), count(Outcome::Inconclusive));
    let (tone, verdict) = match (fail, open) {
        (0, 0) => (Tone::Good, "every check passed".to_string()),
        (0, n) => (Tone::Warn, format!("none failed, {n} inconclusive")),
        (f, _) => (Tone::Bad, format!("{f} failed: exit code 4")),
    };
    vec![
        Block::Heading {
            level: 2,
            anchor: Some("thresholds"),
            text: Text::from("Thresholds"),
        },
        Block::Banner(
            tone,
            Text::from(format!(
                "{} check(s) on {} row(s): {} passed, {fail} failed, {open} inconclusive; {verdict}.",
                judged.len(),
                rows(&judged),
                count(Outcome::Pass),
            )),
        ),
        Block::Paragraph(Text::from(
            "A check is judged on the interval of the figure over the row's repetitions (95% CI of the median with 6 or more, else their range, else ±5% of one): pass when all of it meets the bound, fail when none of it does, inconclusive otherwise. A row limited by the load generator is inconclusive, never passed.",
        )),
        Block::Table(table(&judged)),
    ]
}

fn table(judged: &[Judged]) -> Table {
    let mut t = Table::new(["#", "check", "row", "median", "interval", "outcome", "why"]);
    for j in judged {
        let outcome = Cell::text(j.outcome.as_str()).tone(match j.outcome {
            Outcome::Pass => Tone::Good,
            Outcome::Fail => Tone::Bad,
            Outcome::Inconclusive => Tone::Warn,
        });
        let show = |v: f64| j.figure.show(v);
        t.push(
            vec![
                Cell::num(format!("{}", j.threshold)),
                Cell::text(Text::new().code(&j.check)),
                Cell::text(j.row.clone().unwrap_or_else(|| j.selection.clone())),
                Cell::num(j.interval.map_or(DASH.into(), |i| show(i.median))),
                Cell::num(
                    j.interval
                        .map_or(DASH.into(), |i| j.figure.show_span(i.lo, i.hi)),
                ),
                outcome,
                Cell::text(j.why.as_str()),
            ],
            j.outcome != Outcome::Pass,
        );
    }
    t
}

/// Distinct rows the checks were judged on.
fn rows(judged: &[Judged]) -> usize {
    let mut rows: Vec<&str> = judged.iter().filter_map(|j| j.row.as_deref()).collect();
    rows.sort_unstable();
    rows.dedup();
    rows.len()
}
