//! The run matrix: which ab runs a [`Lab`] asks for, and in which order.
//!
//! A lab file has two kinds of sweep. Resource limits (`resources.cpus` × `resources.memory`)
//! are properties of the *server containers*, so each combination is a [`Group`]: its
//! servers run side by side under those limits. Everything else (workload, keep-alive,
//! concurrency) is a property of one *ab run*, a [`Point`]. A [`CellRef`] is one ab run
//! against one server instance of one group, once per repetition.
//!
//! Why interleave: a laptop that heats up, a noisy neighbour or a cache that warms all make
//! later runs differ from earlier ones. Measuring all of model A and then all of model B
//! would hand that drift to one model; running A B, then B A, at every point spreads it
//! evenly, and repetitions of the same point stay close together in time.

use std::fmt::Write as _;

use serde::Serialize;

use super::units::format_memory;
use super::{Lab, Pin, ServerSource};

/// Everything the driver runs, grouped as it runs it.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub groups: Vec<Group>,
    pub repeat: u32,
}

/// One combination of the top-level resource sweep (cpus × memory). All servers of a group
/// run side by side (each in its own container with these limits, or its own override), so
/// repetitions can interleave servers.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub index: usize,
    /// `cpus=1 memory=256m`: names the group in reports and progress.
    pub label: String,
    /// One per server, in file order.
    pub instances: Vec<Instance>,
    /// The ab runs of this group, in execution order.
    pub points: Vec<Point>,
}

/// A server container of a group, with its effective limits (a server's override wins over
/// the group's values).
#[derive(Debug, Clone, Serialize)]
pub struct Instance {
    /// Index into [`Lab::servers`].
    pub server: usize,
    pub cpus: f64,
    pub memory: u64,
    pub pids: Option<i64>,
}

/// The settings of one ab run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// Index into [`Lab::workloads`].
    pub workload: usize,
    pub concurrency: u32,
    pub keepalive: bool,
    /// Open loop: the offered rate; `None` for closed-loop cells.
    pub rate: Option<super::RateSpec>,
}

/// A cell = one ab run: (group, point, server instance, repetition), in EXECUTION order:
/// for each group, for each point (workload, then keepalive, then concurrency ascending), for
/// each repetition r, for each instance — instances in listed order when r is even, reversed
/// when r is odd (A B, B A, ...) so drift does not favour one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellRef {
    pub group: usize,
    pub instance: usize,
    pub point: usize,
    /// 0-based.
    pub repetition: u32,
}

impl Plan {
    /// Expands the sweeps of `lab`: groups cpus-major (each cpus value with every memory
    /// value), points workload-major, then keep-alive as listed, then concurrency ascending
    /// (so a run's load only grows within a series, and a collapse is easy to see).
    pub fn new(lab: &Lab) -> Plan {
        let mut concurrency = lab.loadgen.concurrency.clone();
        concurrency.sort_unstable();
        // Rates ascend too: percentages first, then absolute rates (see `RateSpec`'s order).
        let mut rates: Vec<Option<super::RateSpec>> =
            lab.loadgen.rate.iter().copied().map(Some).collect();
        rates.sort_unstable();
        if rates.is_empty() {
            rates.push(None);
        }
        let mut points = Vec::new();
        for workload in 0..lab.workloads.len() {
            for &keepalive in &lab.loadgen.keepalive {
                for &c in &concurrency {
                    for &rate in &rates {
                        points.push(Point {
                            workload,
                            concurrency: c,
                            keepalive,
                            rate,
                        });
                    }
                }
            }
        }

        let mut groups = Vec::new();
        for &cpus in &lab.resources.cpus {
            for &memory in &lab.resources.memory {
                let instances = lab
                    .servers
                    .iter()
                    .enumerate()
                    .map(|(server, s)| Instance {
                        server,
                        cpus: s.resources.cpus.unwrap_or(cpus),
                        memory: s.resources.memory.unwrap_or(memory),
                        pids: s.resources.pids.or(lab.resources.pids),
                    })
                    .collect();
                groups.push(Group {
                    index: groups.len(),
                    label: format!("cpus={cpus} memory={}", format_memory(memory)),
                    instances,
                    points: points.clone(),
                });
            }
        }
        Plan {
            groups,
            repeat: lab.repeat,
        }
    }

