//! The HTTP/1.x codec both models share: request parsing (with `httparse`), the keep-alive
//! decision, response encoding, and the per-connection buffers.
//!
//! A [`Codec`] owns no socket. The model that owns the socket reads into
//! [`Codec::read_buf`], asks [`Codec::next_request`] for every complete request buffered
//! (pipelining falls out of this loop), lets [`Codec::respond`] append each answer to one
//! output buffer, and writes that buffer with one `write_all`. So the two model files only
//! say *how* they wait for the socket, never *what* goes over it.

use std::cell::RefCell;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::config::Config;
use crate::metrics::{Rejection, METRICS};
use crate::routes::Route;

/// At most this many request headers (more: 431).
pub const MAX_HEADERS: usize = 64;

/// The bytes of every `/bytes/{n}` body. Bodies up to this size are copied into the output
/// buffer; longer ones are written straight from here, chunk after chunk, after the head.
pub static FILLER: [u8; 64 * 1024] = [b'x'; 64 * 1024];

/// Size limits on requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Request line plus header section.
    pub max_header_bytes: usize,
    /// Body, as announced by `Content-Length`.
    pub max_body_bytes: usize,
}

/// Request methods the routes care about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Other,
}

/// Response statuses this server sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    BadRequest,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    ContentTooLarge,
    HeaderFieldsTooLarge,
    NotImplemented,
    ServiceUnavailable,
    VersionNotSupported,
}

impl Status {
    pub fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::BadRequest => 400,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::RequestTimeout => 408,
            Status::ContentTooLarge => 413,
            Status::HeaderFieldsTooLarge => 431,
            Status::NotImplemented => 501,
            Status::ServiceUnavailable => 503,
            Status::VersionNotSupported => 505,
        }
    }

    /// The status line, ready to send. We always answer as HTTP/1.1 (a server sends its own
    /// version; HTTP/1.0 clients accept it).
    fn line(self) -> &'static [u8] {
        match self {
            Status::Ok => b"HTTP/1.1 200 OK\r\n",
            Status::BadRequest => b"HTTP/1.1 400 Bad Request\r\n",
            Status::NotFound => b"HTTP/1.1 404 Not Found\r\n",
            Status::MethodNotAllowed => b"HTTP/1.1 405 Method Not Allowed\r\n",
            Status::RequestTimeout => b"HTTP/1.1 408 Request Timeout\r\n",
            Status::ContentTooLarge => b"HTTP/1.1 413 Content Too Large\r\n",
            Status::HeaderFieldsTooLarge => b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
            Status::NotImplemented => b"HTTP/1.1 501 Not Implemented\r\n",
            Status::ServiceUnavailable => b"HTTP/1.1 503 Service Unavailable\r\n",
            Status::VersionNotSupported => b"HTTP/1.1 505 HTTP Version Not Supported\r\n",
        }
    }

    /// A short plain-text body for error statuses.
    pub fn text(self) -> &'static [u8] {
        match self {
            Status::Ok => b"ok\n",
            Status::BadRequest => b"bad request\n",
            Status::NotFound => b"not found\n",
            Status::MethodNotAllowed => b"method not allowed\n",
            Status::RequestTimeout => b"request timeout\n",
            Status::ContentTooLarge => b"content too large\n",
            Status::HeaderFieldsTooLarge => b"request header fields too large\n",
            Status::NotImplemented => b"not implemented\n",
            Status::ServiceUnavailable => b"service unavailable\n",
            Status::VersionNotSupported => b"http version not supported\n",
        }
    }
}

/// Bad input. Each maps to one status; the connection is closed after the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("malformed request")]
    BadRequest,
    #[error("request header section over the limit")]
    HeaderTooLarge,
    #[error("request body over the limit")]
    BodyTooLarge,
    #[error("request not received in time")]
    Timeout,
    #[error("request uses a transfer coding")]
    NotImplemented,
    #[error("unsupported HTTP version")]
    VersionNotSupported,
}

impl HttpError {
    pub fn status(self) -> Status {
        match self {
            HttpError::BadRequest => Status::BadRequest,
            HttpError::HeaderTooLarge => Status::HeaderFieldsTooLarge,
            HttpError::BodyTooLarge => Status::ContentTooLarge,
            HttpError::Timeout => Status::RequestTimeout,
            HttpError::NotImplemented => Status::NotImplemented,
            HttpError::VersionNotSupported => Status::VersionNotSupported,
        }
    }
}

/// The media types this server answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentType {
    /// `text/plain`: every response but the metrics.
    Text,
    /// `text/plain; version=0.0.4`: the Prometheus text exposition format.
    Prometheus,
}

