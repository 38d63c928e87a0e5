//! The report layer rendered from fixture runs: SVG charts, `report.md` and `report.html`
//! (which must show the same tables; with Chromium on PATH, a real browser reads the page),
//! and `lab compare`.
//!
//! The fixture runs in `tests/fixtures/runs/` are hand-made but follow the on-disk schema
//! exactly (they are written by `make_fixtures.py` there) and are read with
//! `judge::load` (as `lab report` does), so a schema change breaks these tests visibly.

use std::collections::BTreeMap;
mod common;
use common::copy_dir;

use std::path::{Path, PathBuf};
use std::process::Command;

use loadgen::meta;
use loadgen::record::Flag;
use loadgen::record::{self as results, Status, ToolReport};
use loadgen::report::compare::{self, Basis, Change, Comparison, Format};
use loadgen::report::markup::escape_html as esc;
use loadgen::report::model::BASELINE_COLUMNS;
use loadgen::report::{self, charts, html, markdown, Report, Run};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/runs")
        .join(name)
}

fn load(name: &str) -> Run {
    Run::load(&fixture(name)).unwrap_or_else(|e| panic!("fixture {name}: {e:#}"))
}

fn md_of(run: &Run) -> String {
    markdown::render(&Report::of(run))
}

fn html_of(run: &Run) -> String {
    html::render(&Report::of(run)).unwrap()
}

fn charts_of(run: &Run) -> Vec<charts::Chart> {
    charts::render(&Report::of(run)).unwrap()
}

/// A copy of a fixture run in a temporary folder, to write reports into.
fn copy_run(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join(name);
    copy_dir(&fixture(name), &dst);
    (tmp, dst)
}

// ---------------------------------------------------------------------------------------
// A small XML well-formedness checker (enough for SVG): tags nest and close, attributes are
// quoted, `&` starts a known entity, one root element.

#[derive(Debug)]
struct Element {
    name: String,
    attrs: BTreeMap<String, String>,
    /// Text directly inside the element, entities decoded.
    text: String,
}

fn decode_entities(s: &str, at: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..]
            .find(';')
            .ok_or_else(|| format!("unterminated entity in {at}"))?;
        let ent = &rest[i + 1..i + end];
        let c = match ent {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| format!("bad entity &{e}; in {at}"))?,
            e if e.starts_with('#') => e[1..]
                .parse::<u32>()
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| format!("bad entity &{e}; in {at}"))?,
            e => return Err(format!("unknown entity &{e}; in {at}")),
        };
        out.push(c);
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn parse_xml(doc: &str) -> Result<Vec<Element>, String> {
    let mut elements: Vec<Element> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    let mut roots = 0;
    let mut rest = doc;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            let text = decode_entities(rest, "trailing text")?;
            if !text.trim().is_empty() {
                return Err(format!("text after the root element: {text:?}"));
            }
            break;
        };
        let text = decode_entities(&rest[..lt], "text")?;
        match stack.last() {
            Some(&i) => elements[i].text.push_str(&text),
            None if !text.trim().is_empty() => {
                return Err(format!("text outside the root: {text:?}"))
            }
            None => {}
        }
        rest = &rest[lt..];
        if let Some(r) = rest.strip_prefix("<!--") {
            let end = r.find("-->").ok_or("unterminated comment")?;
            rest = &r[end + 3..];
            continue;
        }
        if rest.starts_with("<?") {
            let end = rest
                .find("?>")
                .ok_or("unterminated processing instruction")?;
            rest = &rest[end + 2..];
            continue;
        }
        if rest.starts_with("<!") {
            let end = rest.find('>').ok_or("unterminated declaration")?;
            rest = &rest[end + 1..];
            continue;
        }
        if let Some(r) = rest.strip_prefix("</") {
            let end = r.find('>').ok_or("unterminated end tag")?;
            let name = r[..end].trim();
            let open = stack
                .pop()
                .ok_or_else(|| format!("</{name}> closes nothing"))?;
            if elements[open].name != name {
                return Err(format!("</{name}> closes <{}>", elements[open].name));
            }
            rest = &r[end + 1..];
            continue;
        }
        // A start tag: name, attributes, `>` or `/>`.
        let mut chars = rest[1..].char_indices().peekable();
        let mut name_end = 0;
        while let Some(&(i, c)) = chars.peek() {
            if c.is_whitespace() || c == '>' || c == '/' {
                name_end = i;
                break;
            }
            chars.next();
        }
        let name = &rest[1..1 + name_end];
        if name.is_empty() || !name.chars().next().unwrap().is_ascii_alphabetic() {
            return Err(format!(
                "bad tag name near {:?}",
                &rest[..rest.len().min(40)]
            ));
        }
        let mut pos = 1 + name_end;
        let bytes = rest.as_bytes();
        let mut attrs = BTreeMap::new();
        let self_closing;
        loop {
            while pos < bytes.len() && (bytes[pos] as char).is_whitespace() {
                pos += 1;
            }
            if pos >= bytes.len() {
                return Err(format!("unterminated <{name}>"));
            }
            if rest[pos..].starts_with("/>") {
                self_closing = true;
                pos += 2;
                break;
            }
            if bytes[pos] == b'>' {
                self_closing = false;
                pos += 1;
                break;
            }
            let eq = rest[pos..]
                .find('=')
                .ok_or_else(|| format!("attribute without value in <{name}>"))?;
            let aname = rest[pos..pos + eq].trim().to_string();
            if aname.is_empty()
                || aname.contains(|c: char| c.is_whitespace() || c == '<' || c == '>')
            {
                return Err(format!("bad attribute name {aname:?} in <{name}>"));
            }
            pos += eq + 1;
            let quote = bytes.get(pos).copied().ok_or("eof in attribute")?;
            if quote != b'"' && quote != b'\'' {
                return Err(format!("unquoted attribute {aname} in <{name}>"));
            }
            let close = rest[pos + 1..]
                .find(quote as char)
                .ok_or_else(|| format!("unterminated attribute {aname} in <{name}>"))?;
            let raw = &rest[pos + 1..pos + 1 + close];
            if raw.contains('<') {
                return Err(format!("`<` in attribute {aname} of <{name}>"));
            }
            if attrs
                .insert(aname.clone(), decode_entities(raw, &aname)?)
                .is_some()
            {
                return Err(format!("duplicate attribute {aname} in <{name}>"));
            }
            pos += close + 2;
        }
        if stack.is_empty() {
            roots += 1;
            if roots > 1 {
                return Err("more than one root element".into());
            }
        }
        elements.push(Element {
            name: name.to_string(),
            attrs,
            text: String::new(),
        });
        if !self_closing {
            stack.push(elements.len() - 1);
        }
        rest = &rest[pos..];
    }
    if let Some(&open) = stack.last() {
        return Err(format!("<{}> is never closed", elements[open].name));
    }
    if roots != 1 {
        return Err("no root element".into());
    }
    Ok(elements)
}

