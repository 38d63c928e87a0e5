//! `thresholds:`: bounds a run must meet, for CI (`lab run` exits 4 when one fails).
//!
//! ```yaml
//! thresholds:
//!   - { server: async, workload: hello, concurrency: 100, check: p99 < 5ms }
//!   - server: thread
//!     cpus: 1
//!     check: [rps > 10000, errors == 0, cpu_per_request < 60us, memory_peak < 64m]
//! ```
//!
//! Each entry selects rows of the run (a server at a concurrency, or an offered rate, for
//! a workload, keep-alive setting and resource group) by any of `server`, `workload`,
//! `concurrency`, `rate`, `keepalive`, `cpus` and `memory` (left out: every value), and
//! bounds figures of them with `check`: one comparison `FIGURE OP VALUE` or a list.
//!
//! | figure | unit of VALUE | what |
//! |---|---|---|
//! | `p50`, `p90`, `p99`, `p99.9`, `max` | a duration: `800us`, `5ms`, `1s` | latency percentile |
//! | `rps` | requests per second | completed requests per second as the tool counts them |
//! | `good_rps` | requests per second | 2xx answers only |
//! | `errors` | a count, or a percentage `1%` | failed + non-2xx requests of one repetition |
//! | `cpu_per_request` | a duration: `60us` | the server's CPU time per completed request |
//! | `memory_peak` | a size: `64m` | the server container's memory peak |
//!
//! OP is one of `<`, `<=`, `>`, `>=`, `==`. Selectors are checked against the file (a
//! server or a concurrency the file does not run is a typo), so a threshold always names
//! rows the run measures. How a threshold is judged (on the interval of the repetitions,
//! not the point) is the judge's: `judge/thresholds.rs`.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use super::locate::{index, join};
use super::units::{format_memory, parse_memory, Describe, MemorySize, OneOrMany};
use super::{Loadgen, RateSpec, Resources, Server, Workload};

/// Entries in one file.
pub const MAX_THRESHOLDS: usize = 64;
/// Checks in one entry.
pub const MAX_CHECKS: usize = 16;

/// One `thresholds:` entry, checked: which rows, and the bounds each must meet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    pub select: Selector,
    pub checks: Vec<Bound>,
}

/// Which rows of a run a threshold applies to; `None` = every value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Selector {
    pub server: Option<String>,
    pub workload: Option<String>,
    pub concurrency: Option<u32>,
    pub rate: Option<RateSpec>,
    pub keepalive: Option<bool>,
    pub cpus: Option<f64>,
    /// Bytes.
    pub memory: Option<u64>,
}

impl Selector {
    /// `server=async workload=hello c=100`, or `every row`: how reports name the selection.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.server {
            parts.push(format!("server={s}"));
        }
        if let Some(w) = &self.workload {
            parts.push(format!("workload={w}"));
        }
        if let Some(c) = self.concurrency {
            parts.push(format!("c={c}"));
        }
        if let Some(r) = self.rate {
            parts.push(format!("rate={r}"));
        }
        if let Some(k) = self.keepalive {
            parts.push(format!("keepalive={k}"));
        }
        if let Some(c) = self.cpus {
            parts.push(format!("cpus={c}"));
        }
        if let Some(m) = self.memory {
            parts.push(format!("memory={}", format_memory(m)));
        }
        if parts.is_empty() {
            "every row".into()
        } else {
            parts.join(" ")
        }
    }
}

/// What `lab check` says of the section: one line per threshold.
pub fn describe(thresholds: &[Threshold]) -> String {
    let mut s = format!("thresholds: {}", thresholds.len());
    for (i, t) in thresholds.iter().enumerate() {
        let checks: Vec<&str> = t.checks.iter().map(|c| c.text.as_str()).collect();
        s.push_str(&format!(
            "\n  [{i}] {}: {}",
            t.select.describe(),
            checks.join(", ")
        ));
    }
    s
}

/// One comparison: `p99 < 5ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bound {
    pub figure: Figure,
    pub op: Op,
    /// In the figure's own unit ([`Figure::unit`]): ms, req/s, a count, a share, s, bytes.
    pub value: f64,
    /// As written in the lab file, for reports.
    pub text: String,
}

/// A figure a threshold can bound; each has one unit, the one the record keeps it in.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Figure {
    /// Latency at this percentile (100 = the longest request), ms.
    Latency { percentile: f64 },
    /// req/s as the tool counts them.
    Rps,
    /// req/s of 2xx answers.
    GoodRps,
    /// Failed + non-2xx requests of one repetition.
    Errors,
    /// Failed + non-2xx over completed requests, a share (0.01 = 1%).
    ErrorShare,
    /// Server CPU seconds per completed request.
    CpuPerRequest,
    /// Server memory peak, bytes.
    MemoryPeak,
}

