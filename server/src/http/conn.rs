//! The connection driver: every protocol decision for one connection, and no I/O.
//!
//! The model that owns the socket runs one loop, the same in both models:
//!
//! ```text
//! loop {
//!     match conn.next(shutting_down) {
//!         Io::Read(timeout)  => read into conn.read_buf() (at most `timeout`, or until
//!                               shutdown), then conn.read_done(Read::...)
//!         Io::Write(timeout) => write conn.pending() (no progress within `timeout`:
//!                               give up), then conn.written(n)
//!         Io::Sleep(d)       => wait d (the `/sleep` route)
//!         Io::ShutdownWrite  => shut the socket's write side
//!         Io::Close          => close the socket
//!     }
//! }
//! ```
//!
//! The rules it applies:
//!
//! * **Reads** wait at most the keep-alive timeout between requests (then a silent close)
//!   and the read timeout for a whole request once its first byte arrived (then 408).
//! * **Bodies** are dropped as they arrive: no route reads one, and buffering them would
//!   cost up to `--max-body-bytes` per connection. The input buffer holds heads only, so a
//!   connection costs at most about `--max-header-bytes` + [`OUTPUT_HIGH_WATER`] + 20 KiB.
//!   A client that sent `Expect: 100-continue` gets `100 Continue` before the body is read
//!   (unless the body is already here, or the request is refused at once: a 413 goes out
//!   without the 100).
//! * **Writes** are batched: answers to pipelined requests collect in one buffer, written
//!   when no complete request is left to answer, before a `/sleep` wait or a `/cpu`
//!   computation (so a client that has gone is noticed, by the write failing, before more
//!   time is spent on it), or as soon as [`OUTPUT_HIGH_WATER`] bytes are pending. Then
//!   nothing more is parsed (so nothing more is read) until the client has taken them:
//!   that is the backpressure that keeps a client which pipelines and never reads from
//!   filling the server's memory. Each write may wait at most the write timeout for
//!   progress; a client that stops reading loses the connection instead of holding it
//!   forever.
//! * **CPU** queued by pipelining is bounded: between two moments where everything the
//!   client sent is answered, one connection may run at most `--max-cpu-units` of `/cpu`
//!   work; the request past that gets 503 and the connection closes.
//! * **Closing** after an answer with `Connection: close` is a plain close. After an error
//!   reply (400, 408, 413, 431, 501, 505) the client may still be sending (a body over the
//!   limit, a huge header), and closing a socket with unread input makes the kernel send a
//!   reset, which can destroy the reply before the client reads it. So the server shuts its
//!   write side (the client sees the end of the reply) and reads and drops whatever still
//!   comes, until the client closes or [`LINGER_TIMEOUT`] passes: a lingering close. A
//!   plain close that finds unread input lingers too.

use std::time::{Duration, Instant};

use super::input::Input;
use super::output::Output;
use super::{parse, HttpError, Limits, Method, Response, Status};
use crate::config::Config;
use crate::metrics::{Rejection, METRICS};
use crate::routes::Route;

/// Pending output above which nothing more is parsed until it is written (backpressure).
pub const OUTPUT_HIGH_WATER: usize = 16 * 1024;

/// How long a lingering close waits for the client to close its side.
pub const LINGER_TIMEOUT: Duration = Duration::from_secs(2);

/// What the model must do next on the socket (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Io {
    /// Read into [`Connection::read_buf`], waiting at most this long (and only until the
    /// server shuts down); report with [`Connection::read_done`].
    Read(Duration),
    /// Write from [`Connection::pending`]; report progress with [`Connection::written`].
    /// If no byte can be written within this long, drop the connection.
    Write(Duration),
    /// Wait this long, then call [`Connection::next`] again.
    Sleep(Duration),
    /// Shut the write side of the socket (the client sees the end of the stream), then
    /// call [`Connection::next`] again.
    ShutdownWrite,
    /// Close the connection: it is done.
    Close,
}

/// What a read from the socket produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// `n` bytes arrived in [`Connection::read_buf`] (0: interrupted, nothing arrived).
    Data(usize),
    /// The peer closed (or the server is shutting down).
    Closed,
    /// The timeout of [`Io::Read`] elapsed.
    TimedOut,
}

/// A complete request (body dropped), routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub route: Route,
    /// `HEAD`: send the head only (with the `Content-Length` a `GET` would have).
    pub head_only: bool,
    /// The client allows the connection to stay open.
    pub keep_alive: bool,
}

