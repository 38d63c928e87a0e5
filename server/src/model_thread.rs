//! The thread model: one OS thread per connection, blocking I/O, std only.
//!
//! Each accepted connection gets its own thread (`--stack-size`, default Rust's 2 MiB of
//! virtual memory, touched lazily) that blocks in `read` and `write` as plain sequential code
//! does. The kernel's scheduler provides the concurrency: a thread that computes
//! (`/cpu/{n}`) or sleeps (`/sleep/{ms}`) holds nothing but itself. The price: a thread
//! and a stack per open connection, and a context switch per wake-up. A thread whose
//! connection closed waits `--idle-thread-timeout` for the next one before it ends (see
//! [`crate::idle_threads`]), so a thread is created only when no idle one is left.
//!
//! Diff this file against `model_async.rs`: the structure and the names are the same
//! (`Listener`, `Handler`, `Shutdown`, a semaphore capping connections, a channel whose
//! closing says "all handlers are done"); only the way connections get concurrency differs.

use std::collections::HashMap;
use std::io::{self, Read as _, Write as _};
use std::net::{Shutdown as Direction, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use tracing::{debug, error, info, warn};

use crate::config::{Config, ThreadArgs};
use crate::http::{Connection, Io, Read};
use crate::idle_threads::IdleThreads;
use crate::limits;
use crate::metrics::{OpenConnection, Rejection, METRICS};
use crate::net::{self, FdReserve, RateLimited};
use crate::shutdown;

/// The `Server` header line of this model.
pub const SERVER: &str = concat!("Server: lab-thread/", env!("CARGO_PKG_VERSION"), "\r\n");

/// Bind, announce, serve until SIGTERM, SIGINT or SIGHUP.
pub fn main(args: ThreadArgs) -> io::Result<()> {
    let config = args.common.config(args.port);
    let threads = Threads::from_limits(
        args.stack_size,
        args.idle_thread_timeout,
        config.max_connections,
    );
    METRICS.set_model("thread");

    let listener = net::bind(config.addr, config.backlog)?;
    let addr = listener.local_addr()?;
    let notify_shutdown = Arc::new(NotifyShutdown::default());
    {
        // A blocking `accept` does not wake on a signal: the signal thread raises the
        // flag, then connects to the listener itself so that `accept` returns.
        let notify_shutdown = notify_shutdown.clone();
        shutdown::on_signal(move |signal| {
            info!(signal, "shutting down");
            notify_shutdown.notify();
            net::wake(addr);
        })?;
    }
    info!(
        model = "thread",
        %addr,
        backlog = config.backlog,
        stack_size = threads.stack_size.map_or_else(|| "default (2 MiB)".to_string(), |s| s.to_string()),
        idle_thread_timeout = ?threads.idle_timeout,
        max_connections = config.max_connections,
        max_threads = threads.max,
        "listening"
    );
    net::announce(addr)?;
    run(listener, config, threads, notify_shutdown);
    Ok(())
}

/// How connection threads are started, and how many may run at once.
#[derive(Debug, Clone, Copy)]
pub struct Threads {
    /// `--stack-size` (`None`: Rust's default, 2 MiB).
    pub stack_size: Option<usize>,
    /// `--idle-thread-timeout`: how long a thread waits for its next connection.
    pub idle_timeout: Duration,
    /// Past this many connection threads (idle ones included), a connection is answered 503 instead of getting
    /// one: more would not fit in `vm.max_map_count`, and the thread that does not fit
    /// aborts the process (see [`crate::limits`]).
    pub max: usize,
}

impl Threads {
    /// Read the process's limits; warn when `--max-connections` asks for more threads than
    /// the process can start (or more files than it may open).
    fn from_limits(
        stack_size: Option<usize>,
        idle_timeout: Duration,
        max_connections: usize,
    ) -> Threads {
        if let Some(bound) = limits::tightest() {
            if max_connections > bound.threads {
                warn!(
                    max_connections,
                    "--max-connections is more than the threads this process can start \
                     ({bound}); connections past that are answered 503"
                );
            }
        }
        limits::warn_if_over_open_files(max_connections);
        Threads {
            stack_size,
            idle_timeout,
            max: limits::map_budget().map_or(usize::MAX, |budget| budget.threads),
        }
    }
}

/// Serve connections from `listener` until `notify_shutdown` is notified, then drain.
pub fn run(
    listener: TcpListener,
    config: Config,
    threads: Threads,
    notify_shutdown: Arc<NotifyShutdown>,
) {
    // Notifying `notify_shutdown` tells every handler to finish up. Every handler holds a
    // clone of `shutdown_complete_tx`; when the last one is dropped, `recv` returns an error.
    let (shutdown_complete_tx, shutdown_complete_rx) = mpsc::channel::<()>();

    let mut server = Listener {
        listener,
        config,
        threads,
        running: Arc::new(AtomicUsize::new(0)),
        idle: Arc::new(IdleThreads::new(threads.idle_timeout)),
        limit_connections: Arc::new(Semaphore::new(config.max_connections)),
        notify_shutdown,
        shutdown_complete_tx,
        reserve: FdReserve::new(),
        accept_failures: RateLimited::default(),
        spawn_failures: RateLimited::default(),
    };

    if let Err(err) = server.run() {
        error!(cause = %err, "failed to accept");
    }

    // Stop accepting (new connects are refused from here on), tell the handlers.
    let Listener {
        listener,
        limit_connections,
        notify_shutdown,
        shutdown_complete_tx,
        idle,
        ..
    } = server;
    drop(listener);
    notify_shutdown.notify();
    idle.close();
    drop(shutdown_complete_tx);

    match shutdown_complete_rx.recv_timeout(config.shutdown_timeout) {
        Err(mpsc::RecvTimeoutError::Timeout) => {
            let busy = config.max_connections - limit_connections.available_permits();
            warn!(
                busy,
                "shutdown timeout: exiting with requests still in flight"
            );
        }
        _ => info!("all connections closed"),
    }
}

/// Accepts connections and starts a [`Handler`] on a new thread for each.
struct Listener {
    listener: TcpListener,
    config: Config,
    threads: Threads,
    /// Connection threads started and not finished: at most `threads.max`.
    running: Arc<AtomicUsize>,
    /// Threads whose connection closed, waiting for the next.
    idle: Arc<IdleThreads<(Handler, Permit)>>,
    /// At most `--max-connections` handlers at once: accept waits for a permit.
    limit_connections: Arc<Semaphore>,
    notify_shutdown: Arc<NotifyShutdown>,
    shutdown_complete_tx: mpsc::Sender<()>,
    /// Lets the accept loop shed a connection when out of file descriptors.
    reserve: FdReserve,
    accept_failures: RateLimited,
    spawn_failures: RateLimited,
}

/// Serves one connection: does what its [`Connection`] asks, until it says close.
struct Handler {
    /// Shared with the shutdown notice (one descriptor, two handles); see [`NotifyShutdown`].
    stream: Arc<TcpStream>,
    conn: Connection,
    shutdown: Shutdown,
    /// Counts the connection in `server_connections_open` while the handler lives.
    _open: OpenConnection,
    /// The read timeout currently set on the socket (setting one is a system call).
    read_timeout: Option<Duration>,
    /// Dropped with the handler; see [`run`].
    _shutdown_complete: mpsc::Sender<()>,
}

impl Listener {
    fn run(&mut self) -> io::Result<()> {
        loop {
            // Wait for room before accepting: when full, new connections queue in the
            // kernel's backlog instead of being accepted and left waiting.
            let permit = loop {
                if self.notify_shutdown.is_notified() {
                    return Ok(());
                }
                if let Some(permit) = self
                    .limit_connections
                    .acquire_timeout(Duration::from_millis(100))
                {
                    break permit;
                }
            };
            let Some(stream) = self.accept() else {
                return Ok(());
            };
            let stream = Arc::new(stream);
            let Some(shutdown) = self.notify_shutdown.subscribe(&stream) else {
                return Ok(()); // woken for shutdown
            };

            let handler = Handler {
                stream,
                conn: Connection::new(&self.config, SERVER.as_bytes()),
                shutdown,
                _open: METRICS.connection_opened(),
                read_timeout: None,
                _shutdown_complete: self.shutdown_complete_tx.clone(),
            };
            self.spawn(handler, permit);
        }
    }

    /// A thread per connection: an idle one if there is one, else a new one. If the thread
    /// cannot be created (out of memory, or the container's pids limit), or
    /// [`Threads::max`] are running, the handler comes back here to answer 503.
    fn spawn(&mut self, handler: Handler, permit: Permit) {
        let Err((mut handler, permit)) = self.idle.hand_over((handler, permit)) else {
            return;
        };
        let Some(running) = Running::enter(&self.running, self.threads.max) else {
            let err = io::Error::other(format!("{} connection threads", self.threads.max));
            self.spawn_failures.warn(
                &err,
                "thread limit reached (vm.max_map_count); answering 503",
            );
            handler.reject();
            return;
        };
        let slot = Arc::new(Mutex::new(Some(handler)));
        let handed_over = slot.clone();
        let idle = self.idle.clone();
        let mut builder = thread::Builder::new();
        if let Some(size) = self.threads.stack_size {
            builder = builder.stack_size(size);
        }
        let spawned = builder.spawn(move || {
            let _running = running;
            let _alive = METRICS.thread_started();
            let mut next = lock(&handed_over).take().map(|handler| (handler, permit));
            while let Some((mut handler, permit)) = next {
                if let Err(err) = handler.run() {
                    debug!(cause = %err, "connection error");
                }
                // Closed and counted out once the thread counts as idle.
                next = idle.next(|| drop((handler, permit)));
            }
        });
        if let Err(err) = spawned {
            self.spawn_failures
                .warn(&err, "cannot start a connection thread; answering 503");
            if let Some(mut handler) = lock(&slot).take() {
                handler.reject();
            }
        }
    }

    /// Accept one connection (`None`: shutting down). Errors that concern only that
    /// connection are skipped; others are counted, logged and retried after a pause, never
    /// fatal. Out of file descriptors, the connection that does not fit is closed (see
    /// [`FdReserve`]).
    fn accept(&mut self) -> Option<TcpStream> {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => return Some(stream),
                Err(err) => {
                    net::count_accept_error(&err);
                    if net::is_connection_error(&err) {
                        continue;
                    }
                    if net::is_out_of_fds(&err) {
                        self.reserve.release();
                        drop(self.listener.accept());
                        self.reserve.restore();
                    }
                    self.accept_failures.warn(&err, "accept failed; pausing");
                    thread::sleep(net::ACCEPT_BACKOFF);
                    if self.notify_shutdown.is_notified() {
                        return None;
                    }
                }
            }
        }
    }
}

