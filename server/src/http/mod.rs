//! The HTTP/1.x protocol both models share, without any I/O ("sans-IO").
//!
//! A [`Connection`] owns one connection's buffers and every protocol decision: how requests
//! are parsed ([`parse()`]), when a request is complete (its body is read and dropped, never
//! buffered), the keep-alive decision, how long each read and write may wait, when the
//! answers are written (pipelined answers are batched, up to a bound: backpressure), and how
//! the connection ends (a plain close, or a lingering close after an error reply). It tells
//! the model what to do next with an [`Io`]; the model does it on its socket and reports
//! back. So the two model files only say *how* they wait for a socket, never *what* goes
//! over it or *when*, and every fix here applies to both.
//!
//! * `parse`: one request head, with `httparse`, plus the checks httparse leaves to us.
//! * `input`, `output`: the per-connection buffers; response encoding.
//! * `conn`: the driver, [`Connection`], and its rules.

mod conn;
mod input;
mod output;
pub mod parse;

pub use conn::{Connection, Io, Read, Request, LINGER_TIMEOUT, OUTPUT_HIGH_WATER};
pub use parse::{parse, Head};

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
    /// Most `/cpu/{n}` units one request may ask for (more: 400), and most one connection
    /// may queue by pipelining (more: 503, see [`Connection`]).
    pub max_cpu_units: u64,
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
    pub(crate) fn line(self) -> &'static [u8] {
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
    pub(crate) fn header(self) -> &'static [u8] {
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
    pub(crate) fn error(status: Status) -> Response {
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
    pub(crate) fn len(&self) -> usize {
        match self {
            Body::Static(bytes) => bytes.len(),
            Body::Text(text) => text.len(),
            Body::Filler(n) => *n,
        }
    }
}
