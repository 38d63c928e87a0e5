//! The checks serde cannot do alone, and the defaults: raw [`schema`] types → [`Lab`].
//!
//! Each check records an [`Issue`] under the path of the field at fault; the caller turns the
//! first one in file order into a located [`super::ConfigError`]. All checks run even after
//! one fails, so that "first in the file" does not depend on the order of the code below.

use std::collections::{BTreeMap, HashMap};

use super::locate::{index, join, Locations, Pos};
use super::rate::RateSpec;
use super::rules::{
    image_problem, output_problem, process_text_problem, quote, shown, url_path_problem,
};
use super::schema::{
    RawBackground, RawLab, RawLoadgen, RawNofile, RawPin, RawResources, RawServer, RawWorkload,
};
use super::units::{format_memory, parse_cpuset, DurationMs, OneOrMany, Text};
use super::{
    Background, Lab, Loadgen, Model, Nofile, Pin, Processes, ResourceOverride, Resources, Server,
    ServerSource, Workload, DEFAULT_LOADGEN_IMAGE, DEFAULT_OHA_IMAGE, DEFAULT_OUTPUT,
    DEFAULT_TIMEOUT_S, DEFAULT_WARMUP,
};
use crate::record::Tool;

/// Limits that keep a typo from launching an experiment nobody wants to wait for.
pub const MAX_REPEAT: u32 = 100;
pub const MAX_SERVERS: usize = 16;
pub const MAX_WORKLOADS: usize = 32;
/// ab refuses more (`MAX_CONCURRENCY` in ab.c).
pub const MAX_CONCURRENCY: u32 = 20_000;
/// ab allocates a 32-byte record per request before it starts (320 MB at this limit), and
/// keeps `-n` in a C `int`.
pub const MAX_REQUESTS: u64 = 10_000_000;
/// The warm-up is an ab run too; it needs a few thousand requests, not billions.
pub const MAX_WARMUP: u64 = 10_000_000;
/// Longest timed cell (`loadgen.duration`).
pub const MAX_DURATION_MS: u64 = 3_600_000;
/// Values in one sweep list.
pub const MAX_SWEEP: usize = 1000;
/// ab runs in a whole plan (at about half a second each, at least 14 hours).
pub const MAX_CELLS: u64 = 100_000;
/// Names end up in file names (`g0-{server}-{workload}-ka-c10-r0.stdout.txt`), run ids and
/// container names, each limited to 255 bytes.
pub const MAX_NAME: usize = 64;
/// Docker's smallest `--cpus` (its `NanoCPUs` must be at least 10^7).
pub const MIN_CPUS: f64 = 0.01;
/// Open files ab and a server need besides one per connection (stdio, listener, epoll,
/// the percentile file, the metrics scrape), with room to spare.
pub const NOFILE_SLACK: u64 = 32;
/// Linux's default `fs.nr_open`: no container can have more open files.
pub const MAX_NOFILE: u64 = 1 << 20;

