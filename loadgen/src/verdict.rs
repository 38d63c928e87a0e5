//! What limited a cell: a pure function of the figures the cell recorded.
//!
//! A req/s figure means "how fast is this server" only when the server was the bottleneck.
//! On a small machine ab (single-threaded) often is; a listen backlog that overflows turns
//! throughput into SYN-retry timing; a `/sleep` route measures its own sleep. The verdict
//! names the one limit that set the pace, shows the numbers that decided it, and says what
//! to change when the number does not measure the server.
//!
//! Checked in this order; the first that holds wins:
//! 1. **errors**: at least 1% of requests failed or were non-2xx.
//! 2. **connect-queue**: the slowest connect took ≥ 1 s (Linux's first SYN retry): the
//!    listen backlog overflowed, so connects, not the server's work, set the pace.
//! 3. **server-cpu**: the server used ≥ 90% of its CPU limit over ab's run, or its quota
//!    throttled it in ≥ 25% of scheduler periods.
//! 4. **loadgen**: ab used ≥ 90% of the CPU it can use (one core, ab is single-threaded,
//!    or less under its own limit or cpuset), or its quota throttled it in ≥ 25% of periods.
//! 5. **workload**: the route waits a known time (`/sleep/{ms}`) and Little's law with that
//!    wait, req/s ≈ concurrency ÷ wait, holds within 10%: the wait set the pace.
//! 6. **offered-rate** (open loop): the cell achieved its offered rate within 5%: the
//!    schedule, not the server, set the pace (Little's law does not apply: the rate is
//!    fixed, the connections in use follow from it).
//! 7. **undetermined**: none of the above; nothing measured was saturated.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::results::Cell;

/// Share of its CPU allowance at which a process counts as saturated.
pub const CPU_SATURATED: f64 = 0.90;
/// Share of CFS periods throttled at which a quota counts as the limit.
pub const THROTTLED: f64 = 0.25;
/// Slowest connect (ms) that means SYN retries.
pub const CONNECT_RETRY_MS: f64 = 1000.0;
/// Share of bad responses that makes errors the story of the cell.
pub const ERROR_SHARE: f64 = 0.01;
/// How close req/s must come to concurrency ÷ wait for the wait to be the limit.
pub const LITTLE_TOLERANCE: f64 = 0.10;

/// The limit that set a cell's pace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Limiter {
    Errors,
    ConnectQueue,
    ServerCpu,
    Loadgen,
    Workload,
    OfferedRate,
    Undetermined,
}

impl Limiter {
    pub const ALL: [Limiter; 7] = [
        Limiter::Errors,
        Limiter::ConnectQueue,
        Limiter::ServerCpu,
        Limiter::Loadgen,
        Limiter::Workload,
        Limiter::OfferedRate,
        Limiter::Undetermined,
    ];

    /// The word reports print.
    pub fn as_str(self) -> &'static str {
        match self {
            Limiter::Errors => "errors",
            Limiter::ConnectQueue => "connect-queue",
            Limiter::ServerCpu => "server-cpu",
            Limiter::Loadgen => "loadgen",
            Limiter::Workload => "workload",
            Limiter::OfferedRate => "offered-rate",
            Limiter::Undetermined => "undetermined",
        }
    }

    /// One sentence for a report's legend.
    pub fn explanation(self) -> &'static str {
        match self {
            Limiter::Errors => "≥ 1% of requests failed or answered non-2xx: the number describes errors",
            Limiter::ConnectQueue => "the slowest connect took ≥ 1 s (SYN retries): the listen backlog overflowed",
            Limiter::ServerCpu => "the server used ≥ 90% of its CPU limit, or its quota throttled it in ≥ 25% of periods: this measures the server",
            Limiter::Loadgen => "the load tool used ≥ 90% of the CPU it can use (ab: one core at most), or its quota throttled it: this measures the load generator, not the server",
            Limiter::Workload => "the route's own wait set the pace: req/s ≈ concurrency ÷ wait (Little's law) within 10%",
            Limiter::OfferedRate => "open loop: the server kept up with the offered rate (within 5%) and nothing was saturated: the rate set the pace, read the latency",
            Limiter::Undetermined => "no measured resource was saturated",
        }
    }

    /// Does a number with this verdict describe the server's capacity?
    pub fn measures_the_server(self) -> bool {
        matches!(self, Limiter::ServerCpu | Limiter::Workload)
    }
}

