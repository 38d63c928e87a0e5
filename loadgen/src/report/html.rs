//! `report.html`: the whole report in one self-contained file — inline CSS and SVG charts,
//! no scripts, no external assets — that opens from a file manager or a CI artifact.
//!
//! It shows what `report.md` shows (setup, the flags explained, the baseline tables in the
//! original nine columns with the same marks, the evidence, the side-by-side comparison,
//! failures, links to the raw ab outputs, relative to the run folder) plus the charts of
//! [`charts`](super::charts). Every piece of text from the run is HTML-escaped.

use std::fmt::Write;

use anyhow::Result;

use super::charts;
use super::markdown::BASELINE_COLUMNS;
use super::view::{self, Row, Series, Table};
use super::{int, num, Exporter, Run};
use crate::flags::EXPLANATIONS;
use crate::results::Status;

pub struct Html;

impl Exporter for Html {
    fn file_name(&self) -> &'static str {
        "report.html"
    }

    fn render(&self, run: &Run) -> Result<Vec<u8>> {
        Ok(render(run)?.into_bytes())
    }
}

/// Escape text for HTML element content and double-quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A relative link to a file of the run folder: escaped, and with characters that would
/// end or confuse a URL percent-encoded.
fn href(path: &str) -> String {
    let mut out = String::new();
    for c in path.chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '_' | '.' | '~' | '/' => out.push(c),
            c => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "%{b:02X}");
                }
            }
        }
    }
    // A path never starts a scheme (`javascript:`) or leaves the folder by being absolute.
    out.trim_start_matches('/').to_string()
}

const CSS: &str = r#"
:root { --fg: #1d2127; --muted: #5a6270; --line: #d8dce3; --bg-alt: #f6f7f9;
  --warn-bg: #fff4d6; --warn-fg: #7a4b00; --bad-bg: #fde2e1; --bad-fg: #a61b1b; --accent: #1f77b4; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 28px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 40px 0 12px; padding-bottom: 6px; border-bottom: 2px solid var(--line); }
h3 { font-size: 16px; margin: 26px 0 8px; }
p.sub { color: var(--muted); margin: 0 0 16px; }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--bg-alt);
  padding: 1px 4px; border-radius: 3px; }