/// The name and size of an explicit cpuset (`("servers", 2)`), to check cpus limits against.
type CpusetSize = Option<(&'static str, usize)>;

/// One thing wrong with a lab file.
#[derive(Debug)]
pub(crate) struct Issue {
    pub path: String,
    pub message: String,
    /// Point at the key of the entry rather than at its value (e.g. for "not both").
    pub at_key: bool,
}

impl Issue {
    pub fn position(&self, locations: &Locations) -> Pos {
        if self.at_key {
            locations.key(&self.path)
        } else {
            locations.value(&self.path)
        }
    }
}

/// Collects issues while the checked values are built.
#[derive(Default)]
struct Checker {
    issues: Vec<Issue>,
}

impl Checker {
    fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.issues.push(Issue {
            path: path.into(),
            message: message.into(),
            at_key: false,
        });
    }

    fn fail_at_key(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.issues.push(Issue {
            path: path.into(),
            message: message.into(),
            at_key: true,
        });
    }

    /// A name made only of `allowed` punctuation and ASCII letters and digits.
    fn name(&mut self, path: &str, name: &str, allowed: &str) {
        let pattern = format!("[A-Za-z0-9{allowed}]+");
        if name.is_empty() {
            self.fail(path, format!("the name is empty; use {pattern}"));
        } else if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || allowed.contains(*c)))
        {
            self.fail(
                path,
                format!(
                    "{} contains '{}'; names are {pattern} (they end up in container names and file names)",
                    quote(name),
                    shown(c)
                ),
            );
        } else if name.len() > MAX_NAME {
            self.fail(
                path,
                format!(
                    "{} is {} characters long; names have at most {MAX_NAME} (they end up in \
                     container names and file names)",
                    quote(name),
                    name.len()
                ),
            );
        }
    }

    /// A check of one value from [`super::rules`].
    fn rule(&mut self, path: &str, problem: Option<String>) {
        if let Some(message) = problem {
            self.fail(path, message);
        }
    }

    /// A `--cpus` value: a positive number no larger than the host (or cpuset) can give.
    fn cpus(&mut self, path: &str, cpus: f64, host_cpus: usize, cpuset: CpusetSize) {
        if !cpus.is_finite() || cpus <= 0.0 {
            self.fail(
                path,
                format!("{cpus} is not a CPU limit; use a number > 0, e.g. 1.0 or 0.5"),
            );
        } else if cpus < MIN_CPUS {
            self.fail(
                path,
                format!("{cpus} is less than {MIN_CPUS}, the smallest CPU limit Docker accepts"),
            );
        } else if cpus > host_cpus as f64 {
            self.fail(
                path,
                format!(
                    "{cpus} is more than the {host_cpus} CPU{} of this host",
                    plural(host_cpus)
                ),
            );
        } else if let Some((pin, n)) = cpuset.filter(|(_, n)| cpus > *n as f64) {
            self.fail(
                path,
                format!(
                    "{cpus} is more than the {n} CPU{} that pin.{pin} allows",
                    plural(n)
                ),
            );
        }
    }

    /// A sweep must have at least one value, and no value twice (the results of two equal
    /// cells would land under one key).
    fn sweep<T: PartialEq + std::fmt::Display>(&mut self, path: &str, sweep: &OneOrMany<T>) {
        if sweep.items.is_empty() {
            self.fail(path, "the list is empty; give at least one value");
        }
        if sweep.items.len() > MAX_SWEEP {
            // (Also spares the quadratic search for duplicates below.)
            self.fail(
                path,
                format!(
                    "the list has {} values; a sweep has at most {MAX_SWEEP}",
                    sweep.items.len()
                ),
            );
            return;
        }
        for (i, item) in sweep.items.iter().enumerate() {
            if let Some(j) = sweep.items[..i].iter().position(|x| x == item) {
                self.fail(
                    sweep.item_path(path, i),
                    format!("{item} is listed twice (also at {})", index(path, j)),
                );
            }
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Checks a raw lab file and fills in defaults; `Err` holds every issue found.
pub(crate) fn lab(raw: RawLab, host_cpus: usize) -> Result<Lab, Vec<Issue>> {
    let mut c = Checker::default();

    c.name("name", &raw.name, "_.-");
    let output = raw.output.unwrap_or_else(|| DEFAULT_OUTPUT.to_string());
    c.rule("output", output_problem(&output));
    // Cells the lab sizes (or that run for a time) hold many seconds: batches that give an
    // interval from two repetitions (see `stats::batch_ci95`).
    let timed = raw.loadgen.duration.is_some()
        || (raw.loadgen.requests.is_none() && raw.loadgen.rate.is_none());
    let (repeat, repeat_auto) =
        super::repeat::check(raw.repeat, timed).unwrap_or_else(|(field, msg)| {
            c.fail(field, msg);
            (1, None)
        });
    let warmup = raw.warmup.map_or(DEFAULT_WARMUP, |w| w.0);
    if warmup > MAX_WARMUP {
        c.fail(
            "warmup",
            format!("{warmup} is more than {MAX_WARMUP}; a warm-up needs a few thousand requests"),
        );
    }

    let (pin, server_cpuset, loadgen_cpuset) = pin(&mut c, raw.pin, host_cpus);
    let servers = servers(&mut c, raw.servers, host_cpus, server_cpuset);
    let resources = resources(&mut c, raw.resources, host_cpus, server_cpuset);
    let loadgen = loadgen(&mut c, raw.loadgen, host_cpus, loadgen_cpuset);
    let workloads = workloads(&mut c, raw.workloads);
    let background = raw.background.map(|b| background(&mut c, b));
    let nofile = nofile(&mut c, raw.nofile, &loadgen, background.as_ref());
    let hosts = super::hosts::check(raw.hosts).unwrap_or_else(|(field, msg)| {
        c.fail(field, msg);
        Default::default()
    });
    oha_on_one_host(&mut c, &loadgen, &hosts);
    cells(&mut c, &servers, &resources, &loadgen, &workloads, repeat);
    let tune = raw.tune.map(|t| {
        let cx = super::tune::Context {
            workloads: &workloads,
            loadgen: &loadgen,
            max_cpus: server_cpuset.map_or(host_cpus, |(_, n)| n) as f64,
        };
        super::tune::check(t, &cx, &mut |path, message| c.fail(path, message))
    });
    let thresholds = raw.thresholds.map_or_else(Vec::new, |t| {
        let cx = super::thresholds::Context {
            servers: &servers,
            workloads: &workloads,
            loadgen: &loadgen,
            resources: &resources,
        };
        super::thresholds::check(t, &cx, &mut |path, message| c.fail(path, message))
    });

    if !c.issues.is_empty() {
        return Err(c.issues);
    }
    Ok(Lab {
        name: raw.name,
        output: output.into(),
        repeat,
        repeat_auto,
        warmup,
        pin,
        servers,
        resources,
        loadgen,
        workloads,
        background,
        nofile,
        hosts,
        tune,
        thresholds,
        confirm: raw.confirm.unwrap_or(false),
    })
}

/// An explicit open-file limit must leave room for the largest concurrency (ab and the
/// server each hold one descriptor per connection) and be one Linux can give.
fn nofile(
    c: &mut Checker,
    raw: Option<RawNofile>,
    loadgen: &Loadgen,
    background: Option<&Background>,
) -> Nofile {
    let n = match raw {
        None | Some(RawNofile::Auto) => return Nofile::Auto,
        Some(RawNofile::Fixed(n)) => n,
    };
    let connections = loadgen
        .concurrency
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .saturating_add(background.map_or(0, |b| b.concurrency));
    let need = u64::from(connections) + NOFILE_SLACK;
    if n > MAX_NOFILE {
        c.fail(
            "nofile",
            format!("{n} is more than {MAX_NOFILE}, the most open files Linux allows by default; use `auto` or less"),
        );
    } else if n < need {
        c.fail(
            "nofile",
            format!(
                "{n} open files leave no room for {connections} connections (ab and the server \
                 each need one per connection, plus {NOFILE_SLACK}); use at least {need}, or `auto`"
            ),
        );
    }
    Nofile::Fixed(n)
}

fn background(c: &mut Checker, b: RawBackground) -> Background {
    if b.concurrency == 0 || b.concurrency > MAX_CONCURRENCY {
        c.fail(
            "background.concurrency",
            format!(
                "{} is out of range; ab's concurrency must be 1..={MAX_CONCURRENCY}",
                b.concurrency
            ),
        );
    }
    c.rule("background.path", url_path_problem(&b.path, "/sleep/1000"));
    Background {
        concurrency: b.concurrency,
        path: b.path,
        keepalive: b.keepalive.unwrap_or(true),
    }
}

/// The number of ab runs the sweeps make must stay sane: a typo in a sweep should not plan
/// a month of runs (nor the memory to list them). Counted without overflow.
fn cells(
    c: &mut Checker,
    servers: &[Server],
    resources: &Resources,
    loadgen: &Loadgen,
    workloads: &[Workload],
    repeat: u32,
) {
    let groups = (resources.cpus.len() as u64).saturating_mul(resources.memory.len() as u64);
    let points = [
        loadgen.keepalive.len(),
        loadgen.concurrency.len(),
        loadgen.rate.len().max(1),
    ]
    .iter()
    .fold(workloads.len() as u64, |n, &k| n.saturating_mul(k as u64));
    let cells = [groups, points, servers.len() as u64, u64::from(repeat)]
        .iter()
        .fold(1u64, |n, &k| n.saturating_mul(k));
    if cells > MAX_CELLS {
        c.fail(
            super::TOP_LEVEL,
            format!(
                "the sweeps make {cells} ab runs ({groups} resource groups × {points} points × \
                 {} servers × {repeat} repetitions); at most {MAX_CELLS}",
                servers.len()
            ),
        );
    }
}

/// The pin mode, and the sizes of the explicit cpusets (to check cpus limits against).
fn pin(c: &mut Checker, raw: Option<RawPin>, host_cpus: usize) -> (Pin, CpusetSize, CpusetSize) {
    match raw {
        None | Some(RawPin::Auto) => (Pin::Auto, None, None),
        Some(RawPin::Off) => (Pin::Off, None, None),
        Some(RawPin::Explicit(p)) => {
            let servers = parse_cpuset(&p.servers.0, host_cpus);
            let loadgen = parse_cpuset(&p.loadgen.0, host_cpus);
            if let Err(m) = &servers {
                c.fail("pin.servers", m.clone());
            }
            if let Err(m) = &loadgen {
                c.fail("pin.loadgen", m.clone());
            }
            let (mut s_size, mut l_size) = (None, None);
            if let (Ok(s), Ok(l)) = (&servers, &loadgen) {
                if let Some(cpu) = l.iter().find(|cpu| s.contains(cpu)) {
                    c.fail(
                        "pin.loadgen",
                        format!(
                            "CPU {cpu} is in both pin.servers and pin.loadgen; give the load \
                             generator CPUs of its own, or use `pin: off`"
                        ),
                    );
                }
                s_size = Some(("servers", s.len()));
                l_size = Some(("loadgen", l.len()));
            }
            let pin = Pin::Explicit {
                servers: p.servers.0.trim().to_string(),
                loadgen: p.loadgen.0.trim().to_string(),
            };
            (pin, s_size, l_size)
        }
    }
}

fn servers(
    c: &mut Checker,
    raw: Vec<RawServer>,
    host_cpus: usize,
    cpuset: CpusetSize,
) -> Vec<Server> {
    if raw.is_empty() {
        c.fail("servers", "the list is empty; give at least one server");
    }
    if raw.len() > MAX_SERVERS {
        c.fail(
            index("servers", MAX_SERVERS),
            format!("{} servers are too many; at most {MAX_SERVERS}", raw.len()),
        );
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, s) in raw.into_iter().enumerate() {
        let path = index("servers", i);
        c.name(&join(&path, "name"), &s.name, "_-");
        if let Some(j) = seen.insert(s.name.clone(), i) {
            c.fail(
                join(&path, "name"),
                format!(
                    "{} is already the name of servers[{j}]; names must be unique",
                    quote(&s.name)
                ),
            );
        }
        let source = server_source(c, &path, s.model, s.image);
        if s.port == 0 {
            c.fail(join(&path, "port"), "0 is not a port; use 1..=65535");
        }
        process_texts(c, &path, &s.args, &s.env);
        let resources = s
            .resources
            .map(|r| resource_override(c, &join(&path, "resources"), r, host_cpus, cpuset))
            .unwrap_or_default();
        out.push(Server {
            name: s.name,
            source: source.unwrap_or(ServerSource::Image(String::new())),
            port: s.port,
            args: s.args.into_iter().map(|a| a.0).collect(),
            env: s
                .env
                .into_iter()
                .map(|(k, v)| {
                    let value = super::env::EnvValue {
                        value: v.text.0,
                        secret: v.secret,
                    };
                    (k, value)
                })
                .collect::<BTreeMap<_, _>>(),
            resources,
            hardening: s.hardening.unwrap_or(true),
        });
    }
    out
}

/// Exactly one of `model` and `image`.
fn server_source(
    c: &mut Checker,
    path: &str,
    model: Option<Model>,
    image: Option<String>,
) -> Option<ServerSource> {
    match (model, image) {
        (Some(_), Some(_)) => {
            c.fail_at_key(
                join(path, "image"),
                "give either `model` (a server built from this workspace) or `image`, not both",
            );
            None
        }
        (None, None) => {
            c.fail(
                path,
                "missing `model` (async or thread) or `image` (a Docker image with an HTTP port)",
            );
            None
        }
        (Some(m), None) => Some(ServerSource::Model(m)),
        (None, Some(image)) => {
            c.rule(&join(path, "image"), image_problem(&image));
            Some(ServerSource::Image(image))
        }
    }
}

/// Arguments and environment variables reach the server process as C strings.
fn process_texts(
    c: &mut Checker,
    path: &str,
    args: &[Text],
    env: &BTreeMap<String, super::env::RawEnvValue>,
) {
    for (i, arg) in args.iter().enumerate() {
        let at = index(&join(path, "args"), i);
        c.rule(&at, process_text_problem(&arg.0, "a process argument"));
    }
    for (key, value) in env {
        let at = join(&join(path, "env"), key);
        if key.is_empty()
            || key.contains('=')
            || key.contains(|c: char| c.is_whitespace() || c.is_control())
        {
            c.fail_at_key(
                &at,
                format!("{} is not an environment variable name", quote(key)),
            );
        }
        let problem = process_text_problem(&value.text.0, "an environment variable");
        // The message quotes the value; a secret's must not reach the terminal or a log.
        let problem = match problem {
            Some(_) if value.secret => Some(
                "the secret value contains a NUL character, which an environment variable \
                 cannot hold"
                    .to_string(),
            ),
            p => p,
        };
        c.rule(&at, problem);
    }
}

/// A single value of an override, which cannot be a sweep.
fn single<T: Copy>(c: &mut Checker, path: &str, sweep: Option<OneOrMany<T>>) -> Option<T> {
    let sweep = sweep?;
    if sweep.list && sweep.items.len() != 1 {
        c.fail(
            path,
            "a server's own limits take a single value; sweep in the top-level `resources`",
        );
    }
    sweep.items.first().copied()
}

fn resource_override(
    c: &mut Checker,
    path: &str,
    raw: RawResources,
    host_cpus: usize,
    cpuset: CpusetSize,
) -> ResourceOverride {
    let cpus_path = join(path, "cpus");
    let cpus = single(c, &cpus_path, raw.cpus);
    if let Some(cpus) = cpus {
        c.cpus(&cpus_path, cpus, host_cpus, cpuset);
    }
    let memory = single(c, &join(path, "memory"), raw.memory).map(|m| m.0);
    pids(c, &join(path, "pids"), raw.pids);
    if raw.cpu_period.is_some() {
        c.fail_at_key(
            join(path, "cpu_period"),
            "the CPU period is one for the whole lab: set it in the top-level `resources`",
        );
    }
    ResourceOverride {
        cpus,
        memory,
        pids: raw.pids,
    }
}

fn pids(c: &mut Checker, path: &str, pids: Option<i64>) {
    if let Some(p) = pids.filter(|p| *p < 1) {
        c.fail(
            path,
            format!("{p} is not a process limit; use a number >= 1, or leave it out for no limit"),
        );
    }
}

fn resources(
    c: &mut Checker,
    raw: RawResources,
    host_cpus: usize,
    cpuset: CpusetSize,
) -> Resources {
    let mut cpus = Vec::new();
    match raw.cpus {
        None => c.fail(
            "resources",
            "missing field `cpus` (a CPU limit such as 1.0, or a list to sweep)",
        ),
        Some(sweep) => {
            c.sweep("resources.cpus", &sweep);
            for (i, &v) in sweep.items.iter().enumerate() {
                c.cpus(&sweep.item_path("resources.cpus", i), v, host_cpus, cpuset);
            }
            cpus = sweep.items;
        }
    }
    let mut memory = Vec::new();
    match raw.memory {
        None => c.fail(
            "resources",
            "missing field `memory` (a limit such as 256m, or a list to sweep)",
        ),
        Some(sweep) => {
            let bytes = OneOrMany {
                items: sweep.items.iter().map(|m| Mem(m.0)).collect(),
                list: sweep.list,
            };
            c.sweep("resources.memory", &bytes);
            memory = sweep.items.iter().map(|m| m.0).collect();
        }
    }
    pids(c, "resources.pids", raw.pids);
    let cpu_period_s = raw.cpu_period.map(|p| p.0 as f64 / 1000.0);
    if let Some(p) = raw.cpu_period.filter(|p| !(1..=1000).contains(&p.0)) {
        c.fail(
            "resources.cpu_period",
            format!(
                "{} ms is out of range; Docker's CPU period is 1ms..=1s (100ms by default)",
                p.0
            ),
        );
    }
    Resources {
        cpus,
        memory,
        pids: raw.pids,
        cpu_period_s,
    }
}

/// Bytes that print as a size in messages.
#[derive(PartialEq)]
struct Mem(u64);
impl std::fmt::Display for Mem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_memory(self.0))
    }
}

