//! The judge's rules on recorded figures, without Docker: each verdict rule, and the
//! agreement between the verdict and the flags that share its name.

use super::evidence::sleep_ms;
use super::*;
use crate::record::{Cell, Flag, Tool};

/// A 1000-request no-keep-alive hello cell from the baseline on a 2-core machine:
/// ab pinned to its own core, the server at 1 CPU.
fn hello() -> Evidence {
    Evidence {
        concurrency: 100,
        time_taken_s: Some(0.080),
        rps: Some(12500.0),
        complete: 1000,
        bad: 0,
        connect_max_ms: Some(3.0),
        server_cpu_s: Some(0.032),
        server_cores: 1.0,
        server_throttled_share: Some(0.0),
        tool_cpu_s: Some(0.077),
        tool_wall_s: 0.080,
        tool_cores: 1.0,
        busiest_process_share: None,
        loadgen_throttled_share: Some(0.0),
        wait_ms: None,
        offered_rps: None,
        tool: None,
        tool_warned: false,
        short_cell_periods: None,
        not_steady: false,
    }
}

/// An open-loop oha cell at 1000 req/s on /sleep/10 over 50 connections: neither CPU
/// is busy.
fn open_loop(achieved: f64) -> Evidence {
    Evidence {
        concurrency: 50,
        time_taken_s: Some(10.0),
        rps: Some(achieved),
        complete: (achieved * 10.0) as u64,
        server_cpu_s: Some(2.0),
        tool_cpu_s: Some(1.0),
        tool_wall_s: 10.0,
        tool_cores: 1.0,
        wait_ms: Some(10.0),
        offered_rps: Some(1000.0),
        tool: Some(Tool::Oha),
        ..hello()
    }
}

#[test]
fn an_open_loop_cell_that_keeps_up_is_set_by_its_rate_not_littles_law() {
    // c 50 ÷ 10 ms = 5000 req/s by Little's law; the schedule sent 1000.
    let v = verdict::verdict(&open_loop(995.0));
    assert_eq!(v.limiter, Limiter::OfferedRate, "{v:?}");
    assert!(v
        .evidence
        .contains("offered 1000.0 req/s, achieved 995.0 (100%)"));
    assert!(v.evidence.contains("oha CPU"), "{}", v.evidence);
    let short = verdict::verdict(&open_loop(700.0));
    assert_eq!(short.limiter, Limiter::Undetermined);
    assert!(short.advice.unwrap().contains("connections"));
}

#[test]
fn ab_at_its_core_is_loadgen_bound_with_advice() {
    let v = verdict::verdict(&hello());
    assert_eq!(v.limiter, Limiter::Loadgen);
    assert!(
        v.evidence.contains("ab CPU 0.96 of 1 core (96%)"),
        "{}",
        v.evidence
    );
    assert!(
        v.evidence.contains("server CPU 0.40 of 1 core (40%)"),
        "{}",
        v.evidence
    );
    assert!(v.advice.unwrap().contains("keep-alive"));
    // ab under a 0.25-CPU quota that throttled it is loadgen-bound whatever its average.
    let f = Evidence {
        tool_cpu_s: Some(0.01),
        tool_cores: 0.25,
        loadgen_throttled_share: Some(0.8),
        ..hello()
    };
    assert_eq!(verdict::verdict(&f).limiter, Limiter::Loadgen);
}

#[test]
fn a_saturated_or_throttled_server_is_server_cpu() {
    let f = Evidence {
        server_cpu_s: Some(0.016),
        server_cores: 0.2,
        ..hello()
    };
    assert_eq!(verdict::verdict(&f).limiter, Limiter::ServerCpu);
    let f = Evidence {
        server_cpu_s: Some(0.001),
        server_throttled_share: Some(0.5),
        ..hello()
    };
    let v = verdict::verdict(&f);
    assert_eq!(v.limiter, Limiter::ServerCpu);
    assert!(v.evidence.contains("throttled 50%"));
    assert!(v.advice.is_none());
}

#[test]
fn errors_and_connect_retries_come_first() {
    let f = Evidence { bad: 10, ..hello() };
    assert_eq!(verdict::verdict(&f).limiter, Limiter::Errors);
    let f = Evidence { bad: 9, ..hello() };
    assert_eq!(
        verdict::verdict(&f).limiter,
        Limiter::Loadgen,
        "under 1% is not the story"
    );
    let f = Evidence {
        connect_max_ms: Some(1003.0),
        server_throttled_share: Some(0.9),
        ..hello()
    };
    assert_eq!(verdict::verdict(&f).limiter, Limiter::ConnectQueue);
}

