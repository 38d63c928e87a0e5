//! Tests of the lab file: the default file, every kind of error (with its exact line,
//! column and path, because pointing at the right place is the point), and the plan.

use super::locate;
use super::units::{parse_cpuset, parse_duration_ms, parse_memory};
use super::*;

const MIB: u64 = 1024 * 1024;

/// The default experiment shipped at the workspace root.
const DEFAULT_LAB: &str = include_str!("../../../lab.yaml");

fn ok(text: &str) -> Lab {
    parse(text, "lab.yaml", 4).unwrap_or_else(|e| panic!("{e}"))
}

fn err_with(text: &str, host_cpus: usize) -> ConfigError {
    match parse(text, "lab.yaml", host_cpus) {
        Ok(lab) => panic!("expected an error, got {lab:?}"),
        Err(e) => e,
    }
}

fn err(text: &str) -> ConfigError {
    err_with(text, 4)
}

/// Asserts an error's position, path, and that its message mentions `needle`.
#[track_caller]
fn assert_err(e: &ConfigError, line: usize, column: usize, path: &str, needle: &str) {
    assert_eq!(
        (e.line, e.column, e.path.as_str()),
        (line, column, path),
        "wrong place: {e}"
    );
    assert!(e.message.contains(needle), "message lacks {needle:?}: {e}");
    assert!(!e.to_string().contains('\n'), "not one line: {e}");
}

/// A valid file whose servers, resources, loadgen and workloads sections are given.
fn lab_with(servers: &str, resources: &str, loadgen: &str, workloads: &str) -> String {
    format!(
        "name: t\nservers:\n{servers}\nresources: {resources}\nloadgen: {loadgen}\nworkloads:\n{workloads}\n"
    )
}

const TWO_SERVERS: &str =
    "  - { name: a, model: async, port: 45000 }\n  - { name: b, model: thread, port: 46000 }";
const ONE_WORKLOAD: &str = "  - { name: hello, path: / }";

fn simple(resources: &str, loadgen: &str) -> String {
    lab_with(TWO_SERVERS, resources, loadgen, ONE_WORKLOAD)
}

// ---------------------------------------------------------------- the default file

#[test]
fn default_lab_yaml_reproduces_the_baseline() {
    let lab = ok(DEFAULT_LAB);
    assert_eq!(lab.name, "baseline");
    assert_eq!(lab.output, PathBuf::from("results"));
    // repeat: auto for cells sized by the steady-state policy: 2 to 10 repetitions.
    assert_eq!(lab.repeat_auto, Some(AutoRepeat::timed()));
    assert_eq!(lab.repeat, 10);
    assert_eq!(lab.warmup, 1000);
    assert_eq!(lab.pin, Pin::Auto);

    assert_eq!(lab.servers.len(), 2);
    let (a, t) = (&lab.servers[0], &lab.servers[1]);
    assert_eq!(
        (a.name.as_str(), &a.source, a.port),
        ("async", &ServerSource::Model(Model::Async), 45000)
    );
    assert_eq!(
        (t.name.as_str(), &t.source, t.port),
        ("thread", &ServerSource::Model(Model::Thread), 46000)
    );
    for s in &lab.servers {
        assert!(s.args.is_empty() && s.env.is_empty());
        assert_eq!(
            (s.resources.cpus, s.resources.memory, s.resources.pids),
            (None, None, None)
        );
    }

    assert_eq!(lab.resources.cpus, vec![0.25]);
    assert_eq!(lab.resources.memory, vec![256 * MIB]);
    assert_eq!(lab.resources.pids, Some(4096));

    assert_eq!(lab.loadgen.image, DEFAULT_LOADGEN_IMAGE);
    assert_eq!(lab.loadgen.cpus, Some(1.0));
    // No `requests`: every cell covers 20 quota periods of 100 ms of steady load, 3 s.
    assert_eq!(lab.loadgen.requests, 0);
    assert!(lab.loadgen.sized_by_policy());
    assert_eq!(lab.loadgen.min_periods, 20);
    assert_eq!(super::length::cell_seconds(&lab, "/"), Some(3.0));
    assert_eq!(
        lab.loadgen.concurrency,
        vec![1, 5, 10, 50, 100, 250, 500, 1000]
    );
    assert_eq!(lab.loadgen.keepalive, vec![false]);
    assert_eq!(lab.loadgen.timeout_s, 30);

    assert_eq!(lab.workloads.len(), 1);
    assert_eq!(
        (
            lab.workloads[0].name.as_str(),
            lab.workloads[0].path.as_str()
        ),
        ("hello", "/")
    );
}

#[test]
fn default_plan_is_two_models_at_eight_concurrency_levels() {
    let lab = ok(DEFAULT_LAB);
    let plan = Plan::new(&lab);
    assert_eq!(plan.groups.len(), 1);
    assert_eq!(plan.groups[0].label, "cpus=0.25 memory=256m");
    assert_eq!(plan.groups[0].points.len(), 8);
    // 16 cells, each repeated up to 10 times by `repeat: auto`.
    assert_eq!(plan.cell_count(), 16 * 10);
    assert_eq!(plan.cells().len(), 16 * 10);
    // Up to 160 runs of 3 s.
    assert_eq!(plan.load_seconds(&lab), 480.0);
    let text = describe(&lab, &plan);
    for needle in [
        "baseline",
        "async",
        "thread",
        "45000",
        "46000",
        "cpus=0.25 memory=256m",
        "up to 160 cells, up to 480 s of load",
        "runs of 3s (the steady-state policy: 20 CPU-quota periods of 100 ms",
        "repeat: auto, until the 95% interval of the median req/s is within ±5%",
        "pin: auto",
    ] {
        assert!(text.contains(needle), "describe lacks {needle:?}:\n{text}");
    }
}

