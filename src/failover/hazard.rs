//! Pure: the hazards `warden watch` reports — what a hazard is ([`Hazard`], [`HazardKind`]),
//! the detectors that find them in a poll [`Snapshot`], in the failovers and events of one
//! master or in its backups' freshness ([`BackupAge`]), and the [`Tracker`] that reports each occurrence once: when it starts, and a
//! `cleared` line when it ends, never once per Sentinel or per poll.
//!
//! Time is an argument (`Instant`), never read here; tests drive a virtual clock.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::addr::Addr;

/// What kind of hazard; the `kind` label of the log line, the JSON and the metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum HazardKind {
    /// A failover's client-visible phases took longer than the master's RTO target.
    RtoExceeded,
    /// Failover attempts repeat (the epoch rises) without a `+switch-master`.
    FailoverLoop,
    /// Several failovers within the flap window.
    Flapping,
    /// A failover starts within a few down-after periods of the master's last switch (at
    /// down-after 1 s a Sentinel may put the new primary down right after switching to it).
    FailoverAfterFailover,
    /// `SENTINEL CKQUORUM` fails (or no Sentinel answers).
    QuorumLost,
    /// A Sentinel does not answer the poll.
    SentinelUnreachable,
    /// A Sentinel is in TILT mode (`+tilt`).
    Tilt,
    /// Sentinels name different primaries (`GET-MASTER-ADDR-BY-NAME`).
    SplitView,
    /// Two nodes answer `ROLE` with `master` at once.
    TwoPrimaries,
    /// A `+switch-master` that neither `ROLE` on the named node nor the epoch confirms.
    StaleSwitch,
    /// A replica's `master_link_status` is down (or the primary does not list it).
    ReplicaLinkDown,
    /// A replica lags the primary by more than the threshold (bytes or seconds).
    ReplicaLag,
    /// A failover now would lose more than the threshold (writes or seconds).
    Exposure,
    /// The newest good backup of the master is older than its group's backup RPO, or there
    /// is none.
    BackupStale,
}

impl HazardKind {
    /// Every kind, in the order of the book's hazard table.
    pub(crate) const ALL: [HazardKind; 14] = [
        HazardKind::RtoExceeded,
        HazardKind::FailoverLoop,
        HazardKind::Flapping,
        HazardKind::FailoverAfterFailover,
        HazardKind::QuorumLost,
        HazardKind::SentinelUnreachable,
        HazardKind::Tilt,
        HazardKind::SplitView,
        HazardKind::TwoPrimaries,
        HazardKind::StaleSwitch,
        HazardKind::ReplicaLinkDown,
        HazardKind::ReplicaLag,
        HazardKind::Exposure,
        HazardKind::BackupStale,
    ];

    /// The kind as printed: `rto-exceeded`, `quorum-lost`, …
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            HazardKind::RtoExceeded => "rto-exceeded",
            HazardKind::FailoverLoop => "failover-loop",
            HazardKind::Flapping => "flapping",
            HazardKind::FailoverAfterFailover => "failover-after-failover",
            HazardKind::QuorumLost => "quorum-lost",
            HazardKind::SentinelUnreachable => "sentinel-unreachable",
            HazardKind::Tilt => "tilt",
            HazardKind::SplitView => "split-view",
            HazardKind::TwoPrimaries => "two-primaries",
            HazardKind::StaleSwitch => "stale-switch",
            HazardKind::ReplicaLinkDown => "replica-link-down",
            HazardKind::ReplicaLag => "replica-lag",
            HazardKind::Exposure => "exposure",
            HazardKind::BackupStale => "backup-stale",
        }
    }

    /// Whether the hazard is a single moment (reported once, never cleared).
    pub(crate) fn instant(self) -> bool {
        matches!(self, HazardKind::RtoExceeded | HazardKind::StaleSwitch)
    }
}

impl fmt::Display for HazardKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a hazard starts or ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum State {
    /// It started (or, for an instant hazard, happened).
    Raised,
    /// It ended.
    Cleared,
}

/// One report of a hazard: what the watch logs, prints, counts and exports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Hazard {
    /// The master it concerns.
    pub master: String,
    /// What kind.
    pub kind: HazardKind,
    /// What within the master (a Sentinel or replica address), if it is about one.
    pub subject: Option<String>,
    /// Started or ended.
    pub state: State,
    /// Human detail: the figures that triggered it.
    pub detail: String,
}