impl Figure {
    /// How the lab file names it: `p99`, `max`, `good_rps`, `errors`, ...
    pub fn name(&self) -> String {
        match self {
            Figure::Latency { percentile } if *percentile >= 100.0 => "max".into(),
            Figure::Latency { percentile } => format!("p{percentile}"),
            Figure::Rps => "rps".into(),
            Figure::GoodRps => "good_rps".into(),
            Figure::Errors | Figure::ErrorShare => "errors".into(),
            Figure::CpuPerRequest => "cpu_per_request".into(),
            Figure::MemoryPeak => "memory_peak".into(),
        }
    }

    /// A value of this figure for people: `4.21 ms`, `58.3 µs`, `61.2m`, `12034 req/s`.
    pub fn show(&self, v: f64) -> String {
        match self {
            Figure::Latency { .. } => format!("{} ms", sig(v)),
            Figure::Rps | Figure::GoodRps => format!("{} req/s", sig(v)),
            Figure::Errors => sig(v),
            Figure::ErrorShare => format!("{}%", sig(v * 100.0)),
            Figure::CpuPerRequest if v >= 1e-3 => format!("{} ms", sig(v * 1e3)),
            Figure::CpuPerRequest => format!("{} µs", sig(v * 1e6)),
            Figure::MemoryPeak => format_memory(v.max(0.0).round() as u64),
        }
    }

    /// A range of values: `4.1–5.3 ms`, or one value when both ends are equal.
    pub fn show_span(&self, lo: f64, hi: f64) -> String {
        let (a, b) = (self.show(lo), self.show(hi));
        if a == b {
            return a;
        }
        // The unit once, after the second number: `4.1–5.3 ms`.
        match a.split_once(' ') {
            Some((number, unit)) if b.ends_with(unit) => format!("{number}–{b}"),
            _ => format!("{a}–{b}"),
        }
    }

    /// The unit [`Bound::value`] is in, for the JSON reader.
    pub fn unit(&self) -> &'static str {
        match self {
            Figure::Latency { .. } => "ms",
            Figure::Rps | Figure::GoodRps => "req/s",
            Figure::Errors => "requests",
            Figure::ErrorShare => "share",
            Figure::CpuPerRequest => "s",
            Figure::MemoryPeak => "bytes",
        }
    }
}

/// Three significant digits, without trailing zeros: `4.21`, `58.3`, `12034`.
fn sig(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let decimals = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The comparison of a [`Bound`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "==")]
    Eq,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
        }
    }

    /// Does the single value `x` meet `x OP bound`?
    pub fn holds(self, x: f64, bound: f64) -> bool {
        match self {
            Op::Lt => x < bound,
            Op::Le => x <= bound,
            Op::Gt => x > bound,
            Op::Ge => x >= bound,
            Op::Eq => x == bound,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `thresholds[i]` as written.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a threshold such as { server: async, concurrency: 100, check: p99 < 5ms }"
)]
pub struct RawThreshold {
    pub server: Option<String>,
    pub workload: Option<String>,
    pub concurrency: Option<u32>,
    pub rate: Option<RateSpec>,
    pub keepalive: Option<bool>,
    pub cpus: Option<f64>,
    pub memory: Option<MemorySize>,
    pub check: Option<OneOrMany<CheckText>>,
}

/// The text of one check (`p99 < 5ms`), parsed by [`bound`].
#[derive(Debug)]
pub struct CheckText(pub String);

impl Describe for CheckText {
    const WHAT: &'static str = "a check such as `p99 < 5ms`";
}

impl<'de> Deserialize<'de> for CheckText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = CheckText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a check such as `p99 < 5ms`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<CheckText, E> {
                Ok(CheckText(v.to_string()))
            }
        }
        d.deserialize_str(V)
    }
}

/// What the checks need from the rest of the file.
pub(crate) struct Context<'a> {
    pub servers: &'a [Server],
    pub workloads: &'a [Workload],
    pub loadgen: &'a Loadgen,
    pub resources: &'a Resources,
}

/// Check `thresholds:`; every problem goes to `fail(path, message)`.
pub(crate) fn check(
    raw: Vec<RawThreshold>,
    cx: &Context<'_>,
    fail: &mut dyn FnMut(String, String),
) -> Vec<Threshold> {
    if raw.len() > MAX_THRESHOLDS {
        fail(
            index("thresholds", MAX_THRESHOLDS),
            format!(
                "{} thresholds are too many; at most {MAX_THRESHOLDS}",
                raw.len()
            ),
        );
    }
    raw.into_iter()
        .enumerate()
        .map(|(i, t)| threshold(t, &index("thresholds", i), cx, fail))
        .collect()
}

