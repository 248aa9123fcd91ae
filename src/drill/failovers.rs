//! Pure: every failover of a trial — how many, and for each its epoch, old → new primary,
//! phases, leader — and the likely cause of one that started soon after a Sentinel's own
//! `+switch-master` (the second-failover pattern of a short down-after).

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::evidence::signed_ms;
use crate::failover::episode::{self, Outcome};
use crate::sentinel::event::{Detail, EventKind};
use crate::sentinel::timeline::{Phases, SourceId, Timeline};

/// A failover that starts within down-after plus this long after its starting Sentinel's
/// own `+switch-master` is named as likely caused by that switch.
pub(crate) const SOON_AFTER: Duration = Duration::from_secs(1);

/// One failover (or failover attempt) after the fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailoverRow {
    /// The failover's epoch, when an epoch event gave it.
    pub epoch: Option<u64>,
    /// The primary before it.
    pub old_primary: Option<String>,
    /// The primary after it (`null`: no switch was seen).
    pub new_primary: Option<String>,
    /// How it ended (`failed_over`, `switched`, `aborted (…)`, …).
    pub outcome: String,
    /// Its first event, ms from the fault.
    pub started_ms: f64,
    /// Each phase's first report, ms from the fault.
    pub phases: Vec<PhaseAt>,
    /// The Sentinel that led it (index in `sentinels`).
    pub leader: Option<usize>,
    /// ms from the leader's own `+switch-master` of the previous failover to this one's
    /// start, when it was within down-after + 1 s: the likely cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_own_switch_ms: Option<f64>,
}

/// A phase of one failover.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseAt {
    /// The channel, e.g. `+odown`.
    pub phase: String,
    /// ms from the fault.
    pub at_ms: f64,
}

impl FailoverRow {
    /// A new primary was named: a failover, not an attempt.
    pub fn switched(&self) -> bool {
        self.new_primary.is_some()
    }
}

/// The failovers of `master` that started at or after `fault_at`, in order; with
/// `down_after` known, each one that started soon after its leader's own previous
/// `+switch-master` carries that gap.
pub(crate) fn list(
    timeline: &Timeline,
    master: &str,
    fault_at: Instant,
    down_after: Option<Duration>,
) -> Vec<FailoverRow> {
    let since = |at: Instant| signed_ms(at, fault_at);
    let rows = episode::replay(timeline, master)
        .into_iter()
        .filter(|f| f.origin >= fault_at && f.outcome != Outcome::Recovered)
        .map(|f| {
            let end = f.origin + Duration::from_secs_f64(f.duration_ms.max(0.0) / 1e3);
            let leader = leader_between(timeline, master, f.origin, end);
            let after_own_switch_ms = leader
                .zip(down_after)
                .and_then(|(l, d)| own_switch_before(timeline, master, l, f.origin, d))
                .map(|at| signed_ms(f.origin, at));
            FailoverRow {
                epoch: f.epoch,
                old_primary: f.old.as_ref().map(ToString::to_string),
                new_primary: f.new.as_ref().map(ToString::to_string),
                outcome: outcome_name(&f.outcome),
                started_ms: since(f.origin),
                phases: f
                    .phases
                    .iter()
                    .filter_map(|(name, at)| {
                        Some(PhaseAt {
                            phase: Phases::channel(name),
                            at_ms: ((since(f.origin) + (*at)?) * 1e3).round() / 1e3,
                        })
                    })
                    .collect(),
                leader,
                after_own_switch_ms,
            }
        });
    joined(rows)
}

/// The failovers with each leader's late `+switch-master` joined to its own failover: the
/// leader announces the switch just after its `+failover-end`, and when no observer
/// announced it first, the replay closes the failover on the end (no switch) and opens a
/// "switched" one for the announcement.
fn joined(rows: impl Iterator<Item = FailoverRow>) -> Vec<FailoverRow> {
    let mut out: Vec<FailoverRow> = Vec::new();
    for row in rows {
        let end = |f: &FailoverRow| {
            f.phases
                .iter()
                .find(|p| p.phase == "+failover-end")
                .map(|p| p.at_ms)
        };
        let late = out.last().and_then(|prev| {
            let ended = end(prev)?;
            let announced = prev.new_primary.is_none()
                && row.epoch.is_none()
                && row.outcome == "switched"
                && row.started_ms - ended <= LATE_SWITCH_MS;
            announced.then_some(())
        });
        match (late, out.last_mut()) {
            (Some(()), Some(prev)) => {
                prev.old_primary = row.old_primary;
                prev.new_primary = row.new_primary;
                prev.phases.extend(row.phases);
            }
            _ => out.push(row),
        }
    }
    out
}

/// How long after its `+failover-end` a leader's own `+switch-master` still belongs to it.
const LATE_SWITCH_MS: f64 = 100.0;

/// The trial's reasons about its failovers: each one that followed its leader's own switch
/// too soon, named with its likely cause.
pub(crate) fn causes(rows: &[FailoverRow], down_after: Option<Duration>) -> Vec<String> {
    let d = down_after.map_or(0, |d| d.as_millis());
    rows.iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let gap = f.after_own_switch_ms?;
            Some(format!(
                "failover {} ({}{} → {}) started {gap:.0} ms after sentinel #{}'s own \
                 +switch-master (within down-after {d} ms + 1 s): likely caused by that switch \
                 (the new primary judged down before the Sentinel's new link sent its first \
                 PING, and quorum from the old primary's down reports)",
                i + 1,
                f.epoch.map_or(String::new(), |e| format!("epoch {e}, ")),
                f.old_primary.as_deref().unwrap_or("?"),
                f.new_primary.as_deref().unwrap_or("no switch"),
                f.leader.map_or(0, |l| l),
            ))
        })
        .collect()
}

/// The Sentinel that led the failover between `from` and `to`: the first to report
/// `+elected-leader` (or, failing that, `+try-failover`) in that span.
fn leader_between(t: &Timeline, master: &str, from: Instant, to: Instant) -> Option<SourceId> {
    [EventKind::ElectedLeader, EventKind::TryFailover]
        .iter()
        .find_map(|k| {
            t.first(k, master, from)
                .filter(|e| e.first_at <= to)
                .and_then(|e| e.reports.iter().min_by_key(|r| r.at).map(|r| r.source))
        })
}

/// When `source` itself reported a `+switch-master` of `master` in the down-after + 1 s
/// before `start` (the latest such report).
fn own_switch_before(
    t: &Timeline,
    master: &str,
    source: SourceId,
    start: Instant,
    down_after: Duration,
) -> Option<Instant> {
    let soon = down_after + SOON_AFTER;
    t.entries()
        .iter()
        .filter(
            |e| matches!(&e.event.detail, Detail::SwitchMaster { master: m, .. } if m == master),
        )
        .flat_map(|e| e.reports.iter())
        .filter(|r| r.source == source && r.at <= start && start - r.at <= soon)
        .map(|r| r.at)
        .max()
}

fn outcome_name(o: &Outcome) -> String {
    match o {
        Outcome::FailedOver => "failed_over".into(),
        Outcome::TimedOut => "timed_out".into(),
        Outcome::Aborted(ch) => format!("aborted ({ch})"),
        Outcome::Recovered => "recovered".into(),
        Outcome::Abandoned(ch) => format!("abandoned ({ch})"),
        Outcome::Switched => "switched".into(),
        Outcome::Unfinished => "unfinished".into(),
    }
}
