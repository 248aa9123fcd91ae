//! Pure: what a trial saw of the cluster itself, beside the clients' figures — every
//! failover, whether and when it settled, the loss checks and the primary each read, split
//! brain, the returning old primary, each node's answers — and how that is judged.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::evidence::signed_ms;
use super::failovers::{self, FailoverRow};
use super::primaries::{Round, TwoPrimaries};
use super::scenario::Targets;
use super::split::{self, NodeLane, Stretches};
use crate::addr::Addr;
use crate::sentinel::timeline::Timeline;

/// How a trial ended, as the runner saw it (plain data).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct End {
    /// The primary the cluster settled on, and when it had held for the stability window.
    pub settled: Option<(Instant, Addr)>,
    /// Why it did not settle (`None`: it did, or the trial ended before the fault).
    pub unstable: Option<String>,
    /// Each loss check: when, on which primary, how many it found lost (`None`: it failed).
    pub checks: Vec<(Instant, Addr, Option<u64>)>,
    /// Why the loss check ran again (a failover that started after the first one).
    pub rechecked: Option<String>,
}

/// What the cluster did during the trial.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterFigures {
    /// Every failover after the fault, in order.
    #[serde(default)]
    pub failovers: Vec<FailoverRow>,
    /// When the cluster settled, on which primary, or why it did not.
    #[serde(default)]
    pub stable: Stable,
    /// Each loss check, in order: the last one's figures are the trial's.
    #[serde(default)]
    pub loss_checks: Vec<LossCheck>,
    /// Split brain: two primaries named by Sentinels, or a node answering `ROLE master`
    /// that no Sentinel names and that never was the primary.
    #[serde(default)]
    pub split_brain: Stretches,
    /// A former primary answering `ROLE master` while no Sentinel names it: back, and not
    /// yet converted to a replica (told apart from split brain).
    #[serde(default)]
    pub returning: Stretches,
    /// Each sampled node's answers to `ROLE`.
    #[serde(default)]
    pub node_roles: Vec<NodeLane>,
}

/// Whether the cluster settled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stable {
    /// When it had held for the stability window, ms from the fault.
    pub at_ms: Option<f64>,
    /// The primary it settled on.
    pub primary: Option<String>,
    /// Why it did not settle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_stable: Option<String>,
}

/// One loss check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossCheck {
    /// When it ran, ms from the fault.
    pub at_ms: f64,
    /// The primary it read.
    pub primary: String,
    /// Acknowledged writes it found lost (`null`: it failed).
    pub lost: Option<u64>,
}

/// The cluster's figures of a trial whose fault hit `old` at `fault_at`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn figures(
    timeline: &Timeline,
    master: &str,
    old: &Addr,
    sentinels: usize,
    down_after: Option<Duration>,
    rounds: &[Round],
    end: &End,
    fault_at: Instant,
) -> ClusterFigures {
    let (split_brain, returning) = split::judge(rounds, timeline, master, old, sentinels, fault_at);
    ClusterFigures {
        failovers: failovers::list(timeline, master, fault_at, down_after),
        stable: Stable {
            at_ms: end.settled.as_ref().map(|(at, _)| signed_ms(*at, fault_at)),
            primary: end.settled.as_ref().map(|(_, p)| p.to_string()),
            not_stable: end.unstable.clone(),
        },
        loss_checks: end
            .checks
            .iter()
            .map(|(at, p, lost)| LossCheck {
                at_ms: signed_ms(*at, fault_at),
                primary: p.to_string(),
                lost: *lost,
            })
            .collect(),
        split_brain,
        returning,
        node_roles: split::lanes(rounds, fault_at),
    }
}

/// Judges the cluster against `targets`: the reasons that miss them, and notes that do not.
pub(crate) fn judge(
    c: &ClusterFigures,
    two: &TwoPrimaries,
    end: &End,
    down_after: Option<Duration>,
    targets: &Targets,
) -> (Vec<String>, Vec<String>) {
    let (mut missed, mut notes) = (Vec::new(), Vec::new());
    let switched: Vec<&FailoverRow> = c.failovers.iter().filter(|f| f.switched()).collect();
    let expected = targets.failovers_expected() as usize;
    if switched.len() != expected && !switched.is_empty() && expected > 0 {
        let epochs: Vec<String> = switched
            .iter()
            .map(|f| f.epoch.map_or("?".into(), |e| e.to_string()))
            .collect();
        missed.push(format!(
            "{} failovers (epochs {}) where {expected} expected",
            switched.len(),
            epochs.join(", ")
        ));
    }
    notes.extend(failovers::causes(&c.failovers, down_after));
    if let Some(why) = &c.stable.not_stable {
        missed.push(format!("the cluster did not settle: {why}"));
    }
    if targets.one_primary_at_end && !two.unsampled() && two.at_end.len() != 1 {
        missed.push(format!(
            "masters at the end: {} — not exactly one",
            match two.at_end.as_slice() {
                [] => "none".to_string(),
                nodes => nodes.join(", "),
            }
        ));
    }
    if let Some(t) = targets.split_brain_ms
        && c.split_brain.total_ms > t as f64
    {
        missed.push(format!(
            "split brain {:.0} ms > target {t} ms",
            c.split_brain.total_ms
        ));
    }
    if let Some(why) = &end.rechecked {
        let last = c.loss_checks.last();
        notes.push(format!(
            "note: the loss check ran again: {why}; the figures are from the last check{}",
            last.map_or(String::new(), |l| format!(", on {}", l.primary))
        ));
    }
    (missed, notes)
}

#[cfg(test)]
mod tests;
