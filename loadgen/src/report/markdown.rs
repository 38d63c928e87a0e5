//! `report.md`: the setup, one baseline table per server in the classic columns, a details
//! table with the evidence (good req/s, latency percentiles, connect vs processing, resource
//! use, flags), the side-by-side comparison, failures, and links to every raw ab output.
//!
//! The baseline table keeps exactly the original nine columns; anything wrong with a number
//! is marked *in* the cell (⚠ and the count of non-2xx or failed requests) so that no reader
//! can take a table of 404s for a table of answers again.

use std::fmt::Write;

use anyhow::Result;

use super::view::{self, Row, Table};
use super::{int, num, Exporter, Run};
use crate::flags::EXPLANATIONS;
use crate::results::Status;

pub struct Markdown;

/// The columns of the original exercise, in its order.
pub const BASELINE_COLUMNS: [&str; 9] = [
    "No test",
    "Concurrency level",
    "Time taken for test [seconds]",
    "Complete request",
    "Failed request",
    "Total transferred [bytes]",
    "Request per second [#/sec]",
    "Time per request [ms]",
    "Transfer rate [Kbytes/sec]",
];

impl Exporter for Markdown {
    fn file_name(&self) -> &'static str {
        "report.md"
    }

    fn render(&self, run: &Run) -> Result<Vec<u8>> {
        Ok(render(run).into_bytes())
    }
}

pub fn render(run: &Run) -> String {
    let r = &run.results;
    let mut md = String::new();
    let _ = writeln!(md, "# Lab report: {}\n", r.name);
    setup(&mut md, run);

    let rows = view::rows(r);
    let tables = view::tables(&rows);
    let used_flags: Vec<&str> = EXPLANATIONS
        .iter()
        .map(|(f, _)| *f)
        .filter(|f| rows.iter().any(|row| row.flags.iter().any(|x| x == f)))
        .collect();
    if !used_flags.is_empty() {
        let _ = writeln!(md, "## Flags in this run\n");
        for (f, why) in EXPLANATIONS.iter().filter(|(f, _)| used_flags.contains(f)) {
            let _ = writeln!(md, "- **{f}**: {why}");
        }
        md.push('\n');
    }

    verdicts(&mut md, &rows);
    for t in &tables {
        baseline_table(&mut md, t);
        details_table(&mut md, t);
    }
    comparison(&mut md, &rows);
    failures(&mut md, run);
    raw_links(&mut md, run);
    md
}

