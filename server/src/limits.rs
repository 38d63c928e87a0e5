//! How many threads this process can start, read from the kernel at start.
//!
//! Every thread costs the process a PID (counted by `kernel.pid_max`, `kernel.threads-max`,
//! the container's `pids.max` and `RLIMIT_NPROC`) and four memory maps: its stack and guard
//! page (glibc), and the alternate signal stack and guard page that Rust's std gives every
//! thread it starts, to report stack overflows. A process may hold at most
//! `vm.max_map_count` maps (65,530 by default), so at most about 16,000 threads.
//!
//! Running out is not the same everywhere. Out of PIDs, or out of maps while glibc sets up
//! the stack, `clone` or `pthread_create` fails and [`std::thread::Builder::spawn`] returns
//! an error: the thread model answers 503. But when the stack fits and the two maps of the
//! signal stack do not, the new thread itself fails, and std aborts the whole process
//! ("failed to set up alternative stack guard page"), every connection with it. That
//! cannot be caught, only avoided: [`map_budget`] is the number of threads that surely
//! fit, and the thread model never runs more connection threads than that.

use std::fmt;
use std::fs;

/// Memory maps one thread costs (measured: 4.0 per thread, stacks of any size).
pub const MAPS_PER_THREAD: usize = 4;

/// A bound on the threads this process can start, and what sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadBound {
    pub threads: usize,
    pub by: String,
}

impl fmt::Display for ThreadBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "about {}: {}", self.threads, self.by)
    }
}

/// Threads that surely fit in `vm.max_map_count`, beside the maps the process holds now.
///
/// A share of the maps is kept for everything else (malloc arenas, the stacks of threads
/// that are finishing: a thread gives its maps back a little after it is counted out), a
/// sixteenth of the limit and at least 1024. `None` where the files cannot be read.
pub fn map_budget() -> Option<ThreadBound> {
    let max_maps: usize = read_number("/proc/sys/vm/max_map_count")?;
    let maps_now = fs::read("/proc/self/maps")
        .ok()?
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    Some(maps_budget(max_maps, maps_now))
}

fn maps_budget(max_maps: usize, maps_now: usize) -> ThreadBound {
    let reserve = (max_maps / 16).max(1024);
    ThreadBound {
        threads: max_maps.saturating_sub(maps_now + reserve) / MAPS_PER_THREAD,
        by: format!("vm.max_map_count = {max_maps}, {MAPS_PER_THREAD} maps per thread"),
    }
}

/// The tightest bound on the threads this process can start now: the memory maps, the
/// PIDs left system-wide (`kernel.pid_max`, `kernel.threads-max`), the container's
/// `pids.max`, `RLIMIT_NPROC`. Every figure but the maps is shared with other processes,
/// so this is what is left *now*; `None` if nothing could be read.
pub fn tightest() -> Option<ThreadBound> {
    let mut bounds = vec![map_budget()];
    let in_use = threads_in_system();
    for (file, name) in [
        ("/proc/sys/kernel/threads-max", "kernel.threads-max"),
        ("/proc/sys/kernel/pid_max", "kernel.pid_max"),
    ] {
        bounds.push(left_of(read_number(file), in_use, name));
    }
    bounds.push(cgroup_pids());
    bounds.push(nproc_limit());
    bounds
        .into_iter()
        .flatten()
        .min_by_key(|bound| bound.threads)
}

/// `limit - in_use`, described.
fn left_of(limit: Option<usize>, in_use: Option<usize>, name: &str) -> Option<ThreadBound> {
    let (limit, in_use) = (limit?, in_use?);
    Some(ThreadBound {
        threads: limit.saturating_sub(in_use),
        by: format!("{name} = {limit}, {in_use} in use"),
    })
}

/// Threads running on the whole system: the fourth field of `/proc/loadavg`, `3/512`.
fn threads_in_system() -> Option<usize> {
    let text = fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace()
        .nth(3)?
        .split_once('/')?
        .1
        .parse()
        .ok()
}

/// The container's pids limit (cgroup v2, then v1), if it has one.
fn cgroup_pids() -> Option<ThreadBound> {
    ["/sys/fs/cgroup", "/sys/fs/cgroup/pids"]
        .iter()
        .find_map(|dir| {
            let max = read_number(&format!("{dir}/pids.max"))?;
            let current = read_number(&format!("{dir}/pids.current"));
            left_of(Some(max), current, "the cgroup's pids.max")
        })
}

/// `RLIMIT_NPROC` counts every thread of the user, not only ours: an upper bound.
/// (Not applied to root.)
fn nproc_limit() -> Option<ThreadBound> {
    // SAFETY: plain system calls with a valid out-pointer.
    let (limit, root) = unsafe {
        let mut limit = std::mem::zeroed::<libc::rlimit>();
        let ok = libc::getrlimit(libc::RLIMIT_NPROC, &mut limit) == 0;
        (ok.then_some(limit), libc::geteuid() == 0)
    };
    let limit = limit?;
    if root || limit.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    let threads = usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX);
    Some(ThreadBound {
        threads,
        by: format!("RLIMIT_NPROC = {threads}"),
    })
}

/// The soft limit on open files (`ulimit -n`), if there is one.
pub fn open_files() -> Option<u64> {
    // SAFETY: a plain system call with a valid out-pointer.
    let limit = unsafe {
        let mut limit = std::mem::zeroed::<libc::rlimit>();
        (libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0).then_some(limit)
    }?;
    (limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

/// Warn when `--max-connections` is more than the open-file limit allows: the connections
/// past it are closed at accept (see `FdReserve`), not served.
pub fn warn_if_over_open_files(max_connections: usize) {
    // The listener, stdio, the reserve, a few spare.
    const OTHER_FILES: u64 = 16;
    if let Some(files) = open_files() {
        if max_connections as u64 > files.saturating_sub(OTHER_FILES) {
            tracing::warn!(
                max_connections,
                open_files = files,
                "--max-connections is more than the open-file limit (ulimit -n) allows; \
                 connections past it are closed at accept"
            );
        }
    }
}

fn read_number(path: &str) -> Option<usize> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_budget_keeps_a_reserve() {
        let bound = maps_budget(65_530, 30);
        assert_eq!(bound.threads, (65_530 - 30 - 4_095) / 4);
        assert!(
            bound.to_string().contains("vm.max_map_count = 65530"),
            "{bound}"
        );
        assert_eq!(maps_budget(2_000, 30).threads, (2_000 - 30 - 1_024) / 4);
        assert_eq!(maps_budget(100, 30).threads, 0);
    }

    #[test]
    fn bounds_read_here_are_sane() {
        let budget = map_budget().expect("Linux has /proc/sys/vm/max_map_count");
        assert!(budget.threads > 0, "{budget}");
        let tightest = tightest().expect("some bound");
        assert!(tightest.threads <= budget.threads, "{tightest} vs {budget}");
        assert_eq!(
            left_of(Some(10), Some(12), "x"),
            Some(ThreadBound {
                threads: 0,
                by: "x = 10, 12 in use".into()
            })
        );
    }
}
