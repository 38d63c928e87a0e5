//! The vocabulary of a rendered report: rich text, tables of cells, and blocks. The model
//! ([`super::model`]) fills them with figures and words; every format ([`super::markup`])
//! marks them up its own way and adds nothing of its own.

use crate::record::Flag;

/// A dash for a missing figure.
pub const DASH: &str = "—";

/// `1234.5678` → `1234.57`; `None` → `—`.
pub fn num(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => DASH.into(),
    }
}

/// Integer or `—`.
pub fn int(v: Option<u64>) -> String {
    v.map_or_else(|| DASH.into(), |v| v.to_string())
}

/// Bytes as MiB with one decimal.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// A flag as a row of a report shows it: its word, and what to know with it. `short-cell`
/// carries the quota periods its cells covered, since the flag alone does not say how short.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagMark {
    pub flag: Flag,
    /// `3 periods`: shown in brackets after the word.
    pub detail: Option<String>,
}

impl FlagMark {
    /// `short-cell (3 periods)`, or the flag's word alone: the one place a row's flag is
    /// put into words, for every format.
    pub fn label(&self) -> String {
        match &self.detail {
            Some(d) => format!("{} ({d})", self.flag),
            None => self.flag.to_string(),
        }
    }

    /// Flags without details.
    pub fn plain(flags: &[Flag]) -> Vec<FlagMark> {
        flags
            .iter()
            .map(|&flag| FlagMark { flag, detail: None })
            .collect()
    }

    /// The labels joined with `, `.
    pub fn join(marks: &[FlagMark]) -> String {
        let labels: Vec<String> = marks.iter().map(FlagMark::label).collect();
        labels.join(", ")
    }
}

/// One piece of running text.
#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    Plain(String),
    /// A name or value as typed: a path, an argument, a run id.
    Code(String),
    Strong(String),
    /// A link to a file of the run folder, relative to it.
    Link {
        text: String,
        href: String,
    },
    /// A link to another run folder's report (a tune's probe), in the format of the
    /// document that links to it (`report.md` from Markdown, `report.html` from HTML).
    RunReport {
        text: String,
        dir: String,
    },
    /// Flags, most serious first: words in Markdown, badges in HTML.
    Flags(Vec<FlagMark>),
    /// One word of a closed set, shown apart from the text (a verdict in its legend).
    Tag(&'static str),
}

/// Rich text: a sequence of [`Inline`]s, built with the chained methods.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Text(pub Vec<Inline>);

impl Text {
    pub fn new() -> Text {
        Text::default()
    }

    pub fn plain(mut self, s: impl Into<String>) -> Text {
        self.0.push(Inline::Plain(s.into()));
        self
    }

    pub fn code(mut self, s: impl Into<String>) -> Text {
        self.0.push(Inline::Code(s.into()));
        self
    }

    pub fn strong(mut self, s: impl Into<String>) -> Text {
        self.0.push(Inline::Strong(s.into()));
        self
    }

    pub fn link(mut self, text: impl Into<String>, href: impl Into<String>) -> Text {
        self.0.push(Inline::Link {
            text: text.into(),
            href: href.into(),
        });
        self
    }

    /// Append another text's inlines.
    pub fn extend(mut self, other: Text) -> Text {
        self.0.extend(other.0);
        self
    }

    pub fn run_report(mut self, text: impl Into<String>, dir: impl Into<String>) -> Text {
        self.0.push(Inline::RunReport {
            text: text.into(),
            dir: dir.into(),
        });
        self
    }

    pub fn flags(self, flags: &[Flag]) -> Text {
        self.flag_marks(FlagMark::plain(flags))
    }

    /// Flags with their details (a row's `short-cell (3 periods)`).
    pub fn flag_marks(mut self, marks: Vec<FlagMark>) -> Text {
        self.0.push(Inline::Flags(marks));
        self
    }

    pub fn tag(mut self, word: &'static str) -> Text {
        self.0.push(Inline::Tag(word));
        self
    }

