//! The evidence of one cell: the figures the verdict and the flags are both read from,
//! taken from the cell's record once, and the tests on them (each threshold applied in one
//! place, so that a flag and the verdict rule that shares its name always agree).

use super::{CONNECT_RETRY_MS, CPU_SATURATED, ERROR_SHARE, RATE_SHORTFALL_SHARE, THROTTLED};
use crate::record::{Cell, Tool};

/// What the judge needs, taken from a cell (and testable without one).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    pub concurrency: u32,
    /// The tool's measuring time, seconds (`None`: not in its report).
    pub time_taken_s: Option<f64>,
    /// Requests per second as the tool counted them (`None`: not in its report).
    pub rps: Option<f64>,
    pub complete: u64,
    /// Failed plus non-2xx.
    pub bad: u64,
    pub connect_max_ms: Option<f64>,
    /// Server CPU seconds over the cell and the cores it may use.
    pub server_cpu_s: Option<f64>,
    pub server_cores: f64,
    pub server_throttled_share: Option<f64>,
    /// The tool's own CPU seconds (rusage) over its own wall time (process start to exit:
    /// the rusage covers start-up too, which the tool's "Time taken" leaves out), and the
    /// cores it can use. Without the rusage, the load generator container's average CPU
    /// over the tool's time stands in.
    pub tool_cpu_s: Option<f64>,
    pub tool_wall_s: f64,
    /// The cores the tool can use: its processes (ab: one core each) within what the
    /// load generator may use.
    pub tool_cores: f64,
    /// Several processes: the busiest one's CPU over its own wall time (ab: of its one
    /// core). One saturated process holds its connections back even when the others idle.
    pub busiest_process_share: Option<f64>,
    pub loadgen_throttled_share: Option<f64>,
    /// The route's known wait per request (`/sleep/{ms}`), in ms.
    pub wait_ms: Option<f64>,
    /// Open loop: the offered rate, req/s (`rps` is the achieved one).
    pub offered_rps: Option<f64>,
    /// The load tool (evidence names it); `None` reads as ab.
    pub tool: Option<Tool>,
    /// The tool warned that its figures are not reliable.
    pub tool_warned: bool,
    /// The server had a CPU quota and the cell's steady window covered fewer periods than
    /// the policy asks for: the periods it covered.
    pub short_cell_periods: Option<f64>,
    /// The steady window's load trended or its halves disagreed.
    pub not_steady: bool,
}

impl Evidence {
    /// The evidence of a cell; `None` when the tool measured nothing.
    pub fn of(cell: &Cell) -> Option<Evidence> {
        let m = cell.measurement()?;
        let limits = &cell.limits;
        let tool = cell.tool();
        // ab is single-threaded (1 core at most); oha uses every core it may, which is at
        // most the load generator host's (as recorded, not the machine reading the record).
        let processes = cell.processes.len().max(1) as f64;
        let max_cores = tool
            .and_then(|t| t.driver().max_cores())
            .map_or(f64::INFINITY, |c| c * processes);
        let lg = cell.loadgen_resources.as_ref();
        let (tool_cpu_s, tool_wall_s) = match (&cell.tool_usage, lg, m.time_taken_s) {
            (Some(u), _, _) => (Some(u.cpu_s), u.wall_s),
            (None, Some(r), Some(t)) => (Some(r.cpu_cores_avg * t), t),
            _ => (None, 0.0),
        };
        let steady = cell.steady.as_ref().filter(|s| s.requests > 0);
        // The steady window's figures where it has them: its rate always, its CPU (and so
        // its length as the time the CPU is shared over) when the counters were read per
        // period; otherwise the whole cell's.
        let windowed_cpu = steady.and_then(|s| Some((s.server_cpu_s?, s.window_s())));
        Some(Evidence {
            concurrency: cell.concurrency,
            time_taken_s: windowed_cpu.map(|(_, w)| w).or(m.time_taken_s),
            rps: steady.map(|s| s.rps).or(m.rps),
            complete: m.complete.unwrap_or(0),
            bad: m.bad(),
            connect_max_ms: m.connect.map(|c| c.max),
            server_cpu_s: windowed_cpu
                .map(|(c, _)| c)
                .or_else(|| cell.server_resources.as_ref().map(|r| r.cpu_s)),
            server_cores: cores_of(Some(limits.cpus), limits.cpuset.as_deref()),
            server_throttled_share: steady.and_then(|s| s.server_throttled_share).or_else(|| {
                cell.server_resources
                    .as_ref()
                    .and_then(|r| r.throttled_share())
            }),
            tool_cpu_s,
            tool_wall_s,
            // Every load generator host may use as many cores as the first.
            tool_cores: (crate::pin::loadgen_cores(limits)
                * f64::from(limits.loadgen_hosts.unwrap_or(1)))
            .min(max_cores),
            busiest_process_share: busiest_process_share(cell),
            loadgen_throttled_share: lg.and_then(|r| r.throttled_share()),
            wait_ms: sleep_ms(&cell.path),
            offered_rps: cell.offered_rps,
            tool,
            tool_warned: m.tool_warned(),
            short_cell_periods: cell
                .steady
                .as_ref()
                .filter(|s| s.quota_cores.is_some() && !s.long_enough())
                .map(|s| s.periods_covered),
            not_steady: steady.is_some_and(|s| !super::steady::is_steady(s)),
        })
    }

