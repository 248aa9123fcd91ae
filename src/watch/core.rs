//! Pure: the decisions of `warden watch` — every group's merged timeline, the followed
//! masters ([`Followed`]), the groups' start ([`Startup`]), each Sentinel's link and TILT,
//! the `+switch-master` entries being checked and what arrives meanwhile, the hazards raised
//! and the episodes ended (the `--episodes` limit). One function per input (a monitor
//! report, a poll, a check's result, a backup freshness report, a tick, the stop), each
//! given the time it needs and
//! returning what to do, in order, as [`Out`]; the shell ([`super::shell`]) prints, counts,
//! logs, exports, draws and starts the checks. No I/O here, no clock read.
//!
//! Split by concern: the `+switch-master` checks in `core/switch.rs`, each Sentinel's link,
//! TILT and the startup check in `core/sentinels.rs`, the `backup-stale` hazard in
//! `core/backups.rs`; table tests over captured event
//! streams in `core/tests.rs`.

mod backups;
mod sentinels;
mod switch;

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use super::config::Group;
use super::follow::{Followed, Settings};
use super::startup::{Startup, Verdict};
use crate::addr::Addr;
use crate::failover::episode::Failover;
use crate::failover::hazard::{BackupAge, Hazard, HazardKind, Snapshot, State, Tracker};
use crate::sentinel::event::Detail;
use crate::sentinel::report::{MonitorEvent, Rejected};
use crate::sentinel::timeline::{Entry, SourceId, Timeline};
use sentinels::Links;
pub(crate) use switch::{Verified, Verify};

/// Reports of one event from several Sentinels within this window are merged (the leader's
/// own `+switch-master` comes ~1 s after the observers').
pub(crate) const MERGE_WINDOW: Duration = Duration::from_secs(5);
/// With no episode open, a timeline longer than this is started afresh (a watch runs for days).
const MAX_IDLE_ENTRIES: usize = 1000;

/// One poll of one master ([`super::poll::run`] sends it).
#[derive(Debug, Clone)]
pub(crate) struct Polled {
    /// Index of the group in the watch's list.
    pub group: usize,
    /// When the poll began.
    pub began: Instant,
    /// When the poll ended.
    pub at: Instant,
    /// What it saw.
    pub snapshot: Snapshot,
    /// The primary's replication stream rate since the previous poll, bytes/s.
    pub bytes_per_sec: Option<f64>,
}

/// The time an input is handled at, read by the shell: monotonic for the detectors, wall
/// for the hazard lines and the failover traces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Now {
    pub(crate) at: Instant,
    pub(crate) wall: SystemTime,
}

/// What the shell does, in the order given.
#[derive(Debug, Clone)]
pub(crate) enum Out {
    /// Sentinel `source`'s connection line: subscribed (after a `gap` out of reach), lost,
    /// or subscribed but waiting for an answer; why.
    Connection {
        source: SourceId,
        link: Link,
        gap: Option<Duration>,
        reason: Option<String>,
    },
    /// Sentinel `source` says `master` is at `addr` (`stale`: behind what is known, not
    /// believed).
    Primary {
        source: SourceId,
        master: String,
        addr: Addr,
        config_epoch: u64,
        stale: bool,
    },
    /// A new timeline entry: each event once, at its first report.
    Event(Entry),
    /// A master's topology changed (the line without the figures that move every poll).
    Topology { group: usize, snapshot: Snapshot },
    /// A hazard raised or cleared, reported at `wall`: logged, printed, counted.
    Hazard {
        group: usize,
        wall: SystemTime,
        hazard: Hazard,
    },
    /// An episode ended: printed, counted, its hazards, exported, drawn, kept.
    Ended(Box<Ended>),
    /// Check a `+switch-master` before its master's episodes see it; the result comes back
    /// as [`Core::verified`].
    Verify(Verify),
    /// A metric update of group `group`.
    Metric { group: usize, metric: Metric },
    /// Every Sentinel of `group` rejected warden's settings before any was subscribed:
    /// the watch ends with that rejection (Sentinel `source`'s).
    Refused {
        group: usize,
        source: SourceId,
        rejected: Rejected,
    },
    /// The `--episodes` limit is reached: the watch ends.
    Limit,
}

/// A Sentinel connection's state, as printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Link {
    Connected,
    Disconnected,
    Waiting,
}

impl Link {
    /// `connected`, `disconnected`, `waiting`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Link::Connected => "connected",
            Link::Disconnected => "disconnected",
            Link::Waiting => "waiting",
        }
    }
}

