//! The output buffer of one connection: encoded responses not yet written.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{Body, Response, Status, FILLER};

/// `/bytes` bodies longer than this are not copied into the buffer: they are written
/// straight from [`FILLER`] after the head.
const COPY_BODY_MAX: usize = 16 * 1024;

#[derive(Debug)]
pub(crate) struct Output {
    /// Encoded bytes; `buf[written..]` is still to be written...
    buf: Vec<u8>,
    written: usize,
    /// ...and then this many bytes of [`FILLER`].
    tail: usize,
    /// `Server: ...\r\n`, naming the model.
    server_header: &'static [u8],
}

impl Output {
    pub(crate) fn new(server_header: &'static [u8]) -> Output {
        Output {
            buf: Vec::with_capacity(4096),
            written: 0,
            tail: 0,
            server_header,
        }
    }

    /// Bytes still to be written.
    pub(crate) fn len(&self) -> usize {
        self.buf.len() - self.written + self.tail
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A long body is pending: it must be written before another response is appended.
    pub(crate) fn has_tail(&self) -> bool {
        self.tail > 0
    }

    /// The next bytes to write (empty when nothing is pending).
    pub(crate) fn pending(&self) -> &[u8] {
        if self.written < self.buf.len() {
            &self.buf[self.written..]
        } else {
            &FILLER[..self.tail.min(FILLER.len())]
        }
    }

    /// Record that the first `n` bytes of [`Output::pending`] were written.
    pub(crate) fn advance(&mut self, n: usize) {
        if self.written < self.buf.len() {
            self.written += n;
            debug_assert!(self.written <= self.buf.len());
            if self.written == self.buf.len() {
                self.buf.clear();
                self.written = 0;
            }
        } else {
            debug_assert!(n <= self.tail);
            self.tail -= n;
        }
    }

    /// Append the interim `100 Continue` response (no headers: RFC 9110 §15.2).
    pub(crate) fn encode_continue(&mut self) {
        debug_assert!(self.tail == 0, "a long body is still pending");
        self.buf.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
    }

    /// Append `response`.
    pub(crate) fn encode(&mut self, response: &Response, head_only: bool, keep_alive: bool) {
        debug_assert!(self.tail == 0, "a long body is still pending");
        let out = &mut self.buf;
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
    use crate::routes::Route;

    #[test]
    fn decimal() {
        for n in [0usize, 7, 10, 12345, usize::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
    }

    #[test]
    fn response_bytes() {
        let mut output = Output::new(b"Server: test\r\n");
        output.encode(&Route::Hello.response(), false, true);
        let text = String::from_utf8(output.pending().to_vec()).unwrap();
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
    fn long_bodies_go_to_the_tail_and_drain_in_pieces() {
        let mut output = Output::new(b"Server: test\r\n");
        output.encode(&Route::Bytes(100_000).response(), false, true);
        assert!(output.has_tail());
        let head = output.pending().len();
        assert!(std::str::from_utf8(output.pending())
            .unwrap()
            .contains("Content-Length: 100000\r\n"));
        assert_eq!(output.len(), head + 100_000);
        output.advance(head - 1);
        output.advance(1);
        let mut left = 100_000;
        while !output.is_empty() {
            let n = output.pending().len().min(7_000);
            assert!(output.pending().iter().all(|&b| b == b'x'));
            output.advance(n);
            left -= n;
        }
        assert_eq!((left, output.pending()), (0, &[][..]));
    }
}
