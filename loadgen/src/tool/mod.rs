//! The load tools: the one place that knows each tool's command line and output format.
//!
//! Every use of a tool (measured cells, the capacity pass of open-loop rates, warm-ups, the
//! background load, the version line in `meta.json`) goes through [`Tool::driver`], a
//! [`LoadTool`] with one implementation per tool: [`ab`] (ApacheBench, closed loop) and
//! [`oha`] (closed loop, or open loop at a fixed rate). A third tool (wrk, h2load) is one
//! more file here, a variant of [`Tool`] and of [`ToolReport`]; the run loop does not change.
//!
//! This is also the one place that reads a tool's own report: [`measurement`] turns it
//! into the record's tool-neutral [`Measurement`], which everything else reads.

use std::collections::BTreeMap;

use crate::record::{Cell, Measurement, RequestLog, ToolReport};

pub mod ab;
pub mod oha;
pub mod processes;

pub use ab::PERCENTILE_FILE;

pub use crate::record::Tool;

impl Tool {
    /// The implementation: command lines and parser.
    pub fn driver(self) -> &'static dyn LoadTool {
        match self {
            Tool::Ab => &ab::Ab,
            Tool::Oha => &oha::Oha,
        }
    }
}

/// How much load one run sends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Amount {
    /// A fixed number of requests (`ab -n`, `oha -n`).
    Requests(u64),
    /// Requests for this many seconds (`oha -z`).
    Seconds(f64),
}

/// One load run, in the lab's terms; each tool turns it into its own command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Load<'a> {
    pub amount: Amount,
    /// Connections (closed loop: each waits for its answer; open loop: the pool the rate is
    /// sent over).
    pub concurrency: u32,
    /// `Some(r)`: open loop, `r` requests per second whatever the server does.
    pub rate: Option<f64>,
    /// Per-request timeout, seconds.
    pub timeout_s: u64,
    pub keepalive: bool,
    pub url: &'a str,
    /// Ask for the tool's finest latency figures (ab: the `-e` percentile file).
    pub percentiles: bool,
    /// Ask for per-request data (ab: the `-g` file) for the steady window.
    pub per_request: bool,
}

impl Load<'_> {
    /// The requests this run sends at most (for a timed run at a rate: rate × seconds).
    pub fn requests(&self) -> Option<u64> {
        match (self.amount, self.rate) {
            (Amount::Requests(n), _) => Some(n),
            (Amount::Seconds(s), Some(r)) => Some((s * r).ceil() as u64),
            (Amount::Seconds(_), None) => None,
        }
    }
}

/// The tool-neutral measurement of a tool's report; `fine` are finer latency percentiles
/// captured beside it (ab's `-e` file), which win over the report's own.
pub fn measurement(report: &ToolReport, fine: Option<&BTreeMap<String, f64>>) -> Measurement {
    let mut m = match report {
        ToolReport::Ab(r) => ab::measurement(r),
        ToolReport::Oha(r) => oha::measurement(r),
    };
    for (key, ms) in fine.into_iter().flatten() {
        m.latency_ms.insert(key.clone(), *ms);
    }
    m
}

/// Give a cell its measurement from its tool report when the record has none (records
/// written before schema 2 kept only the report).
pub fn measure(cell: &mut Cell) {
    if cell.measurement.is_none() {
        cell.measurement = cell
            .report
            .as_ref()
            .map(|r| measurement(r, cell.percentiles_fine.as_ref()));
    }
}

/// One load tool: its command lines and its parser.
pub trait LoadTool: Sync {
    fn tool(&self) -> Tool;

    /// The command line of one run (program first).
    fn command(&self, load: &Load<'_>) -> Vec<String>;

    /// A command that prints the tool's version on its first line.
    fn version_command(&self) -> Vec<String>;

    /// Files the tool writes inside the load generator container that the cell keeps.
    fn collect(&self, load: &Load<'_>) -> Vec<&'static str>;

    /// Parse a finished run: its stdout and the collected files (path → text).
    fn parse(&self, stdout: &str, files: &BTreeMap<String, String>) -> Result<ToolReport, String>;

    /// The per-request data of a finished run, when the tool wrote it (see `Load::per_request`).
    fn request_log(&self, _files: &BTreeMap<String, String>) -> Option<RequestLog> {
        None
    }

    /// Cores the tool can use at most (ab is single-threaded), `None` when it uses them all.
    fn max_cores(&self) -> Option<f64>;

    /// Whether it can send at a fixed rate (open loop).
    fn open_loop(&self) -> bool;

    /// The extension of its raw stdout under `raw/` (`txt`, `json`).
    fn stdout_extension(&self) -> &'static str;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_are_named_by_their_program() {
        assert_eq!(Tool::of_program("/usr/bin/ab"), Some(Tool::Ab));
        assert_eq!(Tool::of_program("oha"), Some(Tool::Oha));
        assert_eq!(Tool::of_program("wrk"), None);
        for t in Tool::ALL {
            assert_eq!(t.driver().tool(), t);
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{t}\""));
        }
    }

    #[test]
    fn a_timed_run_at_a_rate_sends_rate_times_seconds() {
        let load = Load {
            amount: Amount::Seconds(10.0),
            concurrency: 10,
            rate: Some(250.0),
            timeout_s: 30,
            keepalive: true,
            url: "http://h:1/",
            percentiles: false,
            per_request: false,
        };
        assert_eq!(load.requests(), Some(2500));
        let closed = Load { rate: None, ..load };
        assert_eq!(closed.requests(), None);
    }
}
