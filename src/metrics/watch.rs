//! What the watch loop reports besides its timeline on stdout, vector-style: each monitor
//! report and failover record becomes a structured log line (through `tracing`) and the
//! metrics it moves. The monitor itself logs its waits and retries.

use std::time::Duration;

use super::{Metrics, outcome_label};
use crate::addr::Addr;
use crate::sentinel::event::EventKind;
use crate::sentinel::monitor::MonitorEvent;
use crate::watch::episode::Failover;

impl Metrics {
    /// One monitor report from the watch of `master` over `sentinels`; `gap` is how long the
    /// Sentinel was out of reach when it is a reconnection.
    pub fn report(
        &self,
        master: &str,
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
                        %master, %sentinel, gap_ms = g.as_millis() as u64,
                        "subscribed again after a gap"
                    ),
                    None => tracing::info!(%master, %sentinel, "subscribed"),
                }
                self.set_sentinel_up(master, &sentinel, true);
            }
            MonitorEvent::Disconnected { source, .. } => {
                self.set_sentinel_up(master, &name(*source), false);
            }
            MonitorEvent::Primary {
                source,
                addr,
                config_epoch,
                ..
            } => tracing::info!(
                %master, sentinel = %name(*source), primary = %addr, config_epoch,
                "the Sentinel names the primary"
            ),
            MonitorEvent::Event { source, event, .. } => match event.kind {
                EventKind::Tilt => {
                    let sentinel = name(*source);
                    tracing::warn!(%master, %sentinel, "the Sentinel entered TILT mode");
                    self.set_tilt(master, &sentinel, true);
                }
                EventKind::TiltExited => {
                    let sentinel = name(*source);
                    tracing::info!(%master, %sentinel, "the Sentinel left TILT mode");
                    self.set_tilt(master, &sentinel, false);
                }
                _ => {}
            },
            MonitorEvent::Unanswered { .. } => {}
        }
    }

    /// A failover episode ended: logged (at warn: the primary may have moved) and counted.
    pub fn record(&self, f: &Failover) {
        let old = f.old.as_ref().map(ToString::to_string);
        let new = f.new.as_ref().map(ToString::to_string);
        tracing::warn!(
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
