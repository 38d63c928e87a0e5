//! The steady window in every report format, rendered from two real runs:
//!
//! - `fixtures/runs/e-steady`: the lead's run `20261203-195817-steady` (lab at ff42886,
//!   `lab run` of a lab file with two servers at cpus 0.25, no `requests`: cells sized by
//!   the lab to 20 periods), trimmed to the c=10 and c=100 cells (and `loadgen.concurrency`
//!   to match), raw outputs of those cells without the per-request logs;
//! - `fixtures/runs/f-short-cells`: run `20261203-200433-short` (this branch, the same lab
//!   file with `requests: 1500` and concurrency 1, 10): every cell is `short-cell`, two
//!   without a whole second of steady load.
//!
//! Expected figures are read from the fixtures' records, not written here.

use std::path::{Path, PathBuf};

use loadgen::record::{Cell, Flag, Steady};
use loadgen::report::charts::{self, color_hex, server_color, FLAG_RED};
use loadgen::report::csv::Csv;
use loadgen::report::{html, markdown, terminal, Exporter, Report, Run};

fn load(name: &str) -> Run {
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/runs")
        .join(name);
    Run::load(&dir).unwrap_or_else(|e| panic!("fixture {name}: {e:#}"))
}

fn steady(c: &Cell) -> &Steady {
    c.steady
        .as_ref()
        .unwrap_or_else(|| panic!("{} has a steady window", c.id))
}

