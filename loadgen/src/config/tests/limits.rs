//! Tests of the limits that keep out hostile files and values that would only fail at run
//! time (issue 10: alias bombs, endless files, values Docker or ab refuse mid-run).

use std::io::Write as _;
use std::sync::mpsc;
use std::time::Duration;

use super::super::read::MAX_FILE_BYTES;
use super::super::validate::{MAX_CELLS, MAX_REQUESTS, MAX_WARMUP};
use super::*;

const RES: &str = "{ cpus: 1, memory: 64m }";
const LG: &str = "{ requests: 10, concurrency: 2 }";

/// A valid file with `extra` lines added at the top level.
fn with_top(extra: &str) -> String {
    format!("{extra}\n{}", simple(RES, LG))
}

/// A valid file with one server given as `server` (a flow mapping body).
fn with_server(server: &str) -> String {
    lab_with(&format!("  - {{ {server} }}"), RES, LG, ONE_WORKLOAD)
}

/// `load` of `text` written to a temporary file; the error's text, with the file's path
/// replaced by `FILE`.
fn load_err(bytes: &[u8]) -> String {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(bytes).unwrap();
    let path = f.path().display().to_string();
    match load(f.path(), 4) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string().replace(&path, "FILE"),
    }
}

// ---------------------------------------------------------------- defect 8: reading

#[test]
fn a_file_over_one_mib_is_refused_naming_it() {
    // Valid YAML that was accepted whole before the limit: a lab plus a long comment.
    let mut text = simple(RES, LG);
    text.push('#');
    text.push_str(&"x".repeat(MAX_FILE_BYTES as usize));
    text.push('\n');
    let len = text.len();
    assert_eq!(
        load_err(text.as_bytes()),
        format!(
            "cannot read FILE: {len} bytes is too large for a lab file (at most 1048576 bytes, 1 MiB)"
        )
    );
}

#[test]
fn a_device_or_directory_is_refused_naming_it() {
    let e = load(Path::new("/dev/null"), 4).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot read /dev/null: it is a character device, not a regular file; give a YAML file"
    );
    assert!(matches!(e, LoadError::Io { .. }));
    let dir = tempfile::tempdir().unwrap();
    let e = load(dir.path(), 4).unwrap_err().to_string();
    let path = dir.path().display().to_string();
    assert_eq!(
        e.replace(&path, "DIR"),
        "cannot read DIR: it is a directory, not a regular file; give a YAML file"
    );
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("lab.yaml");
    let c_path = std::ffi::CString::new(fifo.display().to_string()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    // Opening a FIFO with no writer blocked forever: run it aside, and give up on a hang.
    let (tx, rx) = mpsc::channel();
    let path = fifo.clone();
    std::thread::spawn(move || {
        let _ = tx.send(load(&path, 4).map(|_| ()).map_err(|e| e.to_string()));
    });
    let result = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("load blocked on a FIFO");
    assert_eq!(
        result.unwrap_err(),
        format!(
            "cannot read {}: it is a FIFO, not a regular file; give a YAML file",
            fifo.display()
        )
    );
}

#[test]
fn a_file_that_is_not_utf8_says_where() {
    // `name: té` in Latin-1: 0xE9 alone is not UTF-8.
    let text = simple(RES, LG).replace("name: t\n", "name: t\u{e9}\n");
    let bytes: Vec<u8> = text
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect();
    assert_eq!(
        load_err(&bytes),
        "cannot read FILE: not UTF-8 text (the first bad byte is at line 1, column 8)"
    );
}

#[test]
fn a_byte_order_mark_is_not_content() {
    let text = format!("\u{feff}{}", simple(RES, LG));
    assert_eq!(ok(&text).name, "t");
    // Positions on the first line count from after it, as editors do.
    let text = format!("\u{feff}{}", simple(RES, LG).replace("name: t", "name: t!"));
    assert_err(&err(&text), 1, 7, "name", "`t!` contains '!'");
    // Through `load` too.
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(format!("\u{feff}{}", simple(RES, LG)).as_bytes())
        .unwrap();
    assert_eq!(load(f.path(), 4).unwrap().name, "t");
}

// ---------------------------------------------------------------- defect 8: aliases