    /// Closed loop with both sides well below what they may use and no throttling: the
    /// connections' round trips set the pace. Not for a route with a known wait whose
    /// rate Little's law did not explain: something unmeasured held it back.
    pub fn nothing_busy(&self) -> bool {
        let below = |share: Option<f64>| share.is_some_and(|s| s < super::CPU_IDLE);
        self.offered_rps.is_none()
            && self.wait_ms.is_none()
            && below(self.server_share())
            && below(self.tool_share())
            && !self.server_throttled()
    }

    /// One connection in a closed loop, no quota throttling and no known wait: the round
    /// trip sets the pace unless a side is saturated (checked before this).
    pub fn one_connection_unsaturated(&self) -> bool {
        self.concurrency == 1
            && self.offered_rps.is_none()
            && self.wait_ms.is_none()
            && !self.server_throttled()
    }

    /// Any failed or non-2xx response.
    pub fn has_errors(&self) -> bool {
        self.bad > 0
    }

    /// Enough bad responses that errors are the story of the cell.
    pub fn errors_dominate(&self) -> bool {
        self.complete > 0 && self.bad as f64 >= ERROR_SHARE * self.complete as f64
    }

    /// The slowest connect took a SYN retry: the listen backlog overflowed.
    pub fn connect_retries(&self) -> bool {
        self.connect_max_ms.is_some_and(|m| m >= CONNECT_RETRY_MS)
    }

    /// The server's share of the CPU it may use, over the tool's measuring time.
    pub fn server_share(&self) -> Option<f64> {
        share(
            self.server_cpu_s,
            self.time_taken_s.unwrap_or(0.0),
            self.server_cores,
        )
    }

    /// The tool's share of the CPU it may use, over its own wall time.
    pub fn tool_share(&self) -> Option<f64> {
        let wall = if self.tool_wall_s > 0.0 {
            self.tool_wall_s
        } else {
            self.time_taken_s.unwrap_or(0.0)
        };
        share(self.tool_cpu_s, wall, self.tool_cores)
    }

    /// The server's CPU quota held it back in a large share of periods.
    pub fn server_throttled(&self) -> bool {
        self.server_throttled_share.is_some_and(|s| s >= THROTTLED)
    }

    /// The server used (nearly) all the CPU it may, or its quota held it back.
    pub fn server_saturated(&self) -> bool {
        self.server_share().is_some_and(|s| s >= CPU_SATURATED) || self.server_throttled()
    }

    /// The load tool used (nearly) all the CPU it may, or its quota held it back in a
    /// large share of periods (which catches short cells, whose average the container's
    /// start dilutes): the load generator, not the server, set the pace.
    pub fn loadgen_bound(&self) -> bool {
        self.tool_share().is_some_and(|s| s >= CPU_SATURATED)
            || self
                .busiest_process_share
                .is_some_and(|s| s >= CPU_SATURATED)
            || self.loadgen_throttled_share.is_some_and(|s| s >= THROTTLED)
    }

    /// Open loop: the achieved rate over the offered one.
    pub fn achieved_share(&self) -> Option<f64> {
        let offered = self.offered_rps.filter(|o| *o > 0.0)?;
        Some(self.rps? / offered)
    }

    /// Open loop: the achieved rate fell short of the offered one.
    pub fn rate_shortfall(&self) -> bool {
        self.achieved_share()
            .is_some_and(|s| s < 1.0 - RATE_SHORTFALL_SHARE)
    }
}

/// Cores a container may use under a CPU limit and a CPU set (infinite: neither).
fn cores_of(cpus: Option<f64>, cpuset: Option<&str>) -> f64 {
    let set = cpuset.and_then(crate::pin::cpuset_size).map(|n| n as f64);
    [cpus, set]
        .into_iter()
        .flatten()
        .fold(f64::INFINITY, f64::min)
}

/// Of a cell's several processes, the busiest one's CPU over its wall time, per core it
/// can use (`None` for one process: the tool's own share says it all).
fn busiest_process_share(cell: &Cell) -> Option<f64> {
    let per_process = cell
        .tool()
        .and_then(|t| t.driver().max_cores())
        .unwrap_or(1.0);
    cell.processes
        .iter()
        .filter_map(|p| p.usage.as_ref())
        .filter_map(|u| share(Some(u.cpu_s), u.wall_s, per_process))
        .reduce(f64::max)
        .filter(|_| cell.processes.len() > 1)
}

/// CPU seconds over wall seconds over cores, when all are known and positive.
fn share(cpu_s: Option<f64>, wall_s: f64, cores: f64) -> Option<f64> {
    cpu_s
        .filter(|_| wall_s > 0.0 && cores.is_finite() && cores > 0.0)
        .map(|s| s / wall_s / cores)
}

/// The wait of the built-in `/sleep/{ms}` route.
pub fn sleep_ms(path: &str) -> Option<f64> {
    let rest = path.strip_prefix("/sleep/")?;
    let ms = rest.split(['?', '/']).next()?.parse::<u64>().ok()?;
    (ms > 0).then_some(ms as f64)
}
