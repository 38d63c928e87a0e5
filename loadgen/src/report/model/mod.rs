//! The report model: everything a report shows about a run, computed once from
//! `results.json` and `meta.json`. Markdown, HTML, the terminal summary, the charts and
//! `results.csv` only format it, so no two of them can show a figure differently.
//!
//! | part           | what                                                                 |
//! |----------------|----------------------------------------------------------------------|
//! | [`rows`]       | cells grouped into rows (a server at a concurrency, over repetitions) |
//! | [`figures`]    | the figures derived from one cell                                     |
//! | [`tables`]     | per server's sweep: the nine baseline columns and the evidence        |
//! | [`comparison`] | per series: every server side by side, the ratio, the notes          |
//! | [`setup`]      | what was run, where and how                                           |
//! | [`shards`]     | a merged run's shards: points, host, wall time                        |
//! | [`steady`]     | the steady window in words: short cells, the window, the cell length  |

pub mod comparison;
pub mod confirmations;
pub mod figures;
pub mod memory;
pub mod rows;
pub mod setup;
pub mod shards;
pub mod steady;
pub mod tables;

pub use comparison::{ComparisonTable, Ratio};
pub use figures::CellFigures;
pub use rows::{Grid, Row, Series, Sweep};
pub use tables::{SweepTables, BASELINE_COLUMNS, EVIDENCE_COLUMNS};

use super::doc::{Cell, Table, Text, Tone, DASH};
use super::Run;
use crate::config::Lab;
use crate::record::Flag;
use crate::record::Limiter;
use crate::record::{Results, Status, Tool};
use crate::stats::Spread;

/// Everything a report shows.
pub struct Report<'a> {
    pub run: &'a Run,
    /// The lab file as recorded, read back typed (`None`: a record this lab cannot read).
    pub lab: Option<Lab>,
    /// The load tool of the run's cells.
    pub tool: Tool,
    pub rows: Vec<Row<'a>>,
    pub title: Text,
    /// Run id, status, start and end.
    pub subtitle: Text,
    /// What a reader must not miss, before any table.
    pub banners: Vec<(Tone, Text)>,
    pub setup: Vec<setup::Field>,
    /// Every flag, with the rows that raised it.
    pub flags: Vec<FlagUse>,
    /// The verdicts of the rows, in checking order, with how many rows got each.
    pub verdicts: Vec<(Limiter, usize)>,
    pub sweeps: Vec<SweepTables>,
    pub comparisons: Vec<ComparisonTable>,
    /// Servers that did not start and cells without a measurement, with why.
    pub failures: Vec<Text>,
    /// Every cell with links to its raw output and its command line.
    pub raw: Table,
    pub overhead: Option<Overhead>,
    /// A run merged from shards (`lab merge`): who ran what, where.
    pub shards: Option<shards::Shards>,
}

/// A flag and the rows (`async c=100`) that raised it.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagUse {
    pub flag: Flag,
    pub rows: Vec<String>,
}

