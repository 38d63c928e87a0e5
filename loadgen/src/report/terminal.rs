//! The compact summary `lab run` prints when it ends: the report's comparison tables (per
//! series, concurrency down the side, each server's req/s with its flags, p99 and verdict
//! across) as aligned plain text, then the lab's overhead.

use super::doc::{Block, Cell, FlagMark, Table, TableRow, Text};
use super::layout;
use super::markup::Markup;
use super::model::Report;
use super::Run;

pub fn summary(run: &Run) -> String {
    let report = &Report::of(run);
    let mut blocks = layout::comparisons(report);
    if let Some(t) = super::model::confirmations::table(&run.results) {
        blocks.push(Block::Paragraph(Text::from(
            "Verdicts checked (--confirm):",
        )));
        blocks.push(Block::Table(t));
    }
    if let Some(o) = report.overhead {
        blocks.push(Block::Paragraph(Text::from(o.text())));
    }
    Plain.blocks(&blocks)
}

/// Plain text for a terminal: no markup, tables padded into columns.
struct Plain;

impl Markup for Plain {
    fn escape(&self, s: &str) -> String {
        s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    }

    fn code(&self, s: &str) -> String {
        self.escape(s)
    }

    fn strong(&self, s: &str) -> String {
        self.escape(s)
    }

    fn link(&self, text: &str, _href: &str) -> String {
        self.escape(text)
    }

    fn flags(&self, flags: &[FlagMark]) -> String {
        FlagMark::join(flags)
    }

    fn report_file(&self) -> &'static str {
        "report.md"
    }

    fn tag(&self, word: &str) -> String {
        word.to_string()
    }

    fn cell(&self, c: &Cell) -> String {
        self.escape(&c.to_plain())
    }

    fn table_header(&self, columns: &[String]) -> String {
        columns.join("  ") + "\n"
    }

    fn table_divider(&self, _columns: usize) -> String {
        String::new()
    }

    fn table_row(&self, row: &TableRow) -> String {
        let cells: Vec<String> = row.cells.iter().map(|c| self.cell(c)).collect();
        cells.join("  ") + "\n"
    }

    fn table_end(&self) -> String {
        String::new()
    }

    /// Every column as wide as its widest cell; figures right-aligned.
    fn table(&self, t: &Table) -> String {
        let body: Vec<Vec<String>> = t
            .rows
            .iter()
            .map(|r| r.cells.iter().map(|c| self.cell(c)).collect())
            .collect();
        let width = |i: usize| {
            body.iter()
                .map(|r| r[i].chars().count())
                .chain([t.columns[i].chars().count()])
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..t.columns.len()).map(width).collect();
        let numeric: Vec<bool> = (0..t.columns.len())
            .map(|i| t.rows.iter().all(|r| r.cells[i].numeric))
            .collect();
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| match numeric[i] {
                    true => format!("{c:>w$}", w = widths[i]),
                    false => format!("{c:<w$}", w = widths[i]),
                })
                .collect();
            padded.join("  ").trim_end().to_string() + "\n"
        };
        let mut out = line(&t.columns);
        for r in &body {
            out.push_str(&line(r));
        }
        out
    }

    fn block(&self, block: &Block) -> String {
        match block {
            Block::Heading { text, .. } => format!("\n{}\n", self.text(text)),
            Block::Notes(items) | Block::List(items) => items
                .iter()
                .map(|t| format!("  {}\n", self.text(t)))
                .collect(),
            Block::Paragraph(t) | Block::Subtitle(t) | Block::Title(t) | Block::Footer(t) => {
                format!("\n{}\n", self.text(t))
            }
            _ => String::new(),
        }
    }
}
