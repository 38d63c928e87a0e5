//! The behaviour suite, run against both binaries: every case below becomes
//! `async_model::<case>` and `thread_model::<case>`.

#[macro_use]
mod common;

use std::io::ErrorKind;
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::{one_worker, Client, Model, Server, PATIENCE};

both_models!(
    get_root,
    head_everywhere,
    routes,
    keepalive_http11,
    keepalive_http10,
    connection_close,
    pipelining,
    body_is_read_and_discarded,
    bad_request_400,
    header_too_large_431,
    body_too_large_413,
    transfer_encoding_501,
    content_length_and_transfer_encoding_400,
    http_version_505,
    method_not_allowed_405,
    not_found_404,
    read_timeout_408,
    idle_keepalive_closes_silently,
    slow_client_does_not_block_others,
    max_connections_queues,
    thousand_concurrent_connections,
    graceful_shutdown_drains,
    sighup_drains_like_sigterm,
    expect_100_continue,
);

fn get_root(model: Model) {
    let server = Server::start(model);
    let reply = server.client().get("/");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body_text(), "hello from lab\n");
    assert_eq!(reply.header("Content-Length"), Some("15"));
    assert_eq!(reply.header("Content-Type"), Some("text/plain"));
    let date = reply.header("Date").expect("a Date header");
    assert!(httpdate::parse_http_date(date).is_ok(), "{date}");
    let name = reply.header("Server").expect("a Server header");
    assert_eq!(
        name,
        format!("{}{}", model.server_prefix(), env!("CARGO_PKG_VERSION"))
    );
}

fn head_everywhere(model: Model) {
    let server = Server::start(model);
    let mut client = server.client();
    for path in [
        "/",
        "/healthz",
        "/sleep/1",
        "/cpu/1",
        "/bytes/100",
        "/bytes/100000",
        "/nope",
        "/sleep/x",
    ] {
        let get = client.get(path);
        client.send(format!("HEAD {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        let head = client.head_response();
        assert_eq!(head.status, get.status, "{path}");
        assert_eq!(
            head.header("Content-Length"),
            get.header("Content-Length"),
            "{path}"
        );
        assert!(head.body.is_empty());
    }
    // No stray body bytes followed the HEAD responses: the next answer parses cleanly.
    assert_eq!(client.get("/healthz").body_text(), "ok\n");
}

fn routes(model: Model) {
    let server = Server::start(model);
    let mut client = server.client();
    let reply = client.get("/healthz");
    assert_eq!((reply.status, reply.body_text().as_str()), (200, "ok\n"));
    assert_eq!(client.get("/sleep/20").status, 200);
    let reply = client.get("/cpu/3");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.body_text(),
        format!("cpu 3 {:016x}\n", server::routes::burn_cpu(3))
    );
    for n in [0usize, 1, 10, 16384, 16385, 100_000, 1 << 20] {
        let reply = client.get(&format!("/bytes/{n}"));
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body.len(), n);
        assert!(reply.body.iter().all(|&b| b == b'x'));
    }
    assert_eq!(client.get("/?query=1").status, 200);
    assert_eq!(client.get("/sleep/60001").status, 400);
    assert_eq!(client.get("/cpu/abc").status, 400);
    assert_eq!(client.get("/bytes/67108865").status, 400);
    // Route-level errors keep the connection.
    assert_eq!(client.get("/").status, 200);
}

fn keepalive_http11(model: Model) {
    let server = Server::start(model);
    let mut client = server.client();
    for _ in 0..3 {
        let reply = client.get("/");
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("Connection"), Some("keep-alive"));
    }
}

