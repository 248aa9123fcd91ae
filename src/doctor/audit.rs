//! The doctor inside `watch`: the same audit, every few minutes, over every master of every
//! Sentinel group, with the findings counted by severity into the metrics.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::addr::Addr;
use crate::conn::Conn;
use crate::metrics::Metrics;
use crate::sentinel::monitor;

use super::checks::Targets;
use super::report::Severity;
use super::{Spec, run};

/// How long after `watch` starts the first audit runs.
const FIRST: Duration = Duration::from_secs(30);

/// One Sentinel group to audit: its Sentinels, its masters (empty: all they monitor), how to
/// connect to them, and the RTO targets its masters are held to.
pub(crate) struct Audited {
    /// The group's Sentinels.
    pub sentinels: Vec<Addr>,
    /// The masters; empty: every master the first answering Sentinel monitors.
    pub masters: Vec<String>,
    /// The group's connection settings.
    pub conn: Conn,
    /// RTO target of masters without their own (`--rto-ms`, the group's `rto_ms`).
    pub rto: Option<Duration>,
    /// Per-master RTO targets.
    pub rto_by_master: BTreeMap<String, Duration>,
}

impl Audited {
    /// What `master` is held to: its own RTO target, else the group's.
    fn targets(&self, master: &str) -> Targets {
        let rto = self.rto_by_master.get(master).copied().or(self.rto);
        Targets {
            rto_ms: rto.map(|d| d.as_millis() as u64),
            ..Targets::default()
        }
    }
}

/// Audits every group's masters now and then every `every`, forever (drop the task to stop
/// it), setting `warden_doctor_findings{severity}` to the counts over all masters. A master
/// that cannot be audited is logged and counted nowhere.
pub(crate) async fn every(groups: Vec<Audited>, every: Duration, metrics: Metrics) {
    // Not at once: `watch` settles its start first (it exits on rejected credentials).
    tokio::time::sleep(FIRST.min(every)).await;
    loop {
        let mut counts = [0i64; 3];
        for g in &groups {
            for master in masters(g).await {
                let spec = Spec {
                    sentinels: g.sentinels.clone(),
                    conn: g.conn.clone(),
                    targets: g.targets(&master),
                    master: master.clone(),
                    sample: Duration::from_secs(1),
                };
                match run(&spec).await {
                    Ok(report) => {
                        counts[0] += report.summary.error as i64;
                        counts[1] += report.summary.warn as i64;
                        counts[2] += report.summary.info as i64;
                    }
                    Err(e) => tracing::warn!(master = %master, "doctor: {e}"),
                }
            }
        }
        for (severity, n) in [Severity::Error, Severity::Warn, Severity::Info]
            .iter()
            .zip(counts)
        {
            metrics.set_doctor_findings(severity.as_str(), n);
        }
        tracing::info!(
            error = counts[0],
            warn = counts[1],
            info = counts[2],
            "doctor: audited the HA configuration"
        );
        tokio::time::sleep(every).await;
    }
}

/// The group's masters, or every master its first answering Sentinel monitors.
async fn masters(g: &Audited) -> Vec<String> {
    if !g.masters.is_empty() {
        return g.masters.clone();
    }
    for s in &g.sentinels {
        if let Ok(all) = monitor::monitored(&g.conn, s).await {
            return all;
        }
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_master_is_held_to_its_own_target_else_the_groups() {
        let g = Audited {
            sentinels: Vec::new(),
            masters: Vec::new(),
            conn: Conn::default(),
            rto: Some(Duration::from_millis(5000)),
            rto_by_master: [("orders".to_string(), Duration::from_millis(2000))].into(),
        };
        assert_eq!(g.targets("orders").rto_ms, Some(2000));
        assert_eq!(g.targets("other").rto_ms, Some(5000));
        let none = Audited { rto: None, ..g };
        assert_eq!(none.targets("other").rto_ms, None);
        assert_eq!(none.targets("other").min_backlog_secs, 60);
    }
}