fn setup(md: &mut String, run: &Run) {
    let r = &run.results;
    let c = &r.config;
    let _ = writeln!(
        md,
        "- Run: `{}` ({}), started {}, finished {}",
        r.run_id,
        r.status,
        r.started_at,
        r.finished_at.as_deref().unwrap_or("—")
    );
    let lg = &c["loadgen"];
    let _ = writeln!(
        md,
        "- Load: ab, {} requests per cell, concurrency {}, keep-alive {}, timeout {} s; repeat {}, warm-up {} requests",
        lg["requests"],
        lg["concurrency"],
        lg["keepalive"],
        lg["timeout_s"],
        match c["repeat_auto"].as_object() {
            Some(a) => format!(
                "auto (until the 95% interval of the median req/s is within ±{}%, {}..={} times, at most {} s per point)",
                a["target"].as_f64().unwrap_or(0.0) * 100.0,
                a["min"],
                a["max"],
                a["time_s"]
            ),
            None => c["repeat"].to_string(),
        },
        c["warmup"]
    );
    if let Some(bg) = c["background"].as_object() {
        let _ = writeln!(
            md,
            "- Background: a second ab held {} connections on `{}` (keep-alive {}) during every measurement",
            bg["concurrency"], bg["path"].as_str().unwrap_or("?"), bg["keepalive"]
        );
    }
    if let Some(servers) = c["servers"].as_array() {
        for s in servers {
            let _ = writeln!(
                md,
                "- Server `{}`: {} on port {}{}",
                s["name"].as_str().unwrap_or("?"),
                match &s["source"] {
                    serde_json::Value::Object(o) if o.contains_key("model") =>
                        format!("model {}", o["model"].as_str().unwrap_or("?")),
                    serde_json::Value::Object(o) if o.contains_key("image") =>
                        format!("image {}", o["image"].as_str().unwrap_or("?")),
                    other => other.to_string(),
                },
                s["port"],
                match s["args"].as_array() {
                    Some(a) if !a.is_empty() => format!(
                        ", args `{}`",
                        a.iter()
                            .filter_map(|v| v.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                    _ => String::new(),
                }
            );
        }
    }
    if let Some(cell) = r.cells.first() {
        let _ = writeln!(
            md,
            "- Pinning: servers on CPUs {}, ab on CPUs {}; ab CPU limit {}",
            cell.limits.cpuset.as_deref().unwrap_or("any"),
            cell.limits.loadgen_cpuset.as_deref().unwrap_or("any"),
            cell.limits
                .loadgen_cpus
                .map(|c| c.to_string())
                .unwrap_or_else(|| "none".into())
        );
    }
    if let Some(cell) = r.cells.iter().find(|c| c.server_resources.is_some()) {
        let source = cell
            .server_resources
            .as_ref()
            .map_or("", |s| s.source.as_str());
        let _ = writeln!(
            md,
            "- Measurement: container CPU and throttling from {}, read just before and after each cell; ab's CPU from the kernel's rusage of the ab process; peak connections and threads from the built-in servers' `/metrics`",
            if source.is_empty() { "Docker stats" } else { source }
        );
    }
    if let Some(o) = view::Overhead::of(r) {
        let _ = writeln!(md, "- Lab overhead: {}", o.text());
    }
    if let Some(m) = &run.meta {
        let _ = writeln!(
            md,
            "- Host: {} CPUs ({}), kernel {}, Docker {} (cgroup v{}), load average {} → {}",
            m.host_cpus,
            m.host_cpu_model,
            m.host_kernel,
            m.docker.version,
            m.docker.cgroup_version,
            m.load_average_start.as_deref().unwrap_or("?"),
            m.load_average_end.as_deref().unwrap_or("?")
        );
        let _ = writeln!(
            md,
            "- Load generator: {} — {}",
            m.loadgen_image_source, m.ab_version
        );
        if let Some(commit) = &m.git_commit {
            let dirty = if m.git_dirty == Some(true) {
                " (with uncommitted changes)"
            } else {
                ""
            };
            let _ = writeln!(
                md,
                "- Source: commit `{}`{dirty}",
                &commit[..commit.len().min(12)]
            );
        }
    }
    md.push('\n');
}

/// What limited the rows, with the meaning of each verdict.
fn verdicts(md: &mut String, rows: &[Row<'_>]) {
    let used = view::verdicts_used(rows);
    if used.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## What limited each row
"
    );
    for (limiter, n) in used {
        let _ = writeln!(md, "- **{limiter}** ({n} rows): {}", limiter.explanation());
    }
    let _ = writeln!(md, "
The evidence tables show each row's verdict and the figures behind it (`results.json` has the full sentence per cell).
");
}

/// The nine classic columns for one server's sweep.
fn baseline_table(md: &mut String, t: &Table<'_>) {
    let _ = writeln!(md, "## {} ({}) — {}\n", t.server, t.model, t.series.title());
    let _ = writeln!(md, "| {} |", BASELINE_COLUMNS.join(" | "));
    let _ = writeln!(md, "|{}", "---|".repeat(BASELINE_COLUMNS.len()));
    let mut notes = Vec::new();
    for (i, row) in t.rows.iter().enumerate() {
        let c = row.representative;
        let Some(ab) = c.ab.as_ref().filter(|_| c.status == Status::Ok) else {
            let reason = c.reason.as_deref().unwrap_or("no result");
            let _ = writeln!(
                md,
                "| {} | {} | ✗ failed | — | — | — | — | — | — |",
                i + 1,
                row.concurrency
            );
            notes.push(format!("c={}: failed: {reason}", row.concurrency));
            continue;
        };
        let non2xx = ab.non_2xx.unwrap_or(0);
        let failed = ab.failed_requests.unwrap_or(0);
        let complete = if non2xx > 0 {
            format!("{} ⚠ {non2xx} non-2xx", int(ab.complete_requests))
        } else {
            int(ab.complete_requests)
        };
        let failed_s = if failed > 0 {
            format!("{failed} ⚠")
        } else {
            int(ab.failed_requests)
        };
        let rps = match (row.rps, row.ci95) {
            (Some(s), Some((lo, hi))) => format!("{:.2} [{lo:.2}–{hi:.2}]", s.median),
            (Some(s), None) if s.n > 1 => format!("{:.2} [{:.2}–{:.2}]", s.median, s.min, s.max),
            _ => num(ab.requests_per_second, 2),
        };
        let rps = if row.flags.is_empty() {
            rps
        } else {
            format!("{rps} ({})", row.flags.join(", "))
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            i + 1,
            row.concurrency,
            num(ab.time_taken_s, 3),
            complete,
            failed_s,
            int(ab.total_transferred),
            rps,
            num(ab.time_per_request_ms, 3),
            num(ab.transfer_rate_kbps, 2),
        );
    }
    let reps = t.rows.iter().map(|r| r.cells.len()).max().unwrap_or(1);
    md.push('\n');
    if reps > 1 {
        let _ = writeln!(md, "Request per second: median of up to {reps} repetitions [95% confidence interval of the median with 6 or more, else min–max]; the other columns are from the median repetition.\n");
    }
    for n in notes {
        let _ = writeln!(md, "- {n}");
    }
}

/// The evidence behind the baseline numbers.
fn details_table(md: &mut String, t: &Table<'_>) {
    let _ = writeln!(
        md,
        "\n<details><summary>Evidence for {} — {}</summary>\n\n| {} |\n|{}",
        t.server,
        t.series.title(),
        view::EVIDENCE_COLUMNS.join(" | "),
        "---|".repeat(view::EVIDENCE_COLUMNS.len())
    );
    for row in &t.rows {
        let _ = writeln!(md, "| {} |", row.evidence().join(" | "));
    }
    md.push_str("\n</details>\n\n");
}

/// Requests per second of every server side by side, per concurrency, per series.
fn comparison(md: &mut String, rows: &[Row<'_>]) {
    for series in view::series(rows) {
        let grid = view::Grid::of(rows, &series);
        let (servers, levels) = (grid.servers.clone(), grid.levels.clone());
        let _ = writeln!(md, "## Comparison — {}\n", series.title());
        let mut header = String::from("| Concurrency |");
        for s in &servers {
            let _ = write!(header, " {s} req/s | {s} p99 ms | {s} limited by |");
        }
        if servers.len() == 2 {
            let _ = write!(header, " {} / {} |", servers[0], servers[1]);
        }
        let cols = header.matches('|').count() - 1;
        let _ = writeln!(md, "{header}\n|{}", "---|".repeat(cols));
        for c in levels {
            let mut line = format!("| {c} |");
            for s in &servers {
                let row = grid.at(s, c);
                let rps = row.and_then(|r| r.rps).map(|s| s.median);
                let flags = row
                    .filter(|r| !r.flags.is_empty())
                    .map(|r| format!(" ({})", r.flags.join(", ")))
                    .unwrap_or_default();
                let _ = write!(
                    line,
                    " {}{flags} | {} | {} |",
                    num(rps, 2),
                    num(row.and_then(|r| r.p("99")), 2),
                    row.and_then(|r| r.verdict)
                        .map_or("—", |v| v.limiter.as_str())
                );
            }
            if servers.len() == 2 {
                let ratio = view::Ratio::of(grid.at(servers[0], c), grid.at(servers[1], c));
                let _ = write!(line, " {} |", ratio.text());
            }
            let _ = writeln!(md, "{line}");
        }
        md.push('\n');
        for note in view::comparison_notes(&grid.rows) {
            let _ = writeln!(md, "- {note}");
        }
        md.push('\n');
    }
}

fn failures(md: &mut String, run: &Run) {
    let r = &run.results;
    let failed: Vec<_> = r
        .cells
        .iter()
        .filter(|c| c.status == Status::Failed)
        .collect();
    if failed.is_empty() && r.server_failures.is_empty() {
        return;
    }
    let _ = writeln!(md, "## Failures\n");
    for f in &r.server_failures {
        let _ = writeln!(
            md,
            "- server `{}` (group {}): {}",
            f.server, f.group, f.reason
        );
    }
    for c in failed {
        let _ = writeln!(
            md,
            "- cell `{}`: {}",
            c.id,
            c.reason.as_deref().unwrap_or("no result")
        );
    }
    md.push('\n');
}

fn raw_links(md: &mut String, run: &Run) {
    let _ = writeln!(md, "## Raw ab output\n");
    let _ = writeln!(md, "Every number above comes from these files (and `results.json`, which holds all of them parsed).\n");
    for c in &run.results.cells {
        let metrics = if c.server_metrics.is_some() {
            format!(" · [server metrics](raw/{}.metrics.txt)", c.id)
        } else {
            String::new()
        };
        let _ = writeln!(
            md,
            "- `{}`: [stdout]({}) · [stderr]({}){metrics} — `{}`",
            c.id,
            c.raw_stdout,
            c.raw_stderr,
            c.command.join(" ")
        );
    }
}
