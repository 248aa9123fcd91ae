//! Pure: one trial's observations (timeline, writer history, loss tally) → the figures of a
//! [`TrialReport`](super::report::TrialReport) and a verdict against the targets. Every figure is measured from the
//! instant just before the fault was injected.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::clients::ClientRow;
use super::cluster::{self, ClusterFigures, End};
use super::evidence::{self, Buckets, TimelineRow};
use super::primaries::{self, Round, TwoPrimaries};
use super::scenario::Targets;
pub(crate) use super::verdict::Verdict;
use crate::addr::Addr;
use crate::sentinel::event::EventKind;
use crate::sentinel::timeline::{Phases, Timeline};
use crate::workload::history::History;
use crate::workload::tally::{LossTally, LostWrite};

/// What a trial observed, handed to [`check`].
#[derive(Debug)]
pub(crate) struct Observation<'a> {
    /// The instant just before the fault.
    pub fault_at: Instant,
    /// The primary the fault hit.
    pub old_primary: &'a Addr,
    /// The master name.
    pub master: &'a str,
    /// Events from all Sentinels.
    pub timeline: &'a Timeline,
    /// What the writers did.
    pub history: &'a History,
    /// The loss check, if it ran.
    pub loss: Option<&'a LossTally>,
    /// When the old primary was seen back as a linked replica.
    pub rejoined_at: Option<Instant>,
    /// When the fault was reverted.
    pub reverted_at: Option<Instant>,
    /// Problems met while running the trial (they make the verdict unknown).
    pub errors: &'a [String],
    /// The `ROLE` rounds of the two-primaries sampler.
    pub rounds: &'a [Round],
    /// How many Sentinels were followed.
    pub sentinels: usize,
    /// Sentinel's `down-after-milliseconds`, when known.
    pub down_after: Option<Duration>,
    /// How the trial ended: settled or not, the loss checks.
    pub end: &'a End,
}

/// Lost acknowledged writes.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Lost {
    /// How many acknowledged writes the loss check looked up (`None`: it did not run).
    pub checked: Option<u64>,
    /// How many.
    pub count: u64,
    /// Oldest lost ack, ms relative to the fault (negative: before it).
    pub oldest_ms: Option<f64>,
    /// Newest lost ack, ms relative to the fault.
    pub newest_ms: Option<f64>,
    /// RPO as time: from the oldest lost ack to the later of the fault and the newest lost ack.
    pub window_ms: Option<f64>,
    /// The first lost keys.
    pub sample: Vec<LostWrite>,
}

/// Write outcomes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Writes {
    /// Acknowledged by a server.
    pub acked: u64,
    /// Refused with an error reply, by error code.
    pub failed: std::collections::BTreeMap<String, u64>,
    /// No reply (timeout, connection lost): outcome unknown.
    pub unknown: u64,
    /// Unknown writes found on the new primary.
    pub recovered: u64,
    /// Present keys whose TTL is gone (-1).
    pub ttl_gone: u64,
    /// Present keys whose TTL is off by more than the time since the write.
    pub ttl_off: u64,
    /// Acknowledged after the first `+switch-master` by a node other than the new primary
    /// (a demoted or stale primary): a client that missed the switch (absent: 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stale_acked: u64,
}

/// Latency of acknowledged writes, µs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Slowest.
    pub max: u64,
}

