//! Reports rendered from a run's `results.json` (and `meta.json`) alone, so `lab report
//! RUN_DIR` can regenerate every one of them. One file per format behind one small trait,
//! as hyperfine's `src/export/` does; `view` holds the grouping they all share.

pub mod charts;
pub mod csv;
pub mod html;
pub mod markdown;
pub mod terminal;
pub mod view;

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::results::{self, Meta, Results};

/// Everything a report may show about a run.
pub struct Run {
    pub dir: PathBuf,
    pub results: Results,
    pub meta: Option<Meta>,
}

impl Run {
    pub fn load(dir: &Path) -> Result<Run> {
        Ok(Run {
            dir: dir.to_path_buf(),
            results: results::load(dir)?,
            meta: results::load_meta(dir),
        })
    }
}

/// One output format written into the run folder.
pub trait Exporter {
    /// File name inside the run folder.
    fn file_name(&self) -> &'static str;
    fn render(&self, run: &Run) -> Result<Vec<u8>>;
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
    let mut written = Vec::new();
    for e in exporters() {
        let path = run.dir.join(e.file_name());
        results::write_atomic(&path, &e.render(run)?)?;
        written.push(path);
    }
    // The charts are several files: `charts/*.svg`.
    written.extend(charts::write(run)?);
    Ok(written)
}

/// `1234.5678` → `1234.57`; `None` → `—`.
pub fn num(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(v) => format!("{v:.decimals$}"),
        None => "—".into(),
    }
}

/// Integer or `—`.
pub fn int(v: Option<u64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "—".into())
}

/// Bytes as MiB with one decimal.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
