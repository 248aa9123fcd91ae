//! Pure: the hazards that come from a master's history rather than one look — failovers
//! within the flap window, and failover attempts that repeat without a switch.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{Finding, HazardKind};

/// Failovers of one master within a sliding window: flapping when `count` or more.
#[derive(Debug, Clone)]
pub struct Flaps {
    window: Duration,
    count: usize,
    at: VecDeque<Instant>,
}

impl Flaps {
    /// `count` failovers within `window` are flapping.
    pub fn new(window: Duration, count: usize) -> Self {
        Flaps {
            window,
            count: count.max(1),
            at: VecDeque::new(),
        }
    }

    /// Records a failover at `at`; then like [`Flaps::look`].
    pub fn failover(&mut self, at: Instant) -> Vec<Finding> {
        self.at.push_back(at);
        self.look(at)
    }

    /// The flapping finding at `now`, if the window holds enough failovers.
    pub fn look(&mut self, now: Instant) -> Vec<Finding> {
        while self
            .at
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > self.window)
        {
            self.at.pop_front();
        }
        if self.at.len() < self.count {
            return Vec::new();
        }
        vec![Finding::new(
            HazardKind::Flapping,
            None,
            format!(
                "{} failovers within {}",
                self.at.len(),
                humantime::format_duration(self.window)
            ),
        )]
    }
}

/// Failover attempts of one master since its last switch: a loop when they repeat.
#[derive(Debug, Clone, Default)]
pub struct Attempts {
    epochs: Vec<u64>,
    aborts: usize,
    last: Option<Instant>,
}

/// Attempts this long apart are not one loop (Sentinel retries after 2 × failover-timeout,
/// 6 min by default).
pub const LOOP_WINDOW: Duration = Duration::from_secs(30 * 60);

impl Attempts {
    /// An epoch a failover of this master was attempted in (`+new-epoch` while it fails over).
    pub fn epoch(&mut self, at: Instant, epoch: u64) -> Vec<Finding> {
        self.expire(at);
        if !self.epochs.contains(&epoch) {
            self.epochs.push(epoch);
        }
        self.last = Some(at);
        self.look()
    }

    /// An attempt that gave up (`-failover-abort-*`).
    pub fn aborted(&mut self, at: Instant) -> Vec<Finding> {
        self.expire(at);
        self.aborts += 1;
        self.last = Some(at);
        self.look()
    }

    /// A `+switch-master`: the loop (if any) is over.
    pub fn switched(&mut self) {
        *self = Attempts::default();
    }

    /// The finding now: at least two epochs, and at least one abort, with no switch.
    pub fn look(&self) -> Vec<Finding> {
        if self.epochs.len() < 2 || self.aborts == 0 {
            return Vec::new();
        }
        let first = self.epochs.iter().min().copied().unwrap_or_default();
        let last = self.epochs.iter().max().copied().unwrap_or_default();
        vec![Finding::new(
            HazardKind::FailoverLoop,
            None,
            format!(
                "epoch {first} -> {last}: {} attempts, {} aborted, no +switch-master",
                self.epochs.len(),
                self.aborts
            ),
        )]
    }

    fn expire(&mut self, at: Instant) {
        if self
            .last
            .is_some_and(|l| at.saturating_duration_since(l) > LOOP_WINDOW)
        {
            *self = Attempts::default();
        }
    }
}
