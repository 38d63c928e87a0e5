//! Progress of a run: a bar (cells done / total, current cell) on a terminal, and one plain
//! log line per cell everywhere, so CI logs and piped output still tell the story.
//!
//! The bar belongs to a tracing span drawn by `tracing-indicatif` (set up in `main`), which
//! also routes log lines above the bar instead of through it. Off a terminal indicatif hides
//! the bar by itself.

use indicatif::ProgressStyle;
use tracing_indicatif::span_ext::IndicatifSpanExt;

use crate::record::{Cell, Status};

pub struct Progress {
    span: tracing::Span,
    total: std::cell::Cell<u64>,
    done: std::cell::Cell<u64>,
}

impl Progress {
    pub fn new(total: u64) -> Progress {
        let span = tracing::info_span!("cells");
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{bar:30}] {pos}/{len} cells  {wide_msg}",
        ) {
            span.pb_set_style(&style.progress_chars("=> "));
        }
        span.pb_set_length(total);
        span.pb_start();
        Progress {
            span,
            total: std::cell::Cell::new(total),
            done: std::cell::Cell::new(0),
        }
    }

    pub fn start_cell(&self, id: &str) {
        self.span.pb_set_message(id);
    }

    pub fn finish_cell(&self, cell: &Cell) {
        self.done.set(self.done.get() + 1);
        self.span.pb_inc(1);
        let n = format!("[{}/{}]", self.done.get(), self.total.get());
        match (cell.status, cell.measurement()) {
            (Status::Ok, Some(counts)) => {
                let mut flags = if cell.flags.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", cell.flags.join(", "))
                };
                if let Some(v) = &cell.verdict {
                    flags.push_str(&format!(" → {}", v.limiter));
                }
                let offered = cell
                    .offered_rps
                    .map(|o| format!(" of {o:.1} offered"))
                    .unwrap_or_default();
                tracing::info!(
                    "{n} {}: {:.1} req/s{offered}, {} complete, {} failed, {} non-2xx, p99 {} ms{flags}",
                    cell.id,
                    cell.rps().unwrap_or(0.0),
                    counts.complete.unwrap_or(0),
                    counts.failed.unwrap_or(0),
                    counts.non_2xx.unwrap_or(0),
                    cell.percentile("99")
                        .map(|v| format!("{v:.2}"))
                        .unwrap_or_else(|| "?".into()),
                );
            }
            _ => tracing::warn!(
                "{n} {}: FAILED: {}",
                cell.id,
                cell.reason.as_deref().unwrap_or("no result")
            ),
        }
    }

    /// `n` planned cells will not run (`repeat: auto` stopped a point early).
    pub fn skip(&self, n: u64) {
        self.total.set(self.total.get().saturating_sub(n));
        self.span.pb_set_length(self.total.get());
    }

    pub fn done(self) {
        drop(self.span);
    }
}
