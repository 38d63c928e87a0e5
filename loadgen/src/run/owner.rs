//! Who owns a run: a unique run folder created atomically, and a lock held on a file in it
//! for as long as the `lab` process lives.
//!
//! Containers and networks carry the label `lab.owner=<host>:<run folder>`. A later `lab
//! run` or `lab clean` on the same host decides whether that owner is gone by trying the
//! lock: the kernel drops an `flock` when its process dies, however it dies (SIGKILL
//! included), so the answer survives PID reuse and PID namespaces, where a PID label did
//! not. Objects of another host are never judged from here (`lab clean --all` removes them).

use std::collections::HashMap;
use std::fs::File;
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};

use crate::clock::Utc;
use crate::config::Lab;
use crate::pin::cpuset_cpus;

/// Label naming the owner of an object: `<hostname>:<absolute run folder>`.
pub const OWNER_LABEL: &str = "lab.owner";
/// The lock file inside a run folder.
const LOCK_FILE: &str = ".lock";

/// The identity of a run, known before it starts so Ctrl-C can clean up after it.
#[derive(Debug, Clone)]
pub struct RunId {
    pub id: String,
    pub dir: PathBuf,
}

/// A run's folder, created and locked; the lock lasts as long as this value.
#[derive(Debug)]
pub struct OwnedRun {
    pub id: RunId,
    _lock: File,
}

impl OwnedRun {
    /// Create `<output>/<yyyymmdd-hhmmss>-<name>[-N]` atomically (two runs started in the
    /// same second get different folders) and lock it.
    pub fn create(lab: &Lab) -> Result<OwnedRun> {
        OwnedRun::create_suffixed(lab, "")
    }

    /// [`OwnedRun::create`] with `suffix` after the name: a shard's folder says which shard
    /// it is (`<time>-<name>-shard-1-of-3`), so shards of one sweep can share an output.
    pub fn create_suffixed(lab: &Lab, suffix: &str) -> Result<OwnedRun> {
        std::fs::create_dir_all(&lab.output)
            .with_context(|| format!("cannot create the output folder {}", lab.output.display()))?;
        let base = format!("{}-{}{suffix}", Utc::now().compact(), lab.name);
        for n in 1..10_000 {
            let id = if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            let dir = lab.output.join(&id);
            match std::fs::create_dir(&dir) {
                Ok(()) => {
                    let lock = lock(&dir)?
                        .ok_or_else(|| anyhow!("{} is locked by another run", dir.display()))?;
                    return Ok(OwnedRun {
                        id: RunId { id, dir },
                        _lock: lock,
                    });
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot create {}", dir.display()))
                }
            }
        }
        Err(anyhow!(
            "no free run folder name under {}",
            lab.output.display()
        ))
    }

    /// The owner label value for this run's objects.
    pub fn label(&self) -> String {
        let dir = self
            .id
            .dir
            .canonicalize()
            .unwrap_or_else(|_| self.id.dir.clone());
        format!("{}:{}", hostname(), dir.display())
    }
}

/// Take the lock of a run folder: `Ok(Some)` held, `Ok(None)` someone else holds it.
fn lock(dir: &Path) -> Result<Option<File>> {
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    // SAFETY: flock on a descriptor we own; no memory is involved.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        Ok(Some(file))
    } else if std::io::Error::last_os_error().kind() == ErrorKind::WouldBlock {
        Ok(None)
    } else {
        Err(std::io::Error::last_os_error()).with_context(|| format!("locking {}", path.display()))
    }
}

/// Is the run folder's owner gone? True when nobody holds its lock (or it has none).
pub fn run_is_dead(dir: &Path) -> bool {
    if !dir.join(LOCK_FILE).exists() {
        return true;
    }
    matches!(lock(dir), Ok(Some(_)))
}

/// Is the `lab` process that owns an object with these labels gone, as far as this host
/// can tell? An object of an older lab version carries `lab.pid` instead: it is gone when
/// that process is (the best that version allows); an object with neither is a leftover.
pub fn owner_is_gone(labels: &HashMap<String, String>) -> bool {
    match labels.get(OWNER_LABEL).and_then(|o| o.split_once(':')) {
        Some((host, dir)) if host == hostname() => run_is_dead(Path::new(dir)),
        Some(_) => false,
        None => match labels
            .get(LEGACY_PID_LABEL)
            .and_then(|p| p.parse::<u32>().ok())
        {
            Some(pid) => !Path::new(&format!("/proc/{pid}")).exists(),
            None => true,
        },
    }
}

