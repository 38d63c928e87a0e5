//! Tests against real ab 2.3 outputs captured in `tests/fixtures/ab/` (see its README.md);
//! `handcrafted-*.txt` fixtures are real outputs edited by hand.

use super::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../tests/fixtures/ab/", $name))
    };
}

const PLAIN_QUIET: &str = fixture!("plain-200-n1000-c10-quiet.txt");
const PLAIN_PROGRESS: &str = fixture!("plain-200-n1000-c10-progress.txt");
const KEEPALIVE: &str = fixture!("keepalive-n1000-c10.txt");
const NON2XX_MIXED: &str = fixture!("non2xx-404-n300-c5.txt");
const NON2XX_ALL: &str = fixture!("non2xx-all-404-n200-c4.txt");
const FAILED_LENGTH: &str = fixture!("failed-length-n500-c10.txt");
const FAILED_RST: &str = fixture!("failed-rst-breakdown-r-n400-c4.txt");
const POST: &str = fixture!("post-n200-c4.txt");
const SLOW: &str = fixture!("slow-n100-c10.txt");
const TLS: &str = fixture!("tls-python-https-n50-c2.txt");
const TLS_SNI: &str = fixture!("tls-sni-localhost-n4-c1.txt");
const NO_CONFIDENCE: &str = fixture!("no-confidence-S-n200-c4.txt");
const VARIABLE: &str = fixture!("variable-length-l-n200-c4.txt");
const VERBOSE: &str = fixture!("verbose-v4-404-n3-c1.txt");
const CSV_RUN: &str = fixture!("percentile-csv-run-n1000-c10.txt");
const CSV: &str = fixture!("percentiles-n1000-c10.csv");
const CONN_REFUSED: &str = fixture!("conn-refused.txt");
const TIMEOUT: &str = fixture!("timeout-s1.txt");
const TIMEOUT_MIDRUN: &str = fixture!("timeout-midrun-reset-r-n400-c4.txt");
const RESET_FATAL: &str = fixture!("reset-fatal-n400-c4.txt");
const TLS_TO_PLAIN: &str = fixture!("tls-to-plain-http-server.txt");
const USAGE: &str = fixture!("usage-invalid-url.txt");
const N0: &str = fixture!("n0.txt");
const HC_ERROR: &str = fixture!("handcrafted-error-median-mean.txt");
const HC_GARBLED: &str = fixture!("handcrafted-garbled-lines.txt");
const HC_EMPTY_SERVER: &str = fixture!("handcrafted-empty-server-write-errors.txt");
const HC_CASE: &str = fixture!("handcrafted-case-spacing-crlf.txt");

/// Every fixture that holds a report.
const REPORTS: &[&str] = &[
    PLAIN_QUIET,
    PLAIN_PROGRESS,
    KEEPALIVE,
    NON2XX_MIXED,
    NON2XX_ALL,
    FAILED_LENGTH,
    FAILED_RST,
    POST,
    SLOW,
    TLS,
    TLS_SNI,
    NO_CONFIDENCE,
    VARIABLE,
    VERBOSE,
    CSV_RUN,
    HC_ERROR,
    HC_EMPTY_SERVER,
    HC_CASE,
];

/// The four lines every report must have, as ab prints them in PLAIN_QUIET.
const MANDATORY_LINES: [(&str, &str); 4] = [
    (
        "Time taken for tests",
        "Time taken for tests:   0.298 seconds\n",
    ),
    ("Complete requests", "Complete requests:      1000\n"),
    ("Failed requests", "Failed requests:        0\n"),
    (
        "Requests per second",
        "Requests per second:    3353.71 [#/sec] (mean)\n",
    ),
];

/// The smallest text that parses: the four mandatory lines.
const MINIMAL: &str = "Time taken for tests: 1.5 seconds\nComplete requests: 5\nFailed requests: 0\nRequests per second: 3.33 [#/sec] (mean)\n";

/// Every fixture that holds no report.
const NO_REPORTS: &[&str] = &[
    CONN_REFUSED,
    TIMEOUT,
    TIMEOUT_MIDRUN,
    RESET_FATAL,
    TLS_TO_PLAIN,
    USAGE,
    N0,
];

fn ok(text: &str) -> AbReport {
    parse(text).unwrap_or_else(|e| panic!("parse failed: {e}"))
}

