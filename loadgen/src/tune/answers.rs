//! The answers of a tune in words and figures, computed once from `tune.json`: every
//! format (Markdown, HTML, the terminal) only lays these out.

use super::probe::Figures;
use super::record::{Dimension, Phase, SearchRecord, TuneRecord};
use super::search::{Answer, Outcome};
use crate::config::format_memory;
use crate::config::tune::TargetLoad;

/// What a load generator that cannot drive the target should be replaced with.
pub const LOADGEN_ADVICE: &str = "the load generator cannot test this target on this machine: \
ab ran out of CPU before the server did. What would: more CPU for ab (`loadgen.cpus`, or \
`pin` giving ab a core of its own), keep-alive (`keepalive: true`, no connect per request), \
the load generator on a second host, or a multi-threaded tool such as oha";

/// One limit of one answer, as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    /// `0.35`, `≤ 0.05`, `not reached within the bounds`, ...
    pub text: String,
    /// The limit to put in a snippet, when there is one.
    pub value: Option<f64>,
}

/// One row of a tune report: one server against one target.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    pub server: &'a str,
    pub model: &'a str,
    pub target: usize,
    pub cpus: Limit,
    pub memory: Limit,
    /// The figures of the passing probe at the CPU answer (else the memory answer).
    pub figures: Option<&'a Figures>,
    /// The server's memory peak at the memory answer (else the CPU answer).
    pub memory_peak_bytes: Option<u64>,
    /// Probes the search ran (confirmation runs included), and their wall time, seconds.
    pub probes: usize,
    pub probes_s: f64,
    /// Open-loop targets: the server's CPU use (cores) at the target's rate at the CPU
    /// answer, for the autoscaler figure (see [`snippets::hpa_utilization`]).
    ///
    /// [`snippets::hpa_utilization`]: super::snippets::hpa_utilization
    pub cores_at_rate: Option<f64>,
    /// The spread of the passing probe and the failing one below it, per limit.
    pub confidence: Vec<String>,
    /// What the reader must know: bounds, the load generator, the budget, noise.
    pub notes: Vec<String>,
}

/// Every row, in the record's order (targets, then servers).
pub fn rows(record: &TuneRecord) -> Vec<Row<'_>> {
    record.searches.iter().map(|s| row(record, s)).collect()
}

fn row<'a>(record: &'a TuneRecord, s: &'a SearchRecord) -> Row<'a> {
    let mut notes = s.notes.clone();
    let mut confidence = Vec::new();
    let cpus = limit(
        Dimension::Cpus,
        s.cpus.as_ref(),
        s.base_cpus,
        &mut notes,
        &mut confidence,
    );
    let memory = if s.memory.is_none() && record.tune.memory.is_some() {
        // Searched in principle, skipped for want of a CPU answer (a note says so).
        Limit {
            text: "—".into(),
            value: None,
        }
    } else {
        limit(
            Dimension::Memory,
            s.memory.as_ref(),
            s.base_memory as f64,
            &mut notes,
            &mut confidence,
        )
    };
    let mut memory = memory;
    if let (Some(c), Some(_)) = (s.memory_cpus, &s.memory) {
        memory.text = format!("{} (at cpus={c})", memory.text);
    }
    if let Some(note) = &record.budget_note {
        let unfinished = [s.cpus.as_ref(), s.memory.as_ref()]
            .iter()
            .flatten()
            .any(|p| matches!(p.answer, Some(Answer::Unfinished { .. })));
        if unfinished {
            notes.push(format!("stopped early: {note}"));
        }
    }
    // The figures at the CPU answer (the memory search runs at more CPU, see
    // `memory_search_cpus`), else at the memory answer; the memory peak at the memory answer.
    let at_answer = |p: &'a Phase| match p.answer {
        Some(Answer::Found { at, .. }) => p.passing_at(at).map(|r| &r.figures),
        _ => None,
    };
    let figures = [s.cpus.as_ref(), s.memory.as_ref()]
        .into_iter()
        .flatten()
        .find_map(at_answer);
    let memory_peak_bytes = [s.memory.as_ref(), s.cpus.as_ref()]
        .into_iter()
        .flatten()
        .find_map(at_answer)
        .and_then(|f| f.memory_peak_bytes);
    let cores_at_rate = cores_at_rate(record, s, cpus.value, &mut notes);
    Row {
        server: &s.server,
        model: &s.model,
        target: s.target,
        cores_at_rate,
        cpus,
        memory,
        figures,
        memory_peak_bytes,
        probes: [s.cpus.as_ref(), s.memory.as_ref()]
            .iter()
            .flatten()
            .map(|p| p.probes.len())
            .sum(),
        probes_s: [s.cpus.as_ref(), s.memory.as_ref()]
            .iter()
            .flatten()
            .flat_map(|p| p.probes.iter())
            .filter_map(|p| p.wall_s)
            .sum(),
        confidence,
        notes,
    }
}

