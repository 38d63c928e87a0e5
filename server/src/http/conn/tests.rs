//! The driver against a scripted peer (no sockets): its rules one by one, then the
//! property that how the bytes are cut into reads and writes never changes the answers.

use std::collections::VecDeque;

use proptest::prelude::*;

use super::*;
use crate::config::CommonArgs;

fn config(max_header_bytes: usize, max_body_bytes: usize) -> Config {
    CommonArgs {
        bind: "127.0.0.1".parse().unwrap(),
        backlog: 16,
        read_timeout: Duration::from_secs(10),
        write_timeout: Duration::from_secs(10),
        keepalive_timeout: Duration::from_secs(5),
        max_header_bytes,
        max_body_bytes,
        max_cpu_units: 100,
        max_connections: 16,
        shutdown_timeout: Duration::from_secs(1),
    }
    .config(0)
}

fn connection() -> Connection {
    Connection::new(&config(8192, 1 << 20), b"Server: test\r\n")
}

/// What the peer saw: the bytes written to it, and every [`Io`] asked for.
#[derive(Debug, Default)]
struct Transcript {
    output: Vec<u8>,
    ios: Vec<Io>,
}

/// Run `conn` to its close against a peer that sends `chunks` (then closes) and takes at
/// most `take()` bytes per write.
fn run(conn: &mut Connection, chunks: &[&[u8]], mut take: impl FnMut() -> usize) -> Transcript {
    let mut chunks: VecDeque<Vec<u8>> = chunks.iter().map(|chunk| chunk.to_vec()).collect();
    let mut seen = Transcript::default();
    loop {
        let io = conn.next(false);
        seen.ios.push(io);
        assert!(seen.ios.len() < 1_000_000, "no end in sight");
        match io {
            Io::Read(_) => match chunks.front_mut() {
                None => conn.read_done(Read::Closed),
                Some(chunk) => {
                    let buf = conn.read_buf();
                    let n = buf.len().min(chunk.len());
                    buf[..n].copy_from_slice(&chunk[..n]);
                    chunk.drain(..n);
                    if chunk.is_empty() {
                        chunks.pop_front();
                    }
                    conn.read_done(Read::Data(n));
                }
            },
            Io::Write(_) => {
                let pending = conn.pending();
                assert!(!pending.is_empty(), "asked to write nothing");
                let n = pending.len().min(take().max(1));
                seen.output.extend_from_slice(&pending[..n]);
                conn.written(n);
            }
            Io::Sleep(_) | Io::ShutdownWrite => {}
            Io::Close => return seen,
        }
    }
}

