//! Planning and judging the checks from recorded runs (no Docker): which rows get which
//! counterfactual, which cannot be checked and why, how a counterfactual row is judged,
//! and what the record and the reports carry afterwards.

use std::path::Path;

use super::*;
use crate::record::Verdict;
use crate::report::model::rows::rows;

/// The recorded fixture run: async and thread at c = 1, 10, 100, 1000, three repetitions
/// (thread c = 1000 has a failed one), every cell given `verdict` and `limits`.
fn run_with(verdict: impl Fn(&Cell) -> Limiter, cpus: f64, cpuset: Option<&str>) -> Results {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runs/a-baseline");
    let mut r = crate::judge::load(&dir).unwrap();
    for c in &mut r.cells {
        c.verdict = Some(Verdict {
            limiter: verdict(c),
            evidence: String::new(),
            advice: None,
        });
        c.limits.cpus = cpus;
        c.limits.cpuset = cpuset.map(str::to_string);
        c.limits.loadgen_cpus = None;
    }
    r
}

fn server_cpu_but_thread_c1_loadgen(c: &Cell) -> Limiter {
    if c.server == "thread" && c.concurrency == 1 {
        Limiter::Loadgen
    } else {
        Limiter::ServerCpu
    }
}

fn lab() -> Lab {
    let r = run_with(|_| Limiter::ServerCpu, 1.0, None);
    serde_json::from_value(r.config).unwrap()
}

#[test]
fn server_cpu_and_unlimited_loadgen_rows_share_one_run_at_one_and_a_half_the_cpus() {
    let r = run_with(server_cpu_but_thread_c1_loadgen, 0.25, Some("0"));
    let (batches, unchecked) = plan(&r, 2.0);
    assert!(unchecked.is_empty(), "{unchecked:?}");
    assert_eq!(batches.len(), 1);
    let b = &batches[0];
    assert_eq!(
        b.change,
        Change::ServerCpus {
            from: 0.25,
            to: 0.375
        }
    );
    // 8 rows: both servers at 4 concurrencies (thread c = 1000 has 2 measured repetitions).
    assert_eq!(b.rows.len(), 8);
    let thread_c1 = b
        .rows
        .iter()
        .find(|p| p.row.server == "thread" && p.row.concurrency == 1)
        .unwrap();
    // ab had no CPU limit: the check of `loadgen` gives the server more and expects nothing.
    assert_eq!(thread_c1.prediction, Prediction::Stays);
    assert!(b
        .rows
        .iter()
        .filter(|p| p.verdict == Limiter::ServerCpu)
        .all(|p| p.prediction == Prediction::Rises));

    let sub = b.lab(&lab(), Path::new("/tmp/x/confirm"), true);
    assert_eq!(sub.resources.cpus, vec![0.375]);
    let control = b.lab(&lab(), Path::new("/tmp/x/confirm"), false);
    assert_eq!(control.resources.cpus, vec![0.25]);
    assert!(
        control.name.ends_with("-control-server-cpus-0.375"),
        "{}",
        control.name
    );
    assert_eq!(sub.repeat, 1);
    assert!(sub.repeat_auto.is_none() && !sub.confirm && sub.tune.is_none());
    assert_eq!(sub.loadgen.concurrency, vec![1, 10, 100, 1000]);
    assert_eq!(sub.servers.len(), 2);
    assert!(
        sub.name.ends_with("-confirm-server-cpus-0.375"),
        "{}",
        sub.name
    );
    assert_eq!(sub.output, Path::new("/tmp/x/confirm"));
}

#[test]
fn a_limit_that_cannot_grow_is_recorded_as_not_checked_with_the_reason() {
    // cpus 1 on a one-CPU cpuset: 1.5 CPUs cannot be used.
    let r = run_with(|_| Limiter::ServerCpu, 1.0, Some("0"));
    let (batches, unchecked) = plan(&r, 2.0);
    assert!(batches.is_empty());
    assert_eq!(unchecked.len(), 8);
    let c = &unchecked[0];
    assert_eq!(c.confirmed, None);
    assert!(c.run.is_empty());
    assert!(
        c.reason.contains("cannot grow") && c.reason.contains("its cpuset is 0"),
        "{}",
        c.reason
    );
    // Unpinned on 2 CPUs, it can: 1 → 1.5.
    let (batches, _) = plan(&run_with(|_| Limiter::ServerCpu, 1.0, None), 2.0);
    assert_eq!(batches[0].change, Change::ServerCpus { from: 1.0, to: 1.5 });
}

