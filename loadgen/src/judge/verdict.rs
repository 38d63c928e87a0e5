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
//! 7. **concurrency** (closed loop): the server and the load tool each used less than 60%
//!    of the CPU they may use, and no quota throttled: nothing is near its limit, each
//!    connection's round trip sets the pace. At c = 1 that holds whatever their busy
//!    shares below saturation: one connection alternates between the two sides (each
//!    waits while the other works), so the one round trip is the pace; ab's share there is
//!    its cost per request (60–75% of a core on `/` without keep-alive), not a limit.
//! 8. **undetermined**: none of the above: nothing was saturated, yet something was busy
//!    enough (60–90%) that it may have shaped the number.
//!
//! Under a CPU limit the figures are the steady window's (see `steady.rs`): its rate, the
//! server's CPU and throttling over the same whole seconds.

use super::Evidence;
use crate::record::{Limiter, Verdict};

/// Judge one cell from its evidence (the figures must include the tool's time and
/// rate: see [`super::judge`]).
pub fn verdict(f: &Evidence) -> Verdict {
    let cpu_text = describe_cpu(f);
    let verdict = |limiter, evidence: String, advice: Option<&str>| Verdict {
        limiter,
        evidence,
        advice: advice.map(str::to_string),
    };

    if f.errors_dominate() {
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
    if let Some(max) = f.connect_max_ms.filter(|_| f.connect_retries()) {
        return verdict(
            Limiter::ConnectQueue,
            format!("slowest connect {max:.0} ms (SYN retry); {cpu_text}"),
            Some("the listen backlog overflowed: raise the server's backlog or lower concurrency"),
        );
    }
    if f.server_saturated() {
        return verdict(Limiter::ServerCpu, cpu_text, None);
    }
    if f.loadgen_bound() {
        return verdict(
            Limiter::Loadgen,
            cpu_text,
            Some("the load generator set this number, not the server: lower the server's cpus, give the load generator its own CPU, turn keep-alive on, run more ab processes (loadgen.processes, given the CPUs for them), or use oha (multi-threaded)"),
        );
    }
    if let Some(v) = open_loop(f, &cpu_text).or_else(|| workload(f, &cpu_text)) {
        return v;
    }
    if f.nothing_busy() || f.one_connection_unsaturated() {
        return verdict(
            Limiter::Concurrency,
            format!("c = {}, nothing near its limit; {cpu_text}", f.concurrency),
            Some(
                "each connection's round trip sets the pace: raise concurrency to load the server",
            ),
        );
    }
    verdict(
        Limiter::Undetermined,
        cpu_text,
        Some("nothing was saturated, but the server or the load tool was busy (60–90% of its CPU): raise concurrency to load the server, or give the load generator more CPU"),
    )
}

/// An open-loop cell: the offered rate was achieved (the schedule set the pace) or not.
fn open_loop(f: &Evidence, cpu_text: &str) -> Option<Verdict> {
    let offered = f.offered_rps.filter(|o| *o > 0.0)?;
    let share = f.achieved_share()?;
    let evidence = format!(
        "open loop: offered {offered:.1} req/s, achieved {:.1} ({:.0}%); {cpu_text}",
        f.rps.unwrap_or(0.0),
        share * 100.0
    );
    Some(if !f.rate_shortfall() {
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
fn workload(f: &Evidence, cpu_text: &str) -> Option<Verdict> {
    let wait = f.wait_ms?;
    let predicted = f.concurrency as f64 / (wait / 1000.0);
    let rps = f.rps?;
    let off = rps / predicted - 1.0;
    (off.abs() <= super::LITTLE_TOLERANCE).then(|| Verdict {
        limiter: Limiter::Workload,
        evidence: format!(
            "Little's law: c {} ÷ wait {wait:.0} ms = {predicted:.1} req/s, measured {:.1} ({:+.1}%); {cpu_text}",
            f.concurrency,
            rps,
            off * 100.0
        ),
        advice: Some("the route's wait sets the pace: more concurrency gives more req/s".into()),
    })
}

fn describe_cpu(f: &Evidence) -> String {
    let (server, tool) = (f.server_share(), f.tool_share());
    let taken = f.time_taken_s.unwrap_or(0.0);
    let part = |who: &str, cpu_s: Option<f64>, share: Option<f64>, cores: f64, thr: Option<f64>| {
        let mut s = match (cpu_s, share) {
            (Some(_), Some(sh)) => format!(
                "{who} CPU {:.2} of {} core{} ({:.0}%)",
                sh * cores,
                cores_text(cores),
                if cores == 1.0 { "" } else { "s" },
                sh * 100.0
            ),
            (Some(c), None) if taken > 0.0 => {
                format!("{who} CPU {:.2} cores (no limit)", c / taken)
            }
            _ => format!("{who} CPU unknown"),
        };
        if let Some(t) = thr.filter(|t| *t > 0.0) {
            s.push_str(&format!(", throttled {:.0}%", t * 100.0));
        }
        s
    };
    let busiest = f
        .busiest_process_share
        .map(|b| format!(", its busiest process {:.0}% of its core", b * 100.0))
        .unwrap_or_default();
    format!(
        "{}; {}{busiest}",
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