a { color: var(--accent); }
nav { background: var(--bg-alt); border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; margin: 16px 0; }
nav a { margin-right: 16px; white-space: nowrap; }
.banner { border-radius: 6px; padding: 10px 14px; margin: 12px 0; }
.banner.bad { background: var(--bad-bg); color: var(--bad-fg); border: 1px solid #f3b5b2; }
.banner.warn { background: var(--warn-bg); color: var(--warn-fg); border: 1px solid #f0d58a; }
.banner.ok { background: #e6f4ea; color: #1e5e2f; border: 1px solid #b4dcc0; }
table { border-collapse: collapse; margin: 6px 0 10px; font-size: 13.5px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; vertical-align: top; }
th { background: var(--bg-alt); text-align: left; font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.flagged td { background: #fffbea; }
td.warn { background: var(--warn-bg) !important; color: var(--warn-fg); font-weight: 600; }
td.bad { background: var(--bad-bg) !important; color: var(--bad-fg); font-weight: 600; }
table.kv th { width: 190px; }
table.kv td, table.kv th { border-left: 0; border-right: 0; }
.scroll { overflow-x: auto; }
.flag { display: inline-block; font-size: 11.5px; font-weight: 600; line-height: 1.3; padding: 0 5px; margin: 1px 2px 1px 0;
  border-radius: 9px; background: var(--bad-bg); color: var(--bad-fg); border: 1px solid #f3b5b2; white-space: nowrap; }
.spread { color: var(--muted); font-size: 12px; }
dl.flags dt { font-weight: 600; margin-top: 8px; }
dl.flags dd { margin: 0 0 0 18px; color: var(--fg); }
dl.flags.unused dt, dl.flags.unused dd { color: var(--muted); font-weight: 400; }
figure { margin: 14px 0 26px; }
figure svg { max-width: 100%; height: auto; display: block; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
details { margin: 4px 0 14px; }
summary { cursor: pointer; color: var(--accent); }
.note { color: var(--muted); font-size: 13px; margin: 2px 0 8px; }
td.links { white-space: nowrap; }
td.cmd code { background: none; padding: 0; font-size: 12px; word-break: break-all; }
footer { color: var(--muted); font-size: 12.5px; margin-top: 48px; border-top: 1px solid var(--line); padding-top: 10px; }
"#;

pub fn render(run: &Run) -> Result<String> {
    let r = &run.results;
    let rows = view::rows(r);
    let tables = view::tables(&rows);
    let all_series = view::series(&rows);
    let chart_list = charts::render(run)?;

    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Lab report: {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        esc(&r.name)
    );
    let _ = writeln!(h, "<h1>Lab report: {}</h1>", esc(&r.name));
    let _ = writeln!(
        h,
        "<p class=\"sub\">Run <code>{}</code> · {} · started {} · finished {}</p>",
        esc(&r.run_id),
        esc(&r.status),
        esc(&r.started_at),
        esc(r.finished_at.as_deref().unwrap_or("—"))
    );
    h.push_str(
        "<nav><a href=\"#setup\">Setup</a><a href=\"#flags\">Flags</a><a href=\"#charts\">Charts</a>\
         <a href=\"#tables\">Tables</a><a href=\"#comparison\">Comparison</a>",
    );
    if has_failures(run) {
        h.push_str("<a href=\"#failures\">Failures</a>");
    }
    h.push_str("<a href=\"#raw\">Raw ab output</a></nav>\n");

    banners(&mut h, run, &rows);
    setup(&mut h, run);
    flags_section(&mut h, &rows);
    verdicts_section(&mut h, &rows);

    h.push_str("<h2 id=\"charts\">Charts</h2>\n");
    if chart_list.is_empty() {
        h.push_str("<p class=\"note\">No measurements to chart.</p>\n");
    }
    for series in &all_series {
        if all_series.len() > 1 {
            let _ = writeln!(h, "<h3>{}</h3>", series_html(series));
        }
        for c in chart_list.iter().filter(|c| &c.series == series) {
            let _ = writeln!(
                h,
                "<figure>\n{}\n<figcaption>SVG file: <a href=\"charts/{}\">charts/{}</a></figcaption>\n</figure>",
                c.svg.trim(),
                href(&c.file_name),
                esc(&c.file_name)
            );
        }
    }

    h.push_str("<h2 id=\"tables\">Tables</h2>\n");
    h.push_str(
        "<p class=\"note\">The original exercise's nine columns, one table per server and series. \
         ⚠ marks non-2xx responses and failed requests (ab counts non-2xx as complete); \
         the flags of a row follow its requests per second.</p>\n",
    );
    for t in &tables {
        baseline_table(&mut h, t);
        details_table(&mut h, t);
    }
    comparison(&mut h, &rows);
    failures(&mut h, run);
    raw_links(&mut h, run);
    let _ = writeln!(
        h,
        "<footer>Rendered by <code>lab report</code> from <code>results.json</code>{}. \
         Every number links back to the raw ab output above.</footer>",
        run.meta
            .as_ref()
            .map(|m| format!(" (lab {})", esc(&m.lab_version)))
            .unwrap_or_default()
    );
    h.push_str("</main>\n</body>\n</html>\n");
    Ok(h)
}

fn series_html(s: &Series) -> String {
    format!(
        "{} <code>{}</code> · keep-alive {} · {}",
        esc(&s.workload),
        esc(&s.path),
        if s.keepalive { "on" } else { "off" },
        esc(&s.group_label)
    )
}

fn flag_badges(flags: &[String]) -> String {
    flags
        .iter()
        .map(|f| {
            let title = EXPLANATIONS
                .iter()
                .find(|(n, _)| n == f)
                .map(|(_, why)| *why)
                .unwrap_or("");
            format!(
                "<span class=\"flag\" title=\"{}\">{}</span>",
                esc(title),
                esc(f)
            )
        })
        .collect::<Vec<_>>()
        .join("")
}

fn has_failures(run: &Run) -> bool {
    !run.results.server_failures.is_empty()
        || run.results.cells.iter().any(|c| c.status == Status::Failed)
}

/// The defects a reader must not miss, before any table.
fn banners(h: &mut String, run: &Run, rows: &[Row<'_>]) {
    let r = &run.results;
    if r.status != "complete" {
        let _ = writeln!(
            h,
            "<div class=\"banner warn\">This run is <b>{}</b>: the report shows the cells finished so far.</div>",
            esc(&r.status)
        );
    }
    let bad: Vec<&Row> = rows
        .iter()
        .filter(|row| row.flags.iter().any(|f| f == "errors" || f == "failed"))
        .collect();
    if !bad.is_empty() {
        let list: Vec<String> = bad
            .iter()
            .map(|row| format!("{} c={}", esc(&row.server), row.concurrency))
            .collect();
        let _ = writeln!(
            h,
            "<div class=\"banner bad\">⚠ {} of {} rows have errors or failed cells (non-2xx responses, failed requests or no measurement): {}.</div>",
            bad.len(),
            rows.len(),
            list.join(", ")
        );
    } else if !rows.is_empty() {
        let _ = writeln!(
            h,
            "<div class=\"banner ok\">Every measured response was a 2xx and no request failed ({} rows).</div>",
            rows.len()
        );
    }
    if !r.server_failures.is_empty() {
        let _ = writeln!(
            h,
            "<div class=\"banner bad\">{} server instance(s) could not be started or verified: see <a href=\"#failures\">Failures</a>.</div>",
            r.server_failures.len()
        );
    }
}

fn kv(h: &mut String, k: &str, v_html: &str) {
    let _ = writeln!(h, "<tr><th>{}</th><td>{v_html}</td></tr>", esc(k));
}

fn jtext(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "—".into(),
        other => other.to_string(),
    }
}

fn setup(h: &mut String, run: &Run) {
    let r = &run.results;
    let c = &r.config;
    h.push_str("<h2 id=\"setup\">Setup</h2>\n<table class=\"kv\">\n");
    let lg = &c["loadgen"];
    kv(
        h,
        "Load",
        &format!(
            "ab (<code>{}</code>), {} requests per cell, concurrency {}, keep-alive {}, timeout {} s",
            esc(&jtext(&lg["image"])),
            esc(&jtext(&lg["requests"])),
            esc(&jtext(&lg["concurrency"])),
            esc(&jtext(&lg["keepalive"])),
            esc(&jtext(&lg["timeout_s"]))
        ),
    );
    kv(
        h,
        "Repetitions",
        &format!(
            "repeat {}, warm-up {} requests",
            esc(&jtext(&c["repeat"])),
            esc(&jtext(&c["warmup"]))
        ),
    );
    if let Some(ws) = c["workloads"].as_array() {
        let list: Vec<String> = ws
            .iter()
            .map(|w| {
                format!(
                    "{} <code>{}</code>",
                    esc(&jtext(&w["name"])),
                    esc(&jtext(&w["path"]))
                )
            })
            .collect();
        kv(h, "Workloads", &list.join(", "));
    }
    if let Some(servers) = c["servers"].as_array() {
        for s in servers {
            let source = match &s["source"] {
                serde_json::Value::Object(o) if o.contains_key("model") => {
                    format!("model {}", esc(&jtext(&o["model"])))
                }
                serde_json::Value::Object(o) if o.contains_key("image") => {
                    format!("image <code>{}</code>", esc(&jtext(&o["image"])))
                }
                other => esc(&jtext(other)),
            };
            let args = match s["args"].as_array() {
                Some(a) if !a.is_empty() => format!(
                    ", args <code>{}</code>",
                    esc(&a.iter().map(jtext).collect::<Vec<_>>().join(" "))
                ),
                _ => String::new(),
            };
            let own: Vec<String> = ["cpus", "memory", "pids"]
                .iter()
                .filter(|k| !s["resources"][**k].is_null())
                .map(|k| format!("{k}={}", jtext(&s["resources"][*k])))
                .collect();
            let own = if own.is_empty() {
                String::new()
            } else {
                format!(", own limits {}", esc(&own.join(" ")))
            };
            kv(
                h,
                &format!("Server {}", jtext(&s["name"])),
                &format!("{source} on port {}{args}{own}", esc(&jtext(&s["port"]))),
            );
        }
    }
    let mut groups: Vec<&str> = Vec::new();
    for cell in &r.cells {
        if !groups.contains(&cell.group_label.as_str()) {
            groups.push(&cell.group_label);
        }
    }
    if !groups.is_empty() {
        let pids = &c["resources"]["pids"];
        kv(
            h,
            "Server limits",
            &format!(
                "{}{}",
                esc(&groups.join("; ")),
                if pids.is_null() {
                    String::new()
                } else {
                    format!(", pids {}", esc(&jtext(pids)))
                }
            ),
        );
    }
    if let Some(cell) = r.cells.first() {
        kv(
            h,
            "Pinning",
            &format!(
                "servers on CPUs {}, ab on CPUs {}; ab CPU limit {}",
                esc(cell.limits.cpuset.as_deref().unwrap_or("any")),
                esc(cell.limits.loadgen_cpuset.as_deref().unwrap_or("any")),
                cell.limits
                    .loadgen_cpus
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "none".into())
            ),
        );
    }
    if let Some(m) = &run.meta {
        kv(
            h,
            "Host",
            &format!(
                "{} CPUs ({}), kernel {}, load average {} → {}",
                m.host_cpus,
                esc(&m.host_cpu_model),
                esc(&m.host_kernel),
                esc(m.load_average_start.as_deref().unwrap_or("?")),
                esc(m.load_average_end.as_deref().unwrap_or("?"))
            ),
        );
        kv(
            h,
            "Docker",
            &format!(
                "{} (API {}, cgroup v{}), {}",
                esc(&m.docker.version),
                esc(&m.docker.api_version),
                esc(&m.docker.cgroup_version),
                esc(&m.docker.os)
            ),
        );
        kv(
            h,
            "Load generator",
            &format!("{} — {}", esc(&m.loadgen_image_source), esc(&m.ab_version)),
        );
        if !m.images.is_empty() {
            let list: Vec<String> = m
                .images
                .iter()
                .map(|(name, id)| {
                    let short = id.strip_prefix("sha256:").unwrap_or(id);
                    format!(
                        "<code>{}</code> {}",
                        esc(name),
                        esc(&short[..short.len().min(12)])
                    )
                })
                .collect();
            kv(h, "Images", &list.join(", "));
        }
        if let Some(commit) = &m.git_commit {
            let dirty = if m.git_dirty == Some(true) {
                " (with uncommitted changes)"
            } else {
                ""
            };
            kv(
                h,
                "Source",
                &format!(
                    "commit <code>{}</code>{dirty}, lab file <code>{}</code>",
                    esc(&commit[..commit.len().min(12)]),
                    esc(&m.lab_file)
                ),
            );
        }
    }
    h.push_str("</table>\n");
}

/// What limited the rows, with the meaning of each verdict.
fn verdicts_section(h: &mut String, rows: &[Row<'_>]) {
    let used = view::verdicts_used(rows);
    if used.is_empty() {
        return;
    }
    h.push_str("<h2 id=\"verdicts\">What limited each row</h2>\n<dl class=\"flags\">\n");
    for (limiter, n) in used {
        let _ = writeln!(
            h,
            "<dt><span class=\"flag\">{}</span> {n} row(s)</dt><dd>{}</dd>",
            limiter,
            esc(limiter.explanation())
        );
    }
    h.push_str("</dl>\n");
}

fn flags_section(h: &mut String, rows: &[Row<'_>]) {
    h.push_str("<h2 id=\"flags\">Flags</h2>\n");
    h.push_str(
        "<p class=\"note\">Each flag is computed from what a cell recorded and travels with its number \
         in every table and chart (a red ring on the point).</p>\n",
    );
    let mut used = String::new();
    let mut unused = String::new();
    for (f, why) in EXPLANATIONS {
        let hits: Vec<String> = rows
            .iter()
            .filter(|r| r.flags.iter().any(|x| x == f))
            .map(|r| format!("{} c={}", esc(&r.server), r.concurrency))
            .collect();
        if hits.is_empty() {
            let _ = writeln!(unused, "<dt>{}</dt><dd>{}</dd>", esc(f), esc(why));
        } else {
            let _ = writeln!(
                used,
                "<dt><span class=\"flag\">{}</span> {} row(s): {}</dt><dd>{}</dd>",
                esc(f),
                hits.len(),
                hits.join(", "),
                esc(why)
            );
        }
    }
    if used.is_empty() {
        h.push_str("<p>No flags were raised in this run.</p>\n");
    } else {
        let _ = writeln!(h, "<dl class=\"flags\">\n{used}</dl>");
    }
    if !unused.is_empty() {
        let _ = writeln!(
            h,
            "<details><summary>Flags not raised in this run</summary>\n<dl class=\"flags unused\">\n{unused}</dl>\n</details>"
        );
    }
}

/// The nine classic columns for one server's sweep, with the same marks as `report.md`.
fn baseline_table(h: &mut String, t: &Table<'_>) {
    let _ = writeln!(
        h,
        "<h3>{} ({}) — {}</h3>\n<div class=\"scroll\"><table class=\"baseline\">\n<thead><tr>{}</tr></thead>\n<tbody>",
        esc(&t.server),
        esc(&t.model),
        series_html(&t.series),
        BASELINE_COLUMNS
            .iter()
            .map(|c| format!("<th>{}</th>", esc(c)))
            .collect::<String>()
    );
    let mut notes = Vec::new();
    for (i, row) in t.rows.iter().enumerate() {
        let c = row.representative;
        let tr = if row.flags.is_empty() {
            "<tr>"
        } else {
            "<tr class=\"flagged\">"
        };
        let Some(ab) = c.ab.as_ref().filter(|_| c.status == Status::Ok) else {
            let reason = c.reason.as_deref().unwrap_or("no result");
            let _ = writeln!(
                h,
                "{tr}<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"bad\">✗ failed</td><td class=\"n\">—</td><td class=\"n\">—</td><td class=\"n\">—</td><td>— {}</td><td class=\"n\">—</td><td class=\"n\">—</td></tr>",
                i + 1,
                row.concurrency,
                flag_badges(&row.flags)
            );
            notes.push(format!("c={}: failed: {}", row.concurrency, esc(reason)));
            continue;
        };
        let non2xx = ab.non_2xx.unwrap_or(0);
        let failed = ab.failed_requests.unwrap_or(0);
        let complete = if non2xx > 0 {
            format!(
                "<td class=\"n warn\">{} ⚠ {non2xx} non-2xx</td>",
                int(ab.complete_requests)
            )
        } else {
            format!("<td class=\"n\">{}</td>", int(ab.complete_requests))
        };
        let failed_s = if failed > 0 {
            format!("<td class=\"n bad\">{failed} ⚠</td>")
        } else {
            format!("<td class=\"n\">{}</td>", int(ab.failed_requests))
        };
        let rps = match (row.rps, row.ci95) {
            (Some(s), Some((lo, hi))) => format!(
                "{:.2} <span class=\"spread\">[{lo:.2}–{hi:.2}]</span>",
                s.median
            ),
            (Some(s), None) if s.n > 1 => format!(
                "{:.2} <span class=\"spread\">[{:.2}–{:.2}]</span>",
                s.median, s.min, s.max
            ),
            _ => num(ab.requests_per_second, 2),
        };
        let rps = if row.flags.is_empty() {
            rps
        } else {
            format!("{rps} {}", flag_badges(&row.flags))
        };
        let _ = writeln!(
            h,
            "{tr}<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>{complete}{failed_s}<td class=\"n\">{}</td><td class=\"n\">{rps}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            i + 1,
            row.concurrency,
            num(ab.time_taken_s, 3),
            int(ab.total_transferred),
            num(ab.time_per_request_ms, 3),
            num(ab.transfer_rate_kbps, 2),
        );
    }
    h.push_str("</tbody></table></div>\n");
    let reps = t.rows.iter().map(|r| r.cells.len()).max().unwrap_or(1);
    if reps > 1 {
        let _ = writeln!(
            h,
            "<p class=\"note\">Request per second: median of up to {reps} repetitions [95% confidence interval of the median with 6 or more, else min–max]; the other columns are from the median repetition.</p>"
        );
    }
    for n in notes {
        let _ = writeln!(h, "<p class=\"note\">{n}</p>");
    }
}

fn details_table(h: &mut String, t: &Table<'_>) {
    let _ = write!(
        h,
        "<details><summary>Evidence for {} — latency, connect vs processing, resources</summary>\n<div class=\"scroll\"><table>\n<thead><tr>",
        esc(&t.server)
    );
    for col in view::EVIDENCE_COLUMNS {
        let _ = write!(h, "<th>{}</th>", esc(col));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        let cells = row.evidence();
        let (flags, numbers) = cells.split_last().expect("the evidence has columns");
        h.push_str("<tr>");
        for cell in numbers {
            let _ = write!(h, "<td class=\"n\">{}</td>", esc(cell));
        }
        let flags = if row.flags.is_empty() {
            esc(flags)
        } else {
            flag_badges(&row.flags)
        };
        let _ = writeln!(h, "<td>{flags}</td></tr>");
    }
    h.push_str("</tbody></table></div>\n</details>\n");
}

fn comparison(h: &mut String, rows: &[Row<'_>]) {
    h.push_str("<h2 id=\"comparison\">Comparison</h2>\n");
    for series in view::series(rows) {
        let grid = view::Grid::of(rows, &series);
        let (servers, levels) = (grid.servers.clone(), grid.levels.clone());
        let _ = writeln!(
            h,
            "<h3>{}</h3>\n<div class=\"scroll\"><table>\n<thead><tr><th>Concurrency</th>",
            series_html(&series)
        );
        for s in &servers {
            let _ = write!(
                h,
                "<th>{s} req/s</th><th>{s} p99 ms</th><th>{s} limited by</th>",
                s = esc(s)
            );
        }
        if servers.len() == 2 {
            let _ = write!(h, "<th>{} / {}</th>", esc(servers[0]), esc(servers[1]));
        }
        h.push_str("</tr></thead>\n<tbody>\n");
        for c in levels {
            let _ = write!(h, "<tr><td class=\"n\">{c}</td>");
            for s in &servers {
                let row = grid.at(s, c);
                let rps = row.and_then(|r| r.rps).map(|s| s.median);
                let flags = row
                    .filter(|r| !r.flags.is_empty())
                    .map(|r| format!(" {}", flag_badges(&r.flags)))
                    .unwrap_or_default();
                let _ = write!(
                    h,
                    "<td class=\"n\">{}{flags}</td><td class=\"n\">{}</td><td>{}</td>",
                    num(rps, 2),
                    num(row.and_then(|r| r.p("99")), 2),
                    row.and_then(|r| r.verdict)
                        .map_or("—", |v| v.limiter.as_str())
                );
            }
            if servers.len() == 2 {
                let ratio = view::Ratio::of(grid.at(servers[0], c), grid.at(servers[1], c));
                let class = if matches!(ratio, view::Ratio::NotComparable(_)) {
                    "n warn"
                } else {
                    "n"
                };
                let _ = write!(h, "<td class=\"{class}\">{}</td>", esc(&ratio.text()));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody></table></div>\n");
        for note in view::comparison_notes(&grid.rows) {
            let _ = writeln!(h, "<p class=\"note warn\">{}</p>", esc(&note));
        }
    }
}

fn failures(h: &mut String, run: &Run) {
    if !has_failures(run) {
        return;
    }
    let r = &run.results;
    h.push_str("<h2 id=\"failures\">Failures</h2>\n<ul>\n");
    for f in &r.server_failures {
        let _ = writeln!(
            h,
            "<li>server <code>{}</code> (group {}): {}</li>",
            esc(&f.server),
            f.group,
            esc(&f.reason)
        );
    }
    for c in r.cells.iter().filter(|c| c.status == Status::Failed) {
        let _ = writeln!(
            h,
            "<li>cell <code>{}</code>: {} — <a href=\"{}\">stdout</a> · <a href=\"{}\">stderr</a></li>",
            esc(&c.id),
            esc(c.reason.as_deref().unwrap_or("no result")),
            href(&c.raw_stdout),
            href(&c.raw_stderr)
        );
    }
    h.push_str("</ul>\n");
}

fn raw_links(h: &mut String, run: &Run) {
    h.push_str("<h2 id=\"raw\">Raw ab output</h2>\n");
    h.push_str(
        "<p class=\"note\">Every number above comes from these files (and <code>results.json</code>, \
         which holds all of them parsed). Links are relative to the run folder.</p>\n",
    );
    h.push_str(
        "<div class=\"scroll\"><table>\n<thead><tr><th>cell</th><th>status</th><th>output</th><th>command</th></tr></thead>\n<tbody>\n",
    );
    for c in &run.results.cells {
        let status = match c.status {
            Status::Ok if c.flags.is_empty() => "ok".to_string(),
            Status::Ok => flag_badges(&c.flags),
            Status::Failed => "<span class=\"flag\">failed</span>".to_string(),
        };
        let _ = writeln!(
            h,
            "<tr><td><code>{}</code></td><td>{status}</td><td class=\"links\"><a href=\"{}\">stdout</a> · <a href=\"{}\">stderr</a></td><td class=\"cmd\"><code>{}</code></td></tr>",
            esc(&c.id),
            href(&c.raw_stdout),
            href(&c.raw_stderr),
            esc(&c.command.join(" "))
        );
    }
    h.push_str("</tbody></table></div>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn links_stay_relative_and_encoded() {
        assert_eq!(
            href("raw/g0-a-c1-r0.stdout.txt"),
            "raw/g0-a-c1-r0.stdout.txt"
        );
        assert_eq!(href("/etc/x y\"<"), "etc/x%20y%22%3C");
        assert_eq!(href("javascript:alert(1)"), "javascript%3Aalert%281%29");
    }
}
