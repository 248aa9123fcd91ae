//! Pure: cuts a merged Sentinel timeline into failover episodes of one master and sums each
//! one up (phase times, who reported the switch, old and new primary, how it ended).
//!
//! The rule is **one transition (a new primary) = one record**, whatever the order of the
//! events around it:
//! - an episode opens on the master's `+sdown`/`+odown`, a `+try-failover`, or a
//!   `+switch-master` nothing announced;
//! - it ends on the leader's `+failover-end[-for-timeout]`, an abort, `-monitor` or
//!   `+reset-master` (abandoned), the master's `-sdown` *before* any failover started
//!   (recovered), or when the next transition starts (a new `+try-failover`,
//!   the new primary's `+sdown`, another `+switch-master`) — then it is "switched": the
//!   leader's end was not seen;
//! - a `+switch-master` to the primary already known is a repeat (the leader's own, a
//!   Sentinel catching up) and changes nothing;
//! - after a connection gap the watch asks a Sentinel for the primary and its config epoch
//!   ([`Episodes::reconcile`]); a newer config with another address that most of the group's
//!   Sentinels name (their latest answers and `+switch-master` announcements) is a transition
//!   that happened in the gap, recorded with [`Observed::AfterGap`]. One only a minority names
//!   (a failover leader that crashed after promoting a replica, back with its config pointing
//!   there) is [`Outvoted`]: no record, a split view. An older one is a Sentinel that has not
//!   caught up, and is ignored.
//!
//! Time is an argument (`Instant`), never read here.

mod record;

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use crate::addr::Addr;
use crate::sentinel::event::{Detail, EventKind, InstanceRole, SentinelEvent};
use crate::sentinel::timeline::{Entry, Phases, SourceId, Timeline};
pub(crate) use record::{Failover, Observed, Outcome, Outvoted};
use record::{ms, switch_reports};

/// An episode with a switch and no news for this long is closed as [`Outcome::Switched`]
/// by [`Episodes::tick`] (the leader's `+failover-end` normally comes within seconds).
pub(crate) const QUIET: Duration = Duration::from_secs(30);
/// A `+switch-master` first reported by a Sentinel within this long after its connection
/// came back, with no failover seen in progress, is that Sentinel catching up on a switch
/// made during the gap (Sentinels exchange hellos every 2 s).
pub(crate) const CATCH_UP: Duration = Duration::from_secs(10);

/// How many recorded transitions' old addresses are remembered.
const REMEMBERED: usize = 16;

/// A switch from `old` to `new`.
#[derive(Debug, Clone)]
struct Switch {
    old: Addr,
    new: Addr,
    observed: Observed,
}

/// The episode in progress.
#[derive(Debug, Clone)]
struct Open {
    origin: Instant,
    origin_wall: SystemTime,
    /// Last event of this master (or epoch event) in the episode.
    last: (Instant, SystemTime),
    /// The master's address when the episode opened, if the opening event named it.
    master_addr: Option<Addr>,
    /// The failover's epoch (first epoch event in the episode).
    epoch: Option<u64>,
    /// A failover started: `+try-failover`, `+elected-leader`, or an epoch event.
    failing_over: bool,
    /// `+try-failover` or `+elected-leader` seen: a second one is the next attempt.
    tried: bool,
    switch: Option<Switch>,
    /// The Sentinel whose `+failover-end` closes the episode, and when.
    ended_by: Option<(SourceId, Instant)>,
}

/// Follows one master's episodes. Feed it every new timeline entry in arrival order, and
/// every Sentinel's answer after a (re)connection.
#[derive(Debug, Clone)]
pub(crate) struct Episodes {
    master: String,
    open: Option<Open>,
    /// The primary as last known (a Sentinel's answer, `+monitor`, or a switch).
    primary: Option<Addr>,
    /// A lower bound of `primary`'s config epoch.
    epoch: Option<u64>,
    /// Old addresses of the last recorded transitions (newest last, at most
    /// [`REMEMBERED`]): a late end of one of them is not news.
    recorded_old: Vec<Addr>,
    /// When each Sentinel's connection last came back after a gap.
    resumed: HashMap<SourceId, Instant>,
    /// What each Sentinel named last: its answer, or a `+switch-master` to the primary as
    /// known (confirmed).
    named: HashMap<SourceId, Addr>,
    /// `+switch-master` announcements not confirmed yet: named once their switch is.
    announced: HashMap<SourceId, Addr>,
    /// How many Sentinels the group has (a majority of them makes a reconcile).
    sentinels: usize,
}

