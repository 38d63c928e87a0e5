//! Command-line flags, shared by both binaries. Every flag can also be set from an
//! environment variable (`SERVER_PORT`, `SERVER_BACKLOG`, ...) so containers can be tuned
//! without changing their command; a flag on the command line wins over the variable.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroUsize;
use std::time::Duration;

use clap::{Args, Parser};

use crate::http::Limits;

/// The largest `--max-connections`: the most permits a `tokio::sync::Semaphore` can hold
/// (more makes `Semaphore::new` panic).
pub const MAX_CONNECTIONS: u64 = tokio::sync::Semaphore::MAX_PERMITS as u64;

/// Flags common to both models.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Address to bind.
    #[arg(long, env = "SERVER_BIND", default_value = "0.0.0.0")]
    pub bind: IpAddr,

    /// Listen backlog passed to listen(2) (the kernel caps it at net.core.somaxconn).
    #[arg(long, env = "SERVER_BACKLOG", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..=i32::MAX as i64))]
    pub backlog: u32,

    /// Time to receive a whole request once its first byte arrived (then 408 and close).
    #[arg(long, env = "SERVER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub read_timeout: Duration,

    /// Time a response write may wait for the client to take any byte (then the connection
    /// is dropped): a client that stops reading cannot hold a connection forever.
    #[arg(long, env = "SERVER_WRITE_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub write_timeout: Duration,

    /// Idle time allowed between requests on a connection (then a silent close).
    #[arg(long, env = "SERVER_KEEPALIVE_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub keepalive_timeout: Duration,

    /// Largest request line + header section (larger: 431). Accepts 8192, 8KiB, 8k.
    #[arg(long, env = "SERVER_MAX_HEADER_BYTES", default_value = "8KiB", value_parser = parse_size)]
    pub max_header_bytes: usize,

    /// Largest request body by Content-Length (larger: 413). Accepts 1048576, 1MiB, 1m.
    #[arg(long, env = "SERVER_MAX_BODY_BYTES", default_value = "1MiB", value_parser = parse_size)]
    pub max_body_bytes: usize,

    /// Most `/cpu/{n}` units one request may ask for (more: 400), and most one connection may
    /// queue by pipelining before the client waits for an answer (more: 503 and close).
    /// One unit is ~7–10 µs of one core.
    #[arg(long, env = "SERVER_MAX_CPU_UNITS", default_value_t = crate::routes::MAX_CPU_UNITS)]
    pub max_cpu_units: u64,

    /// Most connections served at once; when reached, accept waits for one to finish.
    /// At most 2^61 - 1 (tokio's semaphore limit, applied to both models alike).
    #[arg(long, env = "SERVER_MAX_CONNECTIONS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=MAX_CONNECTIONS))]
    pub max_connections: u64,

    /// On SIGTERM/SIGINT/SIGHUP, how long in-flight requests may still run before the process exits.
    #[arg(long, env = "SERVER_SHUTDOWN_TIMEOUT", default_value = "1s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
}

/// `server-async`: one tokio task per connection.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "server-async",
    version,
    about = "HTTP/1.x lab server: async (tokio), a task per connection"
)]
pub struct AsyncArgs {
    /// TCP port (0 = any free port; the real one is printed as `listening on <ip>:<port>`).
    #[arg(long, env = "SERVER_PORT", default_value_t = 45000)]
    pub port: u16,

    /// Runtime worker threads (default: the CPUs this process may use, container quota
    /// included). 1 = a single-threaded event loop (tokio's current-thread runtime).
    #[arg(long, env = "SERVER_WORKERS")]
    pub workers: Option<NonZeroUsize>,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// `server-thread`: one OS thread per connection, blocking I/O.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "server-thread",
    version,
    about = "HTTP/1.x lab server: an OS thread per connection"
)]
pub struct ThreadArgs {
    /// TCP port (0 = any free port; the real one is printed as `listening on <ip>:<port>`).
    #[arg(long, env = "SERVER_PORT", default_value_t = 46000)]
    pub port: u16,

    /// Stack size of each connection thread (default: Rust's, 2 MiB). Accepts 65536, 64KiB.
    #[arg(long, env = "SERVER_STACK_SIZE", value_parser = parse_size)]
    pub stack_size: Option<usize>,

    /// How long a connection thread whose connection closed waits for the next connection
    /// before it ends (0 = a new thread for every connection). Accepts 1s, 500ms.
    #[arg(long, env = "SERVER_IDLE_THREAD_TIMEOUT", default_value = "100ms", value_parser = parse_duration_or_zero)]
    pub idle_thread_timeout: Duration,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// The resolved settings both models run with.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    pub addr: SocketAddr,
    pub backlog: u32,
    pub read_timeout: Duration,
    pub write_timeout: Duration,
    pub keepalive_timeout: Duration,
    pub limits: Limits,
    pub max_connections: usize,
    pub shutdown_timeout: Duration,
}