impl fmt::Display for Hazard {
    /// `hazard <kind> master=<m> [subject=<s>] <detail>`, with `cleared` for an end.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "hazard {} master={}", self.kind, self.master)?;
        if let Some(s) = &self.subject {
            write!(f, " subject={s}")?;
        }
        if self.state == State::Cleared {
            f.write_str(" cleared")?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// A condition a detector found in one look: kind, subject, detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    /// What kind.
    pub kind: HazardKind,
    /// Within the master, if any.
    pub subject: Option<String>,
    /// The figures.
    pub detail: String,
}

impl Finding {
    fn new(kind: HazardKind, subject: Option<String>, detail: String) -> Self {
        Finding {
            kind,
            subject,
            detail,
        }
    }
}

type Key = (HazardKind, Option<String>);

/// Reports each hazard of one master once per occurrence. A level condition is reported
/// when it has held for its kind's hold time (see [`Tracker::hold`]) and cleared when a look
/// that decides its kind no longer finds it; an instant one is reported every time.
#[derive(Debug, Clone)]
pub(crate) struct Tracker {
    master: String,
    /// Raised and not cleared.
    active: BTreeMap<Key, String>,
    /// Seen, not yet held long enough: since when.
    pending: BTreeMap<Key, Instant>,
}

impl Tracker {
    /// Tracks `master`'s hazards.
    pub(crate) fn new(master: impl Into<String>) -> Self {
        Tracker {
            master: master.into(),
            active: BTreeMap::new(),
            pending: BTreeMap::new(),
        }
    }

    /// How long a condition must hold before it is a hazard: the Sentinels disagree for a
    /// moment during every failover, and an old primary answers `ROLE master` until it is
    /// converted, so those two must persist over two polls. A primary resuming after a stall
    /// answers the poll's queued questions before it reads its replicas' queued acks: for
    /// one poll they look seconds behind (seen on a lab), so lag and exposure must last 1 s.
    pub(crate) fn hold(kind: HazardKind) -> Duration {
        match kind {
            HazardKind::SplitView | HazardKind::TwoPrimaries => Duration::from_secs(2),
            HazardKind::ReplicaLag | HazardKind::Exposure => Duration::from_secs(1),
            _ => Duration::ZERO,
        }
    }

    /// A look at `now` that decides the `scope` kinds found `findings`; returns what starts
    /// and what ends. Instant findings are reported as they come.
    pub(crate) fn update(
        &mut self,
        now: Instant,
        scope: &[HazardKind],
        findings: Vec<Finding>,
    ) -> Vec<Hazard> {
        let mut out = Vec::new();
        let mut seen: Vec<Key> = Vec::new();
        for f in findings {
            if f.kind.instant() {
                out.push(self.hazard(f.kind, f.subject, State::Raised, f.detail));
                continue;
            }
            let key = (f.kind, f.subject.clone());
            seen.push(key.clone());
            if let Some(detail) = self.active.get_mut(&key) {
                *detail = f.detail;
                continue;
            }
            let since = *self.pending.entry(key.clone()).or_insert(now);
            if now.saturating_duration_since(since) >= Self::hold(f.kind) {
                self.pending.remove(&key);
                self.active.insert(key, f.detail.clone());
                out.push(self.hazard(f.kind, f.subject, State::Raised, f.detail));
            }
        }
        let gone: Vec<Key> = self
            .active
            .keys()
            .chain(self.pending.keys())
            .filter(|k| scope.contains(&k.0) && !seen.contains(k))
            .cloned()
            .collect();
        for key in gone {
            self.pending.remove(&key);
            if let Some(detail) = self.active.remove(&key) {
                out.push(self.hazard(key.0, key.1, State::Cleared, detail));
            }
        }
        out
    }

    /// Raises one condition at once (an event such as `+tilt`, or a Sentinel's answer: a
    /// fact, not a sample, so no hold time) unless already raised.
    pub(crate) fn raise(&mut self, f: Finding) -> Vec<Hazard> {
        let key = (f.kind, f.subject.clone());
        if self.active.contains_key(&key) {
            return Vec::new();
        }
        self.pending.remove(&key);
        if !f.kind.instant() {
            self.active.insert(key, f.detail.clone());
        }
        vec![self.hazard(f.kind, f.subject, State::Raised, f.detail)]
    }

