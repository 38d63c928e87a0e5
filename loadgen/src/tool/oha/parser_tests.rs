//! The oha parser against real outputs of oha 1.16.0 (`tests/fixtures/oha/README.md` says
//! how each was captured), and the measurement the tool layer makes of each. (Here, not in
//! `oha/`, because the parser is a leaf that imports nothing of the lab.)

use std::collections::BTreeMap;

use super::measurement;
use crate::oha::*;
use crate::record::Percentile;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/oha/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parsed(name: &str) -> OhaReport {
    parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn closed_loop_gives_every_common_figure() {
    let r = parsed("closed-loop.json");
    assert_eq!(r.status_codes, BTreeMap::from([(200, 2000)]));
    assert!(r.errors.is_empty());
    assert_eq!((r.complete(), r.failed(), r.non_2xx()), (2000, 0, 0));
    assert!((r.total_s - 0.023442787).abs() < 1e-12);
    // Seconds in the JSON, milliseconds here; p99.9 and the slowest request included.
    assert!((r.latency_ms["50"] - 0.097423).abs() < 1e-9);
    assert!((r.latency_ms["99.9"] - 1.798756).abs() < 1e-9);
    assert!((r.latency_ms["100"] - 1.81548).abs() < 1e-9);
    assert_eq!(
        r.latency_ms.get(&Percentile(99.99).key()).copied(),
        Some(1.81548)
    );
    assert_eq!(r.total_data, 30000);
    let c = measurement(&r);
    assert!((c.rps.unwrap() - 2000.0 / 0.023442787).abs() < 1e-6);
    assert_eq!(c.good_rps(), c.rps);
}

#[test]
fn non_2xx_answers_are_counted_apart_from_failures() {
    let r = parsed("closed-loop-404.json");
    assert_eq!((r.responses(), r.non_2xx(), r.failed()), (500, 500, 0));
    let c = measurement(&r);
    assert_eq!(c.bad(), 500);
    assert_eq!(c.good_rps(), Some(0.0));
}

#[test]
fn open_loop_keeps_deadline_aborts_out_of_failures_and_rate() {
    let r = parsed("open-loop.json");
    assert_eq!(r.responses(), 1495);
    assert_eq!(r.deadline_aborted(), 6);
    assert_eq!(r.failed(), 0);
    // 1495 answers in 3.0019 s: the offered 500 req/s, achieved.
    let rps = r.requests_per_second();
    assert!((rps - 1495.0 / 3.001869945).abs() < 1e-9, "{rps}");
    assert!((rps - 500.0).abs() / 500.0 < 0.01);
    // oha's own figure counts the aborted requests too.
    assert!(r.oha_requests_per_sec > rps);
    // /sleep/10: corrected latencies start at the route's wait.
    assert!(r.latency_ms["50"] >= 10.0);
}

#[test]
fn an_overloaded_open_loop_achieves_less_than_offered_and_its_latency_grows() {
    let r = parsed("open-loop-overload.json");
    let rps = r.requests_per_second();
    assert!(rps < 0.5 * 5000.0, "achieved {rps} of 5000");
    // Corrected for coordinated omission: the queue behind 20 busy connections shows.
    assert!(r.latency_ms["99"] > 1000.0);
}

#[test]
fn failures_are_counted_by_kind() {
    let r = parsed("open-loop-timeouts.json");
    assert_eq!(
        (r.responses(), r.failed(), r.deadline_aborted()),
        (0, 390, 10)
    );
    assert_eq!(
        r.failures_by_kind(),
        BTreeMap::from([(FailureKind::Timeout, 390)])
    );
    // No successful request: oha's statistics are null, not zero.
    assert!(r.latency_ms.is_empty());
    assert_eq!(r.mean_ms, None);
    assert_eq!(measurement(&r).good_rps(), Some(0.0));

    let r = parsed("refused.json");
    assert_eq!(
        r.failures_by_kind(),
        BTreeMap::from([(FailureKind::Connect, 200)])
    );

    let r = parsed("open-loop-server-killed.json");
    assert_eq!((r.responses(), r.failed()), (396, 404));
    assert_eq!(r.failures_by_kind()[&FailureKind::Connect], 404);
    let c = measurement(&r);
    assert_eq!(c.complete, Some(800));
    assert!((c.good_rps().unwrap() - c.rps.unwrap() * 396.0 / 800.0).abs() < 1e-9);
}

#[test]
fn text_that_is_no_report_is_an_error_quoting_it() {
    let e = parse(&fixture("usage-error.txt")).unwrap_err();
    assert!(
        matches!(&e, OhaParseError::NotJson(m) if m.contains("unexpected argument")),
        "{e}"
    );
    assert!(matches!(parse(""), Err(OhaParseError::NotJson(_))));
    assert!(matches!(
        parse(r#"{"summary": {"total": -1}}"#),
        Err(OhaParseError::Unusable(_))
    ));
    assert!(matches!(
        parse(r#"{"summary": {}}"#),
        Err(OhaParseError::Unusable(_))
    ));
}

#[test]
fn a_report_round_trips_through_results_json() {
    let r = parsed("open-loop-server-killed.json");
    let json = serde_json::to_string(&r).unwrap();
    let back: OhaReport = serde_json::from_str(&json).unwrap();
    // (Floats may differ in the last bit: serde_json parses without `float_roundtrip`.)
    assert_eq!(
        (&back.status_codes, &back.errors),
        (&r.status_codes, &r.errors)
    );
    assert!(back.latency_ms.keys().eq(r.latency_ms.keys()));
    assert!((back.latency_ms["99.9"] - r.latency_ms["99.9"]).abs() < 1e-9);
}

#[test]
fn error_messages_map_to_kinds() {
    for (m, k) in [
        ("Connection refused (os error 111)", FailureKind::Connect),
        ("timeout", FailureKind::Timeout),
        ("connection reset by peer", FailureKind::Receive),
        (
            "connection closed before message completed",
            FailureKind::Receive,
        ),
        ("invalid HTTP version parsed", FailureKind::Other),
    ] {
        assert_eq!(FailureKind::of_message(m), k, "{m}");
    }
}