impl ContentType {
    /// The header line and the start of the next one, so that encoding a response head
    /// stays one copy per constant part.
    fn header(self) -> &'static [u8] {
        match self {
            ContentType::Text => b"\r\nContent-Type: text/plain\r\nContent-Length: ",
            ContentType::Prometheus => {
                b"\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: "
            }
        }
    }
}

/// A response as the routes describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: Status,
    pub body: Body,
    pub content_type: ContentType,
}

impl Response {
    /// A `text/plain` response.
    pub fn text(status: Status, body: Body) -> Response {
        Response {
            status,
            body,
            content_type: ContentType::Text,
        }
    }

    /// The fixed response to an error status.
    fn error(status: Status) -> Response {
        Response::text(status, Body::Static(status.text()))
    }
}

/// A response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// Fixed text.
    Static(&'static [u8]),
    /// Text computed for this request.
    Text(String),
    /// `n` bytes of [`FILLER`].
    Filler(usize),
}

impl Body {
    fn len(&self) -> usize {
        match self {
            Body::Static(bytes) => bytes.len(),
            Body::Text(text) => text.len(),
            Body::Filler(n) => *n,
        }
    }
}

/// The head of one complete request found at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Head<'a> {
    pub method: Method,
    /// The path, without the query string.
    pub path: &'a str,
    /// Whether the connection may stay open after the response.
    pub keep_alive: bool,
    /// Bytes this request takes in the buffer: head plus body.
    pub len: usize,
}

