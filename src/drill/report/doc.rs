//! Pure: the drill report as a versioned document (`"schema": 1`, described by
//! `docs/report.schema.json`) — what `drill --json` writes and `warden report` reads.
//!
//! Named objects throughout; one time origin per trial: every `*_ms` of a trial counts from
//! its fault, whose UTC time is `fault_at` (each phase and timeline row also carries its own
//! UTC time, the fault's plus its offset). Each judged figure carries its target
//! (`{"value": 2190.0, "target": 5000, "met": true}`).

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::{DrillReport, Spread, Stability, TrialReport};
use crate::drill::checker::{Latency, Verdict, Writes};
use crate::drill::clients::ClientRow;
use crate::drill::cluster::ClusterFigures;
use crate::drill::evidence::{Buckets, TimelineRow};
use crate::drill::primaries::TwoPrimaries;
use crate::drill::scenario::Targets;
pub(crate) use crate::failover::SwitchReports;
use crate::sentinel::timeline::Phases;

/// The schema version this warden writes. It reads this one and schema 1, which lacks the
/// cluster's figures (`failovers`, `stable`, `loss_checks`, `split_brain`, `returning`,
/// `node_roles`: read as empty).
pub(crate) const SCHEMA: u64 = 2;

/// A whole drill.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// The schema version ([`SCHEMA`]).
    pub schema: u64,
    /// The version of warden that ran the drill.
    pub warden: String,
    /// The server family and version, e.g. `Redis 7.0.15`, when known.
    pub server: Option<String>,
    /// Scenario name.
    pub scenario: String,
    /// What the drill ran against.
    pub target: String,
    /// When the drill started (UTC).
    pub started: Option<DateTime<Utc>>,
    /// Sentinel `down-after-milliseconds`, when warden knows it (its own lab).
    pub down_after_ms: Option<u64>,
    /// The Sentinels followed; a timeline report's `sentinel` indexes this list.
    pub sentinels: Vec<String>,
    /// What the trials were judged against.
    pub targets: Targets,
    /// The signal that cut the drill short (`SIGTERM`), when one did: a partial report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<String>,
    /// How a `--until-stable` run ended, when it was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_stable: Option<Stability>,
    /// The trials.
    pub trials: Vec<Trial>,
    /// Figures over all trials.
    pub summary: Vec<SummaryRow>,
    /// The drill's verdict (the worst trial's).
    pub verdict: Verdict,
}

/// A figure judged against a target (`target`, `met`: `null` when none was set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judged<T> {
    /// The measured value (`null`: not measured).
    pub value: Option<T>,
    /// The target (an upper bound).
    pub target: Option<u64>,
    /// Whether the value meets the target.
    pub met: Option<bool>,
}

/// Whether a failover happened, and whether one was expected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailoverCheck {
    /// The scenario expects a failover (`false`: none may happen).
    pub expected: bool,
    /// A `+switch-master` was seen after the fault.
    pub happened: bool,
    /// The two agree.
    pub met: bool,
}

/// One failover phase: the first report of its channel after the fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// The channel, e.g. `+odown`.
    pub phase: String,
    /// ms from the fault (`null`: not seen).
    pub at_ms: Option<f64>,
    /// Its UTC time: the fault's plus `at_ms` (`null`: not seen).
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// Lost acknowledged writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LostWrites {
    /// Acknowledged writes the loss check looked up (`null`: it did not run).
    pub checked: Option<u64>,
    /// How many were lost, against `rpo_keys`.
    pub count: Judged<u64>,
    /// From the oldest lost ack to the later of the fault and the newest, against `rpo_ms`.
    pub window_ms: Judged<f64>,
    /// The oldest lost ack, ms from the fault.
    pub oldest_ms: Option<f64>,
    /// The newest lost ack, ms from the fault.
    pub newest_ms: Option<f64>,
    /// The first lost keys.
    pub sample: Vec<LostKey>,
}