/// Open-loop targets: the server's CPU (cores) at the target's rate at the CPU answer, and
/// a note saying how busy that keeps it; `None` for closed-loop targets (their probes keep
/// the server as busy as its quota allows, by design).
fn cores_at_rate(
    record: &TuneRecord,
    s: &SearchRecord,
    answer: Option<f64>,
    notes: &mut Vec<String>,
) -> Option<f64> {
    let TargetLoad::Open { rate, .. } = record.target(s).load else {
        return None;
    };
    let at_answer = s.cpus.as_ref().and_then(|p| match p.answer {
        Some(Answer::Found { at, .. }) => p.passing_at(at).map(|r| &r.figures),
        _ => None,
    })?;
    let (cores, answer) = (at_answer.server_cores?, answer?);
    notes.push(format!(
        "at {rate} req/s the server used {cores:.2} of its {answer} CPUs ({:.0}% of the request){}; a HorizontalPodAutoscaler on CPU should scale out below that (see Limits to paste)",
        100.0 * cores / answer,
        at_answer
            .throttled_share
            .map(|t| format!(", throttled in {:.0}% of its quota periods", t * 100.0))
            .unwrap_or_default()
    ));
    Some(cores)
}

/// The answer of one phase, or the file's own limit (`base`) when it was not searched: the
/// probes ran at that limit, so the answer holds with it.
fn limit(
    d: Dimension,
    phase: Option<&Phase>,
    base: f64,
    notes: &mut Vec<String>,
    confidence: &mut Vec<String>,
) -> Limit {
    let Some(p) = phase else {
        return Limit {
            text: format!("{} (the file's; not searched)", d.show(base)),
            value: Some(base),
        };
    };
    let show = |i: usize| d.show(p.grid[i]);
    if !p.non_monotonic.is_empty() {
        let vals: Vec<String> = p.non_monotonic.iter().map(|v| d.show(*v)).collect();
        notes.push(format!(
            "{}: passed at {} below a limit that failed (noise, or not monotonic); the answer is above every failure",
            d.as_str(),
            vals.join(", ")
        ));
    }
    match p.answer.clone() {
        None => Limit {
            text: "— (not finished)".into(),
            value: None,
        },
        Some(Answer::Found { at, below }) => found(d, p, at, below, notes, confidence),
        Some(Answer::NotReached) => {
            let top = p.grid.len() - 1;
            let why = p
                .failing_at(top)
                .map(|r| r.figures.reason.clone())
                .unwrap_or_default();
            notes.push(format!(
                "{}: not reached within the bounds: even {} misses the target ({why})",
                d.as_str(),
                show(top)
            ));
            Limit {
                text: format!("> {} (not reached within the bounds)", show(top)),
                value: None,
            }
        }
        Some(Answer::LoadgenBound { at }) => {
            let why = p
                .failing_at(at)
                .map(|r| r.figures.reason.clone())
                .unwrap_or_default();
            notes.push(format!(
                "{} at {}: {why}; {LOADGEN_ADVICE}",
                d.as_str(),
                show(at)
            ));
            Limit {
                text: "— (loadgen-bound)".into(),
                value: None,
            }
        }
        Some(Answer::Unfinished { pass, fail }) => {
            let text = match (pass, fail) {
                (Some(p), Some(f)) => format!("between {} and {} (budget)", show(f), show(p)),
                (Some(p), None) => format!("≤ {} (budget)", show(p)),
                _ => "— (budget)".into(),
            };
            Limit {
                text,
                // An upper bound meets the target: usable, if not minimal.
                value: pass.map(|i| p.grid[i]),
            }
        }
    }
}

/// The limit a search found at grid index `at`, with the failing step `below` it (none:
/// the target was met at the bottom of the range), and what backs it.
fn found(
    d: Dimension,
    p: &Phase,
    at: usize,
    below: Option<usize>,
    notes: &mut Vec<String>,
    confidence: &mut Vec<String>,
) -> Limit {
    let show = |i: usize| d.show(p.grid[i]);
    confirmations(d, p, at, notes, confidence);
    // The search's own passing probe: the confirmation run, when there is one, is said
    // apart (above).
    let pass = p
        .probes
        .iter()
        .rev()
        .find(|r| r.index == at && r.outcome == Outcome::Pass && r.confirm_s.is_none())
        .or_else(|| p.passing_at(at))
        .map(|r| spread(&r.figures))
        .unwrap_or_default();
    match below {
        Some(b) => {
            let fail = p
                .failing_at(b)
                .map(|r| format!("({}: {})", spread(&r.figures), r.figures.reason))
                .unwrap_or_default();
            confidence.push(format!(
                "{}: passes at {} ({pass}), fails at {} {fail}",
                d.as_str(),
                show(at),
                show(b)
            ));
            if let Some(note) = p.failing_at(b).and_then(|r| not_memory(d, r)) {
                notes.push(note);
            }
            Limit {
                text: show(at),
                value: Some(p.grid[at]),
            }
        }
        None => {
            confidence.push(format!("{}: passes at {} ({pass})", d.as_str(), show(at)));
            notes.push(format!(
                "{}: the target is met even at the lower bound {}; the smallest limit may be lower",
                d.as_str(),
                show(at)
            ));
            Limit {
                text: format!("≤ {}", show(at)),
                value: Some(p.grid[at]),
            }
        }
    }
}