    /// Clears one condition (an event such as `-tilt`), if raised.
    pub(crate) fn clear(&mut self, kind: HazardKind, subject: Option<String>) -> Vec<Hazard> {
        self.pending.remove(&(kind, subject.clone()));
        match self.active.remove(&(kind, subject.clone())) {
            Some(detail) => vec![self.hazard(kind, subject, State::Cleared, detail)],
            None => Vec::new(),
        }
    }

    fn hazard(
        &self,
        kind: HazardKind,
        subject: Option<String>,
        state: State,
        detail: String,
    ) -> Hazard {
        Hazard {
            master: self.master.clone(),
            kind,
            subject,
            state,
            detail,
        }
    }
}

/// The kinds a snapshot decides (the others come from events and failovers).
pub(crate) const SNAPSHOT_KINDS: [HazardKind; 7] = [
    HazardKind::QuorumLost,
    HazardKind::SentinelUnreachable,
    HazardKind::SplitView,
    HazardKind::TwoPrimaries,
    HazardKind::ReplicaLinkDown,
    HazardKind::ReplicaLag,
    HazardKind::Exposure,
];

/// What a failover now would lose: the most up-to-date replica's lag (the one Sentinel
/// would promote), as seconds of the primary's replication stream and as writes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Exposure {
    /// Bytes the best replica lacks.
    pub bytes: u64,
    /// Those bytes at the primary's current stream rate, seconds.
    pub secs: f64,
    /// Those seconds at the primary's ops rate.
    pub writes: f64,
}

/// Exposure from the primary's figures and its stream rate (offset bytes per second over
/// the last poll interval); `None` without a replica or a rate.
pub(crate) fn exposure(p: &PrimarySeen, bytes_per_sec: Option<f64>) -> Option<Exposure> {
    let best = p.replicas.iter().map(|r| lag_bytes(p, r)).min()?;
    let secs = match bytes_per_sec {
        Some(rate) if rate > 0.0 => best as f64 / rate,
        _ if best == 0 => 0.0,
        // Bytes behind and nothing written since the last poll: a replica that missed
        // acknowledgements (one a second) stopped; its ack age bounds what is missing.
        _ => p
            .replicas
            .iter()
            .filter(|r| lag_bytes(p, r) == best && r.lag_secs >= 2)
            .map(|r| r.lag_secs as f64)
            .fold(0.0, f64::max),
    };
    Some(Exposure {
        bytes: best,
        secs,
        writes: secs * p.ops_per_sec,
    })
}

/// `s` with each replica line's offset raised to the replica's own (fresher than its last
/// acknowledgement, which comes once a second).
fn fresh(s: &Snapshot) -> Cow<'_, Snapshot> {
    if !(s.nodes.iter().any(|n| n.offset.is_some()) && s.primary.is_some()) {
        return Cow::Borrowed(s);
    }
    let mut fresh = s.clone();
    if let Some(p) = fresh.primary.as_mut() {
        for r in &mut p.replicas {
            if let Some(o) = s
                .nodes
                .iter()
                .find(|n| n.addr == r.addr)
                .and_then(|n| n.offset)
            {
                r.offset = r.offset.max(o.min(p.offset));
            }
        }
    }
    Cow::Owned(fresh)
}

fn lag_bytes(p: &PrimarySeen, r: &ReplicaLine) -> u64 {
    p.offset.saturating_sub(r.offset).max(0) as u64
}

