//! The compact summary `lab run` prints when it ends: per series, concurrency down the side,
//! each server's req/s, p99 and flags across.

use std::fmt::Write;

use super::view;
use super::{num, Run};

pub fn summary(run: &Run) -> String {
    let rows = view::rows(&run.results);
    let mut out = String::new();
    for series in view::series(&rows) {
        let grid = view::Grid::of(&rows, &series);
        let (servers, levels) = (grid.servers.clone(), grid.levels.clone());
        let _ = writeln!(out, "\n{}", series.title().replace('`', ""));
        let _ = write!(out, "{:>6}", "c");
        for s in &servers {
            let _ = write!(
                out,
                "  {:>12} {:>9} {:<14} {:<20}",
                format!("{s} req/s"),
                "p99 ms",
                "limited by",
                "flags"
            );
        }
        out.push('\n');
        for c in levels {
            let _ = write!(out, "{c:>6}");
            for s in &servers {
                match grid.at(s, c) {
                    Some(r) => {
                        let _ = write!(
                            out,
                            "  {:>12} {:>9} {:<14} {:<20}",
                            if r.rps.is_some() {
                                num(r.rps.map(|s| s.median), 1)
                            } else {
                                "FAILED".into()
                            },
                            num(r.p("99"), 2),
                            r.verdict.map_or("—", |v| v.limiter.as_str()),
                            r.flags.join(",")
                        );
                    }
                    None => {
                        let _ = write!(out, "  {:>12} {:>9} {:<14} {:<20}", "—", "—", "", "");
                    }
                }
            }
            out.push('\n');
        }
        for note in view::comparison_notes(&grid.rows) {
            let _ = writeln!(out, "  {note}");
        }
    }
    if let Some(o) = view::Overhead::of(&run.results) {
        let _ = writeln!(out, "\n{}", o.text());
    }
    out
}