/// What the confirmation runs say of the answer at `at`: the one that confirmed it, every
/// one that failed lower (the search resumed above each), or that none ran.
fn confirmations(
    d: Dimension,
    p: &Phase,
    at: usize,
    notes: &mut Vec<String>,
    confidence: &mut Vec<String>,
) {
    for r in p.probes.iter().filter(|r| r.confirm_s.is_some()) {
        let len = r.confirm_s.unwrap_or_default();
        let held = r
            .figures
            .held_text()
            .map(|h| format!(", held in {h}"))
            .unwrap_or_default();
        if r.index == at && r.outcome == Outcome::Pass {
            confidence.push(format!(
                "{}: confirmed at {} by a {len:.0} s run ({}{held})",
                d.as_str(),
                d.show(p.grid[at]),
                spread(&r.figures)
            ));
        } else if r.outcome != Outcome::Pass {
            confidence.push(format!(
                "{}: a {len:.0} s confirmation run at {} failed ({}), so the search went on above it",
                d.as_str(),
                d.show(p.grid[r.index]),
                r.figures.reason
            ));
        }
    }
    if p.confirmed_at(at).is_none() {
        notes.push(format!(
            "{}: the answer {} is not confirmed by a long run (`tune.confirm: off`, the budget ran out first, or a tune from before the lab confirmed its answers): it rests on the search's short probes",
            d.as_str(),
            d.show(p.grid[at])
        ));
    }
}

/// A memory probe that missed the target without a failed repetition while its server
/// used well under its limit (at most 80%) missed it for another reason than memory:
/// usually the machine's noise at the target's edge. Said, because the search counts it
/// as a failure all the same (it cannot tell), which can put the memory answer too high.
fn not_memory(d: Dimension, r: &super::record::ProbeRecord) -> Option<String> {
    let f = &r.figures;
    let peak = f.memory_peak_bytes?;
    let used_little = (peak as f64) <= 0.8 * r.memory_bytes as f64;
    (d == Dimension::Memory && f.failed == 0 && f.repetitions > 0 && used_little).then(|| {
        format!(
            "memory: the miss at {} ({}) came with a memory peak of {} of its {}: more likely \
             noise than memory, so the smallest memory may be lower",
            format_memory(r.memory_bytes),
            f.reason,
            crate::report::doc::mib(peak),
            format_memory(r.memory_bytes)
        )
    })
}

/// `412 req/s [405–420], p99 8.1 ms`.
pub fn spread(f: &Figures) -> String {
    let mut s = match f.rps {
        Some(r) => format!("{r:.0} req/s"),
        None => "no req/s".into(),
    };
    // (One repetition, a confirmation run's, has no range to show.)
    if let Some((lo, hi)) = f.rps_range.filter(|(lo, hi)| hi > lo) {
        s.push_str(&format!(" [{lo:.0}–{hi:.0}]"));
    }
    if let Some(p) = f.p99_ms {
        s.push_str(&format!(", p99 {p:.1} ms"));
    }
    s
}

/// Which model needs less, per target: one sentence, when two or more servers have answers.
pub fn who_needs_less(record: &TuneRecord, rows: &[Row<'_>], target: usize) -> Option<String> {
    let of: Vec<&Row> = rows.iter().filter(|r| r.target == target).collect();
    let mut parts = Vec::new();
    for (d, get) in [
        (
            Dimension::Cpus,
            (|r: &Row| r.cpus.value) as fn(&Row) -> Option<f64>,
        ),
        (Dimension::Memory, |r: &Row| r.memory.value),
    ] {
        let searched = match d {
            Dimension::Cpus => record.tune.cpus.is_some(),
            Dimension::Memory => record.tune.memory.is_some(),
        };
        if !searched {
            continue;
        }
        let mut known: Vec<(&str, f64)> = of
            .iter()
            .filter_map(|r| get(r).map(|v| (r.server, v)))
            .collect();
        if known.is_empty() {
            continue;
        }
        known.sort_by(|a, b| a.1.total_cmp(&b.1));
        let (best, v) = known[0];
        let unmet: Vec<&str> = of
            .iter()
            .filter(|r| get(r).is_none())
            .map(|r| r.server)
            .collect();
        if known.len() == 1 && !unmet.is_empty() {
            parts.push(format!(
                "{}: only {best} has an answer ({})",
                d.as_str(),
                d.show(v)
            ));
        } else if known.len() > 1 {
            let (next, w) = known[1];
            if (w - v).abs() < 1e-9 {
                parts.push(format!(
                    "{}: {best} and {next} need the same ({})",
                    d.as_str(),
                    d.show(v)
                ));
            } else {
                parts.push(format!(
                    "{}: {best} needs less ({} vs {} for {next}, {:.0}% less)",
                    d.as_str(),
                    d.show(v),
                    d.show(w),
                    (1.0 - v / w) * 100.0
                ));
            }
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}
