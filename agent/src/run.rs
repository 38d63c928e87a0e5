//! `lab-agent run`: the tool as a measured child.

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
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
    /// Metrics URLs scraped just before the tool starts and just after it exits.
    pub scrapes: Vec<String>,
    /// Files the tool writes (ab's `-e` CSV, ...): read after it exits, then removed.
    pub collect: Vec<String>,
    /// Kill the tool (SIGKILL) when it runs longer than this.
    pub timeout: Option<Duration>,
    /// Start the tool only while the wall clock's fraction of a second is within
    /// `[lo, hi]` (else wait for the next `lo`). A tool that stamps its requests with whole
    /// seconds (ab's `-g`) then has at least `1 - hi` s of start-up before its first whole
    /// second, and requests of up to `lo` s that start in its last whole second still end
    /// before a timed run of `T` s stops: such a run always holds `T - 1` whole seconds of
    /// steady load. Costs `lo² / 2 + (1 - hi)(lo + (1 - hi) / 2)` s of waiting on average.
    pub start_between: Option<(f64, f64)>,
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

/// Run the tool, wait for it, and report. Never panics on the tool's behalf: a tool that
/// cannot start is a report with `spawn_error`.
pub fn run(spec: &RunSpec) -> RunReport {
    let mut report = RunReport {
        scrapes_before: scrape_all(&spec.scrapes),
        ..RunReport::default()
    };
    for path in &spec.collect {
        let _ = std::fs::remove_file(path);
    }
    if let Some((lo, hi)) = spec.start_between {
        wait_for_fraction(lo, hi);
    }
    report.started_unix_s = Some(unix_now());
    let started = Instant::now();
    let child = Command::new(&spec.program)
        .args(&spec.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            report.spawn_error = Some(format!("cannot run {}: {e}", spec.program));
            return report;
        }
    };
    // Drain both pipes while the tool runs: a full pipe would block it.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let watchdog = spec.timeout.map(|limit| {
        let pid = child.id() as libc::pid_t;
        thread::spawn(move || {
            let expired = done_rx.recv_timeout(limit).is_err();
            if expired {
                // SAFETY: kill(2) has no memory effects; the child is not reaped until the
                // main thread's wait returns, so the pid still names it.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            expired
        })
    });
    let status = child.wait();
    report.wall_s = started.elapsed().as_secs_f64();
    report.ended_unix_s = Some(unix_now());
    let _ = done_tx.send(());
    report.timed_out = watchdog.is_some_and(|w| w.join().unwrap_or(false));
    match status {
        Ok(s) => {
            report.exit_code = s.code();
            report.signal = s.signal();
        }
        Err(e) => report.spawn_error = Some(format!("waiting for {}: {e}", spec.program)),
    }
    let (user_s, sys_s, max_rss_kib) = children_usage();
    report.user_s = user_s;
    report.sys_s = sys_s;
    report.max_rss_kib = max_rss_kib;
    report.stdout = stdout.join().unwrap_or_default();
    report.stderr = stderr.join().unwrap_or_default();
    report.scrapes_after = scrape_all(&spec.scrapes);
    for path in &spec.collect {
        if let Ok(text) = std::fs::read_to_string(path) {
            report.files.insert(path.clone(), text);
            let _ = std::fs::remove_file(path);
        }
    }
    report
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

/// CPU time and peak RSS of the reaped children of this process. `lab-agent run` has
/// exactly one child, so this is the tool's own usage, exact to the kernel's accounting.
fn children_usage() -> (f64, f64, i64) {
    // SAFETY: getrusage writes into the zeroed struct we pass; nothing else is touched.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut u);
        u
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(usage.ru_utime), secs(usage.ru_stime), usage.ru_maxrss)
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

        // CPU time is the child's: a busy loop of a known length shows up in user time.
        let before = children_usage().0 + children_usage().1;
        let r = run(&spec(
            "sh",
            &["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"],
        ));
        assert_eq!(r.exit_code, Some(0));
        assert!(
            r.cpu_s() > before,
            "cpu {} should exceed {before}",
            r.cpu_s()
        );
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

        // A tool that does not exist is a report, not a panic.
        let r = run(&spec("/nonexistent/tool", &[]));
        assert!(r.spawn_error.unwrap().contains("cannot run"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
