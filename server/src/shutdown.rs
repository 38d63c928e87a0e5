//! Signals and the shutdown notice.
//!
//! Shutdown has three steps in both models: a signal (SIGTERM from `docker stop`, SIGINT
//! from Ctrl-C, SIGHUP when the terminal or session that started the server goes away)
//! arrives; the listener stops accepting; every connection handler learns of it,
//! finishes the request it is working on (answering `Connection: close`) and closes instead
//! of waiting for another one. The process then waits up to `--shutdown-timeout` for the
//! handlers and exits 0.
//!
//! Installing handlers matters in a container: the server runs as PID 1 there, and the
//! kernel does not apply the default action (terminate) of SIGTERM to PID 1, so without a
//! handler `docker stop` waits its 10 s and then kills.

use std::future::Future;
use std::io;
use std::pin::Pin;

use tokio::sync::watch;

/// Install SIGTERM, SIGINT and SIGHUP handlers in tokio now; the returned future resolves
/// with the name of the first of them to arrive.
///
/// SIGHUP drains like SIGTERM: there is no configuration to reload, and its default action
/// (terminate at once) would drop every in-flight request. (Installed eagerly, before the server announces
/// itself, so that a signal sent right after `listening on` is never lost.)
pub fn signal() -> io::Result<impl Future<Output = &'static str>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
            _ = hup.recv() => "SIGHUP",
        }
    })
}

/// Start a thread (std only) that calls `on_signal` once, on the first SIGTERM, SIGINT or
/// SIGHUP (see [`signal`]).
pub fn on_signal(on_signal: impl FnOnce(&'static str) + Send + 'static) -> io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                on_signal(match signal {
                    SIGINT => "SIGINT",
                    SIGHUP => "SIGHUP",
                    _ => "SIGTERM",
                });
            }
        })?;
    Ok(())
}

/// The async model's shutdown notice for one connection (mini-redis's `Shutdown`).
///
/// The listener owns the `watch::Sender`; it drops it to announce the shutdown. Every
/// handler holds a `Shutdown`: [`Shutdown::recv`] can be raced against a read with
/// `select!`, [`Shutdown::is_shutdown`] is a cheap check between requests. (mini-redis uses a
/// broadcast channel; a watch channel does the same job here, and checking it is one atomic
/// load, which matters at 100k requests per second.)
///
/// The wait is one future for the life of the connection, not one per read: a fresh
/// `changed()` per read joined the channel's waiter list and left it again around every
/// request (two lock round trips and a waker clone). Kept alive, it joins once.
pub struct Shutdown {
    /// Set once the notice has been seen.
    is_shutdown: bool,
    notify: watch::Receiver<()>,
    /// Resolves when the sender is dropped; created on the first [`Shutdown::recv`].
    wait: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl std::fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shutdown")
            .field("is_shutdown", &self.is_shutdown)
            .finish_non_exhaustive()
    }
}

impl Shutdown {
    pub fn new(notify: watch::Receiver<()>) -> Shutdown {
        Shutdown {
            is_shutdown: false,
            notify,
            wait: None,
        }
    }

    /// Has the shutdown been announced?
    pub fn is_shutdown(&self) -> bool {
        // The sender is only ever dropped, never used to send: an error means "dropped".
        self.is_shutdown || self.notify.has_changed().is_err()
    }

    /// Wait for the shutdown notice, returning at once if it was already seen. Cancel-safe:
    /// dropping the returned future keeps the wait (and its place in the waiter list).
    pub async fn recv(&mut self) {
        if self.is_shutdown {
            return;
        }
        let wait = self.wait.get_or_insert_with(|| {
            let mut notify = self.notify.clone();
            // Nothing is ever sent, so `changed` only returns when the sender is dropped.
            Box::pin(async move {
                let _ = notify.changed().await;
            })
        });
        wait.await;
        self.is_shutdown = true;
        self.wait = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shutdown_is_seen_by_every_receiver() {
        let (tx, rx) = watch::channel(());
        let mut a = Shutdown::new(rx.clone());
        let mut b = Shutdown::new(rx);
        assert!(!a.is_shutdown());
        drop(tx);
        assert!(a.is_shutdown() && b.is_shutdown());
        a.recv().await;
        b.recv().await;
        a.recv().await;
    }

    /// A `recv` dropped while waiting (a read won the `select!`) leaves the wait in place:
    /// the notice still arrives through the next `recv`.
    #[tokio::test]
    async fn a_dropped_recv_keeps_the_wait() {
        let (tx, rx) = watch::channel(());
        let mut shutdown = Shutdown::new(rx);
        let timed_out = tokio::time::timeout(std::time::Duration::from_millis(10), shutdown.recv());
        assert!(timed_out.await.is_err());
        assert!(shutdown.wait.is_some());
        drop(tx);
        shutdown.recv().await;
        assert!(shutdown.is_shutdown() && shutdown.wait.is_none());
    }
}
