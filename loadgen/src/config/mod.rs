//! The lab file (`lab.yaml`): what to run, how often, and under which limits.
//!
//! [`load`] reads only a regular file of at most [`MAX_FILE_BYTES`], as UTF-8 (a byte order
//! mark is dropped), see [`read`]. Reading a lab file is then two passes over the same text:
//!
//! 1. serde_yaml deserializes it into the raw types of [`schema`], which mirror the YAML
//!    and deny unknown fields. Type errors come back with a position and a field path.
//! 2. [`validate`] checks what needs several fields at once (concurrency <= requests, cpus
//!    <= host CPUs, unique names, ...) and builds the [`Lab`] the driver uses.
//!
//! The second pass has no positions of its own, so [`locate`] reads the text once more with
//! an event parser and maps every field path to its line and column. That way *every* error
//! reads the same, on one line (control characters escaped), like a compiler's:
//!
//! ```text
//! lab.yaml:14:18: loadgen.concurrency[3]: 2000 is more than loadgen.requests (1000); concurrency must be <= requests
//! ```
//!
//! The event pass runs first, and also refuses what serde_yaml must never see: aliases that
//! expand too far ([`aliases`]), a second document, a key given twice. Checks of single
//! values against what Docker, ab and the file system accept live in [`rules`].
//!
//! [`plan`] then expands the sweeps of a [`Lab`] into the cells the driver runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod aliases;
pub mod env;
pub mod hosts;
mod image_ref;
pub mod length;
mod locate;
pub mod plan;
pub mod processes;
mod read;
pub mod redact;
pub mod repeat;
mod rules;
mod schema;
pub mod thresholds;
pub mod tune;
pub mod units;
mod validate;

#[cfg(test)]
mod tests;

pub use crate::record::rate::{self, RateSpec};
pub use aliases::MAX_ALIAS_EXPANSION;
pub use plan::{describe, CellRef, Group, Instance, Plan, Point};
pub use processes::Processes;
pub use read::MAX_FILE_BYTES;
pub use repeat::AutoRepeat;
pub use tune::{Target, Tune};
pub use units::format_memory;
pub use validate::{MAX_REPEAT, MAX_REQUESTS, NOFILE_SLACK};

use locate::{Kind, Pos};

/// The load generator image when the lab file names none: the official Apache httpd image,
/// which has `ab` on its PATH.
pub const DEFAULT_LOADGEN_IMAGE: &str = "httpd:2.4";
/// The load generator image for `tool: oha` when the file names none: built offline from
/// crates.io by `images.rs` (`OHA_VERSION`) unless present.
pub const DEFAULT_OHA_IMAGE: &str = "lab/oha:1.16.0";

/// Where output goes when the lab file does not say.
pub const DEFAULT_OUTPUT: &str = "results";
/// Requests sent (and discarded) to a freshly started server when the file does not say.
pub const DEFAULT_WARMUP: u64 = 1000;
/// ab's `-s` when the file does not say, in seconds.
pub const DEFAULT_TIMEOUT_S: u64 = 30;

/// Path shown for errors about the document as a whole.
const TOP_LEVEL: &str = "(top level)";

/// A mistake in a lab file, with where it is and what was expected: one line, in the shape
/// editors and terminals turn into a link (`lab.yaml:14:18: loadgen.concurrency[3]: ...`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {path}: {message}")]
pub struct ConfigError {
    /// The file as the user named it.
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub column: usize,
    /// The field, e.g. `servers[1].resources.memory`; `(top level)` for the whole document.
    pub path: String,
    pub message: String,
}