#[test]
fn an_alias_bomb_is_refused_before_it_expands() {
    // 200 aliases of a 1000-character argument: small to write, 200 KB to expand (the same
    // shape at 50 KB took 300 MB and was accepted).
    let big = "x".repeat(1000);
    let aliases = vec!["*big"; 200].join(", ");
    let text = lab_with(
        &format!(
            "  - {{ name: a, model: async, port: 1, args: [&big \"{big}\"] }}\n  - {{ name: b, model: thread, port: 2, args: [{aliases}] }}"
        ),
        RES,
        LG,
        ONE_WORKLOAD,
    );
    let e = err(&text);
    // The 100th alias crosses the limit: the first is at column 47, each takes 6.
    assert_err(
        &e,
        4,
        47 + 6 * 99,
        "servers[1].args[99]",
        "aliases expand this file by more than 100000 nodes and characters (an alias bomb?)",
    );
    assert_eq!(
        e.message,
        "aliases expand this file by more than 100000 nodes and characters (an alias bomb?); \
         write the values out instead"
    );
}

#[test]
fn nested_aliases_are_counted_expanded() {
    // "Billion laughs": each level repeats the one before 9 times; the file is tiny.
    let mut levels = vec!["  l0: &l0 [a, a, a, a, a, a, a, a, a]".to_string()];
    for i in 1..8 {
        let refs = vec![format!("*l{}", i - 1); 9].join(", ");
        levels.push(format!("  l{i}: &l{i} [{refs}]"));
    }
    let text = format!("bomb:\n{}\n{}", levels.join("\n"), simple(RES, LG));
    assert!(text.len() < 2000);
    let e = err(&text);
    assert!(e.message.contains("alias bomb"), "{e}");
    assert!(e.path.starts_with("bomb.l"), "{e}");
}

#[test]
fn a_few_aliases_are_fine() {
    let text = lab_with(
        "  - { name: a, model: async, port: 1, env: &env { RUST_LOG: warn, N: 4 } }\n  - { name: b, model: thread, port: 2, env: *env }",
        RES,
        LG,
        ONE_WORKLOAD,
    );
    let lab = ok(&text);
    assert_eq!(lab.servers[1].env, lab.servers[0].env);
}

#[test]
fn a_recursive_alias_is_refused() {
    let text = with_top("extra: &x [1, *x]");
    assert_err(
        &err(&text),
        1,
        15,
        "extra[1]",
        "this alias is inside the node it refers to",
    );
}

// ---------------------------------------------------------------- defect 14: values

#[test]
fn cpus_below_dockers_minimum_are_refused() {
    let msg = "0.001 is less than 0.01, the smallest CPU limit Docker accepts";
    let text = simple("{ cpus: 0.001, memory: 64m }", LG);
    assert_err(&err(&text), 5, 20, "resources.cpus", msg);
    let text = simple(RES, "{ requests: 10, concurrency: 2, cpus: 0.001 }");
    assert_err(&err(&text), 6, 48, "loadgen.cpus", msg);
    let text = with_server("name: a, model: async, port: 1, resources: { cpus: 0.001 }");
    assert_err(&err(&text), 3, 58, "servers[0].resources.cpus", msg);
    ok(&simple("{ cpus: 0.01, memory: 64m }", LG));
}

#[test]
fn memory_beyond_a_signed_64_bit_count_is_refused() {
    let text = simple("{ cpus: 1, memory: 9000000000g }", LG);
    assert_err(
        &err(&text),
        5,
        31,
        "resources.memory",
        "more than Docker can take (its limit is a signed 64-bit count of bytes, at most 9223372036854775807)",
    );
    let text = simple("{ cpus: 1, memory: 9223372036854775808 }", LG);
    assert_err(
        &err(&text),
        5,
        31,
        "resources.memory",
        "8589934592g is more",
    );
    ok(&simple("{ cpus: 1, memory: 9223372036854775807 }", LG));
}