#[test]
fn xml_checker_rejects_broken_documents() {
    assert!(parse_xml("<svg><g></g></svg>").is_ok());
    assert!(parse_xml("<svg a=\"1 &amp; 2\"><text>x &lt; y</text></svg>").is_ok());
    assert!(parse_xml("<svg><g></svg>").is_err());
    assert!(parse_xml("<svg a=1></svg>").is_err());
    assert!(parse_xml("<svg><text>a & b</text></svg>").is_err());
    assert!(parse_xml("<svg></svg><svg></svg>").is_err());
    assert!(parse_xml("<svg>").is_err());
}

// ---------------------------------------------------------------------------------------

#[test]
fn fixtures_follow_the_results_schema() {
    for (name, cells, reps) in [
        ("a-baseline", 2 * 4 * 3, 3),
        ("b-thread-2cpu", 2 * 4 * 3, 3),
        ("c-keepalive", 2 * 3 * 2, 1),
    ] {
        let dir = fixture(name);
        // Written by schema 1 (`ab` beside each cell), read in today's shape.
        let r = loadgen::judge::load(&dir).unwrap();
        assert_eq!(r.schema_version, results::SCHEMA_VERSION, "{name}");
        assert_eq!(r.cells.len(), cells, "{name}");
        assert_eq!(r.config["repeat"], reps, "{name}");
        let meta = meta::load_meta(&dir).unwrap_or_else(|| panic!("{name}: meta.json"));
        assert_eq!(meta.run_id, r.run_id);
        // Raw outputs exist for a few cells, and the parser agrees with results.json.
        let with_raw: Vec<_> = r
            .cells
            .iter()
            .filter(|c| dir.join(&c.raw_stdout).exists())
            .collect();
        assert!(!with_raw.is_empty(), "{name} has raw outputs");
        for c in with_raw {
            let text = std::fs::read_to_string(dir.join(&c.raw_stdout)).unwrap();
            let ab = match &c.report {
                Some(ToolReport::Ab(ab)) => Some(ab),
                _ => None,
            };
            match (ab, loadgen::ab::parse(&text)) {
                (Some(ab), Ok(parsed)) => {
                    let m = c.measurement().unwrap();
                    assert_eq!(m.rps, ab.requests_per_second, "{}", c.id);
                    assert_eq!(
                        parsed.requests_per_second, ab.requests_per_second,
                        "{}",
                        c.id
                    );
                    assert_eq!(parsed.failed_requests, ab.failed_requests, "{}", c.id);
                    assert_eq!(parsed.percentiles, ab.percentiles, "{}", c.id);
                    assert_eq!(parsed.connection_times, ab.connection_times, "{}", c.id);
                }
                (None, Err(_)) => assert_eq!(c.status, Status::Failed),
                (ab, parsed) => panic!("{}: results.json {ab:?} vs raw {parsed:?}", c.id),
            }
        }
    }
}