fn threshold(
    t: RawThreshold,
    path: &str,
    cx: &Context<'_>,
    fail: &mut dyn FnMut(String, String),
) -> Threshold {
    let select = selector(&t, path, cx, fail);
    let mut checks = Vec::new();
    match &t.check {
        None => fail(
            path.into(),
            "missing `check`: what the rows must meet, e.g. `check: p99 < 5ms`".into(),
        ),
        Some(c) if c.items.is_empty() => fail(
            join(path, "check"),
            "the list is empty; give at least one check, e.g. `p99 < 5ms`".into(),
        ),
        Some(c) if c.items.len() > MAX_CHECKS => fail(
            join(path, "check"),
            format!(
                "{} checks are too many; at most {MAX_CHECKS}",
                c.items.len()
            ),
        ),
        Some(c) => {
            for (i, text) in c.items.iter().enumerate() {
                match bound(&text.0) {
                    Ok(b) => checks.push(b),
                    Err(m) => fail(c.item_path(&join(path, "check"), i), m),
                }
            }
        }
    }
    Threshold { select, checks }
}

/// The selectors, each checked against the values the file runs.
fn selector(
    t: &RawThreshold,
    path: &str,
    cx: &Context<'_>,
    fail: &mut dyn FnMut(String, String),
) -> Selector {
    let mut one_of = |field: &str, given: String, known: Vec<String>| {
        if !known.contains(&given) {
            fail(
                join(path, field),
                format!(
                    "`{given}` is not a {field} this file runs; use one of: {}",
                    known.join(", ")
                ),
            );
        }
    };
    if let Some(s) = &t.server {
        one_of(
            "server",
            s.clone(),
            cx.servers.iter().map(|s| s.name.clone()).collect(),
        );
    }
    if let Some(w) = &t.workload {
        one_of(
            "workload",
            w.clone(),
            cx.workloads.iter().map(|w| w.name.clone()).collect(),
        );
    }
    let shown = |v: &[u32]| v.iter().map(|x| x.to_string()).collect();
    if let Some(c) = t.concurrency {
        one_of("concurrency", c.to_string(), shown(&cx.loadgen.concurrency));
    }
    if let Some(r) = t.rate {
        let rates = cx.loadgen.rate.iter().map(|r| r.to_string()).collect();
        one_of("rate", r.to_string(), rates);
    }
    if let Some(k) = t.keepalive {
        let known = cx.loadgen.keepalive.iter().map(|k| k.to_string()).collect();
        one_of("keepalive", k.to_string(), known);
    }
    if let Some(c) = t.cpus {
        let mut known: Vec<f64> = cx.resources.cpus.clone();
        known.extend(cx.servers.iter().filter_map(|s| s.resources.cpus));
        let known = known.iter().map(|c| c.to_string()).collect();
        one_of("cpus", c.to_string(), known);
    }
    if let Some(m) = &t.memory {
        let mut known: Vec<u64> = cx.resources.memory.clone();
        known.extend(cx.servers.iter().filter_map(|s| s.resources.memory));
        let known = known.iter().map(|m| format_memory(*m)).collect();
        one_of("memory", format_memory(m.0), known);
    }
    Selector {
        server: t.server.clone(),
        workload: t.workload.clone(),
        concurrency: t.concurrency,
        rate: t.rate,
        keepalive: t.keepalive,
        cpus: t.cpus,
        memory: t.memory.as_ref().map(|m| m.0),
    }
}

const FIGURES: &str =
    "p50, p90, p99, p99.9, max, rps, good_rps, errors, cpu_per_request, memory_peak";

/// Parses `FIGURE OP VALUE` (`p99 < 5ms`, `errors == 0`, `memory_peak <= 64m`).
pub fn bound(text: &str) -> Result<Bound, String> {
    let t = text.trim();
    let op_at = t
        .find(['<', '>', '=', '!'])
        .ok_or_else(|| format!("`{t}` has no comparison; write FIGURE OP VALUE, e.g. `p99 < 5ms` (OP: <, <=, >, >=, ==)"))?;
    let (name, rest) = t.split_at(op_at);
    let op_len = rest
        .find(|c: char| !matches!(c, '<' | '>' | '=' | '!'))
        .unwrap_or(rest.len());
    let (op_text, value) = rest.split_at(op_len);
    let value = value.trim();
    let op = match op_text {
        "<" => Op::Lt,
        "<=" => Op::Le,
        ">" => Op::Gt,
        ">=" => Op::Ge,
        "==" => Op::Eq,
        other => {
            return Err(format!(
                "`{other}` is not a comparison; use <, <=, >, >= or =="
            ))
        }
    };
    let name = name.trim();
    if value.is_empty() {
        return Err(format!("`{t}` has no value after `{}`", op.as_str()));
    }
    let (figure, number) = figure_value(name, value)?;
    Ok(Bound {
        figure,
        op,
        value: number,
        text: format!("{name} {} {value}", op.as_str()),
    })
}

