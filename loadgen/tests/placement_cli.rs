//! Placement checks that need no real Docker: `lab run` against two tiny fake daemons (unix
//! sockets that answer the handful of API calls the lab makes before it starts anything),
//! one of which says it is an arm64 machine. The run must stop in one line that names the
//! role and its endpoint, before any run folder exists.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::Path;

use common::*;

/// Serve a fake Docker API on `socket` until the test process ends.
fn fake_daemon(socket: &Path, arch: &'static str, id: &'static str) {
    let listener = UnixListener::bind(socket).unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut writer = conn;
                loop {
                    let mut request = String::new();
                    if reader.read_line(&mut request).unwrap_or(0) == 0 {
                        return;
                    }
                    // Skip the headers (no request the lab makes here has a body).
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                            break;
                        }
                    }
                    let path = request.split_whitespace().nth(1).unwrap_or("/");
                    let body = answer(path, arch, id);
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nApi-Version: 1.41\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    if writer.write_all(head.as_bytes()).is_err()
                        || writer.write_all(body.as_bytes()).is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
}

fn answer(path: &str, arch: &str, id: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    if path.ends_with("/_ping") {
        "OK".into()
    } else if path.ends_with("/version") {
        serde_json::json!({
            "Version": "20.10.24", "ApiVersion": "1.41", "MinAPIVersion": "1.12",
            "Os": "linux", "Arch": if arch == "aarch64" { "arm64" } else { "amd64" },
            "KernelVersion": "6.1.0",
            "Components": [{ "Name": "Engine", "Version": "20.10.24" }],
        })
        .to_string()
    } else if path.ends_with("/info") {
        serde_json::json!({
            "ID": "same-key", "Name": format!("fake-{id}"), "OSType": "linux",
            "Architecture": arch, "NCPU": 4, "MemTotal": 8_000_000_000u64,
            "KernelVersion": "6.1.0", "OperatingSystem": "Fake OS", "CgroupVersion": "2",
        })
        .to_string()
    } else if path.ends_with("/networks") {
        serde_json::json!([{ "Id": format!("none-of-{id}"), "Name": "none" }]).to_string()
    } else {
        "{}".into()
    }
}

#[test]
fn a_loadgen_host_of_another_architecture_fails_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let servers = dir.path().join("servers.sock");
    let loadgen = dir.path().join("loadgen.sock");
    fake_daemon(&servers, "x86_64", "a");
    fake_daemon(&loadgen, "aarch64", "b");
    let out_dir = dir.path().join("results");
    let yaml = format!(
        r#"name: arch
output: {}
hosts:
  servers: "unix://{}"
  loadgen: {{ docker: "unix://{}" }}
servers: [{{ name: async, model: async, port: 45000 }}]
resources: {{ cpus: 1, memory: 64m }}
loadgen: {{ requests: 10, concurrency: 1 }}
workloads: [{{ name: w, path: / }}]
"#,
        out_dir.display(),
        servers.display(),
        loadgen.display()
    );
    let file = lab_file(dir.path(), "arch.yaml", &yaml);
    let error = bad_input_error(&file);
    assert!(error.contains("the load generator's host"), "{error}");
    assert!(error.contains(&loadgen.display().to_string()), "{error}");
    assert!(error.contains("aarch64"), "{error}");
    assert!(
        !out_dir.exists(),
        "nothing may start: {}",
        out_dir.display()
    );

    // `lab check` prints the placement without connecting to either daemon.
    let check = lab(&["check", file.to_str().unwrap()]);
    assert!(check.status.success(), "{}", text(&check));
    let plan = String::from_utf8_lossy(&check.stdout);
    assert!(
        plan.contains(&format!("servers on unix://{}", servers.display())),
        "{plan}"
    );
    assert!(
        plan.contains(&format!("load generator on unix://{}", loadgen.display())),
        "{plan}"
    );

    // Flags win over the file: both roles on the x86_64 daemon get past the platform check
    // (and then fail on the fake daemon's missing image API, which is not this test's).
    let flagged = lab(&[
        "check",
        file.to_str().unwrap(),
        "--loadgen-host",
        &format!("unix://{}", servers.display()),
    ]);
    assert!(flagged.status.success(), "{}", text(&flagged));
    assert!(
        String::from_utf8_lossy(&flagged.stdout)
            .contains("placement: servers and load generator on one Docker host"),
        "{}",
        text(&flagged)
    );
}

#[test]
fn bad_hosts_name_the_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    for (hosts, field, says) in [
        (
            "  loadgen: docker.sock\n",
            "hosts.loadgen.docker",
            "not a Docker endpoint",
        ),
        (
            "  servers: { docker: \"tcp://10.0.0.5:2376\", address: \"10.0.0.5:45000\" }\n",
            "hosts.servers.address",
            "port",
        ),
        (
            "  loadgen: { docker: \"unix:///x.sock\", address: a }\n",
            "hosts.loadgen",
            "unknown field `address`",
        ),
        (
            "  servers: { docker: \"unix:///x.sock\", tls: /certs }\n",
            "hosts.servers.tls",
            "tcp://",
        ),
    ] {
        let yaml = format!(
            "name: bad\nhosts:\n{hosts}servers: [{{ name: a, model: async, port: 45000 }}]\n\
             resources: {{ cpus: 1, memory: 64m }}\nloadgen: {{ requests: 10, concurrency: 1 }}\n\
             workloads: [{{ name: w, path: / }}]\n"
        );
        let file = lab_file(dir.path(), "bad.yaml", &yaml);
        let out = lab(&["check", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains("bad.yaml:3:"), "{stderr}");
        assert!(stderr.contains(field), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
    }
}