#[test]
fn charts_are_valid_svg_with_one_line_per_server() {
    let run = load("a-baseline");
    let list = charts_of(&run);
    let names: Vec<&str> = list.iter().map(|c| c.file_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "rps-g0-hello-noka.svg",
            "latency-g0-hello-noka.svg",
            "connect-g0-hello-noka.svg",
            "resources-g0-hello-noka.svg"
        ]
    );
    let servers = ["async", "thread"];
    for chart in &list {
        let els = parse_xml(&chart.svg)
            .unwrap_or_else(|e| panic!("{} is not well-formed: {e}", chart.file_name));
        assert_eq!(els[0].name, "svg");
        assert!(els[0].attrs.contains_key("viewBox"));
        let texts: Vec<&str> = els
            .iter()
            .filter(|e| e.name == "text")
            .map(|e| e.text.trim())
            .collect();
        // Title says what was run.
        assert!(
            texts.iter().any(|t| t.contains("cpus=1 memory=256m")
                && t.contains("keep-alive off")
                && t.contains("1000 requests")),
            "{}: {texts:?}",
            chart.file_name
        );
        assert!(texts.iter().any(|t| t.contains("concurrency (ab -c)")));
        for (i, s) in servers.iter().enumerate() {
            // Exactly one legend entry per server ...
            assert_eq!(
                texts.iter().filter(|t| **t == *s).count(),
                1,
                "{}: legend of {s}: {texts:?}",
                chart.file_name
            );
            // ... and a 2-px line in its colour in every panel (+ the legend swatch).
            let color = charts::color_hex(charts::server_color(i));
            let lines = els
                .iter()
                .filter(|e| {
                    e.name == "polyline"
                        && e.attrs.get("stroke") == Some(&color)
                        && e.attrs.get("stroke-width").map(String::as_str) == Some("2")
                })
                .count();
            let panels = match chart.file_name.split('-').next().unwrap() {
                "rps" => 1,
                "latency" => 4,
                "connect" => 2,
                "resources" => 3,
                other => panic!("unexpected chart {other}"),
            };
            assert_eq!(lines, panels + 1, "{}: lines of {s}", chart.file_name);
        }
    }

    // The req/s chart: flagged rows get a red ring (plus one in the legend) and their
    // letters; repeated rows get min–max bars; the y axis has units.
    let rps = parse_xml(&list[0].svg).unwrap();
    let red = charts::color_hex(charts::FLAG_RED);
    let rows = loadgen::report::model::rows::rows(&run.results);
    let flagged = rows
        .iter()
        .filter(|r| !r.flags.is_empty() && r.rps.is_some())
        .count();
    assert_eq!(flagged, 3, "fixture: async c=100 and c=1000, thread c=1000");
    let rings = rps
        .iter()
        .filter(|e| e.name == "circle" && e.attrs.get("stroke") == Some(&red))
        .count();
    assert_eq!(rings, flagged + 1);
    let texts: Vec<&str> = rps
        .iter()
        .filter(|e| e.name == "text")
        .map(|e| e.text.trim())
        .collect();
    assert!(
        texts.contains(&"ETF"),
        "thread c=1000: errors, cpu-throttled, failed: {texts:?}"
    );
    assert!(texts
        .iter()
        .any(|t| t.contains("E errors") && t.contains("R connect-retries")));
    assert!(texts
        .iter()
        .any(|t| t.contains("requests per second [#/sec]")));
    assert!(texts.iter().any(|t| t.contains("min–max of 3 repetitions")));
}

#[test]
fn one_chart_set_per_series_when_the_run_sweeps() {
    let run = load("c-keepalive");
    let list = charts_of(&run);
    assert_eq!(list.len(), 8);
    for chart in &list {
        parse_xml(&chart.svg).unwrap_or_else(|e| panic!("{}: {e}", chart.file_name));
    }
    assert!(list.iter().any(|c| c.file_name == "rps-g0-hello-ka.svg"));
    assert!(list.iter().any(|c| c.file_name == "rps-g0-hello-noka.svg"));
    // One repetition: no error bars in the legend.
    assert!(!list[0].svg.contains("repetitions"));
}

#[test]
fn write_all_writes_report_html_and_charts_and_drops_stale_charts() {
    let (_tmp, dir) = copy_run("a-baseline");
    std::fs::create_dir_all(dir.join("charts")).unwrap();
    std::fs::write(dir.join("charts/rps-g9-gone-noka.svg"), "<svg/>").unwrap();
    let run = Run::load(&dir).unwrap();
    let written = report::write_all(&run).unwrap();
    for f in [
        "report.html",
        "report.md",
        "charts/rps-g0-hello-noka.svg",
        "charts/resources-g0-hello-noka.svg",
    ] {
        assert!(written.contains(&dir.join(f)), "{f} in {written:?}");
        assert!(dir.join(f).exists(), "{f}");
    }
    assert!(!dir.join("charts/rps-g9-gone-noka.svg").exists());
}

#[test]
fn report_html_is_self_contained_and_keeps_the_baseline_columns() {
    let run = load("a-baseline");
    let page = html_of(&run);
    assert!(page.starts_with("<!DOCTYPE html>"));
    for col in BASELINE_COLUMNS {
        assert!(
            page.contains(&format!("<th>{}</th>", esc(col))),
            "column {col}"
        );
    }
    assert_eq!(page.matches("<svg").count(), 4, "the four charts inline");
    let lower = page.to_ascii_lowercase();
    for bad in ["<script", "<link", "<img", "<iframe", "@import", "url("] {
        assert!(!lower.contains(bad), "{bad}");
    }
    for attr in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "href=\"//",
        "src=\"//",
    ] {
        assert!(!lower.contains(attr), "external reference {attr}");
    }
    // Relative links to every raw output and every chart file.
    for c in &run.results.cells {
        assert!(
            page.contains(&format!("href=\"{}\"", c.raw_stdout)),
            "{}",
            c.id
        );
        assert!(
            page.contains(&format!("href=\"{}\"", c.raw_stderr)),
            "{}",
            c.id
        );
    }
    assert!(page.contains("href=\"charts/rps-g0-hello-noka.svg\""));
    // The marks of report.md: failed requests, a failed cell, median [min–max], flags.
    assert!(page.contains("37 ⚠"), "thread c=1000 failed requests");
    assert!(page.contains("⚠ 1 of 8 rows"), "the banner");
    assert!(page.contains("<span class=\"spread\">["));
    assert!(page.contains(">connect-retries</span>"));
    for flag in Flag::ALL {
        assert!(
            page.contains(&esc(flag.explanation())),
            "explanation of {flag}"
        );
    }
    assert!(page.contains("Intel(R) Xeon(R)"), "setup from meta.json");
}

