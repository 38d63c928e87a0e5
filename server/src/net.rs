//! The listening socket, shared by both models.
//!
//! `std::net::TcpListener::bind` and `tokio::net::TcpListener::bind` both call `listen(2)`
//! with a fixed backlog (128 and 1024). The lab needs to choose it (a backlog of 5 is how the
//! original Python server collapsed), so the socket is built by hand with `socket2`.

use std::fs::File;
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

/// Bind `addr` and listen with exactly `backlog` pending connections (the kernel still caps
/// it at `net.core.somaxconn`). The returned listener is blocking.
///
/// Accepted connections have `TCP_NODELAY` set: Linux copies it from the listener to each
/// accepted socket, so it is set here once instead of with one `setsockopt` per connection
/// (a sixth of the system calls of a one-request connection in the async model).
pub fn bind(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // Lets a restarted server bind while old connections sit in TIME_WAIT.
    socket.set_reuse_address(true)?;
    // Answers are written whole; a long body's last piece must not wait for an ACK.
    socket.set_tcp_nodelay(true)?;
    socket.bind(&addr.into())?;
    let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
    socket.listen(backlog)?;
    Ok(socket.into())
}

/// Accept one connection as a non-blocking, close-on-exec stream, in one `accept4`.
/// (`std`'s `accept` makes a blocking stream; making it non-blocking is another call.)
pub fn accept_nonblocking(listener: &TcpListener) -> io::Result<TcpStream> {
    use std::os::fd::{AsRawFd, FromRawFd};
    let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    // SAFETY: no address is asked for (null pointers); a non-negative result is a new
    // descriptor that nothing else owns.
    let fd = unsafe {
        libc::accept4(
            listener.as_raw_fd(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            flags,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a connected TCP socket owned by nobody else.
    Ok(unsafe { TcpStream::from_raw_fd(fd) })
}

/// Print the `listening on <ip>:<port>` line on stdout and flush it.
///
/// This line is a contract: tests start a server with `--port 0` and read the real port
/// from it. It is the only thing either server ever writes to stdout.
pub fn announce(addr: SocketAddr) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {addr}")?;
    out.flush()
}

/// Connect to our own listener so that a thread blocked in `accept()` wakes up and sees the
/// shutdown flag (a signal does not interrupt a blocking accept).
pub fn wake(listening: SocketAddr) {
    let ip = match listening.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let _ = TcpStream::connect_timeout(
        &SocketAddr::new(ip, listening.port()),
        Duration::from_millis(200),
    );
}

/// Whether an `accept()` error concerns only the one connection being accepted (the peer
/// gave up before we got to it): then accept again at once. Anything else (out of file
/// descriptors, out of memory) is worth a pause and a warning.
pub fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// Whether an `accept()` error says the process (or the system) is out of file descriptors.
pub fn is_out_of_fds(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// One file descriptor held in reserve for when the process runs out of them.
///
/// Out of descriptors, `accept()` fails and leaves the connection at the head of the
/// backlog, so the listener stays readable and every later accept fails the same way: the
/// client waits for nothing while the accept loop spins. With a descriptor in reserve the
/// loop can free it, accept the connection, close it at once (the client sees the close
/// instead of waiting), and take the reserve back: running out costs only the connection
/// that did not fit. (The trick of libev and nginx; `/dev/null` is there even in an empty
/// container.)
#[derive(Debug)]
pub struct FdReserve(Option<File>);

impl FdReserve {
    pub fn new() -> FdReserve {
        FdReserve(File::open("/dev/null").ok())
    }

    /// Free the reserve, for the one accept that sheds a connection.
    pub fn release(&mut self) {
        self.0 = None;
    }

    /// Take the reserve back (best effort: if that fails, the next shed finds none).
    pub fn restore(&mut self) {
        if self.0.is_none() {
            self.0 = File::open("/dev/null").ok();
        }
    }
}

impl Default for FdReserve {
    fn default() -> FdReserve {
        FdReserve::new()
    }
}

/// A warning logged at most once per second, with the count of those suppressed (a
/// failing accept loop or thread spawn would otherwise log at the rate it retries).
#[derive(Debug, Default)]
pub struct RateLimited {
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimited {
    pub fn warn(&mut self, err: &io::Error, message: &str) {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|last| now.duration_since(last) < Duration::from_secs(1))
        {
            self.suppressed += 1;
            return;
        }
        tracing::warn!(cause = %err, suppressed = self.suppressed, "{message}");
        self.last = Some(now);
        self.suppressed = 0;
    }
}

/// How long the accept loop pauses after an error that is not the peer's (out of file
/// descriptors, out of memory): retrying at once would only spin.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Count a failed `accept()` in `server_accept_errors_total`, unless it was no failure at
/// all (interrupted by a signal, or nothing to accept on a non-blocking socket).
pub fn count_accept_error(err: &io::Error) {
    if !matches!(
        err.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
    ) {
        crate::metrics::METRICS.accept_error();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_ephemeral_port_and_accept() {
        let listener = bind("127.0.0.1:0".parse().unwrap(), 5).unwrap();
        let addr = listener.local_addr().unwrap();
        assert_ne!(addr.port(), 0);
        let _client = TcpStream::connect(addr).unwrap();
        let (conn, _) = listener.accept().unwrap();
        // Neither model sets it per connection: it comes from the listener.
        assert!(conn.nodelay().unwrap(), "accepted without TCP_NODELAY");
    }

    #[test]
    fn wake_connects_to_unspecified_address() {
        let listener = bind("0.0.0.0:0".parse().unwrap(), 5).unwrap();
        wake(listener.local_addr().unwrap());
        let (_conn, peer) = listener.accept().unwrap();
        assert!(peer.ip().is_loopback());
    }
}