fn err(text: &str) -> String {
    match parse(text) {
        Ok(r) => panic!("expected an error, got {r:?}"),
        Err(e) => e.to_string(),
    }
}

fn row(min: f64, mean: f64, sd: f64, median: f64, max: f64) -> Option<TimeRow> {
    Some(TimeRow {
        min,
        mean,
        sd,
        median,
        max,
    })
}

fn pcts(rows: &[(&str, f64)]) -> Option<BTreeMap<String, f64>> {
    Some(rows.iter().map(|(k, v)| (k.to_string(), *v)).collect())
}

fn std_pcts(v: [f64; 9]) -> Option<BTreeMap<String, f64>> {
    let keys = ["50", "66", "75", "80", "90", "95", "98", "99", "100"];
    pcts(&keys.iter().copied().zip(v).collect::<Vec<_>>())
}

#[test]
fn plain_quiet_every_field() {
    let expected = AbReport {
        ab_version: Some("2.3".into()),
        server_software: Some("labtest/1.0".into()),
        server_hostname: Some("127.0.0.1".into()),
        server_port: Some(18080),
        document_path: Some("/ok".into()),
        document_length: Some(12),
        concurrency: Some(10),
        time_taken_s: Some(0.298),
        complete_requests: Some(1000),
        failed_requests: Some(0),
        failed_breakdown: None,
        write_errors: None,
        non_2xx: None,
        keepalive_requests: None,
        total_transferred: Some(98000),
        html_transferred: Some(12000),
        requests_per_second: Some(3353.71),
        time_per_request_ms: Some(2.982),
        time_per_request_all_ms: Some(0.298),
        transfer_rate_kbps: Some(320.96),
        connection_times: Some(ConnectionTimes {
            connect: row(0.0, 0.0, 0.1, 0.0, 1.0),
            processing: row(0.0, 3.0, 0.5, 3.0, 5.0),
            waiting: row(0.0, 3.0, 0.4, 3.0, 5.0),
            total: row(1.0, 3.0, 0.4, 3.0, 5.0),
        }),
        percentiles: std_pcts([3.0, 3.0, 3.0, 3.0, 3.0, 4.0, 4.0, 4.0, 5.0]),
        warnings: vec![],
    };
    assert_eq!(ok(PLAIN_QUIET), expected);
}

