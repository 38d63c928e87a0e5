//! How long a cell runs: the steady-state policy.
//!
//! A CPU limit is a CFS quota enforced per period (100 ms unless `resources.cpu_period`
//! says otherwise). A cell that lasts a period or two measures where the period boundaries
//! fell, not the limit: at 0.25 CPU a 1000-request cell read anything from 2,959 to 22,425
//! req/s, while cells of 60,000 requests agreed within 7%. So when the lab file gives
//! neither `requests` nor `duration`, every closed-loop cell runs for a time that holds at
//! least `loadgen.min_periods` periods (20 by default) of steady load:
//!
//! ```text
//! T = ceil(min_periods × period + route wait) + 1   whole seconds (ab's -t takes whole seconds)
//! ```
//!
//! The load tool stamps requests with whole seconds (ab `-g`), and the steady window is
//! made of whole seconds (see `judge/steady.rs`): the tool is started at a known fraction
//! of a second (`START_BETWEEN`), so `T - 1` whole seconds fall after its start-up and
//! before its end. `route wait` is the known wait of a `/sleep/{ms}` route beyond the 350 ms
//! the start's alignment already allows: requests that start in the window's last second
//! must end before the tool stops. A point whose requests queue longer than that (a small
//! quota, many connections) is found by its first cell and lengthened the same way with
//! the latency it measured (`run::measure`).

use super::Lab;

/// The fraction of a second the load tool starts within (`lab-agent --start-between`):
/// at least 50 ms of start-up before its first whole second (connections opened, the first
/// period's unused quota spent), and up to 350 ms of latency for the requests that start in
/// its last whole second (slower points are lengthened once their latency is known: see
/// [`seconds_for_latency`]). Any range wider than a
/// period still starts the tool at a random phase of the quota. The wait this costs
/// averages about 80 ms per cell (none in 60% of cells).
pub const START_BETWEEN: (f64, f64) = (0.35, 0.95);

/// The whole seconds a cell sized by the policy runs for `path`.
pub fn policy_seconds(lab: &Lab, path: &str) -> f64 {
    seconds_for_latency(lab, path, 0.0)
}

/// The whole seconds a cell sized by the policy runs for `path` when its requests are
/// known to take up to `latency_s` (a first try of the cell measured it): queueing under a
/// small quota (the thread model at 0.1 CPU and c = 100 waits up to 0.7 s) is not known
/// before the cell runs, a `/sleep/` route's wait is.
pub fn seconds_for_latency(lab: &Lab, path: &str, latency_s: f64) -> f64 {
    let steady = f64::from(lab.loadgen.min_periods) * lab.resources.period_s();
    // Requests of up to START_BETWEEN.0 s fit the tool's last second already.
    let wait = (route_wait_s(path).max(latency_s) - START_BETWEEN.0).max(0.0);
    // 1e-9: 20 × 0.1 is 2.0000000000000004 in floating point, not 3 seconds.
    (steady + wait - 1e-9).ceil().max(1.0) + 1.0
}

/// How long one cell sends, seconds: `loadgen.duration` when given, the policy's length
/// when the lab sizes cells, `None` when it sends a number of requests.
pub fn cell_seconds(lab: &Lab, path: &str) -> Option<f64> {
    if let Some(d) = lab.loadgen.duration_s {
        return Some(d);
    }
    lab.loadgen
        .sized_by_policy()
        .then(|| policy_seconds(lab, path))
}

/// The known wait of the built-in `/sleep/{ms}` route, seconds (0 for any other path).
fn route_wait_s(path: &str) -> f64 {
    path.strip_prefix("/sleep/")
        .and_then(|rest| rest.split(['?', '/']).next())
        .and_then(|ms| ms.parse::<u64>().ok())
        .map_or(0.0, |ms| ms as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab(loadgen: &str, resources: &str) -> Lab {
        let text = format!(
            "name: t\nservers:\n  - {{ name: a, model: async, port: 45000 }}\n\
             resources: {resources}\nloadgen: {loadgen}\nworkloads:\n  - {{ name: h, path: / }}\n"
        );
        super::super::parse(&text, "t.yaml", 2).unwrap()
    }

    #[test]
    fn the_policy_covers_the_periods_asked_for_plus_a_second_of_edges() {
        let l = lab("{ concurrency: 1 }", "{ cpus: 0.25, memory: 64m }");
        assert_eq!(policy_seconds(&l, "/"), 3.0, "20 × 100 ms = 2 s, + 1");
        assert_eq!(cell_seconds(&l, "/"), Some(3.0));
        assert_eq!(
            policy_seconds(&l, "/sleep/20"),
            3.0,
            "20 ms fits the last second"
        );
        assert_eq!(
            policy_seconds(&l, "/sleep/1000"),
            4.0,
            "2 + 0.75 s → 3, + 1"
        );
        let l = lab(
            "{ concurrency: 1, min_periods: 50 }",
            "{ cpus: 1, memory: 64m, cpu_period: 20ms }",
        );
        assert_eq!(policy_seconds(&l, "/"), 2.0, "50 × 20 ms = 1 s, + 1");
        let l = lab(
            "{ concurrency: 1, requests: 1000 }",
            "{ cpus: 1, memory: 64m }",
        );
        assert_eq!(cell_seconds(&l, "/"), None);
        let l = lab(
            "{ concurrency: 1, duration: 7s }",
            "{ cpus: 1, memory: 64m }",
        );
        assert_eq!(cell_seconds(&l, "/"), Some(7.0));
    }

    #[test]
    fn a_measured_latency_lengthens_the_cell_like_a_known_wait() {
        let l = lab("{ concurrency: 100 }", "{ cpus: 0.1, memory: 64m }");
        assert_eq!(
            seconds_for_latency(&l, "/", 0.3),
            3.0,
            "fits the start's room"
        );
        // 0.69 s: 0.34 s beyond the room, so 2.34 s of load and edges: 4 s.
        assert_eq!(seconds_for_latency(&l, "/", 0.69), 4.0);
        assert_eq!(seconds_for_latency(&l, "/", 1.4), 5.0);
        assert_eq!(
            seconds_for_latency(&l, "/sleep/900", 0.2),
            policy_seconds(&l, "/sleep/900"),
            "the route's own wait is the longer one"
        );
    }
}