/// A complete request not answered yet.
#[derive(Debug)]
enum Pending {
    /// `/sleep` or `/cpu`: the answers before it are written first.
    Costly(Request),
    /// Ready to answer (a `/sleep` has waited).
    Answer(Request),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Serving requests.
    Open,
    /// Write what is pending, then close (lingering if `linger`, or if input is unread).
    Closing {
        linger: bool,
    },
    /// The write side is shut; drop input until the client closes or `until`.
    Lingering {
        until: Instant,
    },
    Closed,
}

/// One connection's buffers and protocol state.
#[derive(Debug)]
pub struct Connection {
    input: Input,
    output: Output,
    limits: Limits,
    read_timeout: Duration,
    keepalive_timeout: Duration,
    write_timeout: Duration,
    /// When the first byte of the request being received arrived (`None`: idle).
    started: Option<Instant>,
    /// The request whose body is being received (and dropped), and how much is left.
    receiving: Option<Request>,
    body_left: usize,
    pending: Option<Pending>,
    /// `/cpu` units run since the client last had nothing queued (see [`Connection::cpu`]).
    cpu_ahead: u64,
    state: State,
}

impl Connection {
    /// `server_header` is the whole header line, e.g. `b"Server: lab-async/0.1.0\r\n"`.
    pub fn new(config: &Config, server_header: &'static [u8]) -> Connection {
        Connection {
            input: Input::new(config.limits.max_header_bytes),
            output: Output::new(server_header),
            limits: config.limits,
            read_timeout: config.read_timeout,
            keepalive_timeout: config.keepalive_timeout,
            write_timeout: config.write_timeout,
            started: None,
            receiving: None,
            body_left: 0,
            pending: None,
            cpu_ahead: 0,
            state: State::Open,
        }
    }

    /// What to do next. `shutting_down`: the server is stopping, so the next answer closes
    /// the connection.
    pub fn next(&mut self, shutting_down: bool) -> Io {
        loop {
            match self.state {
                State::Closed => return Io::Close,
                State::Lingering { until } => return self.linger(until),
                State::Open | State::Closing { .. } => {}
            }
            if self.must_write() {
                return Io::Write(self.write_timeout);
            }
            if let State::Closing { linger } = self.state {
                return self.close(linger);
            }
            if let Some(pending) = self.pending.take() {
                match self.serve(pending, shutting_down) {
                    Some(io) => return io,
                    None => continue,
                }
            }
            match self.receive() {
                Ok(Some(request)) => self.dispatch(request, shutting_down),
                Ok(None) if !self.output.is_empty() => return Io::Write(self.write_timeout),
                Ok(None) => match self.time_left() {
                    Some(timeout) => {
                        if self.input.is_empty() {
                            self.cpu_ahead = 0; // everything the client sent is answered
                        }
                        return Io::Read(timeout);
                    }
                    None => self.timed_out(),
                },
                Err(error) => self.fail(error),
            }
        }
    }

    /// Free space for [`Io::Read`].
    pub fn read_buf(&mut self) -> &mut [u8] {
        self.input.read_buf()
    }

    /// Report the outcome of [`Io::Read`].
    pub fn read_done(&mut self, read: Read) {
        let lingering = matches!(self.state, State::Lingering { .. });
        match read {
            // Lingering: what arrives is dropped (it was never `filled`).
            Read::Data(_) if lingering => {}
            Read::Data(n) => {
                if n > 0 && self.started.is_none() {
                    self.started = Some(Instant::now());
                }
                self.input.filled(n);
            }
            Read::Closed => self.state = State::Closed,
            Read::TimedOut if lingering => self.state = State::Closed,
            Read::TimedOut => self.timed_out(),
        }
    }

    /// The bytes [`Io::Write`] asks for.
    pub fn pending(&self) -> &[u8] {
        self.output.pending()
    }

    /// Report that the first `n` bytes of [`Connection::pending`] were written.
    pub fn written(&mut self, n: usize) {
        self.output.advance(n);
    }

    /// Refuse the connection with a 503 (no thread could serve it...), then close.
    pub fn reject(&mut self, reason: Rejection) {
        METRICS.rejected(reason);
        self.fail_with(Status::ServiceUnavailable);
    }

    fn must_write(&self) -> bool {
        self.output.has_tail()
            || self.output.len() >= OUTPUT_HIGH_WATER
            || (matches!(self.state, State::Closing { .. }) && !self.output.is_empty())
    }

    /// Everything is written: close, lingering if asked or if input is left unread.
    fn close(&mut self, linger: bool) -> Io {
        if linger || !self.input.is_empty() || self.body_left > 0 {
            self.input.clear();
            let until = Instant::now() + LINGER_TIMEOUT;
            self.state = State::Lingering { until };
            Io::ShutdownWrite
        } else {
            self.state = State::Closed;
            Io::Close
        }
    }

