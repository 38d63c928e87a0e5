//! Parser for oha's JSON report (`oha --no-tui --output-format json`, oha 1.x).
//!
//! [`parse`] reads the parts of the report the lab uses into an [`OhaReport`]: the run's
//! duration, every answer by status code, every error by message, the latency percentiles
//! (corrected for coordinated omission when the run had `-q` and `--latency-correction`)
//! and the bytes received. The query methods then give the figures every tool's report
//! gives the lab (see `record::Measurement`), so that an oha cell and an ab cell are read
//! the same way.
//!
//! What to know about oha's numbers (read in oha's `printer.rs` and `result_data.rs`):
//!
//! * Times are in **seconds** (`summary.slowest`, `latencyPercentiles.p99`); the lab keeps
//!   milliseconds, like ab.
//! * Latencies cover successful requests only: a request that got any HTTP answer (404
//!   too) is a success to oha; an error (refused, reset, timeout) is not.
//! * With `-z` (a timed run) oha aborts the requests still in flight at the deadline and
//!   counts them as the error `aborted due to deadline`. They are an artefact of stopping,
//!   not the server's doing: [`OhaReport::failed`] leaves them out (as oha's own
//!   `successRate` does) and [`OhaReport::deadline_aborted`] counts them.
//! * `summary.requestsPerSec` counts every request that ended, errors and deadline aborts
//!   included; [`OhaReport::requests_per_second`] counts answers and real failures only,
//!   which is what ab's figure counts.
//! * With no successful request, oha's statistics are NaN, which its JSON writes as
//!   `null`: those fields are `None` here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The error oha records for requests cut off by the end of a timed run.
pub const DEADLINE_ERROR: &str = "aborted due to deadline";

/// What the lab keeps of an oha report. Latencies in ms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OhaReport {
    /// Wall time of the run, seconds (`summary.total`).
    pub total_s: f64,
    /// oha's own rate: every ended request (errors included) over `total_s`.
    pub oha_requests_per_sec: f64,
    /// Answers by HTTP status code.
    #[serde(with = "status_keys")]
    pub status_codes: BTreeMap<u16, u64>,
    /// Errors by oha's message, deadline aborts included.
    pub errors: BTreeMap<String, u64>,
    /// `"50"` → ms, `"99.9"` → ms, `"100"` → the slowest request, over successful requests.
    pub latency_ms: BTreeMap<String, f64>,
    /// Mean latency of successful requests, ms.
    pub mean_ms: Option<f64>,
    /// Body bytes received (`summary.totalData`).
    pub total_data: u64,
}

/// Status codes as JSON object keys (strings). serde_json turns `"200"` back into a `u16`
/// when it reads the map itself, but not when the report sits inside the record's
/// internally tagged `ToolReport` (`{"tool": "oha", ...}`): serde buffers that content
/// first, and a buffered string key is not parsed as a number. So the keys are read as text
/// and parsed here.
mod status_keys {
    use std::collections::BTreeMap;

    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(map: &BTreeMap<u16, u64>, s: S) -> Result<S::Ok, S::Error> {
        let text: BTreeMap<String, u64> = map.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        text.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<u16, u64>, D::Error> {
        BTreeMap::<String, u64>::deserialize(d)?
            .into_iter()
            .map(|(k, v)| match k.parse::<u16>() {
                Ok(code) => Ok((code, v)),
                Err(_) => Err(D::Error::custom(format!(
                    "`{k}` is not an HTTP status code"
                ))),
            })
            .collect()
    }
}

/// Why a text is not an oha report. `Display` is one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OhaParseError {
    /// Not JSON at all (oha printed an error or its usage instead); quotes the first line.
    #[error("no oha JSON report: {0}")]
    NotJson(String),
    /// JSON, but without a field the lab needs, or with a negative or non-finite time.
    #[error("unusable oha report: {0}")]
    Unusable(String),
}

/// Kinds of failure, as reports count them for both tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureKind {
    Connect,
    Timeout,
    Receive,
    Other,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Connect => "connect",
            FailureKind::Timeout => "timeout",
            FailureKind::Receive => "receive",
            FailureKind::Other => "other",
        }
    }

    /// The kind of one of oha's error messages (hyper's and the OS's words).
    pub fn of_message(message: &str) -> FailureKind {
        let m = message.to_ascii_lowercase();
        if m.contains("timeout") || m.contains("timed out") {
            FailureKind::Timeout
        } else if m.contains("refused") || m.contains("unreachable") {
            FailureKind::Connect
        } else if m.contains("reset")
            || m.contains("closed")
            || m.contains("broken pipe")
            || m.contains("incomplete")
            || m.contains("eof")
        {
            FailureKind::Receive
        } else if m.contains("connect") {
            FailureKind::Connect
        } else {
            FailureKind::Other
        }
    }
}