impl Handler {
    /// Do what the connection asks until it is done (see [`crate::http::Connection`]).
    fn run(&mut self) -> io::Result<()> {
        loop {
            match self.conn.next(self.shutdown.is_shutdown()) {
                Io::Read(timeout) => {
                    let read = self.read(timeout)?;
                    self.conn.read_done(read);
                }
                Io::Write(timeout) => {
                    let n = self.write(timeout)?;
                    self.conn.written(n);
                }
                // The whole thread waits; the kernel runs other threads meanwhile.
                Io::Sleep(duration) => thread::sleep(duration),
                Io::ShutdownWrite => self.stream.shutdown(Direction::Write)?,
                Io::Close => return Ok(()),
            }
        }
    }

    /// Read once, waiting at most `timeout`, or until shutdown.
    fn read(&mut self, timeout: Duration) -> io::Result<Read> {
        if self.read_timeout != Some(timeout) {
            self.stream.set_read_timeout(Some(timeout))?;
            self.read_timeout = Some(timeout);
        }
        // Shutdown shuts the socket's read side: a blocked `read` returns 0.
        match (&*self.stream).read(self.conn.read_buf()) {
            Ok(0) => Ok(Read::Closed),
            Ok(n) => Ok(Read::Data(n)),
            Err(err) if is_timeout(&err) => Ok(Read::TimedOut),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => Ok(Read::Data(0)),
            Err(err) => Err(err),
        }
    }