/// oha sends an open-loop rate that the lab does not split among load generator hosts.
fn oha_on_one_host(c: &mut Checker, loadgen: &Loadgen, hosts: &super::hosts::Hosts) {
    if loadgen.tool == Tool::Oha && !hosts.loadgen_also.is_empty() {
        c.fail(
            "hosts.loadgen",
            "oha sends an open-loop rate that one host cannot share out: give one load \
             generator host with oha (several are for ab)",
        );
    }
}

fn loadgen(c: &mut Checker, raw: RawLoadgen, host_cpus: usize, cpuset: CpusetSize) -> Loadgen {
    let tool = raw.tool.unwrap_or_default();
    let image = raw.image.unwrap_or_else(|| match tool {
        Tool::Ab => DEFAULT_LOADGEN_IMAGE.to_string(),
        Tool::Oha => DEFAULT_OHA_IMAGE.to_string(),
    });
    c.rule("loadgen.image", image_problem(&image));
    if let Some(cpus) = raw.cpus {
        c.cpus("loadgen.cpus", cpus, host_cpus, cpuset);
    }
    let (requests, rate, duration_s) = load_amount(c, tool, raw.requests, raw.rate, raw.duration);
    let min_periods = raw
        .min_periods
        .unwrap_or(crate::config::DEFAULT_MIN_PERIODS);
    if !(1..=10_000).contains(&min_periods) {
        c.fail(
            "loadgen.min_periods",
            format!("{min_periods} is out of range; use 1..=10000 quota periods (20 by default)"),
        );
    }
    requests_and_concurrency(c, tool, requests, &raw.concurrency);
    let processes = raw.processes.unwrap_or_default();
    if tool == Tool::Oha && processes != Processes::Count(1) {
        c.fail(
            "loadgen.processes",
            "oha runs a thread per core itself: leave `processes` out (it is for ab, which \
             uses one core per process)",
        );
    }
    let keepalive = raw.keepalive.unwrap_or(OneOrMany {
        items: vec![false],
        list: false,
    });
    c.sweep("loadgen.keepalive", &keepalive);
    let timeout_s = match raw.timeout {
        None => DEFAULT_TIMEOUT_S,
        Some(t) if t.0 == 0 => {
            c.fail(
                "loadgen.timeout",
                "a timeout of 0 would fail every request; use at least 1s",
            );
            DEFAULT_TIMEOUT_S
        }
        // ab's -s takes whole seconds: round up so the limit is never shorter than asked.
        Some(t) => t.0.div_ceil(1000),
    };
    Loadgen {
        tool,
        image,
        cpus: raw.cpus,
        requests,
        rate,
        duration_s,
        concurrency: raw.concurrency.items,
        keepalive: keepalive.items,
        timeout_s,
        min_periods,
        processes,
    }
}