/// Every read the connection asks for gets as much as fits; writes are taken whole.
fn exchange(input: &[u8]) -> Transcript {
    run(&mut connection(), &[input], || usize::MAX)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `Date` values are the only bytes that depend on when: blank them.
fn mask_dates(output: &[u8]) -> Vec<u8> {
    let mut masked = output.to_vec();
    let mut at = 0;
    while let Some(found) = masked[at..].windows(6).position(|w| w == b"Date: ") {
        let start = at + found + 6;
        let end = (start + 29).min(masked.len());
        masked[start..end].fill(b'#');
        at = end;
    }
    masked
}

#[test]
fn pipelined_requests_are_answered_in_order_in_one_write() {
    let seen = exchange(
        b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nHEAD / HTTP/1.1\r\nHost: t\r\n\r\n\
          GET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    );
    let out = text(&seen.output);
    assert_eq!(out.matches("HTTP/1.1 ").count(), 3);
    let ok = out.find("200 OK").unwrap();
    assert!(ok < out.find("404 Not Found").unwrap());
    assert!(out.ends_with("Connection: close\r\n\r\nnot found\n"));
    let writes = seen.ios.iter().filter(|io| matches!(io, Io::Write(_)));
    assert_eq!(writes.count(), 1);
    // Input was left unread after `Connection: close`: a lingering close.
    assert!(seen.ios.contains(&Io::ShutdownWrite));
}

#[test]
fn a_plain_close_when_nothing_is_left_unread() {
    let seen = exchange(b"GET / HTTP/1.0\r\n\r\n");
    assert!(text(&seen.output).contains("Connection: close\r\n"));
    assert_eq!(
        &seen.ios[seen.ios.len() - 2..],
        [Io::Write(Duration::from_secs(10)), Io::Close]
    );
}

#[test]
fn backpressure_stops_parsing_until_the_output_is_taken() {
    let mut conn = connection();
    let request = b"GET /bytes/16000 HTTP/1.1\r\nHost: t\r\n\r\n";
    let flood: Vec<u8> = request.repeat(100);
    let mut fed = 0;
    // The peer never takes anything: the connection reads only until it has enough to
    // write, then keeps asking to write, and stops reading and parsing.
    for _ in 0..100 {
        match conn.next(false) {
            Io::Read(_) => {
                let buf = conn.read_buf();
                let n = buf.len().min(flood.len() - fed);
                buf[..n].copy_from_slice(&flood[fed..fed + n]);
                fed += n;
                conn.read_done(Read::Data(n));
            }
            Io::Write(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(conn.next(false), Io::Write(Duration::from_secs(10)));
    assert!(
        conn.output.len() < OUTPUT_HIGH_WATER + 17_000,
        "{}",
        conn.output.len()
    );
    assert!(fed < 3 * 4096, "read {fed} bytes it could not answer");
}

#[test]
fn bodies_are_dropped_as_they_arrive() {
    let mut conn = connection();
    let head = b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n";
    let body = vec![b'b'; 1 << 20];
    let mut chunks: Vec<&[u8]> = vec![head];
    chunks.extend(body.chunks(64 * 1024));
    chunks.push(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let seen = run(&mut conn, &chunks, || usize::MAX);
    let out = text(&seen.output);
    assert!(out.starts_with("HTTP/1.1 405 "), "{out}");
    assert!(out.ends_with("\r\n\r\nok\n"), "{out}");
    assert!(conn.input.capacity() <= 16 * 1024);
}

#[test]
fn input_stays_bounded_while_a_body_streams() {
    let mut conn = connection();
    let head = b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n";
    let mut sent = 0;
    let mut stream = head.to_vec();
    stream.resize(head.len() + (1 << 20), b'b');
    while sent < stream.len() {
        assert!(matches!(conn.next(false), Io::Read(_)));
        let buf = conn.read_buf();
        let n = buf.len().min(stream.len() - sent);
        buf[..n].copy_from_slice(&stream[sent..sent + n]);
        sent += n;
        conn.read_done(Read::Data(n));
        assert!(conn.input.capacity() <= 8192 + 2048);
    }
    assert!(matches!(conn.next(false), Io::Write(_)));
}

#[test]
fn an_error_reply_is_followed_by_a_lingering_close() {
    let seen = exchange(b"GET / HTTP/1.1\r\nHost: t\r\nno colon\r\n\r\nmore bytes the client sent");
    assert!(text(&seen.output).starts_with("HTTP/1.1 400 Bad Request\r\n"));
    let shut = seen
        .ios
        .iter()
        .position(|io| *io == Io::ShutdownWrite)
        .unwrap();
    let Io::Read(linger) = seen.ios[shut + 1] else {
        panic!("{:?}", seen.ios)
    };
    assert!(linger <= LINGER_TIMEOUT);
    assert_eq!(seen.ios.last(), Some(&Io::Close));
}

#[test]
fn a_lingering_close_ends_when_its_time_is_up() {
    let mut conn = connection();
    conn.fail(HttpError::BadRequest);
    assert!(matches!(conn.next(false), Io::Write(_)));
    let n = conn.pending().len();
    conn.written(n);
    assert_eq!(conn.next(false), Io::ShutdownWrite);
    assert!(matches!(conn.next(false), Io::Read(_)));
    conn.read_done(Read::TimedOut);
    assert_eq!(conn.next(false), Io::Close);
}

#[test]
fn earlier_answers_are_written_before_a_sleep() {
    let seen =
        exchange(b"GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /sleep/5 HTTP/1.1\r\nHost: t\r\n\r\n");
    let sleep = seen
        .ios
        .iter()
        .position(|io| matches!(io, Io::Sleep(_)))
        .unwrap();
    assert_eq!(seen.ios[sleep], Io::Sleep(Duration::from_millis(5)));
    assert!(
        matches!(seen.ios[sleep - 1], Io::Write(_)),
        "{:?}",
        seen.ios
    );
    assert!(text(&seen.output).ends_with("slept\n"));
}

#[test]
fn earlier_answers_are_written_before_cpu_work() {
    let seen =
        exchange(b"GET /cpu/1 HTTP/1.1\r\nHost: t\r\n\r\nGET /cpu/1 HTTP/1.1\r\nHost: t\r\n\r\n");
    let writes = seen.ios.iter().filter(|io| matches!(io, Io::Write(_)));
    assert_eq!(writes.count(), 2, "{:?}", seen.ios);
    assert_eq!(text(&seen.output).matches("200 OK").count(), 2);
}

/// Pipelined `/cpu` work past `max_cpu_units` (100 here) is refused with 503 and a close;
/// the budget starts again once everything the client sent is answered.
#[test]
fn pipelined_cpu_work_is_bounded() {
    let request = b"GET /cpu/30 HTTP/1.1\r\nHost: t\r\n\r\n";
    let out = text(&exchange(&request.repeat(5)).output);
    assert_eq!(out.matches("200 OK").count(), 3, "{out}");
    assert!(
        out.ends_with("Connection: close\r\n\r\nservice unavailable\n"),
        "{out}"
    );

    // Sent one at a time (each after the previous answer), any number runs.
    let chunks: Vec<&[u8]> = vec![request; 5];
    let seen = run(&mut connection(), &chunks, || usize::MAX);
    assert_eq!(text(&seen.output).matches("200 OK").count(), 5);
}

#[test]
fn expect_continue_is_answered_before_the_body() {
    let head = b"PUT / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
    let mut conn = connection();
    assert!(matches!(conn.next(false), Io::Read(_)));
    conn.read_buf()[..head.len()].copy_from_slice(head);
    conn.read_done(Read::Data(head.len()));
    assert!(matches!(conn.next(false), Io::Write(_)));
    assert_eq!(text(conn.pending()), "HTTP/1.1 100 Continue\r\n\r\n");
    let n = conn.pending().len();
    conn.written(n);
    assert!(matches!(conn.next(false), Io::Read(_)));
    conn.read_buf()[..5].copy_from_slice(b"hello");
    conn.read_done(Read::Data(5));
    assert!(matches!(conn.next(false), Io::Write(_)));
    assert!(text(conn.pending()).starts_with("HTTP/1.1 405 "));

    // The body came with the head: no 100. A body over the limit: the 413 at once.
    let out = text(&exchange(&[&head[..], b"hello"].concat()).output);
    assert!(
        out.starts_with("HTTP/1.1 405 ") && !out.contains("100 Continue"),
        "{out}"
    );
    let over =
        b"PUT / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 9999999\r\n\r\n";
    let out = text(&exchange(over).output);
    assert!(
        out.starts_with("HTTP/1.1 413 ") && !out.contains("100 Continue"),
        "{out}"
    );
}

#[test]
fn shutting_down_closes_after_the_answer() {
    let mut conn = connection();
    assert!(matches!(conn.next(true), Io::Read(_)));
    let raw = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    conn.read_buf()[..raw.len()].copy_from_slice(raw);
    conn.read_done(Read::Data(raw.len()));
    assert!(matches!(conn.next(true), Io::Write(_)));
    assert!(text(conn.pending()).contains("Connection: close\r\n"));
    let n = conn.pending().len();
    conn.written(n);
    assert_eq!(conn.next(true), Io::Close);
}

#[test]
fn read_timeouts_depend_on_the_state() {
    let mut conn = connection();
    assert_eq!(conn.next(false), Io::Read(Duration::from_secs(5)));
    conn.read_done(Read::TimedOut);
    assert_eq!(conn.next(false), Io::Close, "idle: a silent close");

    let mut conn = connection();
    assert!(matches!(conn.next(false), Io::Read(_)));
    conn.read_buf()[..8].copy_from_slice(b"GET / HT");
    conn.read_done(Read::Data(8));
    let Io::Read(left) = conn.next(false) else {
        panic!("expected a read")
    };
    assert!(left <= Duration::from_secs(10) && left > Duration::from_secs(5));
    conn.read_done(Read::TimedOut);
    assert!(matches!(conn.next(false), Io::Write(_)));
    assert!(text(conn.pending()).starts_with("HTTP/1.1 408 "));
}

// The property: cutting the stream differently never changes the answers.

/// One request, well-formed or not, from a small vocabulary that reaches every rule.
fn request() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => well_formed(),
        1 => malformed(),
    ]
}

fn well_formed() -> impl Strategy<Value = Vec<u8>> {
    let method = prop::sample::select(vec!["GET", "GET", "HEAD", "POST", "DELETE"]);
    let target = prop_oneof![
        prop::sample::select(vec![
            "/".to_string(),
            "/healthz".into(),
            "/nope".into(),
            "/sleep/0".into(),
            "/cpu/1".into(),
            "/bytes/x".into(),
            "/?a=b".into(),
            "http://example.com/healthz?q".into(),
        ]),
        (0usize..40_000).prop_map(|n| format!("/bytes/{n}")),
    ];
    let version = prop::sample::select(vec!["1.0", "1.1"]);
    let connection = prop::sample::select(vec![
        "",
        "Connection: close\r\n",
        "Connection: keep-alive\r\n",
    ]);
    let host = prop::bool::weighted(0.95);
    let body = prop::collection::vec(b'a'..=b'z', 0..600);
    (method, target, version, connection, host, body).prop_map(
        |(method, target, version, connection, host, body)| {
            let host = if host { "Host: t\r\n" } else { "" };
            let length = if body.is_empty() {
                String::new()
            } else {
                format!("Content-Length: {}\r\n", body.len())
            };
            let head =
                format!("{method} {target} HTTP/{version}\r\n{host}{connection}{length}\r\n");
            [head.into_bytes(), body].concat()
        },
    )
}

fn malformed() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"GET / HTTP/1.1\r\nHost: t\r\nX: a\nY: b\r\n\r\n".to_vec()),
        Just(b"GET / HTTP/1.1\r\nHost: t\r\nno colon\r\n\r\n".to_vec()),
        Just(b"GET / HTTP/2.0\r\n\r\n".to_vec()),
        Just(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec()),
        Just(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n".to_vec()),
        Just(
            format!(
                "GET / HTTP/1.1\r\nHost: t\r\nX: {}\r\n\r\n",
                "h".repeat(3000)
            )
            .into_bytes()
        ),
        Just(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec()),
    ]
}

/// A stream of requests, cut at random points, and a random size for each write.
fn cut_stream() -> impl Strategy<Value = (Vec<u8>, Vec<usize>, Vec<usize>)> {
    prop::collection::vec(request(), 1..8).prop_flat_map(|requests| {
        let stream = requests.concat();
        let len = stream.len();
        let cuts = prop::collection::vec(0..len, 0..12);
        let writes = prop::collection::vec(1usize..20_000, 1..8);
        (Just(stream), cuts, writes)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// However the stream is split into reads, and however little each write takes, the
    /// answers are the same bytes (but for the `Date` values).
    #[test]
    fn cutting_the_stream_never_changes_the_answers((stream, mut cuts, writes) in cut_stream()) {
        let limits = config(2048, 4096);
        let whole = run(&mut Connection::new(&limits, b"Server: t\r\n"), &[&stream], || usize::MAX);

        cuts.sort_unstable();
        cuts.dedup();
        let mut chunks = Vec::new();
        let mut from = 0;
        for &cut in cuts.iter().filter(|&&cut| cut > 0) {
            chunks.push(&stream[from..cut]);
            from = cut;
        }
        chunks.push(&stream[from..]);
        let mut sizes = writes.iter().copied().cycle();
        let cut = run(
            &mut Connection::new(&limits, b"Server: t\r\n"),
            &chunks,
            || sizes.next().unwrap_or(1),
        );
        prop_assert!(!whole.output.is_empty());
        prop_assert_eq!(text(&mask_dates(&whole.output)), text(&mask_dates(&cut.output)));
    }
}
