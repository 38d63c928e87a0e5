//! A container's cumulative counters read straight from its cgroup files, when the Docker
//! daemon runs on this machine.
//!
//! Docker's one-shot stats endpoint returns the same counters, but on Docker 20.10 a read
//! that follows another within a second waits for the daemon's 1 Hz stats collector: two
//! reads around a 50 ms cell cost up to 2 s. The files are the source of those figures and
//! cost microseconds. They are found through `/proc/<pid>/cgroup` of the container's init
//! process, and used only when that path names the container (same machine, same pid
//! namespace); otherwise the lab falls back to the stats endpoint (see `run::counters`).
//!
//! cgroup v1 (`cpuacct.usage`, `cpu.stat` with `throttled_time`, `memory.max_usage_in_bytes`)
//! and v2 (`cpu.stat` with `usage_usec`/`throttled_usec`, `memory.peak`) give the same
//! [`StatsSample`]. The memory peak is reset before each cell where the kernel allows it
//! (v1: write to `memory.max_usage_in_bytes`; v2: write to `memory.peak`, Linux ≥ 6.12), so
//! it becomes the cell's own peak; [`CgroupFiles::reset_memory_peak`] says whether it did.
//! A v2 reset holds only for reads through the file descriptor that wrote it, so the lab
//! keeps that descriptor open ([`PeakFile`]) and reads the peak through it.
//! `pids.peak` (both versions, recent kernels) cannot be reset; `resources::peak` decides
//! when it is the cell's own.
//!
//! Docker (`/docker/<id>`, `docker-<id>.scope`) and Podman (`/libpod_parent/libpod-<id>`,
//! `libpod-<id>.scope`, possibly with a `container` sub-cgroup) all name the container id in
//! the path, which is what [`locate`] checks.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::engine::{StatsSample, Throttling};

/// Where one container's counters live.
#[derive(Debug, Clone, PartialEq)]
pub enum CgroupFiles {
    V1 {
        cpuacct: PathBuf,
        cpu: PathBuf,
        memory: PathBuf,
        pids: PathBuf,
    },
    V2 {
        dir: PathBuf,
        peak: PeakFile,
    },
}

/// `memory.peak` of a v2 cgroup, opened read-write at the first reset and kept: Linux
/// (≥ 6.12) resets the peak only for reads through the descriptor that wrote the reset.
#[derive(Debug, Clone, Default)]
pub struct PeakFile(Arc<Mutex<Option<File>>>);

impl PartialEq for PeakFile {
    /// A cache of an open file, not part of which cgroup this is.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl PeakFile {
    /// Reset through the kept descriptor (opening it first); `false` when the kernel has no
    /// writable `memory.peak` (before 6.12 it is read-only).
    fn reset(&self, path: &Path) -> bool {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .ok();
        }
        slot.as_mut()
            .is_some_and(|f| f.rewind().and_then(|_| f.write_all(b"0\n")).is_ok())
    }

    /// The peak through the kept descriptor when there is one, else from `path`.
    fn read(&self, path: &Path) -> Option<u64> {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let Some(f) = slot.as_mut() else {
            return read_number(path).ok();
        };
        let mut text = String::new();
        f.rewind().ok()?;
        f.read_to_string(&mut text).ok()?;
        text.split_whitespace().next()?.parse().ok()
    }
}

/// Find the cgroup of the process `pid` of container `container_id` under `root`
/// (normally `/`): `None` when the process is not on this machine or its cgroup does not
/// name the container.
pub fn locate(root: &Path, pid: i64, container_id: &str) -> Option<CgroupFiles> {
    if pid <= 0 || container_id.len() < 12 {
        return None;
    }
    let text = std::fs::read_to_string(root.join(format!("proc/{pid}/cgroup"))).ok()?;
    let fs = root.join("sys/fs/cgroup");
    let mut v1: Vec<(String, String)> = Vec::new();
    let mut v2: Option<String> = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        if !path.contains(container_id) {
            continue;
        }
        if controllers.is_empty() {
            v2 = Some(path.to_string());
        } else {
            for c in controllers.split(',') {
                v1.push((c.to_string(), path.to_string()));
            }
        }
    }
    let v1_dir = |controller: &str| {
        let (_, path) = v1.iter().find(|(c, _)| c == controller)?;
        // The mount point is named after the controller, or after a co-mounted pair.
        [controller, "cpu,cpuacct", "cpuacct,cpu"]
            .iter()
            .map(|m| fs.join(m).join(path.trim_start_matches('/')))
            .find(|d| d.is_dir())
    };
    if let (Some(cpuacct), Some(cpu), Some(memory), Some(pids)) = (
        v1_dir("cpuacct"),
        v1_dir("cpu"),
        v1_dir("memory"),
        v1_dir("pids"),
    ) {
        return Some(CgroupFiles::V1 {
            cpuacct,
            cpu,
            memory,
            pids,
        });
    }
    let dir = fs.join(v2?.trim_start_matches('/'));
    dir.join("cpu.stat").is_file().then_some(CgroupFiles::V2 {
        dir,
        peak: PeakFile::default(),
    })
}