impl CommonArgs {
    pub fn config(&self, port: u16) -> Config {
        Config {
            addr: SocketAddr::new(self.bind, port),
            backlog: self.backlog,
            read_timeout: self.read_timeout,
            write_timeout: self.write_timeout,
            keepalive_timeout: self.keepalive_timeout,
            limits: Limits {
                max_header_bytes: self.max_header_bytes,
                max_body_bytes: self.max_body_bytes,
                max_cpu_units: self.max_cpu_units,
            },
            max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            shutdown_timeout: self.shutdown_timeout,
        }
    }
}

/// The CPUs this process may use: `available_parallelism` honours affinity masks and
/// cgroup CPU quotas (`docker run --cpus 1` gives 1).
pub fn available_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// Parse a duration: `500ms`, `5s`, `2m`, or a bare number of seconds. Must be > 0.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (try 500ms, 5s, 1m)"))?;
    let duration = match unit.trim() {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" | "min" => Duration::from_secs(n.saturating_mul(60)),
        other => return Err(format!("unknown duration unit `{other}` (use ms, s or m)")),
    };
    if duration.is_zero() {
        return Err("the duration must be greater than zero".into());
    }
    Ok(duration)
}

/// [`parse_duration`], and also `0` (turned off).
pub fn parse_duration_or_zero(text: &str) -> Result<Duration, String> {
    match text.trim() {
        "0" | "0ms" | "0s" | "0m" | "0min" => Ok(Duration::ZERO),
        _ => parse_duration(text),
    }
}

/// Parse a byte size: `8192`, `8k`/`8KiB`, `1m`/`1MiB` (binary multiples). Must be > 0.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: usize = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size (try 8192, 8KiB, 1MiB)"))?;
    let factor: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit `{other}` (use KiB or MiB)")),
    };
    match n.checked_mul(factor) {
        Some(0) => Err("the size must be greater than zero".into()),
        Some(size) => Ok(size),
        None => Err(format!("`{text}` is too large")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("ms").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("8192"), Ok(8192));
        assert_eq!(parse_size("8KiB"), Ok(8192));
        assert_eq!(parse_size("8k"), Ok(8192));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert!(parse_size("0").is_err());
        assert!(parse_size("1TiB").is_err());
        assert!(parse_size("99999999999999999999g").is_err());
    }

    #[test]
    fn defaults() {
        let args = AsyncArgs::try_parse_from(["server-async"]).unwrap();
        assert_eq!(args.port, 45000);
        let config = args.common.config(args.port);
        assert_eq!(config.addr, "0.0.0.0:45000".parse().unwrap());
        assert_eq!(config.backlog, 1024);
        assert_eq!(config.read_timeout, Duration::from_secs(10));
        assert_eq!(config.write_timeout, Duration::from_secs(10));
        assert_eq!(config.keepalive_timeout, Duration::from_secs(5));
        assert_eq!(config.limits.max_header_bytes, 8 * 1024);
        assert_eq!(config.limits.max_body_bytes, 1024 * 1024);
        assert_eq!(config.limits.max_cpu_units, 1_000_000);
        assert_eq!(config.max_connections, 10_000);
        assert_eq!(config.shutdown_timeout, Duration::from_secs(1));

        let args = ThreadArgs::try_parse_from(["server-thread", "--stack-size", "64KiB"]).unwrap();
        assert_eq!(args.port, 46000);
        assert_eq!(args.stack_size, Some(64 * 1024));
        assert_eq!(args.idle_thread_timeout, Duration::from_millis(100));
        let args = ThreadArgs::try_parse_from(["server-thread", "--idle-thread-timeout", "0s"]);
        assert_eq!(args.unwrap().idle_thread_timeout, Duration::ZERO);
    }

    #[test]
    fn rejects_bad_flags() {
        assert!(AsyncArgs::try_parse_from(["server-async", "--backlog", "0"]).is_err());
        assert!(AsyncArgs::try_parse_from(["server-async", "--workers", "0"]).is_err());
        assert!(AsyncArgs::try_parse_from(["server-async", "--max-connections", "0"]).is_err());
        let limit = MAX_CONNECTIONS.to_string();
        let over = (MAX_CONNECTIONS + 1).to_string();
        assert!(ThreadArgs::try_parse_from(["server-thread", "--max-connections", &limit]).is_ok());
        let err = ThreadArgs::try_parse_from(["server-thread", "--max-connections", &over])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--max-connections"), "{err}");
        assert!(AsyncArgs::try_parse_from(["server-async", "--read-timeout", "soon"]).is_err());
    }
}