#[test]
fn the_commented_examples_in_the_default_file_are_valid() {
    // Uncomment every example line of lab.yaml that is a list item: they must parse too.
    let uncommented: String = DEFAULT_LAB
        .lines()
        .map(|l| match l.strip_prefix("  # - ") {
            Some(rest) => format!("  - {rest}\n"),
            None => format!("{l}\n"),
        })
        .collect();
    let lab = ok(&uncommented);
    assert_eq!(lab.servers.len(), 5);
    assert_eq!(lab.workloads.len(), 4);
    let nginx = lab.servers.iter().find(|s| s.name == "nginx").unwrap();
    assert_eq!(nginx.source, ServerSource::Image("nginx:stable".into()));
    assert_eq!(nginx.resources.memory, Some(64 * MIB));
    let small = lab
        .servers
        .iter()
        .find(|s| s.name == "thread-small")
        .unwrap();
    assert_eq!(small.args, vec!["--stack-size", "64k"]);
    assert_eq!(
        small.env.get("RUST_LOG").map(|v| v.value.as_str()),
        Some("warn")
    );
}

#[test]
fn defaults_fill_in_optional_fields() {
    let lab = ok(&simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
    ));
    assert_eq!(lab.output, PathBuf::from(DEFAULT_OUTPUT));
    assert_eq!(
        (lab.repeat, lab.warmup, &lab.pin),
        (1, DEFAULT_WARMUP, &Pin::Auto)
    );
    assert_eq!(lab.resources.pids, None);
    assert_eq!(lab.loadgen.image, "httpd:2.4");
    assert_eq!(lab.loadgen.cpus, None);
    assert_eq!(lab.loadgen.keepalive, vec![false]);
    assert_eq!(lab.loadgen.timeout_s, DEFAULT_TIMEOUT_S);
}

// ---------------------------------------------------------------- type errors (from serde)

#[test]
fn unknown_top_level_field_points_at_the_key() {
    let text = "name: t\nrepaet: 3\n";
    let e = err(text);
    assert_err(
        &e,
        2,
        1,
        "(top level)",
        "unknown field `repaet`, expected one of `name`, `output`",
    );
}

#[test]
fn unknown_field_in_a_flow_mapping_names_the_server() {
    let text = lab_with(
        "  - { name: a, model: async, port: 1 }\n  - { name: b, model: thread, prot: 2 }",
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
        ONE_WORKLOAD,
    );
    let e = err(&text);
    // line 4 is the second server; `prot` starts at column 31.
    assert_err(&e, 4, 31, "servers[1]", "unknown field `prot`, expected one of `name`, `model`, `image`, `port`, `args`, `env`, `hardening`, `resources`");
    assert_eq!(
        e.to_string(),
        "lab.yaml:4:31: servers[1]: unknown field `prot`, expected one of `name`, `model`, `image`, `port`, `args`, `env`, `hardening`, `resources`"
    );
}

#[test]
fn unknown_field_in_a_nested_block_mapping() {
    let text = "name: t\nloadgen:\n  requests: 10\n  keepalve: true\n";
    assert_err(&err(text), 4, 3, "loadgen", "unknown field `keepalve`");
}

#[test]
fn wrong_type_names_field_and_plain_expectation() {
    let text = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: many, concurrency: 2 }",
    );
    // line 6: `loadgen: { requests: many, ...`, `many` at column 22.
    assert_err(
        &err(&text),
        6,
        22,
        "loadgen.requests",
        "invalid type: string \"many\", expected a whole number",
    );

    let text = simple(
        "{ cpus: one, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
    );
    assert_err(
        &err(&text),
        5,
        20,
        "resources.cpus",
        "invalid type: string \"one\", expected a number",
    );

    let text = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2, keepalive: yes }",
    );
    assert_err(
        &err(&text),
        6,
        53,
        "loadgen.keepalive",
        "expected a boolean",
    );
}

#[test]
fn wrong_type_inside_a_list_names_the_element() {
    let text = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: [1, x] }",
    );
    assert_err(
        &err(&text),
        6,
        43,
        "loadgen.concurrency[1]",
        "invalid type: string \"x\"",
    );
}

#[test]
fn missing_field_points_at_the_mapping() {
    let text = lab_with(
        "  - { name: a, model: async }",
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
        ONE_WORKLOAD,
    );
    assert_err(&err(&text), 3, 5, "servers[0]", "missing field `port`");
}

#[test]
fn port_out_of_range_and_unknown_model() {
    let text = lab_with(
        "  - { name: a, model: async, port: 70000 }",
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
        ONE_WORKLOAD,
    );
    assert_err(&err(&text), 3, 36, "servers[0].port", "70000");
    let text = lab_with(
        "  - { name: a, model: asinc, port: 1 }",
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
        ONE_WORKLOAD,
    );
    assert_err(
        &err(&text),
        3,
        23,
        "servers[0].model",
        "unknown variant `asinc`, expected `async` or `thread`",
    );
}

#[test]
fn bad_size_is_explained() {
    let text = simple(
        "{ cpus: 1, memory: 12x }",
        "{ requests: 10, concurrency: 2 }",
    );
    let e = err(&text);
    assert_err(
        &e,
        5,
        31,
        "resources.memory",
        "`12x` is not a size; use bytes or a number with k, m, g (e.g. 256m)",
    );
    assert_eq!(
        e.to_string(),
        "lab.yaml:5:31: resources.memory: `12x` is not a size; use bytes or a number with k, m, g (e.g. 256m)"
    );
}

