//! `tune:`: what `lab tune` searches for, and how much it may spend.
//!
//! ```yaml
//! tune:
//!   targets:                    # one search per server and target
//!     - { workload: cpu, rps: 250, concurrency: 10, p99: 100ms, errors: 0, requests: 500 }
//!   cpus: { min: 0.05, max: 1.0, resolution: 0.05 }   # search the CPU limit (optional)
//!   memory: { min: 8m, max: 128m, resolution: 8m }    # then the memory limit (optional)
//!   headroom: 20%               # added in the pasted snippets, never in the answer
//!   confirm: 60s                # each answer held this long before it is given (or off)
//!   hold: 95%                   # ... in at least this share of its one-second windows
//!   budget: { probes: 60, time: 6m }
//! ```
//!
//! The servers, the workload, the load settings and `repeat` are the lab file's own: each
//! probe of the search is one of its cells at the probe's limits. `lab run` ignores this
//! section (it measures the file's own `resources`), so one file can serve both commands.
//!
//! A target is a closed-loop load, `rps` requests per second at `concurrency` connections
//! (ab's or oha's `-c`), or, with `loadgen.tool: oha`, an open-loop one: `rate` requests per
//! second offered over `connections` whatever the server does, which it must achieve
//! within 5% with p99 (measured from each request's due time) within the bound: the shape
//! of a service-level objective, which a closed loop hides by slowing its senders.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use super::locate::{index, join};
use super::repeat::Share;
use super::units::{format_memory, DurationMs, MemorySize};
use super::{Loadgen, Workload};

/// The confirmation run's length when the file does not say, seconds: 600 quota periods,
/// long enough for a minute's drift of the machine and of the server (caches, allocator,
/// a slow leak) to show, short enough to run at every answer.
pub const DEFAULT_CONFIRM_S: f64 = 60.0;
/// Share of one-second windows a confirmation run must hold the target in.
pub const DEFAULT_HOLD: f64 = 0.95;
/// An open-loop target is met when the achieved rate is within this share of the offered
/// one; the judge flags a cell `rate-shortfall` past the same share (one number for both).
pub const ACHIEVED_WITHIN: f64 = 0.05;
/// The CPU resolution when the file does not say.
pub const DEFAULT_CPU_RESOLUTION: f64 = 0.05;
/// The memory resolution when the file does not say.
pub const DEFAULT_MEMORY_RESOLUTION: u64 = 8 * 1024 * 1024;
/// Probes a whole `lab tune` may run when the file does not say.
pub const DEFAULT_PROBES: u32 = 80;
/// Wall time a whole `lab tune` may take when the file does not say, seconds.
pub const DEFAULT_TIME_S: f64 = 15.0 * 60.0;
/// Headroom added in the snippets when the file does not say.
pub const DEFAULT_HEADROOM: f64 = 0.20;
/// Values a searched range may have: bisection needs log2 of it, but a grid of a million
/// points is a typo.
pub const MAX_GRID: u64 = 10_000;
/// Targets in one file.
pub const MAX_TARGETS: usize = 16;
/// Probes one `lab tune` may be given.
pub const MAX_PROBES: u32 = 1000;

/// The checked `tune:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tune {
    pub targets: Vec<Target>,
    /// The CPU range to search; `None`: the CPU limit stays the lab file's.
    pub cpus: Option<CpuRange>,
    /// The memory range to search (at the CPU limit found); `None`: the lab file's.
    pub memory: Option<MemoryRange>,
    /// Share added to the answers in the docker-compose and Kubernetes snippets.
    pub headroom: f64,
    pub budget: Budget,
    /// Length of the confirmation run at each answer, seconds (`confirm: 60s`): the answer
    /// is given only if one cell that long passes the target and holds it in `hold` of its
    /// one-second windows; `None`: `confirm: off` (or a record from before confirmation).
    #[serde(default)]
    pub confirm_s: Option<f64>,
    /// Share of a confirmation run's one-second windows in which the target must hold.
    #[serde(default = "default_hold")]
    pub hold: f64,
}

fn default_hold() -> f64 {
    DEFAULT_HOLD
}