/// Parse the request at the start of `buf`.
///
/// `Ok(None)`: not complete yet, read more. The body (by `Content-Length`) must be
/// buffered too before the request counts as complete; it is then skipped.
pub fn parse<'a>(buf: &'a [u8], limits: &Limits) -> Result<Option<Head<'a>>, HttpError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > limits.max_header_bytes => {
            return Err(HttpError::HeaderTooLarge)
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HttpError::HeaderTooLarge),
        Err(httparse::Error::Version) => return Err(HttpError::VersionNotSupported),
        Err(_) => return Err(HttpError::BadRequest),
    };
    if head_len > limits.max_header_bytes {
        return Err(HttpError::HeaderTooLarge);
    }

    let (mut close, mut keep_alive_token) = (false, false);
    let mut content_length: Option<usize> = None;
    let mut transfer_encoding = false;
    for header in req.headers.iter() {
        let name = header.name.as_bytes();
        if name.eq_ignore_ascii_case(b"connection") {
            for token in header.value.split(|&b| b == b',') {
                let token = token.trim_ascii();
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive_token |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case(b"content-length") {
            let n = parse_content_length(header.value).ok_or(HttpError::BadRequest)?;
            if content_length.is_some_and(|previous| previous != n) {
                return Err(HttpError::BadRequest);
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            transfer_encoding = true;
        }
    }
    if transfer_encoding {
        // Both framings at once is the request-smuggling pattern: refuse it outright.
        return Err(if content_length.is_some() {
            HttpError::BadRequest
        } else {
            HttpError::NotImplemented
        });
    }
    let body_len = content_length.unwrap_or(0);
    if body_len > limits.max_body_bytes {
        return Err(HttpError::BodyTooLarge);
    }
    let len = head_len + body_len;
    if buf.len() < len {
        return Ok(None);
    }

    // HTTP/1.1 is persistent by default; HTTP/1.0 only when asked (ab -k does).
    let keep_alive = match req.version {
        Some(1) => !close,
        _ => keep_alive_token && !close,
    };
    let method = match req.method {
        Some("GET") => Method::Get,
        Some("HEAD") => Method::Head,
        _ => Method::Other,
    };
    let target = req.path.unwrap_or("/");
    let path = target.split_once('?').map_or(target, |(path, _query)| path);
    Ok(Some(Head {
        method,
        path,
        keep_alive,
        len,
    }))
}

fn parse_content_length(value: &[u8]) -> Option<usize> {
    let value = value.trim_ascii();
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// A complete request, routed and already removed from the input buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub route: Route,
    /// `HEAD`: send the head only (with the `Content-Length` a `GET` would have).
    pub head_only: bool,
    /// The client allows the connection to stay open.
    pub keep_alive: bool,
}

/// What a read from the socket produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Some bytes arrived (or the read was interrupted): parse again.
    Data,
    /// The peer closed (or the server is shutting down): close quietly.
    Closed,
    /// The read timeout elapsed: silent close when idle, else 408.
    TimedOut,
}

/// Smallest free space offered to a read; below it the buffer is compacted or grown.
const MIN_READ: usize = 2048;
/// Initial input buffer size; a buffer grown past `SHRINK_ABOVE` is shrunk back when empty.
const INITIAL_BUF: usize = 4096;
const SHRINK_ABOVE: usize = 64 * 1024;
/// `/bytes` bodies longer than this are not copied into the output buffer.
const COPY_BODY_MAX: usize = 16 * 1024;

/// Per-connection buffers and request state. Reused for every request on the connection.
#[derive(Debug)]
pub struct Codec {
    /// Bytes read, not yet parsed, are `input[start..end]`.
    input: Vec<u8>,
    start: usize,
    end: usize,
    /// When the first byte of the request being received arrived.
    started: Option<Instant>,
    /// Responses not yet written, then `tail` bytes of [`FILLER`].
    output: Vec<u8>,
    tail: usize,
    /// `Server: ...\r\n`, naming the model.
    server_header: &'static [u8],
    limits: Limits,
    read_timeout: Duration,
    keepalive_timeout: Duration,
}

impl Codec {
    /// `server_header` is the whole header line, e.g. `b"Server: lab-async/0.1.0\r\n"`.
    pub fn new(config: &Config, server_header: &'static [u8]) -> Codec {
        Codec {
            input: vec![0; INITIAL_BUF],
            start: 0,
            end: 0,
            started: None,
            output: Vec::with_capacity(INITIAL_BUF),
            tail: 0,
            server_header,
            limits: config.limits,
            read_timeout: config.read_timeout,
            keepalive_timeout: config.keepalive_timeout,
        }
    }

    /// Take the next complete request out of the input buffer, if there is one.
    pub fn next_request(&mut self) -> Result<Option<Request>, HttpError> {
        let Some(head) = parse(&self.input[self.start..self.end], &self.limits)? else {
            return Ok(None);
        };
        let request = Request {
            route: Route::parse(head.method, head.path),
            head_only: head.method == Method::Head,
            keep_alive: head.keep_alive,
        };
        let len = head.len;
        self.consume(len);
        Ok(Some(request))
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            self.started = None;
            if self.input.len() > SHRINK_ABOVE {
                self.input = vec![0; INITIAL_BUF];
            }
        } else {
            // A pipelined request follows: its clock starts now.
            self.started = Some(Instant::now());
        }
    }

    /// No partial request is buffered: the connection is between requests.
    pub fn is_idle(&self) -> bool {
        self.start == self.end
    }

    /// How long the next read may wait: the keep-alive timeout between requests, what is
    /// left of the read timeout during one. `None`: already out of time.
    pub fn read_timeout(&self) -> Option<Duration> {
        match self.started {
            None => Some(self.keepalive_timeout),
            Some(started) => self
                .read_timeout
                .checked_sub(started.elapsed())
                .filter(|left| !left.is_zero()),
        }
    }

    /// Free space to read into; pass the count read to [`Codec::filled`].
    pub fn read_buf(&mut self) -> &mut [u8] {
        if self.input.len() - self.end < MIN_READ {
            if self.start > 0 {
                self.input.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.input.len() - self.end < MIN_READ {
                let grown = (self.input.len() * 2).max(self.end + MIN_READ);
                self.input.resize(grown, 0);
            }
        }
        &mut self.input[self.end..]
    }

    /// Record that `n` bytes were read into [`Codec::read_buf`].
    pub fn filled(&mut self, n: usize) {
        if n > 0 && self.is_idle() {
            self.started = Some(Instant::now());
        }
        self.end += n;
    }

    /// Append the response to `request`.
    pub fn respond(&mut self, request: &Request, keep_alive: bool) {
        if !matches!(request.route, Route::Metrics) {
            METRICS.request_answered();
        }
        let response = request.route.response();
        self.encode(&response, request.head_only, keep_alive);
    }

    /// Append the response to bad input (the caller closes the connection after it).
    pub fn respond_error(&mut self, error: HttpError) {
        METRICS.request_answered();
        self.encode(&Response::error(error.status()), false, false);
    }

    /// Append a `503 Service Unavailable`: the connection is refused for `reason`.
    pub fn respond_unavailable(&mut self, reason: Rejection) {
        METRICS.request_answered();
        METRICS.rejected(reason);
        self.encode(&Response::error(Status::ServiceUnavailable), false, false);
    }

    fn encode(&mut self, response: &Response, head_only: bool, keep_alive: bool) {
        let out = &mut self.output;
        out.extend_from_slice(response.status.line());
        out.extend_from_slice(self.server_header);
        out.extend_from_slice(b"Date: ");
        with_date(|date| out.extend_from_slice(date));
        out.extend_from_slice(response.content_type.header());
        push_decimal(out, response.body.len());
        if response.status == Status::MethodNotAllowed {
            out.extend_from_slice(b"\r\nAllow: GET, HEAD");
        }
        out.extend_from_slice(if keep_alive {
            b"\r\nConnection: keep-alive\r\n\r\n"
        } else {
            b"\r\nConnection: close\r\n\r\n"
        });
        if head_only {
            return;
        }
        match &response.body {
            Body::Static(bytes) => out.extend_from_slice(bytes),
            Body::Text(text) => out.extend_from_slice(text.as_bytes()),
            Body::Filler(n) if *n <= COPY_BODY_MAX => out.extend_from_slice(&FILLER[..*n]),
            Body::Filler(n) => self.tail = *n,
        }
    }

    /// The output must be written before another response is appended (a long body is
    /// pending in `tail`).
    pub fn must_flush(&self) -> bool {
        self.tail > 0
    }

    /// What to write: the buffered bytes, then this many bytes of [`FILLER`].
    pub fn output(&self) -> (&[u8], usize) {
        (&self.output, self.tail)
    }

    /// Forget the output once written.
    pub fn clear_output(&mut self) {
        self.output.clear();
        self.tail = 0;
    }
}

fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

thread_local! {
    /// The `Date` value, formatted at most once per second per thread.
    static DATE: RefCell<(u64, [u8; 29])> = const { RefCell::new((u64::MAX, [0; 29])) };
}

/// Call `f` with the current IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, always 29 bytes).
fn with_date<R>(f: impl FnOnce(&[u8]) -> R) -> R {
    DATE.with(|cell| {
        let mut cached = cell.borrow_mut();
        let now = SystemTime::now();
        let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if cached.0 != secs {
            let text = httpdate::fmt_http_date(now);
            if text.len() == 29 {
                cached.1.copy_from_slice(text.as_bytes());
                cached.0 = secs;
            }
        }
        f(&cached.1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_header_bytes: 256,
        max_body_bytes: 16,
    };

    fn head(raw: &[u8]) -> Result<Option<Head<'_>>, HttpError> {
        parse(raw, &LIMITS)
    }

    #[test]
    fn keep_alive_rules() {
        let ka = |raw: &'static [u8]| head(raw).unwrap().unwrap().keep_alive;
        assert!(ka(b"GET / HTTP/1.1\r\n\r\n"));
        assert!(!ka(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
        assert!(!ka(b"GET / HTTP/1.1\r\nconnection: Upgrade, CLOSE\r\n\r\n"));
        assert!(!ka(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(ka(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
        assert!(ka(b"GET / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n"));
        assert!(!ka(
            b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"
        ));
    }

    #[test]
    fn partial_and_complete() {
        assert_eq!(head(b"GET / HTTP/1.1\r\nHost: x\r\n"), Ok(None));
        let h = head(b"GET /a?b=c HTTP/1.1\r\n\r\nGET /next")
            .unwrap()
            .unwrap();
        assert_eq!((h.method, h.path, h.len), (Method::Get, "/a", 23));
        let h = head(b"HEAD / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert_eq!(h.method, Method::Head);
    }

    #[test]
    fn body_is_part_of_the_request() {
        let raw = b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhel";
        assert_eq!(head(raw), Ok(None));
        let raw = b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET";
        let h = head(raw).unwrap().unwrap();
        assert_eq!((h.method, h.len), (Method::Other, raw.len() - 3));
    }

    #[test]
    fn bad_input() {
        assert_eq!(
            head(b"GET / HTTP/1.1\r\nbad header\r\n\r\n"),
            Err(HttpError::BadRequest)
        );
        assert_eq!(
            head(b"\x01\x02 nonsense\r\n\r\n"),
            Err(HttpError::BadRequest)
        );
        assert_eq!(
            head(b"GET / HTTP/2.0\r\n\r\n"),
            Err(HttpError::VersionNotSupported)
        );
        let long = [b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; 300]].concat();
        assert_eq!(head(&long), Err(HttpError::HeaderTooLarge));
        let raw = b"POST / HTTP/1.1\r\nContent-Length: 17\r\n\r\n";
        assert_eq!(head(raw), Err(HttpError::BodyTooLarge));
        let raw = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(head(raw), Err(HttpError::NotImplemented));
        let raw = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n";
        assert_eq!(head(raw), Err(HttpError::BadRequest));
        let raw = b"POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\n";
        assert_eq!(head(raw), Err(HttpError::BadRequest));
        let raw = b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n";
        assert_eq!(head(raw), Err(HttpError::BadRequest));
        let many: Vec<u8> = (0..70)
            .flat_map(|i| format!("X-{i}: 1\r\n").into_bytes())
            .collect();
        let raw = [b"GET / HTTP/1.1\r\n".as_slice(), &many, b"\r\n"].concat();
        let limits = Limits {
            max_header_bytes: 8192,
            max_body_bytes: 0,
        };
        assert_eq!(parse(&raw, &limits), Err(HttpError::HeaderTooLarge));
    }

    #[test]
    fn decimal() {
        for n in [0usize, 7, 10, 12345, usize::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
    }

    fn codec() -> Codec {
        let config = crate::config::CommonArgs {
            bind: "127.0.0.1".parse().unwrap(),
            backlog: 16,
            read_timeout: Duration::from_secs(10),
            keepalive_timeout: Duration::from_secs(5),
            max_header_bytes: 8192,
            max_body_bytes: 1 << 20,
            max_connections: 16,
            shutdown_timeout: Duration::from_secs(1),
        }
        .config(0);
        Codec::new(&config, b"Server: test\r\n")
    }

    fn feed(codec: &mut Codec, bytes: &[u8]) {
        let mut rest = bytes;
        while !rest.is_empty() {
            let buf = codec.read_buf();
            let n = buf.len().min(rest.len());
            buf[..n].copy_from_slice(&rest[..n]);
            codec.filled(n);
            rest = &rest[n..];
        }
    }

    #[test]
    fn pipelined_requests_come_out_in_order() {
        let mut codec = codec();
        feed(
            &mut codec,
            b"GET /healthz HTTP/1.1\r\n\r\nHEAD / HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\nConnection: close\r\n\r\nGET",
        );
        let mut routes = Vec::new();
        while let Some(request) = codec.next_request().unwrap() {
            codec.respond(&request, request.keep_alive);
            routes.push(request.route);
        }
        assert_eq!(routes, [Route::Healthz, Route::Hello, Route::NotFound]);
        assert!(!codec.is_idle());
        let (out, tail) = codec.output();
        let text = std::str::from_utf8(out).unwrap();
        assert_eq!(tail, 0);
        assert_eq!(text.matches("HTTP/1.1 ").count(), 3);
        let ok = text.find("200 OK").unwrap();
        let missing = text.find("404 Not Found").unwrap();
        assert!(ok < missing);
        assert!(text.ends_with("Connection: close\r\n\r\nnot found\n"));
    }

    #[test]
    fn response_bytes() {
        let mut codec = codec();
        let request = Request {
            route: Route::Hello,
            head_only: false,
            keep_alive: true,
        };
        codec.respond(&request, true);
        let text = String::from_utf8(codec.output().0.to_vec()).unwrap();
        let date_start = text.find("Date: ").unwrap() + 6;
        let date = &text[date_start..date_start + 29];
        assert!(httpdate::parse_http_date(date).is_ok(), "{date}");
        let expected = format!(
            "HTTP/1.1 200 OK\r\nServer: test\r\nDate: {date}\r\nContent-Type: text/plain\r\n\
             Content-Length: 15\r\nConnection: keep-alive\r\n\r\nhello from lab\n"
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn long_bodies_go_to_the_tail() {
        let mut codec = codec();
        feed(&mut codec, b"GET /bytes/100000 HTTP/1.1\r\n\r\n");
        let request = codec.next_request().unwrap().unwrap();
        codec.respond(&request, true);
        assert!(codec.must_flush());
        let (out, tail) = codec.output();
        assert_eq!(tail, 100_000);
        assert!(std::str::from_utf8(out)
            .unwrap()
            .contains("Content-Length: 100000\r\n"));
        codec.clear_output();
        assert_eq!(codec.output(), (&[][..], 0));
    }

    #[test]
    fn large_request_grows_then_shrinks_the_buffer() {
        let mut codec = codec();
        let body = vec![b'b'; 200_000];
        let head = b"POST / HTTP/1.1\r\nContent-Length: 200000\r\n\r\n";
        feed(&mut codec, head);
        assert_eq!(codec.next_request(), Ok(None));
        feed(&mut codec, &body);
        let request = codec.next_request().unwrap().unwrap();
        assert_eq!(request.route, Route::MethodNotAllowed);
        assert!(codec.is_idle());
        assert_eq!(codec.input.len(), INITIAL_BUF);
    }

    #[test]
    fn read_timeout_depends_on_state() {
        let mut codec = codec();
        assert_eq!(codec.read_timeout(), Some(Duration::from_secs(5)));
        feed(&mut codec, b"GET / HT");
        let left = codec.read_timeout().unwrap();
        assert!(left <= Duration::from_secs(10) && left > Duration::from_secs(5));
    }
}
