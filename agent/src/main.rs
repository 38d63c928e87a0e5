//! `lab-agent`: see the library docs (`agent/src/lib.rs`) for why it exists.
//!
//! ```text
//! lab-agent idle                         keep the container alive (PID 1), exit on SIGTERM
//! lab-agent run [--scrape URL]... [--collect FILE]... [--timeout SECS] [--start-between LO HI | --start-at UNIX_S] -- PROGRAM ARGS... [--and PROGRAM ARGS...]...
//! lab-agent get [--wait SECS] URL        one GET, as JSON; retry refused connects for SECS
//! lab-agent cpu-model                    the CPU model of the machine it runs on
//! lab-agent version
//! ```
//!
//! Output is one JSON document on stdout; errors in the agent's own arguments go to stderr
//! with exit code 2.

use std::time::Duration;

use agent::run::{run, RunSpec};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("idle") => idle(),
        Some("run") => match parse_run(&args[1..]) {
            Ok(spec) => print_json(&run(&spec)),
            Err(e) => usage(&e),
        },
        Some("get") => match parse_get(&args[1..]) {
            Ok((url, wait)) => print_json(&agent::http::get(&url, wait)),
            Err(e) => usage(&e),
        },
        Some("cpu-model") => {
            // /proc/cpuinfo is not namespaced: inside a container it describes the host.
            let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
            let model = text
                .lines()
                .find_map(|l| l.strip_prefix("model name"))
                .and_then(|rest| rest.split_once(':'))
                .map_or("unknown", |(_, m)| m.trim());
            println!("{model}");
            0
        }
        Some("version") => {
            println!("lab-agent {}", env!("CARGO_PKG_VERSION"));
            0
        }
        _ => usage("expected idle, run, get, cpu-model or version"),
    };
    std::process::exit(code);
}

fn usage(message: &str) -> i32 {
    eprintln!("lab-agent: {message}");
    2
}

fn print_json<T: serde::Serialize>(value: &T) -> i32 {
    match serde_json::to_string(value) {
        Ok(text) => {
            println!("{text}");
            0
        }
        Err(e) => usage(&format!("cannot encode the report: {e}")),
    }
}

fn parse_secs(flag: &str, value: Option<&String>) -> Result<Duration, String> {
    value
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{flag} needs a number of seconds"))
}

fn parse_run(args: &[String]) -> Result<RunSpec, String> {
    let mut spec = RunSpec::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--scrape" => spec
                .scrapes
                .push(it.next().ok_or("--scrape needs a URL")?.clone()),
            "--collect" => spec
                .collect
                .push(it.next().ok_or("--collect needs a path")?.clone()),
            "--timeout" => spec.timeout = Some(parse_secs("--timeout", it.next())?),
            "--start-between" => {
                let lo = parse_secs("--start-between", it.next())?.as_secs_f64();
                let hi = parse_secs("--start-between", it.next())?.as_secs_f64();
                if !(lo < hi && hi < 1.0) {
                    return Err(
                        "--start-between needs two fractions of a second, LO < HI < 1".into(),
                    );
                }
                spec.start_between = Some((lo, hi));
            }
            "--start-at" => {
                spec.start_at = Some(
                    it.next()
                        .and_then(|v| v.parse::<f64>().ok())
                        .filter(|t| t.is_finite() && *t > 0.0)
                        .ok_or("--start-at needs a time in Unix seconds")?,
                );
            }
            "--" => {
                let rest: Vec<String> = it.cloned().collect();
                let mut commands = rest.split(|a| a == AND);
                let first = commands.next().unwrap_or_default();
                let (program, args) = first.split_first().ok_or("nothing to run after --")?;
                spec.program = program.clone();
                spec.args = args.to_vec();
                for more in commands {
                    if more.is_empty() {
                        return Err(format!("nothing to run after {AND}"));
                    }
                    spec.also.push(more.to_vec());
                }
                return Ok(spec);
            }
            other => return Err(format!("run: unknown argument `{other}`")),
        }
    }
    Err("run: expected `-- PROGRAM ARGS...`".into())
}

/// Separates the commands of a run of several processes: `-- ab ... --and ab ...`.
const AND: &str = "--and";

fn parse_get(args: &[String]) -> Result<(String, Duration), String> {
    match args {
        [url] => Ok((url.clone(), Duration::ZERO)),
        [flag, secs, url] if flag == "--wait" => {
            Ok((url.clone(), parse_secs("--wait", Some(secs))?))
        }
        _ => Err("get: expected [--wait SECS] URL".into()),
    }
}

/// Be PID 1 of the load generator container: do nothing, reap orphans, and exit 0 on
/// SIGTERM, SIGINT or SIGHUP (PID 1 gets no default signal handling, so `docker stop`
/// would otherwise wait its grace period and kill).
fn idle() -> i32 {
    // SAFETY: plain libc signal-mask calls on a zeroed sigset owned by this frame.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGCHLD] {
            libc::sigaddset(&mut set, sig);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        loop {
            let mut sig: libc::c_int = 0;
            if libc::sigwait(&set, &mut sig) != 0 {
                continue;
            }
            if sig == libc::SIGCHLD {
                while libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) > 0 {}
                continue;
            }
            return 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_run_arguments() {
        let spec = parse_run(&strings(&[
            "--scrape",
            "http://a/metrics",
            "--collect",
            "/tmp/x",
            "--timeout",
            "1.5",
            "--",
            "ab",
            "-n",
            "10",
            "--",
            "http://a/",
        ]))
        .unwrap();
        assert_eq!(spec.program, "ab");
        assert_eq!(spec.args, strings(&["-n", "10", "--", "http://a/"]));
        assert_eq!(spec.scrapes, strings(&["http://a/metrics"]));
        assert_eq!(spec.collect, strings(&["/tmp/x"]));
        assert_eq!(spec.timeout, Some(Duration::from_millis(1500)));
        assert!(parse_run(&strings(&["ab"])).is_err());
        assert!(parse_run(&strings(&["--timeout", "x", "--", "ab"])).is_err());
        assert!(parse_run(&strings(&["--"])).is_err());
        let two = parse_run(&strings(&["--", "ab", "-c", "5", "--and", "ab", "-c", "4"])).unwrap();
        assert_eq!((two.program.as_str(), two.args.len()), ("ab", 2));
        assert_eq!(two.also, vec![strings(&["ab", "-c", "4"])]);
        assert!(parse_run(&strings(&["--", "ab", "--and"])).is_err());
        let aligned =
            parse_run(&strings(&["--start-between", "0.25", "0.95", "--", "ab"])).unwrap();
        assert_eq!(aligned.start_between, Some((0.25, 0.95)));
        assert!(parse_run(&strings(&["--start-between", "0.5", "0.4", "--", "ab"])).is_err());
        assert!(parse_run(&strings(&["--start-between", "0.5", "1", "--", "ab"])).is_err());
        let at = parse_run(&strings(&["--start-at", "1790000000.25", "--", "ab"])).unwrap();
        assert_eq!(at.start_at, Some(1_790_000_000.25));
        assert!(parse_run(&strings(&["--start-at", "soon", "--", "ab"])).is_err());
    }

    #[test]
    fn parses_get_arguments() {
        assert_eq!(
            parse_get(&strings(&["--wait", "30", "http://a/"])).unwrap(),
            ("http://a/".to_string(), Duration::from_secs(30))
        );
        assert!(parse_get(&strings(&[])).is_err());
    }
}