impl fmt::Display for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A cell's verdict: the limit, the figures that decided it, and what to change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub limiter: Limiter,
    /// The deciding numbers, e.g. `ab CPU 0.97 of 1 core; server CPU 0.41 of 1`.
    pub evidence: String,
    /// What to change when the number does not measure the server.
    pub advice: Option<String>,
}

/// What the verdict needs, taken from a cell (and testable without one).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub concurrency: u32,
    /// ab's "Time taken for tests", seconds.
    pub time_taken_s: f64,
    pub rps: f64,
    pub complete: u64,
    /// Failed plus non-2xx.
    pub bad: u64,
    pub connect_max_ms: Option<f64>,
    /// Server CPU seconds over the cell and the cores it may use.
    pub server_cpu_s: Option<f64>,
    pub server_cores: f64,
    pub server_throttled_share: Option<f64>,
    /// ab's own CPU seconds (rusage) over its own wall time (process start to exit: the
    /// rusage covers start-up too, which ab's "Time taken" leaves out), and the cores it
    /// can use (≤ 1: single-threaded).
    pub tool_cpu_s: Option<f64>,
    pub tool_wall_s: f64,
    pub tool_cores: f64,
    pub loadgen_throttled_share: Option<f64>,
    /// The route's known wait per request (`/sleep/{ms}`), in ms.
    pub wait_ms: Option<f64>,
    /// Open loop: the offered rate, req/s (`rps` is the achieved one).
    pub offered_rps: Option<f64>,
    /// The load tool (evidence names it); `None` reads as ab.
    pub tool: Option<crate::tool::Tool>,
}

impl Figures {
    /// The figures of a measured cell; `None` when it has no ab report.
    pub fn of(cell: &Cell) -> Option<Figures> {
        let counts = cell.counts()?;
        let limits = &cell.limits;
        let max_cores = cell
            .tool()
            .and_then(|t| t.driver().max_cores())
            .unwrap_or(f64::INFINITY);
        let cores_of = |cpus: Option<f64>, cpuset: Option<&str>| {
            let set = cpuset.and_then(crate::pin::cpuset_size).map(|n| n as f64);
            match (cpus, set) {
                (Some(c), Some(s)) => c.min(s),
                (Some(c), None) => c,
                (None, Some(s)) => s,
                (None, None) => f64::INFINITY,
            }
        };
        Some(Figures {
            concurrency: cell.concurrency,
            time_taken_s: counts.time_taken_s?,
            rps: counts.rps?,
            complete: counts.complete.unwrap_or(0),
            bad: counts.bad(),
            connect_max_ms: cell
                .ab
                .as_ref()
                .and_then(|ab| ab.connection_times.as_ref())
                .and_then(|t| t.connect.as_ref())
                .map(|r| r.max),
            server_cpu_s: cell.server_resources.as_ref().map(|r| r.cpu_s),
            server_cores: cores_of(Some(limits.cpus), limits.cpuset.as_deref()),
            server_throttled_share: cell
                .server_resources
                .as_ref()
                .and_then(|r| r.throttled_share()),
            tool_cpu_s: cell.tool_usage.as_ref().map(|u| u.cpu_s),
            tool_wall_s: cell.tool_usage.as_ref().map_or(0.0, |u| u.wall_s),
            tool_cores: cores_of(limits.loadgen_cpus, limits.loadgen_cpuset.as_deref())
                .min(max_cores),
            loadgen_throttled_share: cell
                .loadgen_resources
                .as_ref()
                .and_then(|r| r.throttled_share()),
            wait_ms: sleep_ms(&cell.path),
            offered_rps: cell.offered_rps,
            tool: cell.tool(),
        })
    }
}

/// The wait of the built-in `/sleep/{ms}` route.
pub fn sleep_ms(path: &str) -> Option<f64> {
    let rest = path.strip_prefix("/sleep/")?;
    let ms = rest.split(['?', '/']).next()?.parse::<u64>().ok()?;
    (ms > 0).then_some(ms as f64)
}

