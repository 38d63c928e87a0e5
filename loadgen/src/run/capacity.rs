//! The capacity an open-loop percentage refers to: a short closed-loop pass per server,
//! resource group, workload, keep-alive setting and concurrency, measured once and reused by
//! every rate and repetition of that series.
//!
//! "50% of capacity" only means something per server and limit: an event loop at 1 CPU and
//! a thread pool at 0.5 CPU saturate at very different rates, and an absolute rate would
//! overload one before the other has left idle. The pass runs the same tool closed loop at
//! the cell's concurrency (each connection sends as soon as its answer arrives), and takes
//! its good req/s (2xx answers only) as the capacity. Its raw output is kept under `raw/`.

use std::collections::HashMap;
use std::time::Duration;

use super::servers::LiveServer;
use super::session::Session;
use super::{describe_exit, Ctx};
use crate::record::{self as results, Cell};
use crate::tool::{self, Amount, Load};

/// Seconds of the capacity pass (or the cells' duration when shorter): long enough for a
/// stable rate, short next to the cells it serves.
pub const CAPACITY_SECONDS: f64 = 3.0;

/// (instance, workload path, keep-alive, concurrency)
type Key = (usize, String, bool, u32);

/// Capacities measured so far in one group: the req/s, or why there is none.
#[derive(Default)]
pub struct Capacities {
    measured: HashMap<Key, Result<f64, String>>,
}

impl Capacities {
    /// Fill in `cell.capacity_rps` and `cell.offered_rps` for a percentage rate, measuring
    /// the capacity first when this series has none yet. `Err`: no capacity, no cell.
    pub async fn resolve(
        &mut self,
        ctx: &Ctx<'_>,
        session: &Session,
        srv: &LiveServer,
        instance: usize,
        cell: &mut Cell,
    ) -> Result<(), String> {
        let Some(rate) = cell.rate.filter(|r| r.is_percent()) else {
            return Ok(());
        };
        let key = (
            instance,
            cell.path.clone(),
            cell.keepalive,
            cell.concurrency,
        );
        if !self.measured.contains_key(&key) {
            let id = capacity_id(cell);
            let found = measure(ctx, session, srv, cell, &id).await;
            match &found {
                Ok(c) => tracing::info!("capacity of {} ({id}): {c:.0} req/s", cell.server),
                Err(e) => tracing::warn!("capacity of {} ({id}): {e}", cell.server),
            }
            self.measured.insert(key.clone(), found);
        }
        let capacity = self.measured[&key].clone()?;
        cell.capacity_rps = Some(capacity);
        cell.offered_rps = rate.resolve(Some(capacity));
        Ok(())
    }
}

/// `g0-async-hello-ka-c50-capacity`: the cell id without rate and repetition.
fn capacity_id(cell: &Cell) -> String {
    format!(
        "g{}-{}-{}-{}-c{}-capacity",
        cell.group,
        cell.server,
        cell.workload,
        if cell.keepalive { "ka" } else { "noka" },
        cell.concurrency
    )
}

async fn measure(
    ctx: &Ctx<'_>,
    session: &Session,
    srv: &LiveServer,
    cell: &Cell,
    id: &str,
) -> Result<f64, String> {
    let lg = &ctx.lab.loadgen;
    let driver = lg.tool.driver();
    let seconds = lg
        .duration_s
        .unwrap_or(CAPACITY_SECONDS)
        .min(CAPACITY_SECONDS);
    let url = srv.url(&cell.path);
    let cmd = driver.command(&Load {
        amount: Amount::Seconds(seconds),
        concurrency: cell.concurrency,
        rate: None,
        timeout_s: lg.timeout_s,
        keepalive: cell.keepalive,
        url: &url,
        percentiles: false,
        per_request: false,
    });
    let deadline = Duration::from_secs_f64(seconds + lg.timeout_s as f64 + 30.0);
    let report = session
        .run_tool(ctx, &cmd, &[], &[], deadline)
        .await
        .map_err(|e| format!("capacity pass: {e:#}"))?;
    let raw = format!("raw/{id}.{}", driver.stdout_extension());
    if let Err(e) = results::write_atomic(&ctx.run.dir.join(raw), report.stdout.as_bytes()) {
        tracing::error!("{e:#}");
    }
    let counts = match driver.parse(&report.stdout, &report.files) {
        Ok(parsed) => tool::measurement(&parsed, None),
        Err(e) => {
            return Err(format!(
                "capacity pass: {} {}: {e}",
                lg.tool,
                describe_exit(&report)
            ))
        }
    };
    match counts.good_rps() {
        Some(c) if c > 0.0 => Ok(c),
        _ => Err(format!(
            "capacity pass: no good answer in {seconds}s ({} failed, {} non-2xx)",
            counts.failed.unwrap_or(0),
            counts.non_2xx.unwrap_or(0)
        )),
    }
}