/// One lost key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LostKey {
    /// The key.
    pub key: String,
    /// When it was acknowledged, ms from the fault.
    pub at_ms: f64,
    /// The node that acknowledged it.
    pub node: String,
}

/// A Sentinel out of reach during the trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentinelGap {
    /// Index in `sentinels`.
    pub sentinel: usize,
    /// How long, ms (`null`: still out at the end).
    pub out_ms: Option<f64>,
    /// Why its session ended.
    pub reason: String,
}

/// One trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// 1-based trial number.
    pub trial: u32,
    /// What was done.
    pub fault: String,
    /// Whether the fault was injected (false when the pre-flight failed).
    pub injected: bool,
    /// A trial of one of the scenario's `versus` faults: reported for comparison, judged
    /// only on whether a failover happened (absent: `false`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub versus: bool,
    /// The fault's UTC time: the origin of every `*_ms` of this trial.
    pub fault_at: Option<DateTime<Utc>>,
    /// The primary the fault hit.
    pub old_primary: Option<String>,
    /// The new primary, from `+switch-master`.
    pub new_primary: Option<String>,
    /// Whether a failover happened as expected.
    pub failover: FailoverCheck,
    /// Each failover phase's first report.
    pub phases: Vec<Phase>,
    /// Fault → first `+switch-master` from any Sentinel.
    pub sentinel_rto_ms: Option<f64>,
    /// Fault → first write acknowledged by a new primary, against `rto_ms`.
    pub client_rto_ms: Judged<f64>,
    /// Longest stretch after the fault with no acknowledged write.
    pub unavailable_ms: Option<f64>,
    /// Who announced `+switch-master`.
    pub switch_master: Option<SwitchReports>,
    /// Fault → its revert.
    pub reverted_ms: Option<f64>,
    /// Fault → the old primary back as a linked replica.
    pub rejoin_ms: Option<f64>,
    /// Write outcomes.
    pub writes: Writes,
    /// Lost acknowledged writes.
    pub lost: LostWrites,
    /// Latency of acknowledged writes, µs.
    pub latency_us: Latency,
    /// Sentinels out of reach during the trial.
    pub sentinel_gaps: Vec<SentinelGap>,
    /// A Sentinel entered TILT during the trial.
    pub tilt: bool,
    /// Stretches in which two nodes answered `ROLE` master at once (sampled every 200 ms
    /// from the pre-flight to the end of the trial; absent when not sampled).
    #[serde(default, skip_serializing_if = "TwoPrimaries::unsampled")]
    pub two_primaries: TwoPrimaries,
    /// The Sentinel that led the failover (index in `sentinels`).
    pub leader: Option<usize>,
    /// The merged Sentinel timeline.
    pub timeline: Vec<TimelineRow>,
    /// The writes per time bucket.
    pub workload: Buckets,
    /// Each workload side by side (absent from reports written before workloads could run
    /// side by side).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<ClientDoc>,
    /// What the cluster did: every failover, when it settled, the loss checks, split brain,
    /// the returning old primary, each node's `ROLE` answers (schema 2).
    #[serde(flatten, default)]
    pub cluster: ClusterFigures,
    /// The trial's verdict.
    pub verdict: Verdict,
    /// Why the verdict is not `met`, or what went wrong.
    pub reasons: Vec<String>,
}

/// One workload's figures in a trial, every `*_ms` from the fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientDoc {
    /// The workload's name.
    pub name: String,
    /// An external program (`command`), not the built-in writer.
    pub external: bool,
    /// Fault → its first write acknowledged by a new primary, against `rto_ms`.
    pub client_rto_ms: Judged<f64>,
    /// Its longest stretch after the fault with no acknowledged write.
    pub unavailable_ms: Option<f64>,
    /// When that stretch began.
    pub unavailable_from_ms: Option<f64>,
    /// Acknowledged writes.
    pub acked: u64,
    /// Refused writes.
    pub failed: u64,
    /// Writes with no reply.
    pub unknown: u64,
    /// Acknowledged writes lost, against `rpo_keys` (`null`: no loss check).
    pub lost: Judged<u64>,
    /// The oldest lost ack.
    pub lost_oldest_ms: Option<f64>,
    /// The newest lost ack.
    pub lost_newest_ms: Option<f64>,
    /// From the oldest lost ack to the later of the fault and the newest, against `rpo_ms`.
    pub lost_window_ms: Judged<f64>,
    /// Its verdict.
    pub verdict: Verdict,
}

