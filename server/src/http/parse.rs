//! Parsing one request head, with `httparse`, plus the rules httparse leaves to the server:
//! framing (`Content-Length`, no transfer codings), `Host`, line endings, and the
//! request-target forms.

use super::{HttpError, Limits, Method, MAX_HEADERS};

/// The head of one request found at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Head<'a> {
    pub method: Method,
    /// The path, without the query string (an absolute-form target is reduced to it).
    pub path: &'a str,
    /// Whether the connection may stay open after the response.
    pub keep_alive: bool,
    /// Bytes of the request line and header section, final empty line included.
    pub head_len: usize,
    /// Bytes of body that follow (by `Content-Length`); not part of `head_len`.
    pub body_len: usize,
    /// An HTTP/1.1 client sent `Expect: 100-continue`: it may wait for `100 Continue`
    /// before it sends the body (RFC 9110 §10.1.1; HTTP/1.0 expectations are ignored).
    pub expect_continue: bool,
}

/// Parse the request head at the start of `buf`.
///
/// `Ok(None)`: the head is not complete yet, read more. The body is not looked at: it
/// follows in the next `body_len` bytes, which the caller skips.
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
    if has_bare_lf(&buf[..head_len]) {
        return Err(HttpError::BadRequest);
    }
    let fields = Fields::read(req.headers)?;
    let body_len = fields.content_length.unwrap_or(0);
    if body_len > limits.max_body_bytes {
        return Err(HttpError::BodyTooLarge);
    }
    // RFC 9112 §3.2: 400 for an HTTP/1.1 request without `Host`, and for any request with
    // more than one. (HTTP/1.0 may omit it: ab does.)
    let http11 = req.version == Some(1);
    if fields.hosts > 1 || (http11 && fields.hosts == 0) {
        return Err(HttpError::BadRequest);
    }

    // HTTP/1.1 is persistent by default; HTTP/1.0 only when asked (ab -k does).
    let keep_alive = match http11 {
        true => !fields.close,
        false => fields.keep_alive && !fields.close,
    };
    let method = match req.method {
        Some("GET") => Method::Get,
        Some("HEAD") => Method::Head,
        _ => Method::Other,
    };
    Ok(Some(Head {
        method,
        path: path_of(req.path.unwrap_or("/")),
        keep_alive,
        head_len,
        body_len,
        expect_continue: http11 && fields.expect_continue,
    }))
}

/// What the header fields say about framing and the connection.
#[derive(Debug, Default)]
struct Fields {
    close: bool,
    keep_alive: bool,
    content_length: Option<usize>,
    hosts: usize,
    expect_continue: bool,
}

impl Fields {
    fn read(headers: &[httparse::Header<'_>]) -> Result<Fields, HttpError> {
        let mut fields = Fields::default();
        let mut transfer_encoding = false;
        for header in headers {
            let name = header.name.as_bytes();
            if name.eq_ignore_ascii_case(b"host") {
                fields.hosts += 1;
            } else if name.eq_ignore_ascii_case(b"connection") {
                for token in header.value.split(|&b| b == b',') {
                    let token = token.trim_ascii();
                    fields.close |= token.eq_ignore_ascii_case(b"close");
                    fields.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
                }
            } else if name.eq_ignore_ascii_case(b"content-length") {
                let n = parse_content_length(header.value).ok_or(HttpError::BadRequest)?;
                if fields.content_length.is_some_and(|previous| previous != n) {
                    return Err(HttpError::BadRequest);
                }
                fields.content_length = Some(n);
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                transfer_encoding = true;
            } else if name.eq_ignore_ascii_case(b"expect") {
                // Any other expectation is ignored (RFC 9110 allows 417; nobody sends one).
                fields.expect_continue |= header
                    .value
                    .trim_ascii()
                    .eq_ignore_ascii_case(b"100-continue");
            }
        }
        if transfer_encoding {
            // Both framings at once is the request-smuggling pattern: refuse it outright.
            return Err(if fields.content_length.is_some() {
                HttpError::BadRequest
            } else {
                HttpError::NotImplemented
            });
        }
        Ok(fields)
    }
}

/// Whether a line of the head ends in LF without CR before it.
///
/// httparse accepts a bare LF as a line end (RFC 9112 §2.2 allows a recipient to), but a
/// proxy in front of us may not, and then the two disagree on where the headers end: the
/// classic request-smuggling setup. A server that stands alone can afford to be strict.
///
/// Written as a branch-free fold over byte pairs so that the compiler vectorizes it: it
/// runs on every request, and a byte-at-a-time loop cost more than the rest of the parse.
fn has_bare_lf(head: &[u8]) -> bool {
    let Some((&first, rest)) = head.split_first() else {
        return false;
    };
    let bare = head.iter().zip(rest).fold(0u8, |bare, (&previous, &byte)| {
        bare | (u8::from(byte == b'\n') & u8::from(previous != b'\r'))
    });
    first == b'\n' || bare != 0
}

/// The path of a request target, without the query.
///
/// Origin form (`/a?b`) is the common case. The absolute form (`http://host:port/a?b`,
/// RFC 9112 §3.2.2) must be accepted too: it is reduced to its path (`/` when empty). The
/// authority and asterisk forms are left as they are and route nowhere.
fn path_of(target: &str) -> &str {
    let path = match target.starts_with('/') {
        true => target,
        false => absolute_form_path(target).unwrap_or(target),
    };
    path.split_once('?').map_or(path, |(path, _query)| path)
}

/// `http[s]://authority[/path][?query]` → `/path[?query]` (`/` when there is no path).
fn absolute_form_path(target: &str) -> Option<&str> {
    let (scheme, rest) = target.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    Some(match rest.find(['/', '?']) {
        Some(at) if rest[at..].starts_with('/') => &rest[at..],
        _ => "/",
    })
}

fn parse_content_length(value: &[u8]) -> Option<usize> {
    let value = value.trim_ascii();
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_header_bytes: 256,
        max_body_bytes: 16,
        max_cpu_units: 10,
    };

