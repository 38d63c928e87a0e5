//! The routes: a request path becomes a [`Route`], and a route becomes a [`Response`].
//!
//! Routing returns a value instead of answering directly so that the one route whose
//! behaviour depends on the concurrency model, `/sleep/{ms}`, can be waited for by the
//! model (`tokio::time::sleep` vs `std::thread::sleep`) before the response is built.
//! `/cpu/{n}` burns CPU right where the response is built, on whatever thread runs the
//! connection: in the async model that blocks a runtime worker, which is the point.

use std::hint::black_box;
use std::time::Duration;

use crate::http::{Body, ContentType, Method, Response, Status};
use crate::metrics::METRICS;

/// Longest `/sleep/{ms}` (longer: 400).
pub const MAX_SLEEP_MS: u64 = 60_000;
/// The default cap of `/cpu/{n}` (`--max-cpu-units`): about 7–10 s of one core.
pub const MAX_CPU_UNITS: u64 = 1_000_000;
/// Longest `/bytes/{n}` body (longer: 400).
pub const MAX_BYTES: usize = 64 * 1024 * 1024;
/// Iterations of the CPU unit's loop (about 10 µs on a ~3 GHz x86-64 core).
pub const CPU_UNIT_ITERATIONS: u32 = 7_500;

/// The body of `GET /`.
pub const HELLO: &[u8] = b"hello from lab\n";
/// The body of `GET /healthz`.
pub const HEALTHZ: &[u8] = b"ok\n";

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/`: a small fixed body.
    Hello,
    /// `/healthz`: `ok`.
    Healthz,
    /// `/sleep/{ms}`: wait (the model decides how), then 200.
    Sleep(Duration),
    /// `/cpu/{n}`: burn `n` units of CPU, then 200 with the result.
    Cpu(u64),
    /// `/bytes/{n}`: an `n`-byte body.
    Bytes(usize),
    /// A known route with a bad or too large parameter: 400.
    BadParameter,
    /// 404.
    NotFound,
    /// Neither GET nor HEAD: 405 with `Allow: GET, HEAD`.
    MethodNotAllowed,
    /// `/metrics`: the server's counters (see [`crate::metrics`]). Not itself counted as a
    /// request, and reading it resets the peaks.
    Metrics,
}

impl Route {
    /// `max_cpu_units`: the largest `n` of `/cpu/{n}` (`--max-cpu-units`).
    pub fn parse(method: Method, path: &str, max_cpu_units: u64) -> Route {
        if method == Method::Other {
            return Route::MethodNotAllowed;
        }
        match path {
            "/" => return Route::Hello,
            "/healthz" => return Route::Healthz,
            "/metrics" => return Route::Metrics,
            _ => {}
        }
        if let Some(ms) = path.strip_prefix("/sleep/") {
            return match parse_number(ms) {
                Some(ms) if ms <= MAX_SLEEP_MS => Route::Sleep(Duration::from_millis(ms)),
                _ => Route::BadParameter,
            };
        }
        if let Some(n) = path.strip_prefix("/cpu/") {
            return match parse_number(n) {
                Some(n) if n <= max_cpu_units => Route::Cpu(n),
                _ => Route::BadParameter,
            };
        }
        if let Some(n) = path.strip_prefix("/bytes/") {
            return match parse_number(n).and_then(|n| usize::try_from(n).ok()) {
                Some(n) if n <= MAX_BYTES => Route::Bytes(n),
                _ => Route::BadParameter,
            };
        }
        Route::NotFound
    }

    /// Build the response. For [`Route::Sleep`] the model has already waited.
    pub fn response(&self) -> Response {
        let (status, body) = match self {
            Route::Hello => (Status::Ok, Body::Static(HELLO)),
            Route::Healthz => (Status::Ok, Body::Static(HEALTHZ)),
            Route::Sleep(_) => (Status::Ok, Body::Static(b"slept\n")),
            Route::Cpu(units) => {
                let result = burn_cpu(*units);
                (
                    Status::Ok,
                    Body::Text(format!("cpu {units} {result:016x}\n")),
                )
            }
            Route::Bytes(n) => (Status::Ok, Body::Filler(*n)),
            Route::BadParameter => (Status::BadRequest, Body::Static(Status::BadRequest.text())),
            Route::NotFound => (Status::NotFound, Body::Static(Status::NotFound.text())),
            Route::MethodNotAllowed => (
                Status::MethodNotAllowed,
                Body::Static(Status::MethodNotAllowed.text()),
            ),
            Route::Metrics => {
                return Response {
                    status: Status::Ok,
                    body: Body::Text(METRICS.render()),
                    content_type: ContentType::Prometheus,
                }
            }
        };
        Response::text(status, body)
    }
}

/// Plain decimal digits only (no sign, no spaces), at most 19 of them.
fn parse_number(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Burn `units` units of CPU and return a checksum that depends on every step.
///
/// One unit is [`CPU_UNIT_ITERATIONS`] steps of a 64-bit linear congruential generator: a
/// chain of dependent multiply-adds that the optimizer cannot skip (`black_box`) and the CPU
/// cannot parallelize. Deterministic: the same `units` always gives the same result.
pub fn burn_cpu(units: u64) -> u64 {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..units {
        for _ in 0..CPU_UNIT_ITERATIONS {
            state = black_box(
                state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407),
            );
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let get = |path| Route::parse(Method::Get, path, MAX_CPU_UNITS);
        assert_eq!(get("/"), Route::Hello);
        assert_eq!(Route::parse(Method::Head, "/", MAX_CPU_UNITS), Route::Hello);
        assert_eq!(get("/healthz"), Route::Healthz);
        assert_eq!(get("/sleep/250"), Route::Sleep(Duration::from_millis(250)));
        assert_eq!(get("/sleep/60001"), Route::BadParameter);
        assert_eq!(get("/sleep/-1"), Route::BadParameter);
        assert_eq!(get("/sleep/"), Route::BadParameter);
        assert_eq!(get("/cpu/3"), Route::Cpu(3));
        assert_eq!(get("/cpu/1000000"), Route::Cpu(MAX_CPU_UNITS));
        assert_eq!(get("/cpu/1000001"), Route::BadParameter);
        assert_eq!(
            Route::parse(Method::Get, "/cpu/11", 10),
            Route::BadParameter
        );
        assert_eq!(get("/cpu/99999999999999999999999"), Route::BadParameter);
        assert_eq!(get("/bytes/0"), Route::Bytes(0));
        assert_eq!(get("/bytes/67108864"), Route::Bytes(MAX_BYTES));
        assert_eq!(get("/bytes/67108865"), Route::BadParameter);
        assert_eq!(get("/nope"), Route::NotFound);
        assert_eq!(get("/metrics"), Route::Metrics);
        assert_eq!(
            Route::parse(Method::Head, "/metrics", MAX_CPU_UNITS),
            Route::Metrics
        );
        assert_eq!(get("/healthz/"), Route::NotFound);
        assert_eq!(
            Route::parse(Method::Other, "/", MAX_CPU_UNITS),
            Route::MethodNotAllowed
        );
        assert_eq!(
            Route::parse(Method::Other, "/nope", MAX_CPU_UNITS),
            Route::MethodNotAllowed
        );
    }

    #[test]
    fn responses() {
        assert_eq!(Route::Hello.response().body, Body::Static(HELLO));
        assert_eq!(Route::Bytes(5).response().body, Body::Filler(5));
        assert_eq!(Route::NotFound.response().status, Status::NotFound);
        let Body::Text(text) = Route::Cpu(2).response().body else {
            panic!("cpu answers with text")
        };
        assert_eq!(text, format!("cpu 2 {:016x}\n", burn_cpu(2)));
    }

    #[test]
    fn cpu_is_deterministic() {
        assert_eq!(burn_cpu(0), 0x9E37_79B9_7F4A_7C15);
        assert_eq!(burn_cpu(3), burn_cpu(3));
        assert_ne!(burn_cpu(3), burn_cpu(4));
    }
}
