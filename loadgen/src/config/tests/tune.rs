//! Tests of the `tune:` section (issue 15): its defaults, the grids it searches, and every
//! mistake pointed at by file, line, column and field.

use super::super::tune::{CpuRange, MemoryRange, TargetLoad};
use super::*;

/// A valid two-server file (workload `hello`, requests 100) with `tune` appended.
fn with_tune(tune: &str) -> String {
    format!(
        "{}tune:\n{tune}\n",
        simple(
            "{ cpus: 1, memory: 64m }",
            "{ requests: 100, concurrency: 10 }"
        )
    )
}

const TARGET: &str = "  targets:\n    - { workload: hello, rps: 500, concurrency: 10 }\n";

#[test]
fn a_minimal_section_gets_its_defaults() {
    let lab = ok(&with_tune(&format!(
        "{TARGET}  cpus: {{ min: 0.1, max: 1 }}"
    )));
    let tune = lab.tune.expect("tune is read");
    assert_eq!(tune.targets.len(), 1);
    let t = &tune.targets[0];
    assert_eq!(
        (t.workload.as_str(), t.rps, t.load, t.keepalive),
        (
            "hello",
            500.0,
            TargetLoad::Closed { concurrency: 10 },
            false
        )
    );
    assert_eq!((t.p99_ms, t.errors, t.requests), (None, 0.0, 100));
    let cpus = tune.cpus.unwrap();
    assert_eq!((cpus.min, cpus.max, cpus.resolution), (0.1, 1.0, 0.05));
    assert_eq!(tune.memory, None);
    assert_eq!(tune.headroom, 0.2);
    assert_eq!(tune.budget.probes, 80);
}

#[test]
fn every_field_is_read() {
    let lab = ok(&with_tune(
        "  targets:\n    - { workload: hello, rps: 250.5, concurrency: 20, keepalive: true, p99: 50ms, errors: 1%, requests: 5000 }\n  cpus: { min: 0.05, max: 2, resolution: 0.1 }\n  memory: { min: 8m, max: 64m, resolution: 4m }\n  headroom: 50%\n  budget: { probes: 12, time: 2m }",
    ));
    let tune = lab.tune.unwrap();
    let t = &tune.targets[0];
    assert_eq!(
        (t.rps, t.keepalive, t.p99_ms, t.errors),
        (250.5, true, Some(50.0), 0.01)
    );
    assert_eq!(
        tune.memory,
        Some(MemoryRange {
            min: 8 * MIB,
            max: 64 * MIB,
            resolution: 4 * MIB
        })
    );
    assert_eq!(
        (tune.headroom, tune.budget.probes, tune.budget.time_s),
        (0.5, 12, 120.0)
    );
}

#[test]
fn lab_files_without_the_section_have_none() {
    assert!(ok(DEFAULT_LAB).tune.is_none());
}

#[test]
fn grids_end_at_max_and_print_cleanly() {
    let g = CpuRange {
        min: 0.1,
        max: 0.5,
        resolution: 0.05,
    }
    .grid();
    assert_eq!(g, vec![0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]);
    // A max off the resolution is still the last value.
    let g = CpuRange {
        min: 0.05,
        max: 0.33,
        resolution: 0.1,
    }
    .grid();
    assert_eq!(g, vec![0.05, 0.15, 0.25, 0.33]);
    let g = MemoryRange {
        min: 8 * MIB,
        max: 30 * MIB,
        resolution: 8 * MIB,
    }
    .grid();
    assert_eq!(g, vec![8 * MIB, 16 * MIB, 24 * MIB, 30 * MIB]);
}

#[test]
fn mistakes_are_located() {
    // Line 9 is `tune:`; the target list starts on line 11.
    let e = err(&with_tune(
        "  targets:\n    - { workload: nope, rps: 500, concurrency: 10 }\n  cpus: { min: 0.1, max: 1 }",
    ));
    assert_err(
        &e,
        11,
        19,
        "tune.targets[0].workload",
        "not a workload of this file; use one of: hello",
    );

    let e = err(&with_tune(&format!(
        "{TARGET}  cpus: {{ min: 0.5, max: 0.5 }}"
    )));
    assert_err(&e, 12, 26, "tune.cpus.max", "the range is empty");

    let e = err(&with_tune(&format!(
        "{TARGET}  cpus: {{ min: 0.1, max: 8 }}"
    )));
    assert_err(&e, 12, 26, "tune.cpus.max", "more than the 4 CPUs");

    let e = err(&with_tune(&format!(
        "{TARGET}  memory: {{ min: 2m, max: 64m }}"
    )));
    assert_err(&e, 12, 18, "tune.memory.min", "less than 6m");

    let e = err(&with_tune(TARGET));
    assert_err(&e, 10, 3, "tune", "nothing to search");

    let e = err(&with_tune(
        "  targets:\n    - { workload: hello, rps: 500, concurrency: 1000 }\n  cpus: { min: 0.1, max: 1 }",
    ));
    assert_err(
        &e,
        11,
        49,
        "tune.targets[0].concurrency",
        "more than the probes' requests (100)",
    );

    let e = err(&with_tune(
        "  targets:\n    - { workload: hello, concurrency: 10 }\n  cpus: { min: 0.1, max: 1 }",
    ));
    assert_err(&e, 11, 7, "tune.targets[0]", "missing `rps`");

    let e = err(&with_tune(&format!(
        "{TARGET}  cpus: {{ min: 0.1, max: 1 }}\n  budget: {{ probes: 0 }}"
    )));
    assert_err(&e, 13, 21, "tune.budget.probes", "out of range");

    let e = err(&with_tune(&format!(
        "{TARGET}  cpus: {{ min: 0.1, max: 1, step: 0.1 }}"
    )));
    assert_err(&e, 12, 29, "tune.cpus", "unknown field `step`");
}

