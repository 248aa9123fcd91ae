//! How `warden watch` renders its lines, as text or JSON: connections, answers, events,
//! failover records, hazards and topology changes.

use std::io::Write;
use std::time::{Duration, SystemTime};

use serde_json::json;

use super::config::Group;
use crate::addr::Addr;
use crate::error::{Error, Result};
use crate::failover::episode::Failover;
use crate::failover::hazard::{Hazard, Snapshot};
use crate::sentinel::timeline::Entry;

/// Renders the watch's lines, as text or JSON.
pub(super) struct Printer<'a, W> {
    pub(super) out: &'a mut W,
    pub(super) json: bool,
    pub(super) sentinels: &'a [Addr],
    /// The group of each Sentinel, by source id (the JSON records name it).
    pub(super) groups: Vec<String>,
}

/// The name of each Sentinel's group, by source id (the groups' Sentinels in turn).
pub(super) fn by_source(groups: &[Group]) -> Vec<String> {
    groups
        .iter()
        .flat_map(|g| std::iter::repeat_n(g.name.clone(), g.sentinels.len()))
        .collect()
}

impl<W: Write> Printer<'_, W> {
    pub(super) fn line(&mut self, text: &str) -> Result<()> {
        writeln!(self.out, "{text}")
            .and_then(|_| self.out.flush())
            .map_err(|source| Error::Io {
                path: "<stdout>".into(),
                source,
            })
    }

    pub(super) fn primary(
        &mut self,
        source: usize,
        master: &str,
        addr: &Addr,
        config_epoch: u64,
        stale: bool,
    ) -> Result<()> {
        let sentinel = &self.sentinels[source];
        let line = if self.json {
            json!({"type": "primary", "wall": wall(SystemTime::now()), "group": self.groups[source],
                   "sentinel": sentinel.to_string(), "master": master,
                   "addr": addr.to_string(), "config_epoch": config_epoch, "stale": stale})
            .to_string()
        } else {
            let behind = if stale { " (behind: not believed)" } else { "" };
            format!(
                "{}  sentinel {sentinel} says {master} is at {addr}, config epoch {config_epoch}{behind}",
                wall(SystemTime::now())
            )
        };
        self.line(&line)
    }

    pub(super) fn connection(
        &mut self,
        source: usize,
        state: &str,
        gap: Option<Duration>,
        reason: Option<&str>,
    ) -> Result<()> {
        let sentinel = &self.sentinels[source];
        let gap_ms = gap.map(|g| g.as_secs_f64() * 1000.0);
        let line = if self.json {
            json!({"type": state, "wall": wall(SystemTime::now()), "group": self.groups[source],
                   "sentinel": sentinel.to_string(), "gap_ms": gap_ms, "reason": reason})
            .to_string()
        } else {
            let mut text = format!("{}  sentinel {sentinel} {state}", wall(SystemTime::now()));
            if let Some(ms) = gap_ms {
                text += &format!(" after a gap of {ms:.0} ms");
            }
            if let Some(r) = reason {
                text += &format!(": {r}");
            }
            text
        };
        self.line(&line)
    }

    pub(super) fn event(&mut self, entry: &Entry) -> Result<()> {
        let source = entry.reports[0].source;
        let sentinel = &self.sentinels[source];
        let at = entry.first_wall;
        let line = if self.json {
            json!({"type": "event", "wall": wall(at), "group": self.groups[source],
                   "sentinel": sentinel.to_string(),
                   "event": entry.event.kind.channel(), "detail": entry.event.detail,
                   "text": entry.event.to_string()})
            .to_string()
        } else {
            format!("{}  {}  (first from {sentinel})", wall(at), entry.event)
        };
        self.line(&line)
    }

    pub(super) fn failover(&mut self, group: &str, f: &Failover) -> Result<()> {
        let text = if self.json {
            let mut v = serde_json::to_value(f).unwrap_or_default();
            v["type"] = "failover".into();
            v["group"] = group.into();
            v.to_string()
        } else {
            f.to_string().trim_end().to_string()
        };
        self.line(&text)
    }

    pub(super) fn hazard(&mut self, group: &str, at: SystemTime, h: &Hazard) -> Result<()> {
        let line = if self.json {
            json!({"type": "hazard", "wall": wall(at), "group": group, "master": h.master,
                   "kind": h.kind, "subject": h.subject, "state": h.state, "detail": h.detail})
            .to_string()
        } else {
            format!("{}  {h}", wall(at))
        };
        self.line(&line)
    }

    pub(super) fn topology(&mut self, group: &str, s: &Snapshot) -> Result<()> {
        let answering = s.sentinels.iter().filter(|x| x.answer.is_ok()).count();
        let quorum_ok = s
            .sentinels
            .iter()
            .filter_map(|x| x.answer.as_ref().ok())
            .all(|a| a.quorum.is_ok())
            && answering > 0;
        let epoch = s
            .sentinels
            .iter()
            .filter_map(|x| x.answer.as_ref().ok()?.config_epoch)
            .max();
        let seen = s
            .sentinels
            .iter()
            .filter_map(|x| x.answer.as_ref().ok())
            .map(|a| a.other_sentinels + 1)
            .max()
            .unwrap_or(0);
        let replicas: Vec<serde_json::Value> = s
            .nodes
            .iter()
            .filter(|n| Some(&n.addr) != s.primary_addr.as_ref())
            .map(|n| {
                let line = s
                    .primary
                    .as_ref()
                    .and_then(|p| p.replicas.iter().find(|r| r.addr == n.addr).map(|r| (p, r)));
                json!({"addr": n.addr.to_string(), "role": n.role, "link_up": n.link_up,
                       "lag_bytes": line.map(|(p, r)| p.offset.saturating_sub(r.offset).max(0)),
                       "lag_secs": line.map(|(_, r)| r.lag_secs)})
            })
            .collect();
        let primary = s.primary_addr.as_ref().map(Addr::to_string);
        let line = if self.json {
            json!({"type": "topology", "wall": wall(SystemTime::now()), "group": group,
                   "master": s.master, "primary": primary, "replicas": replicas,
                   "sentinels": s.sentinels.len(), "sentinels_answering": answering,
                   "sentinels_known": seen, "quorum_ok": quorum_ok, "config_epoch": epoch})
            .to_string()
        } else {
            format!(
                "{}  topology {}: primary {}, {} replica(s), {answering}/{} Sentinels answer, quorum {}, config epoch {}",
                wall(SystemTime::now()),
                s.master,
                primary.as_deref().unwrap_or("unknown"),
                replicas.len(),
                s.sentinels.len(),
                if quorum_ok { "ok" } else { "LOST" },
                epoch.map_or("?".into(), |e| e.to_string()),
            )
        };
        self.line(&line)
    }
}

fn wall(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

#[cfg(test)]
mod tests;
