//! Pure: the hazards that come from a master's history rather than one look — failovers
//! within the flap window, and failover attempts that repeat without a switch.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{Finding, HazardKind};

/// Failovers of one master within a sliding window: flapping when `count` or more.
#[derive(Debug, Clone)]
pub(crate) struct Flaps {
    window: Duration,
    count: usize,
    at: VecDeque<Instant>,
}

impl Flaps {
    /// `count` failovers within `window` are flapping.
    pub(crate) fn new(window: Duration, count: usize) -> Self {
        Flaps {
            window,
            count: count.max(1),
            at: VecDeque::new(),
        }
    }

    /// Records a failover at `at`; then like [`Flaps::look`].
    pub(crate) fn failover(&mut self, at: Instant) -> Vec<Finding> {
        self.at.push_back(at);
        self.look(at)
    }

    /// The flapping finding at `now`, if the window holds enough failovers.
    pub(crate) fn look(&mut self, now: Instant) -> Vec<Finding> {
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
pub(crate) struct Attempts {
    epochs: Vec<u64>,
    aborts: usize,
    last: Option<Instant>,
}

/// Attempts this long apart are not one loop (Sentinel retries after 2 × failover-timeout,
/// 6 min by default).
pub(crate) const LOOP_WINDOW: Duration = Duration::from_secs(30 * 60);

impl Attempts {
    /// An epoch a failover of this master was attempted in (`+new-epoch` while it fails over).
    pub(crate) fn epoch(&mut self, at: Instant, epoch: u64) -> Vec<Finding> {
        self.expire(at);
        if !self.epochs.contains(&epoch) {
            self.epochs.push(epoch);
        }
        self.last = Some(at);
        self.look()
    }

    /// An attempt that gave up (`-failover-abort-*`).
    pub(crate) fn aborted(&mut self, at: Instant) -> Vec<Finding> {
        self.expire(at);
        self.aborts += 1;
        self.last = Some(at);
        self.look()
    }

    /// A `+switch-master`: the loop (if any) is over.
    pub(crate) fn switched(&mut self) {
        *self = Attempts::default();
    }

    /// The finding now: at least two epochs, and at least one abort, with no switch.
    pub(crate) fn look(&self) -> Vec<Finding> {
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

/// The shortest window a failover after a failover is looked for in.
pub(super) const REFAILOVER_MIN: Duration = Duration::from_secs(3);

/// A failover of one master that starts soon after its last switch: within
/// [`Refailovers::window`] (3 × down-after, at least [`REFAILOVER_MIN`]) of the first
/// `+switch-master` report. At down-after 1 s a Sentinel was seen putting the primary it had
/// just switched to in `+sdown` one down-after later and failing over again (4 of 30 kill
/// trials on a lab; 0 of 4 at 2 s). Raised on the new failover's `+try-failover` or
/// `+elected-leader`, naming its sender and the gap; cleared once the master has had no
/// switch and no failover start for one window (stable again).
#[derive(Debug, Clone, Default)]
pub(crate) struct Refailovers {
    /// The last confirmed switch.
    last_switch: Option<Instant>,
    /// The finding while it lasts, and the last switch or start that keeps it alive.
    current: Option<(Finding, Instant)>,
}

impl Refailovers {
    /// The window for a master whose `down-after-milliseconds` is `down_after` (unknown
    /// until a poll read it: the minimum).
    pub(crate) fn window(down_after: Option<Duration>) -> Duration {
        down_after.map_or(REFAILOVER_MIN, |d| (d * 3).max(REFAILOVER_MIN))
    }

    /// A confirmed switch (its first `+switch-master` report) at `at`.
    pub(crate) fn switched(&mut self, at: Instant) {
        self.last_switch = Some(at);
        if let Some((_, alive)) = &mut self.current {
            *alive = (*alive).max(at);
        }
    }

    /// A failover start (`+try-failover`, `+elected-leader`) by `sentinel` at `at`; the
    /// finding when it comes within `window` of the last switch.
    pub(crate) fn started(
        &mut self,
        at: Instant,
        sentinel: &str,
        window: Duration,
    ) -> Vec<Finding> {
        if let Some((_, alive)) = &mut self.current {
            *alive = (*alive).max(at);
        } else if let Some(s) = self.last_switch
            && at >= s
            && at.saturating_duration_since(s) <= window
        {
            let gap = at.saturating_duration_since(s).as_millis();
            let f = Finding::new(
                HazardKind::FailoverAfterFailover,
                None,
                format!(
                    "{sentinel} started a failover {gap} ms after the last switch (window {} ms)",
                    window.as_millis()
                ),
            );
            self.current = Some((f, at));
        }
        self.look(at, window)
    }

    /// The finding at `now`: it lasts until one `window` passed since the last switch or
    /// start that kept it alive.
    pub(crate) fn look(&mut self, now: Instant, window: Duration) -> Vec<Finding> {
        if self
            .current
            .as_ref()
            .is_some_and(|(_, alive)| now.saturating_duration_since(*alive) >= window)
        {
            self.current = None;
        }
        self.current.iter().map(|(f, _)| f.clone()).collect()
    }
}