#[test]
fn too_little_memory_is_refused() {
    let text = simple(
        "{ cpus: 1, memory: [64m, 4m] }",
        "{ requests: 10, concurrency: 2 }",
    );
    assert_err(
        &err(&text),
        5,
        37,
        "resources.memory[1]",
        "4m is less than 6m",
    );
}

#[test]
fn bad_duration_is_explained() {
    let text = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2, timeout: 3x }",
    );
    assert_err(
        &err(&text),
        6,
        51,
        "loadgen.timeout",
        "`3x` is not a duration; use a number with ms, s, m or h",
    );
    let text = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2, timeout: 0s }",
    );
    assert_err(&err(&text), 6, 51, "loadgen.timeout", "at least 1s");
}

#[test]
fn bad_pin_word_and_unknown_pin_field() {
    let base = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
    );
    let text = format!("pin: sometimes\n{base}");
    assert_err(&err(&text), 1, 6, "pin", "`sometimes` is not a pin mode");
    let text = format!("pin: {{ servers: \"0\", loadgen: \"1\", other: \"2\" }}\n{base}");
    assert_err(
        &err(&text),
        1,
        36,
        "pin",
        "unknown field `other`, expected `servers` or `loadgen`",
    );
}

// ---------------------------------------------------------------- semantic errors (located)

#[test]
fn concurrency_above_requests_points_at_the_list_element() {
    let text = "name: t\nservers:\n  - { name: a, model: async, port: 1 }\nresources: { cpus: 1, memory: 64m }\nloadgen:\n  requests: 1000\n  concurrency: [1, 5, 10, 2000]\nworkloads:\n  - { name: h, path: / }\n";
    let e = err(text);
    assert_err(&e, 7, 27, "loadgen.concurrency[3]", "");
    assert_eq!(
        e.to_string(),
        "lab.yaml:7:27: loadgen.concurrency[3]: 2000 is more than loadgen.requests (1000); concurrency must be <= requests"
    );
}

#[test]
fn concurrency_in_block_list_style() {
    let text = "name: t\nservers:\n  - { name: a, model: async, port: 1 }\nresources: { cpus: 1, memory: 64m }\nloadgen:\n  requests: 10\n  concurrency:\n    - 1\n    - 20\nworkloads:\n  - { name: h, path: / }\n";
    assert_err(
        &err(text),
        9,
        7,
        "loadgen.concurrency[1]",
        "20 is more than loadgen.requests (10)",
    );
}

#[test]
fn single_concurrency_above_requests_has_no_index() {
    let text = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 50 }",
    );
    assert_err(
        &err(&text),
        6,
        39,
        "loadgen.concurrency",
        "50 is more than loadgen.requests (10)",
    );
}

#[test]
fn concurrency_out_of_ab_range_and_duplicates() {
    let text = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 100000, concurrency: [0, 5] }",
    );
    assert_err(&err(&text), 6, 44, "loadgen.concurrency[0]", "1..=20000");
    let text = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 100000, concurrency: [5, 30000] }",
    );
    assert_err(&err(&text), 6, 47, "loadgen.concurrency[1]", "1..=20000");
    let text = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 100, concurrency: [5, 10, 5] }",
    );
    assert_err(
        &err(&text),
        6,
        48,
        "loadgen.concurrency[2]",
        "listed twice (also at loadgen.concurrency[0])",
    );
    let text = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 100, concurrency: [] }",
    );
    assert_err(
        &err(&text),
        6,
        40,
        "loadgen.concurrency",
        "the list is empty",
    );
    let text = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 0, concurrency: 1 }",
    );
    assert_err(&err(&text), 6, 22, "loadgen.requests", "at least 1");
}

#[test]
fn cpus_above_the_host_are_refused_where_they_are() {
    let text = simple(
        "{ cpus: [1, 8], memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
    );
    assert_err(
        &err_with(&text, 4),
        5,
        24,
        "resources.cpus[1]",
        "8 is more than the 4 CPUs of this host",
    );
    let text = simple(
        "{ cpus: 2, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
    );
    assert_err(
        &err_with(&text, 1),
        5,
        20,
        "resources.cpus",
        "2 is more than the 1 CPU of this host",
    );
    let text = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2, cpus: 5 }",
    );
    assert_err(
        &err_with(&text, 4),
        6,
        48,
        "loadgen.cpus",
        "more than the 4 CPUs",
    );
    let text = simple(
        "{ cpus: 0, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
    );
    assert_err(&err(&text), 5, 20, "resources.cpus", "use a number > 0");
    let text = lab_with(
        "  - { name: a, model: async, port: 1, resources: { cpus: 6 } }",
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
        ONE_WORKLOAD,
    );
    assert_err(
        &err(&text),
        3,
        58,
        "servers[0].resources.cpus",
        "more than the 4 CPUs",
    );
}

#[test]
fn duplicate_server_name_points_at_the_second() {
    let text = lab_with(
        "  - { name: a, model: async, port: 1 }\n  - { name: a, model: thread, port: 2 }",
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
        ONE_WORKLOAD,
    );
    assert_err(
        &err(&text),
        4,
        13,
        "servers[1].name",
        "`a` is already the name of servers[0]",
    );
}

#[test]
fn model_and_image_together_or_neither() {
    let text = lab_with(
        "  - name: a\n    model: async\n    image: nginx\n    port: 80",
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
        ONE_WORKLOAD,
    );
    assert_err(&err(&text), 5, 5, "servers[0].image", "either `model`");
    let text = lab_with(
        "  - { name: a, model: async, port: 1 }\n  - { name: b, port: 80 }",
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
        ONE_WORKLOAD,
    );
    assert_err(
        &err(&text),
        4,
        5,
        "servers[1]",
        "missing `model` (async or thread) or `image`",
    );
}