/// An episode that ended, with what happened during it.
#[derive(Debug, Clone)]
pub(crate) struct Ended {
    pub(crate) group: usize,
    pub(crate) failover: Failover,
    /// The hazards its record raises or clears (flapping, RTO), at `wall`: out after its line.
    pub(crate) hazards: Vec<Hazard>,
    pub(crate) wall: SystemTime,
    /// Every hazard reported since it started, these included (its trace).
    pub(crate) during: Vec<(SystemTime, Hazard)>,
    /// The data nodes its master's last poll saw (the picture's lanes).
    pub(crate) nodes: Vec<Addr>,
}

/// A metric update, as plain data.
#[derive(Debug, Clone)]
pub(crate) enum Metric {
    /// `master` is followed from now on; these Sentinels of its group are known to be
    /// subscribed, these in TILT.
    Watching {
        master: String,
        up: Vec<String>,
        tilted: Vec<String>,
    },
    /// A monitor report, logged and moving the gauges of `masters`; `gap`: how long the
    /// Sentinel was out of reach, when it is a reconnection.
    Report {
        masters: Vec<String>,
        report: MonitorEvent,
        gap: Option<Duration>,
    },
    /// A poll of `master`: quorum, replica lag, exposure.
    Polled {
        master: String,
        snapshot: Snapshot,
        bytes_per_sec: Option<f64>,
    },
}

/// One Sentinel group's live state.
#[derive(Debug, Clone)]
pub(crate) struct GroupState {
    pub(crate) group: Group,
    /// The source id of its first Sentinel (its Sentinels are numbered on from there).
    pub(crate) first: usize,
    /// Polls that came before the group's start was settled (the latest per master).
    early: Vec<Polled>,
    pub(crate) timeline: Timeline,
    pub(crate) masters: BTreeMap<String, Followed>,
    /// Per master with a `+switch-master` being checked: the entries that came meanwhile,
    /// fed to its episodes in order once the check is done.
    held: BTreeMap<String, Vec<Entry>>,
    /// The `backup-stale` hazard of each master whose backups are checked (followed or not).
    backups: BTreeMap<String, Tracker>,
    /// Backup reports that came before the group's start was settled (the latest per master).
    early_backups: Vec<BackupAge>,
}

/// Every decision of the watch.
#[derive(Debug, Clone)]
pub(crate) struct Core {
    settings: Settings,
    /// Stop after this many episodes have ended.
    limit: Option<u32>,
    /// Every Sentinel, by source id.
    sentinels: Vec<Addr>,
    /// The group of each Sentinel, by source id.
    group_of: Vec<usize>,
    groups: Vec<GroupState>,
    startup: Startup,
    links: Links,
    /// Hazards raised so far, by group, master and kind.
    counts: BTreeMap<(usize, String, HazardKind), u64>,
    /// Episodes ended so far.
    ended: usize,
    /// What the input being handled asks for.
    out: Vec<Out>,
}

impl Core {
    /// Watches `groups` (their Sentinels numbered in turn); `limit`: `--episodes`.
    pub(crate) fn new(groups: &[Group], settings: Settings, limit: Option<u32>) -> Self {
        let mut first = 0;
        let mut states = Vec::new();
        let mut group_of = Vec::new();
        for (i, g) in groups.iter().enumerate() {
            states.push(GroupState {
                group: g.clone(),
                first,
                early: Vec::new(),
                timeline: Timeline::new(MERGE_WINDOW),
                masters: BTreeMap::new(),
                held: BTreeMap::new(),
                backups: BTreeMap::new(),
                early_backups: Vec::new(),
            });
            first += g.sentinels.len();
            group_of.extend(std::iter::repeat_n(i, g.sentinels.len()));
        }
        let sentinels: Vec<Addr> = groups.iter().flat_map(|g| g.sentinels.clone()).collect();
        Core {
            settings,
            limit,
            links: Links::new(sentinels.len()),
            sentinels,
            group_of,
            groups: states,
            startup: Startup::new(groups.iter().map(|g| g.sentinels.len())),
            counts: BTreeMap::new(),
            ended: 0,
            out: Vec::new(),
        }
    }

    /// The start: named masters are watched (and not ready) from the start.
    pub(crate) fn start(&mut self) -> Vec<Out> {
        for g in 0..self.groups.len() {
            for m in self.groups[g].group.masters.clone() {
                self.followed(g, &m);
            }
        }
        self.take()
    }

    /// Group `g`'s state.
    pub(crate) fn group(&self, g: usize) -> &GroupState {
        &self.groups[g]
    }

    /// Every followed master's primary as far as its episodes know: (group, master, addr).
    pub(crate) fn primaries(&self) -> impl Iterator<Item = (usize, &str, &Addr)> {
        self.groups.iter().enumerate().flat_map(|(g, gs)| {
            gs.masters
                .iter()
                .filter_map(move |(m, f)| Some((g, m.as_str(), f.episodes.primary().0?)))
        })
    }

