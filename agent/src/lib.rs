//! `lab-agent`: the helper the lab uploads into its load generator container.
//!
//! The load generator image can be anything with the load tool on its PATH: `httpd:2.4`, or
//! the `FROM scratch` image the lab packages from the host's `ab`. A scratch image has no
//! shell and no `sleep`, so the lab brings this small static binary along and makes it the
//! container's entrypoint (`lab-agent idle`). Each cell is then one `docker exec` of
//! `lab-agent run -- ab ...`, which
//!
//! - scrapes the servers' metrics endpoints just before and just after the tool runs, so
//!   per-cell peaks (open connections, threads) are exact, not sampled;
//! - runs the tool as a child and reports its exact CPU time (user + sys from `getrusage`
//!   of the reaped child), its peak RSS and its wall time: the figures that say whether
//!   the load generator, not the server, set the pace;
//! - returns everything (tool output, collected files, scrapes, rusage) as one JSON
//!   document on stdout, so a cell costs one exec round trip.
//!
//! The types below are that document; the driver (`loadgen`) deserializes the same types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub mod http;
pub mod run;

/// What `lab-agent run` prints: the tool's output and exact resource use, plus scrapes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// The tool's exit code, when it exited (not killed by a signal).
    pub exit_code: Option<i32>,
    /// The signal that killed the tool, if one did.
    pub signal: Option<i32>,
    /// The tool was killed because it outlived `--timeout`.
    #[serde(default)]
    pub timed_out: bool,
    /// Could not start the tool at all (not on PATH, ...).
    pub spawn_error: Option<String>,
    /// From spawn to reap, in seconds.
    pub wall_s: f64,
    /// The wall clock (seconds since the Unix epoch, this machine's) at spawn and at reap:
    /// where the tool's own timestamps fall within its run.
    #[serde(default)]
    pub started_unix_s: Option<f64>,
    #[serde(default)]
    pub ended_unix_s: Option<f64>,
    /// CPU time of the tool (and any children it waited for), in seconds.
    pub user_s: f64,
    pub sys_s: f64,
    /// Peak resident set size of the tool, in KiB (`ru_maxrss`).
    pub max_rss_kib: i64,
    pub stdout: String,
    pub stderr: String,
    /// Contents of each `--collect` file that existed after the tool exited.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// One scrape per `--scrape` URL, taken just before the tool started.
    #[serde(default)]
    pub scrapes_before: Vec<Fetch>,
    /// The same URLs, just after the tool exited.
    #[serde(default)]
    pub scrapes_after: Vec<Fetch>,
    /// The second and further processes of a run of several (`--and`), started together
    /// with the first: each its own exit, output, files and exact rusage; the fields above
    /// are the first process's (and the scrapes, the run's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub others: Vec<RunReport>,
}

impl RunReport {
    /// The tool's CPU time (user + sys) in seconds.
    pub fn cpu_s(&self) -> f64 {
        self.user_s + self.sys_s
    }

    /// Every process of the run, the first one first.
    pub fn processes(&self) -> impl Iterator<Item = &RunReport> {
        std::iter::once(self).chain(&self.others)
    }
}

/// One HTTP GET: the status and body, or why there is none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Fetch {
    pub url: String,
    pub status: Option<u16>,
    #[serde(default)]
    pub body: String,
    pub error: Option<String>,
    /// Connection attempts made (more than one when `--wait` retried a refused connect).
    #[serde(default)]
    pub attempts: u32,
}
