//! Owns the merged failover timeline: events from several Sentinels, deduplicated, plus
//! per-Sentinel connection gaps and the failover phase offsets.
//!
//! Pure and sans-IO: time is an argument (`at: Instant`, `wall: SystemTime`), never read
//! here. Each Sentinel publishes only its own view (the leader alone publishes
//! `+try-failover` … `+failover-end`, and its own `+switch-master` comes seconds after the
//! observers'), so the timeline keeps every report and takes the *first* one across all
//! Sentinels as the time of an occurrence.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use super::event::{Detail, EventKind, InstanceRole, SentinelEvent};

/// Index of a Sentinel in the list the user gave.
pub(crate) type SourceId = usize;

/// One Sentinel's report of an occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Which Sentinel.
    pub source: SourceId,
    /// When its message arrived.
    pub at: Instant,
}

/// One occurrence, as reported by one or more Sentinels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The event as first reported (its `extra` text is that Sentinel's).
    pub event: SentinelEvent,
    /// Earliest report.
    pub first_at: Instant,
    /// Wall-clock time of the earliest report, for display.
    pub first_wall: SystemTime,
    /// Every report, in arrival order; at most one per source.
    pub reports: Vec<Report>,
}

impl Entry {
    /// How many Sentinels reported it.
    pub fn count(&self) -> usize {
        self.reports.len()
    }

    /// Time from the first report to the last.
    pub(crate) fn spread(&self) -> Duration {
        let last = self.reports.iter().map(|r| r.at).max();
        last.map_or(Duration::ZERO, |l| {
            l.saturating_duration_since(self.first_at)
        })
    }
}

/// A span during which one Sentinel was not connected, so its view is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// Which Sentinel.
    pub source: SourceId,
    /// When the connection was lost.
    pub from: Instant,
    /// When it came back; `None` while still disconnected.
    pub to: Option<Instant>,
    /// Why the session ended.
    pub reason: String,
}

/// What [`Timeline::ingest`] did with a report (index into [`Timeline::entries`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ingest {
    /// Started a new entry.
    New(usize),
    /// Joined an existing entry.
    Merged(usize),
}

/// Deduplicated events from several Sentinels, plus their connection gaps.
#[derive(Debug, Clone)]
pub struct Timeline {
    window: Duration,
    entries: Vec<Entry>,
    /// Dedup key → index of the latest entry with that key.
    latest: HashMap<String, usize>,
    gaps: Vec<Gap>,
}

