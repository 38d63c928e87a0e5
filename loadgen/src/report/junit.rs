//! `--junit FILE`: thresholds and regression-gate rows as JUnit test cases, in the shape
//! CI systems read (Jenkins, GitLab, GitHub test reporters):
//!
//! ```xml
//! <testsuites name="lab" tests="3" failures="1" skipped="1" errors="0" time="12.5">
//!   <testsuite name="thresholds" tests="3" failures="1" skipped="1" errors="0" time="12.5">
//!     <testcase classname="lab.thresholds" name="async hello c=100 …: p99 &lt; 5ms" time="4.1"/>
//!     <testcase …><failure message="…">…</failure></testcase>
//!     <testcase …><skipped message="inconclusive: …"/></testcase>
//!   </testsuite>
//! </testsuites>
//! ```
//!
//! A failed check is a `<failure>`, an inconclusive one `<skipped>` (it neither passed nor
//! failed), a passed one an empty test case.

use std::fmt::Write;

use super::compare::gate::Gate;
use crate::judge::thresholds::{Judged, Outcome};
use crate::record::Cell;

/// One test case.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub classname: String,
    pub name: String,
    pub time_s: f64,
    pub outcome: Outcome,
    /// Why: the figures behind the outcome.
    pub message: String,
}

impl Case {
    /// The `type` of a `<failure>`: `threshold` or `regression`, by the case's class.
    fn failure_type(&self) -> &'static str {
        if self.classname.starts_with("lab.gate") {
            "regression"
        } else {
            "threshold"
        }
    }
}

/// A named group of test cases.
#[derive(Debug, Clone, PartialEq)]
pub struct Suite {
    pub name: String,
    pub cases: Vec<Case>,
}

/// The thresholds of a run as a suite; `cells` give each row's measured time.
pub fn thresholds_suite(judged: &[Judged], cells: &[Cell]) -> Suite {
    let time = |row: &Option<String>| -> f64 {
        let Some(row) = row else { return 0.0 };
        cells
            .iter()
            .filter(|c| crate::judge::thresholds::row_name(c) == *row)
            .filter_map(|c| c.measurement()?.time_taken_s)
            .sum()
    };
    Suite {
        name: "thresholds".into(),
        cases: judged
            .iter()
            .map(|j| Case {
                classname: format!("lab.thresholds.t{}", j.threshold),
                name: j.name(),
                time_s: time(&j.row),
                outcome: j.outcome,
                message: j.why.clone(),
            })
            .collect(),
    }
}

/// The regression gate's rows as a suite.
pub fn gate_suite(gate: &Gate) -> Suite {
    Suite {
        name: "regression gate".into(),
        cases: gate
            .rows
            .iter()
            .map(|r| Case {
                classname: format!("lab.gate.{}", r.figure.as_str()),
                name: r.name(),
                time_s: r.time_s,
                outcome: r.outcome,
                message: r.why.clone(),
            })
            .collect(),
    }
}

/// The XML document of the suites.
pub fn xml(suites: &[Suite]) -> String {
    let count = |cases: &mut dyn Iterator<Item = &Case>, o: Outcome| {
        cases.filter(|c| c.outcome == o).count()
    };
    let all = || suites.iter().flat_map(|s| s.cases.iter());
    let total_time: f64 = all().map(|c| c.time_s).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"lab\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" errors=\"0\" time=\"{:.3}\">",
        all().count(),
        count(&mut all(), Outcome::Fail),
        count(&mut all(), Outcome::Inconclusive),
        total_time
    );
    for s in suites {
        let time: f64 = s.cases.iter().map(|c| c.time_s).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" errors=\"0\" time=\"{time:.3}\">",
            escape(&s.name),
            s.cases.len(),
            count(&mut s.cases.iter(), Outcome::Fail),
            count(&mut s.cases.iter(), Outcome::Inconclusive),
        );
        for c in &s.cases {
            let head = format!(
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
                escape(&c.classname),
                escape(&c.name),
                c.time_s
            );
            let m = escape(&c.message);
            let _ = match c.outcome {
                Outcome::Pass => writeln!(out, "{head}/>"),
                Outcome::Fail => writeln!(
                    out,
                    "{head}>\n      <failure message=\"{m}\" type=\"{}\">{m}</failure>\n    </testcase>",
                    c.failure_type()
                ),
                Outcome::Inconclusive => writeln!(
                    out,
                    "{head}>\n      <skipped message=\"inconclusive: {m}\"/>\n    </testcase>"
                ),
            };
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Text made safe for an XML attribute or element; characters XML 1.0 cannot hold at all
/// (most control characters) become U+FFFD.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Write the suites to `path` (atomically).
pub fn write(path: &std::path::Path, suites: &[Suite]) -> anyhow::Result<()> {
    crate::record::write_atomic(path, xml(suites).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_attributes() {
        assert_eq!(
            escape("p99 < 5ms & \"x\"\n"),
            "p99 &lt; 5ms &amp; &quot;x&quot;&#10;"
        );
        assert_eq!(escape("a\u{1}b"), "a\u{fffd}b");
    }
}
