//! Memory per open connection: what each extra connection costs a server, from a sweep.
//!
//! One cell's memory peak divided by its connections would mostly be the server's base
//! (its code, runtime and buffers at rest: 2–3 MiB here) at low concurrency, so the figure
//! is the *slope*: the least-squares line through every measured cell's memory peak
//! against its peak open connections, over a server's sweep in one series. The peak is the
//! server process's own resident peak when it reports one (the built-in models'
//! `/metrics`, reset per cell), else the container's when exact for the cell; the
//! connections are the server's own peak count, else the concurrency.

use super::figures::CellFigures;
use super::rows::Row;
use crate::record::{resources::Exactness, Status};

/// A server's memory per open connection over one series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerConnection {
    /// Bytes per open connection (the slope).
    pub bytes: f64,
    /// Bytes at no connection (the intercept): the server at rest.
    pub base_bytes: f64,
    /// The fewest and most connections the cells held.
    pub connections: (u64, u64),
    /// Cells the line went through.
    pub cells: usize,
}

/// The fewest cells, and the narrowest span of connections (at least this many, and the
/// most at least twice the fewest), a slope needs to be more than noise.
const MIN_CELLS: usize = 3;
const MIN_SPAN: u64 = 10;

impl PerConnection {
    /// Over the measured cells of `rows` (one server's rows of one series); `None` with
    /// fewer than 3 cells, or when their connections span fewer than 10 or less than a
    /// factor of 2 (901 to 950 connections give a slope, but mostly of the noise).
    pub fn of(rows: &[&Row<'_>]) -> Option<PerConnection> {
        let points: Vec<(f64, f64)> = rows
            .iter()
            .flat_map(|r| r.cells.iter())
            .filter(|c| c.status == Status::Ok)
            .filter_map(|c| {
                let f = CellFigures::of(c);
                let exact_container = c
                    .server_resources
                    .as_ref()
                    .is_some_and(|s| s.exactness.memory_peak == Exactness::Exact);
                let memory = f
                    .process_memory_peak_bytes
                    .or(f.container_memory_peak_bytes.filter(|_| exact_container))?;
                let connections = f.connections_peak.unwrap_or(u64::from(c.concurrency));
                Some((connections as f64, memory as f64))
            })
            .collect();
        let lo = points.iter().map(|p| p.0 as u64).min()?;
        let hi = points.iter().map(|p| p.0 as u64).max()?;
        if points.len() < MIN_CELLS || hi - lo < MIN_SPAN.max(lo) {
            return None;
        }
        let n = points.len() as f64;
        let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
        let my = points.iter().map(|p| p.1).sum::<f64>() / n;
        let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let bytes = sxy / sxx;
        Some(PerConnection {
            bytes,
            base_bytes: my - bytes * mx,
            connections: (lo, hi),
            cells: points.len(),
        })
    }

    /// `9.8 KiB per connection (base 2.3 MiB)`, or that memory did not grow.
    pub fn text(&self) -> String {
        if self.bytes < 64.0 {
            return format!(
                "no measurable growth per connection (base {})",
                crate::record::format_memory(self.base_bytes.max(0.0) as u64)
            );
        }
        format!(
            "{:.1} KiB per connection (base {:.1} MiB)",
            self.bytes / 1024.0,
            self.base_bytes.max(0.0) / 1048576.0
        )
    }
}

/// The comparison's note: each server's memory per connection in the series, or `None`
/// when no server has one.
pub fn note(per_server: &[(&str, Option<PerConnection>)]) -> Option<String> {
    let known: Vec<String> = per_server
        .iter()
        .filter_map(|(s, p)| p.map(|p| format!("{s} {}", p.text())))
        .collect();
    let (lo, hi) = per_server
        .iter()
        .filter_map(|(_, p)| p.map(|p| p.connections))
        .fold((u64::MAX, 0), |(a, b), (l, h)| (a.min(l), b.max(h)));
    (!known.is_empty()).then(|| {
        format!(
            "Memory per open connection: {} (the least-squares slope of each cell's memory peak, the process's own where it reports one, over its peak open connections, {lo} to {hi}; the base is the line at no connection).",
            known.join("; ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Results;
    use crate::report::model::rows::rows;

    fn fixture() -> Results {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runs/a-baseline");
        crate::judge::load(&dir).unwrap()
    }

    /// Every cell of `server` holds `base + per × c` bytes at c connections.
    fn with_memory(server: &str, base: u64, per: u64) -> Results {
        let mut r = fixture();
        for c in r.cells.iter_mut().filter(|c| c.server == server) {
            let m = c.server_metrics.get_or_insert_with(Default::default);
            m.connections_peak = Some(u64::from(c.concurrency));
            m.memory_peak_bytes = Some(base + per * u64::from(c.concurrency));
        }
        r
    }

    #[test]
    fn the_slope_is_what_each_connection_adds_and_the_intercept_the_base() {
        let r = with_memory("thread", 2 << 20, 10 * 1024);
        let rows = rows(&r);
        let thread: Vec<&Row> = rows.iter().filter(|r| r.server == "thread").collect();
        let p = PerConnection::of(&thread).unwrap();
        assert!((p.bytes - 10240.0).abs() < 1.0, "{p:?}");
        assert!((p.base_bytes - 2097152.0).abs() < 100.0, "{p:?}");
        assert_eq!(p.connections, (1, 1000));
        // 11 measured cells (one of 12 failed).
        assert_eq!(p.cells, 11);
        assert_eq!(p.text(), "10.0 KiB per connection (base 2.0 MiB)");
        let note = note(&[("async", None), ("thread", Some(p))]).unwrap();
        assert!(
            note.starts_with("Memory per open connection: thread 10.0 KiB"),
            "{note}"
        );
        assert!(note.contains("1 to 1000"), "{note}");
    }

    #[test]
    fn too_few_cells_or_connections_give_no_figure() {
        let r = with_memory("async", 3 << 20, 2048);
        let all_rows = rows(&r);
        let one: Vec<&Row> = all_rows
            .iter()
            .filter(|r| r.server == "async" && r.concurrency <= 10)
            .collect();
        // c = 1 and 10: six cells, but a span of 9 connections.
        assert!(PerConnection::of(&one).is_none());
        // c = 100 and 1000 span 900, but c = 600 to 1000 would span less than 2×.
        let mut narrow = with_memory("async", 3 << 20, 2048);
        for c in &mut narrow.cells {
            if let Some(m) = c.server_metrics.as_mut() {
                m.connections_peak = Some(600 + u64::from(c.concurrency) * 2 / 5);
            }
        }
        let narrow_rows = rows(&narrow);
        let async_rows: Vec<&Row> = narrow_rows.iter().filter(|r| r.server == "async").collect();
        assert!(PerConnection::of(&async_rows).is_none());
        let flat = with_memory("async", 3 << 20, 0);
        let flat_rows = rows(&flat);
        let all: Vec<&Row> = flat_rows.iter().filter(|r| r.server == "async").collect();
        let p = PerConnection::of(&all).unwrap();
        assert!(p.text().starts_with("no measurable growth"), "{}", p.text());
    }
}