#[test]
fn report_html_escapes_text_from_the_run() {
    let (_tmp, dir) = copy_run("a-baseline");
    let mut r = results::load(&dir).unwrap();
    r.name = "<b>bold</b>".into();
    r.cells[0].reason = Some("<script>alert(1)</script> & more".into());
    r.cells[0].status = Status::Failed;
    r.cells[0].command.push("'\"><img src=x>".into());
    results::write_json_atomic(&dir.join("results.json"), &r).unwrap();
    let page = html_of(&Run::load(&dir).unwrap());
    assert!(!page.contains("<script>alert"));
    assert!(!page.contains("<b>bold</b>"));
    assert!(!page.contains("<img src=x>"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"));
    // The charts inline stay well-formed with a hostile name in their titles.
    for chart in charts_of(&Run::load(&dir).unwrap()) {
        parse_xml(&chart.svg).unwrap();
    }
}

/// A browser on PATH, if any; in CI (`CI=true`) there must be one.
fn browser() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if found.is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("chromium is not on PATH, and CI=true: the browser check must run in CI");
        }
        eprintln!("skipped: chromium is not on PATH (set CI=true to make this a failure)");
    }
    found
}

/// Read report.html in headless Chromium when it is installed (CI installs it): the text
/// of the page the browser built must carry the run id, the table headers and the numbers.
#[test]
fn report_html_reads_right_in_a_browser() {
    let Some(browser) = browser() else {
        return;
    };
    let (tmp, dir) = copy_run("a-baseline");
    let run = Run::load(&dir).unwrap();
    report::write_all(&run).unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--dump-dom",
        ])
        .arg(format!(
            "--user-data-dir={}",
            tmp.path().join("profile").display()
        ))
        .arg(format!("file://{}", dir.join("report.html").display()))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains("</table>"),
        "no page from chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = page_text(&dom);
    assert!(text.contains(&run.results.run_id), "run id");
    assert!(text.contains("Lab report: baseline"));
    let report = Report::of(&run);
    for t in model_tables(&report) {
        for col in &t.columns {
            assert!(text.contains(col.as_str()), "header {col}");
        }
        for row in &t.rows {
            for cell in &row.cells {
                let figure = cell.text.to_plain();
                assert!(text.contains(figure.trim()), "{figure:?} not on the page");
            }
        }
    }
    assert!(
        text.contains("2297.22 [2213.63–2380.80]"),
        "thread c=1000 req/s"
    );
    assert!(text.contains("— (loadgen-bound)") || text.contains("3.40×"));
}

// ---------------------------------------------------------------------------------------
// Markdown and HTML render one model: the same tables, the same figures.

/// Every table of the model, in document order.
fn model_tables<'r>(r: &'r Report<'_>) -> Vec<&'r loadgen::report::doc::Table> {
    let mut v: Vec<&loadgen::report::doc::Table> = Vec::new();
    for s in &r.sweeps {
        v.push(&s.baseline);
        v.push(&s.evidence);
    }
    v.extend(r.comparisons.iter().map(|c| &c.table));
    v.push(&r.raw);
    v
}

fn decode(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#124;", "|")
        .replace("&#96;", "`")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// Tags replaced by spaces, entities decoded, `<style>` dropped, whitespace collapsed.
fn page_text(html: &str) -> String {
    let mut rest = html;
    let mut out = String::new();
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        out.push(' ');
        let tail = &rest[i..];
        let end = if tail.starts_with("<style") {
            tail.find("</style>").map(|e| e + "</style>".len())
        } else {
            tail.find('>').map(|e| e + 1)
        };
        rest = &tail[end.unwrap_or(tail.len())..];
    }
    out.push_str(rest);
    decode(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The words and numbers of a cell, without markup and punctuation.
fn tokens(cell: &str) -> Vec<String> {
    cell.split(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
        .map(|t| t.trim_matches(|c| c == '.' || c == '-'))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

type Tables = Vec<(Vec<String>, Vec<Vec<String>>)>;

/// A Markdown table line's cells, split on the pipes that are not escaped.
fn md_cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|');
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut cells = vec![String::new()];
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cells.last_mut().unwrap().push(c);
                cells.last_mut().unwrap().extend(chars.next());
            }
            '|' => cells.push(String::new()),
            c => cells.last_mut().unwrap().push(c),
        }
    }
    cells
}

/// What a reader of rendered Markdown sees in a cell: links as their text, no emphasis,
/// escapes resolved.
fn md_text(cell: &str) -> String {
    let mut s = String::new();
    let mut rest = cell;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        match c {
            '\\' => {
                if let Some(n) = rest.chars().next() {
                    s.push(n);
                    rest = &rest[n.len_utf8()..];
                }
            }
            '*' | '`' => {}
            // `[text](link)`: the text stays, the link goes.
            '[' => {
                let link = rest
                    .find("](")
                    .and_then(|m| Some((m, m + rest[m..].find(')')?)));
                match link {
                    Some((m, end)) => {
                        s.push_str(&md_text(&rest[..m]));
                        rest = &rest[end + 1..];
                    }
                    None => s.push(c),
                }
            }
            c => s.push(c),
        }
    }
    page_text(&s)
}

/// Does `hay` hold the words and numbers of `needle`, in order and together?
fn has_tokens(hay: &str, needle: &str) -> bool {
    let (hay, needle) = (tokens(hay), tokens(needle));
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle.as_slice())
}

fn md_tables(md: &str) -> Tables {
    let mut out: Tables = Vec::new();
    let lines: Vec<&str> = md.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].starts_with('|') && lines.get(i + 1).is_some_and(|l| l.starts_with("|---")) {
            let header = md_cells(lines[i]).iter().map(|c| md_text(c)).collect();
            let mut rows = Vec::new();
            i += 2;
            while i < lines.len() && lines[i].starts_with('|') {
                rows.push(md_cells(lines[i]).iter().map(|c| md_text(c)).collect());
                i += 1;
            }
            out.push((header, rows));
        }
        i += 1;
    }
    out
}