/// The figure named `name` and `value` in its unit.
fn figure_value(name: &str, value: &str) -> Result<(Figure, f64), String> {
    let number = |what: &str| {
        value
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("`{value}` is not {what}"))
    };
    match name {
        "rps" => Ok((Figure::Rps, number("a number of requests per second, e.g. 10000")?)),
        "good_rps" => Ok((
            Figure::GoodRps,
            number("a number of requests per second, e.g. 10000")?,
        )),
        "errors" => match value.strip_suffix('%') {
            Some(p) => {
                let p: f64 = p.trim().parse().ok().filter(|p: &f64| (0.0..=100.0).contains(p)).ok_or_else(
                    || format!("`{value}` is not a percentage from 0% to 100%"),
                )?;
                Ok((Figure::ErrorShare, p / 100.0))
            }
            None => Ok((
                Figure::Errors,
                number("a count of requests or a percentage (e.g. 0, or 1%)")?,
            )),
        },
        "cpu_per_request" => Ok((Figure::CpuPerRequest, duration_s(value)?)),
        "memory_peak" => Ok((Figure::MemoryPeak, parse_memory(value)? as f64)),
        "max" => Ok((
            Figure::Latency { percentile: 100.0 },
            duration_s(value)? * 1000.0,
        )),
        _ => match name.strip_prefix('p').and_then(|p| p.parse::<f64>().ok()) {
            Some(p) if p > 0.0 && p < 100.0 => Ok((
                Figure::Latency { percentile: p },
                duration_s(value)? * 1000.0,
            )),
            Some(p) => Err(format!(
                "`{name}`: a percentile is more than 0 and less than 100 ({p} is not); use `max` for the longest request"
            )),
            None if name.is_empty() => Err(format!("no figure before the comparison; use one of: {FIGURES}")),
            None => Err(format!("`{name}` is not a figure; use one of: {FIGURES}")),
        },
    }
}