/// What a probe must show to pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// The name of one of the lab file's workloads.
    pub workload: String,
    /// Requests per second (2xx only) the server must serve.
    pub rps: f64,
    pub load: TargetLoad,
    /// ab `-n` for the probes: the target's own, else the lab file's `loadgen.requests`;
    /// 0 when neither gives one: the probes are sized by the steady-state policy (each
    /// covers `loadgen.min_periods` quota periods of steady load), as they should be.
    #[serde(default)]
    pub requests: u64,
    /// ab `-k` for the probes: the target's own, else the lab file's first `keepalive`.
    pub keepalive: bool,
    /// The bound on the median p99 latency of the probe's repetitions, ms.
    pub p99_ms: Option<f64>,
    /// Share of responses that may fail or be non-2xx (0 = none).
    pub errors: f64,
}

impl Target {
    /// `cpu ≥ 250 req/s at c=10, p99 ≤ 100 ms, no errors`, or in open loop `cpu: 600 req/s
    /// offered over 16 connections, achieved within 5%, ...`: how reports name a target.
    pub fn describe(&self) -> String {
        let mut s = match self.load {
            TargetLoad::Closed { .. } => {
                format!("{} ≥ {} req/s at {}", self.workload, self.rps, self.load)
            }
            TargetLoad::Open { .. } => format!(
                "{}: {}, achieved within {:.0}%",
                self.workload,
                self.load,
                ACHIEVED_WITHIN * 100.0
            ),
        };
        if let Some(p) = self.p99_ms {
            s.push_str(&format!(", p99 ≤ {p} ms"));
        }
        if self.errors == 0.0 {
            s.push_str(", no errors");
        } else {
            s.push_str(&format!(", errors ≤ {}%", self.errors * 100.0));
        }
        s
    }
}

/// How the target's load is offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetLoad {
    /// ab's closed loop: `concurrency` connections, each sending its next request when the
    /// last one is answered.
    Closed { concurrency: u32 },
    /// oha's open loop: `rate` requests per second sent on schedule over `connections`,
    /// each measured from when it was due (`--latency-correction`).
    Open { rate: u64, connections: u32 },
}

impl TargetLoad {
    /// The connections the load is sent over.
    pub fn concurrency(&self) -> u32 {
        match self {
            TargetLoad::Closed { concurrency } => *concurrency,
            TargetLoad::Open { connections, .. } => *connections,
        }
    }
}

impl fmt::Display for TargetLoad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetLoad::Closed { concurrency } => write!(f, "c={concurrency}"),
            TargetLoad::Open { rate, connections } => {
                write!(f, "{rate} req/s offered over {connections} connections")
            }
        }
    }
}

impl Tune {
    /// What `lab check` says of the section: the searches, the grids and the budget.
    pub fn describe(&self, servers: usize) -> String {
        let mut s = format!(
            "tune: {} target(s) x {servers} server(s)",
            self.targets.len()
        );
        if let Some(c) = &self.cpus {
            s.push_str(&format!(
                "; cpus {}..{} by {} ({} values)",
                c.min,
                c.max,
                c.resolution,
                c.grid().len()
            ));
        }
        if let Some(m) = &self.memory {
            s.push_str(&format!(
                "; memory {}..{} by {} ({} values)",
                format_memory(m.min),
                format_memory(m.max),
                format_memory(m.resolution),
                m.grid().len()
            ));
        }
        s.push_str(&format!(
            "; budget {} probes, {:.0} s; headroom {:.0}%",
            self.budget.probes,
            self.budget.time_s,
            self.headroom * 100.0
        ));
        match self.confirm_s {
            Some(c) => s.push_str(&format!(
                "; each answer confirmed by a {c:.0} s run holding the target in {:.0}% of its seconds",
                self.hold * 100.0
            )),
            None => s.push_str("; answers not confirmed (confirm: off)"),
        }
        for t in &self.targets {
            s.push_str(&format!("\n  target: {}", t.describe()));
        }
        s
    }
}

/// A CPU range: `min`, `min + resolution`, ..., `max`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CpuRange {
    pub min: f64,
    pub max: f64,
    pub resolution: f64,
}