impl CgroupFiles {
    /// The counters now.
    pub fn read(&self) -> Result<StatsSample> {
        let at = Some(Instant::now());
        match self {
            CgroupFiles::V1 {
                cpuacct,
                cpu,
                memory,
                pids,
            } => {
                let stat = read_keyed(&cpu.join("cpu.stat"))?;
                Ok(StatsSample {
                    at,
                    cpu_total_ns: read_number(&cpuacct.join("cpuacct.usage"))?,
                    throttling: Some(Throttling {
                        periods: stat.get("nr_periods"),
                        throttled_periods: stat.get("nr_throttled"),
                        throttled_ns: stat.get("throttled_time"),
                    }),
                    memory_bytes: read_number(&memory.join("memory.usage_in_bytes"))?,
                    memory_max_bytes: read_number(&memory.join("memory.max_usage_in_bytes")).ok(),
                    pids: read_number(&pids.join("pids.current")).unwrap_or(0),
                    pids_max: read_number(&pids.join("pids.peak")).ok(),
                })
            }
            CgroupFiles::V2 { dir, peak } => {
                let stat = read_keyed(&dir.join("cpu.stat"))?;
                Ok(StatsSample {
                    at,
                    cpu_total_ns: stat.get("usage_usec") * 1000,
                    throttling: Some(Throttling {
                        periods: stat.get("nr_periods"),
                        throttled_periods: stat.get("nr_throttled"),
                        throttled_ns: stat.get("throttled_usec") * 1000,
                    }),
                    memory_bytes: read_number(&dir.join("memory.current")).unwrap_or(0),
                    memory_max_bytes: peak.read(&dir.join("memory.peak")),
                    pids: read_number(&dir.join("pids.current")).unwrap_or(0),
                    pids_max: read_number(&dir.join("pids.peak")).ok(),
                })
            }
        }
    }

    /// The CFS bandwidth in force: (period, quota per period) in seconds; quota `None` when
    /// the container has no CPU limit. v1 `cpu.cfs_period_us` and `cpu.cfs_quota_us` (-1:
    /// none); v2 `cpu.max` (`max 100000` or `25000 100000`).
    pub fn bandwidth(&self) -> Result<(f64, Option<f64>)> {
        match self {
            CgroupFiles::V1 { cpu, .. } => {
                let period = read_number(&cpu.join("cpu.cfs_period_us"))? as f64 / 1e6;
                let text = std::fs::read_to_string(cpu.join("cpu.cfs_quota_us"))?;
                let quota = text.trim().parse::<f64>().ok().filter(|q| *q > 0.0);
                Ok((period, quota.map(|q| q / 1e6)))
            }
            CgroupFiles::V2 { dir, .. } => {
                let text = std::fs::read_to_string(dir.join("cpu.max"))?;
                parse_cpu_max(&text)
            }
        }
    }

    /// Only the CPU counters (what a per-period reading during a cell needs): cheaper than
    /// [`CgroupFiles::read`], which also reads memory and pids.
    pub fn read_cpu(&self) -> Result<crate::record::CounterSample> {
        let at_unix_s = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let (cpu_ns, stat) = match self {
            CgroupFiles::V1 { cpuacct, cpu, .. } => (
                read_number(&cpuacct.join("cpuacct.usage"))?,
                read_keyed(&cpu.join("cpu.stat"))?,
            ),
            CgroupFiles::V2 { dir, .. } => {
                let stat = read_keyed(&dir.join("cpu.stat"))?;
                (stat.get("usage_usec") * 1000, stat)
            }
        };
        Ok(crate::record::CounterSample {
            at_unix_s,
            cpu_s: cpu_ns as f64 / 1e9,
            periods: stat.get("nr_periods"),
            throttled: stat.get("nr_throttled"),
        })
    }

