//! Pure: cuts a merged Sentinel timeline into failover episodes of one master — from the
//! first `+sdown`/`+odown`/`+try-failover` of the master to `+failover-end` (or a timeout,
//! an abort, or the master coming back) — and sums each one up: phase times, who reported
//! the switch, old and new primary.

use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::addr::Addr;
use crate::sentinel::event::{Detail, EventKind, InstanceRole, SentinelEvent};
use crate::sentinel::timeline::{Entry, Phases, Timeline};

/// How an episode ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// `+failover-end`: a replica was promoted and the others reconfigured.
    FailedOver,
    /// `+failover-end-for-timeout`: promoted, but not every replica confirmed in time.
    TimedOut,
    /// The leader gave up (the `-failover-abort-*` channel).
    Aborted(String),
    /// `-sdown` of the master before any failover ended: it came back.
    Recovered,
}

/// One failover episode, summed up when it ends.
#[derive(Debug, Clone, Serialize)]
pub struct Failover {
    /// Master name.
    pub master: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Address before the switch (from `+switch-master`).
    pub old: Option<Addr>,
    /// Address after the switch.
    pub new: Option<Addr>,
    /// Each phase's first report, in ms from the episode's first event.
    pub phases_ms: Vec<(&'static str, Option<f64>)>,
    /// How many Sentinels have announced `+switch-master` so far.
    pub switch_reports: usize,
    /// Time between the first and the last of those announcements, ms.
    pub switch_spread_ms: Option<f64>,
    /// From the first event to the end, ms.
    pub duration_ms: f64,
    /// Wall-clock time of the first event.
    #[serde(serialize_with = "rfc3339")]
    pub started: SystemTime,
}

impl Failover {
    /// The phases as back-to-back intervals in ms from the start: each recorded phase lasts
    /// until the next recorded one, the last until the end.
    pub fn intervals(&self) -> Vec<(&'static str, f64, f64)> {
        let seen: Vec<(&'static str, f64)> = self
            .phases_ms
            .iter()
            .filter_map(|(n, at)| at.map(|at| (*n, at)))
            .collect();
        seen.iter()
            .enumerate()
            .map(|(i, &(name, from))| {
                let to = seen.get(i + 1).map_or(self.duration_ms, |next| next.1);
                (name, from, to.max(from))
            })
            .collect()
    }
}

fn rfc3339<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_rfc3339_millis(*t))
}

/// Follows one master's episodes. Feed it every new timeline entry in arrival order.
#[derive(Debug, Clone)]
pub struct Episodes {
    master: String,
    origin: Option<Instant>,
}

impl Episodes {
    /// Tracks `master`.
    pub fn new(master: impl Into<String>) -> Self {
        Episodes {
            master: master.into(),
            origin: None,
        }
    }

    /// Whether an episode has started and not ended.
    pub fn is_open(&self) -> bool {
        self.origin.is_some()
    }

    /// Looks at `entry`, just added to `timeline`; returns the episode it ends, if any.
    pub fn observe(&mut self, timeline: &Timeline, entry: &Entry) -> Option<Failover> {
        let event = &entry.event;
        if event.master_name() != Some(self.master.as_str()) {
            return None;
        }
        let master_instance = is_master_instance(event);
        let outcome = match &event.kind {
            EventKind::Sdown | EventKind::Odown if master_instance => {
                self.origin.get_or_insert(entry.first_at);
                return None;
            }
            EventKind::TryFailover => {
                self.origin.get_or_insert(entry.first_at);
                return None;
            }
            EventKind::FailoverEnd => Outcome::FailedOver,
            EventKind::FailoverEndForTimeout => Outcome::TimedOut,
            EventKind::FailoverAbortNoGoodSlave | EventKind::FailoverAbortSlaveTimeout => {
                Outcome::Aborted(event.kind.channel().to_string())
            }
            EventKind::SdownCleared if master_instance && self.origin.is_some() => {
                Outcome::Recovered
            }
            _ => return None,
        };
        // An episode that began before the watch started is timed from its end.
        let origin = self.origin.take().unwrap_or(entry.first_at);
        Some(self.sum_up(timeline, origin, entry, outcome))
    }

    fn sum_up(&self, t: &Timeline, origin: Instant, end: &Entry, outcome: Outcome) -> Failover {
        let phases: Phases = t.phases(&self.master, origin);
        let switch = t.first(&EventKind::SwitchMaster, &self.master, origin);
        let (old, new) = match switch.map(|e| &e.event.detail) {
            Some(Detail::SwitchMaster { old, new, .. }) => (Some(old.clone()), Some(new.clone())),
            _ => (None, None),
        };
        Failover {
            master: self.master.clone(),
            outcome,
            old,
            new,
            phases_ms: phases.iter().map(|(n, d)| (n, d.map(ms))).collect(),
            switch_reports: switch.map_or(0, Entry::count),
            switch_spread_ms: switch.map(|e| ms(e.spread())),
            duration_ms: ms(end.first_at.saturating_duration_since(origin)),
            started: end
                .first_wall
                .checked_sub(end.first_at.saturating_duration_since(origin))
                .unwrap_or(end.first_wall),
        }
    }
}

/// Every episode of `master` that ended within `timeline`, in order.
pub fn replay(timeline: &Timeline, master: &str) -> Vec<Failover> {
    let mut episodes = Episodes::new(master);
    timeline
        .entries()
        .iter()
        .filter_map(|e| episodes.observe(timeline, e))
        .collect()
}

fn is_master_instance(e: &SentinelEvent) -> bool {
    matches!(&e.detail, Detail::Instance { instance, .. } if instance.role == InstanceRole::Master)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::FailedOver => f.write_str("failed over"),
            Outcome::TimedOut => f.write_str("failed over, but replicas not reconfigured in time"),
            Outcome::Aborted(channel) => write!(f, "aborted ({channel})"),
            Outcome::Recovered => f.write_str("master came back, no failover"),
        }
    }
}