/// The owner label of lab versions before `lab.owner`: the owning process's PID.
const LEGACY_PID_LABEL: &str = "lab.pid";

/// The run folder named by an object's owner label, when it is on this host.
pub fn owner_dir(labels: &HashMap<String, String>) -> Option<PathBuf> {
    let (host, dir) = labels.get(OWNER_LABEL)?.split_once(':')?;
    (host == hostname()).then(|| PathBuf::from(dir))
}

/// Other live lab runs (their owner still holds its lock, or is on another host) with a
/// running container on one of `cpusets` (`None`: every CPU), on any of `engines`: one
/// `run ID on CPUs X` each. Two labs on the same CPUs measure each other (seen: 1.70× and
/// 1.83× for a 1.20× ratio), and nothing in either's figures shows it.
pub async fn neighbours(
    engines: &[&dyn crate::engine::Engine],
    own_run: &str,
    cpusets: &[Option<&str>],
) -> Vec<String> {
    let mut found = std::collections::BTreeSet::new();
    for engine in engines {
        let Ok(others) = engine.other_runs(own_run).await else {
            continue;
        };
        for (labels, cpuset) in others {
            let shares = cpusets.iter().any(|mine| overlap(*mine, &cpuset));
            if shares && !owner_is_gone(&labels) {
                let run = labels
                    .get(crate::engine::RUN_LABEL)
                    .cloned()
                    .unwrap_or_default();
                let cpus = if cpuset.is_empty() {
                    "all"
                } else {
                    cpuset.as_str()
                };
                found.insert(format!("run {run} on CPUs {cpus}"));
            }
        }
    }
    found.into_iter().collect()
}

/// Do two cpusets share a CPU? `None` or `""` is every CPU; one that does not parse is
/// taken to overlap.
fn overlap(mine: Option<&str>, theirs: &str) -> bool {
    let (Some(mine), false) = (mine.filter(|m| !m.is_empty()), theirs.is_empty()) else {
        return true;
    };
    match (cpuset_cpus(mine), cpuset_cpus(theirs)) {
        (Some(a), Some(b)) => !a.is_disjoint(&b),
        _ => true,
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab_in(dir: &Path) -> Lab {
        let text = format!(
            "name: t\noutput: {}\nservers: [{{ name: a, model: async, port: 45000 }}]\nresources: {{ cpus: 1, memory: 64m }}\nloadgen: {{ requests: 10, concurrency: 1 }}\nworkloads: [{{ name: h, path: / }}]\n",
            dir.display()
        );
        let file = dir.join("lab.yaml");
        std::fs::write(&file, text).unwrap();
        crate::config::load(&file, 2).unwrap()
    }

    #[test]
    fn runs_started_together_get_distinct_locked_folders() {
        let tmp = tempfile::tempdir().unwrap();
        let lab = lab_in(tmp.path());
        let a = OwnedRun::create(&lab).unwrap();
        let b = OwnedRun::create(&lab).unwrap();
        assert_ne!(a.id.dir, b.id.dir);
        assert!(!run_is_dead(&a.id.dir), "a live run holds its lock");
        let labels = HashMap::from([(OWNER_LABEL.to_string(), a.label())]);
        assert!(!owner_is_gone(&labels));
        assert_eq!(
            owner_dir(&labels).unwrap(),
            a.id.dir.canonicalize().unwrap()
        );
        drop(a);
        assert!(owner_is_gone(&labels), "the lock goes with its owner");
    }

    #[test]
    fn cpusets_overlap_when_they_share_a_cpu_or_either_is_every_cpu() {
        assert!(overlap(Some("0"), "0-1"));
        assert!(!overlap(Some("0"), "1"));
        assert!(!overlap(Some("0-1,4"), "2-3,5"));
        assert!(overlap(None, "1"));
        assert!(overlap(Some("1"), ""));
        assert!(overlap(Some("x"), "1"));
    }

    #[test]
    fn another_hosts_objects_are_not_judged_here() {
        let other = HashMap::from([(OWNER_LABEL.to_string(), "elsewhere:/r/x".to_string())]);
        assert!(!owner_is_gone(&other));
        assert!(owner_dir(&other).is_none());
        assert!(owner_is_gone(&HashMap::new()));
        // An older lab's run, still alive (this very process), is left alone.
        let legacy =
            HashMap::from([(LEGACY_PID_LABEL.to_string(), std::process::id().to_string())]);
        assert!(!owner_is_gone(&legacy));
    }
}
