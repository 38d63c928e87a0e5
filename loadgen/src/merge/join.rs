//! The merged run: one results.json with every shard's cells in shard order (which is the
//! unsharded run's order: see `shard::split`), one meta.json listing the shards, and every
//! shard's raw outputs in one `raw/`.

use std::path::Path;

use anyhow::{Context, Result};

use super::load::ShardDir;
use super::refuse::{Checked, Refusal};
use crate::meta::sweep::{Fingerprint, ShardRun};
use crate::meta::Meta;
use crate::record::Results;

/// A shard's `--confirm` checks, for the merged run: with their rows (labelled with the
/// shard's host when hosts are mixed), without links to their control and counterfactual
/// runs, which stay in the shard's folder (the merged run does not copy them).
fn confirmations(shard: &Results, host: Option<&str>) -> Vec<crate::record::Confirmation> {
    shard
        .confirmations
        .iter()
        .map(|c| {
            let mut c = c.clone();
            if let Some(host) = host {
                c.row.group_label = format!("{} · {host}", c.row.group_label);
            }
            c.run.clear();
            c.control_run.clear();
            c
        })
        .collect()
}

/// The merged results.json and meta.json.
pub fn join(shards: &[ShardDir], checked: &Checked, output: &Path) -> Result<(Results, Meta)> {
    let run_id = output
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "merged".into());
    let first = &shards[checked.order[0]];
    let mixed = checked.hosts.len() > 1;
    let mut results = first.results.clone();
    results.run_id = run_id.clone();
    results.cells.clear();
    results.server_failures.clear();
    results.confirmations.clear();
    let mut ids = std::collections::BTreeSet::new();
    for &i in &checked.order {
        let s = &shards[i];
        let host = Fingerprint::letter(checked.host_of[i]);
        for cell in &s.results.cells {
            if !ids.insert(cell.id.clone()) {
                return Err(Refusal(format!(
                    "{}: cell {} is in another shard too",
                    s.dir.display(),
                    cell.id
                ))
                .into());
            }
            let mut cell = cell.clone();
            if mixed {
                // Each host's rows apart: a series (and so a table, a chart, a ratio) is
                // one resource group on one host.
                cell.group_label = format!("{} · {host}", cell.group_label);
            }
            results.cells.push(cell);
        }
        results
            .server_failures
            .extend(s.results.server_failures.iter().cloned());
        results
            .confirmations
            .extend(confirmations(&s.results, mixed.then_some(host.as_str())));
    }
    let times = |pick: fn(&Results) -> Option<&String>| -> Vec<String> {
        checked
            .order
            .iter()
            .filter_map(|&i| pick(&shards[i].results).cloned())
            .collect()
    };
    results.started_at = times(|r| Some(&r.started_at))
        .into_iter()
        .min()
        .unwrap_or_default();
    results.finished_at = times(|r| r.finished_at.as_ref()).into_iter().max();
    if checked
        .order
        .iter()
        .any(|&i| shards[i].results.placement != first.results.placement)
    {
        // Several hosts: the Shards section says which ran what.
        results.placement = None;
    }

    let mut meta = first.meta.clone();
    meta.run_id = run_id;
    meta.lab_file = output.join("lab.yaml").display().to_string();
    meta.load_average_start = None;
    meta.load_average_end = None;
    meta.sweep = None;
    meta.fingerprint = if mixed {
        None
    } else {
        first.meta.fingerprint.clone()
    };
    meta.shards = checked
        .order
        .iter()
        .map(|&i| shard_run(&shards[i], Fingerprint::letter(checked.host_of[i])))
        .collect();
    Ok((results, meta))
}

fn shard_run(s: &ShardDir, host: String) -> ShardRun {
    let sweep = s.meta.sweep.clone().expect("checked: a shard");
    let servers = s.meta.hosts.as_ref().map(|h| &h.servers);
    ShardRun {
        shard: sweep.shard,
        run_id: s.results.run_id.clone(),
        dir: s.dir.display().to_string(),
        hostname: servers.map(|h| h.hostname.clone()).unwrap_or_default(),
        endpoint: servers.map(|h| h.endpoint.clone()).unwrap_or_default(),
        host,
        fingerprint: s.meta.fingerprint.clone(),
        points: sweep.points,
        cells: s.results.cells.len(),
        started_at: s.results.started_at.clone(),
        finished_at: s.results.finished_at.clone(),
        wall_s: s
            .results
            .finished_at
            .as_deref()
            .and_then(|end| seconds_between(&s.results.started_at, end)),
    }
}

/// Seconds from one `YYYY-MM-DDTHH:MM:SSZ` time (as `clock` writes them) to another.
pub fn seconds_between(start: &str, end: &str) -> Option<f64> {
    Some((unix(end)? - unix(start)?) as f64)
}

/// `2026-12-03T20:15:06Z` → seconds since 1970 (days from civil, Howard Hinnant's).
fn unix(t: &str) -> Option<i64> {
    let t = t.strip_suffix('Z')?;
    let (date, time) = t.split_once('T')?;
    let d: Vec<i64> = date
        .split('-')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let h: Vec<i64> = time
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let [y, m, day] = <[i64; 3]>::try_from(d).ok()?;
    let [hh, mm, ss] = <[i64; 3]>::try_from(h).ok()?;
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// The lab file (the first shard's copy) and every shard's raw outputs.
pub fn copy_files(shards: &[ShardDir], output: &Path) -> Result<()> {
    let first = &shards[0];
    let lab = first.dir.join("lab.yaml");
    if lab.is_file() {
        std::fs::copy(&lab, output.join("lab.yaml"))
            .with_context(|| format!("copying {}", lab.display()))?;
    }
    for s in shards {
        let raw = s.dir.join("raw");
        let Ok(entries) = std::fs::read_dir(&raw) else {
            continue;
        };
        for e in entries.flatten() {
            let to = output.join("raw").join(e.file_name());
            if to.exists() {
                return Err(Refusal(format!(
                    "{}: raw/{} is in another shard too",
                    s.dir.display(),
                    e.file_name().to_string_lossy()
                ))
                .into());
            }
            std::fs::copy(e.path(), &to)
                .with_context(|| format!("copying {}", e.path().display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Utc;

    #[test]
    fn times_read_back_as_written() {
        for secs in [0, 1_709_210_096, 1_796_328_906] {
            assert_eq!(unix(&Utc::from_unix(secs).rfc3339()), Some(secs));
        }
        assert_eq!(
            seconds_between("2026-12-03T23:59:30Z", "2026-12-04T00:01:00Z"),
            Some(90.0)
        );
        assert_eq!(unix("yesterday"), None);
    }
}
