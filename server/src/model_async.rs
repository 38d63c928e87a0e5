//! The async model: one tokio task per connection.
//!
//! A handful of runtime worker threads (`--workers`, default one per usable CPU) run every
//! connection. A connection waiting for the network costs a few hundred bytes of task state,
//! not a thread; when its socket is ready, the runtime polls its task on a free worker. The
//! price: a task that computes (`/cpu/{n}`) holds its worker, and every other connection on
//! that worker waits. With `--workers 1` this is the classic single-threaded event loop.
//!
//! Diff this file against `model_thread.rs`: the structure and the names are the same
//! (`Listener`, `Handler`, `Shutdown`, a semaphore capping connections, a channel whose
//! closing says "all handlers are done"); only the way connections get concurrency differs.

use std::future::Future;
use std::io;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::time::{Instant, Sleep};
use tracing::{debug, error, info, warn};

use crate::config::{available_cpus, AsyncArgs, Config};
use crate::http::{Connection, Io, Read};
use crate::limits;
use crate::metrics::{OpenConnection, METRICS};
use crate::net::{self, FdReserve, RateLimited};
use crate::shutdown::{self, Shutdown};

/// The `Server` header line of this model.
pub const SERVER: &str = concat!("Server: lab-async/", env!("CARGO_PKG_VERSION"), "\r\n");

/// Build the runtime, bind, announce, serve until SIGTERM, SIGINT or SIGHUP.
pub fn main(args: AsyncArgs) -> io::Result<()> {
    let config = args.common.config(args.port);
    let workers =
        workers(&args).map_err(|message| io::Error::new(io::ErrorKind::InvalidInput, message))?;
    limits::warn_if_over_open_files(config.max_connections);
    let mut builder = if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(workers);
        builder
    };
    let runtime = builder.enable_all().build()?;
    METRICS.set_model("async");
    METRICS.set_threads(workers);

    let result = runtime.block_on(async {
        let listener = register(net::bind(config.addr, config.backlog)?)?;
        let addr = listener.get_ref().local_addr()?;
        let signal = shutdown::signal()?;
        info!(
            model = "async",
            %addr,
            backlog = config.backlog,
            workers,
            max_connections = config.max_connections,
            "listening"
        );
        net::announce(addr)?;
        run(listener, config, signal).await;
        Ok(())
    });
    // Tasks still running past the shutdown timeout are abandoned, not waited for.
    runtime.shutdown_background();
    result
}

/// The runtime's worker threads: `--workers`, or one per usable CPU.
///
/// More than the process can start is refused here, with the reason: tokio starts every
/// worker up front, and a worker that does not fit aborts the process (see
/// [`crate::limits`]).
pub fn workers(args: &AsyncArgs) -> Result<usize, String> {
    let workers = args.workers.map_or_else(available_cpus, NonZeroUsize::get);
    match limits::tightest() {
        Some(bound) if workers > bound.threads => Err(format!(
            "--workers {workers} is more than the threads this process can start ({bound})"
        )),
        _ => Ok(workers),
    }
}

/// Make `listener` non-blocking and register it with the runtime (see
/// [`Listener::accept_once`] for why not as a `tokio::net::TcpListener`).
pub fn register(listener: std::net::TcpListener) -> io::Result<AsyncFd<std::net::TcpListener>> {
    listener.set_nonblocking(true)?;
    // SAFETY: the listener owns its descriptor; nothing replaces or closes it while the
    // `AsyncFd` holds it.
    unsafe { AsyncFd::register_with_interest(listener, Interest::READABLE) }
        .map_err(|err| err.into_parts().1)
}

/// Serve connections from `listener` until `shutdown` completes, then drain.
pub async fn run(
    listener: AsyncFd<std::net::TcpListener>,
    config: Config,
    shutdown: impl Future<Output = &'static str>,
) {
    // Dropping `notify_shutdown` tells every handler to finish up. Every handler holds a
    // clone of `shutdown_complete_tx`; when the last one is dropped, `recv` returns `None`.
    let (notify_shutdown, _) = watch::channel(());
    let (shutdown_complete_tx, mut shutdown_complete_rx) = mpsc::channel::<()>(1);

    let mut server = Listener {
        listener,
        config,
        limit_connections: Arc::new(Semaphore::new(config.max_connections)),
        notify_shutdown,
        shutdown_complete_tx,
        reserve: FdReserve::new(),
        accept_failures: RateLimited::default(),
    };

    tokio::select! {
        res = server.run() => {
            if let Err(err) = res {
                error!(cause = %err, "failed to accept");
            }
        }
        signal = shutdown => {
            info!(signal, "shutting down");
        }
    }

    // Stop accepting (new connects are refused from here on), tell the handlers.
    let Listener {
        listener,
        limit_connections,
        notify_shutdown,
        shutdown_complete_tx,
        ..
    } = server;
    drop(listener);
    drop(notify_shutdown);
    drop(shutdown_complete_tx);

    match tokio::time::timeout(config.shutdown_timeout, shutdown_complete_rx.recv()).await {
        Ok(_) => info!("all connections closed"),
        Err(_) => {
            let busy = config.max_connections - limit_connections.available_permits();
            warn!(
                busy,
                "shutdown timeout: exiting with requests still in flight"
            );
        }
    }
}