#[test]
fn empty_servers_and_empty_workloads() {
    let text = lab_with(
        "  []",
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
        ONE_WORKLOAD,
    );
    assert_err(&err(&text), 3, 3, "servers", "at least one server");
    let text = "name: t\nservers: []\nresources: { cpus: 1, memory: 64m }\nloadgen: { requests: 10, concurrency: 2 }\nworkloads: []\n";
    // Both are wrong: the first in the file is reported.
    assert_err(&err(text), 2, 10, "servers", "at least one server");
    let text = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
    )
    .replace(ONE_WORKLOAD, "  []");
    assert_err(&err(&text), 8, 3, "workloads", "at least one workload");
}

#[test]
fn workload_path_must_start_with_a_slash() {
    let text = lab_with(
        TWO_SERVERS,
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
        "  - { name: h, path: / }\n  - { name: s, path: sleep/10 }",
    );
    assert_err(
        &err(&text),
        9,
        22,
        "workloads[1].path",
        "`sleep/10` does not start with \"/\"",
    );
    let text = lab_with(
        TWO_SERVERS,
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
        "  - { name: h, path: / }\n  - { name: h, path: /x }",
    );
    assert_err(
        &err(&text),
        9,
        13,
        "workloads[1].name",
        "already the name of workloads[0]",
    );
}

#[test]
fn bad_names_are_refused() {
    let text = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
    )
    .replace("name: t", "name: \"my lab\"");
    assert_err(&err(&text), 1, 7, "name", "`my lab` contains ' '");
    let text = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
    )
    .replace("name: b,", "name: b.1,");
    assert_err(&err(&text), 4, 13, "servers[1].name", "[A-Za-z0-9_-]+");
}

#[test]
fn bad_cpusets() {
    let base = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
    );
    let text = format!("pin: {{ servers: \"0-x\", loadgen: \"3\" }}\n{base}");
    assert_err(&err(&text), 1, 17, "pin.servers", "`0-x` is not a cpuset");
    let text = format!("pin: {{ servers: \"0-1\", loadgen: 7 }}\n{base}");
    assert_err(
        &err(&text),
        1,
        33,
        "pin.loadgen",
        "`7` names CPU 7, but this host has 4 CPUs (0-3)",
    );
    let text = format!("pin: {{ servers: \"0-2\", loadgen: \"2\" }}\n{base}");
    assert_err(
        &err(&text),
        1,
        33,
        "pin.loadgen",
        "CPU 2 is in both pin.servers and pin.loadgen",
    );
    let text = format!("pin:\n  servers: \"2-1\"\n  loadgen: \"3\"\n{base}");
    assert_err(&err(&text), 2, 12, "pin.servers", "runs backwards");
}

#[test]
fn cpus_limit_must_fit_the_pinned_cpuset() {
    let base = simple(
        "{ cpus: [1, 2], memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
    );
    let text = format!("pin: {{ servers: \"0\", loadgen: \"1-3\" }}\n{base}");
    assert_err(
        &err(&text),
        6,
        24,
        "resources.cpus[1]",
        "more than the 1 CPU that pin.servers allows",
    );
}

#[test]
fn override_must_be_a_single_value() {
    let text = lab_with(
        "  - name: a\n    model: async\n    port: 1\n    resources: { memory: [64m, 128m] }",
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
        ONE_WORKLOAD,
    );
    assert_err(
        &err(&text),
        6,
        26,
        "servers[0].resources.memory",
        "single value",
    );
}

#[test]
fn the_first_error_in_file_order_is_reported() {
    // workloads (line 8) is checked in code before nothing else, servers (line 4) after
    // resources: the one nearer the top wins regardless.
    let text = lab_with(
        "  - { name: a, model: async, port: 1 }\n  - { name: a, model: thread, port: 2 }",
        "{ cpus: 9, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
        "  - { name: h, path: x }",
    );
    assert_err(&err(&text), 4, 13, "servers[1].name", "already the name");
}

#[test]
fn repeat_and_pids_ranges() {
    let base = simple(
        "{ cpus: 1, memory: 64m, pids: 0 }",
        "{ requests: 10, concurrency: 2 }",
    );
    assert_err(&err(&base), 5, 42, "resources.pids", "use a number >= 1");
    let base = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2 }",
    );
    let text = base.replace("name: t\n", "name: t\nrepeat: 101\n");
    assert_err(&err(&text), 2, 9, "repeat", "1..=100");
    let text = base.replace("name: t\n", "name: t\nwarmup: sometimes\n");
    assert_err(&err(&text), 2, 9, "warmup", "use a number, or `off`");
}

// ---------------------------------------------------------------- whole-file errors

#[test]
fn empty_and_non_mapping_files() {
    for text in ["", "\n\n", "# only a comment\n"] {
        assert_err(&err(text), 1, 1, "(top level)", "the file is empty");
    }
    assert_err(&err("- a\n- b\n"), 1, 1, "(top level)", "found a list");
    assert_err(
        &err("just words\n"),
        1,
        1,
        "(top level)",
        "found a single value",
    );
}

#[test]
fn missing_top_level_field() {
    let text = "name: t\nservers:\n  - { name: a, model: async, port: 1 }\n";
    assert_err(&err(text), 1, 1, "(top level)", "missing field `resources`");
}

