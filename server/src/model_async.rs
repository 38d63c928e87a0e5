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
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};
use tracing::{debug, error, info, warn};

use crate::config::{available_cpus, AsyncArgs, Config};
use crate::http::{Codec, Read, FILLER};
use crate::metrics::{OpenConnection, METRICS};
use crate::net;
use crate::routes::Route;
use crate::shutdown::{self, Shutdown};

/// The `Server` header line of this model.
pub const SERVER: &str = concat!("Server: lab-async/", env!("CARGO_PKG_VERSION"), "\r\n");

/// Build the runtime, bind, announce, serve until SIGTERM/SIGINT.
pub fn main(args: AsyncArgs) -> io::Result<()> {
    let config = args.common.config(args.port);
    let workers = args.workers.map_or_else(available_cpus, NonZeroUsize::get);
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
        let listener = net::bind(config.addr, config.backlog)?;
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let addr = listener.local_addr()?;
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

/// Serve connections from `listener` until `shutdown` completes, then drain.
pub async fn run(
    listener: TcpListener,
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
    listener: TcpListener,
    config: Config,
    /// At most `--max-connections` handlers at once: accept waits for a permit.
    limit_connections: Arc<Semaphore>,
    notify_shutdown: watch::Sender<()>,
    shutdown_complete_tx: mpsc::Sender<()>,
}

/// Serves one connection: reads requests, answers them, in order, until close.
struct Handler {
    stream: TcpStream,
    codec: Codec,
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
            let _ = stream.set_nodelay(true);

            let mut handler = Handler {
                stream,
                codec: Codec::new(&self.config, SERVER.as_bytes()),
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
    /// (out of file descriptors...) are logged and retried after a pause, never fatal.
    async fn accept(&mut self) -> TcpStream {
        loop {
            match self.listener.accept().await {
                Ok((stream, _)) => return stream,
                Err(err) if net::is_connection_error(&err) => {
                    net::count_accept_error(&err);
                }
                Err(err) => {
                    net::count_accept_error(&err);
                    warn!(cause = %err, "accept failed; retrying in 50 ms");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

impl Handler {
    async fn run(&mut self) -> io::Result<()> {
        loop {
            // Answer every complete request already buffered (pipelining), then write the
            // batched responses once.
            match self.codec.next_request() {
                Ok(Some(request)) => {
                    if let Route::Sleep(duration) = request.route {
                        // Waiting costs this task nothing but a timer; the worker moves on.
                        tokio::time::sleep(duration).await;
                    }
                    let keep_alive = request.keep_alive && !self.shutdown.is_shutdown();
                    self.codec.respond(&request, keep_alive);
                    if !keep_alive {
                        return self.flush().await;
                    }
                    if self.codec.must_flush() {
                        self.flush().await?;
                    }
                }
                Ok(None) => {
                    self.flush().await?;
                    match self.read().await? {
                        Read::Data => {}
                        Read::Closed => return Ok(()),
                        Read::TimedOut if self.codec.is_idle() => return Ok(()),
                        Read::TimedOut => {
                            self.codec.respond_error(crate::http::HttpError::Timeout);
                            return self.flush().await;
                        }
                    }
                }
                Err(err) => {
                    self.codec.respond_error(err);
                    return self.flush().await;
                }
            }
        }
    }

    /// Read more bytes, waiting at most the codec's read timeout, or until shutdown.
    async fn read(&mut self) -> io::Result<Read> {
        let Some(timeout) = self.codec.read_timeout() else {
            return Ok(Read::TimedOut);
        };
        let result = tokio::select! {
            biased;
            result = tokio::time::timeout(timeout, self.stream.read(self.codec.read_buf())) => Some(result),
            _ = self.shutdown.recv() => None,
        };
        match result {
            None => Ok(Read::Closed),
            Some(Err(_elapsed)) => Ok(Read::TimedOut),
            Some(Ok(Ok(0))) => Ok(Read::Closed),
            Some(Ok(Ok(n))) => {
                self.codec.filled(n);
                Ok(Read::Data)
            }
            Some(Ok(Err(err))) if err.kind() == io::ErrorKind::Interrupted => Ok(Read::Data),
            Some(Ok(Err(err))) => Err(err),
        }
    }

    /// Write everything the codec has buffered.
    async fn flush(&mut self) -> io::Result<()> {
        let (output, mut tail) = self.codec.output();
        if !output.is_empty() {
            self.stream.write_all(output).await?;
        }
        while tail > 0 {
            let n = tail.min(FILLER.len());
            self.stream.write_all(&FILLER[..n]).await?;
            tail -= n;
        }
        self.codec.clear_output();
        Ok(())
    }
}
