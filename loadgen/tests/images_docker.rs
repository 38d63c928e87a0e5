//! `lab images` builds both server images offline; each is small, runs as non-root, answers
//! `GET /` with 200 from a running container, and stops cleanly on `docker stop`.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::*;

fn docker(args: &[&str]) -> String {
    let o = Command::new("docker").args(args).output().unwrap();
    assert!(o.status.success(), "docker {args:?}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

#[test]
fn server_images_are_small_non_root_answer_and_stop_cleanly() {
    if !docker_available("server_images_are_small_non_root_answer_and_stop_cleanly") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let o = lab(&["images", "lab.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    let listed = String::from_utf8_lossy(&o.stdout);
    assert!(
        listed.contains("lab/server-async") && listed.contains("lab/server-thread"),
        "{listed}"
    );

    for (image, server_header) in [
        ("lab/server-async", "lab-async/"),
        ("lab/server-thread", "lab-thread/"),
    ] {
        let size: u64 = docker(&["image", "inspect", "-f", "{{.Size}}", image])
            .parse()
            .unwrap();
        assert!(size < 5_000_000, "{image} is {size} bytes");
        assert_eq!(
            docker(&["image", "inspect", "-f", "{{.Config.User}}", image]),
            "65534:65534"
        );

        let name = format!("lab-test-image-{}", std::process::id());
        let id = docker(&[
            "run",
            "-d",
            "--name",
            &name,
            "--label",
            "lab.run=image-test",
            "--read-only",
            "--cap-drop",
            "ALL",
            "--memory",
            "64m",
            "--cpus",
            "1",
            image,
        ]);
        let result = std::panic::catch_unwind(|| {
            let ip = docker(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", &id]);
            let port = if image.ends_with("async") {
                45000
            } else {
                46000
            };
            let response = get_with_retries(&ip, port);
            assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
            assert!(response.contains(server_header), "{response}");
            docker(&["stop", "-t", "10", &id]);
            // Exit 0 means the server handled SIGTERM itself; a kill after the grace
            // period would show 137.
            assert_eq!(docker(&["inspect", "-f", "{{.State.ExitCode}}", &id]), "0");
        });
        let _ = Command::new("docker").args(["rm", "-f", &id]).output();
        if let Err(e) = result {
            std::panic::resume_unwind(e);
        }
    }
}

/// The container needs a moment to bind; retry connecting for up to ~10 s.
fn get_with_retries(ip: &str, port: u16) -> String {
    let addr = format!("{ip}:{port}").parse().unwrap();
    for _ in 0..100 {
        if let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            return out;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{ip}:{port} never accepted a connection");
}