impl Episodes {
    /// Tracks `master`.
    pub(crate) fn new(master: impl Into<String>) -> Self {
        Episodes {
            master: master.into(),
            open: None,
            primary: None,
            epoch: None,
            recorded_old: Vec::new(),
            resumed: HashMap::new(),
            named: HashMap::new(),
            announced: HashMap::new(),
            sentinels: 1,
        }
    }

    /// Tracks `master` of a group of `sentinels` Sentinels.
    pub(crate) fn of_group(master: impl Into<String>, sentinels: usize) -> Self {
        Episodes {
            sentinels: sentinels.max(1),
            ..Episodes::new(master)
        }
    }

    /// `source` announced `+switch-master` to `new` (every report, the first or not). It
    /// counts as naming `new` once that switch is confirmed: a stale announcement (a Sentinel
    /// following a crashed leader's config to a node that is no primary) does not.
    pub(crate) fn announced(&mut self, source: SourceId, new: &Addr) {
        if self.primary.as_ref() == Some(new) {
            self.named.insert(source, new.clone());
        } else {
            self.announced.insert(source, new.clone());
        }
    }

    /// Whether an episode has started and not ended.
    pub(crate) fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// The primary as last known, and a lower bound of its config epoch.
    pub(crate) fn primary(&self) -> (Option<&Addr>, Option<u64>) {
        (self.primary.as_ref(), self.epoch)
    }

    /// Records that `source`'s connection came back at `at` after a gap.
    pub(crate) fn resumed(&mut self, source: SourceId, at: Instant) {
        self.resumed.insert(source, at);
    }

    /// Looks at `entry`, just added to `timeline`; returns the episodes it ends (at most
    /// two: the one in progress, and one that opened and ended on this entry).
    pub(crate) fn observe(&mut self, timeline: &Timeline, entry: &Entry) -> Vec<Failover> {
        let mut ended = Vec::new();
        let at = (entry.first_at, entry.first_wall);
        let event = &entry.event;
        // `+new-epoch` and `+vote-for-leader` name no master: with several masters failing
        // over at once, one master's epoch would end another's episode. An episode takes its
        // epoch from its own leader's `+new-epoch` (see `leader_epoch`).
        if event.master_name() != Some(self.master.as_str()) {
            return ended;
        }
        let instance = master_instance(event);
        match (&event.kind, &event.detail) {
            (EventKind::Sdown | EventKind::Odown, _) if instance.is_some() => {
                let addr = instance.cloned();
                let new_primary_down = self
                    .switched()
                    .is_some_and(|s| Some(&s.new) == addr.as_ref());
                if new_primary_down {
                    ended.extend(self.close(timeline, Outcome::Switched, None));
                }
                self.touch_or_open(at, addr);
            }
            (EventKind::TryFailover | EventKind::ElectedLeader, _) => {
                let next = self.open.as_ref().is_some_and(|o| {
                    o.switch.is_some() || (o.tried && event.kind == EventKind::TryFailover)
                });
                if next {
                    ended.extend(self.close_superseded(timeline));
                }
                self.touch_or_open(at, instance.cloned());
                let epoch = leader_epoch(timeline, entry);
                if let Some(open) = &mut self.open {
                    open.failing_over = true;
                    open.tried = true;
                    open.epoch = open.epoch.or(epoch);
                }
            }
            (EventKind::SwitchMaster, Detail::SwitchMaster { old, new, .. }) => {
                let source = entry.reports[0].source;
                self.on_switch(timeline, source, at, old, new, &mut ended);
            }
            (EventKind::FailoverEnd | EventKind::FailoverEndForTimeout, _) => {
                let outcome = match event.kind {
                    EventKind::FailoverEnd => Outcome::FailedOver,
                    _ => Outcome::TimedOut,
                };
                let leader = (entry.reports[0].source, at.0);
                self.on_end(timeline, at, instance, outcome, Some(leader), &mut ended);
            }
            (EventKind::FailoverAbortNoGoodSlave | EventKind::FailoverAbortSlaveTimeout, _) => {
                let outcome = Outcome::Aborted(event.kind.channel().to_string());
                self.on_end(timeline, at, instance, outcome, None, &mut ended);
            }
            (EventKind::SdownCleared, _) if instance.is_some() => {
                let came_back = self
                    .open
                    .as_ref()
                    .is_some_and(|o| o.switch.is_none() && !o.failing_over);
                self.touch(at);
                if came_back {
                    ended.extend(self.close(timeline, Outcome::Recovered, None));
                }
            }
            (EventKind::Unmonitor | EventKind::ResetMaster, _) if instance.is_some() => {
                self.touch(at);
                let outcome = Outcome::Abandoned(event.kind.channel().to_string());
                ended.extend(self.close(timeline, outcome, None));
                if event.kind == EventKind::Unmonitor {
                    self.primary = None;
                    self.epoch = None;
                }
            }
            (EventKind::Monitor, _) if instance.is_some() => {
                self.primary = instance.cloned();
                self.touch(at);
            }
            _ => self.touch(at),
        }
        ended
    }