/// Accepts connections and starts a [`Handler`] for each.
struct Listener {
    listener: AsyncFd<std::net::TcpListener>,
    config: Config,
    /// At most `--max-connections` handlers at once: accept waits for a permit.
    limit_connections: Arc<Semaphore>,
    notify_shutdown: watch::Sender<()>,
    shutdown_complete_tx: mpsc::Sender<()>,
    /// Lets the accept loop shed a connection when out of file descriptors.
    reserve: FdReserve,
    accept_failures: RateLimited,
}

/// Serves one connection: does what its [`Connection`] asks, until it says close.
struct Handler {
    stream: TcpStream,
    conn: Connection,
    shutdown: Shutdown,
    /// Counts the connection in `server_connections_open` while the handler lives.
    _open: OpenConnection,
    /// Dropped with the handler; see [`run`].
    _shutdown_complete: mpsc::Sender<()>,
}

impl Listener {
    async fn run(&mut self) -> io::Result<()> {
        loop {
            // Wait for room before accepting: when full, new connections queue in the
            // kernel's backlog instead of being accepted and left waiting.
            let Ok(permit) = self.limit_connections.clone().acquire_owned().await else {
                return Ok(()); // the semaphore is never closed
            };
            let stream = self.accept().await;

            let mut handler = Handler {
                stream,
                conn: Connection::new(&self.config, SERVER.as_bytes()),
                shutdown: Shutdown::new(self.notify_shutdown.subscribe()),
                _open: METRICS.connection_opened(),
                _shutdown_complete: self.shutdown_complete_tx.clone(),
            };

            // A task per connection.
            tokio::spawn(async move {
                if let Err(err) = handler.run().await {
                    debug!(cause = %err, "connection error");
                }
                drop(permit);
            });
        }
    }

    /// Accept one connection. Errors that concern only that connection are skipped; others
    /// are counted, logged and retried after a pause, never fatal. Out of file descriptors,
    /// the connection that does not fit is closed (see [`FdReserve`]).
    async fn accept(&mut self) -> TcpStream {
        loop {
            match self.accept_once().await {
                Ok(stream) => return stream,
                Err(err) => {
                    net::count_accept_error(&err);
                    if net::is_connection_error(&err) {
                        continue;
                    }
                    if net::is_out_of_fds(&err) {
                        self.reserve.release();
                        drop(self.accept_once().await);
                        self.reserve.restore();
                    }
                    self.accept_failures.warn(&err, "accept failed; pausing");
                    tokio::time::sleep(net::ACCEPT_BACKOFF).await;
                }
            }
        }
    }

    /// `accept4` a connection, non-blocking, when the listener is ready.
    ///
    /// Not `tokio::net::TcpListener::accept`: that one marks an accepted stream readable
    /// before epoll says so, so that its first read tries the socket at once. At full speed
    /// a connection is accepted as soon as its handshake completes, before the client's
    /// request arrives, and that first read fails with `EAGAIN`: one wasted system call
    /// per connection (measured: 2.0 `recvfrom` per one-request connection, against 1.0
    /// here). A stream made with `from_std` waits for epoll's first event instead.
    async fn accept_once(&self) -> io::Result<TcpStream> {
        let fd = self
            .listener
            .async_io(Interest::READABLE, net::accept_nonblocking)
            .await?;
        TcpStream::from_std(fd)
    }
}