    /// How many times `kind` was raised for `master` of group `g`.
    #[cfg(test)]
    pub(crate) fn raised(&self, g: usize, master: &str, kind: HazardKind) -> u64 {
        let key = (g, master.to_string(), kind);
        self.counts.get(&key).copied().unwrap_or(0)
    }

    /// A report from a Sentinel's monitor.
    pub(crate) fn monitor(&mut self, report: MonitorEvent, t: Now) -> Vec<Out> {
        let g = self.group_of[report.source()];
        self.on_monitor(g, report, t);
        self.take()
    }

    /// A topology poll.
    pub(crate) fn polled(&mut self, p: Polled, t: Now) -> Vec<Out> {
        self.on_polled(p, t);
        self.take()
    }

    /// The clock moved on (`t.at`): quiet episodes end, time-bound hazards clear.
    pub(crate) fn tick(&mut self, t: Now) -> Vec<Out> {
        for (g, m) in self.followed_masters() {
            let gs = &mut self.groups[g];
            let Some(f) = gs.masters.get_mut(&m) else {
                continue;
            };
            let quiet = f.episodes.tick(&gs.timeline, t.at);
            let hz = f.tick(t.at);
            self.emit(g, hz, t.wall);
            if self.record(g, &m, quiet, t) {
                break;
            }
        }
        self.take()
    }

    /// The watch stops: a transition whose end was not seen yet is recorded, not lost.
    pub(crate) fn stop(&mut self, t: Now) -> Vec<Out> {
        for (g, m) in self.followed_masters() {
            let gs = &mut self.groups[g];
            let last = gs
                .masters
                .get_mut(&m)
                .and_then(|f| f.episodes.finish(&gs.timeline));
            if self.record(g, &m, last, t) {
                break;
            }
        }
        self.take()
    }

    /// Every followed master, as (group, name).
    fn followed_masters(&self) -> Vec<(usize, String)> {
        self.groups
            .iter()
            .enumerate()
            .flat_map(|(g, gs)| gs.masters.keys().map(move |m| (g, m.clone())))
            .collect()
    }

    fn take(&mut self) -> Vec<Out> {
        std::mem::take(&mut self.out)
    }

    fn on_monitor(&mut self, g: usize, report: MonitorEvent, t: Now) {
        let Some(verdict) = self.startup_check(g, &report) else {
            return;
        };
        self.feed(g, &report);
        let mut closed: Vec<(String, Failover)> = Vec::new();
        match &report {
            MonitorEvent::Connected { .. }
            | MonitorEvent::Disconnected { .. }
            | MonitorEvent::Unanswered { .. } => self.link(g, &report),
            MonitorEvent::Primary {
                source,
                master,
                at,
                wall,
                addr,
                config_epoch,
            } => {
                let Some(f) = self.followed(g, master) else {
                    return;
                };
                let (known, epoch) = f.episodes.primary();
                let stale =
                    known.is_some_and(|k| k != addr) && epoch.is_some_and(|e| *config_epoch <= e);
                self.out.push(Out::Primary {
                    source: *source,
                    master: master.clone(),
                    addr: addr.clone(),
                    config_epoch: *config_epoch,
                    stale,
                });
                let gs = &mut self.groups[g];
                let Some(f) = gs.masters.get_mut(master) else {
                    return;
                };
                let at2 = (*at, *wall);
                match f
                    .episodes
                    .reconcile(&gs.timeline, *source, at2, addr, *config_epoch)
                {
                    Ok(ended) => closed.extend(ended.into_iter().map(|e| (master.clone(), e))),
                    Err(outvoted) => {
                        let sentinel = self.sentinels[*source].to_string();
                        let hz = f.outvoted(&sentinel, &outvoted);
                        self.emit(g, hz, t.wall);
                    }
                }
            }
            MonitorEvent::Event {
                source, at, event, ..
            } => {
                // What each Sentinel names, from every report (the first or not).
                let gs = &mut self.groups[g];
                if let Detail::SwitchMaster { master, new, .. } = &event.detail
                    && let Some(f) = gs.masters.get_mut(master)
                {
                    f.episodes.announced(*source, new);
                }
                let idle = gs.masters.values().all(|f| !f.episodes.is_open()) && gs.held.is_empty();
                if idle && gs.timeline.entries().len() > MAX_IDLE_ENTRIES {
                    gs.timeline = Timeline::new(MERGE_WINDOW);
                }
                self.tilt(g, *source, *at, &event.kind, t);
            }
        }
        let gs = &mut self.groups[g];
        if let Some(i) = report.apply(&mut gs.timeline) {
            let entry = gs.timeline.entries()[i].clone();
            self.out.push(Out::Event(entry.clone()));
            closed.extend(self.entry(g, &entry, t));
        }
        for (m, f) in closed {
            if self.record(g, &m, Some(f), t) {
                return;
            }
        }
        if verdict == Verdict::Settled {
            for p in std::mem::take(&mut self.groups[g].early) {
                self.on_polled(p, t);
            }
            for b in std::mem::take(&mut self.groups[g].early_backups) {
                self.on_backup(b, t);
            }
        }
    }

