//! Tests of the load tool settings (issue 14): `tool`, open-loop `rate` and `duration`,
//! each mistake reported on one line at its field.

use super::*;

const RES: &str = "{ cpus: 1, memory: 64m }";

/// 1-based column of `needle` on 1-based `line` of `text`.
fn col(text: &str, line: usize, needle: &str) -> usize {
    let l = text.lines().nth(line - 1).expect("line");
    l.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not on line {line}: {l}"))
        + 1
}

#[test]
fn ab_is_the_default_tool_and_oha_gets_its_own_image() {
    let lab = ok(&simple(RES, "{ requests: 10, concurrency: 2 }"));
    assert_eq!(lab.loadgen.tool, crate::record::Tool::Ab);
    assert_eq!(lab.loadgen.image, DEFAULT_LOADGEN_IMAGE);
    assert!(lab.loadgen.rate.is_empty());
    let lab = ok(&simple(RES, "{ tool: oha, requests: 10, concurrency: 2 }"));
    assert_eq!(lab.loadgen.tool, crate::record::Tool::Oha);
    assert_eq!(lab.loadgen.image, DEFAULT_OHA_IMAGE);
    // Any image with oha on its PATH can be named instead.
    let lab = ok(&simple(
        RES,
        "{ tool: oha, image: ghcr.io/hatoo/oha:1.16.0, requests: 10, concurrency: 2 }",
    ));
    assert_eq!(lab.loadgen.image, "ghcr.io/hatoo/oha:1.16.0");
}

#[test]
fn open_loop_rates_and_duration_make_one_point_per_rate_ascending() {
    let lab = ok(&simple(
        RES,
        "{ tool: oha, rate: [2000, 50%, 25%, 500], duration: 10s, concurrency: 20 }",
    ));
    assert_eq!(lab.loadgen.duration_s, Some(10.0));
    assert_eq!(lab.loadgen.requests, 0);
    let plan = Plan::new(&lab);
    let rates: Vec<String> = plan.groups[0]
        .points
        .iter()
        .map(|p| p.rate.unwrap().to_string())
        .collect();
    // Percentages first (they resolve per server), then absolute rates, each ascending.
    assert_eq!(rates, ["25%", "50%", "500", "2000"]);
    assert_eq!(plan.cell_count(), 8);
    // Absolute rates count in the estimate (500 + 2000 req/s × 10 s × 2 servers + warm-ups).
    assert_eq!(plan.estimated_requests(&lab), 50_000 + 2 * DEFAULT_WARMUP);
    let text = describe(&lab, &plan);
    assert!(text.contains("loadgen: oha in lab/oha:"), "{text}");
    assert!(
        text.contains("offered rates [25%, 50%, 500, 2000]"),
        "{text}"
    );
    // The record keeps the rates as written, and reads them back.
    let json = serde_json::to_value(&lab).unwrap();
    assert_eq!(
        json["loadgen"]["rate"],
        serde_json::json!([2000, "50%", "25%", 500])
    );
    let back: Lab = serde_json::from_value(json).unwrap();
    assert_eq!(back.loadgen.rate, lab.loadgen.rate);
}

#[test]
fn a_closed_loop_oha_cell_may_run_for_a_time() {
    let lab = ok(&simple(RES, "{ tool: oha, duration: 5s, concurrency: 20 }"));
    assert_eq!(
        (lab.loadgen.requests, lab.loadgen.duration_s),
        (0, Some(5.0))
    );
    assert!(lab.loadgen.rate.is_empty());
}

#[test]
fn a_rate_with_ab_is_refused_at_the_rate() {
    let text = simple(RES, "{ rate: [100], duration: 5s, concurrency: 2 }");
    let e = err(&text);
    assert_err(
        &e,
        6,
        col(&text, 6, "rate"),
        "loadgen.rate",
        "ab sends in a closed loop",
    );
    assert!(e.message.contains("tool: oha"), "{e}");
}

#[test]
fn ab_runs_for_a_time_and_no_amount_means_the_policy() {
    let lab = ok(&simple(RES, "{ duration: 5s, concurrency: 2 }"));
    assert_eq!(
        (lab.loadgen.requests, lab.loadgen.duration_s),
        (0, Some(5.0))
    );
    assert!(!lab.loadgen.sized_by_policy());
    let lab = ok(&simple(RES, "{ concurrency: 2 }"));
    assert!(lab.loadgen.sized_by_policy());
    assert_eq!(lab.loadgen.min_periods, 20);
    let lab = ok(&simple(RES, "{ concurrency: 2, min_periods: 50 }"));
    assert_eq!(lab.loadgen.min_periods, 50);
    let text = simple(RES, "{ concurrency: 2, min_periods: 0 }");
    assert_err(
        &err(&text),
        6,
        col(&text, 6, "0 }"),
        "loadgen.min_periods",
        "out of range",
    );
}

