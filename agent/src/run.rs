//! `lab-agent run`: the tool as a measured child.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::{http, RunReport};

/// What to run and what to gather around it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunSpec {
    pub program: String,
    pub args: Vec<String>,
    /// More commands (program first) started together with the first one (`--and`): a
    /// single-threaded tool (ab) run as several processes to use more than one core.
    pub also: Vec<Vec<String>>,
    /// Metrics URLs scraped just before the tools start and just after the last exits.
    pub scrapes: Vec<String>,
    /// Files each tool writes (ab's `-e` CSV, ...): read after it exits, then removed. A
    /// relative path is in the process's own work folder (see [`WorkDirs`]), so processes
    /// of one run can write files of the same name.
    pub collect: Vec<String>,
    /// Kill the tools (SIGKILL) when they run longer than this.
    pub timeout: Option<Duration>,
    /// Start the tool only while the wall clock's fraction of a second is within
    /// `[lo, hi]` (else wait for the next `lo`). A tool that stamps its requests with whole
    /// seconds (ab's `-g`) then has at least `1 - hi` s of start-up before its first whole
    /// second, and requests of up to `lo` s that start in its last whole second still end
    /// before a timed run of `T` s stops: such a run always holds `T - 1` whole seconds of
    /// steady load. Costs `lo² / 2 + (1 - hi)(lo + (1 - hi) / 2)` s of waiting on average.
    pub start_between: Option<(f64, f64)>,
    /// Start the tools at this wall-clock time (Unix seconds; at once when it has passed):
    /// how agents on several load generator hosts start one cell together. Wins over
    /// `start_between` (the lab picks a time inside that window).
    pub start_at: Option<f64>,
}

impl RunSpec {
    /// Every command of the run (program first), the first one first.
    fn commands(&self) -> Vec<Vec<String>> {
        let first = std::iter::once(self.program.clone()).chain(self.args.iter().cloned());
        std::iter::once(first.collect())
            .chain(self.also.iter().cloned())
            .collect()
    }
}

/// Runs started by this agent process: each run's work folders are its own.
static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The work folders of one run: one per process, created empty before the run and removed
/// after it, so what a tool leaves there is its own.
struct WorkDirs(Vec<PathBuf>);

impl WorkDirs {
    fn new(processes: usize) -> WorkDirs {
        let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dirs = (1..=processes)
            .map(|i| {
                let name = format!("lab-run-{}-{run}-{i}", std::process::id());
                let dir = std::env::temp_dir().join(name);
                let _ = std::fs::remove_dir_all(&dir);
                // Where no folder can be made, the tool runs in the temp folder itself.
                match std::fs::create_dir_all(&dir) {
                    Ok(()) => dir,
                    Err(_) => std::env::temp_dir(),
                }
            })
            .collect();
        WorkDirs(dirs)
    }
}

