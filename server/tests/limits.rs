//! The process limits on threads (issue 21): a server asked for more threads than the
//! kernel lets it start degrades or refuses with a reason; it never aborts.
//!
//! A test binary of its own: the big test holds ~20,000 sockets, more than other tests
//! running beside it in one process could share.

#[macro_use]
mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;

use common::{Model, Server};

/// Connections the big test opens (fewer where the open-file limit is lower).
const CONNECTIONS: u64 = 19_900;

/// Before: `server-async --workers 100000` aborted (exit 134) once the threads no longer
/// fit in `vm.max_map_count`.
#[test]
fn async_refuses_more_workers_than_it_can_start() {
    let (code, stderr) = common::run_to_exit(Model::Async, &["--workers", "100000"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--workers 100000 is more than the threads"),
        "{stderr}"
    );
    assert!(!stderr.contains("fatal runtime error"), "{stderr}");
}

/// Before: with `--max-connections 19980` the thread model aborted at ~16,366 threads
/// ("failed to set up alternative stack guard page"), every connection lost. Now the
/// connections past what fits are answered 503, and the server stays up and serves again
/// once connections close.
#[test]
fn thread_model_answers_503_past_its_thread_limit_and_stays_up() {
    let connections = raise_open_files_limit()
        .saturating_sub(100)
        .min(CONNECTIONS);
    let mut server = Server::start_with(
        Model::Thread,
        &[
            "--max-connections",
            "19980",
            "--keepalive-timeout",
            "300s",
            "--backlog",
            "4096",
        ],
    );
    let (mut served, mut refused) = (Vec::new(), Vec::new());
    for _ in 0..connections {
        match one_request(&server) {
            Ok((stream, 200)) => served.push(stream),
            Ok((stream, 503)) => refused.push(stream),
            outcome => panic!(
                "{outcome:?} after {} served and {} refused; the server's log:\n{}",
                served.len(),
                refused.len(),
                server.stderr()
            ),
        }
    }
    assert!(server.is_running(), "the server died:\n{}", server.stderr());
    eprintln!(
        "{connections} connections: {} served, {} answered 503",
        served.len(),
        refused.len()
    );
    if !refused.is_empty() {
        server.assert_logged("--max-connections is more than the threads");
    }

    // Connections that close make room again.
    served.truncate(served.len().saturating_sub(1000));
    let mut client = wait_for_200(&server);
    let scrape = client.scrape();
    assert_eq!(
        scrape.value("server_rejected_total{reason=\"spawn_failed\"}"),
        refused.len() as u64
    );
    drop((served, refused));
    assert!(server.is_running());
}

/// Connect, send `GET /`, read the status line: the stream (kept open) and the status.
fn one_request(server: &Server) -> std::io::Result<(TcpStream, u16)> {
    let mut stream = TcpStream::connect(server.addr)?;
    stream.set_read_timeout(Some(common::PATIENCE))?;
    stream.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    let status = std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::new(ErrorKind::InvalidData, "not a status line"))?;
    Ok((stream, status))
}

/// A `GET /` answered 200 on a fresh connection (the closes above take a moment to reach
/// the server's threads).
fn wait_for_200(server: &Server) -> common::Client {
    let deadline = std::time::Instant::now() + common::PATIENCE;
    loop {
        let mut client = server.client();
        client.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
        if client
            .try_response()
            .is_some_and(|reply| reply.status == 200)
        {
            return client;
        }
        assert!(std::time::Instant::now() < deadline, "never served again");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Raise this process's open-file limit to its hard limit (the server, started from here,
/// inherits it); the new limit.
fn raise_open_files_limit() -> u64 {
    // SAFETY: plain system calls with valid pointers.
    unsafe {
        let mut limit = std::mem::zeroed::<libc::rlimit>();
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        limit.rlim_cur
    }
}
