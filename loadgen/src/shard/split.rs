//! The deterministic split: which points of a plan shard `i` of `N` runs.
//!
//! The unit is a *point of a group* (one resource group, workload, keep-alive setting,
//! concurrency and rate): a point keeps all its servers and all its repetitions together,
//! so the A B, B A interleaving and every comparison between servers stay within one host
//! pair. Points are numbered in plan order (groups cpus-major, then the plan's point order)
//! and shard `i` gets the contiguous block `[i·P/N, (i+1)·P/N)`. Contiguous blocks, not
//! round-robin, because a shard starts the servers of every group it touches (~3 s per
//! server): a block touches at most `⌈G/N⌉ + 1` groups, round-robin all of them. And the
//! shards' cells, concatenated in shard order, are the unsharded run's execution order.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::{Lab, Plan, Point};

/// Shard `index` of `count` (0-based): `--shard 1/3` is the second of three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// The most shards a sweep may be split into (a Slurm array's default `MaxArraySize` is
/// 1001; a bigger split is a mistake, not a plan).
pub const MAX_SHARDS: u32 = 10_000;

impl Shard {
    /// `i/N` with `0 <= i < N`, `1 <= N <= MAX_SHARDS`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not i/N (e.g. 0/3), or `auto`"))?;
        let index: u32 = i
            .trim()
            .parse()
            .map_err(|_| format!("`{text}`: `{i}` is not a shard number (0, 1, ...)"))?;
        let count = parse_count(n.trim()).map_err(|e| format!("`{text}`: {e}"))?;
        if index >= count {
            return Err(format!(
                "`{text}`: shards are numbered 0 to {} of {count}",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }

    /// The positions, among `points` points in plan order, that this shard runs.
    pub fn range(&self, points: usize) -> std::ops::Range<usize> {
        let at = |i: u32| (i as usize * points) / self.count as usize;
        at(self.index)..at(self.index + 1)
    }

    /// Every shard of a split of this count, in order.
    pub fn all(count: u32) -> impl Iterator<Item = Shard> {
        (0..count).map(move |index| Shard { index, count })
    }

    /// Is this split possible for a plan of `points` points? Each shard must get one.
    pub fn check_fits(&self, points: usize) -> Result<(), String> {
        if self.count as usize > points {
            return Err(format!(
                "the plan has {points} point(s), too few for {} shards: use --shard-count {points} or fewer (a point keeps its servers and repetitions on one host pair)",
                self.count
            ));
        }
        Ok(())
    }

    /// The plan with only this shard's points; groups without any are dropped. Group
    /// indices (and so cell ids) stay those of the whole plan.
    pub fn select(&self, mut plan: Plan) -> Plan {
        let range = self.range(points_of(&plan).len());
        let mut k = 0;
        for group in &mut plan.groups {
            let mut keep = Vec::new();
            for point in group.points.drain(..) {
                if range.contains(&k) {
                    keep.push(point);
                }
                k += 1;
            }
            group.points = keep;
        }
        plan.groups.retain(|g| !g.points.is_empty());
        plan
    }
}

fn parse_count(n: &str) -> Result<u32, String> {
    match n.parse::<u32>() {
        Ok(n) if (1..=MAX_SHARDS).contains(&n) => Ok(n),
        _ => Err(format!("`{n}` is not a shard count 1..={MAX_SHARDS}")),
    }
}

/// `--shard-count N`.
pub fn parse_shard_count(text: &str) -> Result<u32, String> {
    parse_count(text)
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A point of a group, as the split numbers them.
#[derive(Debug, Clone, Copy)]
pub struct PointRef<'a> {
    pub group: &'a crate::config::Group,
    pub point: &'a Point,
}

/// Every point of `plan`, in plan order.
pub fn points_of(plan: &Plan) -> Vec<PointRef<'_>> {
    plan.groups
        .iter()
        .flat_map(|group| {
            group
                .points
                .iter()
                .map(move |point| PointRef { group, point })
        })
        .collect()
}

/// A point's name, the same in meta.json and in a cell: `g0-hello-ka-c10` (`-r500` for
/// an open-loop rate), the cell id without the server and the repetition.
pub fn point_id(
    group: usize,
    workload: &str,
    keepalive: bool,
    concurrency: u32,
    rate: Option<crate::config::RateSpec>,
) -> String {
    let rate = rate.map(|r| format!("-{}", r.id())).unwrap_or_default();
    format!(
        "g{group}-{workload}-{}-c{concurrency}{rate}",
        if keepalive { "ka" } else { "noka" }
    )
}

impl PointRef<'_> {
    /// See [`point_id`].
    pub fn id(&self, lab: &Lab) -> String {
        point_id(
            self.group.index,
            &lab.workloads[self.point.workload].name,
            self.point.keepalive,
            self.point.concurrency,
            self.point.rate,
        )
    }
}

