//! Reports rendered from a run's `results.json` (and `meta.json`) alone, so `lab report
//! RUN_DIR` can regenerate every one of them.
//!
//! One model, many formats: [`model::Report`] computes everything a report shows once —
//! setup, flags, the nine-column tables, evidence, verdicts, comparisons, failures, links —
//! and [`layout`] puts it in reading order as the blocks of [`doc`]. Each format only marks
//! those up, behind one trait per output kind as hyperfine's `src/export/` does:
//!
//! | module       | what                                                                |
//! |--------------|---------------------------------------------------------------------|
//! | [`model`]    | the report model (rows, figures, tables, comparison, setup)         |
//! | [`doc`]      | text, tables and blocks: the vocabulary every format renders        |
//! | [`layout`]   | the sections of a report in order, with their headings              |
//! | [`markup`]   | the [`markup::Markup`] trait: per-format text, table rows, blocks    |
//! | [`markdown`] | `report.md`                                                          |
//! | [`html`]     | `report.html`, with the charts inline                               |
//! | [`csv`]      | `results.csv`, one row per cell                                      |
//! | [`charts`]   | `charts/*.svg`                                                       |
//! | [`terminal`] | the summary `lab run` prints                                         |
//! | [`compare`]  | `lab compare A B`: two runs' models side by side                     |
//! | [`thresholds`] | the section judging the lab file's `thresholds:`                  |
//! | [`junit`]    | `--junit FILE`: thresholds and gate rows as JUnit test cases         |

pub mod charts;
pub mod compare;
pub mod csv;
pub mod doc;
pub mod html;
pub mod junit;
pub mod layout;
pub mod markdown;
pub mod markup;
pub mod model;
pub mod terminal;
pub mod thresholds;

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::meta::Meta;
use crate::record::{self as results, Results};
pub use model::Report;

/// Everything a report may show about a run: its record as written.
pub struct Run {
    pub dir: PathBuf,
    pub results: Results,
    pub meta: Option<Meta>,
}

impl Run {
    pub fn load(dir: &Path) -> Result<Run> {
        Ok(Run {
            dir: dir.to_path_buf(),
            results: crate::judge::load(dir)?,
            meta: crate::meta::load_meta(dir),
        })
    }
}

/// One output format written into the run folder.
pub trait Exporter {
    /// File name inside the run folder.
    fn file_name(&self) -> &'static str;
    fn render(&self, report: &Report<'_>) -> Result<Vec<u8>>;
}

/// Every file format, in the order they are written.
pub fn exporters() -> Vec<Box<dyn Exporter>> {
    vec![
        Box::new(markdown::Markdown),
        Box::new(csv::Csv),
        Box::new(html::Html),
    ]
}

/// Render every format into the run folder (atomically, one file at a time).
pub fn write_all(run: &Run) -> Result<Vec<PathBuf>> {
    let report = Report::of(run);
    let mut written = Vec::new();
    for e in exporters() {
        let path = run.dir.join(e.file_name());
        results::write_atomic(&path, &e.render(&report)?)?;
        written.push(path);
    }
    // The charts are several files: `charts/*.svg`.
    written.extend(charts::write(&report)?);
    Ok(written)
}