    /// The answer of the Sentinel `source` at `at`: the primary is at `addr` with config
    /// epoch `epoch`. Returns the episodes this ends — a transition that happened while the
    /// watch could not see it, named by most of the group, is recorded (or attached to the
    /// episode in progress) as [`Observed::AfterGap`] — or, for a newer primary only a
    /// minority names, the [`Outvoted`] answer.
    pub(crate) fn reconcile(
        &mut self,
        timeline: &Timeline,
        source: SourceId,
        at: (Instant, SystemTime),
        addr: &Addr,
        epoch: u64,
    ) -> Result<Vec<Failover>, Outvoted> {
        let mut ended = Vec::new();
        self.named.insert(source, addr.clone());
        let Some(primary) = self.primary.clone() else {
            self.primary = Some(addr.clone());
            self.epoch = Some(epoch);
            return Ok(ended);
        };
        let known = self.epoch.unwrap_or(0);
        if *addr == primary || (self.epoch.is_some() && epoch <= known) {
            // The same primary, or a Sentinel that has not caught up yet.
            if *addr == primary {
                self.epoch = Some(known.max(epoch));
            }
            return Ok(ended);
        }
        let support = self.named.values().filter(|a| *a == addr).count();
        if support * 2 <= self.sentinels {
            return Err(Outvoted {
                named: addr.clone(),
                epoch,
                primary,
                support: (support, self.sentinels),
            });
        }
        let switch = Switch {
            old: primary,
            new: addr.clone(),
            observed: Observed::AfterGap,
        };
        if self.switched().is_some() {
            ended.extend(self.close(timeline, Outcome::Switched, None));
        }
        match &mut self.open {
            Some(open) => open.switch = Some(switch),
            None => {
                self.open_at(at, None);
                if let Some(open) = &mut self.open {
                    open.switch = Some(switch);
                    open.epoch = Some(epoch);
                }
                ended.extend(self.close(timeline, Outcome::Switched, None));
            }
        }
        self.primary = Some(addr.clone());
        self.epoch = Some(epoch);
        Ok(ended)
    }

    /// Closes a failover episode that has had no news for [`QUIET`] at `now`.
    pub(crate) fn tick(&mut self, timeline: &Timeline, now: Instant) -> Option<Failover> {
        let quiet = self.open.as_ref().is_some_and(|o| {
            (o.switch.is_some() || o.failing_over)
                && now.saturating_duration_since(o.last.0) >= QUIET
        });
        if quiet {
            return self.close_superseded(timeline);
        }
        None
    }

    /// Ends the open episode because the next one begins (or it went quiet).
    fn close_superseded(&mut self, timeline: &Timeline) -> Option<Failover> {
        let outcome = match self.switched() {
            Some(_) => Outcome::Switched,
            None => Outcome::Unfinished,
        };
        self.close(timeline, outcome, None)
    }

    /// At the end of a watch: an episode with a switch is recorded rather than lost.
    pub(crate) fn finish(&mut self, timeline: &Timeline) -> Option<Failover> {
        self.switched()?;
        self.close(timeline, Outcome::Switched, None)
    }

