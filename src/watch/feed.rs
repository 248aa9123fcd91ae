//! What the watch loop makes of each monitor report besides its timeline: the startup check
//! (every Sentinel of a group rejecting warden's credentials or TLS settings before any was
//! subscribed ends the watch, [`super::startup`]) and the metrics, per followed master of the
//! report's group.

use std::io::Write;

use super::startup::Verdict;
use super::{GroupState, Watch};
use crate::conn::Role;
use crate::error::{Error, Result};
use crate::sentinel::monitor::{MonitorEvent, Rejected};

/// Master `m` of group `gs` is followed from now on: watched by the metrics, with what is
/// already known of its Sentinels (`up`, `tilted`: by source id).
pub(super) fn watching(gs: &GroupState, up: &[bool], tilted: &[bool], m: &str) {
    let metrics = &gs.metrics;
    metrics.watching(m, &gs.group.sentinels);
    for (i, s) in gs.group.sentinels.iter().enumerate() {
        let source = gs.first + i;
        if up[source] {
            metrics.set_sentinel_up(m, &s.to_string(), true);
        }
        if tilted[source] {
            metrics.set_tilt(m, &s.to_string(), true);
        }
    }
}

impl<W: Write> Watch<'_, W> {
    /// What `report` (from group `g`) means for the group's start; the rejection by every
    /// Sentinel of the group before any was subscribed is the error.
    pub(super) fn startup_check(&mut self, g: usize, report: &MonitorEvent) -> Result<Verdict> {
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
            return Err(match r {
                Rejected::Auth(detail) => {
                    let sentinel = &self.p.sentinels[source];
                    self.spec.conns[g].auth_failed(Role::Sentinel, sentinel, detail)
                }
                Rejected::Tls(line) => Error::Tls {
                    message: line.clone(),
                },
            });
        }
        Ok(verdict)
    }

    /// The report to the metrics (and its log line): for every followed master of group
    /// `g`, or for the one master a `Primary` answer names if it is followed.
    pub(super) fn feed(&self, g: usize, report: &MonitorEvent) {
        let gs = &self.groups[g];
        let masters: Vec<String> = match report {
            MonitorEvent::Primary { master, .. } if !gs.group.follows(master) => return,
            MonitorEvent::Primary { master, .. } => vec![master.clone()],
            _ => gs.masters.keys().cloned().collect(),
        };
        let gap = match report {
            MonitorEvent::Connected { source, at } => self.down_since[*source].map(|f| *at - f),
            _ => None,
        };
        let metrics = &gs.metrics;
        metrics.report(&masters, self.p.sentinels, report, gap);
    }

    /// Every followed master's primary, as far as its episodes know, to the metrics.
    pub(super) fn publish_primaries(&self) {
        for gs in &self.groups {
            for (m, f) in &gs.masters {
                if let Some(addr) = f.episodes.primary().0 {
                    gs.metrics.set_primary(m, &addr.to_string());
                }
            }
        }
    }
}
