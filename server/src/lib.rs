//! Two HTTP/1.x servers that differ only in their concurrency model.
//!
//! Everything a request touches is shared: the codec ([`http`]), the routes ([`routes`]),
//! the flags ([`config`]), the listening socket ([`net`]), the counters ([`metrics`]), the
//! process limits ([`limits`]) and the signal plumbing ([`shutdown`]). What is left are two small files that a reader can diff:
//!
//! * [`model_async`]: one tokio task per connection, on a runtime with `--workers` threads.
//! * [`model_thread`]: one OS thread per connection, blocking I/O, std only.
//!
//! Both follow the shape of tokio's mini-redis `server.rs`: a `Listener` that accepts under
//! a connection cap, a `Handler` per connection, and a shutdown that stops accepting,
//! lets in-flight requests finish and closes idle connections at once.

pub mod config;
pub mod http;
pub mod idle_threads;
pub mod limits;
pub mod metrics;
pub mod model_async;
pub mod model_thread;
pub mod net;
pub mod routes;
pub mod shutdown;

/// Log to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