#[test]
fn duplicate_key_points_at_the_second() {
    let text = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2, requests: 20 }",
    );
    assert_err(
        &err(&text),
        6,
        42,
        "loadgen.requests",
        "`requests` is given twice (first at line 6)",
    );
}

#[test]
fn second_document_is_refused() {
    let text = format!(
        "{}---\nname: other\n",
        simple(
            "{ cpus: 1, memory: 64m }",
            "{ requests: 10, concurrency: 2 }"
        )
    );
    assert_err(&err(&text), 9, 1, "(top level)", "a single YAML document");
    // An explicit start and end of the one document are fine.
    ok(&format!(
        "---\n{}...\n",
        simple(
            "{ cpus: 1, memory: 64m }",
            "{ requests: 10, concurrency: 2 }"
        )
    ));
}

#[test]
fn yaml_syntax_error_is_located() {
    let text = "name: t\nservers:\n  - { name: a, model: async, port: 1\nresources: { cpus: 1 }\n";
    let e = err(text);
    assert_eq!(e.line, 4, "{e}");
    assert!(e.message.starts_with("invalid YAML: "), "{e}");
    assert!(e.path.starts_with("servers[0]"), "{e}");
}

#[test]
fn missing_file_is_one_line_naming_it() {
    let e = load(Path::new("/nonexistent/lab.yaml"), 4).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot read /nonexistent/lab.yaml: No such file or directory"
    );
    assert!(matches!(
        e,
        LoadError::Io {
            kind: std::io::ErrorKind::NotFound,
            ..
        }
    ));
}

// ---------------------------------------------------------------- values

#[test]
fn flexible_values() {
    let text = lab_with(
        "  - { name: a, model: async, port: 1, args: [\"--backlog\", 5], env: { N: 8, DEBUG: true, LOG: warn } }",
        "{ cpus: 1, memory: 268435456 }",
        "{ requests: 10, concurrency: 2, timeout: 500ms, keepalive: true }",
        ONE_WORKLOAD,
    )
    .replace("name: t\n", "name: t\nwarmup: off\npin: { servers: \"0-1\", loadgen: 3 }\n");
    let lab = ok(&text);
    assert_eq!(lab.warmup, 0);
    assert_eq!(
        lab.pin,
        Pin::Explicit {
            servers: "0-1".into(),
            loadgen: "3".into()
        }
    );
    assert_eq!(lab.servers[0].args, vec!["--backlog", "5"]);
    let env: Vec<(&str, &str)> = lab.servers[0]
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.value.as_str()))
        .collect();
    assert_eq!(env, vec![("DEBUG", "true"), ("LOG", "warn"), ("N", "8")]);
    assert_eq!(lab.resources.memory, vec![256 * MIB]);
    assert_eq!(lab.loadgen.timeout_s, 1, "500ms rounds up to 1s");
    assert_eq!(lab.loadgen.keepalive, vec![true]);
    assert_eq!(lab.loadgen.concurrency, vec![2]);

    let lab = ok(&simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 2, timeout: 2m }",
    )
    .replace("name: t\n", "name: t\nwarmup: 0\npin: off\n"));
    assert_eq!(
        (lab.warmup, &lab.pin, lab.loadgen.timeout_s),
        (0, &Pin::Off, 120)
    );
}

#[test]
fn model_names_binaries_and_images() {
    assert_eq!(Model::Async.binary(), "server-async");
    assert_eq!(Model::Thread.binary(), "server-thread");
    assert_eq!(Model::Async.image(), "lab/server-async");
    assert_eq!(Model::Thread.image(), "lab/server-thread");
}

#[test]
fn memory_sizes() {
    for (text, bytes) in [
        ("256m", 256 * MIB),
        ("256M", 256 * MIB),
        ("256MiB", 256 * MIB),
        ("512mb", 512 * MIB),
        ("1g", 1024 * MIB),
        ("1.5g", 1536 * MIB),
        ("64k", 65536),
        ("100", 100),
        ("100b", 100),
    ] {
        assert_eq!(parse_memory(text), Ok(bytes), "{text}");
    }
    for text in [
        "",
        "m",
        "12x",
        "1.m",
        "-5m",
        "1.0000001k",
        "99999999999999999999g",
    ] {
        assert!(parse_memory(text).is_err(), "{text} should not parse");
    }
}

#[test]
fn memory_formats_compactly_and_round_trips() {
    assert_eq!(format_memory(268_435_456), "256m");
    assert_eq!(format_memory(1 << 30), "1g");
    assert_eq!(format_memory(1536 * MIB), "1536m");
    assert_eq!(format_memory(65536), "64k");
    assert_eq!(format_memory(100_000), "97.7k");
    assert_eq!(format_memory(1000), "1000");
    for bytes in [6 * MIB, 256 * MIB, 3 << 30, 12_288, 777] {
        assert_eq!(parse_memory(&format_memory(bytes)), Ok(bytes));
    }
}

#[test]
fn durations() {
    assert_eq!(parse_duration_ms("30s"), Ok(30_000));
    assert_eq!(parse_duration_ms("500ms"), Ok(500));
    assert_eq!(parse_duration_ms("2m"), Ok(120_000));
    assert_eq!(parse_duration_ms("1h"), Ok(3_600_000));
    assert_eq!(parse_duration_ms("1.5s"), Ok(1500));
    assert_eq!(parse_duration_ms("45"), Ok(45_000));
    for text in ["", "s", "3x", "1.s", "-1s"] {
        assert!(parse_duration_ms(text).is_err(), "{text} should not parse");
    }
}