impl OhaReport {
    /// Requests that got an HTTP answer, whatever its status.
    pub fn responses(&self) -> u64 {
        self.status_codes.values().sum()
    }

    /// Requests cut off by the end of a timed run (not the server's fault).
    pub fn deadline_aborted(&self) -> u64 {
        self.errors.get(DEADLINE_ERROR).copied().unwrap_or(0)
    }

    /// Requests that failed without an answer, deadline aborts left out.
    pub fn failed(&self) -> u64 {
        self.errors.values().sum::<u64>() - self.deadline_aborted()
    }

    /// Answers whose status is not 2xx.
    pub fn non_2xx(&self) -> u64 {
        self.status_codes
            .iter()
            .filter(|(code, _)| !(200..300).contains(*code))
            .map(|(_, n)| n)
            .sum()
    }

    /// Answers plus failures: what ab calls complete requests.
    pub fn complete(&self) -> u64 {
        self.responses() + self.failed()
    }

    /// Completed requests per second (answers and failures, as ab counts them).
    pub fn requests_per_second(&self) -> f64 {
        if self.total_s > 0.0 {
            self.complete() as f64 / self.total_s
        } else {
            0.0
        }
    }

    /// Failures by kind, deadline aborts left out.
    pub fn failures_by_kind(&self) -> BTreeMap<FailureKind, u64> {
        let mut out = BTreeMap::new();
        for (message, n) in self.errors.iter().filter(|(m, _)| *m != DEADLINE_ERROR) {
            *out.entry(FailureKind::of_message(message)).or_insert(0) += n;
        }
        out
    }
}

/// The JSON as oha writes it; only the fields the lab reads.
#[derive(Deserialize)]
struct Raw {
    summary: RawSummary,
    #[serde(rename = "latencyPercentiles", default)]
    latency_percentiles: BTreeMap<String, Option<f64>>,
    #[serde(rename = "statusCodeDistribution", default)]
    status_code_distribution: BTreeMap<String, u64>,
    #[serde(rename = "errorDistribution", default)]
    error_distribution: BTreeMap<String, u64>,
}

#[derive(Deserialize)]
struct RawSummary {
    total: Option<f64>,
    slowest: Option<f64>,
    average: Option<f64>,
    #[serde(rename = "requestsPerSec")]
    requests_per_sec: Option<f64>,
    #[serde(rename = "totalData", default)]
    total_data: u64,
}

/// Parse oha's JSON report. Text before the JSON object (a warning line) is skipped.
pub fn parse(text: &str) -> Result<OhaReport, OhaParseError> {
    let start = text.find('{').ok_or_else(|| {
        let first = text.lines().map(str::trim).find(|l| !l.is_empty());
        OhaParseError::NotJson(first.map_or("the output is empty".into(), |l| format!("`{l}`")))
    })?;
    let raw: Raw =
        serde_json::from_str(&text[start..]).map_err(|e| OhaParseError::NotJson(format!("{e}")))?;
    let total_s = raw
        .summary
        .total
        .filter(|t| t.is_finite() && *t >= 0.0)
        .ok_or_else(|| OhaParseError::Unusable("summary.total is missing or negative".into()))?;
    let mut status_codes = BTreeMap::new();
    for (code, n) in raw.status_code_distribution {
        let code: u16 = code.parse().map_err(|_| {
            OhaParseError::Unusable(format!("statusCodeDistribution has the key `{code}`"))
        })?;
        status_codes.insert(code, n);
    }
    let ms = |s: f64| s * 1000.0;
    let mut latency_ms: BTreeMap<String, f64> = raw
        .latency_percentiles
        .into_iter()
        .filter_map(|(k, v)| {
            let p: f64 = k.strip_prefix('p')?.parse().ok()?;
            Some((format!("{p}"), ms(v.filter(|v| v.is_finite())?)))
        })
        .collect();
    if let Some(slowest) = raw.summary.slowest.filter(|v| v.is_finite()) {
        latency_ms.insert("100".to_string(), ms(slowest));
    }
    Ok(OhaReport {
        total_s,
        oha_requests_per_sec: raw.summary.requests_per_sec.unwrap_or(0.0),
        status_codes,
        errors: raw.error_distribution,
        latency_ms,
        mean_ms: raw.summary.average.filter(|v| v.is_finite()).map(ms),
        total_data: raw.summary.total_data,
    })
}
