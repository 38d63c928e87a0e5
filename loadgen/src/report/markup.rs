//! One trait for every text format, as hyperfine's `src/export/markup.rs`: the document's
//! structure and the table logic are written once here, and a format only says how to mark
//! up a piece of text, a table row, a divider, a block. Markdown, HTML and the terminal
//! summary implement it.

use std::fmt::Write;

use super::doc::{Block, Cell, FlagMark, Inline, Table, TableRow, Text};

pub trait Markup {
    /// Text from the run or the lab file, made inert for this format.
    fn escape(&self, s: &str) -> String;
    fn code(&self, s: &str) -> String;
    fn strong(&self, s: &str) -> String;
    fn link(&self, text: &str, href: &str) -> String;
    fn flags(&self, flags: &[FlagMark]) -> String;
    fn tag(&self, word: &str) -> String;
    /// The file name of a run's report in this format (`report.md`).
    fn report_file(&self) -> &'static str;

    /// A table cell's content: its text, its aside, its flags (tone and alignment are the
    /// row's business).
    fn cell(&self, cell: &Cell) -> String;
    fn table_header(&self, columns: &[String]) -> String;
    /// What separates the header from the rows.
    fn table_divider(&self, columns: usize) -> String;
    fn table_row(&self, row: &TableRow) -> String;
    /// What closes a table.
    fn table_end(&self) -> String;

    /// Every block but tables (those are [`Markup::table`]'s).
    fn block(&self, block: &Block) -> String;

    fn inline(&self, i: &Inline) -> String {
        match i {
            Inline::Plain(s) => self.escape(s),
            Inline::Code(s) => self.code(s),
            Inline::Strong(s) => self.strong(s),
            Inline::Link { text, href } => self.link(text, href),
            Inline::RunReport { text, dir } => {
                self.link(text, &format!("{dir}/{}", self.report_file()))
            }
            Inline::Flags(f) => self.flags(f),
            Inline::Tag(w) => self.tag(w),
        }
    }

    fn text(&self, t: &Text) -> String {
        t.0.iter().map(|i| self.inline(i)).collect()
    }

    fn table(&self, t: &Table) -> String {
        let mut out = self.table_header(&t.columns);
        out.push_str(&self.table_divider(t.columns.len()));
        for row in &t.rows {
            out.push_str(&self.table_row(row));
        }
        out.push_str(&self.table_end());
        out
    }

    /// The whole document.
    fn blocks(&self, blocks: &[Block]) -> String {
        blocks
            .iter()
            .map(|b| match b {
                Block::Table(t) => self.table(t),
                b => self.block(b),
            })
            .collect()
    }
}

/// Escape text for HTML element content and double-quoted attribute values.
pub fn escape_html(s: &str) -> String {
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

/// A relative link to a file of the run folder: characters that would end or confuse a URL
/// percent-encoded, so it can go into HTML attributes and Markdown links alike.
pub fn href(path: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
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