#[test]
fn names_longer_than_64_characters_are_refused() {
    let long = "n".repeat(65);
    let msg = "is 65 characters long; names have at most 64";
    let text = simple(RES, LG).replace("name: t\n", &format!("name: {long}\n"));
    assert_err(&err(&text), 1, 7, "name", msg);
    let text = simple(RES, LG).replace("name: b,", &format!("name: {long},"));
    assert_err(&err(&text), 4, 13, "servers[1].name", msg);
    let text = simple(RES, LG).replace("name: hello", &format!("name: {long}"));
    assert_err(&err(&text), 8, 13, "workloads[0].name", msg);
    // The message quotes at most 60 characters of the name.
    assert!(err(&text)
        .message
        .contains(&format!("`{}…`", "n".repeat(60))));
    ok(&simple(RES, LG).replace("name: hello", &format!("name: {}", "n".repeat(64))));
}

#[test]
fn a_name_with_a_newline_stays_on_one_line() {
    let text = simple(RES, LG).replace("name: t\n", "name: \"a\\nb\"\n");
    let e = err(&text);
    assert_err(&e, 1, 7, "name", "`a\\nb` contains '\\n'");
}

#[test]
fn control_characters_in_keys_stay_escaped() {
    let text = with_top("\"a\\nb\": 1");
    let e = err(&text);
    assert_err(&e, 1, 1, "(top level)", "unknown field `a\\nb`");
    let text = with_server("name: a, model: async, port: 1, env: { \"A\\nB\": x }");
    assert_err(
        &err(&text),
        3,
        46,
        "servers[0].env.A\\nB",
        "`A\\nB` is not an environment variable name",
    );
}

#[test]
fn request_paths_are_visible_ascii() {
    let cases = [
        (
            "\"/a\\tb\"",
            "`/a\\tb` contains the control character '\\t'",
            "%09",
        ),
        ("\"/caf\u{e9}\"", "`/caf\u{e9}` contains '\u{e9}'", "%C3%A9"),
        ("\"/a b\"", "`/a b` contains a space", "%20"),
        (
            "\"/\\x01\"",
            "`/\\u{1}` contains the control character '\\u{1}'",
            "%01",
        ),
    ];
    for (yaml, needle, encoded) in cases {
        let text = simple(RES, LG).replace("path: /", &format!("path: {yaml}"));
        let e = err(&text);
        assert_err(&e, 8, 26, "workloads[0].path", needle);
        assert!(e.message.ends_with(&format!("({encoded})")), "{e}");
        let text = format!(
            "{}background: {{ concurrency: 5, path: {yaml} }}\n",
            simple(RES, LG)
        );
        let e = err(&text);
        assert_err(&e, 9, 37, "background.path", needle);
        assert!(e.message.contains("only visible ASCII"), "{e}");
    }
    ok(&simple(RES, LG).replace("path: /", "path: \"/a%20b?x=1&y=~\""));
}

#[test]
fn nul_in_args_or_env_is_refused() {
    let text = with_server("name: a, model: async, port: 1, args: [\"--x\", \"a\\0b\"]");
    assert_err(
        &err(&text),
        3,
        53,
        "servers[0].args[1]",
        "`a\\0b` contains a NUL character, which a process argument cannot hold",
    );
    let text = with_server("name: a, model: async, port: 1, env: { A: \"x\\0\" }");
    assert_err(
        &err(&text),
        3,
        49,
        "servers[0].env.A",
        "contains a NUL character, which an environment variable cannot hold",
    );
    let text = with_server("name: a, model: async, port: 1, env: { \"A\\0\": x }");
    assert_err(
        &err(&text),
        3,
        46,
        "servers[0].env.A\\0",
        "`A\\0` is not an environment variable name",
    );
}