impl Timeline {
    /// An empty timeline. A report joins the latest entry with the same
    /// [`SentinelEvent::dedup_key`] (channel and whole payload) when that entry's first
    /// report is within `window`, this source has not reported that entry yet, and no report
    /// of the event that ends it (`-sdown` for `+sdown`, and the reverse; `±odown`) came in
    /// between; otherwise it starts a new entry (the same event can recur later).
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            entries: Vec::new(),
            latest: HashMap::new(),
            gaps: Vec::new(),
        }
    }

    /// Adds one Sentinel's report, received at `at` (monotonic) / `wall` (wall clock).
    pub(crate) fn ingest(
        &mut self,
        source: SourceId,
        at: Instant,
        wall: SystemTime,
        event: SentinelEvent,
    ) -> Ingest {
        let key = event.dedup_key();
        if let Some(kind) = ends(&event.kind) {
            // `+sdown` after a `-sdown` of the same instance is a new period, never the old one.
            let ended = SentinelEvent {
                kind,
                detail: event.detail.clone(),
            };
            self.latest.remove(&ended.dedup_key());
        }
        let report = Report { source, at };
        if let Some(&i) = self.latest.get(&key)
            && let Some(entry) = self.entries.get_mut(i)
            && abs_diff(at, entry.first_at) <= self.window
            && !entry.reports.iter().any(|r| r.source == source)
        {
            if at < entry.first_at {
                // Reports from different Sentinels may arrive slightly out of order.
                entry.first_at = at;
                entry.first_wall = wall;
            }
            entry.reports.push(report);
            return Ingest::Merged(i);
        }
        let i = self.entries.len();
        self.entries.push(Entry {
            event,
            first_at: at,
            first_wall: wall,
            reports: vec![report],
        });
        self.latest.insert(key, i);
        Ingest::New(i)
    }

    /// Records that `source` lost its connection at `at`; opens a gap unless one is open.
    pub fn disconnected(&mut self, source: SourceId, at: Instant, reason: impl Into<String>) {
        if self.open_gap(source).is_none() {
            self.gaps.push(Gap {
                source,
                from: at,
                to: None,
                reason: reason.into(),
            });
        }
    }

    /// Records that `source` is connected again at `at`; closes its open gap, if any.
    pub fn connected(&mut self, source: SourceId, at: Instant) {
        if let Some(gap) = self.open_gap(source) {
            gap.to = Some(at);
        }
    }

    fn open_gap(&mut self, source: SourceId) -> Option<&mut Gap> {
        self.gaps
            .iter_mut()
            .rev()
            .find(|g| g.source == source && g.to.is_none())
    }

    /// All entries, in order of ingestion (= order of first report when `at` is
    /// non-decreasing).
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// All gaps, in the order they opened.
    pub fn gaps(&self) -> &[Gap] {
        &self.gaps
    }

    /// The earliest entry of `kind` concerning `master` (see
    /// [`SentinelEvent::master_name`]) whose `first_at >= since`.
    pub fn first(&self, kind: &EventKind, master: &str, since: Instant) -> Option<&Entry> {
        self.first_where(kind, since, |e| e.master_name() == Some(master))
    }

    fn first_where(
        &self,
        kind: &EventKind,
        since: Instant,
        pred: impl Fn(&SentinelEvent) -> bool,
    ) -> Option<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.event.kind == *kind && e.first_at >= since && pred(&e.event))
            .min_by_key(|e| e.first_at)
    }

    /// Offsets from `origin` of the first report at/after `origin` of each failover phase
    /// of `master`.
    pub fn phases(&self, master: &str, origin: Instant) -> Phases {
        let of = |kind: EventKind, pred: fn(&SentinelEvent, &str) -> bool| {
            self.first_where(&kind, origin, |e| pred(e, master))
                .map(|e| e.first_at.saturating_duration_since(origin))
        };
        Phases {
            sdown: of(EventKind::Sdown, is_master),
            odown: of(EventKind::Odown, is_master),
            try_failover: of(EventKind::TryFailover, is_master),
            elected_leader: of(EventKind::ElectedLeader, is_master),
            selected_slave: of(EventKind::SelectedSlave, is_replica_of),
            promoted_slave: of(EventKind::PromotedSlave, is_replica_of),
            switch_master: of(EventKind::SwitchMaster, is_switch_of),
            failover_end: of(EventKind::FailoverEnd, is_master),
        }
    }
}

/// The kind whose occurrence one of `kind` ends for the same payload.
fn ends(kind: &EventKind) -> Option<EventKind> {
    Some(match kind {
        EventKind::Sdown => EventKind::SdownCleared,
        EventKind::SdownCleared => EventKind::Sdown,
        EventKind::Odown => EventKind::OdownCleared,
        EventKind::OdownCleared => EventKind::Odown,
        _ => return None,
    })
}

fn abs_diff(a: Instant, b: Instant) -> Duration {
    a.saturating_duration_since(b)
        .max(b.saturating_duration_since(a))
}

/// The event is about the master instance named `master`.
fn is_master(e: &SentinelEvent, master: &str) -> bool {
    matches!(&e.detail, Detail::Instance { instance, .. }
        if instance.role == InstanceRole::Master && instance.name == master)
}

/// The event is about a replica whose `@ <master>` is `master`.
fn is_replica_of(e: &SentinelEvent, master: &str) -> bool {
    matches!(&e.detail, Detail::Instance { instance, master: Some(m), .. }
        if instance.role == InstanceRole::Slave && m.name == master)
}

fn is_switch_of(e: &SentinelEvent, master: &str) -> bool {
    matches!(&e.detail, Detail::SwitchMaster { master: m, .. } if m == master)
}

