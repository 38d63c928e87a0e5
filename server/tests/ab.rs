//! Real ApacheBench against both binaries: every request must succeed with a 2xx, and
//! `ab -k` must really keep connections alive.
//!
//! Without `ab` on PATH these tests print why they skip, except under `CI=true`, where a
//! missing `ab` is a failure.

mod common;

use std::process::Command;

use common::{Model, Server};

fn ab_available() -> bool {
    let found = Command::new("ab")
        .arg("-V")
        .output()
        .is_ok_and(|out| out.status.success());
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("`ab` (apache2-utils) is not on PATH, and CI=true requires it");
        }
        eprintln!("skipped: `ab` (apache2-utils) is not on PATH");
    }
    found
}

/// Run ab with `args` against `/` and return its stdout after the common checks.
fn run_ab(server: &Server, args: &[&str], requests: u32) -> String {
    let url = format!("http://{}/", server.addr);
    let output = Command::new("ab")
        .args(["-q", "-s", "20"])
        .args(args)
        .arg(&url)
        .output()
        .expect("run ab");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "ab failed: {:?}\n{stdout}\n{stderr}",
        output.status
    );
    let field = |name: &str| -> Option<String> {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .map(|rest| rest.trim().to_string())
    };
    assert_eq!(
        field("Complete requests:").as_deref(),
        Some(requests.to_string().as_str()),
        "{stdout}"
    );
    assert_eq!(field("Failed requests:").as_deref(), Some("0"), "{stdout}");
    assert!(field("Non-2xx responses:").is_none(), "{stdout}");
    assert_eq!(
        field("Document Length:").as_deref(),
        Some("15 bytes"),
        "{stdout}"
    );
    let software = field("Server Software:").unwrap_or_default();
    assert!(
        software.starts_with(server.model.server_prefix()),
        "{stdout}"
    );
    stdout
}

fn ab_close(model: Model) {
    if !ab_available() {
        return;
    }
    let server = Server::start(model);
    run_ab(&server, &["-n", "2000", "-c", "100"], 2000);
}

fn ab_keepalive(model: Model) {
    if !ab_available() {
        return;
    }
    let server = Server::start(model);
    let stdout = run_ab(&server, &["-k", "-n", "5000", "-c", "50"], 5000);
    let keep_alive = stdout
        .lines()
        .find_map(|line| line.strip_prefix("Keep-Alive requests:"))
        .map(str::trim);
    assert_eq!(keep_alive, Some("5000"), "{stdout}");
}

#[test]
fn async_ab_close() {
    ab_close(Model::Async);
}

#[test]
fn thread_ab_close() {
    ab_close(Model::Thread);
}

#[test]
fn async_ab_keepalive() {
    ab_keepalive(Model::Async);
}

#[test]
fn thread_ab_keepalive() {
    ab_keepalive(Model::Thread);
}