    fn head(raw: &[u8]) -> Result<Option<Head<'_>>, HttpError> {
        parse(raw, &LIMITS)
    }

    #[test]
    fn keep_alive_rules() {
        let ka = |raw: &'static [u8]| head(raw).unwrap().unwrap().keep_alive;
        assert!(ka(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
        assert!(!ka(
            b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        ));
        assert!(!ka(
            b"GET / HTTP/1.1\r\nHost: t\r\nconnection: Upgrade, CLOSE\r\n\r\n"
        ));
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
        let h = head(b"GET /a?b=c HTTP/1.0\r\n\r\nGET /next")
            .unwrap()
            .unwrap();
        assert_eq!((h.method, h.path, h.head_len), (Method::Get, "/a", 23));
        let h = head(b"HEAD / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert_eq!(h.method, Method::Head);
    }

    #[test]
    fn the_body_is_left_to_the_caller() {
        let raw = b"POST / HTTP/1.0\r\nContent-Length: 5\r\n\r\nhel";
        let h = head(raw).unwrap().unwrap();
        assert_eq!((h.method, h.head_len, h.body_len), (Method::Other, 38, 5));
    }

    #[test]
    fn bad_input() {
        let bad = |raw: &[u8]| head(raw).unwrap_err();
        assert_eq!(
            bad(b"GET / HTTP/1.1\r\nbad header\r\n\r\n"),
            HttpError::BadRequest
        );
        assert_eq!(bad(b"\x01\x02 nonsense\r\n\r\n"), HttpError::BadRequest);
        assert_eq!(
            bad(b"GET / HTTP/2.0\r\n\r\n"),
            HttpError::VersionNotSupported
        );
        let long = [b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; 300]].concat();
        assert_eq!(bad(&long), HttpError::HeaderTooLarge);
        let raw = b"POST / HTTP/1.0\r\nContent-Length: 17\r\n\r\n";
        assert_eq!(bad(raw), HttpError::BodyTooLarge);
        let raw = b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(bad(raw), HttpError::NotImplemented);
        let raw = b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n";
        assert_eq!(bad(raw), HttpError::BadRequest);
        let raw = b"POST / HTTP/1.0\r\nContent-Length: +3\r\n\r\n";
        assert_eq!(bad(raw), HttpError::BadRequest);
        let raw = b"POST / HTTP/1.0\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n";
        assert_eq!(bad(raw), HttpError::BadRequest);
        let many: Vec<u8> = (0..70)
            .flat_map(|i| format!("X-{i}: 1\r\n").into_bytes())
            .collect();
        let raw = [b"GET / HTTP/1.1\r\n".as_slice(), &many, b"\r\n"].concat();
        let limits = Limits {
            max_header_bytes: 8192,
            max_body_bytes: 0,
            max_cpu_units: 10,
        };
        assert_eq!(parse(&raw, &limits), Err(HttpError::HeaderTooLarge));
    }

    #[test]
    fn bare_lf_is_refused() {
        for raw in [
            &b"GET / HTTP/1.1\nHost: t\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nHost: t\nX: 1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: t\r\n\n",
            b"GET / HTTP/1.0\n\n",
        ] {
            assert_eq!(head(raw), Err(HttpError::BadRequest), "{raw:?}");
        }
        assert!(!has_bare_lf(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
        assert!(!has_bare_lf(b""));
        assert!(has_bare_lf(b"\n"));
        let long = [&[b'a'; 100][..], b"\n", &[b'a'; 100]].concat();
        assert!(has_bare_lf(&long));
        assert!(!has_bare_lf(&long.iter().map(|_| b'a').collect::<Vec<_>>()));
    }

    #[test]
    fn expect_continue_is_http11_only() {
        let expect = |raw: &'static [u8]| head(raw).unwrap().unwrap().expect_continue;
        assert!(expect(
            b"PUT / HTTP/1.1\r\nHost: t\r\nExpect: 100-Continue \r\nContent-Length: 3\r\n\r\n"
        ));
        assert!(!expect(
            b"PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"
        ));
        assert!(!expect(
            b"PUT / HTTP/1.1\r\nHost: t\r\nExpect: other\r\n\r\n"
        ));
    }

    #[test]
    fn host_rules() {
        assert_eq!(head(b"GET / HTTP/1.1\r\n\r\n"), Err(HttpError::BadRequest));
        let two = b"GET / HTTP/1.1\r\nHost: a\r\nHOST: a\r\n\r\n";
        assert_eq!(head(two), Err(HttpError::BadRequest));
        let two = b"GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n";
        assert_eq!(head(two), Err(HttpError::BadRequest));
        assert!(head(b"GET / HTTP/1.0\r\n\r\n").unwrap().is_some());
        assert!(head(b"GET / HTTP/1.1\r\nHost:\r\n\r\n").unwrap().is_some());
    }

    #[test]
    fn target_forms() {
        for (target, path) in [
            ("/", "/"),
            ("/a/b?c=d", "/a/b"),
            ("http://example.com/healthz", "/healthz"),
            ("HTTP://example.com:80/a?b", "/a"),
            ("https://example.com", "/"),
            ("http://example.com?q=1", "/"),
            ("*", "*"),
            ("example.com:443", "example.com:443"),
            ("ftp://example.com/x", "ftp://example.com/x"),
            ("/redirect?to=http://x/y", "/redirect"),
        ] {
            assert_eq!(path_of(target), path, "{target}");
        }
    }
}