/// Why [`load`] failed: the file could not be read, or it is not a valid lab file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// `cannot read lab.yaml: No such file or directory`. The io error is kept as a field,
    /// not a `source`, so that an error chain printer does not repeat it.
    #[error("cannot read {file}: {reason}")]
    Io {
        file: String,
        reason: String,
        kind: std::io::ErrorKind,
    },
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// A checked lab file: every default filled in, every sweep a non-empty list.
///
/// `results.json` records it as serialized here; reports read it back with `Deserialize`
/// (fields added later have a default, so older records still read).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lab {
    /// Names the run (`[A-Za-z0-9_.-]+`): used in run ids and container names.
    pub name: String,
    /// Folder that gets one subfolder per run, relative to the current directory.
    pub output: PathBuf,
    /// How many times each cell is measured (1..=100); with `repeat_auto`, at most.
    pub repeat: u32,
    /// `repeat: auto`: repeat until the median is known well enough (see `repeat.rs`).
    pub repeat_auto: Option<AutoRepeat>,
    /// Requests sent and discarded after a server starts; 0 = no warm-up.
    pub warmup: u64,
    pub pin: Pin,
    pub servers: Vec<Server>,
    /// Limits of every server container; `cpus` and `memory` are sweeps.
    pub resources: Resources,
    pub loadgen: Loadgen,
    /// The requests to measure; a sweep dimension like concurrency.
    pub workloads: Vec<Workload>,
    /// Optional second load held on the server while each cell is measured.
    pub background: Option<Background>,
    /// The open-file limit of every container the lab starts.
    #[serde(default)]
    pub nofile: Nofile,
    /// Which Docker host each role runs on (`hosts:`); empty = the docker CLI's daemon.
    #[serde(default)]
    pub hosts: hosts::Hosts,
    /// What `lab tune` searches for; `lab run` ignores it (see `tune.rs`).
    #[serde(default)]
    pub tune: Option<Tune>,
    /// Bounds the run must meet (`thresholds.rs`); empty when the file has none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<thresholds::Threshold>,
    /// Check each `server-cpu` and `loadgen` verdict with a counterfactual cell after the
    /// run (`confirm: true`, or `lab run --confirm`; see the `confirm` module).
    #[serde(default)]
    pub confirm: bool,
}

impl Lab {
    /// The built-in server models the file uses, each once (the images to build).
    pub fn models(&self) -> Vec<Model> {
        let mut models: Vec<Model> = self
            .servers
            .iter()
            .filter_map(|s| match &s.source {
                ServerSource::Model(m) => Some(*m),
                ServerSource::Image(_) => None,
            })
            .collect();
        models.sort_by_key(|m| m.image());
        models.dedup();
        models
    }
}

/// `nofile`: the open-file limit (`ulimit -n`, soft = hard) of every container. ab and the
/// servers hold one descriptor per connection, so it bounds the concurrency a cell can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Nofile {
    /// Docker: the engine's default (containers inherit the daemon's limit). Podman: the
    /// Podman service's own hard limit, which it can always grant (its default, 1048576,
    /// fails on hosts where the service may not raise its limits). See `ulimit.rs`.
    #[default]
    Auto,
    /// This many open files in every container, on every engine.
    Fixed(u64),
}

impl Serialize for Nofile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Nofile::Auto => s.serialize_str("auto"),
            Nofile::Fixed(n) => s.serialize_u64(*n),
        }
    }
}

impl<'de> Deserialize<'de> for Nofile {
    /// Reads what `Serialize` wrote: `"auto"` or a number.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) if s == "auto" => Ok(Nofile::Auto),
            serde_json::Value::Number(n) => n
                .as_u64()
                .map(Nofile::Fixed)
                .ok_or_else(|| serde::de::Error::custom("nofile must be a positive number")),
            other => Err(serde::de::Error::custom(format!(
                "nofile must be `auto` or a number, not {other}"
            ))),
        }
    }
}

/// A background load: a second ab container that keeps `concurrency` connections busy with
/// slow requests (e.g. `/sleep/1000` with keep-alive: the connections sit open and mostly
/// silent) while the measured ab runs. It is how a lab shows what many open connections
/// cost each model: a thread each in one, a task each in the other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Background {
    pub concurrency: u32,
    pub path: String,
    pub keepalive: bool,
}

/// How containers are pinned to CPUs, so the load generator does not steal CPU time from
/// the server it measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pin {
    /// The driver splits the host's CPUs between servers and load generator.
    Auto,
    /// No pinning: containers float over all CPUs.
    Off,
    /// Cpusets (`"0-2,4"`, checked against the host) for servers and load generator.
    Explicit { servers: String, loadgen: String },
}

/// One server under test.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Server {
    /// Unique, `[A-Za-z0-9_-]+`.
    pub name: String,
    pub source: ServerSource,
    /// The HTTP port inside the container.
    pub port: u16,
    /// Extra command-line arguments for the server.
    pub args: Vec<String>,
    pub env: BTreeMap<String, env::EnvValue>,
    /// Limits that replace the top-level ones for this server.
    pub resources: ResourceOverride,
    /// Run the container hardened (no capabilities, no privilege gain, read-only root with
    /// a tmpfs `/tmp`). Default true; `hardening: false` for images that need more.
    /// (A record written before this field existed ran without it: `false`.)
    #[serde(default)]
    pub hardening: bool,
}

/// Where a server's image comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerSource {
    /// One of the workspace's own server models, built into a local image.
    Model(Model),
    /// Any image with an HTTP port, e.g. `nginx:stable`.
    Image(String),
}

/// The two concurrency models this lab compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Model {
    /// Event loop (tokio).
    Async,
    /// One OS thread per connection.
    Thread,
}

