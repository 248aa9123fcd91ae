//! A drill trial as a `Scene`: time 0 is the fault; the brackets are Sentinel RTO, client
//! RTO and the lost-write window; the verdict is judged against the targets.

use super::parts::{SAMPLED_LEGEND, Story, TRIAL_LEGEND, sampled_lanes};
use super::{Axis, Bracket, Fault, Scene, judged_text, node_lanes, num, verdict_colour};
use crate::drill::report::doc::Trial;
use crate::drill::report::{Document, Judged, verdict_name};

/// The picture of trial `t` of drill `d`.
pub(crate) fn trial_svg(d: &Document, t: &Trial) -> String {
    let times = [
        t.sentinel_rto_ms,
        t.client_rto_ms.value,
        t.reverted_ms,
        t.rejoin_ms,
        t.lost.newest_ms,
    ];
    let phases = t.phases.iter().map(|p| p.at_ms);
    // Drawn to the trial's last event: the last report of any Sentinel, every failover's
    // phases, when the cluster settled and the loss checks ran.
    let c = &t.cluster;
    let last_report = t
        .timeline
        .iter()
        .flat_map(|r| r.reports.iter().map(|a| Some(a.at_ms)));
    let failovers = c
        .failovers
        .iter()
        .flat_map(|f| f.phases.iter().map(|p| Some(p.at_ms)));
    let checks = c.loss_checks.iter().map(|l| Some(l.at_ms));
    let later = last_report
        .chain(failovers)
        .chain(checks)
        .chain([c.stable.at_ms]);
    let axis = Axis::fit(
        times.into_iter().chain(phases).chain(later),
        t.lost.oldest_ms,
    );
    let story = Story {
        old: t.old_primary.clone(),
        new: t.new_primary.clone(),
        switch_ms: t.sentinel_rto_ms,
        promoted_ms: t
            .phases
            .iter()
            .find(|p| p.phase == "+promoted-slave")
            .and_then(|p| p.at_ms),
        rejoin_ms: t.rejoin_ms,
        replicas: Vec::new(),
    };
    let mut sub = vec![format!("warden {}", d.warden)];
    if let Some(server) = &d.server {
        sub.push(server.clone());
    }
    if let Some(at) = t.fault_at {
        sub.push(format!(
            "fault at {} (time 0)",
            at.format("%Y-%m-%d %H:%M:%S%.3f UTC")
        ));
    }
    if let (Some(o), Some(n)) = (&t.old_primary, &t.new_primary) {
        sub.push(format!("primary {o} → {n}"));
    }
    let failover = match (t.failover.expected, t.failover.happened) {
        (true, true) => "a failover was expected and happened ✓".to_string(),
        (true, false) => "a failover was expected and did NOT happen ✗".to_string(),
        (false, false) => "no failover was expected and none happened ✓".to_string(),
        (false, true) => "no failover was expected but one happened ✗".to_string(),
    };
    let lost = judged_text("lost writes", &t.lost.count.clone_f64(), "");
    Scene {
        title: format!("{} — trial {}: {}", d.scenario, t.trial, t.fault),
        sub,
        zero: ("fault", "#cf222e"),
        axis,
        sentinels: super::sentinel_lanes(&d.sentinels, &t.timeline),
        leader: t.leader,
        timeline: &t.timeline,
        nodes: match c.node_roles.is_empty() {
            true => node_lanes(&story, &t.timeline, axis),
            false => sampled_lanes(&c.node_roles),
        },
        fault: t
            .old_primary
            .clone()
            .filter(|_| t.injected)
            .map(|node| Fault {
                node,
                what: t.fault.clone(),
                reverted_ms: t.reverted_ms,
            }),
        workload: Some(&t.workload).filter(|w| !w.acked.is_empty()),
        brackets: brackets(t),
        target_ms: t.client_rto_ms.target.map(|t| t as f64),
        marks: c
            .failovers
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let epoch = f.epoch.map_or(String::new(), |e| format!(" · epoch {e}"));
                (f.started_ms, format!("failover {}{epoch}", i + 1))
            })
            .collect(),
        verdict: (
            format!("verdict: {}", verdict_name(t.verdict)),
            verdict_colour(t.verdict),
        ),
        lines: vec![
            failover,
            judged_text("client RTO", &t.client_rto_ms, " ms"),
            format!(
                "{lost} · {}",
                judged_text("lost-write window", &t.lost.window_ms, " ms")
            ),
        ],
        reasons: t.reasons.clone(),
        legend: match c.node_roles.is_empty() {
            true => TRIAL_LEGEND,
            false => SAMPLED_LEGEND,
        },
    }
    .draw()
}

/// Sentinel RTO, client RTO and the lost-write window.
fn brackets(t: &Trial) -> Vec<Bracket> {
    let sentinel = t.sentinel_rto_ms.map(|b| (0.0, b));
    let client = t.client_rto_ms.value.map(|b| (0.0, b));
    let lost = t.lost.oldest_ms.zip(t.lost.newest_ms.map(|n| n.max(0.0)));
    vec![
        Bracket {
            span: sentinel,
            colour: "#009e73",
            text: match sentinel {
                Some((a, b)) => format!("Sentinel RTO {} ms", num(b - a)),
                None => "Sentinel RTO: not measured".into(),
            },
        },
        Bracket {
            span: client,
            colour: "#0072b2",
            text: match client {
                Some(_) => judged_text("client RTO", &t.client_rto_ms, " ms"),
                None => "client RTO: not measured".into(),
            },
        },
        Bracket {
            span: lost,
            colour: "#cf222e",
            text: match lost {
                Some(_) => judged_text("lost-write window", &t.lost.window_ms, " ms"),
                None if t.lost.count.value == Some(0) => {
                    "lost-write window: no acknowledged write was lost".into()
                }
                None => "lost-write window: not measured".into(),
            },
        },
    ]
}

impl Judged<u64> {
    fn clone_f64(&self) -> Judged<f64> {
        Judged {
            value: self.value.map(|v| v as f64),
            target: self.target,
            met: self.met,
        }
    }
}