    pub fn append(mut self, other: Text) -> Text {
        self.0.extend(other.0);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The words without any markup: what a terminal prints and a reader sees.
    pub fn to_plain(&self) -> String {
        self.0
            .iter()
            .map(|i| match i {
                Inline::Plain(s) | Inline::Code(s) | Inline::Strong(s) => s.clone(),
                Inline::Link { text, .. } | Inline::RunReport { text, .. } => text.clone(),
                Inline::Flags(f) => FlagMark::join(f),
                Inline::Tag(w) => (*w).to_string(),
            })
            .collect()
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text::new().plain(s)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::new().plain(s)
    }
}

/// How a cell or a banner should catch the eye.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tone {
    #[default]
    Normal,
    /// A result to notice (`faster`).
    Strong,
    /// A number to read with care (non-2xx answers, a withheld ratio).
    Warn,
    /// A number that is wrong or missing (failed requests, a failed cell).
    Bad,
    /// Good news (every response was a 2xx).
    Good,
}

/// One table cell: its text, then an aside in brackets (a spread), then its flags.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cell {
    pub text: Text,
    pub aside: Option<String>,
    pub flags: Vec<FlagMark>,
    pub tone: Tone,
    /// Right-aligned, tabular figures.
    pub numeric: bool,
}

impl Cell {
    /// A figure.
    pub fn num(text: impl Into<String>) -> Cell {
        Cell {
            text: Text::from(text.into()),
            numeric: true,
            ..Cell::default()
        }
    }

    /// Words.
    pub fn text(text: impl Into<Text>) -> Cell {
        Cell {
            text: text.into(),
            ..Cell::default()
        }
    }

    pub fn aside(mut self, aside: Option<String>) -> Cell {
        self.aside = aside;
        self
    }

    pub fn flags(self, flags: &[Flag]) -> Cell {
        self.flag_marks(FlagMark::plain(flags))
    }

    /// Flags with their details (a row's `short-cell (3 periods)`).
    pub fn flag_marks(mut self, marks: Vec<FlagMark>) -> Cell {
        self.flags = marks;
        self
    }

    pub fn tone(mut self, tone: Tone) -> Cell {
        self.tone = tone;
        self
    }

    /// Text, aside and flags without markup.
    pub fn to_plain(&self) -> String {
        let mut s = self.text.to_plain();
        if let Some(a) = &self.aside {
            s.push(' ');
            s.push_str(a);
        }
        if !self.flags.is_empty() {
            s.push_str(&format!(" ({})", FlagMark::join(&self.flags)));
        }
        s
    }
}

/// One table row; a flagged row is shaded in HTML.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableRow {
    pub cells: Vec<Cell>,
    pub flagged: bool,
}

/// A table: a header row, then rows with one cell per column.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<TableRow>,
}

impl Table {
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = S>) -> Table {
        Table {
            columns: columns.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, cells: Vec<Cell>, flagged: bool) {
        debug_assert_eq!(cells.len(), self.columns.len(), "{:?}", self.columns);
        self.rows.push(TableRow { cells, flagged });
    }
}

/// A chart of the run, by its file in `charts/`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartRef {
    pub file_name: String,
    pub caption: String,
}

/// A block of a document, in reading order.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// The document's title.
    Title(Text),
    /// The line under the title.
    Subtitle(Text),
    /// Links to the sections that have an anchor: (anchor, label).
    Nav(Vec<(&'static str, &'static str)>),
    Banner(Tone, Text),
    Heading {
        level: u8,
        anchor: Option<&'static str>,
        text: Text,
    },
    Paragraph(Text),
    /// Small print under a table.
    Notes(Vec<Text>),
    List(Vec<Text>),
    /// Name and value pairs (the setup).
    Fields(Vec<(String, Text)>),
    /// Terms and their explanations; `muted` for the ones that did not occur.
    Terms {
        items: Vec<(Text, Text)>,
        muted: bool,
    },
    Table(Table),
    /// Folded content.
    Details {
        summary: Text,
        body: Vec<Block>,
    },
    Charts(Vec<ChartRef>),
    /// A block of code to copy as is (a snippet), in the named language.
    Code {
        lang: &'static str,
        text: String,
    },
    Footer(Text),
}
