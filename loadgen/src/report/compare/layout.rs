//! A [`Comparison`] as a document: what the changes mean, then one table per series, then
//! the rows found in one run only.

use super::{Change, CompareRow, Comparison, OneSided};
use crate::report::doc::{num, Block, Cell, Table, Text, Tone, DASH};
use crate::report::model::{series_title, Series};

const COLUMNS: [&str; 14] = [
    "server",
    "limits",
    "c",
    "A req/s",
    "B req/s",
    "B/A",
    "change",
    "A p99 ms",
    "B p99 ms",
    "p99 B/A",
    "CPU µs/req (A → B)",
    "verdict",
    "basis",
    "limited by (A → B)",
];

pub fn document(c: &Comparison) -> Vec<Block> {
    let mut b = vec![
        Block::Title(
            Text::new()
                .plain("Comparison: ")
                .code(&c.a)
                .plain(" → ")
                .code(&c.b),
        ),
        Block::List(legend(c)),
    ];
    if !c.config_changes.is_empty() {
        let changes = c.config_changes.iter().map(|ch| Text::new().code(ch));
        b.push(Block::Paragraph(Text::from("Lab file changes:")));
        b.push(Block::List(changes.collect()));
    }
    b.push(Block::Paragraph(Text::from(summary(c))));
    for series in series_of(c) {
        let mut table = Table::new(COLUMNS);
        for r in c
            .rows
            .iter()
            .filter(|r| series_key(r) == series_key_of(&series))
        {
            table.push(row(r), false);
        }
        b.push(Block::Heading {
            level: 2,
            anchor: None,
            text: series_title(&series),
        });
        b.push(Block::Table(table));
    }
    if let Some(g) = &c.gate {
        b.extend(gate_section(g));
    }
    for (title, list) in [("Only in A", &c.only_in_a), ("Only in B", &c.only_in_b)] {
        if !list.is_empty() {
            b.push(Block::Heading {
                level: 2,
                anchor: None,
                text: Text::from(title),
            });
            b.push(Block::List(list.iter().map(one_sided).collect()));
        }
    }
    b
}

/// What A and B are and how to read the tables.
fn legend(c: &Comparison) -> Vec<Text> {
    let mut v = vec![
        Text::new().plain("A: ").code(&c.a).plain(" (reference)"),
        Text::new().plain("B: ").code(&c.b),
        Text::new()
            .plain("Changes are B relative to A, in good (2xx) req/s. A change is ")
            .strong("significant")
            .plain(" when the 95% confidence intervals of both medians do not overlap (6 or more repetitions a side, e.g. ")
            .code("repeat: auto")
            .plain(format!(
                "); otherwise when it exceeds the min–max spread of both runs' repetitions, and a side measured only once gets a ±{:.0}% noise floor (the ",
                c.noise_floor_pct
            ))
            .code("basis")
            .plain(" column says which)."),
        Text::new().code("limited by").plain(
            " says what set each side's pace: a loadgen side measures ab, not the server, so its change says nothing about the server.",
        ),
        Text::new().code("CPU µs/req").plain(
            " is the server's CPU time per request in each run (median over the repetitions): where a side is loadgen-bound, its change is the one that still describes the server.",
        ),
    ];
    if c.config_changes.is_empty() {
        v.push(Text::from("Lab files: identical (name and output aside)."));
    }
    v
}

fn summary(c: &Comparison) -> String {
    let count = |v: Change| c.rows.iter().filter(|r| r.verdict == v).count();
    format!(
        "{} rows in both runs: {} significantly faster in B, {} significantly slower, {} within the spread; {} only in A, {} only in B.",
        c.rows.len(),
        count(Change::Faster),
        count(Change::Slower),
        count(Change::Same),
        c.only_in_a.len(),
        c.only_in_b.len()
    )
}

type SeriesKey<'a> = (&'a str, &'a str, bool, &'a str);

fn series_key(r: &CompareRow) -> SeriesKey<'_> {
    (&r.workload, &r.path, r.keepalive, &r.group)
}

fn series_key_of(s: &Series) -> SeriesKey<'_> {
    (&s.workload, &s.path, s.keepalive, &s.group_label)
}

/// The series of the matched rows, in order.
fn series_of(c: &Comparison) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::new();
    for r in &c.rows {
        if !out.iter().any(|s| series_key_of(s) == series_key(r)) {
            out.push(Series {
                group: 0,
                group_label: r.group.clone(),
                workload: r.workload.clone(),
                path: r.path.clone(),
                keepalive: r.keepalive,
                open_loop_connections: None,
            });
        }
    }
    out
}

/// `100`, or `20 @ 50%` for an open-loop row (connections @ offered rate).
fn level_text(concurrency: u32, rate: Option<&str>) -> String {
    match rate {
        Some(r) => format!("{concurrency} @ {r}"),
        None => concurrency.to_string(),
    }
}

fn ratio(v: Option<f64>) -> String {
    v.map_or(DASH.into(), |v| format!("{v:.2}×"))
}

