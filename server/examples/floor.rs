//! The floor of each model: the least a server of that model can do per request, for
//! `just bench --floor` (issue 24) to measure beside nginx and the lab's two servers.
//!
//! ```text
//! floor async  --port 18000 --bind 127.0.0.1   # one thread, level-triggered epoll, raw syscalls
//! floor thread --port 18000 --bind 127.0.0.1   # a blocking thread per connection
//! floor tokio  --port 18000 --bind 127.0.0.1   # a tokio task per connection, nothing else
//! ```
//!
//! Not a server: no timeouts, no limits, no metrics, no routes, no parser. Every request
//! gets the same canned answer, of the same size as the lab servers' answer to `GET /`,
//! and a response is assumed to fit the socket's send buffer (true for wrk's one request
//! in flight per connection). What is left is what the model itself needs from the kernel
//! per request: with keep-alive one receive and one send (plus, for the event loop, its
//! share of an `epoll_wait`; for the thread model, the wake-up of the connection's thread);
//! without keep-alive also an accept, an epoll registration and a close (event loop), or a
//! thread's creation and exit (thread model: this floor does not keep idle threads). So
//! the gap between a lab server and its floor is what its implementation costs, and the gap
//! between the floor and nginx is what the model, on this kernel, costs.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, IntoRawFd, RawFd};

const KEEP_ALIVE: &[u8] = b"HTTP/1.1 200 OK\r\nServer: lab-floor/0.1.0\r\nDate: Fri, 04 Dec 2026 22:48:39 GMT\r\nContent-Type: text/plain\r\nContent-Length: 15\r\nConnection: keep-alive\r\n\r\nhello from lab\n";
const CLOSE: &[u8] = b"HTTP/1.1 200 OK\r\nServer: lab-floor/0.1.0\r\nDate: Fri, 04 Dec 2026 22:48:39 GMT\r\nContent-Type: text/plain\r\nContent-Length: 15\r\nConnection: close\r\n\r\nhello from lab\n";

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (model, addr) = parse(&args).unwrap_or_else(|| {
        eprintln!("usage: floor async|thread|tokio --port N [--bind IP]");
        std::process::exit(2)
    });
    let listener = server::net::bind(addr, 1024)?;
    server::net::announce(listener.local_addr()?)?;
    match model.as_str() {
        "async" => event_loop(listener),
        "tokio" => tokio_tasks(listener),
        _ => thread_per_connection(listener),
    }
}

fn parse(args: &[String]) -> Option<(String, SocketAddr)> {
    let model = args
        .first()
        .filter(|m| ["async", "thread", "tokio"].contains(&m.as_str()))?;
    let value = |flag: &str| {
        let at = args.iter().position(|a| a == flag)?;
        args.get(at + 1).cloned()
    };
    let port: u16 = value("--port")?.parse().ok()?;
    let ip = value("--bind").unwrap_or_else(|| "127.0.0.1".into());
    Some((model.clone(), SocketAddr::new(ip.parse().ok()?, port)))
}

/// Take the complete requests at the front of `buf` and append their answers to `out`.
/// Returns whether the client asked to close (then the rest is dropped).
fn answer(buf: &mut Vec<u8>, out: &mut Vec<u8>) -> bool {
    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = &buf[..end];
        let close = head
            .windows(17)
            .any(|w| w.eq_ignore_ascii_case(b"connection: close"));
        out.extend_from_slice(if close { CLOSE } else { KEEP_ALIVE });
        buf.drain(..end + 4);
        if close {
            return true;
        }
    }
    false
}

/// The event loop on tokio, as the lab's async server runs it (one-thread runtime, a task
/// per connection), with nothing else: what tokio itself costs over the raw event loop.
fn tokio_tasks(listener: TcpListener) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        loop {
            let (mut stream, _) = listener.accept().await?;
            tokio::spawn(async move {
                let (mut buf, mut out, mut chunk) = (Vec::new(), Vec::new(), [0u8; 4096]);
                loop {
                    let n = match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    buf.extend_from_slice(&chunk[..n]);
                    let close = answer(&mut buf, &mut out);
                    if stream.write_all(&out).await.is_err() || close {
                        return;
                    }
                    out.clear();
                }
            });
        }
    })
}

/// A blocking thread per connection: read, answer, until the client closes or asks to.
fn thread_per_connection(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, _) = listener.accept()?;
        std::thread::spawn(move || serve(stream));
    }
}

fn serve(mut stream: TcpStream) {
    let (mut buf, mut out, mut chunk) = (Vec::new(), Vec::new(), [0u8; 4096]);
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let close = answer(&mut buf, &mut out);
        if stream.write_all(&out).is_err() || close {
            return;
        }
        out.clear();
    }
}

/// One thread, one level-triggered epoll set: accept one connection per readiness of the
/// listener (as nginx does without `multi_accept`), read once per readiness of a
/// connection, answer, and close without deregistering (closing the last descriptor of a
/// socket removes it from the set).
fn event_loop(listener: TcpListener) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    // SAFETY: plain system calls on descriptors this function owns; every buffer passed is
    // valid for the length given.
    let ep = check(unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) })?;
    register(ep, listener.as_raw_fd(), u64::MAX)?;
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 512];
    let mut pending: Vec<Vec<u8>> = Vec::new(); // a partial request per descriptor
    let mut out = Vec::new(); // answers, reused: no allocation per request
    loop {
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, -1) };
        for event in events.iter().take(n.max(0) as usize) {
            if event.u64 != u64::MAX {
                let fd = event.u64 as RawFd;
                if pending.len() <= fd as usize {
                    pending.resize_with(fd as usize + 1, Vec::new);
                }
                serve_ready(fd, &mut pending[fd as usize], &mut out);
            } else if let Ok(stream) = server::net::accept_nonblocking(&listener) {
                let fd = stream.into_raw_fd();
                register(ep, fd, fd as u64)?;
            }
        }
    }
}

/// Read once from a ready connection, answer what is complete, close when asked or at EOF.
fn serve_ready(fd: RawFd, buf: &mut Vec<u8>, out: &mut Vec<u8>) {
    let mut chunk = [0u8; 4096];
    // SAFETY: `fd` is an open socket of the event loop's; the buffers are valid.
    unsafe {
        let read = libc::recv(fd, chunk.as_mut_ptr().cast(), chunk.len(), 0);
        if read < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock {
            return;
        }
        let close = read <= 0 || {
            buf.extend_from_slice(&chunk[..read as usize]);
            answer(buf, out)
        };
        if !out.is_empty() {
            libc::send(fd, out.as_ptr().cast(), out.len(), libc::MSG_NOSIGNAL);
            out.clear();
        }
        if close {
            buf.clear();
            libc::close(fd);
        }
    }
}

fn register(ep: RawFd, fd: RawFd, key: u64) -> io::Result<()> {
    let mut event = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: key,
    };
    // SAFETY: `event` is valid for the call; the descriptors are open.
    check(unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, &mut event) }).map(drop)
}

fn check(result: i32) -> io::Result<i32> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}