/// When each failover phase was first seen, as an offset from the drill's origin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Phases {
    /// First `+sdown` of the master.
    pub sdown: Option<Duration>,
    /// First `+odown` of the master.
    pub odown: Option<Duration>,
    /// `+try-failover` (candidate only).
    pub try_failover: Option<Duration>,
    /// `+elected-leader` (leader only).
    pub elected_leader: Option<Duration>,
    /// `+selected-slave` of one of the master's replicas.
    pub selected_slave: Option<Duration>,
    /// `+promoted-slave` of one of the master's replicas.
    pub promoted_slave: Option<Duration>,
    /// First `+switch-master` from any Sentinel (usually an observer's).
    pub switch_master: Option<Duration>,
    /// `+failover-end` (leader only).
    pub failover_end: Option<Duration>,
}

impl Phases {
    /// `(name, offset)` pairs in failover order; names match the serde field names.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, Option<Duration>)> {
        [
            ("sdown", self.sdown),
            ("odown", self.odown),
            ("try_failover", self.try_failover),
            ("elected_leader", self.elected_leader),
            ("selected_slave", self.selected_slave),
            ("promoted_slave", self.promoted_slave),
            ("switch_master", self.switch_master),
            ("failover_end", self.failover_end),
        ]
        .into_iter()
    }

    /// The channel a phase name from [`Phases::iter`] stands for: `try_failover` → `+try-failover`.
    pub fn channel(name: &str) -> String {
        format!("+{}", name.replace('_', "-"))
    }
}

#[cfg(test)]
mod tests {
    use super::super::event::parse;
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    /// A virtual clock: `t(ms)` is `ms` after a fixed origin.
    struct Clock(Instant, SystemTime);

    impl Clock {
        fn new() -> Self {
            Self(Instant::now(), SystemTime::UNIX_EPOCH)
        }
        fn t(&self, ms: u64) -> Instant {
            self.0 + MS(ms)
        }
        fn feed(&self, tl: &mut Timeline, source: SourceId, ms: u64, line: &str) -> Ingest {
            let (ch, payload) = line.split_once(' ').unwrap_or((line, ""));
            tl.ingest(source, self.t(ms), self.1 + MS(ms), parse(ch, payload))
        }
    }

    const SDOWN: &str = "+sdown master m 127.0.0.1 17001";
    const SWITCH: &str = "+switch-master m 127.0.0.1 17001 127.0.0.1 17003";

    #[test]
    fn three_sources_with_skew_merge() {
        let c = Clock::new();
        let mut tl = Timeline::new(Duration::from_secs(10));
        assert_eq!(c.feed(&mut tl, 0, 1052, SDOWN), Ingest::New(0));
        assert_eq!(c.feed(&mut tl, 2, 1024, SDOWN), Ingest::Merged(0)); // arrives late, happened first
        assert_eq!(c.feed(&mut tl, 1, 1089, SDOWN), Ingest::Merged(0));
        let odown = "+odown master m 127.0.0.1 17001 #quorum";
        assert_eq!(
            c.feed(&mut tl, 1, 1128, &format!("{odown} 2/2")),
            Ingest::New(1)
        );
        assert_eq!(
            c.feed(&mut tl, 0, 1149, &format!("{odown} 3/2")),
            Ingest::Merged(1)
        );
        assert_eq!(
            c.feed(&mut tl, 2, 1198, &format!("{odown} 3/2")),
            Ingest::Merged(1)
        );
        // Observers first, the leader's own +switch-master a second later: one entry.
        assert_eq!(c.feed(&mut tl, 1, 2266, SWITCH), Ingest::New(2));
        assert_eq!(c.feed(&mut tl, 2, 2356, SWITCH), Ingest::Merged(2));
        assert_eq!(c.feed(&mut tl, 0, 3314, SWITCH), Ingest::Merged(2));

        let got: Vec<_> = tl
            .entries()
            .iter()
            .map(|e| (e.event.kind.channel(), e.count(), e.spread(), e.first_at))
            .collect();
        assert_eq!(
            got,
            [
                ("+sdown", 3, MS(65), c.t(1024)),
                ("+odown", 3, MS(70), c.t(1128)),
                ("+switch-master", 3, MS(1048), c.t(2266)),
            ]
        );
        assert_eq!(tl.entries()[0].first_wall, c.1 + MS(1024));
        // The entry keeps the first-ingested report's payload.
        assert_eq!(tl.entries()[1].event.to_string(), format!("{odown} 2/2"));
    }