/// The figures of one trial.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Each failover phase, ms after the fault (first report from any Sentinel).
    pub phases_ms: Vec<(String, Option<f64>)>,
    /// Fault → first `+switch-master` from any Sentinel.
    pub sentinel_rto_ms: Option<f64>,
    /// Fault → first write acknowledged by a new primary (`ROLE` master) other than the old one.
    pub client_rto_ms: Option<f64>,
    /// Longest stretch after the fault with no acknowledged write at all.
    pub unavailable_ms: Option<f64>,
    /// The new primary, from `+switch-master`.
    pub new_primary: Option<Addr>,
    /// How many Sentinels reported `+switch-master`, and the spread of their reports (ms).
    pub switch_master_reports: Option<(usize, f64)>,
    /// Fault → the old primary back as a linked replica.
    pub rejoin_ms: Option<f64>,
    /// Write outcomes.
    pub writes: Writes,
    /// Lost acknowledged writes.
    pub lost: Lost,
    /// Latency of acknowledged writes.
    pub latency_us: Latency,
    /// Sentinels that were out of reach during the trial: (index, ms out, reason).
    pub sentinel_gaps: Vec<(usize, Option<f64>, String)>,
    /// A Sentinel entered TILT during the trial.
    pub tilt: bool,
    /// Fault → its revert.
    pub reverted_ms: Option<f64>,
    /// The Sentinel that led the failover.
    pub leader: Option<usize>,
    /// The merged timeline, timed from the fault.
    pub timeline: Vec<TimelineRow>,
    /// The writes per time bucket.
    pub workload: Buckets,
    /// The fault, ms after the history's epoch (the origin of `lost.sample[].at_us`).
    pub fault_since_epoch_ms: f64,
    /// Each workload's own figures, side by side (filled by `compare::judge`).
    pub clients: Vec<ClientRow>,
    /// Stretches with two nodes answering `ROLE` master.
    pub two_primaries: TwoPrimaries,
    /// What the cluster did: every failover, settling, loss checks, split brain.
    pub cluster: ClusterFigures,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

use evidence::signed_ms;

/// Computes a trial's figures and judges them against `targets`; returns the figures, the
/// verdict and the reasons for it.
pub(crate) fn check(o: &Observation<'_>, targets: &Targets) -> (Figures, Verdict, Vec<String>) {
    let f = figures(o);
    let mut reasons: Vec<String> = o.errors.to_vec();
    let mut verdict = if reasons.is_empty() {
        Verdict::Met
    } else {
        Verdict::Unknown
    };
    let mut miss = |why: String| {
        verdict = Verdict::Missed;
        reasons.push(why);
    };
    let failed_over = f.sentinel_rto_ms.is_some();
    match (targets.expect_failover, failed_over) {
        (true, false) => miss("no failover: no +switch-master was seen".into()),
        (false, true) => miss(format!(
            "a failover happened ({} → {}) but none was expected",
            o.old_primary,
            f.new_primary
                .as_ref()
                .map(|a| a.to_string())
                .unwrap_or_default()
        )),
        _ => {}
    }
    if let Some(t) = targets.rto_ms {
        match f.client_rto_ms {
            Some(rto) if rto > t as f64 => miss(format!("client RTO {rto:.0} ms > target {t} ms")),
            None if targets.expect_failover => miss("no write reached a new primary".into()),
            _ => {}
        }
    }
    if let (Some(t), Some(loss)) = (targets.rpo_keys, o.loss)
        && loss.lost > t
    {
        miss(format!(
            "{} acknowledged writes lost > target {t}",
            loss.lost
        ));
    }
    if let (Some(t), Some(w)) = (targets.rpo_ms, f.lost.window_ms)
        && w > t as f64
    {
        miss(format!("lost-write window {w:.0} ms > target {t} ms"));
    }
    let (missed, notes) =
        cluster::judge(&f.cluster, &f.two_primaries, o.end, o.down_after, targets);
    missed.into_iter().for_each(&mut miss);
    if o.history.acked() == 0 && verdict == Verdict::Met {
        verdict = Verdict::Unknown;
        reasons.push("no write was acknowledged: nothing was measured".into());
    }
    if o.loss.is_none() && verdict == Verdict::Met {
        verdict = Verdict::Unknown;
        reasons.push("the loss check did not run".into());
    }
    reasons.extend(notes);
    (f, verdict, reasons)
}