    fn on_polled(&mut self, p: Polled, t: Now) {
        let g = p.group;
        if !self.startup.settled(g) {
            let early = &mut self.groups[g].early;
            early.retain(|e| e.snapshot.master != p.snapshot.master);
            early.push(p);
            return;
        }
        let limits = self.settings.limits;
        let Some(f) = self.followed(g, &p.snapshot.master) else {
            return;
        };
        let hz = f.polled(p.began, p.at, &p.snapshot, &limits, p.bytes_per_sec);
        let changed = f.topology_changed(topology_key(&p.snapshot));
        let metric = Metric::Polled {
            master: p.snapshot.master.clone(),
            snapshot: p.snapshot.clone(),
            bytes_per_sec: p.bytes_per_sec,
        };
        self.out.push(Out::Metric { group: g, metric });
        self.emit(g, hz, t.wall);
        if changed {
            self.out.push(Out::Topology {
                group: g,
                snapshot: p.snapshot,
            });
        }
    }

    /// The followed master `m` of group `g` (created on first sight), if the group follows it.
    fn followed(&mut self, g: usize, m: &str) -> Option<&mut Followed> {
        let gs = &mut self.groups[g];
        if m.is_empty() || !gs.group.follows(m) {
            return None;
        }
        if !gs.masters.contains_key(m) {
            let (up, tilted) = self.links.known(&gs.group.sentinels, gs.first);
            let metric = Metric::Watching {
                master: m.to_string(),
                up,
                tilted,
            };
            self.out.push(Out::Metric { group: g, metric });
        }
        let rto = gs.group.rto_for(m);
        let (settings, n) = (&self.settings, gs.group.sentinels.len());
        Some(
            gs.masters
                .entry(m.to_string())
                .or_insert_with(|| Followed::new(m, n, rto, settings)),
        )
    }

    /// The one way a hazard goes out: counted when raised, kept for the trace of the failover
    /// in progress, then to the shell.
    fn emit(&mut self, g: usize, hazards: Vec<Hazard>, wall: SystemTime) {
        for hazard in self.note(g, hazards, wall) {
            self.out.push(Out::Hazard {
                group: g,
                wall,
                hazard,
            });
        }
    }

    fn note(&mut self, g: usize, hazards: Vec<Hazard>, wall: SystemTime) -> Vec<Hazard> {
        for h in &hazards {
            if h.state == State::Raised {
                *self
                    .counts
                    .entry((g, h.master.clone(), h.kind))
                    .or_default() += 1;
            }
            if let Some(f) = self.groups[g].masters.get_mut(&h.master) {
                f.keep(wall, h);
            }
        }
        hazards
    }

    /// An ended episode and the hazards its record raises; true when the `--episodes` limit
    /// is reached (then [`Out::Limit`] is the last output).
    fn record(&mut self, g: usize, m: &str, f: Option<Failover>, t: Now) -> bool {
        let Some(failover) = f else { return false };
        let hz = self
            .followed(g, m)
            .map(|x| x.failover(t.at, &failover))
            .unwrap_or_default();
        let hazards = self.note(g, hz, t.wall);
        let master = self.groups[g].masters.get(m);
        let during = master.map(|x| x.during(&failover)).unwrap_or_default();
        let nodes = master.map(|x| x.nodes.clone()).unwrap_or_default();
        self.out.push(Out::Ended(Box::new(Ended {
            group: g,
            failover,
            hazards,
            wall: t.wall,
            during,
            nodes,
        })));
        self.ended += 1;
        let done = self.limit.is_some_and(|n| self.ended >= n as usize);
        if done {
            self.out.push(Out::Limit);
        }
        done
    }
}

/// The topology as a comparable line, without the figures that move every poll.
pub(crate) fn topology_key(s: &Snapshot) -> String {
    let sentinels: Vec<String> = s
        .sentinels
        .iter()
        .map(|x| match &x.answer {
            Ok(a) => format!(
                "{}:{:?}:{}:{:?}",
                x.addr,
                a.config_epoch,
                a.quorum.is_ok(),
                a.primary
            ),
            Err(_) => format!("{}:-", x.addr),
        })
        .collect();
    let nodes: Vec<String> = s
        .nodes
        .iter()
        .map(|n| format!("{}:{:?}:{:?}", n.addr, n.role, n.link_up))
        .collect();
    format!("{:?} {sentinels:?} {nodes:?}", s.primary_addr)
}

#[cfg(test)]
mod tests;