/// How much each cell sends: `requests` (closed loop), or `rate` for `duration` (open loop,
/// oha only), or `duration` alone (closed loop for a time), or none of them: the lab sizes
/// each cell to cover `min_periods` quota periods of steady load (see `length.rs`). ab has
/// no rate; its timed mode (`-t`) is used with a request cap given after it.
fn load_amount(
    c: &mut Checker,
    tool: Tool,
    requests: Option<u64>,
    rate: Option<OneOrMany<RateSpec>>,
    duration: Option<DurationMs>,
) -> (u64, Vec<RateSpec>, Option<f64>) {
    if requests == Some(0) {
        c.fail(
            "loadgen.requests",
            format!("0 requests; {tool} needs at least 1"),
        );
    }
    if let Some(rate) = &rate {
        check_rate(c, tool, rate, requests.is_some(), duration.is_some());
    }
    if let Some(d) = duration {
        if d.0 < 1000 {
            c.fail(
                "loadgen.duration",
                "a cell shorter than 1s measures start-up, not load; use at least 1s",
            );
        } else if d.0 > MAX_DURATION_MS {
            c.fail(
                "loadgen.duration",
                format!(
                    "{}s is longer than {}s per cell; repeat the cell instead",
                    d.0 / 1000,
                    MAX_DURATION_MS / 1000
                ),
            );
        }
        if rate.is_none() && requests.is_some() {
            c.fail_at_key(
                "loadgen.duration",
                "give `requests` or `duration`, not both: a cell stops at one or the other",
            );
        }
    }
    (
        requests.unwrap_or(0),
        rate.map(|r| r.items).unwrap_or_default(),
        duration.map(|d| d.0 as f64 / 1000.0),
    )
}