impl Drop for WorkDirs {
    fn drop(&mut self) {
        for dir in self.0.iter().filter(|d| **d != std::env::temp_dir()) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Seconds since the Unix epoch on this machine's wall clock (the clock the tool's own
/// timestamps use).
fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Sleep until the wall clock's fraction of a second is within `[lo, hi]` (0 ≤ lo < hi < 1).
fn wait_for_fraction(lo: f64, hi: f64) {
    let frac = unix_now().fract();
    let wait = if frac < lo {
        lo - frac
    } else if frac > hi {
        1.0 - frac + lo
    } else {
        0.0
    };
    if wait > 0.0 {
        thread::sleep(Duration::from_secs_f64(wait));
    }
}

/// Sleep until the wall clock reads `at` (Unix seconds).
fn wait_until(at: f64) {
    let wait = at - unix_now();
    if wait > 0.0 {
        thread::sleep(Duration::from_secs_f64(wait));
    }
}

/// One started process: its pid, when it started, and the threads draining its output.
struct Started {
    pid: libc::pid_t,
    at: Instant,
    stdout: thread::JoinHandle<String>,
    stderr: thread::JoinHandle<String>,
}

/// Run the tools, wait for them all, and report. Never panics on a tool's behalf: a tool
/// that cannot start is a report with `spawn_error`.
pub fn run(spec: &RunSpec) -> RunReport {
    let scrapes_before = scrape_all(&spec.scrapes);
    let commands = spec.commands();
    let dirs = WorkDirs::new(commands.len());
    for path in spec.collect.iter().filter(|p| Path::new(p).is_absolute()) {
        let _ = std::fs::remove_file(path);
    }
    match (spec.start_at, spec.start_between) {
        (Some(at), _) => wait_until(at),
        (None, Some((lo, hi))) => wait_for_fraction(lo, hi),
        (None, None) => {}
    }
    let started_unix_s = Some(unix_now());
    let mut reports: Vec<RunReport> = Vec::new();
    let mut started: Vec<Option<Started>> = Vec::new();
    for (i, cmd) in commands.iter().enumerate() {
        let (report, process) = spawn(cmd, &dirs.0[i]);
        reports.push(report);
        started.push(process);
    }
    let pids: Vec<libc::pid_t> = started.iter().flatten().map(|s| s.pid).collect();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let watchdog = spec.timeout.map(|limit| {
        thread::spawn(move || {
            let expired = done_rx.recv_timeout(limit).is_err();
            if expired {
                for pid in pids {
                    // SAFETY: kill(2) has no memory effects. A process is reaped only by
                    // its waiter below; one reaped already is gone, and its pid is not
                    // reused within the moments between.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
            expired
        })
    });
    let waiters: Vec<_> = started
        .into_iter()
        .map(|s| s.map(|s| thread::spawn(move || (reap(s.pid), s.at.elapsed(), s))))
        .collect();
    let mut finished = Vec::new();
    for (report, waiter) in reports.iter_mut().zip(waiters) {
        if let Some(w) = waiter {
            finished.push((report, w.join()));
        }
    }
    let ended_unix_s = Some(unix_now());
    let _ = done_tx.send(());
    let timed_out = watchdog.is_some_and(|w| w.join().unwrap_or(false));
    for (report, joined) in finished {
        let Ok((reaped, wall, s)) = joined else {
            continue;
        };
        report.wall_s = wall.as_secs_f64();
        report.timed_out = timed_out;
        finish(report, reaped, s);
    }
    for (i, report) in reports.iter_mut().enumerate() {
        report.started_unix_s = started_unix_s;
        report.ended_unix_s = ended_unix_s;
        report.files = collect(&spec.collect, &dirs.0[i]);
    }
    let mut reports = reports.into_iter();
    let mut first = reports.next().unwrap_or_default();
    first.others = reports.collect();
    first.scrapes_before = scrapes_before;
    first.scrapes_after = scrape_all(&spec.scrapes);
    first
}

/// Start one command in `dir` with its output drained; a command that cannot start is a
/// report with `spawn_error` and no process.
fn spawn(cmd: &[String], dir: &Path) -> (RunReport, Option<Started>) {
    let mut report = RunReport::default();
    let program = cmd.first().cloned().unwrap_or_default();
    let at = Instant::now();
    let child = Command::new(&program)
        .args(&cmd[1.min(cmd.len())..])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    match child {
        Ok(mut c) => {
            // Drain both pipes while the tool runs: a full pipe would block it.
            let process = Started {
                pid: c.id() as libc::pid_t,
                at,
                stdout: drain(c.stdout.take()),
                stderr: drain(c.stderr.take()),
            };
            (report, Some(process))
        }
        Err(e) => {
            report.spawn_error = Some(format!("cannot run {program}: {e}"));
            (report, None)
        }
    }
}

/// A reaped process's exit, rusage and output into its report.
fn finish(report: &mut RunReport, reaped: std::io::Result<(i32, libc::rusage)>, s: Started) {
    match reaped {
        Ok((status, usage)) => {
            if libc::WIFEXITED(status) {
                report.exit_code = Some(libc::WEXITSTATUS(status));
            }
            if libc::WIFSIGNALED(status) {
                report.signal = Some(libc::WTERMSIG(status));
            }
            let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
            report.user_s = secs(usage.ru_utime);
            report.sys_s = secs(usage.ru_stime);
            report.max_rss_kib = usage.ru_maxrss;
        }
        Err(e) => report.spawn_error = Some(format!("waiting for the tool: {e}")),
    }
    report.stdout = s.stdout.join().unwrap_or_default();
    report.stderr = s.stderr.join().unwrap_or_default();
}

/// Wait for one child and take its exit status and its own rusage (`wait4`): exact per
/// process, the children it waited for included.
fn reap(pid: libc::pid_t) -> std::io::Result<(i32, libc::rusage)> {
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: wait4 writes into the two locals we pass; `pid` is our own child.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            return Ok((status, usage));
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// The `--collect` files a process left (relative paths in its work folder), read and
/// removed.
fn collect(paths: &[String], dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for path in paths {
        let full = dir.join(path);
        if let Ok(text) = std::fs::read_to_string(&full) {
            files.insert(path.clone(), text);
            let _ = std::fs::remove_file(&full);
        }
    }
    files
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn scrape_all(urls: &[String]) -> Vec<crate::Fetch> {
    urls.iter().map(|u| http::get(u, Duration::ZERO)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(program: &str, args: &[&str]) -> RunSpec {
        RunSpec {
            program: program.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            ..RunSpec::default()
        }
    }

    // One test: RUSAGE_CHILDREN is per process, so runs in parallel threads would mix.
    #[test]
    fn runs_measures_collects_and_times_out() {
        // Output, exit code, and a collected file that is removed afterwards.
        let dir = std::env::temp_dir().join(format!("lab-agent-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("out.csv").display().to_string();
        let mut s = spec(
            "sh",
            &[
                "-c",
                &format!("echo hi; echo oops >&2; echo 1,2 > {file}; exit 3"),
            ],
        );
        s.collect = vec![file.clone()];
        let r = run(&s);
        assert_eq!((r.exit_code, r.signal, r.timed_out), (Some(3), None, false));
        assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("hi\n", "oops\n"));
        assert_eq!(r.files.get(&file).map(String::as_str), Some("1,2\n"));
        assert!(!std::path::Path::new(&file).exists());

        // CPU time is the child's: a busy loop shows up in its user time.
        let r = run(&spec(
            "sh",
            &["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"],
        ));
        assert_eq!(r.exit_code, Some(0));
        assert!(r.cpu_s() > 0.01, "cpu {}", r.cpu_s());
        assert!(
            r.cpu_s() <= r.wall_s * 1.05 + 0.01,
            "one thread cannot use more CPU than wall time"
        );
        assert!(r.max_rss_kib > 0);

        // A tool that outlives its timeout is killed and says so.
        let mut s = spec("sleep", &["30"]);
        s.timeout = Some(Duration::from_millis(200));
        let r = run(&s);
        assert!(r.timed_out);
        assert_eq!(r.signal, Some(libc::SIGKILL));

        // `start_at`: the tool starts no earlier than the time given (how agents on
        // several hosts start a cell together).
        let at = unix_now() + 0.3;
        let mut s = spec("true", &[]);
        s.start_at = Some(at);
        let r = run(&s);
        assert!(
            r.started_unix_s.unwrap() >= at,
            "{:?} < {at}",
            r.started_unix_s
        );

        // A tool that does not exist is a report, not a panic.
        let r = run(&spec("/nonexistent/tool", &[]));
        assert!(r.spawn_error.unwrap().contains("cannot run"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Several processes start together, each in its own work folder (so files of one name
    /// do not collide), and each has its own exit, output, files and CPU time: a busy one
    /// beside an idle one shows the difference.
    #[test]
    fn several_processes_each_report_their_own() {
        let busy = "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo busy > out.txt";
        let mut s = spec("sh", &["-c", busy]);
        s.also = vec![vec![
            "sh".into(),
            "-c".into(),
            "echo idle > out.txt; echo two; exit 5".into(),
        ]];
        s.collect = vec!["out.txt".into()];
        let r = run(&s);
        assert_eq!(r.others.len(), 1, "{r:?}");
        let two = &r.others[0];
        assert_eq!((r.exit_code, two.exit_code), (Some(0), Some(5)), "{r:?}");
        assert_eq!(two.stdout, "two\n");
        assert_eq!(r.files.get("out.txt").map(String::as_str), Some("busy\n"));
        assert_eq!(two.files.get("out.txt").map(String::as_str), Some("idle\n"));
        assert!(
            r.cpu_s() > 5.0 * two.cpu_s(),
            "{} vs {}",
            r.cpu_s(),
            two.cpu_s()
        );
        assert!(r.wall_s > two.wall_s, "each process's own wall time");
        assert_eq!(r.processes().count(), 2);
    }
}