impl CpuRange {
    /// The values a search may probe, ascending; the last is always `max`. Rounded to the
    /// thousandth so that `0.1 + 0.05 * 3` prints as `0.25`, not `0.25000000000000006`.
    pub fn grid(&self) -> Vec<f64> {
        let steps = ((self.max - self.min) / self.resolution + 1e-9).floor() as u64;
        let mut v: Vec<f64> = (0..=steps)
            .map(|k| ((self.min + k as f64 * self.resolution) * 1000.0).round() / 1000.0)
            .filter(|x| *x < self.max - 1e-9)
            .collect();
        v.push(self.max);
        v
    }
}

/// A memory range in bytes, like [`CpuRange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryRange {
    pub min: u64,
    pub max: u64,
    pub resolution: u64,
}

impl MemoryRange {
    pub fn grid(&self) -> Vec<u64> {
        let mut v: Vec<u64> = (0..)
            .map(|k| self.min + k * self.resolution)
            .take_while(|x| *x < self.max)
            .collect();
        v.push(self.max);
        v
    }
}

/// What one `lab tune` may spend, over all its searches.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    pub probes: u32,
    pub time_s: f64,
}

/// `tune:` as written.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping such as { targets: [...], cpus: { min: 0.05, max: 1.0, resolution: 0.05 } }"
)]
pub struct RawTune {
    pub targets: Vec<RawTarget>,
    pub cpus: Option<RawCpuRange>,
    pub memory: Option<RawMemoryRange>,
    pub headroom: Option<Share>,
    pub budget: Option<RawBudget>,
    pub confirm: Option<RawConfirm>,
    pub hold: Option<Share>,
}

/// `confirm: 60s`, or `off` (also `false`).
#[derive(Debug)]
pub enum RawConfirm {
    Off,
    For(DurationMs),
}

