//! `report.html`: the report model in one self-contained file — inline CSS (`html.css`)
//! and SVG charts, no scripts, no external assets — that opens from a file manager or a CI
//! artifact. It shows what `report.md` shows, plus the charts of [`charts`](super::charts)
//! drawn inline. Every piece of text from the run is HTML-escaped.

use anyhow::Result;

use super::charts::{self, Chart};
use super::doc::{Block, Cell, ChartRef, FlagMark, TableRow, Tone};
use super::markup::{escape_html as esc, href, Markup};
use super::model::Report;
use super::{layout, Exporter};

pub struct Html;

impl Exporter for Html {
    fn file_name(&self) -> &'static str {
        "report.html"
    }

    fn render(&self, report: &Report<'_>) -> Result<Vec<u8>> {
        Ok(render(report)?.into_bytes())
    }
}

const CSS: &str = include_str!("html.css");

pub fn render(report: &Report<'_>) -> Result<String> {
    let charts = charts::render(report)?
        .into_iter()
        .map(|c: Chart| (c.file_name, c.svg))
        .collect();
    Ok(page(
        &report.title.to_plain(),
        &layout::document(report),
        charts,
    ))
}

/// One self-contained page of `blocks`; `charts` are (file name in `charts/`, SVG) pairs
/// to inline where a [`Block::Charts`] names them. The run report and the tune report
/// are both this page.
pub fn page(title: &str, blocks: &[Block], charts: Vec<(String, String)>) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n<main>\n{}</main>\n</body>\n</html>\n",
        esc(title),
        Page { charts }.blocks(blocks)
    )
}

/// The markup of one page; it holds the drawn charts (file name, SVG) to inline them.
struct Page {
    charts: Vec<(String, String)>,
}

impl Page {
    fn figure(&self, c: &ChartRef) -> String {
        let svg = self
            .charts
            .iter()
            .find(|(name, _)| *name == c.file_name)
            .map_or("", |(_, svg)| svg.trim());
        let file = format!("charts/{}", c.file_name);
        format!(
            "<figure>\n{svg}\n<figcaption>SVG file: <a href=\"{}\">{}</a></figcaption>\n</figure>\n",
            href(&file),
            esc(&file)
        )
    }

    fn nav(&self, links: &[(&str, &str)]) -> String {
        let links: String = links
            .iter()
            .map(|(anchor, label)| format!("<a href=\"#{anchor}\">{}</a>", esc(label)))
            .collect();
        format!("<nav>{links}</nav>\n")
    }

    fn fields(&self, fields: &[(String, super::doc::Text)]) -> String {
        let rows: String = fields
            .iter()
            .map(|(k, v)| format!("<tr><th>{}</th><td>{}</td></tr>\n", esc(k), self.text(v)))
            .collect();
        format!("<table class=\"kv\">\n{rows}</table>\n")
    }

    fn terms(&self, items: &[(super::doc::Text, super::doc::Text)], muted: bool) -> String {
        let items: String = items
            .iter()
            .map(|(k, v)| format!("<dt>{}</dt><dd>{}</dd>\n", self.text(k), self.text(v)))
            .collect();
        let class = if muted { "flags unused" } else { "flags" };
        format!("<dl class=\"{class}\">\n{items}</dl>\n")
    }
}

fn tone_class(tone: Tone) -> &'static str {
    match tone {
        Tone::Normal | Tone::Strong => "",
        Tone::Warn => "warn",
        Tone::Bad => "bad",
        Tone::Good => "ok",
    }
}

impl Markup for Page {
    fn escape(&self, s: &str) -> String {
        esc(s)
    }

    fn code(&self, s: &str) -> String {
        format!("<code>{}</code>", esc(s))
    }

    fn strong(&self, s: &str) -> String {
        format!("<b>{}</b>", esc(s))
    }

