//! `report.md`: the report model in GitHub-flavoured Markdown.
//!
//! Text from the run (paths, arguments, names, a server's log line in a reason) is made
//! inert: characters HTML gives meaning to become entities, table pipes and backticks are
//! backslash-escaped, line breaks become spaces (a table row stays one line), and a code
//! span whose text could break out of it is written as `<code>` with entities instead.

use anyhow::Result;

use super::doc::{Block, Cell, FlagMark, Text, Tone};
use super::markup::{escape_html, href, Markup};
use super::model::Report;
use super::{layout, Exporter};

pub struct Markdown;

impl Exporter for Markdown {
    fn file_name(&self) -> &'static str {
        "report.md"
    }

    fn render(&self, report: &Report<'_>) -> Result<Vec<u8>> {
        Ok(render(report).into_bytes())
    }
}

pub fn render(report: &Report<'_>) -> String {
    Markdown.blocks(&layout::document(report))
}

/// Line breaks and other control characters as spaces.
fn one_line(c: char) -> char {
    if c.is_control() {
        ' '
    } else {
        c
    }
}

/// Escape text for Markdown running text and table cells.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().map(one_line) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '|' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A code span; text a backtick span cannot hold as is becomes `<code>` with entities
/// (`&#124;` keeps a pipe from splitting a table cell).
pub fn code(s: &str) -> String {
    let plain = !s
        .chars()
        .any(|c| matches!(c, '`' | '|' | '<' | '>' | '&') || c.is_control());
    if plain && !s.is_empty() && s.trim() == s {
        return format!("`{s}`");
    }
    let mut out = String::from("<code>");
    for c in s.chars().map(one_line) {
        match c {
            '|' => out.push_str("&#124;"),
            '`' => out.push_str("&#96;"),
            c => out.push_str(&escape_html(c.encode_utf8(&mut [0; 4]))),
        }
    }
    out + "</code>"
}

/// The longest run of `c` in `s`.
fn longest_run(s: &str, c: char) -> usize {
    s.split(|x| x != c).map(str::len).max().unwrap_or(0)
}

impl Markdown {
    /// Text inside raw HTML (a `<summary>`), where Markdown is not parsed.
    fn html_text(&self, t: &Text) -> String {
        use super::doc::Inline;
        t.0.iter()
            .map(|i| match i {
                Inline::Code(s) => format!("<code>{}</code>", escape_html(s)),
                i => escape_html(&Text(vec![i.clone()]).to_plain()),
            })
            .collect()
    }

    fn items(&self, items: impl Iterator<Item = String>) -> String {
        let mut out: String = items.map(|i| format!("- {i}\n")).collect();
        out.push('\n');
        out
    }
}

impl Markup for Markdown {
    fn escape(&self, s: &str) -> String {
        escape(s)
    }

    fn code(&self, s: &str) -> String {
        code(s)
    }

    fn strong(&self, s: &str) -> String {
        format!("**{}**", escape(s))
    }

    fn link(&self, text: &str, to: &str) -> String {
        let text = escape(text).replace('[', "\\[").replace(']', "\\]");
        format!("[{text}]({})", href(to))
    }

    fn flags(&self, flags: &[FlagMark]) -> String {
        let words: Vec<String> = flags.iter().map(|f| format!("**{}**", f.label())).collect();
        words.join(", ")
    }

    fn report_file(&self) -> &'static str {
        "report.md"
    }

    fn tag(&self, word: &str) -> String {
        self.strong(word)
    }

    fn cell(&self, c: &Cell) -> String {
        let mut s = self.text(&c.text);
        if c.tone == Tone::Strong {
            s = format!("**{s}**");
        }
        if let Some(a) = &c.aside {
            s = format!("{s} {}", escape(a));
        }
        match (s.is_empty(), c.flags.is_empty()) {
            (_, true) => s,
            (true, false) => FlagMark::join(&c.flags),
            (false, false) => format!("{s} ({})", FlagMark::join(&c.flags)),
        }
    }

    fn table_header(&self, columns: &[String]) -> String {
        let cols: Vec<String> = columns.iter().map(|c| escape(c)).collect();
        format!("| {} |\n", cols.join(" | "))
    }

    fn table_divider(&self, columns: usize) -> String {
        format!("|{}\n", "---|".repeat(columns))
    }

    fn table_row(&self, row: &super::doc::TableRow) -> String {
        let cells: Vec<String> = row.cells.iter().map(|c| self.cell(c)).collect();
        format!("| {} |\n", cells.join(" | "))
    }

    fn table_end(&self) -> String {
        "\n".into()
    }

    fn block(&self, block: &Block) -> String {
        match block {
            Block::Title(t) => format!("# {}\n\n", self.text(t)),
            Block::Subtitle(t) | Block::Paragraph(t) => format!("{}\n\n", self.text(t)),
            Block::Nav(_) => String::new(),
            Block::Banner(_, t) => format!("> {}\n\n", self.text(t)),
            Block::Heading { level, text, .. } => {
                format!(
                    "{} {}\n\n",
                    "#".repeat(usize::from(*level)),
                    self.text(text)
                )
            }
            Block::Notes(items) | Block::List(items) => {
                self.items(items.iter().map(|t| self.text(t)))
            }
            Block::Fields(fields) => self.items(
                fields
                    .iter()
                    .map(|(k, v)| format!("{}: {}", escape(k), self.text(v))),
            ),
            Block::Terms { items, .. } => self.items(
                items
                    .iter()
                    .map(|(k, v)| format!("{} — {}", self.text(k), self.text(v))),
            ),
            Block::Table(t) => self.table(t),
            Block::Details { summary, body } => format!(
                "<details><summary>{}</summary>\n\n{}</details>\n\n",
                self.html_text(summary),
                self.blocks(body)
            ),
            Block::Charts(charts) => self.items(
                charts
                    .iter()
                    .map(|c| self.link(&c.caption, &format!("charts/{}", c.file_name))),
            ),
            // A fence longer than any backtick run inside keeps the text inert.
            Block::Code { lang, text } => {
                let fence = "`".repeat(3.max(longest_run(text, '`') + 1));
                let nl = if text.ends_with('\n') { "" } else { "\n" };
                format!("{fence}{lang}\n{text}{nl}{fence}\n\n")
            }
            Block::Footer(t) => format!("{}\n", self.text(t)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_text_cannot_open_html_or_split_a_table_cell() {
        assert_eq!(
            escape("<script>alert(1)</script> a|b `x` \\ &\nnext"),
            "&lt;script&gt;alert(1)&lt;/script&gt; a\\|b \\`x\\` \\\\ &amp; next"
        );
        assert_eq!(code("/sleep/10"), "`/sleep/10`");
        assert_eq!(
            code("<script>a|b`"),
            "<code>&lt;script&gt;a&#124;b&#96;</code>"
        );
        assert_eq!(code(" x"), "<code> x</code>");
    }
}