#[test]
fn a_sleep_route_obeys_littles_law() {
    // /sleep/200 at c=50: 250 req/s predicted.
    let f = Evidence {
        concurrency: 50,
        time_taken_s: Some(4.1),
        rps: Some(244.0),
        server_cpu_s: Some(0.05),
        tool_cpu_s: Some(0.04),
        wait_ms: sleep_ms("/sleep/200"),
        ..hello()
    };
    let v = verdict::verdict(&f);
    assert_eq!(v.limiter, Limiter::Workload);
    assert!(
        v.evidence.contains("250.0 req/s, measured 244.0 (-2.4%)"),
        "{}",
        v.evidence
    );
    // Far below the prediction: something else limits it, and nothing is saturated.
    let f = Evidence {
        rps: Some(150.0),
        ..f
    };
    assert_eq!(verdict::verdict(&f).limiter, Limiter::Undetermined);
}

#[test]
fn missing_figures_leave_it_undetermined() {
    let f = Evidence {
        server_cpu_s: None,
        tool_cpu_s: None,
        server_throttled_share: None,
        loadgen_throttled_share: None,
        ..hello()
    };
    let v = verdict::verdict(&f);
    assert_eq!(v.limiter, Limiter::Undetermined);
    assert!(v.evidence.contains("server CPU unknown"));
    // An unlimited ab is judged against one core: it is single-threaded.
    let f = Evidence {
        tool_cores: f64::INFINITY.min(1.0),
        ..hello()
    };
    assert_eq!(verdict::verdict(&f).limiter, Limiter::Loadgen);
}

#[test]
fn sleep_paths() {
    assert_eq!(sleep_ms("/sleep/100"), Some(100.0));
    assert_eq!(sleep_ms("/sleep/100?x=1"), Some(100.0));
    assert_eq!(sleep_ms("/sleep/0"), None);
    assert_eq!(sleep_ms("/cpu/100"), None);
}

#[test]
fn the_prevailing_verdict_is_the_most_common() {
    let v = |l| Verdict {
        limiter: l,
        evidence: String::new(),
        advice: None,
    };
    let all = [
        v(Limiter::Loadgen),
        v(Limiter::ServerCpu),
        v(Limiter::Loadgen),
    ];
    assert_eq!(prevailing(&all).unwrap().limiter, Limiter::Loadgen);
    let tie = [v(Limiter::Loadgen), v(Limiter::ServerCpu)];
    assert_eq!(prevailing(&tie).unwrap().limiter, Limiter::ServerCpu);
    assert!(prevailing(&[]).is_none());
}

/// Every combination of the figures the rules read, on and off either side of each
/// threshold.
fn grid() -> Vec<Evidence> {
    let mut all = Vec::new();
    for bad in [0, 5, 50] {
        for connect in [3.0, 1003.0] {
            for (server_cpu, server_thr) in [(0.032, 0.0), (0.078, 0.0), (0.001, 0.5)] {
                for (tool_cpu, lg_thr) in [(0.01, 0.0), (0.077, 0.0), (0.01, 0.8)] {
                    for offered in [None, Some(12500.0), Some(20000.0)] {
                        all.push(Evidence {
                            bad,
                            connect_max_ms: Some(connect),
                            server_cpu_s: Some(server_cpu),
                            server_throttled_share: Some(server_thr),
                            tool_cpu_s: Some(tool_cpu),
                            loadgen_throttled_share: Some(lg_thr),
                            offered_rps: offered,
                            ..hello()
                        });
                    }
                }
            }
        }
    }
    all
}

#[test]
fn every_verdict_carries_the_flag_that_names_it() {
    for e in grid() {
        let v = verdict::verdict(&e);
        let f = flags(Some(&e));
        if let Some(named) = flag_of(v.limiter) {
            assert!(f.contains(&named), "{} without {named}: {e:?}", v.limiter);
        }
        // The flag is the rule's own test: raised exactly when the evidence says so.
        assert_eq!(f.contains(&Flag::LoadgenBound), e.loadgen_bound(), "{e:?}");
        assert_eq!(f.contains(&Flag::ConnectRetries), e.connect_retries());
        if v.limiter == Limiter::OfferedRate {
            assert!(!f.contains(&Flag::RateShortfall), "{e:?}");
        }
    }
    assert!(flags(None) == [Flag::Failed]);
}

/// A measured ab cell of a real record (schema 1), read as `lab report` reads it.
fn recorded() -> Cell {
    let mut c: Cell = serde_json::from_str(include_str!("../tune/fixtures/cell.json")).unwrap();
    crate::record::upgrade::cell(&mut c);
    crate::tool::measure(&mut c);
    c
}

#[test]
fn an_unlimited_tool_is_judged_against_the_load_generator_host() {
    // oha without a CPU limit or set kept 7.5 cores busy over its run.
    let mut c = recorded();
    c.command[0] = "oha".into();
    c.limits.loadgen_cpus = None;
    c.limits.loadgen_cpuset = None;
    if let Some(lg) = c.loadgen_resources.as_mut() {
        lg.periods = 0;
    }
    let usage = c.tool_usage.as_mut().unwrap();
    usage.cpu_s = 7.5 * usage.wall_s;
    let bound = |host: Option<u32>| {
        let mut c = c.clone();
        c.limits.loadgen_host_cpus = host;
        judge(&mut c);
        c.flags.contains(&Flag::LoadgenBound)
    };
    assert!(bound(Some(8)), "7.5 of the host's 8 cores");
    assert!(!bound(Some(16)), "7.5 of 16 cores");
    // Not recorded: unknown, never the CPU count of the machine reading the record.
    assert!(!bound(None));
}