impl Handler {
    /// Do what the connection asks until it is done (see [`crate::http::Connection`]).
    async fn run(&mut self) -> io::Result<()> {
        // The read timeout's timer: one per connection, re-armed lazily (see `read`). It
        // lives in the task's own (pinned) state, not in an allocation of its own. It starts
        // a year away, so that the first read moves it to its deadline: a timer created
        // already due (`Duration::ZERO`) fired at its first poll, which sent the task once
        // more through the timer and the scheduler before its first read, about 4 µs of a
        // one-request connection's 19 (README "Server performance", "What changed").
        let timer = tokio::time::sleep(UNSET);
        tokio::pin!(timer);
        loop {
            match self.conn.next(self.shutdown.is_shutdown()) {
                Io::Read(timeout) => {
                    let read = self.read(timer.as_mut(), timeout).await?;
                    self.conn.read_done(read);
                }
                Io::Write(timeout) => {
                    let n = self.write(timeout).await?;
                    self.conn.written(n);
                }
                // Waiting costs this task nothing but a timer; the worker moves on.
                Io::Sleep(duration) => tokio::time::sleep(duration).await,
                Io::ShutdownWrite => self.stream.shutdown().await?,
                Io::Close => return Ok(()),
            }
        }
    }

    /// Read once, waiting at most `timeout`, or until shutdown.
    ///
    /// The timer is not set per read: a `tokio::time::timeout` per read put an entry in the
    /// timer wheel and took it out again around every request. Here the connection's one
    /// timer is moved earlier when a read needs an earlier deadline, and otherwise left
    /// where it is; when it fires before this read's deadline (set by an earlier read), it
    /// is moved to the deadline and the read goes on. The read still times out `timeout`
    /// after it started, and a connection that keeps a steady pace pays about one timer
    /// move per timeout instead of two wheel updates per request.
    async fn read(&mut self, mut timer: Pin<&mut Sleep>, timeout: Duration) -> io::Result<Read> {
        let deadline = Instant::now() + timeout;
        if timer.deadline() > deadline || timer.is_elapsed() {
            timer.as_mut().reset(deadline);
        }
        loop {
            let result = tokio::select! {
                biased;
                result = self.stream.read(self.conn.read_buf()) => result,
                () = timer.as_mut() => {
                    if Instant::now() < deadline {
                        timer.as_mut().reset(deadline); // fired for an earlier read
                        continue;
                    }
                    return Ok(Read::TimedOut);
                }
                () = self.shutdown.recv() => return Ok(Read::Closed),
            };
            return match result {
                Ok(0) => Ok(Read::Closed),
                Ok(n) => Ok(Read::Data(n)),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => Ok(Read::Data(0)),
                Err(err) => Err(err),
            };
        }
    }

    /// Write once, waiting at most `timeout` for the client to make room.
    async fn write(&mut self, timeout: Duration) -> io::Result<usize> {
        let pending = self.conn.pending();
        // Most writes fit at once: try before arming a timer.
        match self.stream.try_write(pending) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
            result => return written(result),
        }
        match tokio::time::timeout(timeout, self.stream.write(pending)).await {
            Ok(result) => written(result),
            Err(_elapsed) => Err(io::ErrorKind::TimedOut.into()),
        }
    }
}

/// Where the read timer starts: later than any read's deadline.
const UNSET: Duration = Duration::from_secs(365 * 24 * 3600);

/// A write's count; 0 for a non-empty buffer would loop forever, so it is an error.
fn written(result: io::Result<usize>) -> io::Result<usize> {
    match result {
        Ok(0) => Err(io::ErrorKind::WriteZero.into()),
        Err(err) if err.kind() == io::ErrorKind::Interrupted => Ok(0),
        result => result,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// The read timer is left armed for an earlier read (see [`Handler::read`]); when it
    /// fires, the connection must still get its whole idle time counted from the last
    /// request. Requests at 0 s and 0.6 s with a 1 s keep-alive timeout: the timer set at
    /// 0 s fires at 1 s, and a request at 1.2 s must still be answered.
    #[tokio::test]
    async fn idle_time_counts_from_the_last_request() {
        let args = AsyncArgs::parse_from(["server-async", "--keepalive-timeout", "1s"]);
        let config = args.common.config(0);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let listener = register(listener).unwrap();
        tokio::spawn(run(listener, config, std::future::pending()));

        let mut client = TcpStream::connect(addr).await.unwrap();
        for pause in [0, 600, 600] {
            tokio::time::sleep(Duration::from_millis(pause)).await;
            client
                .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                .await
                .unwrap();
            let mut response = [0u8; 512];
            let n = client.read(&mut response).await.unwrap();
            assert!(
                response[..n].starts_with(b"HTTP/1.1 200 OK"),
                "after a pause of {pause} ms: {:?}",
                String::from_utf8_lossy(&response[..n])
            );
        }
    }
}
