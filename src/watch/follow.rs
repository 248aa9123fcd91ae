//! Pure: everything the watch keeps about one followed master — its failover episodes, its
//! live topology line, and its hazard detectors — and the hazards each input raises or
//! clears. The watch loop feeds it; it does no I/O and reads no clock.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use crate::failover::episode::{Episodes, Failover, Outvoted};
use crate::failover::hazard::{
    Attempts, Finding, Flaps, Hazard, HazardKind, Limits, Refailovers, SNAPSHOT_KINDS, Snapshot,
    Tracker,
};
use crate::sentinel::event::{Detail, EventKind, InstanceRole};
use crate::sentinel::timeline::Entry;

/// How many recent hazards are kept for the next failover's trace.
const KEPT: usize = 64;

/// One followed master.
#[derive(Debug, Clone)]
pub(crate) struct Followed {
    /// Its name.
    pub master: String,
    /// Its failover episodes.
    pub episodes: Episodes,
    tracker: Tracker,
    flaps: Flaps,
    attempts: Attempts,
    refailovers: Refailovers,
    /// The largest `down-after-milliseconds` the last poll read.
    down_after: Option<Duration>,
    rto: Option<Duration>,
    /// Sentinels in TILT: since when, and how many polls ended since found them out of it.
    tilted: BTreeMap<String, (Instant, u8)>,
    /// Sentinels whose `-tilt` came: when (a poll begun before it saw the TILT it ended).
    calmed: BTreeMap<String, Instant>,
    /// Recent hazards (wall time, hazard), for the next failover's trace.
    recent: Vec<(SystemTime, Hazard)>,
    /// The last topology line printed (without the lag figures).
    topology: Option<String>,
    /// The data nodes the last poll saw.
    pub nodes: Vec<crate::addr::Addr>,
}

/// Settings every followed master shares.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// Thresholds for snapshot hazards.
    pub limits: Limits,
    /// Flapping: this many failovers …
    pub flap_count: usize,
    /// … within this window.
    pub flap_window: Duration,
}

impl Followed {
    /// Follows `master` of a group of `sentinels` Sentinels, with its RTO target.
    pub(crate) fn new(master: &str, sentinels: usize, rto: Option<Duration>, s: &Settings) -> Self {
        Followed {
            master: master.to_string(),
            episodes: Episodes::of_group(master, sentinels),
            tracker: Tracker::new(master),
            flaps: Flaps::new(s.flap_window, s.flap_count),
            attempts: Attempts::default(),
            refailovers: Refailovers::default(),
            down_after: None,
            rto,
            tilted: BTreeMap::new(),
            calmed: BTreeMap::new(),
            recent: Vec::new(),
            topology: None,
            nodes: Vec::new(),
        }
    }

    /// A poll's snapshot: the poll began at `began` and ended at `at`.
    pub(crate) fn polled(
        &mut self,
        began: Instant,
        at: Instant,
        snap: &Snapshot,
        limits: &Limits,
        bytes_per_sec: Option<f64>,
    ) -> Vec<Hazard> {
        self.nodes = snap.nodes.iter().map(|n| n.addr.clone()).collect();
        let down_after = snap.sentinels.iter().filter_map(|s| s.answer.as_ref().ok());
        let down_after = down_after.filter_map(|a| a.down_after_ms).max();
        self.down_after = down_after.map(Duration::from_millis).or(self.down_after);
        let found = crate::failover::hazard::detect(snap, limits, bytes_per_sec);
        let mut out = self.tracker.update(at, &SNAPSHOT_KINDS, found);
        // TILT comes and goes with `±tilt`. A poll notices one the events missed, and ends
        // one whose `-tilt` never came (a Sentinel restarted in TILT publishes none) when two
        // polls ended since the raise find it out of TILT: the second began after the raise.
        // A poll begun before a `-tilt` reports the TILT that `-tilt` ended: not a new one.
        for s in &snap.sentinels {
            let Ok(answer) = &s.answer else { continue };
            let name = s.addr.to_string();
            if answer.tilt {
                if self.calmed.get(&name).is_some_and(|c| *c >= began) {
                    continue;
                }
                out.extend(self.tilt(at, &name, true));
            } else if let Some((since, calm)) = self.tilted.get_mut(&name)
                && at > *since
            {
                *calm += 1;
                if *calm >= 2 {
                    out.extend(self.tilt(at, &name, false));
                }
            }
        }
        out
    }

    /// `+tilt` (`entered`) or `-tilt` from the Sentinel `sentinel`.
    pub(crate) fn tilt(&mut self, at: Instant, sentinel: &str, entered: bool) -> Vec<Hazard> {
        let subject = Some(sentinel.to_string());
        if entered {
            self.tilted.entry(sentinel.to_string()).or_insert((at, 0)).1 = 0;
            let f = Finding {
                kind: HazardKind::Tilt,
                subject,
                detail: "the Sentinel acts on nothing for 30 s".into(),
            };
            self.tracker.raise(f)
        } else {
            self.tilted.remove(sentinel);
            self.calmed.insert(sentinel.to_string(), at);
            self.tracker.clear(HazardKind::Tilt, subject)
        }
    }

