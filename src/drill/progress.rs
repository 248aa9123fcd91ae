//! The status line a drill draws on a terminal: trial k of n, step or phase, writes acked.

use std::io::Write;

use crate::sentinel::event::EventKind;

/// A one-line progress display on stderr; inert when disabled (piped output, `--json`).
pub(crate) struct Progress {
    enabled: bool,
    trials: u32,
    trial: u32,
    step: String,
    acked: u64,
}

impl Progress {
    /// A display for `trials` trials; draws nothing unless `enabled`.
    pub(crate) fn new(enabled: bool, trials: u32) -> Progress {
        Progress {
            enabled,
            trials,
            trial: 0,
            step: String::new(),
            acked: 0,
        }
    }

    /// A new step of trial `trial`.
    pub(crate) fn step(&mut self, trial: u32, step: &str) {
        if trial != self.trial {
            self.acked = 0;
        }
        self.trial = trial;
        self.step = step.to_string();
        self.draw();
    }

    /// A failover phase was reached.
    pub(crate) fn phase(&mut self, phase: &str) {
        if self.step != phase {
            self.step = phase.to_string();
            self.draw();
        }
    }

    /// A Sentinel event arrived; failover phases update the line.
    pub(crate) fn event(&mut self, kind: &EventKind) {
        use EventKind::*;
        if matches!(
            kind,
            Sdown
                | Odown
                | TryFailover
                | ElectedLeader
                | SelectedSlave
                | PromotedSlave
                | SwitchMaster
                | FailoverEnd
        ) {
            let name = kind.channel().to_string();
            self.phase(&name);
        }
    }

    /// More writes were acknowledged.
    pub(crate) fn acked(&mut self, n: u64) {
        self.acked += n;
        if self.acked % 5000 < n {
            self.draw();
        }
    }

    fn draw(&self) {
        if self.enabled {
            let mut e = std::io::stderr().lock();
            let _ = write!(
                e,
                "\r\x1b[2Ktrial {}/{} · {} · {} writes acked",
                self.trial, self.trials, self.step, self.acked
            );
            let _ = e.flush();
        }
    }

    /// Erases the line.
    pub(crate) fn clear(&self) {
        if self.enabled {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}