#[test]
fn json_uses_the_published_field_names_and_nulls() {
    let report = ok(PLAIN_QUIET);
    let json = serde_json::to_value(&report).unwrap();
    let obj = json.as_object().unwrap();
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    let mut expected = vec![
        "ab_version",
        "server_software",
        "server_hostname",
        "server_port",
        "document_path",
        "document_length",
        "concurrency",
        "time_taken_s",
        "complete_requests",
        "failed_requests",
        "failed_breakdown",
        "write_errors",
        "non_2xx",
        "keepalive_requests",
        "total_transferred",
        "html_transferred",
        "requests_per_second",
        "time_per_request_ms",
        "time_per_request_all_ms",
        "transfer_rate_kbps",
        "connection_times",
        "percentiles",
        "warnings",
    ];
    expected.sort_unstable();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, expected);
    assert!(obj["non_2xx"].is_null());
    assert!(obj["failed_breakdown"].is_null());
    assert_eq!(obj["percentiles"]["100"], 5.0);
    assert_eq!(obj["connection_times"]["total"]["sd"], 0.4);
    assert_eq!(obj["connection_times"]["total"]["median"], 3.0);

    let b = serde_json::to_value(ok(FAILED_RST).failed_breakdown).unwrap();
    assert_eq!(
        b,
        serde_json::json!({"connect": 0, "receive": 100, "length": 100, "exceptions": 100})
    );

    // Round trip through the pretty form that `lab parse-ab` prints.
    for text in REPORTS {
        let r = ok(text);
        let back: AbReport =
            serde_json::from_str(&serde_json::to_string_pretty(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }
}

#[test]
fn progress_lines_are_ignored() {
    let r = ok(PLAIN_PROGRESS);
    assert_eq!(r.complete_requests, Some(1000));
    assert_eq!(r.failed_requests, Some(0));
    assert_eq!(r.time_taken_s, Some(0.276));
    assert_eq!(r.requests_per_second, Some(3624.20));
    assert_eq!(r.time_per_request_ms, Some(2.759));
    assert_eq!(r.time_per_request_all_ms, Some(0.276));
    assert_eq!(r.transfer_rate_kbps, Some(346.85));
    let ct = r.connection_times.unwrap();
    assert_eq!(ct.connect, row(0.0, 0.0, 0.2, 0.0, 4.0));
    assert_eq!(ct.waiting, row(0.0, 3.0, 0.7, 2.0, 7.0));
    assert_eq!(ct.total, row(1.0, 3.0, 0.7, 3.0, 9.0));
    assert_eq!(
        r.percentiles,
        std_pcts([3.0, 3.0, 3.0, 3.0, 3.0, 4.0, 5.0, 6.0, 9.0])
    );
    assert_eq!(
        r.warnings,
        vec![
            "WARNING: The median and mean for the waiting time are not within a normal deviation These results are probably not that reliable.",
        ]
    );
}

#[test]
fn keepalive_run() {
    let r = ok(KEEPALIVE);
    assert_eq!(r.keepalive_requests, Some(1000));
    assert_eq!(r.complete_requests, Some(1000));
    assert_eq!(r.total_transferred, Some(155000));
    assert_eq!(r.requests_per_second, Some(18304.29));
    assert_eq!(r.time_per_request_ms, Some(0.546));
    assert_eq!(r.time_per_request_all_ms, Some(0.055));
    assert_eq!(r.transfer_rate_kbps, Some(2770.67));
    assert_eq!(
        r.connection_times.unwrap().total,
        row(0.0, 1.0, 0.6, 0.0, 7.0)
    );
    assert_eq!(r.percentiles.as_ref().unwrap()["50"], 0.0);
    assert_eq!(r.warnings.len(), 3, "{:?}", r.warnings);
    assert_eq!(
        r.warnings[2],
        "WARNING: The median and mean for the total time are not within a normal deviation These results are probably not that reliable."
    );
    // Without -k the line is absent.
    assert_eq!(ok(PLAIN_QUIET).keepalive_requests, None);
}

#[test]
fn non_2xx_are_not_failures() {
    let r = ok(NON2XX_ALL);
    assert_eq!(r.document_path.as_deref(), Some("/404"));
    assert_eq!(r.document_length, Some(10));
    assert_eq!(r.complete_requests, Some(200));
    assert_eq!(r.failed_requests, Some(0));
    assert_eq!(r.failed_breakdown, None);
    assert_eq!(r.non_2xx, Some(200));
    assert_eq!(r.requests_per_second, Some(3606.92));
    assert_eq!(r.total_transferred, Some(20600));

    // 404 pages of another length than the first (200) response: Length failures too.
    let r = ok(NON2XX_MIXED);
    assert_eq!(r.complete_requests, Some(300));
    assert_eq!(r.non_2xx, Some(100));
    assert_eq!(r.failed_requests, Some(100));
    assert_eq!(
        r.failed_breakdown,
        Some(FailedBreakdown {
            connect: 0,
            receive: 0,
            length: 100,
            exceptions: 0
        })
    );
    assert_eq!(r.concurrency, Some(5));
    assert!(r.warnings.is_empty());
}

#[test]
fn failed_requests_with_breakdown() {
    let r = ok(FAILED_LENGTH);
    assert_eq!(r.document_length, Some(19));
    assert_eq!(r.complete_requests, Some(500));
    assert_eq!(r.failed_requests, Some(454));
    assert_eq!(
        r.failed_breakdown,
        Some(FailedBreakdown {
            connect: 0,
            receive: 0,
            length: 454,
            exceptions: 0
        })
    );
    assert_eq!(r.html_transferred, Some(7544));

    let r = ok(FAILED_RST);
    assert_eq!(r.document_path.as_deref(), Some("/rst"));
    assert_eq!(r.complete_requests, Some(400));
    assert_eq!(r.failed_requests, Some(300));
    assert_eq!(
        r.failed_breakdown,
        Some(FailedBreakdown {
            connect: 0,
            receive: 100,
            length: 100,
            exceptions: 100
        })
    );
    assert_eq!(r.non_2xx, None);
}

#[test]
fn post_keeps_the_received_transfer_rate() {
    let r = ok(POST);
    assert_eq!(r.document_path.as_deref(), Some("/post"));
    assert_eq!(r.complete_requests, Some(200));
    assert_eq!(r.total_transferred, Some(19600));
    assert_eq!(r.html_transferred, Some(2400));
    assert_eq!(r.transfer_rate_kbps, Some(337.24));
    assert_eq!(r.time_per_request_all_ms, Some(0.284));
    assert_eq!(
        r.connection_times.unwrap().waiting,
        row(0.0, 1.0, 0.2, 1.0, 1.0)
    );
    assert!(r.warnings.is_empty());
}

#[test]
fn slow_server_times() {
    let r = ok(SLOW);
    let ct = r.connection_times.unwrap();
    assert_eq!(ct.processing, row(50.0, 51.0, 0.5, 51.0, 53.0));
    assert_eq!(ct.total, row(50.0, 51.0, 0.6, 51.0, 54.0));
    assert_eq!(r.time_per_request_ms, Some(56.329));
    assert_eq!(r.requests_per_second, Some(177.53));
    assert_eq!(
        r.percentiles,
        std_pcts([51.0, 51.0, 51.0, 51.0, 52.0, 52.0, 53.0, 54.0, 54.0])
    );
}

#[test]
fn tls_lines_and_openssl_noise_are_ignored() {
    let r = ok(TLS);
    assert_eq!(r.server_software.as_deref(), Some("SimpleHTTP/0.6"));
    assert_eq!(r.server_hostname.as_deref(), Some("127.0.0.1"));
    assert_eq!(r.server_port, Some(18443));
    assert_eq!(r.document_path.as_deref(), Some("/index.txt"));
    assert_eq!(r.document_length, Some(0));
    assert_eq!(r.concurrency, Some(2));
    assert_eq!(r.complete_requests, Some(50));
    assert_eq!(r.failed_requests, Some(50));
    assert_eq!(r.failed_breakdown.unwrap().length, 50);
    assert_eq!(r.total_transferred, Some(9900));
    assert_eq!(
        r.connection_times.unwrap().connect,
        row(1.0, 2.0, 0.6, 1.0, 3.0)
    );
    assert_eq!(
        r.warnings,
        vec![
            "WARNING: The median and mean for the initial connection time are not within a normal deviation These results are probably not that reliable.",
        ]
    );

    let r = ok(TLS_SNI);
    assert_eq!(r.server_hostname.as_deref(), Some("localhost"));
    assert_eq!(r.complete_requests, Some(4));
    assert_eq!(r.failed_requests, Some(4));
    assert_eq!(r.total_transferred, Some(792));
}

#[test]
fn empty_server_software_and_write_errors() {
    let r = ok(HC_EMPTY_SERVER);
    assert_eq!(r.server_software.as_deref(), Some(""));
    assert_eq!(r.write_errors, Some(7));
    assert_eq!(r.total_transferred, Some(0));
    assert_eq!(r.document_length, Some(0));
    assert!(r.warnings.is_empty());
    // Absent line → None.
    assert_eq!(ok(PLAIN_QUIET).write_errors, None);
    assert_eq!(ok(MINIMAL).server_software, None);
}

#[test]
fn no_confidence_table_rows_are_null_with_warnings() {
    let r = ok(NO_CONFIDENCE);
    assert_eq!(r.complete_requests, Some(200));
    let ct = r.connection_times.unwrap();
    assert_eq!(ct, ConnectionTimes::default());
    assert_eq!(r.warnings.len(), 4);
    assert!(r.warnings[0].contains("ab -S"), "{:?}", r.warnings);
    assert_eq!(r.percentiles.unwrap()["95"], 2.0);
}

#[test]
fn variable_document_length() {
    let r = ok(VARIABLE);
    assert_eq!(r.document_length, None);
    assert_eq!(r.failed_requests, Some(0));
    assert_eq!(r.complete_requests, Some(200));
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn verbose_dumps_are_ignored() {
    let r = ok(VERBOSE);
    assert_eq!(r.server_software.as_deref(), Some("labtest/1.0"));
    assert_eq!(r.document_length, Some(10));
    assert_eq!(r.complete_requests, Some(3));
    assert_eq!(r.failed_requests, Some(0));
    assert_eq!(r.non_2xx, Some(3));
    assert_eq!(r.total_transferred, Some(309));
    assert_eq!(r.requests_per_second, Some(2734.73));
    assert_eq!(
        r.connection_times.unwrap().total,
        row(0.0, 0.0, 0.2, 0.0, 1.0)
    );
    // `WARNING: Response code not 2xx (404)` is not a median/mean warning.
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn ab_error_variant_of_the_median_check() {
    let r = ok(HC_ERROR);
    assert_eq!(
        r.warnings,
        vec![
            "ERROR: The median and mean for the initial connection time are more than twice the standard deviation apart. These results are NOT reliable.",
            "WARNING: The median and mean for the total time are not within a normal deviation These results are probably not that reliable.",
        ]
    );
    // Everything else is as in the original output.
    assert_eq!(
        AbReport {
            warnings: vec![],
            ..r
        },
        ok(PLAIN_QUIET)
    );
}

#[test]
fn garbled_mandatory_lines_make_the_report_unusable() {
    assert_eq!(
        err(HC_GARBLED),
        "unusable ab report: line 17 does not parse: `Complete requests:      12x`; \
         line 22 does not parse: `Requests per second:    abc`"
    );
}

#[test]
fn garbled_optional_lines_become_nulls_and_warnings() {
    // HC_GARBLED with its two garbled mandatory lines readable again.
    let text = HC_GARBLED
        .replace(
            "Complete requests:      12x",
            "Complete requests:      1000",
        )
        .replace(
            "Requests per second:    abc",
            "Requests per second:    3353.71",
        );
    let r = ok(&text);
    assert_eq!(r.complete_requests, Some(1000));
    assert_eq!(r.server_port, None);
    assert_eq!(r.failed_requests, Some(3));
    assert_eq!(r.failed_breakdown, None);
    let ct = r.connection_times.unwrap();
    assert_eq!(ct.processing, None);
    assert_eq!(ct.waiting, row(0.0, 3.0, 0.4, 3.0, 5.0));
    let p = r.percentiles.unwrap();
    assert!(!p.contains_key("90"));
    assert_eq!(p["95"], 4.0);
    // The rest is intact.
    assert_eq!(r.time_per_request_ms, Some(2.982));
    assert_eq!(r.server_hostname.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        r.warnings,
        vec![
            "could not parse line 10: `Server Port:            99999`",
            "could not parse line 19: `(Connect: 0, Receive: 0, Length: zz, Exceptions: 0)`",
            "could not parse line 30: `Processing:     0    3   0.5`",
            "could not parse line 39: `90%      x`",
        ]
    );
}

#[test]
fn non_finite_numbers_are_garbled() {
    let r = ok(&format!(
        "{MINIMAL}Transfer rate: nan [Kbytes/sec] received\nTime per request: inf [ms] (mean)\n"
    ));
    assert_eq!(r.complete_requests, Some(5));
    assert_eq!(r.transfer_rate_kbps, None);
    assert_eq!(r.time_per_request_ms, None);
    assert_eq!(r.warnings.len(), 2);
    // In a mandatory line they make the report unusable.
    let text = MINIMAL.replace("3.33", "nan").replace("1.5", "inf");
    assert_eq!(
        err(&text),
        "unusable ab report: line 1 does not parse: `Time taken for tests: inf seconds`; \
         line 4 does not parse: `Requests per second: nan [#/sec] (mean)`"
    );
}

#[test]
fn a_missing_mandatory_line_is_an_error_naming_it() {
    for (label, line) in MANDATORY_LINES {
        assert!(PLAIN_QUIET.contains(line), "{line:?}");
        let text = PLAIN_QUIET.replace(line, "");
        assert_eq!(
            parse(&text),
            Err(AbParseError::Unusable(format!("no `{label}` line"))),
            "without {label}"
        );
    }
    // A missing failure count is not zero failures.
    let text = PLAIN_QUIET
        .replace(MANDATORY_LINES[1].1, "")
        .replace(MANDATORY_LINES[2].1, "");
    assert_eq!(
        err(&text),
        "unusable ab report: no `Complete requests`, `Failed requests` lines"
    );
    // Missing and garbled together: both are named.
    let text = PLAIN_QUIET.replace(MANDATORY_LINES[2].1, "").replace(
        "Complete requests:      1000",
        "Complete requests:      many",
    );
    assert_eq!(
        err(&text),
        "unusable ab report: no `Failed requests` line; line 17 does not parse: `Complete requests:      many`"
    );
    assert!(parse(MINIMAL).is_ok());
}

#[test]
fn negative_times_and_rates_are_errors() {
    let cases = [
        (
            "Time taken for tests:   0.298",
            "Time taken for tests:   -0.298",
            16,
        ),
        (
            "Requests per second:    3353.71",
            "Requests per second:    -3353.71",
            21,
        ),
        (
            "Time per request:       2.982",
            "Time per request:       -2.982",
            22,
        ),
        (
            "Transfer rate:          320.96",
            "Transfer rate:          -320.96",
            24,
        ),
        ("Connect:        0    0", "Connect:        -5    0", 28),
        ("  99%      4", "  99%      -4", 41),
    ];
    for (good, bad, n) in cases {
        assert!(PLAIN_QUIET.contains(good), "{good:?}");
        let e = err(&PLAIN_QUIET.replacen(good, bad, 1));
        assert!(
            e.starts_with(&format!(
                "unusable ab report: line {n} has a negative time or rate: `{}",
                bad.trim()
            )),
            "{e}"
        );
    }
}

#[test]
fn a_wrapped_ab_warning_is_one_warning() {
    let text = format!(
        "{MINIMAL}WARNING: The median and mean for the waiting time are not within a normal deviation\n        These results are probably not that reliable.\n"
    );
    assert_eq!(
        ok(&text).warnings,
        vec!["WARNING: The median and mean for the waiting time are not within a normal deviation These results are probably not that reliable."]
    );
    // Every fixture: no warning starts with the second half.
    for text in REPORTS {
        let r = ok(text);
        assert!(
            r.warnings
                .iter()
                .all(|w| !w.starts_with("These results") && !w.starts_with("deviation apart")),
            "{:?}",
            r.warnings
        );
    }
}

#[test]
fn case_spacing_and_crlf_variations() {
    let r = ok(HC_CASE);
    let reference = ok(KEEPALIVE);
    assert_eq!(r, reference);
    assert_eq!(r.server_software.as_deref(), Some("labtest/1.0"));
    assert_eq!(r.document_length, Some(12));
    assert_eq!(r.keepalive_requests, Some(1000));
    assert_eq!(r.time_per_request_all_ms, Some(0.055));
    assert_eq!(r.percentiles.as_ref().unwrap()["100"], 7.0);
}

#[test]
fn crlf_gives_the_same_report() {
    for text in REPORTS {
        let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
        assert_eq!(ok(&crlf), ok(text));
    }
    for text in NO_REPORTS {
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(parse(&crlf), parse(text));
    }
}

#[test]
fn percentile_table_from_an_e_run() {
    let r = ok(CSV_RUN);
    assert_eq!(r.complete_requests, Some(1000));
    assert_eq!(r.percentiles.unwrap()["99"], 4.0);
}

#[test]
fn percentile_csv() {
    let m = parse_percentile_csv(CSV).unwrap();
    assert_eq!(m.len(), 101);
    assert_eq!(m["0"], 0.912);
    assert_eq!(m["1"], 1.669);
    assert_eq!(m["50"], 2.424);
    assert_eq!(m["99"], 3.559);
    assert_eq!(m["100"], 4.043);
    assert_eq!(parse_percentile_csv(&CSV.replace('\n', "\r\n")).unwrap(), m);
    // No header is fine too.
    let m = parse_percentile_csv("0,1.5\n100,2.5\n").unwrap();
    assert_eq!(m, pcts(&[("0", 1.5), ("100", 2.5)]).unwrap());
}

#[test]
fn percentile_csv_errors() {
    let e = |t: &str| parse_percentile_csv(t).unwrap_err().to_string();
    assert_eq!(e(""), "not an ab percentile CSV: empty input");
    assert_eq!(
        e("Percentage served,Time in ms\n"),
        "not an ab percentile CSV: no `percent,ms` rows"
    );
    assert_eq!(
        e("Percentage served,Time in ms\n0,1.0\n1,abc\n"),
        "not an ab percentile CSV: could not parse line 3: `1,abc`"
    );
    assert_eq!(
        e("Percentage served,Time in ms\nhello\n"),
        "not an ab percentile CSV: could not parse line 2: `hello`"
    );
    // A report is not a CSV.
    assert!(parse_percentile_csv(PLAIN_QUIET).is_err());
}

#[test]
fn no_report_errors_quote_the_telling_line() {
    let cases = [
        (
            CONN_REFUSED,
            "no ab report found: ab printed `apr_socket_recv: Connection refused (111)`",
        ),
        (
            TIMEOUT,
            "no ab report found: ab printed `apr_pollset_poll: The timeout specified has expired (70007)`",
        ),
        (
            TIMEOUT_MIDRUN,
            "no ab report found: ab printed `apr_pollset_poll: The timeout specified has expired (70007)` (Total of 362 requests completed)",
        ),
        (
            RESET_FATAL,
            "no ab report found: ab printed `apr_socket_recv: Connection reset by peer (104)` (Total of 2 requests completed)",
        ),
        (
            TLS_TO_PLAIN,
            "no ab report found: ab printed `apr_pollset_poll: The timeout specified has expired (70007)`",
        ),
        (USAGE, "no ab report found: ab printed `ab: invalid URL`"),
        (N0, "no ab report found: ab printed `Invalid number of requests`"),
        ("", "no ab report found: empty input (ab printed nothing)"),
        (" \r\n\n", "no ab report found: empty input (ab printed nothing)"),
    ];
    for (text, want) in cases {
        assert_eq!(err(text), want);
    }
}

#[test]
fn no_report_errors_for_truncated_outputs() {
    let banner: String = PLAIN_QUIET
        .lines()
        .take(4)
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        err(&banner),
        "no ab report found: ab printed only its banner"
    );

    let done: String = PLAIN_QUIET
        .lines()
        .take(7)
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        err(&done),
        "no ab report found: ab printed `Benchmarking 127.0.0.1 (be patient).....done` but no statistics"
    );

    let progress: String = PLAIN_PROGRESS
        .lines()
        .take(12)
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        err(&progress),
        "no ab report found: ab printed `Completed 700 requests` but no statistics"
    );

    // Only the header part of a report: still no statistics.
    let header: String = PLAIN_QUIET
        .lines()
        .take(14)
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(parse(&header).is_err());

    assert_eq!(
        err("Usage: ab [options] [http[s]://]hostname[:port]/path\n"),
        "no ab report found: ab printed `Usage: ab [options] [http[s]://]hostname[:port]/path`"
    );
    assert_eq!(
        err("Benchmarking h (be patient)...\nTest aborted after 10 failures\n\napr_socket_connect(): Connection refused (111)\n"),
        "no ab report found: ab printed `apr_socket_connect(): Connection refused (111)`"
    );
    assert_eq!(
        err("sh: 1: ab: not found\n"),
        "no ab report found: ab printed `sh: 1: ab: not found`"
    );
}