    /// Reset the memory peak so the next read's peak is this interval's; `false` when the
    /// kernel or the permissions do not allow it (the peak is then "since start"), or the
    /// file does not exist (it is never created).
    pub fn reset_memory_peak(&self) -> bool {
        match self {
            CgroupFiles::V1 { memory, .. } => std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(memory.join("memory.max_usage_in_bytes"))
                .and_then(|mut f| f.write_all(b"0\n"))
                .is_ok(),
            CgroupFiles::V2 { dir, peak } => peak.reset(&dir.join("memory.peak")),
        }
    }
}

/// cgroup v2 `cpu.max`: `QUOTA PERIOD` in µs, `max` for no quota.
fn parse_cpu_max(text: &str) -> Result<(f64, Option<f64>)> {
    let mut parts = text.split_whitespace();
    let quota = parts.next().context("cpu.max is empty")?;
    let period: f64 = parts
        .next()
        .and_then(|p| p.parse().ok())
        .context("cpu.max has no period")?;
    let quota = quota.parse::<f64>().ok().map(|q| q / 1e6);
    Ok((period / 1e6, quota))
}

/// `key value` lines (cpu.stat).
struct Keyed(Vec<(String, u64)>);

impl Keyed {
    fn get(&self, key: &str) -> u64 {
        self.0.iter().find(|(k, _)| k == key).map_or(0, |(_, v)| *v)
    }
}

fn read_keyed(path: &Path) -> Result<Keyed> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(Keyed(
        text.lines()
            .filter_map(|l| {
                let (k, v) = l.split_once(' ')?;
                Some((k.to_string(), v.trim().parse().ok()?))
            })
            .collect(),
    ))
}