/// Judge one cell from its figures.
pub fn judge(f: &Figures) -> Verdict {
    let share = |cpu_s: Option<f64>, wall_s: f64, cores: f64| {
        cpu_s
            .filter(|_| wall_s > 0.0 && cores.is_finite() && cores > 0.0)
            .map(|s| s / wall_s / cores)
    };
    let server_share = share(f.server_cpu_s, f.time_taken_s, f.server_cores);
    let tool_wall = if f.tool_wall_s > 0.0 {
        f.tool_wall_s
    } else {
        f.time_taken_s
    };
    let tool_share = share(f.tool_cpu_s, tool_wall, f.tool_cores);
    let cpu_text = describe_cpu(f, server_share, tool_share);
    let verdict = |limiter, evidence: String, advice: Option<&str>| Verdict {
        limiter,
        evidence,
        advice: advice.map(str::to_string),
    };

    if f.complete > 0 && f.bad as f64 >= ERROR_SHARE * f.complete as f64 {
        let pct = 100.0 * f.bad as f64 / f.complete as f64;
        return verdict(
            Limiter::Errors,
            format!(
                "{} of {} responses failed or non-2xx ({pct:.1}%)",
                f.bad, f.complete
            ),
            Some("read the cell's reason and raw output; compare good req/s, not req/s"),
        );
    }
    if let Some(max) = f.connect_max_ms.filter(|m| *m >= CONNECT_RETRY_MS) {
        return verdict(
            Limiter::ConnectQueue,
            format!("slowest connect {max:.0} ms (SYN retry); {cpu_text}"),
            Some("the listen backlog overflowed: raise the server's backlog or lower concurrency"),
        );
    }
    let throttled = |s: Option<f64>| s.is_some_and(|s| s >= THROTTLED);
    if server_share.is_some_and(|s| s >= CPU_SATURATED) || throttled(f.server_throttled_share) {
        return verdict(Limiter::ServerCpu, cpu_text, None);
    }
    if tool_share.is_some_and(|s| s >= CPU_SATURATED) || throttled(f.loadgen_throttled_share) {
        return verdict(
            Limiter::Loadgen,
            cpu_text,
            Some("the load generator set this number, not the server: lower the server's cpus, give the load generator its own CPU, turn keep-alive on, or use oha (multi-threaded)"),
        );
    }
    if let Some(v) = open_loop(f, &cpu_text).or_else(|| workload(f, &cpu_text)) {
        return v;
    }
    verdict(
        Limiter::Undetermined,
        cpu_text,
        Some("nothing measured was saturated: latency at this concurrency sets the pace; raise concurrency to load the server"),
    )
}

/// An open-loop cell: the offered rate was achieved (the schedule set the pace) or not.
fn open_loop(f: &Figures, cpu_text: &str) -> Option<Verdict> {
    let offered = f.offered_rps.filter(|o| *o > 0.0)?;
    let share = f.rps / offered;
    let evidence = format!(
        "open loop: offered {offered:.1} req/s, achieved {:.1} ({:.0}%); {cpu_text}",
        f.rps,
        share * 100.0
    );
    Some(if share >= 1.0 - crate::flags::RATE_SHORTFALL_SHARE {
        Verdict {
            limiter: Limiter::OfferedRate,
            evidence,
            advice: Some(
                "the server kept up: raise the rate to find where its latency bends".into(),
            ),
        }
    } else {
        Verdict {
            limiter: Limiter::Undetermined,
            evidence,
            advice: Some("the rate was not achieved with no CPU saturated: more connections (concurrency) may be needed to carry it at this latency".into()),
        }
    })
}

/// A `/sleep/{ms}` cell whose req/s is what Little's law predicts: the wait set the pace.
fn workload(f: &Figures, cpu_text: &str) -> Option<Verdict> {
    let wait = f.wait_ms?;
    let predicted = f.concurrency as f64 / (wait / 1000.0);
    let off = f.rps / predicted - 1.0;
    (off.abs() <= LITTLE_TOLERANCE).then(|| Verdict {
        limiter: Limiter::Workload,
        evidence: format!(
            "Little's law: c {} ÷ wait {wait:.0} ms = {predicted:.1} req/s, measured {:.1} ({:+.1}%); {cpu_text}",
            f.concurrency,
            f.rps,
            off * 100.0
        ),
        advice: Some("the route's wait sets the pace: more concurrency gives more req/s".into()),
    })
}