    #[test]
    fn recurrence_and_repeat_from_same_source_are_new_entries() {
        let c = Clock::new();
        let mut tl = Timeline::new(Duration::from_secs(5));
        assert_eq!(c.feed(&mut tl, 0, 0, SDOWN), Ingest::New(0));
        assert_eq!(c.feed(&mut tl, 1, 5000, SDOWN), Ingest::Merged(0)); // window is inclusive
        assert_eq!(c.feed(&mut tl, 2, 5001, SDOWN), Ingest::New(1)); // too late for entry 0
        assert_eq!(c.feed(&mut tl, 0, 5002, SDOWN), Ingest::Merged(1));
        assert_eq!(c.feed(&mut tl, 0, 5003, SDOWN), Ingest::New(2)); // source 0 already in 1
        assert_eq!(c.feed(&mut tl, 1, 60_000, SDOWN), Ingest::New(3));
        // Different payloads are different occurrences.
        assert_eq!(
            c.feed(&mut tl, 1, 60_001, "+sdown master m 127.0.0.1 17003"),
            Ingest::New(4)
        );
        assert_eq!(tl.entries().len(), 5);
    }

    /// Issue "Production watch": a second sdown period 2.5 s after the first was folded
    /// into it, and different `+set` reports were merged.
    #[test]
    fn an_occurrence_after_its_end_is_new_and_payloads_must_match() {
        let c = Clock::new();
        let mut tl = Timeline::new(Duration::from_secs(5));
        assert_eq!(c.feed(&mut tl, 0, 0, SDOWN), Ingest::New(0));
        let up = "-sdown master m 127.0.0.1 17001";
        assert_eq!(c.feed(&mut tl, 0, 900, up), Ingest::New(1));
        // Sentinel 1 saw no first period; its +sdown 2.5 s later is the second one.
        assert_eq!(c.feed(&mut tl, 1, 2500, SDOWN), Ingest::New(2));
        assert_eq!(c.feed(&mut tl, 0, 2510, SDOWN), Ingest::Merged(2));
        assert_eq!(c.feed(&mut tl, 1, 3000, up), Ingest::New(3));
        let set = "+set master m 127.0.0.1 17001";
        assert_eq!(
            c.feed(&mut tl, 0, 4000, &format!("{set} quorum 6")),
            Ingest::New(4)
        );
        assert_eq!(
            c.feed(
                &mut tl,
                1,
                4001,
                &format!("{set} client-reconfig-script /x.sh")
            ),
            Ingest::New(5)
        );
        assert_eq!(
            c.feed(&mut tl, 2, 4002, &format!("{set} quorum 6")),
            Ingest::Merged(4)
        );
    }

    /// A failover as three Sentinels report it (leader = 0), offsets in ms.
    fn failover(c: &Clock, tl: &mut Timeline, base: u64) {
        let slave = "slave 127.0.0.1:17003 127.0.0.1 17003 @ m 127.0.0.1 17001";
        let lines: &[(SourceId, u64, String)] = &[
            (1, 1024, SDOWN.into()),
            (0, 1052, SDOWN.into()),
            (2, 1089, SDOWN.into()),
            (
                0,
                1128,
                "+odown master m 127.0.0.1 17001 #quorum 2/2".into(),
            ),
            (0, 1150, "+try-failover master m 127.0.0.1 17001".into()),
            (0, 1215, "+elected-leader master m 127.0.0.1 17001".into()),
            (0, 1296, format!("+selected-slave {slave}")),
            (0, 2189, format!("+promoted-slave {slave}")),
            (1, 2266, SWITCH.into()),
            (2, 2300, SWITCH.into()),
            (0, 3314, "+failover-end master m 127.0.0.1 17001".into()),
            (0, 3314, SWITCH.into()),
        ];
        for (source, ms, line) in lines {
            c.feed(tl, *source, base + ms, line);
        }
    }