    /// Every ab run, in execution order (see [`CellRef`]).
    pub fn cells(&self) -> Vec<CellRef> {
        let mut cells = Vec::with_capacity(self.cell_count());
        for group in &self.groups {
            let n = group.instances.len();
            for point in 0..group.points.len() {
                for repetition in 0..self.repeat {
                    for k in 0..n {
                        let instance = if repetition % 2 == 0 { k } else { n - 1 - k };
                        cells.push(CellRef {
                            group: group.index,
                            instance,
                            point,
                            repetition,
                        });
                    }
                }
            }
        }
        cells
    }

    /// The number of ab runs.
    pub fn cell_count(&self) -> usize {
        self.groups
            .iter()
            .map(|g| g.points.len() * g.instances.len())
            .sum::<usize>()
            * self.repeat as usize
    }

    /// Seconds of load the timed cells of the plan send (every repetition).
    pub fn load_seconds(&self, lab: &Lab) -> f64 {
        self.groups
            .iter()
            .flat_map(|g| {
                g.points.iter().map(|p| {
                    let path = &lab.workloads[p.workload].path;
                    super::length::cell_seconds(lab, path).unwrap_or(0.0) * g.instances.len() as f64
                })
            })
            .sum::<f64>()
            * f64::from(self.repeat)
    }

    /// Requests the whole plan sends: `requests` per cell (or an absolute rate × duration;
    /// percentages of a capacity not yet measured count as nothing), plus one warm-up per
    /// server instance per group.
    /// Saturates rather than overflows (validation keeps real plans far below).
    pub fn estimated_requests(&self, lab: &Lab) -> u64 {
        let instances: usize = self.groups.iter().map(|g| g.instances.len()).sum();
        let per_cell = |p: &Point| match (p.rate, lab.loadgen.duration_s) {
            (Some(r), Some(d)) => r.resolve(None).map_or(0, |r| (r * d) as u64),
            _ => lab.loadgen.requests,
        };
        let cells: u64 = self
            .groups
            .iter()
            .flat_map(|g| {
                g.points
                    .iter()
                    .map(|p| per_cell(p).saturating_mul(g.instances.len() as u64))
            })
            .fold(0u64, u64::saturating_add);
        cells
            .saturating_mul(u64::from(self.repeat))
            .saturating_add((instances as u64).saturating_mul(lab.warmup))
    }
}

/// The plan in words, for `lab check`.
pub fn describe(lab: &Lab, plan: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "lab {} → {}/", lab.name, lab.output.display());
    describe_servers(&mut s, lab);
    let lg = &lab.loadgen;
    let amount = match lg.duration_s {
        Some(d) => format!("{d}s per run"),
        None if lg.sized_by_policy() => format!(
            "runs of {}s (the steady-state policy: {} CPU-quota periods of {} ms of steady load)",
            super::length::policy_seconds(lab, "/"),
            lg.min_periods,
            lab.resources.period_s() * 1000.0
        ),
        None => format!("{} requests per run", lg.requests),
    };
    let processes = match lg.processes {
        super::Processes::Count(1) => String::new(),
        super::Processes::Auto => ", processes: one per CPU it may use".to_string(),
        super::Processes::Count(n) => format!(", {n} processes per cell"),
    };
    let _ = writeln!(
        s,
        "loadgen: {} in {}{}{processes}, {amount}, timeout {}s",
        lg.tool,
        lg.image,
        lg.cpus.map(|c| format!(" (cpus {c})")).unwrap_or_default(),
        lg.timeout_s
    );
    if !lg.rate.is_empty() {
        let mut rates = lg.rate.clone();
        rates.sort_unstable();
        let rates: Vec<String> = rates.iter().map(|r| r.to_string()).collect();
        let _ = writeln!(
            s,
            "open loop: offered rates [{}] req/s (percentages of a closed-loop capacity measured first per server and group)",
            rates.join(", ")
        );
    }
    describe_groups(&mut s, lab, plan);
    describe_settings(&mut s, lab, plan);
    let up_to = if lab.repeat_auto.is_some() {
        "up to "
    } else {
        ""
    };
    if lab.loadgen.requests == 0 {
        let _ = write!(
            s,
            "{up_to}{} cells, {up_to}{:.0} s of load",
            plan.cell_count(),
            plan.load_seconds(lab)
        );
    } else {
        let _ = write!(
            s,
            "{up_to}{} cells, ~{} requests",
            plan.cell_count(),
            plan.estimated_requests(lab)
        );
    }
    if lab.loadgen.rate.iter().any(|r| r.resolve(None).is_none()) {
        s.push_str(" plus those of the cells at a share of capacity (known once it is measured)");
    }
    s
}

