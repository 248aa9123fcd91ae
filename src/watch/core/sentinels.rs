//! Pure: each Sentinel's link as the watch sees it — subscribed or not, out of reach since
//! when, in TILT or not (per Sentinel: from its own `±tilt`, not the merged timeline) — and
//! what a monitor report means for its group's start and for the metrics.

use std::time::{Duration, Instant};

use super::{Core, Link, Metric, Now, Out};
use crate::addr::Addr;
use crate::sentinel::event::EventKind;
use crate::sentinel::report::MonitorEvent;
use crate::sentinel::timeline::SourceId;
use crate::watch::startup::Verdict;

/// Per Sentinel (source id): out of reach since, subscribed now, in TILT now.
#[derive(Debug, Clone)]
pub(super) struct Links {
    down_since: Vec<Option<Instant>>,
    up: Vec<bool>,
    tilted: Vec<bool>,
}

impl Links {
    pub(super) fn new(n: usize) -> Self {
        Links {
            down_since: vec![None; n],
            up: vec![false; n],
            tilted: vec![false; n],
        }
    }

    /// Of a group's `sentinels` (numbered from `first`): those subscribed now, those in TILT.
    pub(super) fn known(&self, sentinels: &[Addr], first: usize) -> (Vec<String>, Vec<String>) {
        let pick = |on: &[bool]| {
            sentinels
                .iter()
                .enumerate()
                .filter(|(i, _)| on[first + i])
                .map(|(_, s)| s.to_string())
                .collect()
        };
        (pick(&self.up), pick(&self.tilted))
    }

    /// How long `source` was out of reach, if it comes back at `at`.
    fn gap(&self, source: SourceId, at: Instant) -> Option<Duration> {
        self.down_since[source].map(|from| at - from)
    }
}

impl Core {
    /// What `report` (from group `g`) means for the group's start; `None` when every
    /// Sentinel of the group rejected warden's settings before any was subscribed
    /// ([`Out::Refused`] is then the only output).
    pub(super) fn startup_check(&mut self, g: usize, report: &MonitorEvent) -> Option<Verdict> {
        let source = report.source();
        let i = source - self.groups[g].first;
        let verdict = match report {
            MonitorEvent::Connected { .. } => self.startup.connected(g, i),
            MonitorEvent::Disconnected { rejected, .. } => {
                self.startup.disconnected(g, i, rejected.is_some())
            }
            _ => Verdict::Wait,
        };
        // Refused only on a rejection: every Sentinel's latest report is one.
        if let (
            Verdict::Refused,
            MonitorEvent::Disconnected {
                rejected: Some(r), ..
            },
        ) = (verdict, report)
        {
            self.out.push(Out::Refused {
                group: g,
                source,
                rejected: r.clone(),
            });
            return None;
        }
        Some(verdict)
    }

    /// The report to the metrics (and its log line): for every followed master of group
    /// `g`, or for the one master a `Primary` answer names if it is followed.
    pub(super) fn feed(&mut self, g: usize, report: &MonitorEvent) {
        let gs = &self.groups[g];
        let masters: Vec<String> = match report {
            MonitorEvent::Primary { master, .. } if !gs.group.follows(master) => return,
            MonitorEvent::Primary { master, .. } => vec![master.clone()],
            _ => gs.masters.keys().cloned().collect(),
        };
        let gap = match report {
            MonitorEvent::Connected { source, at } => self.links.gap(*source, *at),
            _ => None,
        };
        let metric = Metric::Report {
            masters,
            report: report.clone(),
            gap,
        };
        self.out.push(Out::Metric { group: g, metric });
    }

    /// A Sentinel of group `g` subscribed, lost, or waiting for an answer: its line; after a
    /// gap, its group's episodes know it is back.
    pub(super) fn link(&mut self, g: usize, report: &MonitorEvent) {
        let out = match report {
            MonitorEvent::Connected { source, at } => {
                self.links.up[*source] = true;
                let gap = self.links.gap(*source, *at);
                self.links.down_since[*source] = None;
                if gap.is_some() {
                    for f in self.groups[g].masters.values_mut() {
                        f.episodes.resumed(*source, *at);
                    }
                }
                (*source, Link::Connected, gap, None)
            }
            MonitorEvent::Disconnected {
                source, at, reason, ..
            } => {
                self.links.up[*source] = false;
                self.links.down_since[*source].get_or_insert(*at);
                (*source, Link::Disconnected, None, Some(reason.clone()))
            }
            MonitorEvent::Unanswered { source, reason, .. } => {
                (*source, Link::Waiting, None, Some(reason.clone()))
            }
            MonitorEvent::Primary { .. } | MonitorEvent::Event { .. } => return,
        };
        let (source, link, gap, reason) = out;
        self.out.push(Out::Connection {
            source,
            link,
            gap,
            reason,
        });
    }

    /// An event of kind `kind` from Sentinel `source` of group `g` at `at`: `+tilt` and
    /// `-tilt` are per Sentinel, for every followed master of its group.
    pub(super) fn tilt(
        &mut self,
        g: usize,
        source: SourceId,
        at: Instant,
        kind: &EventKind,
        t: Now,
    ) {
        if !matches!(kind, EventKind::Tilt | EventKind::TiltExited) {
            return;
        }
        let entered = *kind == EventKind::Tilt;
        self.links.tilted[source] = entered;
        let sentinel = self.sentinels[source].to_string();
        let names: Vec<String> = self.groups[g].masters.keys().cloned().collect();
        for m in names {
            let hz = self
                .followed(g, &m)
                .map(|f| f.tilt(at, &sentinel, entered))
                .unwrap_or_default();
            self.emit(g, hz, t.wall);
        }
    }
}
