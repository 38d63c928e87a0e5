//! The tune report: `tune.md`, `tune.html` (charts inline) and `charts/*.svg`, rendered
//! from `tune.json` alone, and the summary `lab tune` prints.
//!
//! The content is laid out once in the run report's document model (`report::doc`'s
//! [`Block`]s, [`blocks`]); `report`'s Markdown and HTML mark it up, as they do a run's.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::answers::{self, Row};
use super::chart;
use super::record::{Phase, SearchRecord, TuneRecord};
use super::snippets;
use crate::config::format_memory;
use crate::report::doc::{Block, Cell, ChartRef, Table, Text, DASH};
use crate::report::html;
use crate::report::markdown::Markdown;
use crate::report::markup::Markup;

/// Write `tune.md`, `tune.html` and the charts into the tune folder.
pub fn write_all(dir: &Path, record: &TuneRecord) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let charts = charts(record)?;
    std::fs::create_dir_all(dir.join("charts"))?;
    for (file, svg) in &charts {
        let path = dir.join(file);
        crate::record::write_atomic(&path, svg.as_bytes())?;
        written.push(path);
    }
    let blocks = blocks(record);
    let md = dir.join("tune.md");
    crate::record::write_atomic(&md, markdown(&blocks).as_bytes())?;
    let html = dir.join("tune.html");
    let title = format!("Tune: {}", record.name);
    let charts = charts
        .into_iter()
        .map(|(file, svg)| (chart_name(&file).to_string(), svg))
        .collect();
    crate::record::write_atomic(&html, html::page(&title, &blocks, charts).as_bytes())?;
    written.push(md);
    written.push(html);
    Ok(written)
}

/// `charts/<server>-<workload>-<cpus|memory>.svg` for every phase with probes.
fn charts(record: &TuneRecord) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for s in &record.searches {
        for phase in [s.cpus.as_ref(), s.memory.as_ref()].into_iter().flatten() {
            if phase.probes.is_empty() {
                continue;
            }
            let target = record.target(s);
            let title = format!(
                "{}: {} — {} probes",
                s.server,
                target.describe(),
                phase.dimension.as_str()
            );
            out.push((
                chart_file(s, record, phase),
                chart::svg(&title, phase, target)?,
            ));
        }
    }
    Ok(out)
}

/// `tune.md`: the blocks in the run report's Markdown.
pub fn markdown(blocks: &[Block]) -> String {
    Markdown.blocks(blocks)
}

/// A chart's file name inside `charts/`.
fn chart_name(file: &str) -> &str {
    file.strip_prefix("charts/").unwrap_or(file)
}

fn chart_file(s: &SearchRecord, record: &TuneRecord, phase: &Phase) -> String {
    format!(
        "charts/{}-{}-{}.svg",
        s.server,
        record.target(s).workload,
        phase.dimension.as_str()
    )
}

/// The report's content.
pub fn blocks(record: &TuneRecord) -> Vec<Block> {
    let rows = answers::rows(record);
    let mut b = vec![
        Block::Title(Text::from(format!("Tune: {}", record.name))),
        Block::Paragraph(Text::from(format!(
            "Status {} · {} probes of a budget of {} · {:.0} s of {:.0} s · started {}",
            record.status,
            record.probes_used,
            record.tune.budget.probes,
            record.elapsed_s,
            record.tune.budget.time_s,
            record.started_at
        ))),
        Block::Paragraph(Text::from(
            "Each answer is the smallest limit at which the server met the target, found by \
             bracketing and bisecting over real probes (each a cell of the lab file with its \
             repetitions, evidence and verdict); it passed twice and the step below it failed. \
             Memory is searched at the CPU limit found plus the headroom (at the bare \
             answer every probe sits at the target's edge and passes or fails with the \
             machine's noise, whatever the memory). The figures are those of the CPU answer; \
             the memory peak that of the memory answer.",
        )),
        Block::Paragraph(match record.tune.confirm_s {
            Some(len) => Text::new()
                .plain(format!(
                    "Before an answer is given, it is held for {len:.0} s in one confirmation \
                     run and must pass the target there too, and hold it (req/s and p99) in at \
                     least {:.0}% of that run's one-second windows (",
                    record.tune.hold * 100.0
                ))
                .code("seconds held")
                .plain(
                    "; a tool without per-request data, such as oha, is judged on the whole \
                     run); a confirmation that fails counts as a failure at that limit, and the \
                     search goes on above it. The figures at an answer are its confirmation \
                     run's.",
                ),
            None => Text::new()
                .plain("Answers are not confirmed by a long run (")
                .code("tune.confirm: off")
                .plain(
                    ", or a tune from before the lab confirmed its answers): each rests on the \
                     search's short probes.",
                ),
        }),
    ];
    if let Some(note) = &record.budget_note {
        b.push(para(format!("Stopped early: {note}.")));
    }
    for (t, target) in record.tune.targets.iter().enumerate() {
        b.extend(target_blocks(record, &rows, t, target));
    }
    b.extend(snippet_blocks(record, &rows));
    b
}