#[test]
fn cpusets() {
    assert_eq!(parse_cpuset("0", 4), Ok(vec![0]));
    assert_eq!(parse_cpuset("0-2,4", 8), Ok(vec![0, 1, 2, 4]));
    assert_eq!(parse_cpuset(" 3, 1-2 ,1", 4), Ok(vec![1, 2, 3]));
    for text in ["", "a", "1-", "-1", "2-1", "0,,1", "4"] {
        assert!(parse_cpuset(text, 4).is_err(), "{text} should not parse");
    }
}

#[test]
fn locations_cover_block_and_flow_style() {
    let text = "a:\n  b: [1, { c: 2 }]\n  d:\n    - x\n    - e: 3\n      f: 4\n? [complex]\n: 5\ng: { h: 6 }\n";
    let l = locate::scan(text).unwrap();
    let at = |p: &str| {
        let pos = l.value(p);
        (pos.line, pos.column)
    };
    assert_eq!(at(""), (1, 1));
    assert_eq!(at("a.b"), (2, 6));
    assert_eq!(at("a.b[0]"), (2, 7));
    assert_eq!(at("a.b[1].c"), (2, 15));
    assert_eq!(at("a.d[0]"), (4, 7));
    assert_eq!(at("a.d[1].e"), (5, 10));
    assert_eq!(at("a.d[1].f"), (6, 10));
    assert_eq!(at("g.h"), (9, 9));
    // Unknown paths fall back to the nearest ancestor.
    assert_eq!(at("g.nope"), (9, 4));
    let key = l.key("a.d[1].f");
    assert_eq!((key.line, key.column), (6, 7));
}

// ---------------------------------------------------------------- the plan

/// Two servers, a 2 × 2 resource sweep, the second server with its own memory.
const SWEEP: &str = "name: sweep
repeat: 2
warmup: 100
servers:
  - { name: a, model: async, port: 1 }
  - { name: b, model: thread, port: 2, resources: { memory: 32m, pids: 50 } }
resources: { cpus: [0.5, 2], memory: [64m, 128m], pids: 1000 }
loadgen: { requests: 100, concurrency: [10, 1], keepalive: [false, true] }
workloads:
  - { name: hello, path: / }
  - { name: sleep, path: /sleep/5 }
";

#[test]
fn sweeps_expand_to_the_product() {
    let lab = ok(SWEEP);
    let plan = Plan::new(&lab);
    let labels: Vec<&str> = plan.groups.iter().map(|g| g.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "cpus=0.5 memory=64m",
            "cpus=0.5 memory=128m",
            "cpus=2 memory=64m",
            "cpus=2 memory=128m"
        ]
    );
    assert_eq!(
        plan.groups.iter().map(|g| g.index).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    // 2 workloads × 2 keepalive × 2 concurrency = 8 points, × 2 servers × 2 reps × 4 groups.
    assert_eq!(plan.groups[0].points.len(), 8);
    assert_eq!(plan.cell_count(), 4 * 8 * 2 * 2);
    assert_eq!(plan.cells().len(), plan.cell_count());
    // 128 runs of 100 requests + 4 groups × 2 instances × 100 warm-up requests.
    assert_eq!(plan.estimated_requests(&lab), 128 * 100 + 8 * 100);
}

#[test]
fn a_servers_override_wins_over_the_group() {
    let plan = Plan::new(&ok(SWEEP));
    let g = &plan.groups[3];
    let (a, b) = (&g.instances[0], &g.instances[1]);
    assert_eq!(
        (a.server, a.cpus, a.memory, a.pids),
        (0, 2.0, 128 * MIB, Some(1000))
    );
    assert_eq!(
        (b.server, b.cpus, b.memory, b.pids),
        (1, 2.0, 32 * MIB, Some(50))
    );
}

#[test]
fn points_are_workload_then_keepalive_then_concurrency_ascending() {
    let plan = Plan::new(&ok(SWEEP));
    let points: Vec<(usize, bool, u32)> = plan.groups[0]
        .points
        .iter()
        .map(|p| (p.workload, p.keepalive, p.concurrency))
        .collect();
    assert_eq!(
        points,
        [
            (0, false, 1),
            (0, false, 10),
            (0, true, 1),
            (0, true, 10),
            (1, false, 1),
            (1, false, 10),
            (1, true, 1),
            (1, true, 10)
        ]
    );
}

#[test]
fn repetitions_interleave_servers_a_b_then_b_a() {
    let plan = Plan::new(&ok(SWEEP));
    let cells = plan.cells();
    let first: Vec<(usize, usize, u32, usize)> = cells[..8]
        .iter()
        .map(|c| (c.group, c.point, c.repetition, c.instance))
        .collect();
    assert_eq!(
        first,
        [
            (0, 0, 0, 0),
            (0, 0, 0, 1),
            (0, 0, 1, 1),
            (0, 0, 1, 0),
            (0, 1, 0, 0),
            (0, 1, 0, 1),
            (0, 1, 1, 1),
            (0, 1, 1, 0)
        ]
    );
    // Groups run one after the other.
    assert!(cells.windows(2).all(|w| w[0].group <= w[1].group));
    assert_eq!(cells.last().unwrap().group, 3);
}

#[test]
fn three_servers_reverse_whole_order_on_odd_repetitions() {
    let text = SWEEP.replace("repeat: 2", "repeat: 3").replace(
        "servers:\n",
        "servers:\n  - { name: c, image: \"nginx:stable\", port: 80 }\n",
    );
    let plan = Plan::new(&ok(&text));
    let order: Vec<usize> = plan.cells()[..9].iter().map(|c| c.instance).collect();
    assert_eq!(order, [0, 1, 2, 2, 1, 0, 0, 1, 2]);
}

