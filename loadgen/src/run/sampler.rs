//! The server's CPU counters read every quota period while a cell runs, so that its steady
//! window's CPU time can be bracketed at the window's own edges (see `judge/steady.rs`).
//!
//! Only where the counters are the container's cgroup files (a local daemon): each reading
//! costs a few µs of the lab's CPU. Docker's stats endpoint answers at most once a second,
//! so there the steady window keeps no CPU figure and the cell's own counters stand in.

use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::counters::Counters;
use crate::record::CounterSample;

/// A running reader; [`PeriodSampler::finish`] stops it and returns the readings.
pub struct PeriodSampler {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Vec<CounterSample>>>,
}

impl PeriodSampler {
    /// Start reading `counters` every `period` (nothing when they are not files).
    pub fn start(counters: &Counters, period: Duration) -> PeriodSampler {
        let Counters::Files(files) = counters else {
            return PeriodSampler {
                stop: None,
                task: None,
            };
        };
        let files = files.clone();
        let (stop, mut stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut out = Vec::new();
            let mut tick = tokio::time::interval(period.max(Duration::from_millis(1)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if let Ok(s) = files.read_cpu() {
                            out.push(s);
                        }
                    }
                    _ = &mut stopped => break,
                }
            }
            // One last reading at the end, so the window's end is bracketed.
            if let Ok(s) = files.read_cpu() {
                out.push(s);
            }
            out
        });
        PeriodSampler {
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stop reading; the readings in time order.
    pub async fn finish(mut self) -> Vec<CounterSample> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(t) => t.await.unwrap_or_default(),
            None => Vec::new(),
        }
    }
}