/// Every snapshot hazard in `s` under `limits`; `bytes_per_sec` is the primary's stream
/// rate since the previous poll.
pub(crate) fn detect(s: &Snapshot, limits: &Limits, bytes_per_sec: Option<f64>) -> Vec<Finding> {
    let s = &*fresh(s);
    let mut out = Vec::new();
    let answers: Vec<(&Addr, &SentinelAnswer)> = s
        .sentinels
        .iter()
        .filter_map(|x| x.answer.as_ref().ok().map(|a| (&x.addr, a)))
        .collect();
    for x in &s.sentinels {
        if let Err(why) = &x.answer {
            out.push(Finding::new(
                HazardKind::SentinelUnreachable,
                Some(x.addr.to_string()),
                why.clone(),
            ));
        }
    }
    let no_quorum: Vec<String> = answers
        .iter()
        .filter_map(|(a, x)| x.quorum.as_ref().err().map(|why| format!("{a}: {why}")))
        .collect();
    if !no_quorum.is_empty() {
        out.push(Finding::new(
            HazardKind::QuorumLost,
            None,
            no_quorum.join("; "),
        ));
    } else if answers.is_empty() && !s.sentinels.is_empty() {
        out.push(Finding::new(
            HazardKind::QuorumLost,
            None,
            "no Sentinel answers".into(),
        ));
    }
    let mut named: Vec<String> = answers
        .iter()
        .map(|(a, x)| {
            let p = x.primary.as_ref().map_or("nothing".into(), Addr::to_string);
            format!("{a} says {p}")
        })
        .collect();
    let mut primaries: Vec<&Addr> = answers
        .iter()
        .filter_map(|(_, x)| x.primary.as_ref())
        .collect();
    primaries.sort();
    primaries.dedup();
    if primaries.len() > 1 {
        named.sort();
        out.push(Finding::new(HazardKind::SplitView, None, named.join(", ")));
    }
    let mut masters: Vec<String> = s
        .nodes
        .iter()
        .filter(|n| n.role.as_deref() == Some("master"))
        .map(|n| n.addr.to_string())
        .collect();
    if masters.len() > 1 {
        masters.sort();
        out.push(Finding::new(
            HazardKind::TwoPrimaries,
            None,
            format!("ROLE master on {}", masters.join(" and ")),
        ));
    }
    replicas(s, limits, &mut out);
    if let Some(p) = &s.primary
        && let Some(e) = exposure(p, bytes_per_sec)
        && (e.writes > limits.max_exposure_writes || e.secs > limits.max_exposure_secs)
    {
        out.push(Finding::new(
            HazardKind::Exposure,
            None,
            format!(
                "a failover now would lose ~{:.0} writes, {:.1} s ({} bytes behind)",
                e.writes, e.secs, e.bytes
            ),
        ));
    }
    out
}

/// Link and lag of each replica the Sentinels list.
fn replicas(s: &Snapshot, limits: &Limits, out: &mut Vec<Finding>) {
    let primary = s.primary_addr.as_ref();
    for n in s.nodes.iter().filter(|n| Some(&n.addr) != primary) {
        if n.role.as_deref() == Some("master") {
            continue; // a second primary, reported as such
        }
        let line = s
            .primary
            .as_ref()
            .and_then(|p| p.replicas.iter().find(|r| r.addr == n.addr).map(|r| (p, r)));
        let subject = Some(n.addr.to_string());
        if n.link_up == Some(false) {
            out.push(Finding::new(
                HazardKind::ReplicaLinkDown,
                subject,
                "master_link_status:down".into(),
            ));
            continue;
        }
        let Some((p, r)) = line else {
            if s.primary.is_some() && n.role.is_some() {
                out.push(Finding::new(
                    HazardKind::ReplicaLinkDown,
                    subject,
                    "not listed by the primary".into(),
                ));
            }
            continue;
        };
        let bytes = lag_bytes(p, r);
        if bytes > limits.max_lag_bytes || r.lag_secs > limits.max_lag_secs {
            out.push(Finding::new(
                HazardKind::ReplicaLag,
                subject,
                format!("{bytes} bytes, {} s since its last ack", r.lag_secs),
            ));
        }
    }
}

/// The RTO finding for a failover whose client-visible time (from its first event to the
/// first `+switch-master`, or to its end without one) exceeds `target`.
pub(crate) fn rto(visible_ms: f64, target: Duration) -> Option<Finding> {
    let target_ms = target.as_secs_f64() * 1000.0;
    (visible_ms > target_ms).then(|| {
        Finding::new(
            HazardKind::RtoExceeded,
            None,
            format!("clients could not write for {visible_ms:.0} ms (target {target_ms:.0} ms)"),
        )
    })
}

/// Whether a `+switch-master` to `new` is confirmed: `new` answers `ROLE master`, and a
/// Sentinel names `new` with a config epoch newer than the one known before.
pub(crate) fn switch_confirmed(
    new_is_master: bool,
    named_new_with_epoch: Option<u64>,
    known_epoch: Option<u64>,
) -> bool {
    new_is_master && named_new_with_epoch.is_some_and(|e| known_epoch.is_none_or(|k| e > k))
}

mod backup;
mod gauges;
mod history;
mod snapshot;
pub(crate) use backup::{BackupAge, backup_stale};
pub(crate) use gauges::gauges;
pub(crate) use history::{Attempts, Flaps, Refailovers};
pub(crate) use snapshot::{
    Limits, NodeSeen, PrimarySeen, ReplicaLine, SentinelAnswer, SentinelSeen, Snapshot,
};

#[cfg(test)]
mod tests;
