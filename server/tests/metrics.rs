//! `GET /metrics` against both binaries: the format a Prometheus-style parser expects, and
//! values that follow what the server really did (see `server/src/metrics.rs`).

#[macro_use]
mod common;

use common::{Client, Model, Server};

both_models!(
    metrics_format,
    metrics_head,
    requests_total_counts_answers_not_scrapes,
    connections_open_peak_resets_per_scrape,
    threads_alive_peak,
);

/// The names, in order, with their types. The lab driver parses exactly these.
const METRICS: &[(&str, &str)] = &[
    ("server_info", "gauge"),
    ("server_requests_total", "counter"),
    ("server_connections_accepted_total", "counter"),
    ("server_connections_open", "gauge"),
    ("server_connections_open_peak", "gauge"),
    ("server_threads_alive", "gauge"),
    ("server_threads_alive_peak", "gauge"),
    ("server_rejected_total", "counter"),
    ("server_accept_errors_total", "counter"),
    ("process_resident_memory_bytes", "gauge"),
    ("process_resident_memory_peak_bytes", "gauge"),
];

fn metrics_format(model: Model) {
    let server = Server::start(model);
    let mut client = server.client();
    let reply = client.get("/metrics");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("Content-Type"),
        Some("text/plain; version=0.0.4")
    );
    let text = reply.body_text();
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        assert_sample_line(line);
    }
    for (name, kind) in METRICS {
        let type_line = format!("# TYPE {name} {kind}");
        assert!(
            text.lines().any(|line| line == type_line),
            "no `{type_line}` in:\n{text}"
        );
        assert!(
            text.lines().any(|line| sample_name(line) == Some(name)),
            "no sample of {name} in:\n{text}"
        );
    }
    let scrape = common::Scrape { text };
    let label = match model {
        Model::Async => "async",
        Model::Thread => "thread",
    };
    assert_eq!(
        scrape.value(&format!("server_info{{model=\"{label}\"}}")),
        1
    );
    for reason in ["connection_cap", "spawn_failed"] {
        let series = format!("server_rejected_total{{reason=\"{reason}\"}}");
        assert_eq!(scrape.value(&series), 0);
    }
    assert_eq!(scrape.value("server_accept_errors_total"), 0);
    assert!(scrape.value("process_resident_memory_bytes") > 0);
    assert!(
        scrape.value("process_resident_memory_peak_bytes")
            >= scrape.value("process_resident_memory_bytes")
    );
}

/// `name{labels} value`, labels optional, value a number: checked by hand so that the test
/// does not depend on one parser's leniency.
fn assert_sample_line(line: &str) {
    let (series, value) = line
        .rsplit_once(' ')
        .unwrap_or_else(|| panic!("no `series value` in {line:?}"));
    assert!(value.parse::<f64>().is_ok(), "value of {line:?}");
    let (name, labels) = match series.split_once('{') {
        Some((name, rest)) => (name, Some(rest)),
        None => (series, None),
    };
    let mut chars = name.chars();
    assert!(
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':'),
        "name of {line:?}"
    );
    assert!(
        chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
        "name of {line:?}"
    );
    if let Some(rest) = labels {
        let labels = rest
            .strip_suffix('}')
            .unwrap_or_else(|| panic!("labels of {line:?}"));
        for pair in labels.split(',') {
            let (key, quoted) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("label of {line:?}"));
            assert!(!key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
            assert!(
                quoted.len() >= 2 && quoted.starts_with('"') && quoted.ends_with('"'),
                "label value of {line:?}"
            );
        }
    }
}

fn sample_name(line: &str) -> Option<&str> {
    if line.starts_with('#') {
        return None;
    }
    line.split([' ', '{']).next()
}

fn metrics_head(model: Model) {
    let server = Server::start(model);
    let mut client = server.client();
    client.send(b"HEAD /metrics HTTP/1.1\r\nHost: t\r\n\r\n");
    let reply = client.head_response();
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("Content-Type"),
        Some("text/plain; version=0.0.4")
    );
    assert!(reply.header("Content-Length").is_some());
    // No body followed: the next answer parses cleanly.
    assert_eq!(client.get("/healthz").body_text(), "ok\n");
}

fn requests_total_counts_answers_not_scrapes(model: Model) {
    let server = Server::start(model);
    let mut scraper = server.client();
    let before = scraper.scrape();
    let mut client = server.client();
    for path in ["/", "/healthz", "/nope", "/bytes/10"] {
        client.get(path);
    }
    // An error answer counts too, on a connection of its own.
    let mut bad = server.client();
    bad.send(b"GET / HTTP/1.1\r\nno colon\r\n\r\n");
    assert_eq!(bad.response().status, 400);
    scraper.scrape();
    let after = scraper.scrape();
    let requests = "server_requests_total";
    assert_eq!(after.value(requests) - before.value(requests), 5);
    let accepted = "server_connections_accepted_total";
    assert_eq!(after.value(accepted) - before.value(accepted), 2);
    assert!(after.value("server_connections_open") >= 2);
}

fn connections_open_peak_resets_per_scrape(model: Model) {
    const N: u64 = 20;
    let server = Server::start(model);
    let mut scraper = server.client();
    scraper.scrape();
    let mut held: Vec<Client> = (0..N).map(|_| server.client()).collect();
    for client in &mut held {
        assert_eq!(client.get("/").status, 200);
    }
    drop(held);
    // The burst is over, but the next scrape still shows it...
    let scrape = scraper.scrape();
    assert!(
        scrape.value("server_connections_open_peak") > N,
        "{}",
        scrape.text
    );
    // ...and once the server has seen the closes, the scrape after falls back to what is
    // open: the scraper's own connection.
    scraper.scrape_until("server_connections_open", |open| open == 1);
    let scrape = scraper.scrape();
    assert_eq!(scrape.value("server_connections_open_peak"), 1);
    assert_eq!(scrape.value("server_connections_open"), 1);
}

fn threads_alive_peak(model: Model) {
    match model {
        Model::Async => async_workers_are_the_threads(),
        Model::Thread => thread_per_connection_peak(),
    }
}

fn async_workers_are_the_threads() {
    let server = Server::start_with(Model::Async, &["--workers", "3"]);
    let mut scraper = server.client();
    for _ in 0..2 {
        let scrape = scraper.scrape();
        assert_eq!(scrape.value("server_threads_alive"), 3);
        assert_eq!(scrape.value("server_threads_alive_peak"), 3);
    }
}

fn thread_per_connection_peak() {
    const N: u64 = 8;
    let server = Server::start(Model::Thread);
    let mut scraper = server.client();
    scraper.scrape();
    // N requests sleeping at once, each on its own connection (and so its own thread).
    let mut sleepers: Vec<Client> = (0..N).map(|_| server.client()).collect();
    for client in &mut sleepers {
        client.send(b"GET /sleep/50 HTTP/1.1\r\nHost: t\r\n\r\n");
    }
    for client in &mut sleepers {
        assert_eq!(client.response().status, 200);
    }
    drop(sleepers);
    let scrape = scraper.scrape();
    assert!(
        scrape.value("server_threads_alive_peak") > N,
        "{}",
        scrape.text
    );
    scraper.scrape_until("server_threads_alive", |alive| alive == 1);
    assert_eq!(scraper.scrape().value("server_threads_alive_peak"), 1);
}
