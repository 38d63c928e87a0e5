//! The answers and the report of a tune, from a record written by hand: what a reader sees
//! for a found answer, a target not reached within the bounds, and a load generator that
//! cannot drive the target.

use super::answers;
use super::probe::Figures;
use super::record::{Dimension, Phase, ProbeRecord, SearchRecord, TuneRecord};
use super::report;
use super::search::{Answer, Outcome};
use crate::config::tune::{Budget, CpuRange, MemoryRange, Target, TargetLoad, Tune};
use crate::record::Limiter;

const MIB: f64 = 1024.0 * 1024.0;

fn probe(index: usize, grid: &[f64], outcome: Outcome, rps: f64) -> ProbeRecord {
    ProbeRecord {
        number: 1,
        index,
        cpus: grid[index],
        memory_bytes: 32 << 20,
        outcome,
        figures: Figures {
            repetitions: 3,
            rps: Some(rps),
            rps_range: Some((rps - 10.0, rps + 10.0)),
            p99_ms: Some(20.0),
            limiter: Some(Limiter::ServerCpu),
            memory_peak_bytes: Some(3 << 20),
            reason: format!("{rps:.0} req/s vs 400"),
            ..Figures::default()
        },
        dir: format!("probes/p{index}"),
        confirm_s: None,
        wall_s: Some(7.0),
    }
}

fn phase(d: Dimension, grid: Vec<f64>, probes: &[(usize, Outcome, f64)], answer: Answer) -> Phase {
    let mut p = Phase::new(d, grid);
    p.probes = probes
        .iter()
        .map(|(i, o, r)| probe(*i, &p.grid, *o, *r))
        .collect();
    if d == Dimension::Memory {
        for pr in &mut p.probes {
            pr.memory_bytes = p.grid[pr.index] as u64;
        }
    }
    p.answer = Some(answer);
    p
}

fn search(server: &str, cpus: Option<Phase>, memory: Option<Phase>) -> SearchRecord {
    SearchRecord {
        server: server.into(),
        model: server.into(),
        target: 0,
        base_cpus: 1.0,
        base_memory: 64 << 20,
        cpus,
        memory,
        memory_cpus: Some(0.5),
        notes: Vec::new(),
    }
}

fn record(searches: Vec<SearchRecord>) -> TuneRecord {
    TuneRecord {
        schema_version: 1,
        id: "x".into(),
        name: "t".into(),
        status: "complete".into(),
        started_at: String::new(),
        finished_at: None,
        elapsed_s: 10.0,
        tune: Tune {
            targets: vec![Target {
                workload: "cpu".into(),
                rps: 400.0,
                load: TargetLoad::Closed { concurrency: 4 },
                requests: 400,
                keepalive: true,
                p99_ms: Some(100.0),
                errors: 0.0,
            }],
            cpus: Some(CpuRange {
                min: 0.1,
                max: 1.0,
                resolution: 0.1,
            }),
            memory: Some(MemoryRange {
                min: 8 << 20,
                max: 32 << 20,
                resolution: 8 << 20,
            }),
            headroom: 0.25,
            budget: Budget {
                probes: 50,
                time_s: 300.0,
            },
            confirm_s: None,
            hold: 0.95,
        },
        probes_used: 9,
        budget_note: None,
        searches,
    }
}

fn cpus_grid() -> Vec<f64> {
    CpuRange {
        min: 0.1,
        max: 1.0,
        resolution: 0.1,
    }
    .grid()
}

fn mem_grid() -> Vec<f64> {
    [8.0, 16.0, 24.0, 32.0].iter().map(|m| m * MIB).collect()
}

/// async: 0.4 CPUs and 8m; thread: not reached; other: loadgen-bound.
fn three() -> TuneRecord {
    let found = phase(
        Dimension::Cpus,
        cpus_grid(),
        &[
            (9, Outcome::Pass, 1100.0),
            (4, Outcome::Pass, 520.0),
            (1, Outcome::Fail, 260.0),
            (2, Outcome::Fail, 380.0),
            (3, Outcome::Pass, 410.0),
            (3, Outcome::Pass, 415.0),
        ],
        Answer::Found {
            at: 3,
            below: Some(2),
        },
    );
    let memory = phase(
        Dimension::Memory,
        mem_grid(),
        &[
            (3, Outcome::Pass, 600.0),
            (0, Outcome::Pass, 590.0),
            (0, Outcome::Pass, 595.0),
        ],
        Answer::Found { at: 0, below: None },
    );
    let never = phase(
        Dimension::Cpus,
        cpus_grid(),
        &[(9, Outcome::Fail, 300.0)],
        Answer::NotReached,
    );
    let ab = phase(
        Dimension::Cpus,
        cpus_grid(),
        &[(9, Outcome::Pass, 900.0), (4, Outcome::LoadgenBound, 350.0)],
        Answer::LoadgenBound { at: 4 },
    );
    let mut thread = search("thread", Some(never), None);
    thread
        .notes
        .push("memory not searched: there is no CPU limit to search it at".into());
    record(vec![
        search("async", Some(found), Some(memory)),
        thread,
        search("other", Some(ab), None),
    ])
}

