//! The checks serde cannot do alone, and the defaults: raw [`schema`] types → [`Lab`].
//!
//! Each check records an [`Issue`] under the path of the field at fault; the caller turns the
//! first one in file order into a located [`super::ConfigError`]. All checks run even after
//! one fails, so that "first in the file" does not depend on the order of the code below.

use std::collections::{BTreeMap, HashMap};

use super::locate::{index, join, Locations, Pos};
use super::schema::{RawLab, RawLoadgen, RawPin, RawResources, RawServer, RawWorkload};
use super::units::{format_memory, parse_cpuset, OneOrMany};
use super::{
    Background, Lab, Loadgen, Pin, ResourceOverride, Resources, Server, ServerSource, Workload,
    DEFAULT_LOADGEN_IMAGE, DEFAULT_OUTPUT, DEFAULT_TIMEOUT_S, DEFAULT_WARMUP,
};

/// Limits that keep a typo from launching an experiment nobody wants to wait for.
pub const MAX_REPEAT: u32 = 100;
pub const MAX_SERVERS: usize = 16;
pub const MAX_WORKLOADS: usize = 32;
/// ab refuses more (`MAX_CONCURRENCY` in ab.c).
pub const MAX_CONCURRENCY: u32 = 20_000;
/// ab keeps `-n` in a C `int`.
pub const MAX_REQUESTS: u64 = i32::MAX as u64;

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
                format!("`{name}` contains {c:?}; names are {pattern} (they end up in container names and file names)"),
            );
        }
    }

    /// A Docker image reference: non-empty, no whitespace.
    fn image(&mut self, path: &str, image: &str) {
        if image.trim().is_empty() {
            self.fail(
                path,
                "the image is empty; name an image such as \"httpd:2.4\"",
            );
        } else if image.chars().any(char::is_whitespace) {
            self.fail(
                path,
                format!("`{image}` is not an image reference (it contains whitespace)"),
            );
        }
    }

    /// A `--cpus` value: a positive number no larger than the host (or cpuset) can give.
    fn cpus(&mut self, path: &str, cpus: f64, host_cpus: usize, cpuset: CpusetSize) {
        if !cpus.is_finite() || cpus <= 0.0 {
            self.fail(
                path,
                format!("{cpus} is not a CPU limit; use a number > 0, e.g. 1.0 or 0.5"),
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
    if output.trim().is_empty() {
        c.fail("output", "the folder is empty; use e.g. `results`");
    }
    let (repeat, repeat_auto) = super::repeat::check(raw.repeat).unwrap_or_else(|(field, msg)| {
        c.fail(field, msg);
        (1, None)
    });
    let warmup = raw.warmup.map_or(DEFAULT_WARMUP, |w| w.0);

    let (pin, server_cpuset, loadgen_cpuset) = pin(&mut c, raw.pin, host_cpus);
    let servers = servers(&mut c, raw.servers, host_cpus, server_cpuset);
    let resources = resources(&mut c, raw.resources, host_cpus, server_cpuset);
    let loadgen = loadgen(&mut c, raw.loadgen, host_cpus, loadgen_cpuset);
    let workloads = workloads(&mut c, raw.workloads);
    let background = raw.background.map(|b| {
        if b.concurrency == 0 || b.concurrency > MAX_CONCURRENCY {
            c.fail(
                "background.concurrency",
                format!(
                    "{} is out of range; ab's concurrency must be 1..={MAX_CONCURRENCY}",
                    b.concurrency
                ),
            );
        }
        if !b.path.starts_with('/') {
            c.fail(
                "background.path",
                format!(
                    "`{}` does not start with \"/\"; give the request path, e.g. /sleep/1000",
                    b.path
                ),
            );
        }
        Background {
            concurrency: b.concurrency,
            path: b.path,
            keepalive: b.keepalive.unwrap_or(true),
        }
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
    })
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
                    "`{}` is already the name of servers[{j}]; names must be unique",
                    s.name
                ),
            );
        }
        let source = match (s.model, s.image) {
            (Some(_), Some(_)) => {
                c.fail_at_key(
                    join(&path, "image"),
                    "give either `model` (a server built from this workspace) or `image`, not both",
                );
                None
            }
            (None, None) => {
                c.fail(
                    &path,
                    "missing `model` (async or thread) or `image` (a Docker image with an HTTP port)",
                );
                None
            }
            (Some(m), None) => Some(ServerSource::Model(m)),
            (None, Some(image)) => {
                c.image(&join(&path, "image"), &image);
                Some(ServerSource::Image(image))
            }
        };
        if s.port == 0 {
            c.fail(join(&path, "port"), "0 is not a port; use 1..=65535");
        }
        for key in s.env.keys() {
            if key.is_empty() || key.contains('=') || key.contains(char::is_whitespace) {
                c.fail_at_key(
                    join(&join(&path, "env"), key),
                    format!("`{key}` is not an environment variable name"),
                );
            }
        }
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
                .map(|(k, v)| (k, v.0))
                .collect::<BTreeMap<_, _>>(),
            resources,
        });
    }
    out
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
    Resources {
        cpus,
        memory,
        pids: raw.pids,
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

fn loadgen(c: &mut Checker, raw: RawLoadgen, host_cpus: usize, cpuset: CpusetSize) -> Loadgen {
    let image = raw
        .image
        .unwrap_or_else(|| DEFAULT_LOADGEN_IMAGE.to_string());
    c.image("loadgen.image", &image);
    if let Some(cpus) = raw.cpus {
        c.cpus("loadgen.cpus", cpus, host_cpus, cpuset);
    }
    let requests = raw.requests;
    if requests == 0 {
        c.fail("loadgen.requests", "0 requests; ab needs at least 1");
    } else if requests > MAX_REQUESTS {
        c.fail(
            "loadgen.requests",
            format!("{requests} is more than ab can count ({MAX_REQUESTS})"),
        );
    }
    let path = "loadgen.concurrency";
    c.sweep(path, &raw.concurrency);
    for (i, &n) in raw.concurrency.items.iter().enumerate() {
        let at = raw.concurrency.item_path(path, i);
        if n == 0 || n > MAX_CONCURRENCY {
            c.fail(
                at,
                format!("{n} is out of range; ab's concurrency must be 1..={MAX_CONCURRENCY}"),
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
        image,
        cpus: raw.cpus,
        requests,
        concurrency: raw.concurrency.items,
        keepalive: keepalive.items,
        timeout_s,
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
                    "`{}` is already the name of workloads[{j}]; names must be unique",
                    w.name
                ),
            );
        }
        if !w.path.starts_with('/') {
            c.fail(
                join(&path, "path"),
                format!(
                    "`{}` does not start with \"/\"; give the request path, e.g. /sleep/10",
                    w.path
                ),
            );
        } else if w
            .path
            .chars()
            .any(|ch| ch.is_whitespace() || ch.is_control())
        {
            c.fail(
                join(&path, "path"),
                format!("{:?} contains whitespace; percent-encode it (%20)", w.path),
            );
        }
        out.push(Workload {
            name: w.name,
            path: w.path,
        });
    }
    out
}