impl<'de> Deserialize<'de> for RawConfirm {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawConfirm;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as 60s, or `off`")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawConfirm, E> {
                if v {
                    Err(E::custom(
                        "`true` is not a length; give a duration such as 60s, or `off`",
                    ))
                } else {
                    Ok(RawConfirm::Off)
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawConfirm, E> {
                Err(E::custom(format!("{v} has no unit; write {v}s")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawConfirm, E> {
                if v.trim() == "off" {
                    return Ok(RawConfirm::Off);
                }
                super::units::parse_duration_ms(v)
                    .map(|ms| RawConfirm::For(DurationMs(ms)))
                    .map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a target such as { workload: cpu, rps: 250, concurrency: 10, p99: 100ms }"
)]
pub struct RawTarget {
    pub workload: String,
    pub rps: Option<f64>,
    pub concurrency: Option<u32>,
    /// An open-loop target (needs oha): req/s offered, over `connections`.
    pub rate: Option<serde_yaml::Value>,
    pub connections: Option<u32>,
    pub requests: Option<u64>,
    pub keepalive: Option<bool>,
    pub p99: Option<DurationMs>,
    pub errors: Option<ErrorShare>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping such as { min: 0.05, max: 1.0, resolution: 0.05 }"
)]
pub struct RawCpuRange {
    pub min: f64,
    pub max: f64,
    pub resolution: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping such as { min: 8m, max: 256m, resolution: 8m }"
)]
pub struct RawMemoryRange {
    pub min: MemorySize,
    pub max: MemorySize,
    pub resolution: Option<RawSize>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping such as { probes: 60, time: 5m }"
)]
pub struct RawBudget {
    pub probes: Option<u32>,
    pub time: Option<DurationMs>,
}

/// A size without the 6 MiB floor of a container limit (a resolution may be 1m).
#[derive(Debug)]
pub struct RawSize(pub u64);

impl<'de> Deserialize<'de> for RawSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawSize;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size such as 4m")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawSize, E> {
                Ok(RawSize(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawSize, E> {
                super::units::parse_memory(v)
                    .map(RawSize)
                    .map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// `errors: 0`, `errors: 1%` or `errors: 0.01`: a [`Share`] that also takes a plain 0.
#[derive(Debug)]
pub struct ErrorShare(pub f64);

impl<'de> Deserialize<'de> for ErrorShare {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ErrorShare;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("0, or a percentage such as 1%")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ErrorShare, E> {
                match v {
                    0 => Ok(ErrorShare(0.0)),
                    _ => Err(E::custom(format!(
                        "{v} is ambiguous; write {v}% (a percentage)"
                    ))),
                }
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ErrorShare, E> {
                Ok(ErrorShare(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ErrorShare, E> {
                v.trim()
                    .strip_suffix('%')
                    .and_then(|p| p.trim().parse::<f64>().ok())
                    .map(|p| ErrorShare(p / 100.0))
                    .ok_or_else(|| E::custom(format!("`{v}` is not a percentage such as 1%")))
            }
        }
        d.deserialize_any(V)
    }
}

/// What the checks need from the rest of the file.
pub(crate) struct Context<'a> {
    pub workloads: &'a [Workload],
    pub loadgen: &'a Loadgen,
    /// The most CPUs a server may be given (the host's, or the servers' cpuset's).
    pub max_cpus: f64,
}

/// Check `tune:`; every problem goes to `fail(path, message)`.
pub(crate) fn check(raw: RawTune, cx: &Context<'_>, fail: &mut dyn FnMut(String, String)) -> Tune {
    if raw.targets.is_empty() {
        fail(
            "tune.targets".into(),
            "the list is empty; give at least one target, e.g. { workload: hello, rps: 1000, concurrency: 10 }".into(),
        );
    }
    if raw.targets.len() > MAX_TARGETS {
        fail(
            index("tune.targets", MAX_TARGETS),
            format!(
                "{} targets are too many; at most {MAX_TARGETS}",
                raw.targets.len()
            ),
        );
    }
    let targets = raw
        .targets
        .into_iter()
        .enumerate()
        .map(|(i, t)| target(t, &index("tune.targets", i), cx, fail))
        .collect();
    if raw.cpus.is_none() && raw.memory.is_none() {
        fail(
            "tune".into(),
            "nothing to search; give `cpus: { min, max, resolution }`, `memory: { min, max, resolution }`, or both".into(),
        );
    }
    let cpus = raw.cpus.map(|r| cpu_range(r, cx.max_cpus, fail));
    let memory = raw.memory.map(|r| memory_range(r, fail));
    let headroom = raw.headroom.map_or(DEFAULT_HEADROOM, |h| h.0);
    if !(0.0..=10.0).contains(&headroom) {
        fail(
            "tune.headroom".into(),
            format!(
                "{}% is out of range; use 0% to 1000%, e.g. 20%",
                headroom * 100.0
            ),
        );
    }
    let budget = raw.budget.map_or(
        Budget {
            probes: DEFAULT_PROBES,
            time_s: DEFAULT_TIME_S,
        },
        |b| budget(b, fail),
    );
    let (confirm_s, hold) = confirmation(raw.confirm, raw.hold, fail);
    Tune {
        targets,
        cpus,
        memory,
        headroom,
        budget,
        confirm_s,
        hold,
    }
}

/// `tune.confirm` and `tune.hold`, checked: the confirmation run's length (`None`: off) and
/// the share of its seconds that must hold the target.
fn confirmation(
    confirm: Option<RawConfirm>,
    hold: Option<Share>,
    fail: &mut dyn FnMut(String, String),
) -> (Option<f64>, f64) {
    let confirm_s = match confirm {
        Some(RawConfirm::Off) => None,
        None => Some(DEFAULT_CONFIRM_S),
        Some(RawConfirm::For(d)) => {
            let s = d.0 as f64 / 1000.0;
            if !(MIN_CONFIRM_S..=MAX_CONFIRM_S).contains(&s) {
                fail(
                    "tune.confirm".into(),
                    format!(
                        "{s} s is out of range; use {MIN_CONFIRM_S:.0}s to {:.0}m (60s by default), or `off`",
                        MAX_CONFIRM_S / 60.0
                    ),
                );
            }
            Some(s)
        }
    };
    let hold = hold.map_or(DEFAULT_HOLD, |h| h.0);
    if !(0.5..=1.0).contains(&hold) {
        fail(
            "tune.hold".into(),
            format!(
                "{}% is out of range; use 50% to 100% (95% by default)",
                hold * 100.0
            ),
        );
    }
    (confirm_s, hold)
}

/// A confirmation run shorter than this holds too few one-second windows for a share.
const MIN_CONFIRM_S: f64 = 3.0;
/// ... and one longer than this is a soak test, not a confirmation.
const MAX_CONFIRM_S: f64 = 1800.0;

fn target(
    t: RawTarget,
    path: &str,
    cx: &Context<'_>,
    fail: &mut dyn FnMut(String, String),
) -> Target {
    if !cx.workloads.iter().any(|w| w.name == t.workload) {
        let names: Vec<&str> = cx.workloads.iter().map(|w| w.name.as_str()).collect();
        fail(
            join(path, "workload"),
            format!(
                "`{}` is not a workload of this file; use one of: {}",
                t.workload,
                names.join(", ")
            ),
        );
    }
    let open = t
        .rate
        .as_ref()
        .map(|rate| open_load(&t, rate, path, cx, fail));
    let rps = match open {
        Some(TargetLoad::Open { rate, .. }) => rate as f64,
        _ => t.rps.unwrap_or(0.0),
    };
    match t.rps {
        None if t.rate.is_none() => fail(
            path.into(),
            "missing `rps`: the requests per second the server must serve".into(),
        ),
        Some(r) if !(r.is_finite() && r > 0.0) => fail(
            join(path, "rps"),
            format!("{r} is not a rate; use a number of requests per second > 0"),
        ),
        _ => {}
    }
    let (requests, load) = match open {
        Some(load) => (0, load),
        None => {
            let (requests, concurrency) = probe_load(&t, path, cx, fail);
            (requests, TargetLoad::Closed { concurrency })
        }
    };
    let errors = t.errors.map_or(0.0, |e| e.0);
    if !(0.0..1.0).contains(&errors) {
        fail(
            join(path, "errors"),
            format!("{}% is out of range; use 0 to 99%", errors * 100.0),
        );
    }
    let p99_ms = t.p99.map(|d| d.0 as f64);
    if p99_ms == Some(0.0) {
        fail(
            join(path, "p99"),
            "a p99 bound of 0 fails every probe; use e.g. 50ms, or leave it out".into(),
        );
    }
    Target {
        workload: t.workload,
        rps,
        load,
        requests,
        keepalive: t
            .keepalive
            .unwrap_or_else(|| cx.loadgen.keepalive.first().copied().unwrap_or(false)),
        p99_ms,
        errors,
    }
}

/// An open-loop target's load, checked: oha is the file's tool, `rate` is a whole number of
/// req/s, `connections` is given (`concurrency` is read as its other name), `rps` is not.
fn open_load(
    t: &RawTarget,
    rate: &serde_yaml::Value,
    path: &str,
    cx: &Context<'_>,
    fail: &mut dyn FnMut(String, String),
) -> TargetLoad {
    if cx.loadgen.tool != crate::record::Tool::Oha {
        fail(
            join(path, "rate"),
            "an open-loop target needs oha (ab cannot send at a fixed rate); set `loadgen.tool: oha`, or give `rps` and `concurrency` for a closed-loop target".into(),
        );
    }
    if t.rps.is_some() {
        fail(
            join(path, "rps"),
            "give `rps` (closed loop) or `rate` (open loop: the rate is the req/s to achieve), not both".into(),
        );
    }
    let rate = match rate.as_u64().filter(|r| (1..=10_000_000).contains(r)) {
        Some(r) => r,
        None => {
            fail(
                join(path, "rate"),
                "not a rate; give a whole number of requests per second offered, 1 to 10000000"
                    .into(),
            );
            1
        }
    };
    let connections = match t.connections.or(t.concurrency) {
        Some(n) if (1..=super::validate::MAX_CONCURRENCY).contains(&n) => n,
        Some(n) => {
            fail(
                join(path, "connections"),
                format!(
                    "{n} is out of range; use 1..={} connections",
                    super::validate::MAX_CONCURRENCY
                ),
            );
            1
        }
        None => {
            fail(
                path.into(),
                "missing `connections`: the connections oha sends the rate over (enough to carry it at the bound: rate × p99)".into(),
            );
            1
        }
    };
    TargetLoad::Open { rate, connections }
}

/// The probes' ab `-n` and `-c` of a target, checked: the target's own `requests` or the
/// file's, and its `concurrency`.
fn probe_load(
    t: &RawTarget,
    path: &str,
    cx: &Context<'_>,
    fail: &mut dyn FnMut(String, String),
) -> (u64, u32) {
    // 0: neither the target nor the file gives a count: the probes are sized by the
    // steady-state policy like the file's cells (see `length.rs`).
    let requests = t.requests.unwrap_or(cx.loadgen.requests);
    if t.requests == Some(0) || requests > super::validate::MAX_REQUESTS {
        fail(
            join(path, "requests"),
            format!(
                "{requests} is out of range; ab's requests must be 1..={}",
                super::validate::MAX_REQUESTS
            ),
        );
    }
    let concurrency = t.concurrency.unwrap_or(0);
    match t.concurrency {
        None if t.rate.is_none() => fail(
            path.into(),
            "missing `concurrency`: the connections ab keeps busy while it measures".into(),
        ),
        Some(n) if n == 0 || n > super::validate::MAX_CONCURRENCY => fail(
            join(path, "concurrency"),
            format!(
                "{n} is out of range; ab's concurrency must be 1..={}",
                super::validate::MAX_CONCURRENCY
            ),
        ),
        Some(n) if requests > 0 && u64::from(n) > requests => fail(
            join(path, "concurrency"),
            format!(
                "{n} is more than the probes' requests ({requests}); concurrency must be <= requests"
            ),
        ),
        _ => {}
    }
    (requests, concurrency)
}

fn cpu_range(r: RawCpuRange, max_cpus: f64, fail: &mut dyn FnMut(String, String)) -> CpuRange {
    let resolution = r.resolution.unwrap_or(DEFAULT_CPU_RESOLUTION);
    for (field, v) in [("min", r.min), ("max", r.max)] {
        if !(v.is_finite() && v >= super::validate::MIN_CPUS) {
            fail(
                format!("tune.cpus.{field}"),
                format!(
                    "{v} is not a CPU limit Docker accepts; use a number >= {}",
                    super::validate::MIN_CPUS
                ),
            );
        } else if v > max_cpus {
            fail(
                format!("tune.cpus.{field}"),
                format!("{v} is more than the {max_cpus} CPUs the servers may use here"),
            );
        }
    }
    if r.min >= r.max {
        fail(
            "tune.cpus.max".into(),
            format!(
                "{} is not more than min ({}); the range is empty",
                r.max, r.min
            ),
        );
    }
    if !(resolution.is_finite() && resolution >= super::validate::MIN_CPUS) {
        fail(
            "tune.cpus.resolution".into(),
            format!(
                "{resolution} is too fine; Docker's CPU limits have a resolution of {}",
                super::validate::MIN_CPUS
            ),
        );
    } else if r.max > r.min && (r.max - r.min) / resolution > MAX_GRID as f64 {
        fail(
            "tune.cpus.resolution".into(),
            format!("{resolution} makes more than {MAX_GRID} values to search; use a coarser one"),
        );
    }
    CpuRange {
        min: r.min,
        max: r.max,
        resolution,
    }
}

fn memory_range(r: RawMemoryRange, fail: &mut dyn FnMut(String, String)) -> MemoryRange {
    let resolution = r.resolution.map_or(DEFAULT_MEMORY_RESOLUTION, |s| s.0);
    let (min, max) = (r.min.0, r.max.0);
    if min >= max {
        fail(
            "tune.memory.max".into(),
            format!(
                "{} is not more than min ({}); the range is empty",
                format_memory(max),
                format_memory(min)
            ),
        );
    }
    if resolution == 0 {
        fail(
            "tune.memory.resolution".into(),
            "0 is not a resolution; use a size such as 4m".into(),
        );
    } else if max > min && (max - min) / resolution > MAX_GRID {
        fail(
            "tune.memory.resolution".into(),
            format!(
                "{} makes more than {MAX_GRID} values to search; use a coarser one",
                format_memory(resolution)
            ),
        );
    }
    MemoryRange {
        min,
        max,
        resolution,
    }
}

fn budget(b: RawBudget, fail: &mut dyn FnMut(String, String)) -> Budget {
    let probes = b.probes.unwrap_or(DEFAULT_PROBES);
    if !(1..=MAX_PROBES).contains(&probes) {
        fail(
            "tune.budget.probes".into(),
            format!("{probes} is out of range; a tune runs 1..={MAX_PROBES} probes"),
        );
    }
    let time_s = b.time.map_or(DEFAULT_TIME_S, |t| t.0 as f64 / 1000.0);
    if time_s <= 0.0 {
        fail(
            "tune.budget.time".into(),
            "the time budget must be more than 0s".into(),
        );
    }
    Budget { probes, time_s }
}