    /// Write once, waiting at most `timeout` for the client to make room.
    ///
    /// Not a blocking `write` with `SO_SNDTIMEO`: that one returns only when all is written
    /// or the timeout has passed, and counts bytes that went out at its start as progress,
    /// so a client that stops reading held the connection for two or three timeouts. Here,
    /// as in the async model, a write takes what fits at once, and only a write that finds
    /// no room waits (at most `timeout`) for the client to take something.
    fn write(&mut self, timeout: Duration) -> io::Result<usize> {
        let socket = socket2::SockRef::from(&*self.stream);
        loop {
            match socket.send_with_flags(self.conn.pending(), SEND_FLAGS) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => return Ok(n),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    wait_writable(&self.stream, timeout)?;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => return Ok(0),
                Err(err) => return Err(err),
            }
        }
    }

    /// Answer 503 and close, from the accepting thread.
    ///
    /// The request is read first (waiting at most 50 ms for it, so the accept loop is never
    /// held up for long): closing a socket with unread data makes the kernel send a reset
    /// instead of a FIN, and the client would see "connection reset" rather than the 503.
    fn reject(&mut self) {
        let stream = &*self.stream;
        let patience = Some(Duration::from_millis(50));
        let _ = stream.set_read_timeout(patience);
        let _ = stream.set_write_timeout(patience);
        let mut request = [0u8; 4096];
        let mut received = 0;
        while received < request.len() && !request[..received].windows(4).any(|w| w == b"\r\n\r\n")
        {
            match (&*self.stream).read(&mut request[received..]) {
                Ok(n) if n > 0 => received += n,
                _ => break,
            }
        }
        self.conn.reject(Rejection::SpawnFailed);
        while !self.conn.pending().is_empty() {
            match (&*self.stream).write(self.conn.pending()) {
                Ok(n) if n > 0 => self.conn.written(n),
                _ => break,
            }
        }
        let _ = self.stream.shutdown(Direction::Write);
    }
}