#[test]
fn an_open_loop_rate_needs_oha() {
    let e = err(&with_tune(
        "  targets:\n    - { workload: hello, rate: 500, connections: 10 }\n  cpus: { min: 0.1, max: 1 }",
    ));
    assert_err(
        &e,
        11,
        32,
        "tune.targets[0].rate",
        "an open-loop target needs oha",
    );
}

/// A valid oha file (open-loop `rate` with `duration`) with `tune` appended.
fn oha_with_tune(tune: &str) -> String {
    format!(
        "{}tune:\n{tune}\n",
        simple(
            "{ cpus: 1, memory: 64m }",
            "{ tool: oha, rate: [500], duration: 5s, concurrency: 10 }"
        )
    )
}

#[test]
fn an_open_loop_target_is_a_rate_over_connections() {
    let lab = ok(&oha_with_tune(
        "  targets:\n    - { workload: hello, rate: 600, connections: 16, p99: 60ms }\n  cpus: { min: 0.1, max: 1 }",
    ));
    let t = &lab.tune.unwrap().targets[0];
    assert_eq!(
        t.load,
        TargetLoad::Open {
            rate: 600,
            connections: 16
        }
    );
    // The rate is the req/s to achieve; probes run for a time, not a count.
    assert_eq!((t.rps, t.requests, t.load.concurrency()), (600.0, 0, 16));
    assert_eq!(
        t.describe(),
        "hello: 600 req/s offered over 16 connections, achieved within 5%, p99 ≤ 60 ms, no errors"
    );
    // `concurrency` is read as the connections' other name.
    let lab = ok(&oha_with_tune(
        "  targets:\n    - { workload: hello, rate: 600, concurrency: 8 }\n  cpus: { min: 0.1, max: 1 }",
    ));
    assert_eq!(lab.tune.unwrap().targets[0].load.concurrency(), 8);
    // Line 11 holds the target.
    for (target, field, message) in [
        (
            "{ workload: hello, rate: 600 }",
            "tune.targets[0]",
            "missing `connections`",
        ),
        (
            "{ workload: hello, rate: 600, rps: 600, connections: 4 }",
            "tune.targets[0].rps",
            "not both",
        ),
        (
            "{ workload: hello, rate: fast, connections: 4 }",
            "tune.targets[0].rate",
            "not a rate",
        ),
    ] {
        let e = err(&oha_with_tune(&format!(
            "  targets:\n    - {target}\n  cpus: {{ min: 0.1, max: 1 }}"
        )));
        assert!(
            e.path == field && e.message.contains(message) && e.line == 11,
            "{target}: {e:?}"
        );
    }
}

#[test]
fn errors_take_zero_or_a_percentage() {
    let e = err(&with_tune(
        "  targets:\n    - { workload: hello, rps: 5, concurrency: 1, errors: 2 }\n  cpus: { min: 0.1, max: 1 }",
    ));
    assert_err(&e, 11, 58, "tune.targets[0].errors", "write 2%");
}

#[test]
fn answers_are_confirmed_for_60_s_in_95_percent_of_seconds_unless_told_otherwise() {
    let cpus = "  cpus: { min: 0.1, max: 1 }";
    let tune = ok(&with_tune(&format!("{TARGET}{cpus}"))).tune.unwrap();
    assert_eq!((tune.confirm_s, tune.hold), (Some(60.0), 0.95));
    let tune = ok(&with_tune(&format!(
        "{TARGET}{cpus}\n  confirm: 20s\n  hold: 90%"
    )))
    .tune
    .unwrap();
    assert_eq!((tune.confirm_s, tune.hold), (Some(20.0), 0.9));
    for off in ["off", "false"] {
        let tune = ok(&with_tune(&format!("{TARGET}{cpus}\n  confirm: {off}")))
            .tune
            .unwrap();
        assert_eq!(tune.confirm_s, None, "{off}");
    }
    // Line 13 is the line after `cpus:`.
    let e = err(&with_tune(&format!("{TARGET}{cpus}\n  confirm: 2s")));
    assert_err(
        &e,
        13,
        12,
        "tune.confirm",
        "2 s is out of range; use 3s to 30m",
    );
    let e = err(&with_tune(&format!("{TARGET}{cpus}\n  confirm: 60")));
    assert_err(&e, 13, 12, "tune.confirm", "60 has no unit; write 60s");
    let e = err(&with_tune(&format!("{TARGET}{cpus}\n  hold: 40%")));
    assert_err(
        &e,
        13,
        9,
        "tune.hold",
        "40% is out of range; use 50% to 100%",
    );
    // An old tune.json (no confirmation fields) still reads: no confirmation, 95%.
    let mut json = serde_json::to_value(&tune).unwrap();
    let obj = json.as_object_mut().unwrap();
    obj.remove("confirm_s");
    obj.remove("hold");
    let old: super::super::tune::Tune = serde_json::from_value(json).unwrap();
    assert_eq!((old.confirm_s, old.hold), (None, 0.95));
}