    fn linger(&mut self, until: Instant) -> Io {
        match until.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Io::Read(left),
            _ => {
                self.state = State::Closed;
                Io::Close
            }
        }
    }

    /// A `/sleep` or `/cpu` request first has the answers before it written (so a client
    /// that is gone is noticed by that write failing before more time is spent on it),
    /// then waits or computes, then is answered. `None`: answered, go on.
    fn serve(&mut self, pending: Pending, shutting_down: bool) -> Option<Io> {
        match pending {
            Pending::Costly(request) if !self.output.is_empty() => {
                self.pending = Some(Pending::Costly(request));
                Some(Io::Write(self.write_timeout))
            }
            Pending::Costly(request) => match request.route {
                Route::Sleep(duration) => {
                    self.pending = Some(Pending::Answer(request));
                    Some(Io::Sleep(duration))
                }
                Route::Cpu(units) => {
                    self.cpu(request, units, shutting_down);
                    None
                }
                _ => unreachable!("only /sleep and /cpu are costly"),
            },
            Pending::Answer(request) => {
                self.answer(request, shutting_down);
                None
            }
        }
    }

    /// Run a `/cpu` request, unless the connection has queued too much CPU work already.
    ///
    /// A pipelining client can queue many `/cpu` requests in one write; they would all run,
    /// one after another, whether or not anyone reads the answers. So between two moments
    /// where everything the client sent is answered, a connection may run at most
    /// `--max-cpu-units` units (what one request may ask for); a request past that gets 503
    /// and the connection closes. A client that waits for each answer never hits this.
    fn cpu(&mut self, request: Request, units: u64, shutting_down: bool) {
        match self.cpu_ahead.checked_add(units) {
            Some(ahead) if ahead <= self.limits.max_cpu_units => {
                self.cpu_ahead = ahead;
                self.answer(request, shutting_down);
            }
            _ => self.fail_with(Status::ServiceUnavailable),
        }
    }

    fn dispatch(&mut self, request: Request, shutting_down: bool) {
        match request.route {
            Route::Sleep(_) | Route::Cpu(_) => self.pending = Some(Pending::Costly(request)),
            _ => self.answer(request, shutting_down),
        }
    }

    /// Parse the next request head and drop its body. `Some` once the request is complete.
    fn receive(&mut self) -> Result<Option<Request>, HttpError> {
        if self.receiving.is_none() {
            if self.input.is_empty() {
                return Ok(None); // the common case between requests: skip the parser's setup
            }
            let Some(head) = parse(self.input.data(), &self.limits)? else {
                return Ok(None);
            };
            let request = Request {
                route: Route::parse(head.method, head.path, self.limits.max_cpu_units),
                head_only: head.method == Method::Head,
                keep_alive: head.keep_alive,
            };
            let (head_len, expect_continue) = (head.head_len, head.expect_continue);
            self.body_left = head.body_len;
            self.input.consume(head_len);
            if expect_continue && self.body_left > self.input.len() {
                // The client waits for this before it sends the body; the pending output
                // is written before the next read (see `next`).
                self.output.encode_continue();
            }
            self.receiving = Some(request);
        }
        let dropped = self.body_left.min(self.input.len());
        self.input.consume(dropped);
        self.body_left -= dropped;
        if self.body_left > 0 {
            return Ok(None);
        }
        // Complete. The clock of a pipelined request behind it starts now.
        self.started = (!self.input.is_empty()).then(Instant::now);
        Ok(self.receiving.take())
    }

    /// How long the next read may wait: the keep-alive timeout between requests, what is
    /// left of the read timeout during one. `None`: out of time already.
    fn time_left(&self) -> Option<Duration> {
        match self.started {
            None => Some(self.keepalive_timeout),
            Some(started) => self
                .read_timeout
                .checked_sub(started.elapsed())
                .filter(|left| !left.is_zero()),
        }
    }

    /// Idle: close silently. In the middle of a request: 408.
    fn timed_out(&mut self) {
        match self.started {
            None => self.state = State::Closed,
            Some(_) => self.fail(HttpError::Timeout),
        }
    }

    fn answer(&mut self, request: Request, shutting_down: bool) {
        let keep_alive = request.keep_alive && !shutting_down;
        if !matches!(request.route, Route::Metrics) {
            METRICS.request_answered();
        }
        let response = request.route.response();
        self.output.encode(&response, request.head_only, keep_alive);
        if !keep_alive {
            self.state = State::Closing { linger: false };
        }
    }

    fn fail(&mut self, error: HttpError) {
        self.fail_with(error.status());
    }

    fn fail_with(&mut self, status: Status) {
        METRICS.request_answered();
        self.output.encode(&Response::error(status), false, false);
        self.state = State::Closing { linger: true };
    }
}

#[cfg(test)]
mod tests;