/// `results.csv` as a header and one map per row.
fn csv_rows(run: &Run) -> (Vec<String>, Vec<Vec<String>>) {
    let bytes = Csv.render(&Report::of(run)).unwrap();
    let mut r = ::csv::Reader::from_reader(bytes.as_slice());
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

const STEADY_COLUMNS: [&str; 8] = [
    "duration_s",
    "period_s",
    "periods_covered",
    "steady_window_s",
    "steady_requests",
    "server_cpu_per_request_us",
    "steady_server_throttled_share",
    "halves_change",
];

#[test]
fn csv_has_the_steady_columns_at_the_end_and_old_runs_leave_them_empty() {
    let run = load("e-steady");
    let (header, rows) = csv_rows(&run);
    // The steady columns, then the one added after them (`tool_processes`).
    let end = header.len() - 1;
    assert_eq!(header[end - STEADY_COLUMNS.len()..end], STEADY_COLUMNS);
    assert_eq!(header[end], "tool_processes");
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(rows.len(), run.results.cells.len());
    for (row, c) in rows.iter().zip(&run.results.cells) {
        let s = steady(c);
        let num = |name: &str| row[col(name)].parse::<f64>().unwrap();
        assert_eq!(Some(num("duration_s")), c.duration_s, "{}", c.id);
        assert_eq!(num("period_s"), s.period_s);
        assert_eq!(num("periods_covered"), s.periods_covered);
        assert_eq!(num("steady_window_s"), s.window_s());
        assert_eq!(row[col("steady_requests")], s.requests.to_string());
        assert_eq!(
            Some(num("steady_server_throttled_share")),
            s.server_throttled_share
        );
        assert_eq!(Some(num("halves_change")), s.halves_change);
        assert_eq!(row[col("tool_processes")], "1", "one ab process");
        assert_eq!(
            Some(num("server_cpu_per_request_us")),
            c.server_cpu_per_request_us()
        );
    }
    // A run recorded before steady windows: the columns are there, the steady ones empty.
    let (old_header, old_rows) = csv_rows(&load("a-baseline"));
    assert_eq!(old_header, header);
    for name in ["duration_s", "periods_covered", "steady_requests"] {
        assert!(old_rows.iter().all(|r| r[col(name)].is_empty()), "{name}");
    }
}

/// `short-cell (10 periods)`, from a cell's record.
fn short_label(c: &Cell) -> String {
    format!(
        "short-cell ({} periods)",
        steady(c).periods_covered.floor() as u64
    )
}

#[test]
fn short_cells_name_their_periods_wherever_a_rows_flags_are_shown() {
    let run = load("f-short-cells");
    let report = Report::of(&run);
    let md = markdown::render(&report);
    let page = html::render(&report).unwrap();
    let summary = terminal::summary(&run);
    let short: Vec<&Cell> = run
        .results
        .cells
        .iter()
        .filter(|c| c.flags.contains(&Flag::ShortCell))
        .collect();
    assert_eq!(short.len(), run.results.cells.len(), "every cell is short");
    for c in short {
        let label = short_label(c);
        assert!(md.contains(&format!("| {label}")), "report.md: {label}");
        assert!(
            md.contains(&format!("({label}")),
            "report.md baseline: {label}"
        );
        assert!(
            page.contains(&format!(">{label}</span>")),
            "report.html: {label}"
        );
        assert!(summary.contains(&label), "summary: {label}\n{summary}");
    }
    // The flags of a sized run's rows have no count, and old runs print flags as before.
    let md = markdown::render(&Report::of(&load("e-steady")));
    assert!(!md.contains("periods)**") && !md.contains("(not-steady ("));
}

#[test]
fn setup_states_the_cell_length_policy_from_the_record() {
    let run = load("e-steady");
    let c = &run.results.cells[0];
    let s = steady(c);
    let md = markdown::render(&Report::of(&run));
    let expected = format!(
        "- Cell length: sized by the lab: cells ran {} s each, to cover {} quota periods of {} ms of steady load",
        c.duration_s.unwrap(),
        s.periods_wanted,
        s.period_s * 1000.0
    );
    assert!(md.contains(&expected), "{expected}\n{md}");
    assert!(md.contains("cells sized by the lab (see Cell length)"));
    assert!(!md.contains("0 requests per cell"));

    let short = load("f-short-cells");
    let md = markdown::render(&Report::of(&short));
    let expected = format!(
        "- Cell length: as the lab file asks: cells ran {} requests each",
        short.results.cells[0].requests
    );
    assert!(md.contains(&expected), "{expected}");

    let old = markdown::render(&Report::of(&load("a-baseline")));
    assert!(!old.contains("Cell length") && !old.contains("; steady window "));
}

#[test]
fn evidence_names_each_rows_steady_window() {
    let run = load("e-steady");
    let md = markdown::render(&Report::of(&run));
    for c in &run.results.cells {
        let s = steady(c);
        let line = format!(
            "- c={}: {} — {}; steady window {} s ({} periods of {} ms), {} requests",
            c.concurrency,
            c.verdict.as_ref().unwrap().limiter,
            c.verdict.as_ref().unwrap().evidence,
            s.window_s(),
            s.periods_covered,
            s.period_s * 1000.0,
            s.requests
        );
        assert!(md.contains(&line), "{line}\n{md}");
    }
    // A cell without a whole second of steady load says so instead of a 0 s window.
    let md = markdown::render(&Report::of(&load("f-short-cells")));
    assert!(md.contains("no whole second of steady load ("));
}

/// `(stroke colour, stroke width)` of every polyline of an SVG.
fn polylines(svg: &str) -> Vec<(String, String)> {
    let attr = |tag: &str, name: &str| {
        let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(tag[at..].split('"').next()?.to_string())
    };
    svg.split("<polyline")
        .skip(1)
        .filter_map(|t| {
            let tag = t.split('>').next()?;
            Some((attr(tag, "stroke")?, attr(tag, "stroke-width")?))
        })
        .collect()
}

#[test]
fn timeline_chart_draws_every_server_and_marks_its_throttled_periods() {
    let run = load("e-steady");
    let report = Report::of(&run);
    let charts = charts::render(&report).unwrap();
    let t = charts
        .iter()
        .find(|c| c.file_name == "timeline-g0-hello-noka.svg")
        .expect("a timeline chart for the series");
    assert!(t.svg.starts_with("<svg") && t.svg.trim_end().ends_with("</svg>"));
    // The highest concurrency per server, named in the caption and the legend.
    let top = run
        .results
        .cells
        .iter()
        .map(|c| c.concurrency)
        .max()
        .unwrap();
    let shown: Vec<&Cell> = run
        .results
        .cells
        .iter()
        .filter(|c| c.concurrency == top)
        .collect();
    assert_eq!(shown.len(), 2);
    for (i, c) in shown.iter().enumerate() {
        let label = format!("{} c={top}", c.server);
        assert!(t.caption.contains(&label), "{}", t.caption);
        assert!(t.svg.lines().any(|l| l.trim() == label), "legend: {label}");
        // Three lines per server (req/s, p99, CPU) and its legend swatch.
        let color = color_hex(server_color(i));
        let lines = polylines(&t.svg)
            .into_iter()
            .filter(|(s, w)| *s == color && w == "2")
            .count();
        assert_eq!(lines, 4, "{}: lines in {color}", c.server);
    }
    // One red dot per throttled counter reading of the cells shown.
    let throttled: usize = shown
        .iter()
        .map(|c| {
            steady(c)
                .server_periods
                .iter()
                .filter(|p| p.throttled > 0)
                .count()
        })
        .sum();
    assert!(throttled > 0, "the fixture has throttled periods");
    let dots = t
        .svg
        .matches(&format!(
            "r=\"3\" opacity=\"1\" fill=\"{}\"",
            color_hex(FLAG_RED)
        ))
        .count();
    assert_eq!(dots, throttled);

    // report.md links it; report.html inlines it.
    let md = markdown::render(&report);
    assert!(md.contains("](charts/timeline-g0-hello-noka.svg)"));
    let page = html::render(&report).unwrap();
    assert!(page.contains(t.svg.trim()));

    // Runs recorded before steady windows have no timeline.
    let old = charts::render(&Report::of(&load("a-baseline"))).unwrap();
    assert!(!old.iter().any(|c| c.file_name.starts_with("timeline-")));
}

#[test]
fn timeline_of_short_cells_prefers_a_window_that_holds_a_whole_second() {
    let run = load("f-short-cells");
    let charts = charts::render(&Report::of(&run)).unwrap();
    let t = charts
        .iter()
        .find(|c| c.file_name.starts_with("timeline-"))
        .expect("a timeline chart");
    for server in ["async", "thread"] {
        let cells: Vec<&Cell> = run
            .results
            .cells
            .iter()
            .filter(|c| c.server == server)
            .collect();
        let with_seconds = cells
            .iter()
            .filter(|c| !steady(c).seconds.is_empty())
            .map(|c| c.concurrency)
            .max();
        let top = cells.iter().map(|c| c.concurrency).max().unwrap();
        let label = format!("{server} c={}", with_seconds.unwrap_or(top));
        assert!(t.caption.contains(&label), "{label}: {}", t.caption);
    }
    // The per-second panels are drawn when any shown cell held a whole second.
    assert!(t.svg.contains("requests per second (each whole second"));
}

#[test]
fn the_flags_section_names_each_short_rows_periods() {
    let run = load("f-short-cells");
    let md = markdown::render(&Report::of(&run));
    let line = md
        .lines()
        .find(|l| l.starts_with("- **short-cell** "))
        .expect("the short-cell legend line");
    for c in &run.results.cells {
        let periods = steady(c).periods_covered.floor() as u64;
        let name = format!("{} c={} ({periods} periods)", c.server, c.concurrency);
        assert!(line.contains(&name), "{name}: {line}");
    }
}