/// `48.9 → 52.1 (+6.5%)`; a side not measured reads `—`.
fn cpu_change(a: Option<f64>, b: Option<f64>) -> String {
    let side = |v: Option<f64>| v.map_or(DASH.to_string(), |v| format!("{v:.1}"));
    match (a, b) {
        (Some(x), Some(y)) if x > 0.0 => {
            format!("{} → {} ({:+.1}%)", side(a), side(b), (y / x - 1.0) * 100.0)
        }
        (None, None) => DASH.into(),
        _ => format!("{} → {}", side(a), side(b)),
    }
}

fn row(r: &CompareRow) -> Vec<Cell> {
    let verdict = match r.verdict {
        Change::Faster => Cell::text("faster")
            .tone(Tone::Strong)
            .aside(Some("▲".into())),
        Change::Slower => Cell::text("slower")
            .tone(Tone::Strong)
            .aside(Some("▼".into())),
        Change::Same => Cell::text("within spread"),
        Change::NoMeasurement => Cell::text("no measurement"),
    };
    let limited = |l: Option<crate::record::Limiter>| l.map_or(DASH, |l| l.as_str());
    vec![
        Cell::text(r.server.as_str()),
        Cell::text(r.limits.as_str()),
        Cell::num(level_text(r.concurrency, r.rate.as_deref())),
        Cell::num(num(r.a_rps, 2)).flags(&r.a_flags),
        Cell::num(num(r.b_rps, 2)).flags(&r.b_flags),
        Cell::num(ratio(r.rps_ratio)),
        Cell::num(
            r.rps_change_pct
                .map_or(DASH.into(), |v| format!("{v:+.1}%")),
        ),
        Cell::num(num(r.a_p99_ms, 2)),
        Cell::num(num(r.b_p99_ms, 2)),
        Cell::num(ratio(r.p99_ratio)),
        Cell::num(cpu_change(r.a_cpu_per_request_us, r.b_cpu_per_request_us)),
        verdict,
        Cell::text(r.basis.as_str()),
        Cell::text(format!(
            "{} → {}",
            limited(r.a_limited_by),
            limited(r.b_limited_by)
        )),
    ]
}

/// `hello `/` · keep-alive off · cpus=1 memory=256m · server `async` (cpus=1 memory=256m) · c=1000: 13100.00 req/s, p99 5.00 ms`
fn one_sided(o: &OneSided) -> Text {
    let series = Series {
        group: 0,
        group_label: o.group.clone(),
        workload: o.workload.clone(),
        path: o.path.clone(),
        keepalive: o.keepalive,
        open_loop_connections: None,
    };
    let flags = if o.flags.is_empty() {
        String::new()
    } else {
        format!(" ({})", o.flags.join(", "))
    };
    series_title(&series)
        .plain(" · server ")
        .code(&o.server)
        .plain(format!(
            " ({}) · c={}: {} req/s, p99 {} ms{flags}",
            o.limits,
            level_text(o.concurrency, o.rate.as_deref()),
            num(o.rps, 2),
            num(o.p99_ms, 2)
        ))
}

/// `--fail-on`: what the gate checked, then the rows that got worse (or that it could not
/// judge), each with the figures behind it.
fn gate_section(g: &super::gate::Gate) -> Vec<Block> {
    use crate::judge::thresholds::Outcome;
    let figures: Vec<&str> = g.figures.iter().map(|f| f.as_str()).collect();
    let failed = g.failures();
    let open: Vec<_> = g
        .rows
        .iter()
        .filter(|r| r.outcome == Outcome::Inconclusive)
        .collect();
    let (tone, line) = if failed.is_empty() {
        (
            Tone::Good,
            format!(
                "Gate passed: no row got worse by more than {}% with intervals apart ({} checks of {}).",
                g.fail_on_pct,
                g.rows.len(),
                figures.join(", ")
            ),
        )
    } else {
        (
            Tone::Bad,
            format!(
                "Gate failed: {} of {} checks got worse by more than {}% with intervals apart (exit 4).",
                failed.len(),
                g.rows.len(),
                g.fail_on_pct
            ),
        )
    };
    let mut b = vec![
        Block::Heading {
            level: 2,
            anchor: Some("gate"),
            text: Text::from("Regression gate"),
        },
        Block::Banner(tone, Text::from(line)),
    ];
    // A figure neither run recorded (e.g. cpu_per_request of records without CPU time)
    // is one line, not one row per row.
    let (unrecorded, open): (Vec<_>, Vec<_>) = open
        .into_iter()
        .partition(|r| r.a.is_none() && r.b.is_none());
    for f in &g.figures {
        let n = unrecorded.iter().filter(|r| r.figure == *f).count();
        if n > 0 {
            b.push(Block::Paragraph(Text::from(format!(
                "{}: recorded in neither run for {n} row(s): not gated.",
                f.as_str()
            ))));
        }
    }
    let mut table = Table::new(["row", "figure", "outcome", "why"]);
    for r in failed.iter().copied().chain(open.iter().copied()) {
        let outcome = Cell::text(r.outcome.as_str()).tone(match r.outcome {
            Outcome::Fail => Tone::Bad,
            _ => Tone::Warn,
        });
        table.push(
            vec![
                Cell::text(r.row.as_str()),
                Cell::text(r.figure.as_str()),
                outcome,
                Cell::text(r.why.as_str()),
            ],
            true,
        );
    }
    if !table.rows.is_empty() {
        b.push(Block::Table(table));
    }
    b
}
