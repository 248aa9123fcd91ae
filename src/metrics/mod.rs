//! Prometheus metrics: the one registry of warden's counters, gauges and histograms, a typed
//! setter per metric on a cheap-to-clone [`Metrics`] handle, and the liveness and readiness
//! that `/healthz` and `/readyz` report ([`server`] serves them).
//!
//! Every per-master series carries the master's Sentinel `group` (two groups may both name a
//! master `mymaster`): a handle is scoped to one group by [`Metrics::group`].
//!
//! Labels are bounded: group, master, sentinel, replica and primary addresses, phase, outcome,
//! severity, kind — never a key. Counters are registered without `_total` (the encoder adds
//! it); durations are `_seconds`. Time enters as an argument ([`Metrics::heartbeat`],
//! [`Metrics::encode`]), so the handle is tested without a clock.

mod backup;
pub(crate) use backup::Newest;
mod labels;
pub(crate) mod server;
mod watch;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::addr::Addr;
use crate::failover::episode::{Failover, Outcome};
use crate::failover::hazard::HazardKind;
use labels::{
    MasterAddr, MasterKind, MasterL, MasterOutcome, MasterPhase, MasterReplica, MasterSentinel,
    SeverityL,
};

/// Upper bounds of the phase histogram's buckets, seconds: a phase of a failover lasts from
/// a tenth of a second (a manual failover's steps) to a minute (a slow reconfiguration).
pub(crate) const PHASE_BUCKETS: [f64; 11] =
    [0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0];

/// `/healthz` turns 503 when the watch loop has not turned for this long (it turns at least
/// once a second).
pub(crate) const STALL: Duration = Duration::from_secs(10);

/// A gauge holding a float.
type GaugeF = Gauge<f64, AtomicU64>;

fn phase_histogram() -> Histogram {
    Histogram::new(PHASE_BUCKETS)
}

/// The handle every part of warden feeds; clones share one registry. Each handle labels its
/// per-master series with one Sentinel group ([`DEFAULT_GROUP`] unless [`Metrics::group`]
/// scoped it).
#[derive(Clone)]
pub(crate) struct Metrics {
    inner: Arc<Inner>,
    group: Arc<str>,
}

/// The `group` label of a handle not scoped to a group (and of a watch without `--config`).
pub(crate) const DEFAULT_GROUP: &str = "default";

struct Inner {
    registry: Registry,
    failovers: Family<MasterOutcome, Counter>,
    phase_seconds: Family<MasterPhase, Histogram, fn() -> Histogram>,
    last_failover: Family<MasterL, GaugeF>,
    since_last_failover: Family<MasterL, GaugeF>,
    sentinels_reachable: Family<MasterL, Gauge>,
    sentinel_up: Family<MasterSentinel, Gauge>,
    quorum_ok: Family<MasterL, Gauge>,
    tilt: Family<MasterSentinel, Gauge>,
    primary_info: Family<MasterAddr, Gauge>,
    replica_lag: Family<MasterReplica, Gauge>,
    exposure_writes: Family<MasterL, Gauge>,
    exposure_seconds: Family<MasterL, GaugeF>,
    hazards: Family<MasterKind, Counter>,
    doctor_findings: Family<SeverityL, Gauge>,
    backup: backup::Gauges,
    state: Mutex<State>,
}

