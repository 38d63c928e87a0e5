//! Helpers for the integration tests: start a real server process on an ephemeral port,
//! talk raw HTTP/1.x to it over real sockets.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Run every listed case against both binaries: `fn case(model: Model)` becomes the tests
/// `async_model::case` and `thread_model::case`. (`Model` must be in scope at the call.)
#[allow(unused_macros)] // not every test binary runs a suite
macro_rules! both_models {
    ($($case:ident),* $(,)?) => {
        mod async_model {
            $( #[test] fn $case() { super::$case(super::Model::Async) } )*
        }
        mod thread_model {
            $( #[test] fn $case() { super::$case(super::Model::Thread) } )*
        }
    };
}

/// Generous upper bound for anything a test waits on (never a timing assertion).
pub const PATIENCE: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    Async,
    Thread,
}

impl Model {
    pub fn binary(self) -> &'static str {
        match self {
            Model::Async => env!("CARGO_BIN_EXE_server-async"),
            Model::Thread => env!("CARGO_BIN_EXE_server-thread"),
        }
    }

    pub fn server_prefix(self) -> &'static str {
        match self {
            Model::Async => "lab-async/",
            Model::Thread => "lab-thread/",
        }
    }
}

/// `--workers 1` where the model has it (async only): a blocked event loop shows.
pub fn one_worker(model: Model) -> &'static [&'static str] {
    match model {
        Model::Async => &["--workers", "1"],
        Model::Thread => &[],
    }
}

/// A running server process, killed on drop.
pub struct Server {
    pub model: Model,
    pub addr: SocketAddr,
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    pub fn start(model: Model) -> Server {
        Server::start_with(model, &[])
    }

    pub fn start_with(model: Model, args: &[&str]) -> Server {
        Server::spawn(model, command(model, args))
    }

