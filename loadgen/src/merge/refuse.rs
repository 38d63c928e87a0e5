//! What `lab merge` refuses, each in one line naming the shard folder and what to do.

use std::collections::BTreeMap;
use std::path::Path;

use super::load::ShardDir;
use crate::config::Lab;
use crate::meta::sweep::{Fingerprint, Sweep};
use crate::record::RunStatus;
use crate::shard::{point_id, split::shard_point_ids, Shard};

/// A reason not to merge: bad input, one line (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

/// What the checks found out, for the join.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Indices into the shards given, in shard order.
    pub order: Vec<usize>,
    /// The distinct host fingerprints, by first appearance in shard order (`host A`, ...).
    pub hosts: Vec<Option<Fingerprint>>,
    /// For each shard given, its index into `hosts`.
    pub host_of: Vec<usize>,
    pub lab: Lab,
}

fn sweep(s: &ShardDir) -> Result<&Sweep, Refusal> {
    s.meta.sweep.as_ref().ok_or_else(|| {
        Refusal(format!(
            "{}: not a shard (its meta.json names no split); shards are run with `lab run FILE --shard i/N`",
            s.dir.display()
        ))
    })
}

/// Every check, in the order a user fixes them; the first that fails is the answer.
pub fn check(shards: &[ShardDir], allow_mixed_hosts: bool) -> Result<Checked, Refusal> {
    let first = shards
        .first()
        .ok_or_else(|| Refusal("no shard folders given".into()))?;
    for s in shards {
        let sw = sweep(s)?;
        if s.results.status != RunStatus::Complete {
            return Err(Refusal(format!(
                "{}: shard {} is {}, not complete; rerun it (lab run FILE --shard {}) and merge the new folder",
                s.dir.display(),
                sw.shard,
                s.results.status,
                sw.shard
            )));
        }
    }
    let base = sweep(first)?;
    for s in &shards[1..] {
        same_sweep(first, base, s, sweep(s)?)?;
    }
    let order = complete_split(shards, base.shard.count)?;
    let lab: Lab = serde_json::from_value(first.results.config.clone()).map_err(|e| {
        Refusal(format!(
            "{}: its results.json holds lab settings this lab cannot read ({e})",
            first.dir.display()
        ))
    })?;
    for s in shards {
        points_match(&lab, s, sweep(s)?)?;
    }
    let (hosts, host_of) = hosts(shards, &order, allow_mixed_hosts)?;
    Ok(Checked {
        order,
        hosts,
        host_of,
        lab,
    })
}