    fn on_switch(
        &mut self,
        timeline: &Timeline,
        source: SourceId,
        at: (Instant, SystemTime),
        old: &Addr,
        new: &Addr,
        ended: &mut Vec<Failover>,
    ) {
        if self.primary.as_ref() == Some(new) {
            // Known already: the episode's own switch found by a reconcile, or a repeat.
            if let Some(open) = &mut self.open
                && open.switch.is_none()
            {
                open.switch = Some(Switch {
                    old: old.clone(),
                    new: new.clone(),
                    observed: Observed::Live,
                });
            }
            self.touch(at);
            return;
        }
        if let Some(s) = self.switched()
            && s.new != *new
        {
            ended.extend(self.close(timeline, Outcome::Switched, None));
        }
        let followed = self.open.as_ref().is_some_and(|o| o.failing_over);
        let catching_up = self
            .resumed
            .get(&source)
            .is_some_and(|r| at.0.saturating_duration_since(*r) <= CATCH_UP);
        let observed = if catching_up && !followed {
            Observed::AfterGap
        } else {
            Observed::Live
        };
        let announced_alone = self.open.is_none();
        self.touch_or_open(at, Some(old.clone()));
        let bound = self.epoch.map(|e| e + 1);
        if let Some(open) = &mut self.open {
            open.switch = Some(Switch {
                old: old.clone(),
                new: new.clone(),
                observed,
            });
            self.epoch = open.epoch.max(bound).or(self.epoch);
        }
        self.primary = Some(new.clone());
        let confirmed: Vec<SourceId> = (self.announced.iter())
            .filter_map(|(s, a)| (a == new).then_some(*s))
            .collect();
        for s in confirmed {
            self.announced.remove(&s);
            self.named.insert(s, new.clone());
        }
        if announced_alone {
            // Nothing led up to it (a Sentinel catching up, or only observers watched):
            // nothing more of it will come.
            ended.extend(self.close(timeline, Outcome::Switched, None));
        }
    }

    fn on_end(
        &mut self,
        timeline: &Timeline,
        at: (Instant, SystemTime),
        instance: Option<&Addr>,
        outcome: Outcome,
        leader: Option<(SourceId, Instant)>,
        ended: &mut Vec<Failover>,
    ) {
        if self.open.is_none() {
            if instance.is_some_and(|a| self.recorded_old.contains(a)) {
                return; // the end of a transition already recorded
            }
            // An episode that began before the watch started is timed from its end.
            self.open_at(at, instance.cloned());
        }
        self.touch(at);
        if let Some(open) = &mut self.open {
            open.ended_by = leader;
        }
        ended.extend(self.close(timeline, outcome, instance));
    }

    fn switched(&self) -> Option<&Switch> {
        self.open.as_ref()?.switch.as_ref()
    }

    fn touch(&mut self, at: (Instant, SystemTime)) {
        if let Some(open) = &mut self.open {
            open.last = at;
        }
    }

    fn touch_or_open(&mut self, at: (Instant, SystemTime), addr: Option<Addr>) {
        if self.open.is_some() {
            self.touch(at);
        } else {
            self.open_at(at, addr);
        }
    }

    fn open_at(&mut self, at: (Instant, SystemTime), addr: Option<Addr>) {
        self.open = Some(Open {
            origin: at.0,
            origin_wall: at.1,
            last: at,
            master_addr: addr,
            epoch: None,
            failing_over: false,
            tried: false,
            switch: None,
            ended_by: None,
        });
    }

