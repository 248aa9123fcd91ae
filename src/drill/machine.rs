//! Pure: the decisions of a trial — when it moves on, when it is over, which primary the loss
//! check reads. The runner ([`super::runner`]) does the I/O and feeds this module what it saw
//! (timers, progress, cluster probes); time is an argument, never read here.
//!
//! After the fault a trial observes until the failover is done (a `+switch-master` and a
//! write acknowledged by a new primary) or `observe` passes, lets the workload run on for
//! `settle`, then **stabilizes**: it probes the cluster until a majority of Sentinels name
//! one primary, none has a failover in progress, that primary answers `ROLE master` and no
//! other sampled node does — held for the stability window. The loss check reads that
//! primary. A second failover within the window resets it, so the check waits for the end of
//! the last failover instead of reading a primary about to be replaced.

use std::time::{Duration, Instant};

use crate::addr::Addr;
use crate::sentinel::event::{Detail, EventKind, InstanceRole};
use crate::sentinel::timeline::Timeline;

/// How often the cluster is probed while stabilizing.
pub(super) const PROBE_EVERY: Duration = Duration::from_millis(250);

/// Where a trial is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// The workload runs before anything is checked.
    WarmUp { until: Instant },
    /// The health check runs at `next`, until it passes or `until` passes.
    Preflight { next: Instant, until: Instant },
    /// The fault is in: waiting for the failover and a write on the new primary.
    Observe { until: Instant },
    /// The failover (or the observe window) is over; the workload runs on until `until`.
    Settle { until: Instant },
    /// Probing the cluster at `next` until it is stable, at most until `until`.
    Stabilize { next: Instant, until: Instant },
    /// Nothing more to wait for: done, failed or cancelled.
    Finished,
}

impl State {
    /// When the state's timer fires.
    pub(super) fn deadline(&self) -> Option<Instant> {
        match *self {
            State::WarmUp { until } | State::Observe { until } | State::Settle { until } => {
                Some(until)
            }
            State::Preflight { next, .. } | State::Stabilize { next, .. } => Some(next),
            State::Finished => None,
        }
    }
}

/// What the decisions depend on, from the scenario and the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Config {
    /// A failover is expected: observing ends as soon as it is done.
    pub expect_failover: bool,
    /// Longest wait from the fault for the failover; also the longest stabilization.
    pub observe: Duration,
    /// The workload runs this long after the failover.
    pub settle: Duration,
    /// How long the cluster must stay stable.
    pub stable_for: Duration,
}

impl Config {
    /// The longest stabilization: `observe`, and at least twice the window.
    pub(super) fn stabilize_bound(&self) -> Duration {
        self.observe.max(self.stable_for * 2)
    }

    /// The default stability window: twice down-after, at least 2 s (2 s when unknown).
    pub(super) fn default_window(down_after_ms: Option<u64>) -> Duration {
        let twice = Duration::from_millis(down_after_ms.unwrap_or(0).saturating_mul(2));
        twice.max(Duration::from_secs(2))
    }
}

/// What the trial knows when an event or a write arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Facts {
    /// A Sentinel announced `+switch-master` since the fault.
    pub switched: bool,
    /// Every workload was acknowledged by a new primary since the fault.
    pub new_primary_acked: bool,
    /// When the timed fault in effect is reverted.
    pub resume_at: Option<Instant>,
}

/// What the runner must do when a timer fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    /// Nothing beyond the new state.
    Wait,
    /// Run the pre-flight health check (and inject when it passes).
    Preflight { until: Instant },
    /// Revert the fault (it must be undone before the cluster can settle around its primary:
    /// no failover replaced it) and start stabilizing.
    RevertFault,
    /// Probe the cluster and hand the answer to [`Stability::observe`].
    Probe,
}

/// Moves on after an event or a write: observing ends once the failover is done.
pub(super) fn on_progress(state: State, facts: &Facts, cfg: &Config, now: Instant) -> State {
    match state {
        State::Observe { .. }
            if cfg.expect_failover && facts.switched && facts.new_primary_acked =>
        {
            settle(facts, cfg, now)
        }
        other => other,
    }
}

/// Moves on when the state's deadline passed.
pub(super) fn on_timer(
    state: State,
    facts: &Facts,
    cfg: &Config,
    preflight: Duration,
    now: Instant,
) -> (State, Action) {
    match state {
        State::WarmUp { .. } => {
            let until = now + preflight;
            (State::Preflight { next: now, until }, Action::Wait)
        }
        State::Preflight { until, .. } => (state, Action::Preflight { until }),
        State::Observe { .. } => (settle(facts, cfg, now), Action::Wait),
        State::Settle { .. } => {
            let next = State::Stabilize {
                next: now,
                until: now + cfg.stabilize_bound(),
            };
            match facts.switched {
                true => (next, Action::Wait),
                false => (next, Action::RevertFault),
            }
        }
        State::Stabilize { until, .. } if now >= until => (State::Finished, Action::Wait),
        State::Stabilize { .. } => (state, Action::Probe),
        State::Finished => (State::Finished, Action::Wait),
    }
}