#[test]
fn describe_names_everything_a_check_should_show() {
    let lab = ok(SWEEP);
    let plan = Plan::new(&lab);
    let text = describe(&lab, &plan);
    for needle in [
        "sweep",
        "model async",
        "model thread",
        "cpus=2 memory=128m",
        "memory 32m pids 50",
        "keepalive [false, true]",
        "concurrency [1, 10]",
        "repeat: 2",
        "warmup: 100",
        "128 cells",
        "~13600 requests",
    ] {
        assert!(text.contains(needle), "describe lacks {needle:?}:\n{text}");
    }
}

#[test]
fn lab_and_plan_serialize_to_json() {
    let lab = ok(SWEEP);
    let json = serde_json::to_value(&lab).unwrap();
    assert_eq!(
        json["servers"][0]["source"],
        serde_json::json!({ "model": "async" })
    );
    assert_eq!(json["pin"], "auto");
    let plan = serde_json::to_value(Plan::new(&lab)).unwrap();
    assert_eq!(plan["groups"][1]["label"], "cpus=0.5 memory=128m");
}

// ---------------------------------------------------------------- background load

#[test]
fn background_defaults_to_keepalive_and_is_absent_by_default() {
    let base = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 100, concurrency: 10 }",
    );
    assert_eq!(ok(&base).background, None);
    let lab = ok(&format!(
        "{base}background: {{ concurrency: 900, path: /sleep/1000 }}\n"
    ));
    assert_eq!(
        lab.background,
        Some(Background {
            concurrency: 900,
            path: "/sleep/1000".into(),
            keepalive: true
        })
    );
}

#[test]
fn background_errors_name_their_field() {
    let base = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 100, concurrency: 10 }",
    );
    let line = base.lines().count() + 1;
    let e = err(&format!(
        "{base}background: {{ concurrency: 0, path: /x }}\n"
    ));
    assert_err(&e, line, 28, "background.concurrency", "out of range");
    let e = err(&format!(
        "{base}background: {{ concurrency: 5, path: x }}\n"
    ));
    assert_err(&e, line, 37, "background.path", "does not start with");
    let e = err(&format!(
        "{base}background: {{ concurrency: 5, path: /x, keeplive: true }}\n"
    ));
    assert_eq!(e.line, line, "{e}");
    assert!(e.message.contains("unknown field `keeplive`"), "{e}");
}

// ---------------------------------------------------------------- open-file limit

#[test]
fn nofile_is_auto_by_default_or_a_number_with_room_for_every_connection() {
    let base = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 1000, concurrency: [10, 1000] }",
    );
    assert_eq!(ok(&base).nofile, Nofile::Auto);
    assert_eq!(ok(&format!("{base}nofile: auto\n")).nofile, Nofile::Auto);
    assert_eq!(
        ok(&format!("{base}nofile: 65536\n")).nofile,
        Nofile::Fixed(65536)
    );
    let line = base.lines().count() + 1;
    let e = err(&format!("{base}nofile: 1000\n"));
    assert_err(&e, line, 9, "nofile", "use at least 1032");
    // A background load holds connections too.
    let e = err(&format!(
        "{base}background: {{ concurrency: 500, path: /x }}\nnofile: 1100\n"
    ));
    assert_err(&e, line + 1, 9, "nofile", "1500 connections");
    let e = err(&format!("{base}nofile: 2000000\n"));
    assert_err(&e, line, 9, "nofile", "more than 1048576");
    let e = err(&format!("{base}nofile: lots\n"));
    assert_eq!((e.line, e.path.as_str()), (line, "nofile"), "{e}");
    assert!(
        e.message.contains("`lots` is not an open-file limit"),
        "{e}"
    );
    let e = err(&format!("{base}nofile: -5\n"));
    assert!(
        e.message.contains("-5 is not a number of open files"),
        "{e}"
    );
}

mod limits;
mod open_loop;
mod redaction;
mod tune;

#[test]
fn repeat_takes_a_count_auto_or_settings() {
    let base = DEFAULT_LAB.replace("repeat: auto\n", "");
    let lab = ok(&base.replace("name: baseline\n", "name: baseline\nrepeat: 3\n"));
    assert_eq!((lab.repeat, lab.repeat_auto), (3, None));
    let lab = ok(&base.replace(
        "name: baseline\n",
        "name: baseline\nrepeat: { target: 2%, max: 30, time: 1m }\n",
    ));
    let auto = lab.repeat_auto.unwrap();
    assert_eq!(
        (auto.target, auto.min, auto.max, auto.time_s),
        (0.02, 2, 30, 60.0)
    );
    assert_eq!(lab.repeat, 30);
    // Cells of a fixed number of requests: the median's interval needs 6.
    let counted = base.replace("  concurrency:", "  requests: 1000\n  concurrency:");
    let lab = ok(&counted.replace("name: baseline\n", "name: baseline\nrepeat: auto\n"));
    assert_eq!(lab.repeat_auto, Some(AutoRepeat::default()));
    let text = base.replace("name: baseline\n", "name: baseline\nrepeat: { min: 1 }\n");
    assert!(
        err(&text)
            .to_string()
            .contains("repeat.min: 1 is out of range"),
        "{}",
        err(&text)
    );
    let text = base.replace(
        "name: baseline\n",
        "name: baseline\nrepeat: { target: 5 }\n",
    );
    assert!(
        err(&text).to_string().contains("write 5%"),
        "{}",
        err(&text)
    );
    let text = base.replace("name: baseline\n", "name: baseline\nrepeat: sometimes\n");
    assert!(
        err(&text).to_string().contains("not a repeat setting"),
        "{}",
        err(&text)
    );
}