#[test]
fn answers_say_what_was_found_and_what_was_not() {
    let r = three();
    let rows = answers::rows(&r);
    assert_eq!(rows[0].cpus.value, Some(0.4));
    assert_eq!(rows[0].memory.value, Some(8.0 * MIB));
    assert_eq!(rows[0].memory.text, "≤ 8m (at cpus=0.5)");
    assert_eq!(
        rows[0].figures.and_then(|f| f.rps),
        Some(415.0),
        "the CPU answer's figures"
    );
    assert!(
        rows[0].confidence[0].contains("passes at 0.4 (415 req/s [405–425]"),
        "{:?}",
        rows[0].confidence
    );
    assert!(rows[0].confidence[0].contains("fails at 0.3 (380 req/s"));
    assert_eq!(rows[0].probes, 9);

    assert_eq!(rows[1].cpus.value, None);
    assert!(rows[1].cpus.text.contains("not reached within the bounds"));
    assert!(rows[1]
        .notes
        .iter()
        .any(|n| n.contains("even 1 misses the target")));

    assert_eq!(rows[2].cpus.text, "— (loadgen-bound)");
    assert!(rows[2]
        .notes
        .iter()
        .any(|n| n.contains("the load generator cannot test this target on this machine")));
    assert!(rows[2].notes.iter().any(|n| n.contains("oha")));

    let less = answers::who_needs_less(&r, &rows, 0).unwrap();
    assert!(less.contains("only async has an answer"), "{less}");
}

#[test]
fn the_report_has_the_table_the_charts_and_the_snippets() {
    let r = three();
    let md = report::markdown(&report::blocks(&r));
    assert!(md.contains("| async | async | 0.4 | ≤ 8m (at cpus=0.5) | 415 [405–425] | 20.0 | — | — | server-cpu | 3.0 MiB | 9 (63 s) |"), "{md}");
    assert!(md.contains("- [async: cpus probes](charts/async-cpu-cpus.svg)"));
    assert!(md.contains("[report](probes/p3/report.md)"));
    // 0.4 CPUs and 8 MiB, +25% in the limits.
    assert!(md.contains("cpus: \"0.5\"\n          memory: 10M"), "{md}");
    assert!(md.contains(
        "requests:\n    cpu: 400m\n    memory: 8Mi\n  limits:\n    cpu: 500m\n    memory: 10Mi"
    ));
    assert!(md.contains("# not covered (no answer): cpu ≥ 400 req/s at c=4"));
}

#[test]
fn the_html_report_shows_the_probe_charts_inline() {
    let r = three();
    let dir = tempfile::tempdir().unwrap();
    report::write_all(dir.path(), &r).unwrap();
    let html = std::fs::read_to_string(dir.path().join("tune.html")).unwrap();
    assert!(html.contains("<figure>\n<svg"), "charts inline");
    assert!(html.contains("href=\"probes/p3/report.html\""));
    assert!(dir.path().join("charts/async-cpu-memory.svg").exists());
    // The record round-trips: the report can be rendered again from tune.json alone.
    r.save(dir.path()).unwrap();
    let back = TuneRecord::load(dir.path()).unwrap();
    assert_eq!(report::blocks(&back), report::blocks(&r));
}

#[test]
fn a_memory_miss_far_under_the_limit_is_called_likely_noise() {
    let memory = phase(
        Dimension::Memory,
        mem_grid(),
        &[
            (3, Outcome::Pass, 600.0),
            (1, Outcome::Pass, 590.0),
            (0, Outcome::Fail, 395.0),
            (1, Outcome::Pass, 595.0),
        ],
        Answer::Found {
            at: 1,
            below: Some(0),
        },
    );
    let r = record(vec![search("async", None, Some(memory))]);
    let rows = answers::rows(&r);
    // The failing probe at 8m peaked at 3 MiB: not a memory problem.
    assert!(
        rows[0].notes.iter().any(|n| n.contains("the miss at 8m (395 req/s vs 400) came with a memory peak of 3.0 MiB of its 8m: more likely noise")),
        "{:?}",
        rows[0].notes
    );
    // An OOM kill is a memory problem: no such note.
    let mut oom = r.clone();
    let m = oom.searches[0].memory.as_mut().unwrap();
    m.probes[2].figures.failed = 3;
    m.probes[2].figures.repetitions = 0;
    assert!(!answers::rows(&oom)[0]
        .notes
        .iter()
        .any(|n| n.contains("noise")));
}

#[test]
fn the_memory_search_runs_above_the_bare_cpu_answer() {
    assert_eq!(super::memory_search_cpus(0.4, 0.25, 1.0), 0.5);
    assert_eq!(
        super::memory_search_cpus(0.9, 0.25, 1.0),
        1.0,
        "capped at the range"
    );
    assert_eq!(super::memory_search_cpus(0.35, 0.0, 1.0), 0.35);
}

#[test]
fn an_open_loop_answer_says_its_utilisation_and_gives_the_autoscaler_figure() {
    let mut r = three();
    r.tune.targets[0].load = TargetLoad::Open {
        rate: 400,
        connections: 4,
    };
    // At the CPU answer (0.4 CPUs) the server used 0.36 cores, throttled in 30% of periods.
    let cpus = r.searches[0].cpus.as_mut().unwrap();
    for p in cpus.probes.iter_mut().filter(|p| p.index == 3) {
        p.figures.server_cores = Some(0.36);
        p.figures.throttled_share = Some(0.3);
    }
    let rows = answers::rows(&r);
    assert_eq!(rows[0].cores_at_rate, Some(0.36));
    let note = rows[0]
        .notes
        .iter()
        .find(|n| n.contains("HorizontalPodAutoscaler"))
        .expect("the utilisation note");
    assert!(
        note.starts_with("at 400 req/s the server used 0.36 of its 0.4 CPUs (90% of the request), throttled in 30% of its quota periods"),
        "{note}"
    );
    // The request is the answer, 0.4: 90% less the 20% margin.
    let needs = super::snippets::needs(&rows, |t| r.tune.targets[t].describe());
    assert_eq!(needs[0].hpa, Some(72));
    assert!(report::markdown(&report::blocks(&r)).contains("averageUtilization: 72"));
    // Closed-loop targets (the server saturated by design) give no figure.
    assert!(answers::rows(&three())
        .iter()
        .all(|r| r.cores_at_rate.is_none()));
}