/// The tables of an HTML page that have a header row.
fn html_tables(page: &str) -> Tables {
    let between = |s: &str, open: &str, close: &str| -> Vec<String> {
        s.split(open)
            .skip(1)
            .filter_map(|p| p.split_once(close).map(|(a, _)| a.to_string()))
            .collect()
    };
    let cell_texts = |row: &str, tag: &str| -> Vec<String> {
        row.split(&format!("<{tag}"))
            .skip(1)
            .map(|c| {
                let c = c.split_once('>').map_or("", |(_, rest)| rest);
                page_text(c.split(&format!("</{tag}>")).next().unwrap_or(""))
            })
            .collect()
    };
    between(page, "<table>", "</table>")
        .iter()
        .filter(|t| t.contains("<thead>"))
        .map(|t| {
            let header = cell_texts(&between(t, "<thead>", "</thead>")[0], "th");
            let body = between(t, "<tbody>", "</tbody>").concat();
            let rows = body
                .split("<tr")
                .skip(1)
                .map(|r| cell_texts(r, "td"))
                .collect();
            (header, rows)
        })
        .collect()
}

/// The tables of report.md and report.html agree with each other and with the model:
/// the same headers, rows, figures, flags and verdicts.
fn assert_same_tables(run: &Run) {
    let report = Report::of(run);
    let md = md_tables(&markdown::render(&report));
    let page = html_tables(&html::render(&report).unwrap());
    let model = model_tables(&report);
    assert_eq!(md.len(), model.len(), "Markdown tables");
    assert_eq!(page.len(), model.len(), "HTML tables");
    for ((m, h), t) in md.iter().zip(&page).zip(&model) {
        assert_eq!(m.0, h.0, "headers");
        assert_eq!(m.0, t.columns, "headers of the model");
        assert_eq!(m.1.len(), t.rows.len(), "rows of {:?}", t.columns);
        assert_eq!(h.1.len(), t.rows.len(), "rows of {:?}", t.columns);
        for ((mr, hr), tr) in m.1.iter().zip(&h.1).zip(&t.rows) {
            assert_eq!(mr.len(), t.columns.len(), "{mr:?}");
            for ((mc, hc), tc) in mr.iter().zip(hr).zip(&tr.cells) {
                assert_eq!(tokens(mc), tokens(hc), "Markdown {mc:?} vs HTML {hc:?}");
                assert_eq!(tokens(mc), tokens(&tc.to_plain()), "{mc:?} vs the model");
            }
        }
    }
    // The terminal summary prints the same comparison rows.
    let term: Vec<Vec<String>> = report::terminal::summary(run).lines().map(tokens).collect();
    for c in &report.comparisons {
        for row in &c.table.rows {
            let want: Vec<String> = row
                .cells
                .iter()
                .flat_map(|c| tokens(&c.to_plain()))
                .collect();
            assert!(term.contains(&want), "terminal lacks {want:?}");
        }
    }
}

#[test]
fn markdown_and_html_show_the_same_tables() {
    for name in ["a-baseline", "b-thread-2cpu", "c-keepalive"] {
        assert_same_tables(&load(name));
    }
    // With verdicts, withheld ratios and 95% intervals too.
    let mut run = repeated("a-baseline", 8, 1.0, 0.02);
    set_verdict(&mut run, "async", loadgen::record::Limiter::Loadgen);
    set_verdict(&mut run, "thread", loadgen::record::Limiter::ServerCpu);
    assert_same_tables(&run);
    let md = md_of(&run);
    assert!(md.contains("— (loadgen-bound)") && md.contains("±"), "{md}");
}

#[test]
fn both_documents_show_the_whole_setup_including_a_background_load() {
    let mut run = load("a-baseline");
    run.results.config["background"] =
        serde_json::json!({"concurrency": 900, "path": "/sleep/1000", "keepalive": true});
    let report = Report::of(&run);
    assert!(report.lab.is_some(), "the recorded lab file reads typed");
    let (md, page) = (md_of(&run), html_of(&run));
    let page_text = page_text(&page);
    for (name, value) in &report.setup {
        let value = value.to_plain();
        assert!(md.contains(&format!("- {name}: ")), "{name} in report.md");
        assert!(
            page.contains(&format!("<th>{}</th>", esc(name))),
            "{name} in report.html"
        );
        assert!(has_tokens(&page_text, &value), "{value}");
        assert!(has_tokens(&md_text(&md), &value), "{value}");
    }
    for doc in [&md, &page_text] {
        assert!(
            doc.contains("a second ab held 900 connections on") && doc.contains("/sleep/1000"),
            "background load"
        );
    }
}