#[test]
fn one_saturated_process_of_several_makes_the_cell_loadgen_bound() {
    // Two ab processes on a 2-CPU load generator: one at 97% of its core, the other at
    // 30%. Together they used 64% of the two cores, but the busy one held its connections.
    let mut c = recorded();
    c.limits.loadgen_cpus = Some(2.0);
    c.limits.loadgen_cpuset = None;
    if let Some(lg) = c.loadgen_resources.as_mut() {
        lg.periods = 0;
    }
    let wall = c.tool_usage.as_ref().unwrap().wall_s;
    let process = |share: f64| crate::record::ProcessRun {
        usage: Some(crate::record::ToolUsage {
            cpu_s: share * wall,
            wall_s: wall,
            ..Default::default()
        }),
        ..Default::default()
    };
    let bound = |shares: &[f64]| {
        let mut c = c.clone();
        c.processes = shares.iter().map(|s| process(*s)).collect();
        c.tool_usage.as_mut().unwrap().cpu_s = shares.iter().sum::<f64>() * wall;
        let e = Evidence::of(&c).unwrap();
        assert_eq!(e.tool_cores, shares.len() as f64, "one core per process");
        judge(&mut c);
        c.flags.contains(&Flag::LoadgenBound)
    };
    assert!(bound(&[0.97, 0.3]));
    assert!(!bound(&[0.6, 0.55]));
    assert!(bound(&[0.95, 0.95]));
}

#[test]
fn an_old_loadgen_verdict_gets_its_flag_when_read() {
    let mut c = recorded();
    c.verdict = Some(Verdict {
        limiter: Limiter::Loadgen,
        evidence: String::new(),
        advice: None,
    });
    c.flags = vec![Flag::Unstable, Flag::Errors];
    reconcile(&mut c);
    assert_eq!(c.flags, [Flag::Errors, Flag::LoadgenBound, Flag::Unstable]);
}

/// The findings' own records (read whole, as every report reads them): no cell says
/// `loadgen` without `loadgen-bound`.
#[test]
fn findings_read_with_every_flag_their_verdicts_rely_on() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/findings");
    let mut loadgen = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("results.json").is_file() {
            continue;
        }
        let r = load(&dir).unwrap();
        for c in r.cells.iter().filter(|c| {
            c.verdict
                .as_ref()
                .is_some_and(|v| v.limiter == Limiter::Loadgen)
        }) {
            assert!(c.flags.contains(&Flag::LoadgenBound), "{}", c.id);
            assert!(c.measurement().is_some(), "{}", c.id);
            loadgen += 1;
        }
    }
    assert!(
        loadgen > 0,
        "the findings hold loadgen-bound cells (io-wait, fidelity, ...)"
    );
}

#[test]
fn nothing_near_its_limit_is_the_concurrency_verdict_and_busy_is_undetermined() {
    // c = 1: the server at 30% of its core, ab at 35% of its own.
    let idle = Evidence {
        concurrency: 1,
        server_cpu_s: Some(0.024),
        tool_cpu_s: Some(0.028),
        ..hello()
    };
    let v = verdict::verdict(&idle);
    assert_eq!(v.limiter, Limiter::Concurrency, "{v:?}");
    assert!(
        v.evidence.starts_with("c = 1, nothing near its limit"),
        "{}",
        v.evidence
    );
    // ab at 75% of its core: at c = 1 that is what one connection's requests cost it (it
    // waits on the server the rest of the time); at c = 5 it may have shaped the number.
    let busy = Evidence {
        tool_cpu_s: Some(0.060),
        ..idle.clone()
    };
    assert_eq!(verdict::verdict(&busy).limiter, Limiter::Concurrency);
    let busy_five = Evidence {
        concurrency: 5,
        ..busy.clone()
    };
    assert_eq!(verdict::verdict(&busy_five).limiter, Limiter::Undetermined);
    // Saturated at c = 1 is still saturated.
    let ab_saturated = Evidence {
        tool_cpu_s: Some(0.078),
        ..idle.clone()
    };
    assert_eq!(verdict::verdict(&ab_saturated).limiter, Limiter::Loadgen);
    // Throttled in 30% of periods: the quota, not the round trips.
    let throttled = Evidence {
        server_throttled_share: Some(0.30),
        ..idle
    };
    assert_eq!(verdict::verdict(&throttled).limiter, Limiter::ServerCpu);
}

#[test]
fn a_short_or_unsteady_cell_is_flagged() {
    let short = Evidence {
        short_cell_periods: Some(3.0),
        not_steady: true,
        ..hello()
    };
    let f = flags(Some(&short));
    assert!(
        f.contains(&Flag::ShortCell) && f.contains(&Flag::NotSteady),
        "{f:?}"
    );
    let plain = flags(Some(&hello()));
    assert!(!plain.contains(&Flag::ShortCell) && !plain.contains(&Flag::NotSteady));
}