fn describe_servers(s: &mut String, lab: &Lab) {
    let _ = writeln!(s, "servers:");
    for server in &lab.servers {
        let source = match &server.source {
            ServerSource::Model(m) => format!("model {} ({})", m.as_str(), m.image()),
            ServerSource::Image(image) => format!("image {image}"),
        };
        let _ = write!(s, "  {:<12} {source}, port {}", server.name, server.port);
        if !server.args.is_empty() {
            let _ = write!(s, ", args {}", server.args.join(" "));
        }
        for (k, v) in &server.env {
            let _ = write!(s, ", {k}={}", v.shown());
        }
        if !server.hardening {
            let _ = write!(s, ", hardening off");
        }
        let _ = writeln!(s);
    }
}

fn describe_groups(s: &mut String, lab: &Lab, plan: &Plan) {
    let _ = writeln!(s, "groups:");
    for group in &plan.groups {
        let _ = writeln!(s, "  [{}] {}", group.index, group.label);
        for inst in &group.instances {
            let _ = writeln!(
                s,
                "      {:<12} cpus {} memory {} pids {}",
                lab.servers[inst.server].name,
                inst.cpus,
                format_memory(inst.memory),
                inst.pids.map_or("unlimited".to_string(), |p| p.to_string())
            );
        }
    }
    let lg = &lab.loadgen;
    let mut concurrency = lg.concurrency.clone();
    concurrency.sort_unstable();
    let concurrency: Vec<String> = concurrency.iter().map(u32::to_string).collect();
    let keepalive: Vec<String> = lg.keepalive.iter().map(bool::to_string).collect();
    let points = plan.groups.first().map_or(0, |g| g.points.len());
    let _ = writeln!(s, "points: {points} per group");
    let rates = if lg.rate.is_empty() {
        String::new()
    } else {
        format!(" × {} rates", lg.rate.len())
    };
    for w in &lab.workloads {
        let _ = writeln!(
            s,
            "  {} {} × keepalive [{}] × concurrency [{}]{rates}",
            w.name,
            w.path,
            keepalive.join(", "),
            concurrency.join(", ")
        );
    }
}

fn describe_settings(s: &mut String, lab: &Lab, plan: &Plan) {
    let _ = match &lab.repeat_auto {
        Some(a) => writeln!(
            s,
            "repeat: auto, until the 95% interval of the median req/s is within ±{}%, {}..={} times, at most {}s per point (servers interleaved A B, B A, ...)",
            a.target * 100.0,
            a.min,
            a.max,
            a.time_s
        ),
        None => writeln!(
            s,
            "repeat: {} (servers interleaved A B, B A, ...)",
            plan.repeat
        ),
    };
    let warmup = match lab.warmup {
        0 => "off".to_string(),
        n => format!("{n} requests per server start"),
    };
    let _ = writeln!(s, "warmup: {warmup}");
    let pin = match &lab.pin {
        Pin::Auto => "auto".to_string(),
        Pin::Off => "off".to_string(),
        Pin::Explicit { servers, loadgen } => {
            format!("servers on CPUs {servers}, loadgen on CPUs {loadgen}")
        }
    };
    let _ = writeln!(s, "pin: {pin}");
    if lab.confirm {
        let _ = writeln!(
            s,
            "confirm: after the run, each server-cpu and loadgen verdict is checked by a control and a counterfactual run of its point"
        );
    }
    if let super::Nofile::Fixed(n) = lab.nofile {
        let _ = writeln!(s, "nofile: {n} open files in every container");
    }
    if let Some(bg) = &lab.background {
        let _ = writeln!(
            s,
            "background: a second ab holds {} connections on {} (keep-alive {}) during every measurement",
            bg.concurrency,
            bg.path,
            if bg.keepalive { "on" } else { "off" }
        );
    }
}