#[test]
fn report_md_escapes_text_from_the_run() {
    let evil = "<script>alert(1)</script>";
    let (_tmp, dir) = copy_run("a-baseline");
    let mut r = results::load(&dir).unwrap();
    let path = format!("/{evil}a|b");
    for c in r.cells.iter_mut() {
        c.path = path.clone();
        if let Some(url) = c.command.last_mut() {
            url.push_str(&path);
        }
    }
    r.config["workloads"][0]["path"] = serde_json::json!(path);
    r.config["servers"][0]["args"] = serde_json::json!(["--log", format!("{evil}a|b`x`")]);
    for c in r
        .cells
        .iter_mut()
        .filter(|c| c.server == "thread" && c.concurrency == 10)
    {
        c.status = Status::Failed;
        c.measurement = None;
        c.report = None;
        c.reason = Some(format!("server said: {evil} a|b\nsecond line"));
    }
    results::write_json_atomic(&dir.join("results.json"), &r).unwrap();
    let run = Run::load(&dir).unwrap();
    let md = md_of(&run);
    assert!(!md.contains("<script"), "raw <script> in report.md:\n{md}");
    assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(md.contains("a\\|b") || md.contains("a&#124;b"));
    assert!(md.contains("server said: &lt;script&gt;alert(1)&lt;/script&gt; a\\|b second line"));
    // Every table keeps its shape: as many cells in each row as in its header.
    let tables = md_tables(&md);
    assert_eq!(tables.len(), model_tables(&Report::of(&run)).len());
    for (header, rows) in &tables {
        for row in rows {
            assert_eq!(row.len(), header.len(), "{header:?}: {row:?}");
        }
    }
    // A reader sees the text as written.
    assert!(tables
        .iter()
        .flat_map(|t| &t.1)
        .flatten()
        .any(|c| c.contains(&format!("{evil}a|b"))));
}

// ---------------------------------------------------------------------------------------
// The record: old results.json files load, and the lab file in them reads typed.

#[test]
fn stored_runs_load_and_their_lab_file_reads_typed() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut dirs: Vec<PathBuf> = ["a-baseline", "b-thread-2cpu", "c-keepalive"]
        .iter()
        .map(|n| fixture(n))
        .collect();
    for e in std::fs::read_dir(workspace.join("docs/findings")).unwrap() {
        let p = e.unwrap().path();
        if p.join("results.json").exists() {
            dirs.push(p);
        }
    }
    assert!(dirs.len() > 3, "findings runs: {dirs:?}");
    for dir in dirs {
        let run = Run::load(&dir).unwrap_or_else(|e| panic!("{}: {e:#}", dir.display()));
        let lab: loadgen::config::Lab = serde_json::from_value(run.results.config.clone())
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        assert_eq!(lab.name, run.results.name);
        assert_eq!(run.results.status, results::RunStatus::Complete);
        assert!(Report::of(&run).lab.is_some());
    }
}