/// One figure over all trials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    /// A phase's channel (`+odown`), `sentinel_rto_ms`, `client_rto_ms`, `unavailable_ms`
    /// or `lost_count`.
    pub figure: String,
    /// Its target, when it has one.
    pub target: Option<u64>,
    /// The spread over the trials that measured it.
    #[serde(flatten)]
    pub spread: Spread,
}

/// Judges `value` against `target`; `absent` is the verdict on a value not measured.
fn judge<T: Copy + PartialOrd>(
    value: Option<T>,
    target: Option<u64>,
    absent: bool,
    of: fn(u64) -> T,
) -> Judged<T> {
    let met = target.map(|t| value.map_or(absent, |v| v <= of(t)));
    Judged { value, target, met }
}

fn ms(t: u64) -> f64 {
    t as f64
}

fn count(t: u64) -> u64 {
    t
}

impl Document {
    /// The document of `r`.
    pub fn of(r: &DrillReport) -> Document {
        Document {
            schema: SCHEMA,
            warden: r.warden.clone(),
            server: r.server.clone(),
            scenario: r.scenario.clone(),
            target: r.target.clone(),
            started: r.started.map(DateTime::<Utc>::from),
            down_after_ms: r.down_after_ms,
            sentinels: r.sentinels.clone(),
            targets: r.targets.clone(),
            cancelled: r.cancelled.clone(),
            until_stable: r.until_stable.clone(),
            trials: r
                .trials
                .iter()
                .map(|t| match t.versus {
                    true => trial(t, &r.targets.failover_only()),
                    false => trial(t, &r.targets),
                })
                .collect(),
            summary: r
                .summary
                .iter()
                .map(|(figure, spread)| SummaryRow {
                    target: match figure.as_str() {
                        "client_rto_ms" => r.targets.rto_ms,
                        "lost_count" => r.targets.rpo_keys,
                        _ => None,
                    },
                    figure: figure.clone(),
                    spread: spread.clone(),
                })
                .collect(),
            verdict: r.verdict,
        }
    }

    /// Reads a report: JSON of [`SCHEMA`]; any other schema is refused with a sentence.
    pub fn parse(text: &str) -> Result<Document, String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        match v.get("schema").map(|s| s.as_u64()) {
            None => Err(
                "not a warden drill report of schema 1: it has no \"schema\" field \
                 (reports written before schema 1 cannot be read; run the drill again)"
                    .into(),
            ),
            Some(Some(1 | SCHEMA)) => serde_json::from_value(v)
                .map_err(|e| format!("a schema {SCHEMA} report with a bad field: {e}")),
            Some(Some(n)) => Err(format!(
                "unknown report schema {n}: this warden ({}) reads schemas 1 and {SCHEMA}",
                env!("CARGO_PKG_VERSION")
            )),
            Some(None) => Err(format!("\"schema\" is not a number: {}", v["schema"])),
        }
    }

    /// The document as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serializes")
    }
}