/// A duration with its unit (`800us`, `5ms`, `1.5s`, `250ns`), in seconds.
fn duration_s(text: &str) -> Result<f64, String> {
    let bad = || {
        format!(
            "`{text}` is not a duration; write a number with a unit: ns, us, ms or s (e.g. 5ms)"
        )
    };
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| {
            format!("`{text}` has no unit; write e.g. {text}ms (units: ns, us, ms, s)")
        })?;
    let (number, unit) = text.split_at(split);
    let factor = match unit.trim() {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        _ => return Err(bad()),
    };
    let n: f64 = number.parse().map_err(|_| bad())?;
    Ok(n * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_parse_into_the_figures_unit() {
        let b = bound("p99 < 5ms").unwrap();
        assert_eq!(
            (b.figure, b.op, b.value),
            (Figure::Latency { percentile: 99.0 }, Op::Lt, 5.0)
        );
        assert_eq!(b.text, "p99 < 5ms");
        let b = bound("p99.9<=800us").unwrap();
        assert_eq!(b.figure, Figure::Latency { percentile: 99.9 });
        assert!((b.value - 0.8).abs() < 1e-12);
        assert_eq!(b.text, "p99.9 <= 800us");
        assert_eq!(bound("max < 1s").unwrap().value, 1000.0);
        let b = bound("rps > 10000").unwrap();
        assert_eq!((b.figure, b.op, b.value), (Figure::Rps, Op::Gt, 10000.0));
        assert_eq!(bound("good_rps >= 5").unwrap().figure, Figure::GoodRps);
        let b = bound("errors == 0").unwrap();
        assert_eq!((b.figure, b.op, b.value), (Figure::Errors, Op::Eq, 0.0));
        let b = bound("errors < 1%").unwrap();
        assert_eq!((b.figure, b.value), (Figure::ErrorShare, 0.01));
        let b = bound("cpu_per_request < 60us").unwrap();
        assert_eq!(b.figure, Figure::CpuPerRequest);
        assert!((b.value - 60e-6).abs() < 1e-15);
        let b = bound("memory_peak < 64m").unwrap();
        assert_eq!(
            (b.figure, b.value),
            (Figure::MemoryPeak, 64.0 * 1024.0 * 1024.0)
        );
    }

    #[test]
    fn bad_checks_say_what_to_write() {
        let e = |t: &str| bound(t).unwrap_err();
        assert!(
            e("p99 5ms").contains("has no comparison"),
            "{}",
            e("p99 5ms")
        );
        assert!(e("p99 < 5").contains("has no unit; write e.g. 5ms"));
        assert!(e("p99 < 5 parsecs").contains("is not a duration"));
        assert!(e("latency < 5ms").starts_with("`latency` is not a figure; use one of: p50"));
        assert!(e("p100 < 5ms").contains("use `max`"));
        assert!(e("rps =! 5").contains("`=!` is not a comparison"));
        assert!(e("rps >> 5").contains("`>>` is not a comparison"));
        assert!(e("rps = 5").contains("`=` is not a comparison"));
        assert!(e("rps > lots").contains("`lots` is not a number of requests per second"));
        assert!(e("errors < 101%").contains("0% to 100%"));
        assert!(e("rps >").contains("has no value"));
        assert!(e("< 5ms").contains("no figure"));
    }

    /// A lab file with `thresholds` appended, through the whole config pipeline.
    fn lab_with(thresholds: &str) -> Result<super::super::Lab, String> {
        let text = format!(
            "name: t\nservers:\n  - {{ name: async, model: async, port: 45000 }}\n  - {{ name: ref, image: \"nginx:stable\", port: 80, resources: {{ cpus: 0.5 }} }}\n\
             resources: {{ cpus: [1, 2], memory: 64m }}\nloadgen: {{ requests: 100, concurrency: [1, 10], keepalive: [true, false] }}\n\
             workloads:\n  - {{ name: hello, path: / }}\nthresholds:\n{thresholds}"
        );
        super::super::parse(&text, "t.yaml", 4).map_err(|e| e.to_string())
    }

    #[test]
    fn selectors_are_checked_against_the_file() {
        let lab = lab_with(
            "  - { server: ref, workload: hello, concurrency: 10, keepalive: true, cpus: 0.5, memory: 64m, check: p99 < 5ms }\n  - { check: errors == 0 }\n",
        )
        .unwrap();
        assert_eq!(lab.thresholds.len(), 2);
        assert_eq!(
            lab.thresholds[0].select.describe(),
            "server=ref workload=hello c=10 keepalive=true cpus=0.5 memory=64m"
        );
        assert_eq!(lab.thresholds[1].select.describe(), "every row");
        let e = |t: &str| lab_with(t).unwrap_err();
        assert!(e("  - { workload: bye, check: p99 < 5ms }\n").contains(
            "thresholds[0].workload: `bye` is not a workload this file runs; use one of: hello"
        ));
        assert!(e("  - { cpus: 4, check: p99 < 5ms }\n").contains(
            "thresholds[0].cpus: `4` is not a cpus this file runs; use one of: 1, 2, 0.5"
        ));
        assert!(
            e("  - { keepalive: maybe, check: p99 < 5ms }\n").contains("thresholds[0].keepalive")
        );
        assert!(e("  - { server: async }\n").contains("thresholds[0]: missing `check`"));
        assert!(e("  - { server: async, check: [] }\n")
            .contains("thresholds[0].check: the list is empty"));
        assert!(e("  - { server: async, check: 5 }\n").contains("thresholds[0].check"));
    }

    #[test]
    fn figures_show_in_their_units() {
        let p99 = Figure::Latency { percentile: 99.0 };
        assert_eq!(p99.show(4.2134), "4.21 ms");
        assert_eq!(Figure::CpuPerRequest.show(58.31e-6), "58.3 µs");
        assert_eq!(Figure::CpuPerRequest.show(1.9224e-3), "1.92 ms");
        assert_eq!(Figure::Rps.show(12034.4), "12034 req/s");
        assert_eq!(Figure::ErrorShare.show(0.005), "0.5%");
        assert_eq!(Figure::MemoryPeak.show(64.0 * 1048576.0), "64m");
        assert_eq!(p99.show_span(4.1, 5.3), "4.1–5.3 ms");
        assert_eq!(p99.show_span(4.0, 4.0), "4 ms");
        assert_eq!(p99.show_span(2.871, 2.874), "2.87 ms", "equal as shown");
        assert_eq!(Figure::MemoryPeak.show_span(1048576.0, 2097152.0), "1m–2m");
        assert_eq!(p99.name(), "p99");
        assert_eq!(Figure::Latency { percentile: 100.0 }.name(), "max");
    }
}