fn figures(o: &Observation<'_>) -> Figures {
    let since = |at: Instant| ms(at.saturating_duration_since(o.fault_at));
    let phases: Phases = o.timeline.phases(o.master, o.fault_at);
    let switch = o
        .timeline
        .first(&EventKind::SwitchMaster, o.master, o.fault_at);
    let new_primary = switch.and_then(|e| match &e.event.detail {
        crate::sentinel::event::Detail::SwitchMaster { new, .. } => Some(new.clone()),
        _ => None,
    });
    let epoch = o.history.epoch;
    let at = |us: u32| epoch + Duration::from_micros(us as u64);
    let client_rto = o
        .history
        .acks()
        .filter(|(_, node)| *node != o.old_primary)
        .map(|(ack, _)| at(ack.at_us))
        .filter(|t| *t >= o.fault_at)
        .min();
    let stale_acked = match (switch, &new_primary) {
        (Some(s), Some(new)) => o
            .history
            .acks()
            .filter(|(ack, node)| *node != new && at(ack.at_us) >= s.first_at)
            .count() as u64,
        _ => 0,
    };
    let mut writes = Writes {
        stale_acked,
        acked: o.history.acked(),
        failed: o.history.failed(),
        unknown: o.history.unknown(),
        ..Writes::default()
    };
    let mut lost = Lost::default();
    if let Some(l) = o.loss {
        writes.recovered = l.recovered;
        writes.ttl_gone = l.ttl_gone;
        writes.ttl_off = l.ttl_off;
        lost.checked = Some(l.checked);
        lost.count = l.lost;
        lost.sample = l.sample.clone();
        if let Some((lo, hi)) = l.lost_range_us {
            let (lo, hi) = (at(lo), at(hi));
            lost.oldest_ms = Some(signed_ms(lo, o.fault_at));
            lost.newest_ms = Some(signed_ms(hi, o.fault_at));
            lost.window_ms = Some(ms(hi.max(o.fault_at).saturating_duration_since(lo)));
        }
    }
    let h = o.history.latency();
    let latency_us = Latency {
        p50: h.value_at_quantile(0.5),
        p90: h.value_at_quantile(0.9),
        p99: h.value_at_quantile(0.99),
        p999: h.value_at_quantile(0.999),
        max: h.max(),
    };
    let gaps = o
        .timeline
        .gaps()
        .iter()
        .filter(|g| g.to.is_none_or(|to| to >= o.fault_at))
        .map(|g| (g.source, g.to.map(|to| ms(to - g.from)), g.reason.clone()))
        .collect();
    let tilt = o
        .timeline
        .entries()
        .iter()
        .any(|e| e.event.kind == EventKind::Tilt && e.first_at >= o.fault_at);
    Figures {
        phases_ms: phases
            .iter()
            .map(|(n, d)| (n.to_string(), d.map(ms)))
            .collect(),
        sentinel_rto_ms: phases.switch_master.map(ms),
        client_rto_ms: client_rto.map(since),
        unavailable_ms: unavailable(o.history, o.fault_at).map(|(_, d)| ms(d)),
        new_primary,
        switch_master_reports: switch.map(|e| (e.count(), ms(e.spread()))),
        rejoin_ms: o.rejoined_at.map(since),
        writes,
        lost,
        latency_us,
        sentinel_gaps: gaps,
        tilt,
        reverted_ms: o.reverted_at.map(since),
        leader: evidence::leader(o.timeline, o.master, o.fault_at),
        fault_since_epoch_ms: signed_ms(o.fault_at, epoch),
        two_primaries: primaries::figure(o.rounds, o.fault_at),
        timeline: evidence::timeline_rows(o.timeline, o.fault_at),
        workload: evidence::buckets(
            o.history,
            o.loss.map_or(&[][..], |l| &l.lost_at_us),
            o.fault_at,
        ),
        clients: Vec::new(),
        cluster: cluster::figures(
            o.timeline,
            o.master,
            o.old_primary,
            o.sentinels,
            o.down_after,
            o.rounds,
            o.end,
            o.fault_at,
        ),
    }
}

/// The longest gap between consecutive acknowledged writes (all writers merged), from the last
/// ack at or before the fault (or the fault itself) to the last ack of the trial: its start
/// and its length.
pub(super) fn unavailable(h: &History, fault_at: Instant) -> Option<(Instant, Duration)> {
    let fault_us = u32::try_from(fault_at.saturating_duration_since(h.epoch).as_micros()).ok()?;
    let mut times: Vec<u32> = h.acks().map(|(a, _)| a.at_us).collect();
    times.sort_unstable();
    let start = times.partition_point(|&t| t <= fault_us);
    let from = if start > 0 {
        times[start - 1]
    } else {
        fault_us
    };
    let after = &times[start..];
    let (mut prev, mut longest) = (from, (from, 0));
    for &t in after {
        if t - prev > longest.1 {
            longest = (prev, t - prev);
        }
        prev = t;
    }
    let at = |us: u32| h.epoch + Duration::from_micros(us as u64);
    (!after.is_empty()).then(|| (at(longest.0), Duration::from_micros(longest.1 as u64)))
}

#[cfg(test)]
mod tests;