    #[test]
    fn phases_are_ordered_offsets_from_origin() {
        let c = Clock::new();
        let mut tl = Timeline::new(Duration::from_secs(10));
        // Noise: a replica's +sdown (not the master instance) and another master's events.
        c.feed(
            &mut tl,
            0,
            1010,
            "+sdown slave 127.0.0.1:17002 127.0.0.1 17002 @ m 127.0.0.1 17001",
        );
        c.feed(&mut tl, 0, 1000, "+sdown master other 127.0.0.1 18001");
        c.feed(
            &mut tl,
            0,
            1001,
            "+switch-master other 127.0.0.1 18001 127.0.0.1 18002",
        );
        c.feed(
            &mut tl,
            0,
            1002,
            "+selected-slave slave 127.0.0.1:18002 127.0.0.1 18002 @ other 127.0.0.1 18001",
        );
        failover(&c, &mut tl, 0);

        let origin = c.t(1000); // the fault was injected at 1000 ms
        let p = tl.phases("m", origin);
        let ms = |v: u64| Some(MS(v));
        assert_eq!(
            p,
            Phases {
                sdown: ms(24),
                odown: ms(128),
                try_failover: ms(150),
                elected_leader: ms(215),
                selected_slave: ms(296),
                promoted_slave: ms(1189),
                switch_master: ms(1266),
                failover_end: ms(2314),
            }
        );
        let names: Vec<_> = p.iter().map(|(n, _)| n).collect();
        assert_eq!(names[0], "sdown");
        assert_eq!(names[6], "switch_master");
        let offsets: Vec<_> = p.iter().filter_map(|(_, d)| d).collect();
        assert!(offsets.is_sorted(), "{offsets:?}");
        assert_eq!(tl.phases("nope", origin), Phases::default());

        let json = serde_json::to_string(&p).unwrap_or_default();
        assert!(
            json.starts_with(r#"{"sdown":{"secs":0,"nanos":24000000}"#),
            "{json}"
        );
    }

    #[test]
    fn events_before_origin_are_ignored() {
        let c = Clock::new();
        let mut tl = Timeline::new(Duration::from_secs(10));
        failover(&c, &mut tl, 0);
        failover(&c, &mut tl, 60_000); // a second drill a minute later
        let p = tl.phases("m", c.t(60_000));
        assert_eq!(p.sdown, Some(MS(1024)));
        assert_eq!(p.switch_master, Some(MS(2266)));
        assert_eq!(tl.phases("m", c.t(200_000)), Phases::default());

        let sw = tl.first(&EventKind::SwitchMaster, "m", c.t(0));
        assert_eq!(sw.map(|e| (e.first_at, e.count())), Some((c.t(2266), 3)));
        let sw = tl.first(&EventKind::SwitchMaster, "m", c.t(2267));
        assert_eq!(sw.map(|e| e.first_at), Some(c.t(62_266)));
        assert!(
            tl.first(&EventKind::SwitchMaster, "other", c.t(0))
                .is_none()
        );
    }

    #[test]
    fn gaps_open_and_close() {
        let c = Clock::new();
        let mut tl = Timeline::new(Duration::from_secs(1));
        tl.connected(0, c.t(5)); // nothing open: no-op
        tl.disconnected(1, c.t(10), "connection reset");
        tl.disconnected(1, c.t(20), "retry failed"); // already open: kept as is
        tl.disconnected(2, c.t(30), "eof");
        tl.connected(1, c.t(40));
        tl.disconnected(1, c.t(50), "eof");
        let got: Vec<_> = tl
            .gaps()
            .iter()
            .map(|g| (g.source, g.from, g.to, g.reason.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (1, c.t(10), Some(c.t(40)), "connection reset"),
                (2, c.t(30), None, "eof"),
                (1, c.t(50), None, "eof"),
            ]
        );
    }
}