#[test]
fn ab_at_a_whole_core_of_a_two_cpu_limit_is_checked_with_twice_its_processes() {
    let mut r = run_with(|_| Limiter::Loadgen, 1.0, None);
    for c in &mut r.cells {
        c.limits.loadgen_cpus = Some(if c.concurrency == 1 { 1.0 } else { 2.0 });
        c.limits.loadgen_host_cpus = Some(2);
    }
    let (batches, unchecked) = plan(&r, 2.0);
    let changes: Vec<Change> = batches.iter().map(|b| b.change).collect();
    assert_eq!(
        changes,
        [Change::LoadgenProcesses { from: 1, to: 2 }],
        "c = 1 has one connection: no second process for it"
    );
    // c = 1 (at a 1-CPU limit, one connection) cannot be checked: both servers' rows.
    assert_eq!(unchecked.len(), 2, "{unchecked:?}");
    assert!(unchecked.iter().all(|c| c.reason.contains("processes")));
    let b = &batches[0];
    let sub = b.lab(&lab(), Path::new("/tmp/x"), true);
    assert_eq!(sub.loadgen.processes, crate::config::Processes::Count(2));
    let control = b.lab(&lab(), Path::new("/tmp/x"), false);
    assert_eq!(
        control.loadgen.processes,
        crate::config::Processes::Count(1)
    );
    assert_eq!(
        sub.loadgen.cpus, control.loadgen.cpus,
        "only the processes move"
    );
    assert_eq!(b.change.describe(), "load generator processes 1 → 2");
}

#[test]
fn a_load_generator_under_a_quota_gets_one_and_a_half_times_it_up_to_one_core() {
    let mut r = run_with(|_| Limiter::Loadgen, 1.0, None);
    for c in &mut r.cells {
        c.limits.loadgen_cpus = Some(match c.concurrency {
            1 => 0.2,
            10 => 0.8,
            _ => 0.9,
        });
    }
    let (batches, unchecked) = plan(&r, 2.0);
    let changes: Vec<Change> = batches.iter().map(|b| b.change).collect();
    assert!(changes.contains(&Change::LoadgenCpus { from: 0.2, to: 0.3 }));
    // ab is single-threaded: 0.8 grows to 1 core, not 1.2.
    assert!(changes.contains(&Change::LoadgenCpus { from: 0.8, to: 1.0 }));
    // 0.9 can only grow to 1 (1.11×): not checked.
    assert_eq!(unchecked.len(), 4, "{unchecked:?}");
    assert!(unchecked.iter().all(|c| c.reason.contains("one core")));
    let b = batches
        .iter()
        .find(|b| matches!(b.change, Change::LoadgenCpus { from, .. } if from == 0.2))
        .unwrap();
    let sub = b.lab(&lab(), Path::new("/tmp/x"), true);
    assert_eq!(sub.loadgen.cpus, Some(0.3));
    assert_eq!(
        b.lab(&lab(), Path::new("/tmp/x"), false).loadgen.cpus,
        Some(0.2)
    );
    assert_eq!(sub.resources.cpus, vec![1.0], "the server keeps its cpus");
    assert_eq!(sub.loadgen.concurrency, vec![1]);
}

/// The fixture's rows with every cell's req/s × `factor` and verdict `after`: a
/// counterfactual run.
fn after(factor: f64, verdict: Limiter) -> Results {
    let mut r = run_with(|_| verdict, 0.375, Some("0"));
    for c in &mut r.cells {
        if let Some(m) = c.measurement.as_mut() {
            m.rps = m.rps.map(|x| x * factor);
        }
    }
    r
}

fn outcome(
    prediction: Prediction,
    verdict: Limiter,
    factor: f64,
    after_verdict: Limiter,
) -> Outcome {
    let before = run_with(|_| verdict, 0.25, Some("0"));
    let (batches, _) = plan(&before, 2.0);
    let mut p = batches[0]
        .rows
        .iter()
        .find(|p| p.row.server == "async" && p.row.concurrency == 10)
        .unwrap()
        .clone();
    p.prediction = prediction;
    let c = after(1.0, verdict);
    let a = after(factor, after_verdict);
    let (control, rows) = (rows(&c), rows(&a));
    judge(
        &p,
        control.iter().find(|r| p.is_row(r)),
        rows.iter().find(|r| p.is_row(r)),
    )
}