/// `loadgen.rate`: only for a tool with an open loop, each rate valid, run for a
/// `duration` rather than a number of requests.
fn check_rate(
    c: &mut Checker,
    tool: Tool,
    rate: &OneOrMany<RateSpec>,
    has_requests: bool,
    has_duration: bool,
) {
    if !tool.driver().open_loop() {
        c.fail_at_key(
            "loadgen.rate",
            format!(
                "{tool} sends in a closed loop and has no rate; add `tool: oha` to \
                 loadgen for open-loop cells"
            ),
        );
    }
    c.sweep("loadgen.rate", rate);
    for (i, r) in rate.items.iter().enumerate() {
        if let Some(m) = r.problem() {
            c.fail(rate.item_path("loadgen.rate", i), m);
        }
    }
    if has_requests {
        c.fail_at_key(
            "loadgen.requests",
            "open-loop cells (`rate`) run for `duration`, not for a number of requests; \
             remove `requests`",
        );
    }
    if !has_duration {
        c.fail_at_key(
            "loadgen.rate",
            "open-loop cells run for a time: add `duration`, e.g. `duration: 10s`",
        );
    }
}

/// ab's `-n` and the `-c` sweep.
fn requests_and_concurrency(
    c: &mut Checker,
    tool: Tool,
    requests: u64,
    concurrency: &OneOrMany<u32>,
) {
    // 0 means "not given" (timed cells); an explicit 0 is caught by `lab`'s raw check.
    if requests > MAX_REQUESTS {
        c.fail(
            "loadgen.requests",
            format!(
                "{requests} is more than {MAX_REQUESTS}; ab keeps a record of every request \
                 in memory, so split the run or repeat it"
            ),
        );
    }
    let path = "loadgen.concurrency";
    c.sweep(path, concurrency);
    for (i, &n) in concurrency.items.iter().enumerate() {
        let at = concurrency.item_path(path, i);
        if n == 0 || n > MAX_CONCURRENCY {
            c.fail(
                at,
                format!("{n} is out of range; {tool}'s concurrency must be 1..={MAX_CONCURRENCY}"),
            );
        } else if u64::from(n) > requests && requests > 0 {
            c.fail(
                at,
                format!(
                    "{n} is more than loadgen.requests ({requests}); concurrency must be <= requests"
                ),
            );
        }
    }
}

fn workloads(c: &mut Checker, raw: Vec<RawWorkload>) -> Vec<Workload> {
    if raw.is_empty() {
        c.fail(
            "workloads",
            "the list is empty; give at least one workload, e.g. { name: hello, path: / }",
        );
    }
    if raw.len() > MAX_WORKLOADS {
        c.fail(
            index("workloads", MAX_WORKLOADS),
            format!(
                "{} workloads are too many; at most {MAX_WORKLOADS}",
                raw.len()
            ),
        );
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, w) in raw.into_iter().enumerate() {
        let path = index("workloads", i);
        c.name(&join(&path, "name"), &w.name, "_.-");
        if let Some(j) = seen.insert(w.name.clone(), i) {
            c.fail(
                join(&path, "name"),
                format!(
                    "{} is already the name of workloads[{j}]; names must be unique",
                    quote(&w.name)
                ),
            );
        }
        c.rule(&join(&path, "path"), url_path_problem(&w.path, "/sleep/10"));
        out.push(Workload {
            name: w.name,
            path: w.path,
        });
    }
    out
}
