//! The tune report: `tune.md`, `tune.html` (charts inline) and `charts/*.svg`, rendered
//! from `tune.json` alone, and the summary `lab tune` prints.
//!
//! The content is laid out once as a list of [`Block`]s ([`blocks`]); Markdown and HTML
//! only mark them up, as the run report's formats do.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::answers::{self, Row};
use super::chart;
use super::record::{Phase, SearchRecord, TuneRecord};
use super::snippets;
use crate::config::format_memory;
use crate::report::markdown::escape as md_escape;
use crate::report::markup::escape_html;

/// One piece of the report, in reading order.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Heading(u8, String),
    Para(String),
    List(Vec<String>),
    /// Header and rows; a cell of the form `[text](href)` is a link.
    Table(Vec<String>, Vec<Vec<String>>),
    /// A chart: its file under the tune folder, and its title.
    Chart(String, String),
    Code(String),
}

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
    crate::record::write_atomic(&html, self::html(record, &blocks, &charts).as_bytes())?;
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
        Block::Heading(1, format!("Tune: {}", record.name)),
        Block::Para(format!(
            "Status {} · {} probes of a budget of {} · {:.0} s of {:.0} s · started {}",
            record.status,
            record.probes_used,
            record.tune.budget.probes,
            record.elapsed_s,
            record.tune.budget.time_s,
            record.started_at
        )),
        Block::Para(
            "Each answer is the smallest limit at which the server met the target, found by \
             bracketing and bisecting over real probes (each a cell of the lab file with its \
             repetitions, evidence and verdict); it passed twice and the step below it failed. \
             Memory is searched at the CPU limit found plus the headroom (at the bare \
             answer every probe sits at the target's edge and passes or fails with the \
             machine's noise, whatever the memory). The figures are those of the CPU answer; \
             the memory peak that of the memory answer."
                .into(),
        ),
    ];
    if let Some(note) = &record.budget_note {
        b.push(Block::Para(format!("Stopped early: {note}.")));
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
    let mut b = vec![Block::Heading(2, format!("Target: {}", target.describe()))];
    let of: Vec<&Row> = rows.iter().filter(|r| r.target == t).collect();
    let header = [
        "server",
        "model",
        "cpus",
        "memory",
        "req/s at the answer",
        "p99 ms",
        "limited by",
        "memory peak",
        "probes",
    ];
    let table = of
        .iter()
        .map(|r| {
            let f = r.figures;
            vec![
                r.server.to_string(),
                r.model.to_string(),
                r.cpus.text.clone(),
                r.memory.text.clone(),
                f.map_or("—".into(), |f| {
                    let mut s = f.rps.map_or("—".into(), |v| format!("{v:.0}"));
                    if let Some((lo, hi)) = f.rps_range {
                        s.push_str(&format!(" [{lo:.0}–{hi:.0}]"));
                    }
                    s
                }),
                f.and_then(|f| f.p99_ms)
                    .map_or("—".into(), |v| format!("{v:.1}")),
                f.and_then(|f| f.limiter)
                    .map_or("—".into(), |l| l.as_str().into()),
                r.memory_peak_bytes
                    .map_or("—".into(), crate::report::doc::mib),
                r.probes.to_string(),
            ]
        })
        .collect();
    b.push(Block::Table(header.map(String::from).to_vec(), table));
    if let Some(s) = answers::who_needs_less(record, rows, t) {
        b.push(Block::Para(format!("Which needs less: {s}.")));
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
        b.push(Block::List(items));
    }
    for s in record.searches.iter().filter(|s| s.target == t) {
        for phase in [s.cpus.as_ref(), s.memory.as_ref()].into_iter().flatten() {
            if !phase.probes.is_empty() {
                b.push(Block::Chart(
                    chart_file(s, record, phase),
                    format!("{}: {} probes", s.server, phase.dimension.as_str()),
                ));
            }
        }
    }
    b.push(Block::Heading(3, "Probes".into()));
    b.push(probe_table(record, t));
    b
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
    let mut rows = Vec::new();
    for s in record.searches.iter().filter(|s| s.target == t) {
        for phase in [s.cpus.as_ref(), s.memory.as_ref()].into_iter().flatten() {
            for p in &phase.probes {
                let f = &p.figures;
                rows.push(vec![
                    p.number.to_string(),
                    s.server.clone(),
                    phase.dimension.as_str().into(),
                    p.cpus.to_string(),
                    format_memory(p.memory_bytes),
                    answers::spread(f)
                        .split(", p99")
                        .next()
                        .unwrap_or("")
                        .to_string(),
                    f.p99_ms.map_or("—".into(), |v| format!("{v:.1}")),
                    format!("{:.2}%", f.error_share * 100.0),
                    f.limiter.map_or("—".into(), |l| l.as_str().into()),
                    p.outcome.as_str().into(),
                    f.reason.clone(),
                    format!("[report]({}/report.md)", p.dir),
                ]);
            }
        }
    }
    Block::Table(header.map(String::from).to_vec(), rows)
}