#[test]
fn a_rise_confirms_server_cpu_and_no_rise_refutes_it() {
    let o = outcome(
        Prediction::Rises,
        Limiter::ServerCpu,
        1.45,
        Limiter::ServerCpu,
    );
    assert_eq!(o.confirmed, Some(true), "{}", o.reason);
    assert!(o.reason.contains("(1.45×)"), "{}", o.reason);
    let o = outcome(
        Prediction::Rises,
        Limiter::ServerCpu,
        1.02,
        Limiter::ServerCpu,
    );
    assert_eq!(o.confirmed, Some(false), "{}", o.reason);
    assert!(o.reason.contains("did not set the pace"), "{}", o.reason);
    // Inside the drift band: undecided.
    let o = outcome(
        Prediction::Rises,
        Limiter::ServerCpu,
        1.17,
        Limiter::ServerCpu,
    );
    assert_eq!(o.confirmed, None, "{}", o.reason);
    // No rise because the load generator became the limit: both were near theirs.
    let o = outcome(
        Prediction::Rises,
        Limiter::ServerCpu,
        1.02,
        Limiter::Loadgen,
    );
    assert_eq!(o.confirmed, None, "{}", o.reason);
    assert!(o.reason.contains("limited by loadgen"), "{}", o.reason);
}

#[test]
fn a_standstill_confirms_loadgen_and_a_rise_refutes_it() {
    let o = outcome(Prediction::Stays, Limiter::Loadgen, 0.97, Limiter::Loadgen);
    assert_eq!(o.confirmed, Some(true), "{}", o.reason);
    let o = outcome(Prediction::Stays, Limiter::Loadgen, 1.4, Limiter::ServerCpu);
    assert_eq!(o.confirmed, Some(false), "{}", o.reason);
    assert!(
        o.reason.contains("server's CPU set the pace"),
        "{}",
        o.reason
    );
}

#[test]
fn a_counterfactual_without_the_row_or_its_rate_decides_nothing() {
    let before = run_with(|_| Limiter::ServerCpu, 0.25, Some("0"));
    let (batches, _) = plan(&before, 2.0);
    let p = &batches[0].rows[0];
    let c = after(1.0, Limiter::ServerCpu);
    let control = rows(&c);
    let control = control.iter().find(|r| p.is_row(r));
    assert_eq!(judge(p, control, None).confirmed, None);
    let mut a = after(1.5, Limiter::ServerCpu);
    for c in &mut a.cells {
        c.status = Status::Failed;
        c.reason = Some("the server exited with code 137".into());
    }
    let rows = rows(&a);
    let o = judge(p, control, rows.iter().find(|r| p.is_row(r)));
    assert_eq!(o.confirmed, None);
    assert!(o.reason.contains("code 137"), "{}", o.reason);
    assert!(o.control_rps.is_some() && o.after_rps.is_none());
}

#[test]
fn an_unconfirmed_row_is_flagged_on_its_cells_only_and_every_format_shows_the_checks() {
    let mut r = run_with(|_| Limiter::ServerCpu, 0.25, Some("0"));
    let (batches, _) = plan(&r, 2.0);
    let checks: Vec<Confirmation> = batches[0]
        .rows
        .iter()
        .map(|p| {
            let factor = if p.row.server == "thread" && p.row.concurrency == 1 {
                1.0
            } else {
                1.5
            };
            let c = after(1.0, Limiter::ServerCpu);
            let a = after(factor, Limiter::ServerCpu);
            let (control, rows) = (rows(&c), rows(&a));
            p.record(
                judge(
                    p,
                    control.iter().find(|r| p.is_row(r)),
                    rows.iter().find(|r| p.is_row(r)),
                ),
                ("confirm/c".into(), "confirm/x".into()),
            )
        })
        .collect();
    apply(&mut r, checks);
    for c in &r.cells {
        let flagged = c.flags.contains(&Flag::Unconfirmed);
        assert_eq!(
            flagged,
            c.server == "thread" && c.concurrency == 1,
            "{}",
            c.id
        );
    }
    // The record round-trips, and old records (no field) read as no checks.
    let json = serde_json::to_value(&r).unwrap();
    let back: Results = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back.confirmations, r.confirmations);
    let mut old = json;
    old.as_object_mut().unwrap().remove("confirmations");
    assert!(serde_json::from_value::<Results>(old)
        .unwrap()
        .confirmations
        .is_empty());

    let run = crate::report::Run {
        dir: "/tmp/x".into(),
        results: r,
        meta: None,
    };
    let report = crate::report::model::Report::of(&run);
    let md = crate::report::markdown::render(&report);
    assert!(md.contains("## Verdicts checked"), "{md}");
    assert!(
        md.contains("7 confirmed, 1 unconfirmed (thread c=1"),
        "{md}"
    );
    assert!(md.contains("[unconfirmed](confirm/x/report.md)"), "{md}");
    // The why column gives the reason without repeating the figures beside it.
    assert!(md.contains("| as predicted |"), "{md}");
    let html = crate::report::html::render(&report).unwrap();
    assert!(html.contains("Verdicts checked") && html.contains("unconfirmed"));
    let terminal = crate::report::terminal::summary(&run);
    assert!(
        terminal.contains("Verdicts checked (--confirm)"),
        "{terminal}"
    );
}
