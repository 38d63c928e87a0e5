//! The order of a report and its headings, shared by every format: the model's sections
//! laid out as [`Block`]s.

use super::charts;
use super::doc::{Block, Text};
use super::model::Report;

/// The whole report.
pub fn document(r: &Report<'_>) -> Vec<Block> {
    let mut b = vec![
        Block::Title(r.title.clone()),
        Block::Subtitle(r.subtitle.clone()),
        Block::Nav(nav(r)),
    ];
    b.extend(
        r.banners
            .iter()
            .map(|(tone, t)| Block::Banner(*tone, t.clone())),
    );
    b.push(heading(2, "setup", "Setup"));
    b.push(Block::Fields(r.setup.clone()));
    b.extend(shards(r));
    b.extend(flags(r));
    b.extend(verdicts(r));
    b.extend(confirmations(r));
    b.extend(super::thresholds::section(r));
    b.extend(charts_section(r));
    b.extend(tables(r));
    b.extend(comparisons(r));
    b.extend(failures(r));
    b.extend(raw(r));
    b.push(Block::Footer(footer(r)));
    b
}

fn heading(level: u8, anchor: &'static str, text: &str) -> Block {
    Block::Heading {
        level,
        anchor: Some(anchor),
        text: Text::from(text),
    }
}

fn nav(r: &Report<'_>) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![("setup", "Setup")];
    if r.shards.is_some() {
        v.push(("shards", "Shards"));
    }
    v.push(("flags", "Flags"));
    if !r.verdicts.is_empty() {
        v.push(("verdicts", "Verdicts"));
    }
    if !r.run.results.confirmations.is_empty() {
        v.push(("confirm", "Verdicts checked"));
    }
    if r.lab.as_ref().is_some_and(|l| !l.thresholds.is_empty()) {
        v.push(("thresholds", "Thresholds"));
    }
    v.extend([
        ("charts", "Charts"),
        ("tables", "Tables"),
        ("comparison", "Comparison"),
    ]);
    if !r.failures.is_empty() {
        v.push(("failures", "Failures"));
    }
    v.push(("raw", "Raw ab output"));
    v
}

/// A merged run's shards: which ran which points, where, how long; the kinds of host.
fn shards(r: &Report<'_>) -> Vec<Block> {
    let Some(s) = &r.shards else {
        return Vec::new();
    };
    vec![
        heading(2, "shards", "Shards"),
        Block::Paragraph(
            Text::new()
                .plain("This run was merged from shards by ")
                .code("lab merge")
                .plain(": each shard ran its points (every server and repetition of a point together) on one host pair."),
        ),
        Block::Table(s.table.clone()),
        Block::List(s.hosts.clone()),
    ]
}

/// The flags raised (with the rows that raised them), then the others, folded.
fn flags(r: &Report<'_>) -> Vec<Block> {
    let mut b = vec![
        heading(2, "flags", "Flags"),
        Block::Paragraph(Text::from(
            "Each flag is computed from what a cell recorded and travels with its number in every table and chart (a red ring on the point).",
        )),
    ];
    let term = |u: &super::model::FlagUse| {
        let mut t = Text::new().flags(&[u.flag]);
        if !u.rows.is_empty() {
            t = t.plain(format!(" {} row(s): {}", u.rows.len(), u.rows.join(", ")));
        }
        (t, Text::from(u.flag.explanation()))
    };
    let (used, unused): (Vec<_>, Vec<_>) = r.flags.iter().partition(|u| !u.rows.is_empty());
    if used.is_empty() {
        b.push(Block::Paragraph(Text::from(
            "No flags were raised in this run.",
        )));
    } else {
        let items = used.into_iter().map(term).collect();
        b.push(Block::Terms {
            items,
            muted: false,
        });
    }
    if !unused.is_empty() {
        let items = unused.into_iter().map(term).collect();
        b.push(Block::Details {
            summary: Text::from("Flags not raised in this run"),
            body: vec![Block::Terms { items, muted: true }],
        });
    }
    b
}

/// What limited the rows, with the meaning of each verdict.
fn verdicts(r: &Report<'_>) -> Vec<Block> {
    if r.verdicts.is_empty() {
        return Vec::new();
    }
    let items = r
        .verdicts
        .iter()
        .map(|(l, n)| {
            let term = Text::new().tag(l.as_str()).plain(format!(" {n} row(s)"));
            (term, Text::from(l.explanation()))
        })
        .collect();
    vec![
        heading(2, "verdicts", "What limited each row"),
        Block::Terms { items, muted: false },
        Block::Paragraph(Text::from(
            "The evidence tables show each row's verdict and the figures behind it (results.json has the full sentence per cell).",
        )),
    ]
}