    /// A new timeline entry of this master's group, first reported by the Sentinel `sender`;
    /// `epoch` is the epoch a `+try-failover` starts ([`leader_epoch`](crate::failover::episode::leader_epoch): another
    /// master's `+new-epoch` is not this one's attempt). Counts failover attempts and aborts, and
    /// finds a failover that starts soon after the last switch.
    pub(crate) fn entry(&mut self, entry: &Entry, sender: &str, epoch: Option<u64>) -> Vec<Hazard> {
        let event = &entry.event;
        if event.master_name() != Some(self.master.as_str()) {
            return Vec::new();
        }
        let at = entry.first_at;
        let found = match (&event.kind, &event.detail) {
            (EventKind::TryFailover | EventKind::ElectedLeader, _) => {
                let window = Refailovers::window(self.down_after);
                let again = self.refailovers.started(at, sender, window);
                let scope = [HazardKind::FailoverAfterFailover];
                let mut out = self.tracker.update(at, &scope, again);
                if let Some(e) = epoch {
                    let found = self.attempts.epoch(at, e);
                    out.extend(self.tracker.update(at, &[HazardKind::FailoverLoop], found));
                }
                return out;
            }
            (kind, _) if kind.channel().starts_with("-failover-abort") => self.attempts.aborted(at),
            // The master is back: the attempts end. A replica's or a Sentinel's `-sdown`
            // (which names the master after `@`) ends nothing.
            (
                EventKind::SdownCleared | EventKind::OdownCleared,
                Detail::Instance { instance, .. },
            ) if instance.role == InstanceRole::Master => {
                self.attempts.switched();
                Vec::new()
            }
            _ => return Vec::new(),
        };
        self.tracker.update(at, &[HazardKind::FailoverLoop], found)
    }

    /// A `+switch-master` was confirmed: a failover loop (if any) is over.
    pub(crate) fn switched(&mut self, at: Instant) -> Vec<Hazard> {
        self.attempts.switched();
        self.refailovers.switched(at);
        self.tracker
            .update(at, &[HazardKind::FailoverLoop], Vec::new())
    }

    /// A `+switch-master` that was not confirmed.
    pub(crate) fn stale_switch(&mut self, at: Instant, announced: &str, why: &str) -> Vec<Hazard> {
        let f = Finding {
            kind: HazardKind::StaleSwitch,
            subject: None,
            detail: format!("{announced} not followed: {why}"),
        };
        self.tracker.update(at, &[], vec![f])
    }

    /// The Sentinel `sentinel` named a newer primary than most of its group (`o`): a split
    /// view now, not a failover record; the next poll keeps it or clears it.
    pub(crate) fn outvoted(&mut self, sentinel: &str, o: &Outvoted) -> Vec<Hazard> {
        let f = Finding {
            kind: HazardKind::SplitView,
            subject: None,
            detail: format!(
                "{sentinel} names {} (config epoch {}), {} of {} Sentinels: not followed, {} stays the primary",
                o.named, o.epoch, o.support.0, o.support.1, o.primary
            ),
        };
        self.tracker.raise(f)
    }

    /// A failover record at `at`: flapping and the RTO target.
    pub(crate) fn failover(&mut self, at: Instant, f: &Failover) -> Vec<Hazard> {
        if f.new.is_none() {
            return Vec::new();
        }
        let flapping = self.flaps.failover(at);
        let mut out = self.tracker.update(at, &[HazardKind::Flapping], flapping);
        if let Some(target) = self.rto {
            let visible = f
                .phases
                .iter()
                .find(|(n, _)| *n == "switch_master")
                .and_then(|(_, ms)| *ms)
                .unwrap_or(f.duration_ms);
            let found = crate::failover::hazard::rto(visible, target)
                .into_iter()
                .collect();
            out.extend(self.tracker.update(at, &[], found));
        }
        out
    }

    /// The clock moved on: flapping ends when the window drains, a failover after a
    /// failover when the master has been stable for its window.
    pub(crate) fn tick(&mut self, now: Instant) -> Vec<Hazard> {
        let found = self.flaps.look(now);
        let mut out = self.tracker.update(now, &[HazardKind::Flapping], found);
        let window = Refailovers::window(self.down_after);
        let again = self.refailovers.look(now, window);
        let scope = [HazardKind::FailoverAfterFailover];
        out.extend(self.tracker.update(now, &scope, again));
        out
    }

    /// Keeps `h` (reported at `wall`) for the trace of the failover in progress.
    pub(crate) fn keep(&mut self, wall: SystemTime, h: &Hazard) {
        self.recent.push((wall, h.clone()));
        let excess = self.recent.len().saturating_sub(KEPT);
        self.recent.drain(..excess);
    }

    /// The hazards reported since `f` started (for its trace).
    pub(crate) fn during(&self, f: &Failover) -> Vec<(SystemTime, Hazard)> {
        self.recent
            .iter()
            .filter(|(w, _)| *w >= f.started)
            .cloned()
            .collect()
    }

    /// Whether `line` differs from the topology last printed (and remembers it).
    pub(crate) fn topology_changed(&mut self, line: String) -> bool {
        if self.topology.as_ref() == Some(&line) {
            return false;
        }
        self.topology = Some(line);
        true
    }
}

#[cfg(test)]
mod tests;