/// A send that never blocks (the wait is [`wait_writable`]'s) and never raises SIGPIPE.
const SEND_FLAGS: libc::c_int = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;

/// Wait until `stream` can take more bytes (or has failed: the next write says how), at
/// most `timeout`; `TimedOut` if it cannot.
fn wait_writable(stream: &TcpStream, timeout: Duration) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let mut poll = libc::pollfd {
        fd: stream.as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    let millis = libc::c_int::try_from(timeout.as_millis().max(1)).unwrap_or(libc::c_int::MAX);
    // SAFETY: one valid pollfd, for the duration of the call.
    match unsafe { libc::poll(&mut poll, 1, millis) } {
        0 => Err(io::ErrorKind::TimedOut.into()),
        n if n > 0 => Ok(()),
        _ => match io::Error::last_os_error() {
            err if err.kind() == io::ErrorKind::Interrupted => Ok(()),
            err => Err(err),
        },
    }
}

/// One connection thread counted in [`Listener::running`] until dropped (when the thread
/// ends, or at once if it could not be started).
struct Running(Arc<AtomicUsize>);

impl Running {
    fn enter(running: &Arc<AtomicUsize>, max: usize) -> Option<Running> {
        // Only the accepting thread adds: a load, then an add, cannot overshoot.
        if running.load(Ordering::Relaxed) >= max {
            return None;
        }
        running.fetch_add(1, Ordering::Relaxed);
        Some(Running(running.clone()))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A socket timeout: `SO_RCVTIMEO` expires as `EAGAIN`.
fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// The thread model's shutdown notice, shared by the listener, the signal thread and every
/// handler (the async model uses a watch channel instead).
///
/// A handler blocked in `read` must wake up when the server shuts down, so the notice keeps
/// a handle on every open connection and shuts their read side: the blocked `read` returns
/// 0 at once, while a handler busy with a request still writes its response. The handle is
/// a second `Arc` on the handler's own stream, not a `try_clone`d descriptor: a clone
/// would cost a second descriptor per connection, and could fail exactly when descriptors
/// run out.
#[derive(Debug, Default)]
pub struct NotifyShutdown {
    notified: AtomicBool,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    next_id: u64,
    streams: HashMap<u64, Arc<TcpStream>>,
}

impl NotifyShutdown {
    /// Announce the shutdown (idempotent).
    pub fn notify(&self) {
        let open = lock(&self.open);
        self.notified.store(true, Ordering::SeqCst);
        for stream in open.streams.values() {
            let _ = stream.shutdown(Direction::Read);
        }
    }

    pub fn is_notified(&self) -> bool {
        self.notified.load(Ordering::SeqCst)
    }

    /// A [`Shutdown`] for a new connection, or `None` if the shutdown was announced.
    fn subscribe(self: &Arc<Self>, stream: &Arc<TcpStream>) -> Option<Shutdown> {
        let mut open = lock(&self.open);
        if self.is_notified() {
            return None;
        }
        let id = open.next_id;
        open.next_id += 1;
        open.streams.insert(id, stream.clone());
        Some(Shutdown {
            notify: self.clone(),
            id,
        })
    }
}

/// One handler's view of the shutdown notice (mini-redis's `Shutdown`).
#[derive(Debug)]
struct Shutdown {
    notify: Arc<NotifyShutdown>,
    id: u64,
}

impl Shutdown {
    fn is_shutdown(&self) -> bool {
        self.notify.is_notified()
    }
}

impl Drop for Shutdown {
    fn drop(&mut self) {
        lock(&self.notify.open).streams.remove(&self.id);
    }
}

/// A counting semaphore (tokio's `Semaphore`, in std).
#[derive(Debug)]
struct Semaphore {
    permits: Mutex<Permits>,
    released: Condvar,
}

#[derive(Debug)]
struct Permits {
    available: usize,
    /// Threads waiting for a permit. A returned permit wakes one only if there is one:
    /// std's `Condvar::notify_one` is a system call even when nobody waits, and a permit is
    /// returned once per connection.
    waiting: usize,
}

/// Gives its permit back when dropped.
#[derive(Debug)]
struct Permit(Arc<Semaphore>);

impl Semaphore {
    fn new(permits: usize) -> Semaphore {
        Semaphore {
            permits: Mutex::new(Permits {
                available: permits,
                waiting: 0,
            }),
            released: Condvar::new(),
        }
    }

    /// Take a permit, waiting at most `timeout` for one.
    fn acquire_timeout(self: &Arc<Self>, timeout: Duration) -> Option<Permit> {
        let deadline = Instant::now() + timeout;
        let mut permits = lock(&self.permits);
        while permits.available == 0 {
            let left = deadline
                .checked_duration_since(Instant::now())
                .filter(|left| !left.is_zero())?;
            permits.waiting += 1;
            permits = self
                .released
                .wait_timeout(permits, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            permits.waiting -= 1;
        }
        permits.available -= 1;
        Some(Permit(self.clone()))
    }

    fn available_permits(&self) -> usize {
        lock(&self.permits).available
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut permits = lock(&self.0.permits);
        permits.available += 1;
        if permits.waiting > 0 {
            drop(permits);
            self.0.released.notify_one();
        }
    }
}

/// Lock a mutex; a panic elsewhere while holding it leaves data that is still valid here.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semaphore_counts() {
        let semaphore = Arc::new(Semaphore::new(2));
        let a = semaphore
            .acquire_timeout(Duration::from_millis(10))
            .unwrap();
        let _b = semaphore
            .acquire_timeout(Duration::from_millis(10))
            .unwrap();
        assert!(semaphore
            .acquire_timeout(Duration::from_millis(10))
            .is_none());
        drop(a);
        assert_eq!(semaphore.available_permits(), 1);
        assert!(semaphore
            .acquire_timeout(Duration::from_millis(10))
            .is_some());
    }

    #[test]
    fn notify_wakes_a_blocked_reader() {
        let listener = net::bind("127.0.0.1:0".parse().unwrap(), 8).unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let conn = Arc::new(listener.accept().unwrap().0);
        let notify = Arc::new(NotifyShutdown::default());
        let shutdown = notify.subscribe(&conn).unwrap();
        let reader = thread::spawn(move || {
            let mut buf = [0u8; 16];
            (&*conn).read(&mut buf).unwrap()
        });
        thread::sleep(Duration::from_millis(50));
        notify.notify();
        assert_eq!(reader.join().unwrap(), 0);
        assert!(shutdown.is_shutdown());
        drop(shutdown);
        assert!(lock(&notify.open).streams.is_empty());
        assert!(notify.subscribe(&listener_stream(&listener)).is_none());
    }

    fn listener_stream(listener: &TcpListener) -> Arc<TcpStream> {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let _ = listener.accept().unwrap();
        Arc::new(client)
    }
}