#[test]
fn image_repositories_must_be_lowercase() {
    let text = with_server("name: a, image: \"Nginx:stable\", port: 80");
    let e = err(&text);
    assert_err(&e, 3, 23, "servers[0].image", "");
    assert_eq!(
        e.message,
        "`Nginx:stable` is not an image reference: Docker repository names are lowercase (`nginx:stable`)"
    );
    let text = simple(
        RES,
        "{ requests: 10, concurrency: 2, image: \"example.com:5000/Lab/AB:V1\" }",
    );
    let e = err(&text);
    assert_err(&e, 6, 49, "loadgen.image", "(`example.com:5000/lab/ab:V1`)");
    let text = with_server("name: a, image: \"Library/Nginx\", port: 80");
    assert_err(&err(&text), 3, 23, "servers[0].image", "(`library/nginx`)");
    // Capitals in a registry host or a tag are Docker's business, not ours.
    for image in [
        "Registry.Example.com/nginx:Stable",
        "localhost:5000/nginx",
        "nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ] {
        ok(&with_server(&format!(
            "name: a, image: \"{image}\", port: 80"
        )));
    }
    let text = with_server("name: a, image: \"nginx\\x01\", port: 80");
    assert_err(
        &err(&text),
        3,
        23,
        "servers[0].image",
        "contains the control character",
    );
}

#[test]
fn output_must_not_be_an_existing_file() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let path = file.path().display().to_string();
    let text = with_top(&format!("output: \"{path}\""));
    let e = err(&text);
    assert_err(&e, 1, 9, "output", "exists and is not a folder");
    let text = with_top(&format!("output: \"{path}/results\""));
    assert_err(&err(&text), 1, 9, "output", "is not a folder, so");
    let text = with_top("output: \"res\\x07ults\"");
    assert_err(
        &err(&text),
        1,
        9,
        "output",
        "contains the control character",
    );
    let dir = tempfile::tempdir().unwrap();
    let text = with_top(&format!("output: \"{}/new/deeper\"", dir.path().display()));
    ok(&text);
}

#[test]
fn warmup_and_requests_are_capped() {
    let text = with_top("warmup: 18446744073709551615");
    assert_err(
        &err(&text),
        1,
        9,
        "warmup",
        "18446744073709551615 is more than 10000000; a warm-up needs a few thousand requests",
    );
    ok(&with_top(&format!("warmup: {MAX_WARMUP}")));
    let text = simple(RES, "{ requests: 10000001, concurrency: 2 }");
    assert_err(
        &err(&text),
        6,
        22,
        "loadgen.requests",
        "10000001 is more than 10000000",
    );
    ok(&simple(
        RES,
        &format!("{{ requests: {MAX_REQUESTS}, concurrency: 2 }}"),
    ));
}

#[test]
fn the_estimate_saturates_instead_of_overflowing() {
    let mut lab = ok(&simple(RES, LG));
    lab.warmup = u64::MAX;
    lab.loadgen.requests = u64::MAX;
    let plan = Plan::new(&lab);
    assert_eq!(plan.estimated_requests(&lab), u64::MAX);
    assert!(describe(&lab, &plan).contains(&format!("~{} requests", u64::MAX)));
}

#[test]
fn sweeps_and_plans_are_capped() {
    let many: Vec<String> = (1..=1001).map(|n| n.to_string()).collect();
    let text = simple(
        RES,
        &format!("{{ requests: 100000, concurrency: [{}] }}", many.join(", ")),
    );
    assert_err(
        &err(&text),
        6,
        43,
        "loadgen.concurrency",
        "the list has 1001 values; a sweep has at most 1000",
    );
    // 10 cpus × 10 memory × 1000 concurrency × 2 servers = 200000 ab runs.
    let cpus: Vec<String> = (1..=10).map(|n| format!("0.{n:02}")).collect();
    let memory: Vec<String> = (10..20).map(|n| format!("{n}m")).collect();
    let text = simple(
        &format!(
            "{{ cpus: [{}], memory: [{}] }}",
            cpus.join(", "),
            memory.join(", ")
        ),
        &format!(
            "{{ requests: 100000, concurrency: [{}] }}",
            many[..1000].join(", ")
        ),
    );
    let e = err(&text);
    assert_err(&e, 1, 1, "(top level)", "");
    assert_eq!(
        e.message,
        format!(
            "the sweeps make 200000 ab runs (100 resource groups × 1000 points × 2 servers × \
             1 repetitions); at most {MAX_CELLS}"
        )
    );
}

#[test]
fn pids_below_one_are_refused_in_an_override_too() {
    let text = with_server("name: a, model: async, port: 1, resources: { pids: -1 }");
    assert_err(
        &err(&text),
        3,
        58,
        "servers[0].resources.pids",
        "-1 is not a process limit",
    );
}