/// What the gauges alone cannot answer: who is up, which primary is current, when the loop
/// last turned.
#[derive(Default)]
struct State {
    /// (group, master, sentinel) → subscribed.
    up: BTreeMap<(String, String, String), bool>,
    /// The (group, master) pairs being watched.
    watched: BTreeSet<(String, String)>,
    /// (group, master) → current primary.
    primary: BTreeMap<(String, String), String>,
    /// (group, master) → the replicas with a `warden_replica_lag_bytes` series.
    replicas: BTreeMap<(String, String), BTreeSet<String>>,
    /// (group, master) → wall-clock end of its last failover.
    last_failover: BTreeMap<(String, String), SystemTime>,
    /// When the watch loop last turned; `None` before it started.
    heartbeat: Option<Instant>,
    /// The loop has ended (shutting down).
    stopped: bool,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `/readyz` says ready, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Readiness {
    /// At least one Sentinel is subscribed and the primary of every watched master is known.
    Ready,
    /// Not yet (or no longer); the reason is for a human.
    NotReady(&'static str),
}

impl Metrics {
    /// A fresh registry with every metric registered (families start empty).
    pub(crate) fn new() -> Self {
        let mut registry = Registry::default();
        let failovers = Family::<MasterOutcome, Counter>::default();
        let phase_seconds =
            Family::<MasterPhase, Histogram, fn() -> Histogram>::new_with_constructor(
                phase_histogram,
            );
        let last_failover = Family::<MasterL, GaugeF>::default();
        let since_last_failover = Family::<MasterL, GaugeF>::default();
        let sentinels_reachable = Family::<MasterL, Gauge>::default();
        let sentinel_up = Family::<MasterSentinel, Gauge>::default();
        let quorum_ok = Family::<MasterL, Gauge>::default();
        let tilt = Family::<MasterSentinel, Gauge>::default();
        let primary_info = Family::<MasterAddr, Gauge>::default();
        let replica_lag = Family::<MasterReplica, Gauge>::default();
        let exposure_writes = Family::<MasterL, Gauge>::default();
        let exposure_seconds = Family::<MasterL, GaugeF>::default();
        let hazards = Family::<MasterKind, Counter>::default();
        let doctor_findings = Family::<SeverityL, Gauge>::default();
        let r = &mut registry;
        r.register(
            "warden_failovers",
            "Failover episodes recorded, by how they ended",
            failovers.clone(),
        );
        r.register(
            "warden_failover_phase_seconds",
            "How long each phase of a recorded failover lasted (until the next phase)",
            phase_seconds.clone(),
        );
        r.register(
            "warden_last_failover_timestamp_seconds",
            "Unix time the last recorded failover ended",
            last_failover.clone(),
        );
        r.register(
            "warden_seconds_since_last_failover",
            "Seconds from the end of the last recorded failover to this scrape",
            since_last_failover.clone(),
        );
        r.register(
            "warden_sentinels_reachable",
            "Sentinels warden is subscribed to",
            sentinels_reachable.clone(),
        );
        r.register(
            "warden_sentinel_up",
            "1 while warden is subscribed to this Sentinel",
            sentinel_up.clone(),
        );
        r.register(
            "warden_quorum_ok",
            "1 while enough Sentinels agree to authorize a failover",
            quorum_ok.clone(),
        );
        r.register(
            "warden_tilt",
            "1 while this Sentinel is in TILT mode",
            tilt.clone(),
        );
        r.register(
            "warden_primary_info",
            "1 for the current primary of the master",
            primary_info.clone(),
        );
        r.register(
            "warden_replica_lag_bytes",
            "Replication offset of the primary minus the replica's",
            replica_lag.clone(),
        );
        r.register(
            "warden_exposure_writes",
            "Acknowledged writes a failover now could lose",
            exposure_writes.clone(),
        );
        r.register(
            "warden_exposure_seconds",
            "Seconds of acknowledged writes a failover now could lose",
            exposure_seconds.clone(),
        );
        r.register(
            "warden_hazards",
            "Hazards detected, by kind",
            hazards.clone(),
        );
        r.register(
            "warden_doctor_findings",
            "Findings of the last warden doctor run, by severity",
            doctor_findings.clone(),
        );
        let backup = backup::Gauges::register(r);
        Metrics {
            inner: Arc::new(Inner {
                registry,
                failovers,
                phase_seconds,
                last_failover,
                since_last_failover,
                sentinels_reachable,
                sentinel_up,
                quorum_ok,
                tilt,
                primary_info,
                replica_lag,
                exposure_writes,
                exposure_seconds,
                hazards,
                doctor_findings,
                backup,
                state: Mutex::new(State::default()),
            }),
            group: DEFAULT_GROUP.into(),
        }
    }

    /// A handle on the same registry whose per-master series carry `group`.
    pub(crate) fn group(&self, group: &str) -> Metrics {
        Metrics {
            inner: self.inner.clone(),
            group: group.into(),
        }
    }

    /// The `group` label of this handle.
    pub(crate) fn group_name(&self) -> &str {
        &self.group
    }

    fn master(&self, m: &str) -> MasterL {
        MasterL {
            group: self.group.to_string(),
            master: m.into(),
        }
    }

    /// The state maps' key of `m`.
    fn key(&self, m: &str) -> (String, String) {
        (self.group.to_string(), m.to_string())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind: still usable.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The watch starts following `sentinels` for `master`: each is down until subscribed,
    /// and not in TILT until it says so. Every outcome's and every hazard kind's counter starts
    /// at 0, so `increase()` (and an alert rule on it) sees the first failover and hazard too.
    pub(crate) fn watching(&self, master: &str, sentinels: &[Addr]) {
        self.state().watched.insert(self.key(master));
        for outcome in OUTCOMES {
            self.inner
                .failovers
                .get_or_create(&MasterOutcome {
                    group: self.group.to_string(),
                    master: master.into(),
                    outcome: outcome.into(),
                })
                .inc_by(0);
        }
        for kind in HazardKind::ALL {
            self.inner
                .hazards
                .get_or_create(&MasterKind {
                    group: self.group.to_string(),
                    master: master.into(),
                    kind: kind.as_str().into(),
                })
                .inc_by(0);
        }
        for s in sentinels {
            self.set_sentinel_up(master, &s.to_string(), false);
            self.set_tilt(master, &s.to_string(), false);
        }
    }

    /// A failover episode was recorded: counts it by outcome, observes its phases, and
    /// stamps its end as the last failover.
    pub(crate) fn failover(&self, f: &Failover) {
        let i = &self.inner;
        i.failovers
            .get_or_create(&MasterOutcome {
                group: self.group.to_string(),
                master: f.master.clone(),
                outcome: outcome_label(&f.outcome).into(),
            })
            .inc();
        for (phase, from, to) in f.intervals() {
            i.phase_seconds
                .get_or_create(&MasterPhase {
                    group: self.group.to_string(),
                    master: f.master.clone(),
                    phase: phase.into(),
                })
                .observe((to - from) / 1000.0);
        }
        let end = f.started + Duration::from_secs_f64(f.duration_ms.max(0.0) / 1000.0);
        i.last_failover
            .get_or_create(&self.master(&f.master))
            .set(unix_seconds(end));
        self.state().last_failover.insert(self.key(&f.master), end);
        if let Some(new) = &f.new {
            self.set_primary(&f.master, &new.to_string());
        }
    }

    /// Whether warden is subscribed to `sentinel`; `warden_sentinels_reachable` follows.
    pub(crate) fn set_sentinel_up(&self, master: &str, sentinel: &str, up: bool) {
        let i = &self.inner;
        i.sentinel_up
            .get_or_create(&MasterSentinel {
                group: self.group.to_string(),
                master: master.into(),
                sentinel: sentinel.into(),
            })
            .set(up.into());
        let mut st = self.state();
        let (group, master) = self.key(master);
        st.up
            .insert((group.clone(), master.clone(), sentinel.into()), up);
        let reachable = st
            .up
            .iter()
            .filter(|((g, m, _), u)| *g == group && *m == master && **u)
            .count();
        i.sentinels_reachable
            .get_or_create(&MasterL { group, master })
            .set(reachable as i64);
    }

    /// Whether `sentinel` is in TILT mode.
    pub(crate) fn set_tilt(&self, master: &str, sentinel: &str, tilt: bool) {
        self.inner
            .tilt
            .get_or_create(&MasterSentinel {
                group: self.group.to_string(),
                master: master.into(),
                sentinel: sentinel.into(),
            })
            .set(tilt.into());
    }

    /// `addr` is the current primary of `master`; the previous primary's series is removed.
    pub(crate) fn set_primary(&self, master: &str, addr: &str) {
        let mut st = self.state();
        if st.primary.get(&self.key(master)).is_some_and(|a| a == addr) {
            return;
        }
        if let Some(old) = st.primary.insert(self.key(master), addr.into()) {
            self.inner.primary_info.remove(&MasterAddr {
                group: self.group.to_string(),
                master: master.into(),
                addr: old,
            });
        }
        self.inner
            .primary_info
            .get_or_create(&MasterAddr {
                group: self.group.to_string(),
                master: master.into(),
                addr: addr.into(),
            })
            .set(1);
    }

    /// Whether enough Sentinels are reachable and agree to authorize a failover (`CKQUORUM`).
    pub(crate) fn set_quorum_ok(&self, master: &str, ok: bool) {
        self.inner
            .quorum_ok
            .get_or_create(&self.master(master))
            .set(ok.into());
    }

    /// A replica's lag behind the primary, bytes of replication offset.
    pub(crate) fn set_replica_lag_bytes(&self, master: &str, replica: &str, bytes: i64) {
        self.inner
            .replica_lag
            .get_or_create(&MasterReplica {
                group: self.group.to_string(),
                master: master.into(),
                replica: replica.into(),
            })
            .set(bytes);
    }

    /// A replica is gone from the topology: its lag series is removed.
    pub(crate) fn remove_replica(&self, master: &str, replica: &str) {
        self.inner.replica_lag.remove(&MasterReplica {
            group: self.group.to_string(),
            master: master.into(),
            replica: replica.into(),
        });
    }

    /// How much a failover now could lose: acknowledged writes and their span in seconds.
    pub(crate) fn set_exposure(&self, master: &str, writes: i64, seconds: f64) {
        let i = &self.inner;
        i.exposure_writes
            .get_or_create(&self.master(master))
            .set(writes);
        i.exposure_seconds
            .get_or_create(&self.master(master))
            .set(seconds);
    }

    /// A hazard of `kind` (a fixed word, e.g. `quorum-lost`) was detected.
    pub(crate) fn hazard(&self, master: &str, kind: &str) {
        self.inner
            .hazards
            .get_or_create(&MasterKind {
                group: self.group.to_string(),
                master: master.into(),
                kind: kind.into(),
            })
            .inc();
    }

    /// The last `warden doctor` run found `count` findings of `severity`.
    pub(crate) fn set_doctor_findings(&self, severity: &str, count: i64) {
        self.inner
            .doctor_findings
            .get_or_create(&SeverityL {
                severity: severity.into(),
            })
            .set(count);
    }

    /// The watch loop turned at `now`.
    pub(crate) fn heartbeat(&self, now: Instant) {
        self.state().heartbeat = Some(now);
    }

    /// The watch loop has ended: `/healthz` and `/readyz` say so from now on.
    pub(crate) fn stopped(&self) {
        self.state().stopped = true;
    }

    /// `/healthz`: the loop runs and turned within [`STALL`] of `now`.
    pub(crate) fn healthy(&self, now: Instant) -> bool {
        let st = self.state();
        !st.stopped
            && st
                .heartbeat
                .is_some_and(|h| now.saturating_duration_since(h) < STALL)
    }

    /// `/readyz`: some Sentinel is subscribed and every watched master's primary is known.
    pub(crate) fn readiness(&self) -> Readiness {
        let st = self.state();
        if st.stopped {
            return Readiness::NotReady("shutting down");
        }
        if !st.up.values().any(|u| *u) {
            return Readiness::NotReady("no Sentinel subscribed");
        }
        if st.watched.iter().any(|m| !st.primary.contains_key(m)) {
            return Readiness::NotReady("the primary is not known yet");
        }
        Readiness::Ready
    }

    /// The Prometheus text exposition (format 0.0.4) as of `now`.
    pub(crate) fn encode(&self, now: SystemTime) -> String {
        for ((group, master), end) in &self.state().last_failover {
            let since = now.duration_since(*end).unwrap_or_default();
            self.inner
                .since_last_failover
                .get_or_create(&MasterL {
                    group: group.clone(),
                    master: master.clone(),
                })
                .set(since.as_secs_f64());
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ =
            prometheus_client::encoding::prometheus_text::encode(&mut text, &self.inner.registry);
        text
    }
}

/// Every value of the `outcome` label.
pub(crate) const OUTCOMES: [&str; 7] = [
    "failed_over",
    "timed_out",
    "aborted",
    "recovered",
    "abandoned",
    "switched",
    "unfinished",
];

/// The `outcome` label: one fixed word per [`Outcome`] variant.
pub(crate) fn outcome_label(o: &Outcome) -> &'static str {
    match o {
        Outcome::FailedOver => "failed_over",
        Outcome::TimedOut => "timed_out",
        Outcome::Aborted(_) => "aborted",
        Outcome::Recovered => "recovered",
        Outcome::Abandoned(_) => "abandoned",
        Outcome::Switched => "switched",
        Outcome::Unfinished => "unfinished",
    }
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

#[cfg(test)]
mod tests;
