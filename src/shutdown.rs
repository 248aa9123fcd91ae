//! The signals that end a command early — SIGINT (Ctrl-C), SIGTERM (`timeout`, systemd,
//! Kubernetes, CI) and SIGHUP (a closed terminal) — and the exit code each maps to.
//!
//! [`listen`] installs handlers for all three at once and keeps them for the life of the
//! process: the first signal is handed to the command (which reverts what it injected and
//! ends), and any later one is noted on stderr and otherwise ignored, so a revert in progress
//! is never cut short. Only SIGKILL ends warden mid-revert; the fault journal
//! ([`crate::journal`]) then lets `warden heal` finish the job.

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// A signal that asks warden to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Int,
    /// SIGTERM.
    Term,
    /// SIGHUP.
    Hup,
}

impl Signal {
    /// `SIGINT`, `SIGTERM`, `SIGHUP`.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Int => "SIGINT",
            Signal::Term => "SIGTERM",
            Signal::Hup => "SIGHUP",
        }
    }

    /// The exit code of a command it cancelled: 128 + the signal number, as a shell reports
    /// a process killed by it (130, 143, 129).
    pub(crate) fn exit_code(self) -> u8 {
        128 + match self {
            Signal::Int => 2,
            Signal::Term => 15,
            Signal::Hup => 1,
        }
    }
}

/// The signals received so far, as a stream of "the first one".
#[derive(Debug, Clone)]
pub(crate) struct Listener {
    rx: watch::Receiver<Option<Signal>>,
}

impl Listener {
    /// Waits for the first signal (returns at once if one came already).
    pub(crate) async fn first(mut self) -> Signal {
        loop {
            if let Some(s) = *self.rx.borrow_and_update() {
                return s;
            }
            if self.rx.changed().await.is_err() {
                // The handler task is gone (runtime shutting down): never fires.
                std::future::pending::<()>().await;
            }
        }
    }

    /// The first signal, if one came.
    pub(crate) fn received(&self) -> Option<Signal> {
        *self.rx.borrow()
    }
}

/// Installs handlers for SIGINT, SIGTERM and SIGHUP on the current runtime. The first
/// signal is passed on; later ones print one line on stderr and are ignored.
pub(crate) fn listen() -> std::io::Result<Listener> {
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let (tx, rx) = watch::channel(None::<Signal>);
    tokio::spawn(async move {
        loop {
            let s = tokio::select! {
                Some(()) = int.recv() => Signal::Int,
                Some(()) = term.recv() => Signal::Term,
                Some(()) = hup.recv() => Signal::Hup,
                else => return,
            };
            match *tx.borrow() {
                None => {}
                Some(first) => {
                    eprintln!(
                        "warden: {} received while finishing after {}: ignored, so injected \
                         faults are still reverted (SIGKILL abandons them; `warden heal` then \
                         reverts them)",
                        s.name(),
                        first.name()
                    );
                    continue;
                }
            }
            let _ = tx.send(Some(s));
        }
    });
    Ok(Listener { rx })
}