/// `--confirm`: each checked verdict and its counterfactual cell.
pub fn confirmations(r: &Report<'_>) -> Vec<Block> {
    let Some(table) = super::model::confirmations::table(&r.run.results) else {
        return Vec::new();
    };
    vec![
        heading(2, "confirm", "Verdicts checked"),
        Block::Paragraph(
            Text::new()
                .plain(format!(
                    "Each server-cpu and loadgen row was measured twice more, back to back: once at its own limits (the control) and once with its named limit moved {step}×; the ratio of the two decides, so the machine's drift since the run does not. server-cpu predicts a rise of at least {rise}×, loadgen with a CPU limit on the load generator predicts the same when that limit moves, loadgen without one predicts no change (within {flat}×) when the server's moves. Between the two bounds the check does not decide (the machine's speed drifts); an unconfirmed row carries the flag ",
                    step = crate::record::confirmation::STEP,
                    rise = crate::record::confirmation::RISE,
                    flat = crate::record::confirmation::FLAT,
                ))
                .code("unconfirmed")
                .plain(". Each outcome links to its counterfactual run's report."),
        ),
        Block::Table(table),
    ]
}

fn charts_section(r: &Report<'_>) -> Vec<Block> {
    let planned = charts::planned(r);
    let mut b = vec![heading(2, "charts", "Charts")];
    if planned.is_empty() {
        b.push(Block::Paragraph(Text::from("No measurements to chart.")));
    }
    let several = planned.len() > 1;
    for (series, refs) in planned {
        if several {
            b.push(Block::Heading {
                level: 3,
                anchor: None,
                text: super::model::series_title(&series),
            });
        }
        b.push(Block::Charts(refs));
    }
    b
}

/// Per server's sweep: the nine columns, their notes, the evidence folded below.
fn tables(r: &Report<'_>) -> Vec<Block> {
    let mut b = vec![
        heading(2, "tables", "Tables"),
        Block::Paragraph(Text::from(
            "The original exercise's nine columns, one table per server and series. ⚠ marks non-2xx responses and failed requests (ab counts non-2xx as complete); the flags of a row follow its requests per second.",
        )),
    ];
    for s in &r.sweeps {
        b.push(Block::Heading {
            level: 3,
            anchor: None,
            text: s.heading.clone(),
        });
        b.push(Block::Table(s.baseline.clone()));
        if !s.notes.is_empty() {
            b.push(Block::Notes(s.notes.clone()));
        }
        b.push(Block::Details {
            summary: s.evidence_summary.clone(),
            body: evidence_body(s),
        });
    }
    b
}

/// The evidence table, and the steady windows of its rows when they have one.
fn evidence_body(s: &super::model::SweepTables) -> Vec<Block> {
    let mut body = vec![Block::Table(s.evidence.clone())];
    if !s.evidence_notes.is_empty() {
        body.push(Block::Notes(s.evidence_notes.clone()));
    }
    body
}

/// Every server of a series side by side; one section per series.
pub fn comparisons(r: &Report<'_>) -> Vec<Block> {
    let mut b = Vec::new();
    for (i, c) in r.comparisons.iter().enumerate() {
        b.push(Block::Heading {
            level: 2,
            anchor: (i == 0).then_some("comparison"),
            text: Text::from("Comparison — ").append(c.title.clone()),
        });
        b.push(Block::Table(c.table.clone()));
        if !c.notes.is_empty() {
            b.push(Block::Notes(c.notes.clone()));
        }
    }
    b
}

fn failures(r: &Report<'_>) -> Vec<Block> {
    if r.failures.is_empty() {
        return Vec::new();
    }
    vec![
        heading(2, "failures", "Failures"),
        Block::List(r.failures.clone()),
    ]
}

fn raw(r: &Report<'_>) -> Vec<Block> {
    vec![
        heading(2, "raw", &format!("Raw {} output", r.tool)),
        Block::Paragraph(Text::from(
            "Every number above comes from these files (and results.json, which holds all of them parsed). Links are relative to the run folder.",
        )),
        Block::Table(r.raw.clone()),
    ]
}

fn footer(r: &Report<'_>) -> Text {
    let version = r
        .run
        .meta
        .as_ref()
        .map(|m| format!(" (lab {})", m.lab_version))
        .unwrap_or_default();
    Text::new()
        .plain("Rendered by ")
        .code("lab report")
        .plain(" from ")
        .code("results.json")
        .plain(format!(
            "{version}. Every number links back to the raw {} output above.",
            r.tool
        ))
}