fn snippet_blocks(record: &TuneRecord, rows: &[Row<'_>]) -> Vec<Block> {
    let needs = snippets::needs(rows, |t| record.tune.targets[t].describe());
    let h = record.tune.headroom;
    vec![
        Block::Heading(2, "Limits to paste".into()),
        Block::Para(format!(
            "Per server, the largest answer over its targets. Limits carry {:.0}% headroom \
             (`tune.headroom`); Kubernetes requests are the measured minimum itself. CPUs \
             round up to the millicore, memory up to the MiB.",
            h * 100.0
        )),
        Block::Para("docker-compose (`deploy.resources.limits`):".into()),
        Block::Code(snippets::compose(&needs, h)),
        Block::Para("Kubernetes (container `resources`):".into()),
        Block::Code(snippets::kubernetes(&needs, h)),
    ]
}

/// `[text](href)` → (text, href).
fn link(cell: &str) -> Option<(&str, &str)> {
    let rest = cell.strip_prefix('[')?;
    let (text, rest) = rest.split_once("](")?;
    Some((text, rest.strip_suffix(')')?))
}

pub fn markdown(blocks: &[Block]) -> String {
    let mut s = String::new();
    let cell = |c: &str| match link(c) {
        Some((t, h)) => format!("[{}]({h})", md_escape(t)),
        None => md_escape(c),
    };
    for b in blocks {
        match b {
            Block::Heading(l, t) => s.push_str(&format!("{} {}\n\n", "#".repeat(*l as usize), t)),
            Block::Para(t) => s.push_str(&format!("{t}\n\n")),
            Block::List(items) => {
                for i in items {
                    s.push_str(&format!("- {i}\n"));
                }
                s.push('\n');
            }
            Block::Table(h, rows) => {
                s.push_str(&format!("| {} |\n", h.join(" | ")));
                s.push_str(&format!("|{}\n", "---|".repeat(h.len())));
                for r in rows {
                    let cells: Vec<String> = r.iter().map(|c| cell(c)).collect();
                    s.push_str(&format!("| {} |\n", cells.join(" | ")));
                }
                s.push('\n');
            }
            Block::Chart(file, title) => s.push_str(&format!("![{title}]({file})\n\n")),
            Block::Code(code) => s.push_str(&format!("```yaml\n{code}```\n\n")),
        }
    }
    s
}

fn html(record: &TuneRecord, blocks: &[Block], charts: &[(String, String)]) -> String {
    let mut s = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Tune: {}</title>\n<style>{}</style></head><body>\n",
        escape_html(&record.name),
        CSS
    );
    let cell = |c: &str| match link(c) {
        Some((t, h)) => format!(
            "<a href=\"{}\">{}</a>",
            escape_html(&h.replace("report.md", "report.html")),
            escape_html(t)
        ),
        None => escape_html(c),
    };
    for b in blocks {
        match b {
            Block::Heading(l, t) => s.push_str(&format!("<h{l}>{}</h{l}>\n", escape_html(t))),
            Block::Para(t) => s.push_str(&format!("<p>{}</p>\n", escape_html(t))),
            Block::List(items) => {
                s.push_str("<ul>\n");
                for i in items {
                    s.push_str(&format!("<li>{}</li>\n", escape_html(i)));
                }
                s.push_str("</ul>\n");
            }
            Block::Table(h, rows) => {
                s.push_str("<table><tr>");
                for c in h {
                    s.push_str(&format!("<th>{}</th>", escape_html(c)));
                }
                s.push_str("</tr>\n");
                for r in rows {
                    s.push_str("<tr>");
                    for c in r {
                        s.push_str(&format!("<td>{}</td>", cell(c)));
                    }
                    s.push_str("</tr>\n");
                }
                s.push_str("</table>\n");
            }
            Block::Chart(file, title) => {
                if let Some((_, svg)) = charts.iter().find(|(f, _)| f == file) {
                    s.push_str(&format!(
                        "<figure>{svg}<figcaption>{}</figcaption></figure>\n",
                        escape_html(title)
                    ));
                }
            }
            Block::Code(code) => s.push_str(&format!("<pre>{}</pre>\n", escape_html(code))),
        }
    }
    s.push_str("</body></html>\n");
    s
}

const CSS: &str = "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}\
th{background:#f4f4f4}pre{background:#f6f6f6;padding:1em;overflow:auto}figure{margin:1em 0}svg{max-width:100%;height:auto}";

/// What `lab tune` prints: per target, one line per server with its answer, then the
/// snippets and the report's path.
pub fn terminal(record: &TuneRecord, dir: &Path) -> String {
    let rows = answers::rows(record);
    let mut s = String::new();
    for (t, target) in record.tune.targets.iter().enumerate() {
        s.push_str(&format!("\n{}\n", target.describe()));
        s.push_str(&format!(
            "  {:<10} {:<28} {:<28} {:>10} {:>8} {:>6}\n",
            "server", "cpus", "memory", "req/s", "p99 ms", "probes"
        ));
        for r in rows.iter().filter(|r| r.target == t) {
            let f = r.figures;
            s.push_str(&format!(
                "  {:<10} {:<28} {:<28} {:>10} {:>8} {:>6}\n",
                r.server,
                r.cpus.text,
                r.memory.text,
                f.and_then(|f| f.rps)
                    .map_or("—".into(), |v| format!("{v:.0}")),
                f.and_then(|f| f.p99_ms)
                    .map_or("—".into(), |v| format!("{v:.1}")),
                r.probes
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