impl Model {
    /// The binary's name in the `server` crate.
    /// `async` or `thread`: how results and reports name the model.
    pub fn as_str(&self) -> &'static str {
        match self {
            Model::Async => "async",
            Model::Thread => "thread",
        }
    }

    pub fn binary(&self) -> &'static str {
        match self {
            Model::Async => "server-async",
            Model::Thread => "server-thread",
        }
    }

    /// The local image the driver builds for this model.
    pub fn image(&self) -> &'static str {
        match self {
            Model::Async => "lab/server-async",
            Model::Thread => "lab/server-thread",
        }
    }
}

/// Limits of the server containers; each `cpus` × `memory` combination is one
/// [`plan::Group`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Resources {
    /// Docker `--cpus` values to sweep (each > 0 and <= host CPUs).
    pub cpus: Vec<f64>,
    /// Docker `--memory` values to sweep, in bytes (each >= 6 MiB).
    pub memory: Vec<u64>,
    /// Docker `--pids-limit`; `None` = no limit.
    pub pids: Option<i64>,
    /// Docker `--cpu-period`, seconds; `None` = the engine's default (100 ms).
    #[serde(default)]
    pub cpu_period_s: Option<f64>,
}

impl Resources {
    /// The CFS period the CPU limits are enforced over, seconds.
    pub fn period_s(&self) -> f64 {
        self.cpu_period_s.unwrap_or(DEFAULT_CPU_PERIOD_S)
    }
}

/// Docker's (and Kubernetes') CFS period when none is given.
pub const DEFAULT_CPU_PERIOD_S: f64 = 0.1;

/// A server's own limits, which win over the top-level ones (e.g. to give a reference
/// server a fixed budget while the models are swept).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResourceOverride {
    pub cpus: Option<f64>,
    pub memory: Option<u64>,
    pub pids: Option<i64>,
}

/// The load generator container and what it sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Loadgen {
    /// The load tool (`ab` unless the file says `tool: oha`).
    #[serde(default)]
    pub tool: crate::record::Tool,
    /// An image with the tool on its PATH.
    pub image: String,
    /// CPU limit of the load generator container; `None` = no limit.
    pub cpus: Option<f64>,
    /// Requests per closed-loop cell (`-n`); 0 when cells are timed instead.
    pub requests: u64,
    /// Open-loop rates to sweep (oha `-q`); empty for closed-loop cells.
    #[serde(default)]
    pub rate: Vec<RateSpec>,
    /// How long each timed cell sends, seconds (oha `-z`).
    #[serde(default)]
    pub duration_s: Option<f64>,
    /// ab `-c` values to sweep, ascending as written or not (the plan sorts them).
    pub concurrency: Vec<u32>,
    /// ab `-k` values to sweep.
    pub keepalive: Vec<bool>,
    /// ab `-s`, whole seconds (>= 1).
    pub timeout_s: u64,
    /// Quota periods of steady load a cell sized by the lab covers (`min_periods`).
    #[serde(default = "default_min_periods")]
    pub min_periods: u32,
    /// Load tool processes per cell (`processes`: a number or `auto`; see `processes.rs`).
    #[serde(default)]
    pub processes: Processes,
}

fn default_min_periods() -> u32 {
    DEFAULT_MIN_PERIODS
}

/// Periods of steady load per cell when the lab file does not say: 20 periods hold 20
/// samples of the quota's on/off cycle, so one period's phase (at most a whole quota's
/// worth of work, early or late) moves the cell's rate by at most 1/20 = 5%, the interval
/// `repeat: auto` aims for.
pub const DEFAULT_MIN_PERIODS: u32 = 20;

impl Loadgen {
    /// Cells are sized by the lab (the steady-state policy): closed loop, neither
    /// `requests` nor `duration` given.
    pub fn sized_by_policy(&self) -> bool {
        self.requests == 0 && self.duration_s.is_none() && self.rate.is_empty()
    }
}

/// A request to measure.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Workload {
    /// Unique, `[A-Za-z0-9_.-]+`.
    pub name: String,
    /// Starts with `/`.
    pub path: String,
}

/// Reads and checks a lab file. `host_cpus` is the number of CPUs the Docker host has (cpus
/// limits and cpusets are checked against it). Only a regular file of at most
/// [`MAX_FILE_BYTES`] is read (see [`read`]).
pub fn load(path: &Path, host_cpus: usize) -> Result<Lab, LoadError> {
    let file = path.display().to_string();
    let text = read::lab_text(path).map_err(|e| LoadError::Io {
        reason: e.reason,
        kind: e.kind,
        file: file.clone(),
    })?;
    Ok(parse(&text, &file, host_cpus)?)
}

