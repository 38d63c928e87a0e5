//! A [`History`] as a document (Markdown and HTML through the report's markup) with one
//! trend chart per row, and as the lines `lab history` prints.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::change::{ChangePoint, ALPHA, MIN_CHANGE, WINDOW};
use super::{History, Trend, FIGURES};
use crate::record::write_atomic;
use crate::report::charts::points::{self, Mark, PointsChart, PointsPanel};
use crate::report::doc::{Block, Cell, ChartRef, Table, Text, Tone, DASH};
use crate::report::markup::Markup;
use crate::stats::Interval;

/// Write `history.md`, `history.html` and `charts/*.svg` into `dir`; the paths written.
pub fn write(h: &History, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir.join("charts"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    let mut charts = Vec::new();
    for (i, t) in h.trends.iter().enumerate() {
        let name = chart_file(i);
        let svg = points::svg(&chart(h, t))?;
        let path = dir.join("charts").join(&name);
        write_atomic(&path, svg.as_bytes())?;
        written.push(path);
        charts.push((name, svg));
    }
    let blocks = document(h);
    let md = dir.join("history.md");
    write_atomic(
        &md,
        crate::report::markdown::Markdown.blocks(&blocks).as_bytes(),
    )?;
    let html = dir.join("history.html");
    let page = crate::report::html::page("Lab history", &blocks, charts);
    write_atomic(&html, page.as_bytes())?;
    written.splice(0..0, [md, html]);
    Ok(written)
}

fn chart_file(i: usize) -> String {
    format!("trend-{i:02}.svg")
}

/// One line per change point (or a line saying there is none).
pub fn summary(h: &History) -> String {
    let mut s = format!("\n{} runs, {} rows\n", h.entries.len(), h.trends.len());
    let mut any = false;
    for t in &h.trends {
        for (fi, (_, label, _)) in FIGURES.iter().enumerate() {
            for c in &t.changes[fi] {
                any = true;
                let e = &h.entries[c.at];
                let _ = writeln!(
                    s,
                    "change: {}: {label} {:+.1}% from run {} ({}, commit {}), p = {:.4}",
                    t.row,
                    c.change * 100.0,
                    c.at + 1,
                    e.results.run_id,
                    e.short_commit(),
                    c.p
                );
            }
        }
    }
    if !any {
        s.push_str("no change points\n");
    }
    s
}

fn document(h: &History) -> Vec<Block> {
    let mut b = vec![
        Block::Title(Text::from("Lab history")),
        Block::Subtitle(Text::from(format!(
            "{} runs, {} rows",
            h.entries.len(),
            h.trends.len()
        ))),
        Block::Paragraph(Text::from(format!(
            "Change points: every split between two runs compares the repetitions of up to {WINDOW} runs before it with those of up to {WINDOW} runs from it on, by the Mann–Whitney U test (two-sided); a split with p < {ALPHA} and medians more than {:.0}% apart is a step, and of neighbouring splits that see the same step the one with the smallest p is kept. Each point of a chart is a run's median with the interval of its repetitions; an open red ring is the first run after a step.",
            MIN_CHANGE * 100.0
        ))),
        Block::Heading {
            level: 2,
            anchor: Some("runs"),
            text: Text::from("Runs"),
        },
    ];
    let mut runs = Table::new(["#", "run", "commit", "started"]);
    for (i, e) in h.entries.iter().enumerate() {
        runs.push(
            vec![
                Cell::num((i + 1).to_string()),
                Cell::text(Text::new().code(&e.results.run_id)),
                Cell::text(Text::new().code(e.short_commit())),
                Cell::text(e.results.started_at.as_str()),
            ],
            false,
        );
    }
    b.push(Block::Table(runs));
    for (i, t) in h.trends.iter().enumerate() {
        b.push(Block::Heading {
            level: 2,
            anchor: None,
            text: Text::from(t.row.as_str()),
        });
        let steps = steps_text(h, t);
        let tone = if steps.is_empty() {
            Tone::Good
        } else {
            Tone::Warn
        };
        let line = if steps.is_empty() {
            "No change point.".to_string()
        } else {
            steps.join(" ")
        };
        b.push(Block::Banner(tone, Text::from(line)));
        b.push(Block::Charts(vec![ChartRef {
            file_name: chart_file(i),
            caption: format!("trend of {}", t.row),
        }]));
        b.push(Block::Table(trend_table(h, t)));
    }
    b
}

fn steps_text(h: &History, t: &Trend) -> Vec<String> {
    let mut v = Vec::new();
    for (fi, (_, label, _)) in FIGURES.iter().enumerate() {
        for c in &t.changes[fi] {
            v.push(format!(
                "{label} {:+.1}% from run {} (commit {}, p = {:.4}).",
                c.change * 100.0,
                c.at + 1,
                h.entries[c.at].short_commit(),
                c.p
            ));
        }
    }
    v
}

fn trend_table(h: &History, t: &Trend) -> Table {
    let mut cols = vec!["#".to_string(), "commit".to_string()];
    for (_, label, _) in FIGURES {
        cols.push(label.to_string());
        cols.push(format!("{label} interval"));
    }
    cols.push("step".into());
    let mut table = Table::new(cols);
    for (ri, e) in h.entries.iter().enumerate() {
        let mut cells = vec![
            Cell::num((ri + 1).to_string()),
            Cell::text(Text::new().code(e.short_commit())),
        ];
        let mut step = Vec::new();
        for (fi, (_, label, _)) in FIGURES.iter().enumerate() {
            match Interval::of(&t.values[fi][ri]) {
                Some(iv) => {
                    cells.push(Cell::num(format!("{:.2}", iv.median)));
                    cells.push(Cell::num(format!("{:.2}–{:.2}", iv.lo, iv.hi)));
                }
                None => cells.extend([Cell::num(DASH), Cell::num(DASH)]),
            }
            if let Some(c) = at(&t.changes[fi], ri) {
                step.push(format!(
                    "{} {label} {:+.1}%",
                    if c.change > 0.0 { "▲" } else { "▼" },
                    c.change * 100.0
                ));
            }
        }
        let flagged = !step.is_empty();
        cells.push(Cell::text(step.join(", ")).tone(if flagged {
            Tone::Strong
        } else {
            Tone::Normal
        }));
        table.push(cells, flagged);
    }
    table
}

fn at(changes: &[ChangePoint], run: usize) -> Option<&ChangePoint> {
    changes.iter().find(|c| c.at == run)
}

/// One panel per figure: x is the run's place in the order, y its median with the interval
/// of its repetitions; the first run after a step is an open red ring.
fn chart(h: &History, t: &Trend) -> PointsChart {
    let panels = FIGURES
        .iter()
        .enumerate()
        .map(|(fi, (_, label, _))| PointsPanel {
            x_desc: "run (1 = oldest)".into(),
            y_desc: label.to_string(),
            marks: t.values[fi]
                .iter()
                .enumerate()
                .filter_map(|(ri, v)| {
                    let iv = Interval::of(v)?;
                    Some(Mark {
                        x: (ri + 1) as f64,
                        y: iv.median,
                        interval: Some((iv.lo, iv.hi)),
                        pass: at(&t.changes[fi], ri).is_none(),
                    })
                })
                .collect(),
            target: None,
        })
        .collect();
    PointsChart {
        title: t.row.clone(),
        legend: format!(
            "{} runs; bars: interval of each run's repetitions; open red ring: first run after a step",
            h.entries.len()
        ),
        size: (1200, 380),
        panels,
    }
}
