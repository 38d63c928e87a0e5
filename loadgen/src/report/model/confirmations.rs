//! `lab run --confirm`: each checked verdict, its counterfactual cell and the outcome, as
//! one table every format shows (see the `confirm` module for how they are made).

use super::super::doc::{Cell, Table, Text, Tone};
use crate::record::{Confirmation, Results};

/// The table of checks, `None` when the run made none.
pub fn table(r: &Results) -> Option<Table> {
    if r.confirmations.is_empty() {
        return None;
    }
    let mut t = Table::new([
        "row",
        "verdict",
        "counterfactual",
        "predicted",
        "req/s in the run",
        "req/s control → counterfactual",
        "after, limited by",
        "outcome",
        "why",
    ]);
    for c in &r.confirmations {
        let rate = |r: Option<f64>| r.map_or_else(|| "—".to_string(), |a| format!("{a:.0}"));
        let ratio = c.ratio().map(|x| format!(" ({x:.2}×)")).unwrap_or_default();
        let tone = match c.confirmed {
            Some(true) => Tone::Good,
            Some(false) => Tone::Bad,
            None => Tone::Warn,
        };
        let outcome = if c.run.is_empty() {
            Text::from(c.word())
        } else {
            Text::new().run_report(c.word(), &c.run)
        };
        t.push(
            vec![
                Cell::text(c.row.name()),
                Cell::text(c.verdict.as_str()),
                Cell::text(c.change.as_str()),
                Cell::text(c.prediction.as_str()),
                Cell::num(format!("{:.0}", c.before_rps)),
                Cell::num(format!(
                    "{} → {}{ratio}",
                    rate(c.control_rps),
                    rate(c.after_rps)
                )),
                Cell::text(c.after_verdict.map_or("—", |v| v.as_str())),
                Cell::text(outcome).tone(tone),
                Cell::text(reason_only(c)),
            ],
            c.confirmed == Some(false),
        );
    }
    Some(t)
}

/// One line: `14 confirmed, 1 unconfirmed (thread c=1), 1 undecided`.
pub fn tally(r: &Results) -> Option<(Tone, String)> {
    if r.confirmations.is_empty() {
        return None;
    }
    let count = |v: Option<bool>| r.confirmations.iter().filter(|c| c.confirmed == v).count();
    let wrong: Vec<String> = r
        .confirmations
        .iter()
        .filter(|c| c.confirmed == Some(false))
        .map(|c| c.row.name())
        .collect();
    let mut s = format!(
        "Verdicts checked by a counterfactual cell (--confirm): {} confirmed, {} unconfirmed",
        count(Some(true)),
        wrong.len()
    );
    if !wrong.is_empty() {
        s.push_str(&format!(" ({})", wrong.join(", ")));
    }
    s.push_str(&format!(", {} undecided.", count(None)));
    let tone = if wrong.is_empty() {
        Tone::Good
    } else {
        Tone::Bad
    };
    Some((tone, s))
}

/// The reason without the figures the other columns already show.
fn reason_only(c: &Confirmation) -> String {
    c.reason
        .split_once(&format!("{}: ", c.change))
        .map_or_else(|| c.reason.clone(), |(_, why)| why.to_string())
}