/// A short block for a terminal.
impl fmt::Display for Failover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "== {}: {}", self.master, self.outcome)?;
        if let (Some(old), Some(new)) = (&self.old, &self.new) {
            write!(f, ", {old} -> {new}")?;
        }
        writeln!(f, " in {:.0} ms", self.duration_ms)?;
        for (name, at) in &self.phases_ms {
            if let Some(at) = at {
                writeln!(f, "   {:<18}{at:>9.1} ms", Phases::channel(name))?;
            }
        }
        if let Some(spread) = self.switch_spread_ms {
            writeln!(
                f,
                "   +switch-master announced by {} Sentinel(s) so far, spread {spread:.1} ms",
                self.switch_reports
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::sentinel::event::parse;

    /// Feeds `(ms, sentinel, channel, payload)` reports one by one; returns the episodes that
    /// ended (and checks a replay of the whole timeline finds the same).
    fn feed(reports: &[(u64, usize, &str, &str)]) -> Vec<Failover> {
        let t0 = Instant::now();
        let mut timeline = Timeline::new(Duration::from_secs(5));
        let mut episodes = Episodes::new("m");
        let mut ended = Vec::new();
        for &(at, source, channel, payload) in reports {
            let at = t0 + Duration::from_millis(at);
            let ingest = timeline.ingest(source, at, SystemTime::now(), parse(channel, payload));
            if let crate::sentinel::timeline::Ingest::New(i) = ingest {
                let entry = timeline.entries()[i].clone();
                ended.extend(episodes.observe(&timeline, &entry));
            }
        }
        assert!(!episodes.is_open(), "an episode is still open");
        let again: Vec<_> = super::replay(&timeline, "m")
            .iter()
            .map(|f| f.outcome.clone())
            .collect();
        let live: Vec<_> = ended.iter().map(|f| f.outcome.clone()).collect();
        assert_eq!(again, live, "a replay finds what the live tracker found");
        ended
    }

    const M: &str = "master m 127.0.0.1 7000";
    const R: &str = "slave 127.0.0.1:7001 127.0.0.1 7001 @ m 127.0.0.1 7000";

    #[test]
    fn a_failover_is_timed_from_the_first_sdown_to_failover_end() {
        let ended = feed(&[
            (0, 0, "+sdown", M),
            (10, 1, "+sdown", M),
            (50, 0, "+odown", "master m 127.0.0.1 7000 #quorum 2/2"),
            (60, 0, "+try-failover", M),
            (70, 0, "+elected-leader", M),
            (80, 0, "+selected-slave", R),
            (1100, 0, "+promoted-slave", R),
            (1150, 1, "+switch-master", "m 127.0.0.1 7000 127.0.0.1 7001"),
            (1300, 2, "+switch-master", "m 127.0.0.1 7000 127.0.0.1 7001"),
            (2200, 0, "+failover-end", M),
        ]);
        assert_eq!(ended.len(), 1);
        let f = &ended[0];
        assert_eq!(f.outcome, Outcome::FailedOver);
        assert_eq!(f.old, Some(Addr::new("127.0.0.1", 7000)));
        assert_eq!(f.new, Some(Addr::new("127.0.0.1", 7001)));
        assert_eq!(f.switch_reports, 2);
        assert_eq!(f.switch_spread_ms, Some(150.0));
        assert_eq!(f.duration_ms, 2200.0);
        let phase = |n: &str| f.phases_ms.iter().find(|(p, _)| *p == n).and_then(|p| p.1);
        assert_eq!(phase("sdown"), Some(0.0));
        assert_eq!(phase("switch_master"), Some(1150.0));
        assert_eq!(phase("failover_end"), Some(2200.0));
        let spans = f.intervals();
        assert_eq!(spans.first(), Some(&("sdown", 0.0, 50.0)));
        assert_eq!(spans.last(), Some(&("failover_end", 2200.0, 2200.0)));
        assert!(spans.windows(2).all(|w| w[0].2 == w[1].1), "{spans:?}");
        let text = f.to_string();
        assert!(text.starts_with("== m: failed over, 127.0.0.1:7000 -> 127.0.0.1:7001 in 2200 ms"));
    }

    #[test]
    fn a_master_that_comes_back_ends_the_episode_without_failover() {
        let ended = feed(&[(0, 0, "+sdown", M), (900, 0, "-sdown", M)]);
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].outcome, Outcome::Recovered);
        assert_eq!(ended[0].new, None);
    }

    #[test]
    fn replica_events_and_other_masters_do_not_open_episodes() {
        let ended = feed(&[
            (0, 0, "+sdown", R),
            (5, 0, "+sdown", "master other 127.0.0.1 9000"),
            (10, 0, "-sdown", R),
        ]);
        assert!(ended.is_empty());
    }

    #[test]
    fn an_abort_and_a_manual_failover_each_end_an_episode() {
        let ended = feed(&[
            (0, 0, "+try-failover", M),
            (5000, 0, "-failover-abort-no-good-slave", M),
            (9000, 0, "+try-failover", M),
            (9050, 0, "+switch-master", "m 127.0.0.1 7000 127.0.0.1 7001"),
            (9900, 0, "+failover-end-for-timeout", M),
        ]);
        let outcomes: Vec<_> = ended.iter().map(|f| f.outcome.clone()).collect();
        assert_eq!(
            outcomes,
            [
                Outcome::Aborted("-failover-abort-no-good-slave".into()),
                Outcome::TimedOut
            ]
        );
        assert_eq!(ended[1].duration_ms, 900.0);
        assert_eq!(ended[0].new, None);
    }
}