    fn link(&self, text: &str, to: &str) -> String {
        format!("<a href=\"{}\">{}</a>", href(to), esc(text))
    }

    fn flags(&self, flags: &[FlagMark]) -> String {
        flags
            .iter()
            .map(|f| {
                format!(
                    "<span class=\"flag\" title=\"{}\">{}</span>",
                    esc(f.flag.explanation()),
                    esc(&f.label())
                )
            })
            .collect()
    }

    fn report_file(&self) -> &'static str {
        "report.html"
    }

    fn tag(&self, word: &str) -> String {
        format!("<span class=\"flag\">{}</span>", esc(word))
    }

    fn cell(&self, c: &Cell) -> String {
        let mut s = self.text(&c.text);
        if c.tone == Tone::Strong {
            s = format!("<b>{s}</b>");
        }
        if let Some(a) = &c.aside {
            s = format!("{s} <span class=\"spread\">{}</span>", esc(a));
        }
        if !c.flags.is_empty() {
            s = format!("{s} {}", self.flags(&c.flags));
        }
        s
    }

    fn table_header(&self, columns: &[String]) -> String {
        let th: String = columns
            .iter()
            .map(|c| format!("<th>{}</th>", esc(c)))
            .collect();
        format!("<div class=\"scroll\"><table>\n<thead><tr>{th}</tr></thead>\n")
    }

    fn table_divider(&self, _columns: usize) -> String {
        "<tbody>\n".into()
    }

    fn table_row(&self, row: &TableRow) -> String {
        let tr = if row.flagged {
            "<tr class=\"flagged\">"
        } else {
            "<tr>"
        };
        let td: String = row
            .cells
            .iter()
            .map(|c| {
                let class = [if c.numeric { "n" } else { "" }, tone_class(c.tone)]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ");
                match class.as_str() {
                    "" => format!("<td>{}</td>", self.cell(c)),
                    class => format!("<td class=\"{class}\">{}</td>", self.cell(c)),
                }
            })
            .collect();
        format!("{tr}{td}</tr>\n")
    }

    fn table_end(&self) -> String {
        "</tbody></table></div>\n".into()
    }

    fn block(&self, block: &Block) -> String {
        match block {
            Block::Title(t) => format!("<h1>{}</h1>\n", self.text(t)),
            Block::Subtitle(t) => format!("<p class=\"sub\">{}</p>\n", self.text(t)),
            Block::Nav(links) => self.nav(links),
            Block::Banner(tone, t) => format!(
                "<div class=\"banner {}\">{}</div>\n",
                tone_class(*tone),
                self.text(t)
            ),
            Block::Heading {
                level,
                anchor,
                text,
            } => {
                let id = anchor.map(|a| format!(" id=\"{a}\"")).unwrap_or_default();
                format!("<h{level}{id}>{}</h{level}>\n", self.text(text))
            }
            Block::Paragraph(t) => format!("<p class=\"note\">{}</p>\n", self.text(t)),
            Block::Notes(items) => items
                .iter()
                .map(|t| format!("<p class=\"note\">{}</p>\n", self.text(t)))
                .collect(),
            Block::List(items) => {
                let li: String = items
                    .iter()
                    .map(|t| format!("<li>{}</li>\n", self.text(t)))
                    .collect();
                format!("<ul>\n{li}</ul>\n")
            }
            Block::Fields(fields) => self.fields(fields),
            Block::Terms { items, muted } => self.terms(items, *muted),
            Block::Table(t) => self.table(t),
            Block::Details { summary, body } => format!(
                "<details><summary>{}</summary>\n{}</details>\n",
                self.text(summary),
                self.blocks(body)
            ),
            Block::Charts(charts) => charts.iter().map(|c| self.figure(c)).collect(),
            Block::Code { text, .. } => format!("<pre><code>{}</code></pre>\n", esc(text)),
            Block::Footer(t) => format!("<footer>{}</footer>\n", self.text(t)),
        }
    }
}