fn read_number(path: &Path) -> Result<u64> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.trim()
        .parse()
        .with_context(|| format!("{} does not hold a number", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "ab4670b8a41ea4cda9923963ebf578b80558788fc3b16e3747eb0e1fa94067f8";
    const THROTTLING: Throttling = Throttling {
        periods: 10,
        throttled_periods: 3,
        throttled_ns: 5000,
    };

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn reads_the_bandwidth_of_both_versions() {
        assert_eq!(parse_cpu_max("25000 100000\n").unwrap(), (0.1, Some(0.025)));
        assert_eq!(parse_cpu_max("max 50000\n").unwrap(), (0.05, None));
        assert!(parse_cpu_max("").is_err());
        let root = tempfile::tempdir().unwrap();
        let cpu = root.path().join("cpu");
        write(root.path(), "cpu/cpu.cfs_period_us", "100000\n");
        write(root.path(), "cpu/cpu.cfs_quota_us", "-1\n");
        let v1 = CgroupFiles::V1 {
            cpuacct: cpu.clone(),
            cpu: cpu.clone(),
            memory: cpu.clone(),
            pids: cpu.clone(),
        };
        assert_eq!(v1.bandwidth().unwrap(), (0.1, None));
        write(root.path(), "cpu/cpu.cfs_quota_us", "10000\n");
        assert_eq!(v1.bandwidth().unwrap(), (0.1, Some(0.01)));
        write(root.path(), "cpu/cpuacct.usage", "2500000000\n");
        write(
            root.path(),
            "cpu/cpu.stat",
            "nr_periods 40\nnr_throttled 12\nthrottled_time 9\n",
        );
        let s = v1.read_cpu().unwrap();
        assert_eq!((s.cpu_s, s.periods, s.throttled), (2.5, 40, 12));
    }

    /// A cgroup v1 host as Docker 20.10 with the cgroupfs driver lays it out.
    #[test]
    fn reads_a_v1_container() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let mut proc = String::new();
        for (i, c) in ["cpu", "cpuacct", "memory", "pids"].iter().enumerate() {
            proc.push_str(&format!("{}:{c}:/docker/{ID}\n", i + 1));
        }
        proc.push_str("0::/docker/other\n");
        write(r, "proc/42/cgroup", &proc);
        let d = format!("docker/{ID}");
        write(
            r,
            &format!("sys/fs/cgroup/cpuacct/{d}/cpuacct.usage"),
            "24268151\n",
        );
        write(
            r,
            &format!("sys/fs/cgroup/cpu/{d}/cpu.stat"),
            "nr_periods 10\nnr_throttled 3\nthrottled_time 5000\nnr_bursts 0\n",
        );
        write(
            r,
            &format!("sys/fs/cgroup/memory/{d}/memory.usage_in_bytes"),
            "1000\n",
        );
        write(
            r,
            &format!("sys/fs/cgroup/memory/{d}/memory.max_usage_in_bytes"),
            "4000\n",
        );
        write(r, &format!("sys/fs/cgroup/pids/{d}/pids.current"), "7\n");
        let files = locate(r, 42, ID).expect("located");
        assert!(matches!(files, CgroupFiles::V1 { .. }));
        let s = files.read().unwrap();
        assert_eq!(s.cpu_total_ns, 24268151);
        assert_eq!(s.throttling, Some(THROTTLING));
        assert_eq!(
            (s.memory_bytes, s.memory_max_bytes, s.pids, s.pids_max),
            (1000, Some(4000), 7, None)
        );
        assert!(files.reset_memory_peak());
        assert_eq!(files.read().unwrap().memory_max_bytes, Some(0));
        // Another container's process, or no process: not located.
        assert_eq!(locate(r, 42, "0123456789abcdef"), None);
        assert_eq!(locate(r, 43, ID), None);
    }

    /// The same figures from a cgroup v2 host (systemd driver: docker-<id>.scope).
    #[test]
    fn reads_a_v2_container_in_the_same_units() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let scope = format!("system.slice/docker-{ID}.scope");
        write(r, "proc/42/cgroup", &format!("0::/{scope}\n"));
        write(
            r,
            &format!("sys/fs/cgroup/{scope}/cpu.stat"),
            "usage_usec 24268\nuser_usec 20000\nsystem_usec 4268\nnr_periods 10\nnr_throttled 3\nthrottled_usec 5\n",
        );
        write(
            r,
            &format!("sys/fs/cgroup/{scope}/memory.current"),
            "1000\n",
        );
        write(r, &format!("sys/fs/cgroup/{scope}/memory.peak"), "4000\n");
        write(r, &format!("sys/fs/cgroup/{scope}/pids.current"), "7\n");
        write(r, &format!("sys/fs/cgroup/{scope}/pids.peak"), "9\n");
        let files = locate(r, 42, ID).expect("located");
        let s = files.read().unwrap();
        assert_eq!(s.cpu_total_ns, 24_268_000);
        assert_eq!(s.throttling, Some(THROTTLING));
        assert_eq!(
            (s.memory_bytes, s.memory_max_bytes, s.pids, s.pids_max),
            (1000, Some(4000), 7, Some(9))
        );
        // The reset goes through a descriptor that later reads use too (the kernel resets
        // v2's peak per descriptor).
        assert!(files.reset_memory_peak());
        assert_eq!(files.read().unwrap().memory_max_bytes, Some(0));
        let CgroupFiles::V2 { peak, .. } = &files else {
            unreachable!()
        };
        assert!(peak.0.lock().unwrap().is_some());
    }

    /// Podman 4.3 with the cgroupfs manager on cgroup v1, as on the machine this was
    /// written on: `/libpod_parent/libpod-<id>` in every hierarchy, and `pids.peak`.
    #[test]
    fn reads_a_podman_container() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        let d = format!("libpod_parent/libpod-{ID}");
        let mut proc = String::new();
        for (i, c) in ["cpu", "cpuacct", "cpuset", "memory", "pids"]
            .iter()
            .enumerate()
        {
            proc.push_str(&format!("{}:{c}:/{d}\n", i + 1));
        }
        proc.push_str(&format!("0::/{d}\n"));
        write(r, "proc/7/cgroup", &proc);
        write(
            r,
            &format!("sys/fs/cgroup/cpuacct/{d}/cpuacct.usage"),
            "5\n",
        );
        write(
            r,
            &format!("sys/fs/cgroup/cpu/{d}/cpu.stat"),
            "nr_periods 10\nnr_throttled 3\nthrottled_time 5000\n",
        );
        write(
            r,
            &format!("sys/fs/cgroup/memory/{d}/memory.usage_in_bytes"),
            "1\n",
        );
        write(r, &format!("sys/fs/cgroup/pids/{d}/pids.current"), "2\n");
        write(r, &format!("sys/fs/cgroup/pids/{d}/pids.peak"), "6\n");
        let files = locate(r, 7, ID).expect("located");
        let s = files.read().unwrap();
        assert_eq!((s.cpu_total_ns, s.pids, s.pids_max), (5, 2, Some(6)));
        assert_eq!(s.throttling, Some(THROTTLING));
        // No memory.max_usage_in_bytes: no kernel memory peak, and none reset.
        assert_eq!(s.memory_max_bytes, None);
        assert!(!files.reset_memory_peak());
    }
}