    /// Start with at most `nofile` open file descriptors (`prlimit --nofile`).
    pub fn start_with_nofile(model: Model, args: &[&str], nofile: u64) -> Server {
        use std::os::unix::process::CommandExt;
        let mut command = command(model, args);
        let limit = libc::rlimit {
            rlim_cur: nofile,
            rlim_max: nofile,
        };
        // SAFETY: only an async-signal-safe system call between fork and exec.
        unsafe {
            command.pre_exec(move || {
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        Server::spawn(model, command)
    }

    fn spawn(model: Model, mut command: Command) -> Server {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn().expect("start the server binary");

        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("stderr is piped");
        let sink = stderr.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });

        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the listening line");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("expected `listening on <addr>`, got {line:?}"))
            .parse()
            .expect("a socket address");
        Server {
            model,
            addr,
            child,
            stderr,
        }
    }

    pub fn client(&self) -> Client {
        Client::connect(self.addr)
    }

    pub fn signal(&self, signal: i32) {
        let pid = self.child.id() as libc::pid_t;
        assert_eq!(
            unsafe { libc::kill(pid, signal) },
            0,
            "kill({pid}, {signal})"
        );
    }

    /// Wait for the process to exit (bounded by [`PATIENCE`]).
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not exit");
            thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Wait (bounded by [`PATIENCE`]) until the server's log contains `needle`.
    pub fn assert_logged(&self, needle: &str) {
        let deadline = Instant::now() + PATIENCE;
        while !self.stderr().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "log lacks {needle:?}:\n{}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The server's command line, on an ephemeral port of 127.0.0.1, with no `SERVER_*`
/// variable inherited from the environment.
pub fn command(model: Model, args: &[&str]) -> Command {
    let mut command = Command::new(model.binary());
    command
        .args(["--port", "0", "--bind", "127.0.0.1"])
        .args(args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null());
    for (key, _) in std::env::vars() {
        if key.starts_with("SERVER_") {
            command.env_remove(key);
        }
    }
    command
}

/// Run a server that is expected to refuse to start: its exit code and stderr. If it starts
/// listening instead, it is killed and the test fails.
pub fn run_to_exit(model: Model, args: &[&str]) -> (Option<i32>, String) {
    let mut command = command(model, args);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = KillOnDrop(command.spawn().expect("start the server binary"));
    let mut line = String::new();
    let stdout = child.0.stdout.take().expect("stdout is piped");
    BufReader::new(stdout).read_line(&mut line).unwrap();
    assert!(line.is_empty(), "the server started: {line}");
    let mut stderr = String::new();
    let mut pipe = child.0.stderr.take().expect("stderr is piped");
    pipe.read_to_string(&mut stderr).unwrap();
    let status = child.0.wait().unwrap();
    (status.code(), stderr)
}

/// A child process killed (and reaped) when the test ends, failed or not.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Server {
    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Bytes received by the kernel on the server's connections that the server has not
    /// read yet (the `rx_queue` of `/proc/net/tcp`), or `None` without `/proc/net/tcp`.
    pub fn unread_bytes(&self) -> Option<u64> {
        let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
        let port = format!(":{:04X}", self.addr.port());
        let mut unread = 0;
        for line in table.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address, rem_address, st (01 = ESTABLISHED), tx_queue:rx_queue
            if fields.len() > 4 && fields[1].ends_with(&port) && fields[3] == "01" {
                let rx = fields[4].split(':').nth(1)?;
                unread += u64::from_str_radix(rx, 16).ok()?;
            }
        }
        Some(unread)
    }

    /// Wait (bounded by [`PATIENCE`]) until the server has read every byte sent to it.
    pub fn wait_all_read(&self) {
        let deadline = Instant::now() + PATIENCE;
        while self.unread_bytes().is_some_and(|unread| unread > 0) {
            assert!(Instant::now() < deadline, "the server stopped reading");
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One parsed response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A raw HTTP client on one connection.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, raw: &[u8]) {
        self.stream.write_all(raw).expect("send");
    }

    /// Send `GET path HTTP/1.1` and read the response.
    pub fn get(&mut self, path: &str) -> Reply {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes());
        self.response()
    }

    fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 65536];
        let n = self.stream.read(&mut chunk).expect("read a response");
        self.buf.extend_from_slice(&chunk[..n]);
        n
    }

    /// Read one response, or `None` if the server closed (or reset) the connection before
    /// a whole one arrived. Waiting longer than [`PATIENCE`] fails the test.
    pub fn try_response(&mut self) -> Option<Reply> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            if let Ok(httparse::Status::Complete(_)) =
                httparse::Response::new(&mut headers).parse(&self.buf)
            {
                return Some(self.response());
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(err) if err.kind() == ErrorKind::ConnectionReset => return None,
                Err(err) => panic!("no response: {err}"),
            }
        }
    }

    /// Read one interim (1xx) response, which has no body and no Content-Length: its status.
    pub fn interim_status(&mut self) -> u16 {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            if let httparse::Status::Complete(len) =
                response.parse(&self.buf).expect("a well-formed response")
            {
                let status = response.code.expect("a status code");
                self.buf.drain(..len);
                return status;
            }
            assert!(self.fill() > 0, "connection closed before a response");
        }
    }

    /// Read one response to a GET (body by Content-Length).
    pub fn response(&mut self) -> Reply {
        self.read_response(false)
    }

    /// Read one response to a HEAD (no body whatever Content-Length says).
    pub fn head_response(&mut self) -> Reply {
        self.read_response(true)
    }

    fn read_response(&mut self, head_only: bool) -> Reply {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&self.buf).expect("a well-formed response") {
                httparse::Status::Complete(head_len) => {
                    let status = response.code.expect("a status code");
                    let headers: Vec<(String, String)> = response
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_string(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect();
                    let length: usize = headers
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                        .expect("every response has Content-Length")
                        .1
                        .parse()
                        .expect("a numeric Content-Length");
                    let body_len = if head_only { 0 } else { length };
                    while self.buf.len() < head_len + body_len {
                        assert!(self.fill() > 0, "connection closed inside a body");
                    }
                    let body = self.buf[head_len..head_len + body_len].to_vec();
                    self.buf.drain(..head_len + body_len);
                    return Reply {
                        status,
                        headers,
                        body,
                    };
                }
                httparse::Status::Partial => {
                    assert!(
                        self.fill() > 0,
                        "connection closed before a response: {:?}",
                        String::from_utf8_lossy(&self.buf)
                    );
                }
            }
        }
    }

    /// The server closes the connection without sending anything more.
    pub fn assert_closed(&mut self) {
        assert!(
            self.buf.is_empty(),
            "unexpected bytes: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
        let mut chunk = [0u8; 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => {}
            Ok(n) => panic!(
                "expected a close, got {:?}",
                String::from_utf8_lossy(&chunk[..n])
            ),
            Err(err) if err.kind() == ErrorKind::ConnectionReset => {}
            Err(err) => panic!("expected a close, got {err}"),
        }
    }

    /// Nothing arrives within `wait` (the connection stays open and silent).
    pub fn assert_silent_for(&mut self, wait: Duration) {
        self.stream.set_read_timeout(Some(wait)).unwrap();
        let mut chunk = [0u8; 1024];
        match self.stream.read(&mut chunk) {
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            other => panic!("expected silence, got {other:?}"),
        }
        self.stream.set_read_timeout(Some(PATIENCE)).unwrap();
    }
}

/// One scrape of `GET /metrics`.
#[derive(Debug)]
pub struct Scrape {
    pub text: String,
}

impl Scrape {
    /// The value of one series, written as in the text: `server_requests_total` or
    /// `server_rejected_total{reason="spawn_failed"}`.
    pub fn value(&self, series: &str) -> u64 {
        self.text
            .lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {series} in:\n{}", self.text))
            .parse()
            .unwrap_or_else(|_| panic!("{series} is not an integer in:\n{}", self.text))
    }
}

impl Client {
    /// Scrape the metrics on this connection (kept alive).
    pub fn scrape(&mut self) -> Scrape {
        let reply = self.get("/metrics");
        assert_eq!(reply.status, 200, "{}", reply.body_text());
        Scrape {
            text: reply.body_text(),
        }
    }

    /// Scrape until `series` satisfies `done` (bounded by [`PATIENCE`]); the last scrape.
    pub fn scrape_until(&mut self, series: &str, done: impl Fn(u64) -> bool) -> Scrape {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let scrape = self.scrape();
            if done(scrape.value(series)) {
                return scrape;
            }
            assert!(
                Instant::now() < deadline,
                "{series} never got there:\n{}",
                scrape.text
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}