#[test]
fn error_messages_are_one_line() {
    for text in NO_REPORTS {
        let msg = err(text);
        assert!(!msg.contains('\n') && !msg.contains('\r'), "{msg:?}");
    }
    let long = "x".repeat(1000);
    let msg = err(&long);
    assert!(msg.len() < 300, "{msg}");
}

#[test]
fn every_report_fixture_parses_with_the_key_fields() {
    for text in REPORTS {
        let r = ok(text);
        assert_eq!(r.ab_version.as_deref(), Some("2.3"));
        // What parse guarantees on Ok.
        assert!(r.time_taken_s.is_some());
        assert!(r.complete_requests.is_some());
        assert!(r.failed_requests.is_some());
        assert!(r.requests_per_second.is_some());
        assert!(r.time_per_request_ms.is_some());
        assert!(r.percentiles.as_ref().is_some_and(|p| p.len() >= 8));
        assert!(r.connection_times.is_some());
    }
}

#[test]
fn parses_the_per_request_file_by_start_second_and_total_time() {
    // As ab 2.3 writes it (Debian's apache2-utils and httpd:2.4 alike).
    let text = "starttime\tseconds\tctime\tdtime\tttime\twait\n\
        Thu Dec 03 20:00:01 2026\t1796328001\t0\t1\t1\t1\n\
        Thu Dec 03 20:00:01 2026\t1796328001\t0\t2\t2\t2\n\
        Thu Dec 03 20:00:02 2026\t1796328002\t0\t1\t1\t1\n\
        Thu Dec 03 20:00:01 2026\t1796328001\t0\t1\t1\t0\n";
    let log = parse_gnuplot(text).unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[&1796328001], [(1, 2), (2, 1)].into_iter().collect());
    assert_eq!(log[&1796328002], [(1, 1)].into_iter().collect());
    let e = parse_gnuplot("starttime\tseconds\tctime\tdtime\tttime\twait\nnope\n").unwrap_err();
    assert!(e.to_string().contains("line 2"), "{e}");
    assert!(parse_gnuplot("").is_err());
    assert!(parse_gnuplot("Percentage served,Time in ms\n").is_err());
}