    /// Ends the open episode; `ended_addr` is the master address the ending event named.
    fn close(
        &mut self,
        t: &Timeline,
        outcome: Outcome,
        ended_addr: Option<&Addr>,
    ) -> Option<Failover> {
        let open = self.open.take()?;
        let old_hint = open.master_addr.as_ref().or(ended_addr);
        // The switch as this episode saw it, else the first one in the timeline since it
        // opened (e.g. merged into an entry before the episode's events) that was followed:
        // one found stale (to a node that is no primary) is not this episode's switch.
        let switch = open.switch.clone().or_else(|| {
            let e = self
                .switch_entry(t, open.origin, None)
                .filter(|e| e.first_at <= open.last.0)?;
            let Detail::SwitchMaster { old, new, .. } = &e.event.detail else {
                return None;
            };
            let followed = self.primary.as_ref() == Some(new);
            (followed && old_hint.is_none_or(|h| h == old)).then(|| Switch {
                old: old.clone(),
                new: new.clone(),
                observed: Observed::Live,
            })
        });
        let entry = switch
            .as_ref()
            .and_then(|s| self.switch_entry(t, open.origin, Some(s)));
        if let Some(s) = &switch {
            self.remember(&s.old);
            if self.primary.is_none() {
                self.primary = Some(s.new.clone());
            }
        } else if let Some(old) = old_hint
            && (outcome == Outcome::FailedOver || outcome == Outcome::TimedOut)
        {
            self.remember(&old.clone());
        }
        let phases: Phases = t.phases(&self.master, open.origin);
        let duration = open.last.0.saturating_duration_since(open.origin);
        Some(Failover {
            master: self.master.clone(),
            outcome,
            old: switch.as_ref().map(|s| s.old.clone()),
            new: switch.as_ref().map(|s| s.new.clone()),
            observed: switch.as_ref().map_or(Observed::Live, |s| s.observed),
            epoch: open.epoch,
            phases: phases
                .iter()
                .map(|(n, d)| (n, d.filter(|d| *d <= duration).map(ms)))
                .collect(),
            switch_master: entry.map(|e| switch_reports(e, open.ended_by)),
            duration_ms: ms(duration),
            started: open.origin_wall,
            origin: open.origin,
        })
    }

    fn remember(&mut self, old: &Addr) {
        self.recorded_old.retain(|a| a != old);
        self.recorded_old.push(old.clone());
        let excess = self.recorded_old.len().saturating_sub(REMEMBERED);
        self.recorded_old.drain(..excess);
    }

    /// The first `+switch-master` entry of this master since `origin` (matching `s`).
    fn switch_entry<'t>(
        &self,
        t: &'t Timeline,
        origin: Instant,
        s: Option<&Switch>,
    ) -> Option<&'t Entry> {
        t.entries()
            .iter()
            .filter(|e| e.first_at >= origin)
            .filter(|e| match &e.event.detail {
                Detail::SwitchMaster { master, old, new } => {
                    *master == self.master && s.is_none_or(|s| s.old == *old && s.new == *new)
                }
                _ => false,
            })
            .min_by_key(|e| e.first_at)
    }
}

/// Every episode of `master` that ended within `timeline`, in order (the drill's view: no
/// reconciliation, no quiet timeout), plus one still open with a switch.
pub(crate) fn replay(timeline: &Timeline, master: &str) -> Vec<Failover> {
    let mut episodes = Episodes::new(master);
    let mut ended: Vec<Failover> = timeline
        .entries()
        .iter()
        .flat_map(|e| episodes.observe(timeline, e))
        .collect();
    ended.extend(episodes.finish(timeline));
    ended
}

/// How far back a leader's `+new-epoch` is looked for: it publishes it right before its
/// `+try-failover`, in the same call.
const LEADER_EPOCH_WITHIN: Duration = Duration::from_secs(1);

/// The epoch of the failover `entry` (a `+try-failover`) starts: the `+new-epoch` its
/// Sentinel published just before it (merged into another Sentinel's entry or not).
pub(crate) fn leader_epoch(timeline: &Timeline, entry: &Entry) -> Option<u64> {
    if entry.event.kind != EventKind::TryFailover {
        return None;
    }
    let leader = entry.reports[0].source;
    let since = entry.first_at.checked_sub(LEADER_EPOCH_WITHIN);
    timeline
        .entries()
        .iter()
        .rev()
        .skip_while(|e| e.first_at > entry.first_at)
        .take_while(|e| since.is_none_or(|s| e.first_at >= s))
        .find_map(|e| match e.event.detail {
            Detail::NewEpoch { epoch } => e
                .reports
                .iter()
                .any(|r| r.source == leader && r.at <= entry.first_at)
                .then_some(epoch),
            _ => None,
        })
}

/// The address of the master instance an event is about, if it is one.
fn master_instance(e: &SentinelEvent) -> Option<&Addr> {
    match &e.detail {
        Detail::Instance { instance, .. } if instance.role == InstanceRole::Master => {
            Some(&instance.addr)
        }
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod captures;
#[cfg(test)]
pub(crate) mod sample;
#[cfg(test)]
mod tests;
