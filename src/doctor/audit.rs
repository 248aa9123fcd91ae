//! The doctor inside `watch`: the same audit, every few minutes, over every master of every
//! Sentinel group, with the findings counted by severity into the metrics.

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

/// One Sentinel group to audit: its Sentinels and its masters (empty: all they monitor).
pub struct Audited {
    /// The group's Sentinels.
    pub sentinels: Vec<Addr>,
    /// The masters; empty: every master the first answering Sentinel monitors.
    pub masters: Vec<String>,
}

/// Audits every group's masters now and then every `every`, forever (drop the task to stop
/// it), setting `warden_doctor_findings{severity}` to the counts over all masters. A master
/// that cannot be audited is logged and counted nowhere.
pub async fn every(groups: Vec<Audited>, conn: Conn, every: Duration, metrics: Metrics) {
    // Not at once: `watch` settles its start first (it exits on rejected credentials).
    tokio::time::sleep(FIRST.min(every)).await;
    loop {
        let mut counts = [0i64; 3];
        for g in &groups {
            for master in masters(&conn, g).await {
                let spec = Spec {
                    sentinels: g.sentinels.clone(),
                    conn: conn.clone(),
                    master: master.clone(),
                    targets: Targets::default(),
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
async fn masters(conn: &Conn, g: &Audited) -> Vec<String> {
    if !g.masters.is_empty() {
        return g.masters.clone();
    }
    for s in &g.sentinels {
        if let Ok(all) = monitor::monitored(conn, s).await {
            return all;
        }
    }
    Vec::new()
}
