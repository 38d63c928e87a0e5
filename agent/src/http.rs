//! A minimal HTTP/1.0 GET over std's `TcpStream`: enough to scrape a metrics endpoint and
//! to check that a server answers, with no dependency that would grow the static binary.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::Fetch;

/// Time to connect, and to read the whole response, per attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between attempts while `wait` lasts.
const RETRY_PAUSE: Duration = Duration::from_millis(100);
/// A response larger than this is cut (metrics pages are a few KiB).
const MAX_RESPONSE: u64 = 4 << 20;

/// `http://host:port/path` → (host, port, path).
pub fn split_url(url: &str) -> Result<(String, u16, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|_| format!("{url}: bad port `{p}`"))?,
        ),
        None => (authority, 80),
    };
    if host.is_empty() {
        return Err(format!("{url}: no host"));
    }
    Ok((host.to_string(), port, path.to_string()))
}

/// GET `url`; while `wait` has not run out, retry connections that fail (the server may
/// still be starting). An HTTP answer of any status ends the retries.
pub fn get(url: &str, wait: Duration) -> Fetch {
    let mut fetch = Fetch {
        url: url.to_string(),
        ..Fetch::default()
    };
    let (host, port, path) = match split_url(url) {
        Ok(parts) => parts,
        Err(e) => {
            fetch.error = Some(e);
            return fetch;
        }
    };
    let deadline = Instant::now() + wait;
    loop {
        fetch.attempts += 1;
        match attempt(&host, port, &path) {
            Ok((status, body)) => {
                fetch.status = Some(status);
                fetch.body = body;
                fetch.error = None;
                return fetch;
            }
            Err(e) => fetch.error = Some(e),
        }
        if Instant::now() + RETRY_PAUSE >= deadline {
            return fetch;
        }
        std::thread::sleep(RETRY_PAUSE);
    }
}

fn attempt(host: &str, port: u16, path: &str) -> Result<(u16, String), String> {
    let addr: SocketAddr = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("resolving {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host} has no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
        .map_err(|e| format!("connecting to {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(READ_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let request =
        format!("GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nUser-Agent: lab-agent\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("sending to {addr}: {e}"))?;
    let mut raw = Vec::new();
    stream
        .take(MAX_RESPONSE)
        .read_to_end(&mut raw)
        .map_err(|e| format!("reading from {addr}: {e}"))?;
    parse_response(&raw)
}

/// Status code and body of a complete HTTP/1.x response.
pub fn parse_response(raw: &[u8]) -> Result<(u16, String), String> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("not an HTTP response ({} bytes, no header end)", raw.len()))?;
    let status_line = head.lines().next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    let version = parts.next().unwrap_or_default();
    let code = parts.next().and_then(|c| c.parse::<u16>().ok());
    match code {
        Some(code) if version.starts_with("HTTP/1.") => Ok((code, body.to_string())),
        _ => Err(format!("not an HTTP status line: {status_line:.80}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        assert_eq!(
            split_url("http://172.18.0.2:45000/metrics").unwrap(),
            ("172.18.0.2".into(), 45000, "/metrics".into())
        );
        assert_eq!(
            split_url("http://srv").unwrap(),
            ("srv".into(), 80, "/".into())
        );
        assert!(split_url("https://x/").is_err());
        assert!(split_url("http://x:99999/").is_err());
        assert!(split_url("http://:80/").is_err());
    }

    #[test]
    fn parses_responses() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        assert_eq!(parse_response(raw).unwrap(), (200, "ok".to_string()));
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
        assert!(parse_response(b"SSH-2.0-x\r\n\r\n").is_err());
    }

    #[test]
    fn gets_from_a_real_socket_and_reports_refusals() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let n = s.read(&mut buf).unwrap();
            assert!(buf[..n].starts_with(b"GET /metrics HTTP/1.0\r\n"));
            s.write_all(b"HTTP/1.0 200 OK\r\n\r\nx 1\n").unwrap();
        });
        let f = get(&format!("http://127.0.0.1:{port}/metrics"), Duration::ZERO);
        server.join().unwrap();
        assert_eq!(
            (f.status, f.body.as_str(), f.attempts),
            (Some(200), "x 1\n", 1)
        );
        // Nothing listens on port 1 (below the ephemeral range, so a closed test port cannot
        // be re-bound by a parallel test or self-connected to): refused, and no retry
        // without wait.
        let f = get("http://127.0.0.1:1/", Duration::ZERO);
        assert_eq!(f.status, None);
        assert!(f.error.unwrap().contains("connecting"));
    }
}