impl<'a> Report<'a> {
    pub fn of(run: &'a Run) -> Report<'a> {
        let r = &run.results;
        let lab: Option<Lab> = serde_json::from_value(r.config.clone()).ok();
        let tool = r.cells.iter().find_map(|c| c.tool()).unwrap_or(Tool::Ab);
        let rows = rows::rows(r);
        let sweeps = rows::sweeps(&rows).iter().map(SweepTables::of).collect();
        let comparisons = rows::series(&rows)
            .iter()
            .map(|s| ComparisonTable::of(&Grid::of(&rows, s)))
            .collect();
        let shards = shards::Shards::of(run.meta.as_ref());
        let mut banners = banners(r, &rows);
        banners.extend(shards.as_ref().and_then(shards::Shards::banner));
        Report {
            run,
            shards,
            setup: setup::fields(run, lab.as_ref(), tool),
            lab,
            tool,
            title: Text::from(format!("Lab report: {}", r.name)),
            subtitle: subtitle(r),
            banners,
            flags: flag_uses(&rows),
            verdicts: verdicts_used(&rows),
            sweeps,
            comparisons,
            failures: failures(r),
            raw: raw_table(r),
            overhead: Overhead::of(r),
            rows,
        }
    }
}

/// `hello `/` · keep-alive off · cpus=1 memory=256m`
pub fn series_title(s: &Series) -> Text {
    Text::new()
        .plain(format!("{} ", s.workload))
        .code(&s.path)
        .plain(format!(
            " · keep-alive {} · {}",
            s.keepalive_word(),
            s.group_label
        ))
}

fn subtitle(r: &Results) -> Text {
    Text::new().plain("Run ").code(&r.run_id).plain(format!(
        " · {} · started {} · finished {}",
        r.status,
        r.started_at,
        r.finished_at.as_deref().unwrap_or(DASH)
    ))
}

fn banners(r: &Results, rows: &[Row<'_>]) -> Vec<(Tone, Text)> {
    let mut out = Vec::new();
    if r.status != crate::record::RunStatus::Complete {
        out.push((
            Tone::Warn,
            Text::from(format!(
                "This run is {}: the report shows the cells finished so far.",
                r.status
            )),
        ));
    }
    let bad: Vec<String> = rows
        .iter()
        .filter(|r| r.has_errors())
        .map(Row::name)
        .collect();
    if !bad.is_empty() {
        out.push((Tone::Bad, Text::from(format!(
            "⚠ {} of {} rows have errors or failed cells (non-2xx responses, failed requests or no measurement): {}.",
            bad.len(),
            rows.len(),
            bad.join(", ")
        ))));
    } else if !rows.is_empty() {
        out.push((
            Tone::Good,
            Text::from(format!(
                "Every measured response was a 2xx and no request failed ({} rows).",
                rows.len()
            )),
        ));
    }
    out.extend(confirmations::tally(r).map(|(tone, s)| (tone, Text::from(s))));
    if !r.server_failures.is_empty() {
        out.push((
            Tone::Bad,
            Text::from(format!(
                "{} server instance(s) could not be started or verified: see Failures.",
                r.server_failures.len()
            )),
        ));
    }
    out
}

fn flag_uses(rows: &[Row<'_>]) -> Vec<FlagUse> {
    Flag::ALL
        .into_iter()
        .map(|flag| FlagUse {
            flag,
            rows: rows
                .iter()
                .filter(|r| r.flags.contains(&flag))
                .map(|r| flagged_row_name(r, flag))
                .collect(),
        })
        .collect()
}

/// `async c=1`, or with the flag's detail for that row: `async c=1 (10 periods)`.
fn flagged_row_name(row: &Row<'_>, flag: Flag) -> String {
    let detail = steady::flag_marks(&[flag], &row.cells)
        .into_iter()
        .find_map(|m| m.detail);
    match detail {
        Some(d) => format!("{} ({d})", row.name()),
        None => row.name(),
    }
}

/// Verdicts used by any row, in checking order, with how many rows got each.
pub fn verdicts_used(rows: &[Row<'_>]) -> Vec<(Limiter, usize)> {
    Limiter::ALL
        .into_iter()
        .map(|l| {
            let n = rows
                .iter()
                .filter(|r| r.verdict.is_some_and(|v| v.limiter == l))
                .count();
            (l, n)
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn failures(r: &Results) -> Vec<Text> {
    let servers = r.server_failures.iter().map(|f| {
        Text::new()
            .plain("server ")
            .code(&f.server)
            .plain(format!(" (group {}): {}", f.group, f.reason))
    });
    let cells = r
        .cells
        .iter()
        .filter(|c| c.status == Status::Failed)
        .map(|c| {
            Text::new()
                .plain("cell ")
                .code(&c.id)
                .plain(format!(
                    ": {} — ",
                    c.reason.as_deref().unwrap_or("no result")
                ))
                .extend(raw_links(c))
        });
    servers.chain(cells).collect()
}

/// Links to a cell's raw tool output: every process's when it ran several; none when the
/// tool never returned a report (the cell failed before its output could be kept).
fn raw_links(c: &crate::record::Cell) -> Text {
    if c.exit_code.is_none() && c.tool_usage.is_none() && c.measurement.is_none() {
        return Text::from("no tool output (the load tool gave no report)");
    }
    let mut t = Text::new()
        .link("stdout", &c.raw_stdout)
        .plain(" · ")
        .link("stderr", &c.raw_stderr);
    for (i, p) in c.processes.iter().enumerate().skip(1) {
        t = t
            .plain(" · ")
            .link(format!("p{} stdout", i + 1), &p.raw_stdout)
            .plain(" · ")
            .link(format!("p{} stderr", i + 1), &p.raw_stderr);
        // Sent from another load generator host than the first process (`hosts.loadgen`).
        if let Some(host) = p
            .host
            .as_ref()
            .filter(|h| Some(*h) != c.processes[0].host.as_ref())
        {
            t = t.plain(format!(" (on {host})"));
        }
    }
    t
}

/// One row per cell: its status or flags, its raw outputs, its command line.
fn raw_table(r: &Results) -> Table {
    let mut t = Table::new(["cell", "status", "output", "command"]);
    for c in &r.cells {
        let status = match c.status {
            Status::Ok if c.flags.is_empty() => Cell::text("ok"),
            Status::Ok => Cell::text(Text::new()).flag_marks(steady::flag_marks(&c.flags, &[c])),
            Status::Failed => {
                let flags = Flag::ordered(c.flags.iter().copied().chain([Flag::Failed]));
                Cell::text(Text::new()).flag_marks(steady::flag_marks(&flags, &[c]))
            }
        };
        let mut output = raw_links(c);
        if c.server_metrics.is_some() {
            output = output
                .plain(" · ")
                .link("server metrics", format!("raw/{}.metrics.txt", c.id));
        }
        t.push(
            vec![
                Cell::text(Text::new().code(&c.id)),
                status,
                Cell::text(output),
                Cell::text(Text::new().code(c.command.join(" "))),
            ],
            false,
        );
    }
    t
}

/// The lab's own cost per cell: wall time of the cell step minus ab's "Time taken".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overhead {
    pub cells: usize,
    /// Summed wall time of the cell steps, and of ab's runs, in seconds.
    pub cells_wall_s: f64,
    pub ab_s: f64,
    /// Median per-cell overhead, seconds.
    pub median_s: f64,
}

impl Overhead {
    pub fn of(results: &Results) -> Option<Overhead> {
        let pairs: Vec<(f64, f64)> = results
            .cells
            .iter()
            .filter_map(|c| Some((c.wall_s, c.measurement()?.time_taken_s?)))
            .filter(|(wall, _)| *wall > 0.0)
            .collect();
        if pairs.is_empty() {
            return None;
        }
        let overheads: Vec<f64> = pairs.iter().map(|(w, t)| (w - t).max(0.0)).collect();
        Some(Overhead {
            cells: pairs.len(),
            cells_wall_s: pairs.iter().map(|p| p.0).sum(),
            ab_s: pairs.iter().map(|p| p.1).sum(),
            median_s: Spread::of(&overheads).median,
        })
    }

    /// `16 cells: 2.31 s of cell steps for 1.24 s of ab time (1.9×), 0.068 s lab overhead per cell (median)`
    pub fn text(&self) -> String {
        let ratio = if self.ab_s > 0.0 {
            format!("{:.1}×", self.cells_wall_s / self.ab_s)
        } else {
            DASH.into()
        };
        format!(
            "{} cells: {:.2} s of cell steps for {:.2} s of ab time ({ratio}), {:.3} s lab overhead per cell (median)",
            self.cells, self.cells_wall_s, self.ab_s, self.median_s
        )
    }
}
