//! What a load tool measured, in the lab's terms: the one tool-neutral [`Measurement`]
//! every report, the judge and tune read, beside the tool's own report ([`ToolReport`]),
//! which only the tool layer (`tool/`, that turns it into a measurement) and the raw exports read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ab::AbReport;
pub use crate::oha::{FailureKind, OhaReport};

/// The figures of a cell that every load tool gives, in the same units and meaning.
///
/// Written by the tool layer (`tool/`) when the cell is measured (and, for records written before
/// schema 2, when the record is read).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// The tool's measuring time, seconds (ab's "Time taken", oha's total).
    pub time_taken_s: Option<f64>,
    /// Requests that ended, failed ones included (ab's "Complete requests").
    pub complete: Option<u64>,
    /// Requests without an answer (connect, receive, timeout, ...): not non-2xx.
    pub failed: Option<u64>,
    #[serde(default)]
    pub failed_by_kind: BTreeMap<FailureKind, u64>,
    /// Answers whose status was not 2xx.
    pub non_2xx: Option<u64>,
    /// Completed requests per second as the tool counts them (non-2xx included).
    pub rps: Option<f64>,
    /// Bytes received (ab: headers included; oha: bodies).
    pub transferred: Option<u64>,
    /// The tool's own "time per request" figures, when it prints them (ab does).
    #[serde(default)]
    pub time_per_request_ms: Option<f64>,
    #[serde(default)]
    pub time_per_request_all_ms: Option<f64>,
    /// The tool's own transfer rate, KiB/s, when it prints one (ab does).
    #[serde(default)]
    pub transfer_rate_kbps: Option<f64>,
    /// Latency percentiles in ms, keyed as [`super::Percentile::key`] (`"99"`, `"100"`):
    /// the finest figures the tool gave (ab's `-e` file over its whole-ms table; oha's
    /// corrected for coordinated omission in open loop).
    #[serde(default)]
    pub latency_ms: BTreeMap<String, f64>,
    /// Connect times (ms), when the tool reports them (ab's "Connection Times").
    #[serde(default)]
    pub connect: Option<TimeSummary>,
    /// Mean processing time (ms), when the tool reports it.
    #[serde(default)]
    pub processing_mean_ms: Option<f64>,
    /// The tool's own warnings that its figures may not be reliable.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Mean and maximum of one per-request time, ms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TimeSummary {
    pub mean: f64,
    pub max: f64,
}

impl Measurement {
    /// Requests per second counting only good (2xx, not failed) answers.
    pub fn good_rps(&self) -> Option<f64> {
        let rps = self.rps?;
        let complete = self.complete? as f64;
        if complete == 0.0 {
            return Some(0.0);
        }
        Some(rps * ((complete - self.bad() as f64).max(0.0) / complete))
    }

    /// Failed plus non-2xx.
    pub fn bad(&self) -> u64 {
        self.failed.unwrap_or(0) + self.non_2xx.unwrap_or(0)
    }

    /// Did the tool warn that its figures are not reliable?
    pub fn tool_warned(&self) -> bool {
        self.warnings
            .iter()
            .any(|w| w.contains("not reliable") || w.contains("WARNING") || w.contains("ERROR"))
    }
}

/// The load tool's own parsed report, tagged by tool (`{"tool": "ab", ...}`). Read by
/// the tool layer (to make the [`Measurement`]) and by raw exports, nowhere else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "tool", rename_all = "lowercase")]
pub enum ToolReport {
    Ab(Box<AbReport>),
    Oha(OhaReport),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An oha report inside the tagged enum keeps its status codes through results.json
    /// (serde buffers tagged content, and numbers as map keys did not survive that).
    #[test]
    fn an_oha_report_reads_back_through_the_tag() {
        let report = ToolReport::Oha(OhaReport {
            total_s: 3.0,
            status_codes: [(200, 1430), (503, 2)].into_iter().collect(),
            ..OhaReport::default()
        });
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.contains(r#""tool":"oha""#), "{json}");
        let back: ToolReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
        let bad = json.replace(r#""503""#, r#""5x3""#);
        let e = serde_json::from_str::<ToolReport>(&bad).unwrap_err();
        assert!(
            e.to_string().contains("`5x3` is not an HTTP status code"),
            "{e}"
        );
    }
}