#[test]
fn the_lab_file_records_as_before_and_reads_back() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for file in ["lab.yaml", "examples/idle-connections.yaml"] {
        let lab = loadgen::config::load(&workspace.join(file), 64).unwrap();
        let v = serde_json::to_value(&lab).unwrap();
        let back: loadgen::config::Lab = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), v, "{file}");
        // The recorded shape: the keys older records have.
        for k in [
            "name",
            "output",
            "repeat",
            "warmup",
            "pin",
            "servers",
            "resources",
            "loadgen",
            "workloads",
            "background",
        ] {
            assert!(v.get(k).is_some(), "{file}: {k}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// lab compare

#[test]
fn compare_finds_the_faster_thread_server_and_lists_one_sided_rows() {
    let a = load("a-baseline");
    let b = load("b-thread-2cpu");
    let c = compare::compare(&a, &b);
    assert_eq!(c.a, "20260301T101500Z-baseline");
    assert_eq!(c.b, "20260301T110000Z-thread-2cpu");
    assert_eq!(c.rows.len(), 6, "c = 1, 10, 100 for both servers");
    for conc in [10, 100] {
        let row = c
            .rows
            .iter()
            .find(|r| r.server == "thread" && r.concurrency == conc)
            .unwrap();
        assert!(row.significant, "{row:?}");
        assert_eq!(row.verdict, Change::Faster);
        assert!(row.rps_ratio.unwrap() > 1.3, "{row:?}");
        assert!(row.rps_change_pct.unwrap() > 30.0);
        assert_eq!(row.limits, "cpus=1→2 memory=256m pids=4096");
        assert_eq!(row.basis, Basis::Spread);
        assert!(row.p99_ratio.unwrap() < 1.0, "p99 improves too: {row:?}");
    }
    assert!(c
        .rows
        .iter()
        .filter(|r| r.server == "async")
        .all(|r| r.limits == "cpus=1 memory=256m pids=4096"));
    let only = |list: &[compare::OneSided]| {
        let mut v: Vec<(String, u32)> = list
            .iter()
            .map(|o| (o.server.clone(), o.concurrency))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        only(&c.only_in_a),
        [("async".into(), 1000), ("thread".into(), 1000)]
    );
    assert_eq!(
        only(&c.only_in_b),
        [("async".into(), 250), ("thread".into(), 250)]
    );
    assert!(
        c.config_changes
            .iter()
            .any(|ch| ch.starts_with("servers[thread].resources.cpus: null → 2")),
        "{:?}",
        c.config_changes
    );

    let md = compare::render(
        &fixture("a-baseline"),
        &fixture("b-thread-2cpu"),
        Format::Markdown,
    )
    .unwrap();
    assert!(md.contains("**faster** ▲"), "{md}");
    assert!(
        md.contains("## Only in A") && md.contains("## Only in B"),
        "{md}"
    );
    assert!(
        md.contains("| thread | cpus=1→2 memory=256m pids=4096 | 100 |"),
        "{md}"
    );
}

#[test]
fn compare_json_has_a_stable_shape_and_round_trips() {
    let text = compare::render(
        &fixture("a-baseline"),
        &fixture("b-thread-2cpu"),
        Format::Json,
    )
    .unwrap();
    let back: Comparison = serde_json::from_str(&text).unwrap();
    assert_eq!(
        back,
        compare::compare(&load("a-baseline"), &load("b-thread-2cpu"))
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for k in ["a", "b", "rows", "only_in_a", "only_in_b"] {
        assert!(v.get(k).is_some(), "{k}");
    }
    let row = &v["rows"][0];
    for k in [
        "server",
        "workload",
        "path",
        "keepalive",
        "limits",
        "concurrency",
        "a_rps",
        "b_rps",
        "rps_ratio",
        "rps_change_pct",
        "a_p99_ms",
        "b_p99_ms",
        "p99_ratio",
        "a_cpu_per_request_us",
        "b_cpu_per_request_us",
        "significant",
    ] {
        assert!(row.get(k).is_some(), "rows[].{k} in {row}");
    }
}

#[test]
fn compare_gives_each_rows_cpu_per_request_in_both_runs() {
    // The fixtures predate CPU seconds: no figure, and the column says so.
    let (a, b) = (load("a-baseline"), load("b-thread-2cpu"));
    let c = compare::compare(&a, &b);
    assert!(c.rows.iter().all(|r| r.a_cpu_per_request_us.is_none()));
    let md = compare::markdown(&c);
    assert!(md.contains("CPU µs/req (A → B)"), "{md}");
    // A at 30 µs per request, B at 33: +10%, in the JSON and the table.
    let (mut a, mut b) = (a, b);
    set_cpu_per_request(&mut a, |_| 30.0);
    set_cpu_per_request(&mut b, |_| 33.0);
    let c = compare::compare(&a, &b);
    let row = &c.rows[0];
    assert_eq!(
        (row.a_cpu_per_request_us, row.b_cpu_per_request_us),
        (Some(30.0), Some(33.0))
    );
    assert!(compare::markdown(&c).contains("30.0 → 33.0 (+10.0%)"));
}

#[test]
fn compare_uses_a_noise_floor_for_single_runs() {
    let a = load("c-keepalive");
    let c = compare::compare(&a, &a);
    assert_eq!(c.rows.len(), 12);
    assert!(c
        .rows
        .iter()
        .all(|r| !r.significant && r.verdict == Change::Same && r.basis == Basis::NoiseFloor));
    assert!(c.only_in_a.is_empty() && c.only_in_b.is_empty());
    assert!(c.config_changes.is_empty());

    // Against the repeated baseline: keep-alive-on rows exist only in c-keepalive.
    let c = compare::compare(&load("a-baseline"), &a);
    assert!(
        c.rows.iter().all(|r| r.basis == Basis::SpreadAndNoiseFloor),
        "{:?}",
        c.rows
    );
    assert!(c.only_in_b.iter().any(|o| o.keepalive));
    let md = compare::markdown(&c);
    assert!(md.contains("±5% noise floor"), "{md}");
}

// ---------------------------------------------------------------------------------------
// Verdicts and confidence intervals, as a reader sees them.

/// Give every cell of `server` the same verdict.
fn set_verdict(run: &mut Run, server: &str, limiter: loadgen::record::Limiter) {
    for c in run.results.cells.iter_mut().filter(|c| c.server == server) {
        c.verdict = Some(loadgen::record::Verdict {
            limiter,
            evidence: "server CPU 0.40 of 1 core (40%); ab CPU 0.97 of 1 core (97%)".into(),
            advice: Some("ab set this number, not the server: turn keep-alive on".into()),
        });
    }
}

#[test]
fn a_loadgen_bound_row_is_not_shown_as_a_difference_between_the_models() {
    let mut run = load("a-baseline");
    set_verdict(&mut run, "async", loadgen::record::Limiter::Loadgen);
    set_verdict(&mut run, "thread", loadgen::record::Limiter::ServerCpu);
    let md = md_of(&run);
    let page = html_of(&run);
    for doc in [&md, &page] {
        assert!(doc.contains("— (loadgen-bound)"), "the ratio is withheld");
        assert!(
            !doc.contains("×</td>") && !doc.contains("× |"),
            "no ratio shown"
        );
        assert!(doc.contains("these numbers are not a difference between the models"));
        assert!(doc.contains("Ab set this number, not the server: turn keep-alive on"));
        assert!(doc.contains("limited by"));
        assert!(doc.contains("What limited each row"));
    }
    // Both servers measure themselves: the ratio is back.
    set_verdict(&mut run, "async", loadgen::record::Limiter::ServerCpu);
    let md = md_of(&run);
    assert!(!md.contains("— (loadgen-bound)"));
    assert!(md.contains("× |"));
    // The terminal summary says it too.
    set_verdict(&mut run, "async", loadgen::record::Limiter::Loadgen);
    let term = report::terminal::summary(&run);
    assert!(term.contains("loadgen"));
    assert!(term.contains("not a difference between the models"));
}

#[test]
fn a_loadgen_bound_row_compares_the_servers_cpu_per_request_instead() {
    let mut run = load("a-baseline");
    set_verdict(&mut run, "async", loadgen::record::Limiter::Loadgen);
    set_verdict(&mut run, "thread", loadgen::record::Limiter::ServerCpu);
    // async spends 30 µs of CPU per request, thread 52 µs (the baseline's own figures).
    for c in run.results.cells.iter_mut() {
        let n = c.measurement.as_ref().and_then(|m| m.complete).unwrap_or(0) as f64;
        let us = if c.server == "async" { 30.0 } else { 52.0 };
        if let Some(r) = c.server_resources.as_mut() {
            r.cpu_s = n * us / 1e6;
        }
    }
    let md = md_of(&run);
    let page = html_of(&run);
    for doc in [&md, &page] {
        assert!(doc.contains("1.73× CPU/req (loadgen-bound)"), "52 ÷ 30");
        assert!(
            !doc.contains("— (loadgen-bound)"),
            "no row is left without a ratio"
        );
        assert!(doc.contains("× CPU/req: where a side"), "{doc}");
        assert!(doc.contains("async serves a request for less CPU"));
    }
}

/// Give every cell of `run` the server CPU time that makes `us(cell)` µs per request.
fn set_cpu_per_request(run: &mut Run, us: impl Fn(&loadgen::record::Cell) -> f64) {
    for c in run.results.cells.iter_mut() {
        let n = c.measurement.as_ref().and_then(|m| m.complete).unwrap_or(0) as f64;
        let cpu = n * us(c) / 1e6;
        if let Some(r) = c.server_resources.as_mut() {
            r.cpu_s = cpu;
        }
    }
}

#[test]
fn the_comparison_gives_each_servers_cpu_per_request_with_its_interval() {
    // Three repetitions: async at 28.5, 30 and 31.5 µs per request, thread at 52.
    let mut run = repeated("a-baseline", 3, 1.0, 0.0);
    set_cpu_per_request(&mut run, |c| {
        if c.server == "async" {
            [28.5, 30.0, 31.5][c.repetition as usize % 3]
        } else {
            52.0
        }
    });
    let md = md_of(&run);
    let page = html_of(&run);
    let term = report::terminal::summary(&run);
    for doc in [&md, &page, &term] {
        assert!(doc.contains("async CPU µs/req"), "{doc}");
        assert!(doc.contains("thread CPU µs/req"));
        assert!(doc.contains("30.0 (28.5–31.5)"), "median and min–max");
        assert!(doc.contains("52.0 (52.0–52.0)"));
        assert!(doc.contains("CPU µs/req: the server"));
    }
    // Six repetitions: the 95% interval of the median (order statistics: min..max at n = 6).
    let mut six = repeated("a-baseline", 6, 1.0, 0.0);
    set_cpu_per_request(&mut six, |c| 30.0 + c.repetition as f64);
    assert!(md_of(&six).contains("32.5 (30.0–35.0)"));
    // One repetition: no interval is made up, and a server without CPU figures reads `—`.
    let mut one = load("a-baseline");
    one.results.cells.retain(|c| c.repetition == 0);
    set_cpu_per_request(&mut one, |c| if c.server == "async" { 30.0 } else { 0.0 });
    let md = md_of(&one);
    let async_rows = one
        .results
        .cells
        .iter()
        .filter(|c| c.server == "async")
        .count();
    assert!(async_rows > 1);
    assert_eq!(
        md.matches("30.0 (n=1)").count(),
        async_rows,
        "one per async row"
    );
}

/// `a-baseline` with every cell repeated `n` times, req/s scaled by `factor` and spread
/// by ±`jitter` (a fraction) across the repetitions.
fn repeated(name: &str, n: u32, factor: f64, jitter: f64) -> Run {
    let mut run = load(name);
    let base: Vec<_> = run
        .results
        .cells
        .iter()
        .filter(|c| c.repetition == 0)
        .cloned()
        .collect();
    run.results.cells.clear();
    for c in base {
        for r in 0..n {
            let mut c = c.clone();
            c.repetition = r;
            let wiggle = 1.0 + jitter * (r as f64 / (n - 1) as f64 * 2.0 - 1.0);
            if let Some(m) = c.measurement.as_mut() {
                m.rps = m.rps.map(|v| v * factor * wiggle);
            }
            run.results.cells.push(c);
        }
    }
    run
}

#[test]
fn reports_show_the_95_percent_interval_and_compare_uses_it() {
    let a = repeated("a-baseline", 8, 1.0, 0.02);
    let md = md_of(&a);
    assert!(md.contains("(n=8)"), "the evidence shows the repetitions");
    assert!(md.contains("95% confidence interval"));
    // +10% with ±2% spreads: the intervals do not overlap.
    let b = repeated("a-baseline", 8, 1.10, 0.02);
    let c = compare::compare(&a, &b);
    assert!(
        c.rows.iter().all(|r| r.basis == Basis::Ci95),
        "{:?}",
        c.rows[0]
    );
    assert!(c
        .rows
        .iter()
        .all(|r| r.significant && r.verdict == Change::Faster));
    assert!(c
        .rows
        .iter()
        .all(|r| r.a_ci95.is_some() && r.b_ci95.is_some()));
    // +1% with ±5% spreads: they overlap, so it is not called.
    let a = repeated("a-baseline", 8, 1.0, 0.05);
    let b = repeated("a-baseline", 8, 1.01, 0.05);
    let c = compare::compare(&a, &b);
    assert!(c
        .rows
        .iter()
        .all(|r| !r.significant && r.verdict == Change::Same));
}

#[test]
fn compare_counts_only_good_answers() {
    // B answered as fast, but half of its answers were errors: it is not as fast.
    let a = repeated("a-baseline", 8, 1.0, 0.02);
    let mut b = repeated("a-baseline", 8, 1.0, 0.02);
    for c in b.results.cells.iter_mut() {
        if let Some(m) = c.measurement.as_mut() {
            m.non_2xx = m.complete.map(|n| n / 2);
        }
    }
    let c = compare::compare(&a, &b);
    for r in &c.rows {
        let (ra, rb) = (r.a_rps.unwrap(), r.b_rps.unwrap());
        // Half the answers were non-2xx (some fixture cells already had failures).
        assert!(
            (rb / ra - 0.5).abs() < 0.05,
            "good req/s halves: {ra} → {rb}"
        );
        assert_eq!(r.verdict, compare::Change::Slower, "{r:?}");
    }
}