fn describe_cpu(f: &Figures, server: Option<f64>, tool: Option<f64>) -> String {
    let part = |who: &str, cpu_s: Option<f64>, share: Option<f64>, cores: f64, thr: Option<f64>| {
        let mut s = match (cpu_s, share) {
            (Some(_), Some(sh)) => format!(
                "{who} CPU {:.2} of {} core{} ({:.0}%)",
                sh * cores,
                cores_text(cores),
                if cores == 1.0 { "" } else { "s" },
                sh * 100.0
            ),
            (Some(c), None) if f.time_taken_s > 0.0 => {
                format!("{who} CPU {:.2} cores (no limit)", c / f.time_taken_s)
            }
            _ => format!("{who} CPU unknown"),
        };
        if let Some(t) = thr.filter(|t| *t > 0.0) {
            s.push_str(&format!(", throttled {:.0}%", t * 100.0));
        }
        s
    };
    format!(
        "{}; {}",
        part(
            "server",
            f.server_cpu_s,
            server,
            f.server_cores,
            f.server_throttled_share
        ),
        part(
            f.tool.unwrap_or_default().as_str(),
            f.tool_cpu_s,
            tool,
            f.tool_cores,
            f.loadgen_throttled_share
        )
    )
}

/// A core count as people write it: `1`, `0.25`, `1.5`.
pub fn cores_text(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The verdict shown for a row of repetitions: the most common one; ties go to the
/// limiter that comes first in the checking order.
pub fn prevailing<'a>(verdicts: impl IntoIterator<Item = &'a Verdict>) -> Option<&'a Verdict> {
    let all: Vec<&Verdict> = verdicts.into_iter().collect();
    let count = |l: Limiter| all.iter().filter(|v| v.limiter == l).count();
    let best = Limiter::ALL
        .into_iter()
        .max_by_key(|l| (count(*l), std::cmp::Reverse(*l)))?;
    all.into_iter().find(|v| v.limiter == best)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1000-request no-keep-alive hello cell from the baseline on a 2-core machine:
    /// ab pinned to its own core, the server at 1 CPU.
    fn hello() -> Figures {
        Figures {
            concurrency: 100,
            time_taken_s: 0.080,
            rps: 12500.0,
            complete: 1000,
            bad: 0,
            connect_max_ms: Some(3.0),
            server_cpu_s: Some(0.032),
            server_cores: 1.0,
            server_throttled_share: Some(0.0),
            tool_cpu_s: Some(0.077),
            tool_wall_s: 0.080,
            tool_cores: 1.0,
            loadgen_throttled_share: Some(0.0),
            wait_ms: None,
            offered_rps: None,
            tool: None,
        }
    }

    /// An open-loop oha cell at 1000 req/s on /sleep/10 over 50 connections: neither CPU
    /// is busy.
    fn open_loop(achieved: f64) -> Figures {
        Figures {
            concurrency: 50,
            time_taken_s: 10.0,
            rps: achieved,
            complete: (achieved * 10.0) as u64,
            server_cpu_s: Some(2.0),
            tool_cpu_s: Some(1.0),
            tool_wall_s: 10.0,
            tool_cores: 1.0,
            wait_ms: Some(10.0),
            offered_rps: Some(1000.0),
            tool: Some(crate::tool::Tool::Oha),
            ..hello()
        }
    }

    #[test]
    fn an_open_loop_cell_that_keeps_up_is_set_by_its_rate_not_littles_law() {
        // c 50 ÷ 10 ms = 5000 req/s by Little's law; the schedule sent 1000.
        let v = judge(&open_loop(995.0));
        assert_eq!(v.limiter, Limiter::OfferedRate, "{v:?}");
        assert!(v
            .evidence
            .contains("offered 1000.0 req/s, achieved 995.0 (100%)"));
        assert!(v.evidence.contains("oha CPU"), "{}", v.evidence);
        let short = judge(&open_loop(700.0));
        assert_eq!(short.limiter, Limiter::Undetermined);
        assert!(short.advice.unwrap().contains("connections"));
    }

    #[test]
    fn ab_at_its_core_is_loadgen_bound_with_advice() {
        let v = judge(&hello());
        assert_eq!(v.limiter, Limiter::Loadgen);
        assert!(
            v.evidence.contains("ab CPU 0.96 of 1 core (96%)"),
            "{}",
            v.evidence
        );
        assert!(
            v.evidence.contains("server CPU 0.40 of 1 core (40%)"),
            "{}",
            v.evidence
        );
        assert!(v.advice.unwrap().contains("keep-alive"));
        // ab under a 0.25-CPU quota that throttled it is loadgen-bound whatever its average.
        let f = Figures {
            tool_cpu_s: Some(0.01),
            tool_cores: 0.25,
            loadgen_throttled_share: Some(0.8),
            ..hello()
        };
        assert_eq!(judge(&f).limiter, Limiter::Loadgen);
    }

    #[test]
    fn a_saturated_or_throttled_server_is_server_cpu() {
        let f = Figures {
            server_cpu_s: Some(0.016),
            server_cores: 0.2,
            ..hello()
        };
        assert_eq!(judge(&f).limiter, Limiter::ServerCpu);
        let f = Figures {
            server_cpu_s: Some(0.001),
            server_throttled_share: Some(0.5),
            ..hello()
        };
        let v = judge(&f);
        assert_eq!(v.limiter, Limiter::ServerCpu);
        assert!(v.evidence.contains("throttled 50%"));
        assert!(v.advice.is_none());
    }

    #[test]
    fn errors_and_connect_retries_come_first() {
        let f = Figures { bad: 10, ..hello() };
        assert_eq!(judge(&f).limiter, Limiter::Errors);
        let f = Figures { bad: 9, ..hello() };
        assert_eq!(
            judge(&f).limiter,
            Limiter::Loadgen,
            "under 1% is not the story"
        );
        let f = Figures {
            connect_max_ms: Some(1003.0),
            server_throttled_share: Some(0.9),
            ..hello()
        };
        assert_eq!(judge(&f).limiter, Limiter::ConnectQueue);
    }

    #[test]
    fn a_sleep_route_obeys_littles_law() {
        // /sleep/200 at c=50: 250 req/s predicted.
        let f = Figures {
            concurrency: 50,
            time_taken_s: 4.1,
            rps: 244.0,
            server_cpu_s: Some(0.05),
            tool_cpu_s: Some(0.04),
            wait_ms: sleep_ms("/sleep/200"),
            ..hello()
        };
        let v = judge(&f);
        assert_eq!(v.limiter, Limiter::Workload);
        assert!(
            v.evidence.contains("250.0 req/s, measured 244.0 (-2.4%)"),
            "{}",
            v.evidence
        );
        // Far below the prediction: something else limits it, and nothing is saturated.
        let f = Figures { rps: 150.0, ..f };
        assert_eq!(judge(&f).limiter, Limiter::Undetermined);
    }

    #[test]
    fn missing_figures_leave_it_undetermined() {
        let f = Figures {
            server_cpu_s: None,
            tool_cpu_s: None,
            server_throttled_share: None,
            loadgen_throttled_share: None,
            ..hello()
        };
        let v = judge(&f);
        assert_eq!(v.limiter, Limiter::Undetermined);
        assert!(v.evidence.contains("server CPU unknown"));
        // An unlimited ab is judged against one core: it is single-threaded.
        let f = Figures {
            tool_cores: f64::INFINITY.min(1.0),
            ..hello()
        };
        assert_eq!(judge(&f).limiter, Limiter::Loadgen);
    }

    #[test]
    fn sleep_paths() {
        assert_eq!(sleep_ms("/sleep/100"), Some(100.0));
        assert_eq!(sleep_ms("/sleep/100?x=1"), Some(100.0));
        assert_eq!(sleep_ms("/sleep/0"), None);
        assert_eq!(sleep_ms("/cpu/100"), None);
    }

    #[test]
    fn the_prevailing_verdict_is_the_most_common() {
        let v = |l| Verdict {
            limiter: l,
            evidence: String::new(),
            advice: None,
        };
        let all = [
            v(Limiter::Loadgen),
            v(Limiter::ServerCpu),
            v(Limiter::Loadgen),
        ];
        assert_eq!(prevailing(&all).unwrap().limiter, Limiter::Loadgen);
        let tie = [v(Limiter::Loadgen), v(Limiter::ServerCpu)];
        assert_eq!(prevailing(&tie).unwrap().limiter, Limiter::ServerCpu);
        assert!(prevailing(&[]).is_none());
    }
}