fn trial(t: &TrialReport, targets: &Targets) -> Trial {
    let f = &t.figures;
    let happened = f.sentinel_rto_ms.is_some();
    let loss_ran = f.lost.checked.is_some();
    let fault_at = t.fault_wall.map(DateTime::<Utc>::from);
    let utc =
        |ms: Option<f64>| Some(fault_at? + TimeDelta::microseconds((ms? * 1e3).round() as i64));
    Trial {
        trial: t.trial,
        fault: t.fault.clone(),
        injected: t.injected,
        versus: t.versus,
        fault_at,
        old_primary: t.old_primary.clone(),
        new_primary: f.new_primary.as_ref().map(|a| a.to_string()),
        failover: FailoverCheck {
            expected: targets.expect_failover,
            happened,
            met: !t.injected || happened == targets.expect_failover,
        },
        phases: f
            .phases_ms
            .iter()
            .map(|(name, at_ms)| Phase {
                phase: Phases::channel(name),
                at_ms: *at_ms,
                at: utc(*at_ms),
            })
            .collect(),
        sentinel_rto_ms: f.sentinel_rto_ms,
        client_rto_ms: match t.injected {
            true => judge(
                f.client_rto_ms,
                targets.rto_ms,
                !targets.expect_failover,
                ms,
            ),
            false => judge(None, targets.rto_ms, false, ms).unjudged(),
        },
        unavailable_ms: f.unavailable_ms,
        switch_master: f
            .switch_master_reports
            .map(|(sentinels, spread_ms)| SwitchReports {
                sentinels,
                spread_ms,
            }),
        reverted_ms: f.reverted_ms,
        rejoin_ms: f.rejoin_ms,
        writes: f.writes.clone(),
        lost: LostWrites {
            checked: f.lost.checked,
            count: match loss_ran {
                true => judge(Some(f.lost.count), targets.rpo_keys, true, count),
                false => judge(None, targets.rpo_keys, false, count).unjudged(),
            },
            window_ms: match loss_ran {
                true => judge(f.lost.window_ms, targets.rpo_ms, true, ms),
                false => judge(None, targets.rpo_ms, false, ms).unjudged(),
            },
            oldest_ms: f.lost.oldest_ms,
            newest_ms: f.lost.newest_ms,
            sample: f
                .lost
                .sample
                .iter()
                .map(|l| LostKey {
                    key: l.key.clone(),
                    at_ms: ((l.at_us as f64 / 1e3 - f.fault_since_epoch_ms) * 1e3).round() / 1e3,
                    node: l.node.to_string(),
                })
                .collect(),
        },
        latency_us: f.latency_us.clone(),
        sentinel_gaps: f
            .sentinel_gaps
            .iter()
            .map(|(sentinel, out_ms, reason)| SentinelGap {
                sentinel: *sentinel,
                out_ms: *out_ms,
                reason: reason.clone(),
            })
            .collect(),
        tilt: f.tilt,
        two_primaries: f.two_primaries.clone(),
        leader: f.leader,
        timeline: f
            .timeline
            .iter()
            .map(|row| TimelineRow {
                first_at: utc(Some(row.first_ms)),
                ..row.clone()
            })
            .collect(),
        workload: f.workload.clone(),
        clients: f.clients.iter().map(|c| client(c, targets)).collect(),
        cluster: f.cluster.clone(),
        verdict: t.verdict,
        reasons: t.reasons.clone(),
    }
}

fn client(c: &ClientRow, targets: &Targets) -> ClientDoc {
    let loss_ran = c.lost.is_some();
    let judged = |j: Judged<f64>| if loss_ran { j } else { j.unjudged() };
    ClientDoc {
        name: c.name.clone(),
        external: c.external,
        client_rto_ms: judge(
            c.client_rto_ms,
            targets.rto_ms,
            !targets.expect_failover,
            ms,
        ),
        unavailable_ms: c.unavailable_ms,
        unavailable_from_ms: c.unavailable_from_ms,
        acked: c.acked,
        failed: c.failed,
        unknown: c.unknown,
        lost: match c.lost {
            Some(n) => judge(Some(n), targets.rpo_keys, true, count),
            None => judge(None, targets.rpo_keys, false, count).unjudged(),
        },
        lost_oldest_ms: c.lost_oldest_ms,
        lost_newest_ms: c.lost_newest_ms,
        lost_window_ms: judged(judge(c.lost_window_ms, targets.rpo_ms, true, ms)),
        verdict: c.verdict,
    }
}

impl<T> Judged<T> {
    /// Not measured, so not judged.
    fn unjudged(self) -> Judged<T> {
        Judged { met: None, ..self }
    }
}