// ---------------------------------------------------------------- hosts

#[test]
fn hosts_take_a_string_or_a_mapping_per_role() {
    let lab = ok(&format!(
        "{}hosts:\n  servers: {{ docker: \"tcp://10.0.0.5:2376\", tls: /certs, address: bench-1 }}\n  loadgen: \"unix:///var/run/docker.sock\"\n",
        simple("{ cpus: 1, memory: 64m }", "{ requests: 10, concurrency: 1 }")
    ));
    let servers = lab.hosts.servers.unwrap();
    assert_eq!(servers.docker.as_deref(), Some("tcp://10.0.0.5:2376"));
    assert_eq!(servers.tls.as_deref(), Some(std::path::Path::new("/certs")));
    assert_eq!(servers.address.as_deref(), Some("bench-1"));
    let loadgen = lab.hosts.loadgen.unwrap();
    assert_eq!(
        loadgen.docker.as_deref(),
        Some("unix:///var/run/docker.sock")
    );
    assert_eq!(loadgen.address, None);

    let context = ok(&format!(
        "{}hosts: {{ loadgen: {{ context: bench }} }}\n",
        simple(
            "{ cpus: 1, memory: 64m }",
            "{ requests: 10, concurrency: 1 }"
        )
    ));
    assert_eq!(context.hosts.servers, None);
    assert_eq!(
        context.hosts.loadgen.unwrap().context.as_deref(),
        Some("bench")
    );
    // Left out: one host, as the docker CLI chooses it.
    let plain = ok(&simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 1 }",
    ));
    assert_eq!(plain.hosts, hosts::Hosts::default());
}

#[test]
fn bad_hosts_point_at_the_field() {
    let base = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 1 }",
    );
    let line = base.lines().count() + 2;
    let e = err(&format!(
        "{base}hosts:\n  servers: {{ docker: \"unix:///a.sock\", context: x }}\n"
    ));
    assert_err(&e, line, 49, "hosts.servers.context", "not both");
    let e = err(&format!(
        "{base}hosts:\n  servers: {{ address: 10.0.0.5 }}\n"
    ));
    assert_err(&e, line, 12, "hosts.servers", "name the Docker host");
    let e = err(&format!("{base}hosts:\n  loadgen: \"ftp://x\"\n"));
    assert_err(&e, line, 12, "hosts.loadgen.docker", "scheme");
}

#[test]
fn hosts_loadgen_takes_a_list_of_hosts_that_send_together() {
    let base = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 1 }",
    );
    let lab = ok(&format!(
        "{base}hosts:\n  loadgen: [\"unix:///var/run/docker.sock\", {{ docker: \"tcp://10.0.0.7:2376\", tls: /certs }}, {{ context: bench }}]\n"
    ));
    let first = lab.hosts.loadgen.unwrap();
    assert_eq!(first.docker.as_deref(), Some("unix:///var/run/docker.sock"));
    let also = &lab.hosts.loadgen_also;
    assert_eq!(also.len(), 2);
    assert_eq!(also[0].docker.as_deref(), Some("tcp://10.0.0.7:2376"));
    assert_eq!(also[1].context.as_deref(), Some("bench"));
    // A list of one is one host.
    let one = ok(&format!("{base}hosts:\n  loadgen: [\"unix:///a.sock\"]\n"));
    assert!(one.hosts.loadgen.is_some() && one.hosts.loadgen_also.is_empty());
    // A block list reads the same.
    let block = ok(&format!(
        "{base}hosts:\n  loadgen:\n    - \"unix:///a.sock\"\n    - \"unix:///b.sock\"\n"
    ));
    assert_eq!(block.hosts.loadgen_also.len(), 1);
}

#[test]
fn bad_loadgen_lists_point_at_the_entry() {
    let base = simple(
        "{ cpus: 1, memory: 64m }",
        "{ requests: 10, concurrency: 1 }",
    );
    let line = base.lines().count() + 2;
    let e = err(&format!(
        "{base}hosts:\n  loadgen: [\"unix:///a.sock\", \"ftp://x\"]\n"
    ));
    assert_eq!(e.path, "hosts.loadgen[1].docker", "{e}");
    assert_eq!(e.line, line, "{e}");
    assert!(e.message.contains("scheme"), "{e}");
    let e = err(&format!(
        "{base}hosts:\n  loadgen: [\"unix:///a.sock\", \"unix:///a.sock\"]\n"
    ));
    assert_eq!(e.path, "hosts.loadgen[1]", "{e}");
    assert!(
        e.message.contains("the same host as hosts.loadgen[0]"),
        "{e}"
    );
    let e = err(&format!("{base}hosts:\n  loadgen: []\n"));
    assert_err(&e, line, 12, "hosts.loadgen", "empty list");
    let e = err(&format!(
        "{base}hosts:\n  loadgen: [{{ context: a, docker: \"unix:///a.sock\" }}]\n"
    ));
    assert_eq!(e.path, "hosts.loadgen[0].context", "{e}");
    // oha cannot share its rate out among hosts.
    let oha = simple(
        "{ cpus: 1, memory: 64m }",
        "{ tool: oha, rate: 100, duration: 2s, concurrency: 1 }",
    );
    let e = err(&format!(
        "{oha}hosts:\n  loadgen: [\"unix:///a.sock\", \"unix:///b.sock\"]\n"
    ));
    assert_eq!(e.path, "hosts.loadgen", "{e}");
    assert!(e.message.contains("oha"), "{e}");
    assert!(!e.to_string().contains('\n'), "{e}");
}