/// The ids of the points a shard runs, in plan order.
pub fn shard_point_ids(lab: &Lab, shard: &Shard) -> Vec<String> {
    let plan = shard.select(Plan::new(lab));
    points_of(&plan).iter().map(|p| p.id(lab)).collect()
}

/// `lab check FILE --shard i/N`: what this shard will run, in words.
pub fn describe(lab: &Lab, shard: &Shard) -> String {
    use std::fmt::Write as _;
    let whole = Plan::new(lab);
    let total = points_of(&whole).len();
    let plan = shard.select(whole);
    let points = points_of(&plan);
    let mut s = String::new();
    let range = shard.range(total);
    let _ = writeln!(
        s,
        "shard {shard}: points {}..{} of {total} ({} point(s), {} cell(s)), in {} group(s):",
        range.start,
        range.end,
        points.len(),
        plan.cell_count(),
        plan.groups.len()
    );
    for group in &plan.groups {
        let ids: Vec<String> = points
            .iter()
            .filter(|p| p.group.index == group.index)
            .map(|p| p.id(lab))
            .collect();
        let _ = writeln!(s, "  [{}] {}: {}", group.index, group.label, ids.join(", "));
    }
    s.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab(extra: &str) -> Lab {
        let yaml = format!(
            "name: s\nservers:\n  - {{ name: a, model: async, port: 45000 }}\n  - {{ name: t, model: thread, port: 46000 }}\nresources: {{ cpus: [0.5, 1], memory: 64m }}\nloadgen: {{ requests: 100, concurrency: [1, 10, 20], keepalive: [false, true] }}\nworkloads:\n  - {{ name: hello, path: / }}\n{extra}"
        );
        crate::config::parse(&yaml, "s.yaml", 2).unwrap()
    }

    #[test]
    fn parses_i_of_n_and_refuses_the_rest_in_words() {
        assert_eq!(Shard::parse("0/3"), Ok(Shard { index: 0, count: 3 }));
        assert_eq!(Shard::parse("2/3").unwrap().to_string(), "2/3");
        assert_eq!(
            Shard::parse("3/3").unwrap_err(),
            "`3/3`: shards are numbered 0 to 2 of 3"
        );
        assert!(Shard::parse("1").unwrap_err().contains("is not i/N"));
        assert!(Shard::parse("a/3")
            .unwrap_err()
            .contains("not a shard number"));
        assert!(Shard::parse("0/0")
            .unwrap_err()
            .contains("not a shard count"));
    }

    #[test]
    fn every_point_is_in_exactly_one_shard_and_the_order_is_the_plans() {
        let lab = lab("");
        let all: Vec<String> = points_of(&Plan::new(&lab))
            .iter()
            .map(|p| p.id(&lab))
            .collect();
        assert_eq!(all.len(), 12, "2 groups x 2 keep-alive x 3 concurrencies");
        for count in 1..=12 {
            let joined: Vec<String> = Shard::all(count)
                .flat_map(|s| shard_point_ids(&lab, &s))
                .collect();
            assert_eq!(joined, all, "{count} shards");
            let sizes: Vec<usize> = Shard::all(count)
                .map(|s| shard_point_ids(&lab, &s).len())
                .collect();
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(max - min <= 1, "{count} shards: {sizes:?}");
        }
    }

    #[test]
    fn a_shard_keeps_every_server_and_repetition_of_its_points_and_the_group_index() {
        let lab = lab("repeat: 3\n");
        let whole = Plan::new(&lab);
        let shard = Shard { index: 1, count: 2 };
        let plan = shard.select(whole.clone());
        assert_eq!(plan.groups.len(), 1);
        assert_eq!(plan.groups[0].index, 1, "the second group, index kept");
        assert_eq!(plan.groups[0].instances.len(), 2);
        assert_eq!(plan.cell_count(), 6 * 2 * 3);
        let total: usize = Shard::all(2)
            .map(|s| s.select(whole.clone()).cell_count())
            .sum();
        assert_eq!(total, whole.cell_count());
    }

    #[test]
    fn more_shards_than_points_is_refused() {
        let shard = Shard::parse("0/13").unwrap();
        let e = shard.check_fits(12).unwrap_err();
        assert!(
            e.starts_with("the plan has 12 point(s), too few for 13 shards"),
            "{e}"
        );
        assert!(Shard::parse("0/12").unwrap().check_fits(12).is_ok());
    }

    #[test]
    fn the_description_names_the_points() {
        let lab = lab("");
        let text = describe(&lab, &Shard::parse("0/3").unwrap());
        assert!(
            text.starts_with(
                "shard 0/3: points 0..4 of 12 (4 point(s), 8 cell(s)), in 1 group(s):"
            ),
            "{text}"
        );
        assert!(
            text.contains("g0-hello-noka-c1, g0-hello-noka-c10, g0-hello-noka-c20, g0-hello-ka-c1"),
            "{text}"
        );
    }
}