/// Checks the text of a lab file. `file` names it in error messages.
pub fn parse(text: &str, file: &str, host_cpus: usize) -> Result<Lab, ConfigError> {
    // Control characters are escaped: a key or value with a newline must not break the line.
    let error = |pos: Pos, path: &str, message: String| ConfigError {
        file: file.to_string(),
        line: pos.line,
        column: pos.column,
        path: path.chars().map(rules::shown).collect(),
        message: message.chars().map(rules::shown).collect(),
    };
    // Editors on Windows start UTF-8 files with a byte order mark; it is not content (and
    // not a column: editors count from the character after it).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);

    // Syntax first, from the event parser that also gives us the positions.
    let locations = match locate::scan(text) {
        Ok(l) => l,
        Err(e) => {
            let path = e.path.as_deref().unwrap_or(TOP_LEVEL);
            return Err(error(e.pos, path, format!("invalid YAML: {}", e.message)));
        }
    };
    // Then what makes the document as a whole unfit, before serde_yaml expands any alias.
    if let Some((pos, path, message)) = document_problem(&locations) {
        return Err(error(pos, &path, message));
    }

    let raw: schema::RawLab = serde_yaml::from_str(text).map_err(|e| {
        let (pos, path, message) = from_serde(&e);
        error(pos, &path, message)
    })?;

    validate::lab(raw, host_cpus).map_err(|issues| {
        // Report the issue that comes first in the file.
        let first = issues
            .into_iter()
            .map(|i| (i.position(&locations), i))
            .min_by_key(|(pos, _)| *pos)
            .expect("validation fails with at least one issue");
        error(first.0, &first.1.path, first.1.message)
    })
}

/// What is wrong with the document as a whole, found by the event pass: aliases that
/// expand too far, a root that is not a mapping, a second document, a key given twice.
fn document_problem(locations: &locate::Locations) -> Option<(Pos, String, String)> {
    if let Some((pos, message)) = &locations.alias_problem {
        let path = locations.path_before(*pos).unwrap_or(TOP_LEVEL);
        return Some((*pos, path.to_string(), message.clone()));
    }
    let top = |pos: Pos, message: String| Some((pos, TOP_LEVEL.to_string(), message));
    match locations.root() {
        Some(Kind::Mapping) => {}
        None => {
            return top(
                Pos::START,
                "the file is empty; expected a mapping with `name`, `servers`, `resources`, \
                 `loadgen` and `workloads`"
                    .to_string(),
            )
        }
        Some(kind) => {
            let found = match kind {
                Kind::Sequence => "a list",
                _ => "a single value",
            };
            return top(
                locations.value(""),
                format!("expected a mapping of lab settings (`name: ...`, `servers: ...`), found {found}"),
            );
        }
    }
    if let Some(pos) = locations.second_document {
        return top(
            pos,
            "a lab file is a single YAML document; remove this `---` and what follows, \
             or put it in a file of its own"
                .to_string(),
        );
    }
    let (path, first, again) = locations.duplicate.as_ref()?;
    let key = path.rsplit('.').next().unwrap_or(path);
    Some((
        *again,
        path.clone(),
        format!(
            "`{key}` is given twice (first at line {}); keep one",
            first.line
        ),
    ))
}

/// Reshapes a serde_yaml error (`servers[1]: unknown field ... at line 3 column 5`) into
/// position, path and message.
fn from_serde(e: &serde_yaml::Error) -> (Pos, String, String) {
    let pos = e.location().map_or(Pos::START, |l| Pos {
        line: l.line(),
        column: l.column(),
    });
    let mut text = e.to_string();
    if let Some(l) = e.location() {
        let suffix = format!(" at line {} column {}", l.line(), l.column());
        if let Some(i) = text.find(&suffix) {
            text.truncate(i);
        }
    }
    // serde_yaml puts the path first unless the error is at the root.
    let is_path = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.[]?".contains(c))
    };
    let (path, message) = match text.split_once(": ") {
        Some((p, m)) if is_path(p) => (p.to_string(), m.to_string()),
        // No path: the error is about the top-level mapping (an unknown or missing field).
        _ => (TOP_LEVEL.to_string(), text),
    };
    (pos, path, plain_types(&message))
}

/// serde names Rust types (`expected u16`); say what they mean instead.
fn plain_types(message: &str) -> String {
    let mut m = message.to_string();
    for (rust, plain) in [
        ("expected u16", "expected a whole number from 0 to 65535"),
        ("expected u32", "expected a whole number"),
        ("expected u64", "expected a whole number >= 0"),
        ("expected i64", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected a list"),
        ("expected a map", "expected a mapping"),
    ] {
        if let Some(rest) = m.strip_suffix(rust) {
            m = format!("{rest}{plain}");
        }
    }
    m
}