fn keepalive_http10(model: Model) {
    let server = Server::start(model);
    let mut client = server.client();
    // What `ab -k` sends.
    for _ in 0..3 {
        client.send(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: test\r\nUser-Agent: ApacheBench/2.3\r\nAccept: */*\r\n\r\n");
        let reply = client.response();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("Connection"), Some("keep-alive"));
        assert_eq!(reply.header("Content-Length"), Some("15"));
    }
    // Plain HTTP/1.0: one request per connection.
    client.send(b"GET / HTTP/1.0\r\n\r\n");
    let reply = client.response();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("Connection"), Some("close"));
    client.assert_closed();
}

fn connection_close(model: Model) {
    let server = Server::start(model);
    let mut client = server.client();
    client.send(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let reply = client.response();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("Connection"), Some("close"));
    client.assert_closed();
}

fn pipelining(model: Model) {
    let server = Server::start(model);
    let mut client = server.client();
    client
        .send(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nGET /bytes/5 HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(client.response().body_text(), "ok\n");
    assert_eq!(client.response().body_text(), "xxxxx");
    assert_eq!(client.response().body_text(), "hello from lab\n");
    // Two more, the last one closing.
    client.send(b"GET /nope HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    assert_eq!(client.response().status, 404);
    assert_eq!(client.response().header("Connection"), Some("close"));
    client.assert_closed();
}

fn body_is_read_and_discarded(model: Model) {
    let server = Server::start(model);
    let mut client = server.client();
    client.send(b"GET /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello");
    client.send(b" world");
    assert_eq!(client.response().body_text(), "ok\n");
    assert_eq!(client.get("/").status, 200);
}

/// Send `raw`, expect `status` with `Connection: close`, then the close.
fn expect_error(model: Model, args: &[&str], raw: &[u8], status: u16) {
    let server = Server::start_with(model, args);
    let mut client = server.client();
    client.send(raw);
    let reply = client.response();
    assert_eq!(reply.status, status, "{}", reply.body_text());
    assert_eq!(reply.header("Connection"), Some("close"));
    client.assert_closed();
    // The server is fine.
    assert_eq!(server.client().get("/").status, 200);
}

fn bad_request_400(model: Model) {
    expect_error(
        model,
        &[],
        b"GET / HTTP/1.1\r\nHost: t\r\nno colon here\r\n\r\n",
        400,
    );
    expect_error(
        model,
        &[],
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
        400,
    );
}

fn header_too_large_431(model: Model) {
    let big = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "a".repeat(9000)
    );
    expect_error(model, &[], big.as_bytes(), 431);
    // Over the limit before the head is even complete.
    let partial = format!("GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}", "a".repeat(600));
    expect_error(
        model,
        &["--max-header-bytes", "512"],
        partial.as_bytes(),
        431,
    );
}

fn body_too_large_413(model: Model) {
    expect_error(
        model,
        &[],
        b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n",
        413,
    );
    expect_error(
        model,
        &["--max-body-bytes", "10"],
        b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n",
        413,
    );
}

fn transfer_encoding_501(model: Model) {
    expect_error(
        model,
        &[],
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        501,
    );
}

fn content_length_and_transfer_encoding_400(model: Model) {
    let raw =
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    expect_error(model, &[], raw, 400);
}

fn http_version_505(model: Model) {
    expect_error(model, &[], b"GET / HTTP/2.0\r\n\r\n", 505);
}

fn method_not_allowed_405(model: Model) {
    let server = Server::start(model);
    let mut client = server.client();
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        client.send(
            format!("{method} / HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n").as_bytes(),
        );
        let reply = client.response();
        assert_eq!(reply.status, 405);
        assert_eq!(reply.header("Allow"), Some("GET, HEAD"));
    }
}

fn not_found_404(model: Model) {
    let server = Server::start(model);
    let mut client = server.client();
    for path in ["/index.html", "/sleep", "/healthz/x", "/bytes"] {
        let reply = client.get(path);
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.body_text(), "not found\n");
    }
}

fn read_timeout_408(model: Model) {
    let server = Server::start_with(model, &["--read-timeout", "300ms"]);
    let mut client = server.client();
    client.send(b"GET / HTTP/1.1\r\nHost:");
    let reply = client.response();
    assert_eq!(reply.status, 408);
    assert_eq!(reply.header("Connection"), Some("close"));
    client.assert_closed();
}

fn idle_keepalive_closes_silently(model: Model) {
    let server = Server::start_with(model, &["--keepalive-timeout", "200ms"]);
    let mut client = server.client();
    assert_eq!(client.get("/").status, 200);
    client.assert_closed();
    // A connection that never sends anything is idle too.
    server.client().assert_closed();
}

fn slow_client_does_not_block_others(model: Model) {
    // One worker: in the async model, a blocked event loop would show here.
    let server = Server::start_with(model, one_worker(model));
    let mut slow = server.client();
    slow.send(b"GET / HTTP/1.1\r\nHost: te");
    for _ in 0..5 {
        assert_eq!(server.client().get("/").status, 200);
    }
    slow.send(b"st\r\n\r\n");
    assert_eq!(slow.response().status, 200);
}

fn max_connections_queues(model: Model) {
    let server = Server::start_with(model, &["--max-connections", "1"]);
    let mut first = server.client();
    assert_eq!(first.get("/").status, 200);
    // The second connection waits in the backlog while the first one is open...
    let mut second = server.client();
    second.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    second.assert_silent_for(Duration::from_millis(300));
    // ...and is served once it closes.
    drop(first);
    assert_eq!(second.response().status, 200);
}

fn thousand_concurrent_connections(model: Model) {
    let server = Server::start(model);
    let mut clients: Vec<Client> = (0..1000).map(|_| server.client()).collect();
    for client in &mut clients {
        client.send(b"GET / HTTP/1.0\r\n\r\n");
    }
    for client in &mut clients {
        let reply = client.response();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body_text(), "hello from lab\n");
    }
}

fn graceful_shutdown_drains(model: Model) {
    drains_on(model, libc::SIGTERM);
}

/// Before: SIGHUP killed both servers at once (its default action), in-flight requests lost.
fn sighup_drains_like_sigterm(model: Model) {
    drains_on(model, libc::SIGHUP);
}

/// Send `signal` with a request in flight and an idle connection open: the request is
/// answered, the idle connection closed, the listener closed, and the process exits 0.
fn drains_on(model: Model, signal: i32) {
    let mut server = Server::start_with(
        model,
        &["--shutdown-timeout", "10s", "--keepalive-timeout", "60s"],
    );
    // An idle keep-alive connection must not hold the shutdown up...
    let mut idle = server.client();
    assert_eq!(idle.get("/").status, 200);
    // ...while an in-flight request must be answered. (One request first, so that the
    // connection is surely accepted and has its handler before the signal.)
    let mut busy = server.client();
    assert_eq!(busy.get("/").status, 200);
    busy.send(b"GET /sleep/500 HTTP/1.1\r\nHost: t\r\n\r\n");
    thread::sleep(Duration::from_millis(200));
    server.signal(signal);

    let reply = busy.response();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body_text(), "slept\n");
    idle.assert_closed();

    // New connections are refused once the listener is closed.
    let deadline = Instant::now() + PATIENCE;
    loop {
        match TcpStream::connect(server.addr) {
            Err(err) if err.kind() == ErrorKind::ConnectionRefused => break,
            _ => assert!(
                Instant::now() < deadline,
                "still accepting after the signal"
            ),
        }
        thread::sleep(Duration::from_millis(10));
    }
    let status = server.wait_exit();
    assert_eq!(status.code(), Some(0), "{status:?}");
    server.assert_logged("all connections closed");
}

/// When no thread can be started (here: a stack no mmap can satisfy; in a container: the
/// pids limit), the thread model answers 503, logs a warning and keeps serving.
#[test]
fn thread_spawn_failure_503() {
    let server = Server::start_with(Model::Thread, &["--stack-size", "1048576MiB"]);
    for _ in 0..3 {
        let mut client = server.client();
        let reply = client.get("/");
        assert_eq!(reply.status, 503);
        assert_eq!(reply.header("Connection"), Some("close"));
        client.assert_closed();
    }
    server.assert_logged("cannot start a connection thread");
}

/// Before: the server waited for a body that the client held back until `100 Continue`,
/// and answered 408 after the read timeout.
fn expect_100_continue(model: Model) {
    let server = Server::start(model);
    let mut client = server.client();
    let head =
        "PUT /upload HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
    client.send(head.as_bytes());
    assert_eq!(client.interim_status(), 100);
    client.send(b"hello");
    assert_eq!(client.response().status, 405);
    // The connection goes on as usual.
    assert_eq!(client.get("/").status, 200);

    // A body over the limit: the final status at once, no 100.
    let mut client = server.client();
    let over = head.replace("Content-Length: 5", "Content-Length: 2000000");
    client.send(over.as_bytes());
    assert_eq!(client.response().status, 413);
    client.assert_closed();
}
