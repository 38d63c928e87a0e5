//! The compact summary `lab run` prints when it ends: per series, concurrency down the side,
//! each server's req/s, p99 and flags across.

use std::fmt::Write;

use super::view::{self, Row};
use super::{num, Run};

pub fn summary(run: &Run) -> String {
    let rows = view::rows(&run.results);
    let mut out = String::new();
    for series in view::series(&rows) {
        let in_series: Vec<&Row> = rows.iter().filter(|r| r.series == series).collect();
        let mut servers: Vec<&str> = Vec::new();
        let mut levels: Vec<u32> = Vec::new();
        for r in &in_series {
            if !servers.contains(&r.server.as_str()) {
                servers.push(&r.server);
            }
            if !levels.contains(&r.concurrency) {
                levels.push(r.concurrency);
            }
        }
        levels.sort_unstable();
        let _ = writeln!(out, "\n{}", series.title().replace('`', ""));
        let _ = write!(out, "{:>6}", "c");
        for s in &servers {
            let _ = write!(
                out,
                "  {:>12} {:>9} {:<24}",
                format!("{s} req/s"),
                "p99 ms",
                "flags"
            );
        }
        out.push('\n');
        for c in levels {
            let _ = write!(out, "{c:>6}");
            for s in &servers {
                match in_series
                    .iter()
                    .find(|r| r.server == *s && r.concurrency == c)
                {
                    Some(r) => {
                        let _ = write!(
                            out,
                            "  {:>12} {:>9} {:<24}",
                            if r.rps.is_some() {
                                num(r.rps.map(|s| s.median), 1)
                            } else {
                                "FAILED".into()
                            },
                            num(r.p("99"), 2),
                            r.flags.join(",")
                        );
                    }
                    None => {
                        let _ = write!(out, "  {:>12} {:>9} {:<24}", "—", "—", "");
                    }
                }
            }
            out.push('\n');
        }
    }
    out
}