/// Settle until the later of the settle time and the end of a timed fault.
fn settle(facts: &Facts, cfg: &Config, now: Instant) -> State {
    let until = now + cfg.settle;
    State::Settle {
        until: facts.resume_at.map_or(until, |r| r.max(until)),
    }
}

/// What one probe of the cluster saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Probe {
    /// What each Sentinel names as the primary (`None`: no answer).
    pub named: Vec<Option<Addr>>,
    /// A Sentinel reports a failover in progress for the master.
    pub in_progress: bool,
    /// The data nodes that answered `ROLE master`.
    pub masters: Vec<Addr>,
}

/// Whether one probe shows a stable cluster: the primary it agrees on, or why not.
pub(super) fn assess(p: &Probe) -> Result<Addr, String> {
    let named: Vec<&Addr> = p.named.iter().flatten().collect();
    let votes = |a: &Addr| named.iter().filter(|n| **n == a).count();
    let best = named.iter().copied().max_by_key(|a| votes(a));
    let majority = p.named.len() / 2 + 1;
    let Some(primary) = best.filter(|a| votes(a) >= majority) else {
        return Err(format!(
            "no majority of the {} Sentinels names one primary",
            p.named.len()
        ));
    };
    if p.in_progress {
        return Err("a failover is in progress".into());
    }
    if !p.masters.contains(primary) {
        return Err(format!("{primary} does not answer ROLE master"));
    }
    if let Some(other) = p.masters.iter().find(|m| *m != primary) {
        return Err(format!("{other} also answers ROLE master"));
    }
    Ok(primary.clone())
}

/// Tracks how long the cluster has been stable while stabilizing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Stability {
    /// Since when the probes agreed, on which primary.
    since: Option<(Instant, Addr)>,
    /// Why the last probe was not stable.
    why: Option<String>,
    /// The primary the trial settled on, once it held for the window.
    settled: Option<(Instant, Addr)>,
}

impl Stability {
    /// Takes one probe's answer at `at`; returns the next state: finished once the same
    /// primary held for `cfg.stable_for`, otherwise the next probe.
    pub(super) fn observe(
        &mut self,
        state: State,
        probe: &Probe,
        cfg: &Config,
        at: Instant,
    ) -> State {
        let State::Stabilize { until, .. } = state else {
            return state;
        };
        match assess(probe) {
            Ok(p) => {
                if self.since.as_ref().is_none_or(|(_, q)| *q != p) {
                    self.since = Some((at, p));
                }
                self.why = None;
            }
            Err(why) => {
                self.since = None;
                self.why = Some(why);
            }
        }
        match &self.since {
            Some((from, p)) if at.saturating_duration_since(*from) >= cfg.stable_for => {
                self.settled = Some((at, p.clone()));
                State::Finished
            }
            _ => State::Stabilize {
                next: (at + PROBE_EVERY).min(until),
                until,
            },
        }
    }

    /// The primary the cluster settled on, and when; `None` when it did not settle.
    pub(super) fn settled(&self) -> Option<&(Instant, Addr)> {
        self.settled.as_ref()
    }

    /// Why the cluster was not stable at the last probe, or how long it had held.
    pub(super) fn why_not(&self, at: Instant) -> String {
        match (&self.why, &self.since) {
            (Some(why), _) => why.clone(),
            (None, Some((from, p))) => format!(
                "{p} held for {} ms, less than the window",
                at.saturating_duration_since(*from).as_millis()
            ),
            (None, None) => "no probe answered".into(),
        }
    }

    /// Starts over (a failover began after the trial settled).
    pub(super) fn reset(&mut self) {
        *self = Stability::default();
    }
}

/// The first sign in `timeline` that a failover of `master` started after `since` (its
/// `+odown`, `+try-failover` or a `+switch-master`), in words; `None` when there is none.
pub(super) fn failover_since(timeline: &Timeline, master: &str, since: Instant) -> Option<String> {
    let starts = |e: &&crate::sentinel::timeline::Entry| match (&e.event.kind, &e.event.detail) {
        (EventKind::SwitchMaster, Detail::SwitchMaster { master: m, .. }) => m == master,
        (EventKind::Odown | EventKind::TryFailover, Detail::Instance { instance, .. }) => {
            instance.role == InstanceRole::Master && instance.name == master
        }
        _ => false,
    };
    let e = timeline
        .entries()
        .iter()
        .filter(|e| e.first_at > since)
        .find(starts)?;
    let ms = e.first_at.saturating_duration_since(since).as_millis();
    Some(format!("{} {ms} ms", e.event.kind.channel()))
}

#[cfg(test)]
mod tests;
