//! What the watch loop reports besides its timeline on stdout, vector-style: each monitor
//! report, topology poll and failover record becomes a structured log line (through
//! `tracing`) and the metrics it moves. The monitor itself logs its waits and retries; the
//! hazards are logged and counted on the watch shell's one path, `Shell::hazard`.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{Metrics, outcome_label};
use crate::addr::Addr;
use crate::failover::episode::Failover;
use crate::failover::hazard::{self, Snapshot};
use crate::sentinel::event::EventKind;
use crate::sentinel::monitor::MonitorEvent;

impl Metrics {
    /// One monitor report from a Sentinel of `sentinels` (indexed by the report's source)
    /// whose group follows `masters`; `gap` is how long the Sentinel was out of reach when it
    /// is a reconnection. Logged once; the gauges move for each master (a `Primary` answer
    /// only concerns the master it names).
    pub(crate) fn report(
        &self,
        masters: &[String],
        sentinels: &[Addr],
        report: &MonitorEvent,
        gap: Option<Duration>,
    ) {
        let name = |source: usize| sentinels[source].to_string();
        match report {
            MonitorEvent::Connected { source, .. } => {
                let sentinel = name(*source);
                match gap {
                    Some(g) => tracing::info!(
                        %sentinel, gap_ms = g.as_millis() as u64,
                        "subscribed again after a gap"
                    ),
                    None => tracing::info!(%sentinel, "subscribed"),
                }
                for m in masters {
                    self.set_sentinel_up(m, &sentinel, true);
                }
            }
            MonitorEvent::Disconnected { source, .. } => {
                for m in masters {
                    self.set_sentinel_up(m, &name(*source), false);
                }
            }
            MonitorEvent::Primary {
                source,
                master,
                addr,
                config_epoch,
                ..
            } => tracing::info!(
                %master, sentinel = %name(*source), primary = %addr, config_epoch,
                "the Sentinel names the primary"
            ),
            MonitorEvent::Event { source, event, .. } => {
                let tilt = match event.kind {
                    EventKind::Tilt => true,
                    EventKind::TiltExited => false,
                    _ => return,
                };
                let sentinel = name(*source);
                if tilt {
                    tracing::warn!(%sentinel, "the Sentinel entered TILT mode");
                } else {
                    tracing::info!(%sentinel, "the Sentinel left TILT mode");
                }
                for m in masters {
                    self.set_tilt(m, &sentinel, tilt);
                }
            }
            MonitorEvent::Unanswered { .. } => {}
        }
    }

    /// One topology poll of `master` (`bytes_per_sec`: the primary's stream rate since the
    /// previous poll): the quorum, each replica's lag (a replica the primary no longer lists
    /// loses its series) and the exposure, as the hazard detectors see them.
    pub(crate) fn polled(&self, master: &str, s: &Snapshot, bytes_per_sec: Option<f64>) {
        let g = hazard::gauges(s, bytes_per_sec);
        self.set_quorum_ok(master, g.quorum_ok);
        if let Some(lags) = g.replica_lag {
            let now: BTreeSet<String> = lags.iter().map(|(a, _)| a.to_string()).collect();
            let before = self
                .state()
                .replicas
                .insert(self.key(master), now.clone())
                .unwrap_or_default();
            for gone in before.difference(&now) {
                self.remove_replica(master, gone);
            }
            for (replica, bytes) in lags {
                let bytes = i64::try_from(bytes).unwrap_or(i64::MAX);
                self.set_replica_lag_bytes(master, &replica.to_string(), bytes);
            }
        }
        if let Some(e) = g.exposure {
            self.set_exposure(master, e.writes.round() as i64, e.secs);
        }
    }

    /// A failover episode ended: logged (at warn: the primary may have moved) and counted.
    pub(crate) fn record(&self, f: &Failover) {
        let old = f.old.as_ref().map(ToString::to_string);
        let new = f.new.as_ref().map(ToString::to_string);
        tracing::warn!(
            group = %self.group_name(),
            master = %f.master,
            outcome = outcome_label(&f.outcome),
            old = old.as_deref(),
            new = new.as_deref(),
            duration_ms = f.duration_ms,
            observed = ?f.observed,
            "failover recorded: {}",
            f.outcome
        );
        self.failover(f);
    }
}