/// Same lab file, split, settings and images as the first shard.
fn same_sweep(first: &ShardDir, base: &Sweep, s: &ShardDir, sw: &Sweep) -> Result<(), Refusal> {
    let (a, b) = (first.dir.display(), s.dir.display());
    if sw.lab_sha256 != base.lab_sha256 {
        return Err(Refusal(format!(
            "{b}: shard {} is of another lab file than {a} (sha256 {} vs {})",
            sw.shard,
            short(&sw.lab_sha256),
            short(&base.lab_sha256)
        )));
    }
    if sw.shard.count != base.shard.count {
        return Err(Refusal(format!(
            "{b}: shard {} is of a {}-way split, {a} of a {}-way split",
            sw.shard, sw.shard.count, base.shard.count
        )));
    }
    let differing = differing_settings(&first.results.config, &s.results.config);
    if !differing.is_empty() {
        return Err(Refusal(format!(
            "{b}: shard {} ran other settings than {a} ({}: a command-line override such as --repeat?)",
            sw.shard,
            differing.join(", ")
        )));
    }
    for (image, id) in &base_images(first) {
        match s.meta.images.get(image) {
            Some(other) if other == id => {}
            other => {
                return Err(Refusal(format!(
                    "{b}: shard {} measured another image {image} than {a} ({} vs {}); load the same images on every host (docker save / docker load)",
                    sw.shard,
                    other.map_or("none", |o| short(o)),
                    short(id)
                )))
            }
        }
    }
    if s.meta.images.len() != first.meta.images.len() {
        return Err(Refusal(format!(
            "{b}: shard {} measured other images than {a} ({} vs {})",
            sw.shard,
            s.meta.images.keys().cloned().collect::<Vec<_>>().join(", "),
            first
                .meta
                .images
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(())
}

fn base_images(s: &ShardDir) -> BTreeMap<String, String> {
    s.meta.images.clone()
}

/// `sha256:0123456789ab` → `0123456789ab`: enough to tell ids apart in a message.
fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

/// Top-level settings that differ between two recorded configs (`output` may differ).
fn differing_settings(a: &serde_json::Value, b: &serde_json::Value) -> Vec<String> {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return if a == b {
            Vec::new()
        } else {
            vec!["(all)".into()]
        };
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| *k != "output" && a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// Each shard of the split exactly once; the given shards' indices in shard order.
fn complete_split(shards: &[ShardDir], count: u32) -> Result<Vec<usize>, Refusal> {
    let mut by_index: BTreeMap<u32, usize> = BTreeMap::new();
    for (i, s) in shards.iter().enumerate() {
        let shard = sweep(s)?.shard;
        if let Some(j) = by_index.insert(shard.index, i) {
            return Err(Refusal(format!(
                "shard {shard} is given twice: {} and {}; merge one of them",
                shards[j].dir.display(),
                s.dir.display()
            )));
        }
    }
    let missing: Vec<String> = Shard::all(count)
        .filter(|s| !by_index.contains_key(&s.index))
        .map(|s| s.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(Refusal(format!(
            "shard{} {} of the {count}-way split {} missing; run {} (lab run FILE --shard i/{count}) and give every folder",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", "),
            if missing.len() > 1 { "are" } else { "is" },
            if missing.len() > 1 { "them" } else { "it" },
        )));
    }
    Ok(by_index.into_values().collect())
}

/// The shard ran the points the split gives it, and every cell is of one of them.
fn points_match(lab: &Lab, s: &ShardDir, sw: &Sweep) -> Result<(), Refusal> {
    if shard_point_ids(lab, &sw.shard) != sw.points {
        return Err(Refusal(format!(
            "{}: shard {} ran other points than the split of its lab file gives (written by another lab version?)",
            s.dir.display(),
            sw.shard
        )));
    }
    for c in &s.results.cells {
        let id = point_id(c.group, &c.workload, c.keepalive, c.concurrency, c.rate);
        if !sw.points.contains(&id) {
            return Err(Refusal(format!(
                "{}: cell {} is not of shard {}'s points",
                s.dir.display(),
                c.id,
                sw.shard
            )));
        }
    }
    Ok(())
}

/// The distinct fingerprints in shard order and each shard's; refused when they differ
/// and mixing was not allowed.
fn hosts(
    shards: &[ShardDir],
    order: &[usize],
    allow_mixed_hosts: bool,
) -> Result<(Vec<Option<Fingerprint>>, Vec<usize>), Refusal> {
    let mut hosts: Vec<Option<Fingerprint>> = Vec::new();
    let mut host_of = vec![0; shards.len()];
    for &i in order {
        let print = shards[i].meta.fingerprint.clone();
        let k = match hosts.iter().position(|h| *h == print) {
            Some(k) => k,
            None => {
                hosts.push(print);
                hosts.len() - 1
            }
        };
        host_of[i] = k;
    }
    if hosts.len() > 1 && !allow_mixed_hosts {
        let first = &shards[order[0]];
        let other = order
            .iter()
            .map(|&i| &shards[i])
            .find(|s| s.meta.fingerprint != first.meta.fingerprint)
            .expect("two fingerprints");
        let what = match (&first.meta.fingerprint, &other.meta.fingerprint) {
            (Some(a), Some(b)) => a.differences(b).join("; "),
            _ => "one has no fingerprint".into(),
        };
        return Err(Refusal(format!(
            "{}: shard {} ran on another kind of host than {} ({what}); merge with --allow-mixed-hosts to keep each host's rows apart",
            other.dir.display(),
            other.meta.sweep.as_ref().map_or(String::new(), |s| s.shard.to_string()),
            first.dir.display()
        )));
    }
    Ok((hosts, host_of))
}

/// The output must be a new (or empty) folder: a merge never mixes into an old run.
pub fn fresh_output(output: &Path) -> Result<(), Refusal> {
    let used = std::fs::read_dir(output).is_ok_and(|mut d| d.next().is_some());
    if used || output.is_file() {
        return Err(Refusal(format!(
            "{}: already exists and is not empty; give a new folder to --output",
            output.display()
        )));
    }
    Ok(())
}