fn target_blocks(
    record: &TuneRecord,
    rows: &[Row<'_>],
    t: usize,
    target: &crate::config::Target,
) -> Vec<Block> {
    let mut b = vec![heading(2, format!("Target: {}", target.describe()))];
    let of: Vec<&Row> = rows.iter().filter(|r| r.target == t).collect();
    let table = answers_table(&of);
    b.push(Block::Table(table));
    if let Some(s) = answers::who_needs_less(record, rows, t) {
        b.push(para(format!("Which needs less: {s}.")));
    }
    let mut items = Vec::new();
    for r in &of {
        for c in &r.confidence {
            items.push(format!("{} — confidence, {c}", r.server));
        }
        for n in &r.notes {
            items.push(format!("{} — {n}", r.server));
        }
    }
    if !items.is_empty() {
        b.push(Block::List(items.into_iter().map(Text::from).collect()));
    }
    for s in record.searches.iter().filter(|s| s.target == t) {
        for phase in [s.cpus.as_ref(), s.memory.as_ref()].into_iter().flatten() {
            if !phase.probes.is_empty() {
                b.push(Block::Charts(vec![ChartRef {
                    file_name: chart_name(&chart_file(s, record, phase)).to_string(),
                    caption: format!("{}: {} probes", s.server, phase.dimension.as_str()),
                }]));
            }
        }
    }
    b.push(heading(3, "Probes".into()));
    b.push(probe_table(record, t));
    b
}

/// One target's answers: a row per server.
fn answers_table(of: &[&Row<'_>]) -> Table {
    let header = [
        "server",
        "model",
        "cpus",
        "memory",
        "req/s at the answer",
        "p99 ms",
        "quota periods",
        "seconds held",
        "limited by",
        "memory peak",
        "probes (time)",
    ];
    let mut table = Table::new(header);
    for r in of {
        let f = r.figures;
        let cells = [
            r.server.to_string(),
            r.model.to_string(),
            r.cpus.text.clone(),
            r.memory.text.clone(),
            f.map_or(DASH.into(), |f| {
                let mut s = f.rps.map_or(DASH.into(), |v| format!("{v:.0}"));
                if let Some((lo, hi)) = f.rps_range.filter(|(lo, hi)| hi > lo) {
                    s.push_str(&format!(" [{lo:.0}–{hi:.0}]"));
                }
                s
            }),
            f.and_then(|f| f.p99_ms)
                .map_or(DASH.into(), |v| format!("{v:.1}")),
            // The answer's probe: the fewest quota periods of steady load a repetition
            // covered (20 or more under the steady-state policy).
            f.and_then(|f| f.periods_covered)
                .map_or(DASH.into(), |v| format!("{v:.0}")),
            // The confirmation run's, when the answer has one (else the probe's).
            f.and_then(|f| f.held_text()).unwrap_or_else(|| DASH.into()),
            f.and_then(|f| f.limiter)
                .map_or(DASH.into(), |l| l.as_str().into()),
            r.memory_peak_bytes
                .map_or(DASH.into(), crate::report::doc::mib),
            probes_text(r),
        ];
        table.push(cells.into_iter().map(Cell::text).collect(), false);
    }
    table
}

fn probe_table(record: &TuneRecord, t: usize) -> Block {
    let header = [
        "#",
        "server",
        "search",
        "cpus",
        "memory",
        "req/s [interval]",
        "p99 ms",
        "errors",
        "limited by",
        "outcome",
        "why",
        "evidence",
    ];
    let mut table = Table::new(header);
    for s in record.searches.iter().filter(|s| s.target == t) {
        for phase in [s.cpus.as_ref(), s.memory.as_ref()].into_iter().flatten() {
            for p in &phase.probes {
                let f = &p.figures;
                let cells = [
                    p.number.to_string(),
                    s.server.clone(),
                    match p.confirm_s {
                        Some(len) => format!("{} (confirm, {len:.0} s)", phase.dimension.as_str()),
                        None => phase.dimension.as_str().into(),
                    },
                    p.cpus.to_string(),
                    format_memory(p.memory_bytes),
                    answers::spread(f)
                        .split(", p99")
                        .next()
                        .unwrap_or("")
                        .to_string(),
                    f.p99_ms.map_or(DASH.into(), |v| format!("{v:.1}")),
                    format!("{:.2}%", f.error_share * 100.0),
                    f.limiter.map_or(DASH.into(), |l| l.as_str().into()),
                    p.outcome.as_str().into(),
                    f.reason.clone(),
                ];
                let mut cells: Vec<Cell> = cells.into_iter().map(Cell::text).collect();
                cells.push(Cell::text(Text::new().run_report("report", &p.dir)));
                table.push(cells, false);
            }
        }
    }
    Block::Table(table)
}

fn snippet_blocks(record: &TuneRecord, rows: &[Row<'_>]) -> Vec<Block> {
    let needs = snippets::needs(rows, |t| record.tune.targets[t].describe());
    let h = record.tune.headroom;
    vec![
        heading(2, "Limits to paste".into()),
        Block::Paragraph(
            Text::from(format!(
                "Per server, the largest answer over its targets. Limits carry {:.0}% \
                 headroom (",
                h * 100.0
            ))
            .code("tune.headroom")
            .plain(
                "); Kubernetes requests are the measured minimum itself. CPUs round up to \
                 the millicore, memory up to the MiB.",
            ),
        ),
        Block::Paragraph(
            Text::from("docker-compose (")
                .code("deploy.resources.limits")
                .plain("):"),
        ),
        Block::Code {
            lang: "yaml",
            text: snippets::compose(&needs, h),
        },
        Block::Paragraph(
            Text::from("Kubernetes (container ")
                .code("resources")
                .plain("):"),
        ),
        Block::Code {
            lang: "yaml",
            text: snippets::kubernetes(&needs, h),
        },
    ]
}

fn heading(level: u8, text: String) -> Block {
    Block::Heading {
        level,
        anchor: None,
        text: Text::from(text),
    }
}

/// `9 (85 s)`: the probes of one answer and the time they took (confirmation runs
/// included); the count alone for records from before the lab timed probes.
fn probes_text(r: &Row<'_>) -> String {
    if r.probes_s > 0.0 {
        format!("{} ({:.0} s)", r.probes, r.probes_s)
    } else {
        r.probes.to_string()
    }
}

fn para(text: String) -> Block {
    Block::Paragraph(Text::from(text))
}

/// What `lab tune` prints: per target, one line per server with its answer, then the
/// snippets and the report's path.
pub fn terminal(record: &TuneRecord, dir: &Path) -> String {
    let rows = answers::rows(record);
    let mut s = String::new();
    for (t, target) in record.tune.targets.iter().enumerate() {
        s.push_str(&format!("\n{}\n", target.describe()));
        s.push_str(&format!(
            "  {:<10} {:<28} {:<28} {:>10} {:>8} {:>13}\n",
            "server", "cpus", "memory", "req/s", "p99 ms", "probes (time)"
        ));
        for r in rows.iter().filter(|r| r.target == t) {
            let f = r.figures;
            s.push_str(&format!(
                "  {:<10} {:<28} {:<28} {:>10} {:>8} {:>13}\n",
                r.server,
                r.cpus.text,
                r.memory.text,
                f.and_then(|f| f.rps)
                    .map_or("—".into(), |v| format!("{v:.0}")),
                f.and_then(|f| f.p99_ms)
                    .map_or("—".into(), |v| format!("{v:.1}")),
                probes_text(r)
            ));
            for n in r.confidence.iter().chain(&r.notes) {
                s.push_str(&format!("    {}: {n}\n", r.server));
            }
        }
        if let Some(w) = answers::who_needs_less(record, &rows, t) {
            s.push_str(&format!("  which needs less: {w}\n"));
        }
    }
    let needs = snippets::needs(&rows, |t| record.tune.targets[t].describe());
    let h = record.tune.headroom;
    s.push_str(&format!(
        "\ndocker-compose (limits with {:.0}% headroom):\n{}",
        h * 100.0,
        snippets::compose(&needs, h)
    ));
    s.push_str(&format!(
        "\nKubernetes (requests = the answer, limits with {:.0}% headroom):\n{}",
        h * 100.0,
        snippets::kubernetes(&needs, h)
    ));
    s.push_str(&format!(
        "\n{} probes in {:.0} s\nreport: {}\n",
        record.probes_used,
        record.elapsed_s,
        dir.join("tune.md").display()
    ));
    if let Some(n) = &record.budget_note {
        s.push_str(&format!("stopped early: {n}\n"));
    }
    s
}
