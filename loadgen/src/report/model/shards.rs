//! The *Shards* section of a merged run (`lab merge`): which shard ran which points, on
//! which host, how long, and what each kind of host was.

use super::super::doc::{Cell, Table, Text, Tone, DASH};
use crate::meta::sweep::ShardRun;
use crate::meta::Meta;

/// The section, when the run was merged from shards.
#[derive(Debug, Clone)]
pub struct Shards {
    pub table: Table,
    /// `host A: Intel Xeon ..., 2 CPUs, ...` per kind of host (servers' host; the load
    /// generator's when it differs).
    pub hosts: Vec<Text>,
    /// More than one kind of host (merged with `--allow-mixed-hosts`).
    pub mixed: bool,
}

impl Shards {
    pub fn of(meta: Option<&Meta>) -> Option<Shards> {
        let runs = &meta?.shards;
        if runs.is_empty() {
            return None;
        }
        let mut table = Table::new([
            "shard",
            "host",
            "hostname",
            "points",
            "cells",
            "started",
            "wall time",
            "run",
        ]);
        for r in runs {
            table.push(
                vec![
                    Cell::text(r.shard.to_string()),
                    Cell::text(r.host.clone()),
                    Cell::text(Text::new().code(&r.hostname)),
                    Cell::text(points(r)),
                    Cell::num(r.cells.to_string()),
                    Cell::text(r.started_at.clone()),
                    Cell::num(
                        r.wall_s
                            .map_or(DASH.to_string(), crate::shard::estimate::format_duration),
                    ),
                    Cell::text(Text::new().code(&r.run_id)),
                ],
                false,
            );
        }
        let mut hosts: Vec<Text> = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for r in runs {
            if seen.contains(&r.host.as_str()) {
                continue;
            }
            seen.push(&r.host);
            let text = match &r.fingerprint {
                None => format!("{}: no fingerprint recorded", r.host),
                Some(f) if f.servers == f.loadgen => format!("{}: {}", r.host, f.servers),
                Some(f) => format!(
                    "{}: servers on {}; load generator on {}",
                    r.host, f.servers, f.loadgen
                ),
            };
            hosts.push(Text::from(text));
        }
        Some(Shards {
            table,
            mixed: hosts.len() > 1,
            hosts,
        })
    }

    /// The banner of a merge across kinds of host.
    pub fn banner(&self) -> Option<(Tone, Text)> {
        self.mixed.then(|| {
            (
                Tone::Warn,
                Text::from(format!(
                    "Merged from shards on {} kinds of host (--allow-mixed-hosts): each host's rows are kept apart (the group label names the host), and no ratio is taken across hosts.",
                    self.hosts.len()
                )),
            )
        })
    }
}

/// `g0-hello-noka-c1 … g1-hello-ka-c20 (4)`: a shard's points, first and last.
fn points(r: &ShardRun) -> Text {
    let t = match r.points.as_slice() {
        [] => DASH.to_string(),
        [one] => one.clone(),
        [first, .., last] => format!("{first} … {last} ({})", r.points.len()),
    };
    Text::new().code(t)
}