#[test]
fn the_cpu_period_is_docker_s_range_and_top_level_only() {
    let lab = ok(&simple(
        "{ cpus: 0.5, memory: 64m, cpu_period: 10ms }",
        "{ concurrency: 2 }",
    ));
    assert_eq!(lab.resources.cpu_period_s, Some(0.01));
    assert_eq!(lab.resources.period_s(), 0.01);
    let text = simple(
        "{ cpus: 0.5, memory: 64m, cpu_period: 2s }",
        "{ concurrency: 2 }",
    );
    assert_err(
        &err(&text),
        5,
        col(&text, 5, "2s"),
        "resources.cpu_period",
        "1ms..=1s",
    );
}

#[test]
fn open_loop_needs_a_duration_and_no_request_count() {
    let text = simple(RES, "{ tool: oha, rate: 100, concurrency: 2 }");
    assert_err(
        &err(&text),
        6,
        col(&text, 6, "rate"),
        "loadgen.rate",
        "add `duration`",
    );
    let text = simple(
        RES,
        "{ tool: oha, requests: 10, rate: 100, duration: 2s, concurrency: 2 }",
    );
    assert_err(
        &err(&text),
        6,
        col(&text, 6, "requests"),
        "loadgen.requests",
        "remove `requests`",
    );
}

#[test]
fn requests_and_duration_are_not_both_given() {
    let text = simple(
        RES,
        "{ tool: oha, requests: 10, duration: 2s, concurrency: 2 }",
    );
    assert_err(
        &err(&text),
        6,
        col(&text, 6, "duration"),
        "loadgen.duration",
        "not both",
    );
}

#[test]
fn bad_rates_are_pointed_at() {
    let text = simple(
        RES,
        "{ tool: oha, rate: [50%, 0, 5000%], duration: 2s, concurrency: 2 }",
    );
    assert_err(
        &err(&text),
        6,
        col(&text, 6, "0,"),
        "loadgen.rate[1]",
        "a rate of 0 sends nothing",
    );
    let text = simple(
        RES,
        "{ tool: oha, rate: [50%, 5000%], duration: 2s, concurrency: 2 }",
    );
    assert_err(
        &err(&text),
        6,
        col(&text, 6, "5000%"),
        "loadgen.rate[1]",
        "more than 1000%",
    );
    let text = simple(
        RES,
        "{ tool: oha, rate: [50%, 50%], duration: 2s, concurrency: 2 }",
    );
    assert_err(
        &err(&text),
        6,
        col(&text, 6, "50%]"),
        "loadgen.rate[1]",
        "listed twice",
    );
    // Type errors come from serde, with the same shape.
    let text = simple(
        RES,
        "{ tool: oha, rate: [fast], duration: 2s, concurrency: 2 }",
    );
    let e = err(&text);
    assert_eq!((e.line, e.path.as_str()), (6, "loadgen.rate[0]"), "{e}");
    assert!(e.message.contains("`fast` is not a rate"), "{e}");
    let text = simple(
        RES,
        "{ tool: oha, rate: 12.5, duration: 2s, concurrency: 2 }",
    );
    assert!(err(&text)
        .message
        .contains("not a whole number of requests per second"));
}

#[test]
fn an_unknown_tool_and_a_short_duration_are_refused() {
    let text = simple(RES, "{ tool: wrk, requests: 10, concurrency: 2 }");
    let e = err(&text);
    assert_eq!((e.line, e.path.as_str()), (6, "loadgen.tool"), "{e}");
    assert!(
        e.message.contains("`ab`") && e.message.contains("`oha`"),
        "{e}"
    );
    let text = simple(RES, "{ tool: oha, duration: 500ms, concurrency: 2 }");
    assert_err(
        &err(&text),
        6,
        col(&text, 6, "500ms"),
        "loadgen.duration",
        "at least 1s",
    );
}

#[test]
fn the_open_loop_example_is_valid() {
    let text = include_str!("../../../../examples/open-loop.yaml");
    let lab = parse(text, "examples/open-loop.yaml", 2).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(lab.loadgen.tool, crate::record::Tool::Oha);
    assert_eq!(lab.loadgen.rate.len(), 5);
    assert!(lab.loadgen.rate.iter().all(|r| r.is_percent()));
    assert_eq!(Plan::new(&lab).cell_count(), 40);
}

#[test]
fn processes_are_a_number_or_auto_and_ab_s_alone() {
    let lab = ok(&simple(RES, "{ concurrency: 2, processes: auto }"));
    assert_eq!(lab.loadgen.processes, crate::config::Processes::Auto);
    let lab = ok(&simple(RES, "{ concurrency: 2 }"));
    assert_eq!(lab.loadgen.processes, crate::config::Processes::Count(1));
    let text = simple(RES, "{ concurrency: 2, processes: 0 }");
    assert_err(
        &err(&text),
        6,
        col(&text, 6, "0 }"),
        "loadgen.processes",
        "out of range",
    );
    let text = simple(
        RES,
        "{ tool: oha, duration: 5s, concurrency: 2, processes: 2 }",
    );
    assert_err(
        &err(&text),
        6,
        col(&text, 6, "2 }"),
        "loadgen.processes",
        "oha runs a thread per core",
    );
}
