//! The parts of a picture below the Sentinel lanes: the data nodes' roles, the workload bars
//! and the legend.

use super::{Axis, Svg, WORKLOAD, X0, X1, num};
use crate::drill::evidence::{Buckets, TimelineRow};
use crate::drill::split::NodeLane;
use crate::render::svg::Attr;

/// A data node's role during a stretch of time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Role {
    Primary,
    Replica,
    /// Replaced by the Sentinels but not (yet) seen as a replica.
    Demoted,
    /// Did not answer `ROLE`.
    Silent,
}

fn first(rows: &[TimelineRow], channel: &str, address: &str) -> Option<f64> {
    rows.iter()
        .filter(|r| r.channel == channel && r.address.as_deref() == Some(address))
        .map(|r| r.first_ms)
        .find(|ms| *ms >= 0.0)
}

/// A stretch of a node's lane: from, to (ms from the fault), its role.
pub(super) type Segment = (f64, f64, Role);

/// What is known of the data nodes during a failover (times in ms from time 0).
pub(super) struct Story {
    /// The primary before.
    pub old: Option<String>,
    /// The primary after.
    pub new: Option<String>,
    /// The first `+switch-master`.
    pub switch_ms: Option<f64>,
    /// The first `+promoted-slave`.
    pub promoted_ms: Option<f64>,
    /// The old primary back as a replica, when known otherwise than by `+convert-to-slave`.
    pub rejoin_ms: Option<f64>,
    /// Replicas known otherwise than by the timeline (a poll of the nodes).
    pub replicas: Vec<String>,
}

/// Each data node with its roles over the axis: the old primary, the new one, then every
/// other replica (named by the timeline or the story).
pub(super) fn node_lanes(
    story: &Story,
    timeline: &[TimelineRow],
    axis: Axis,
) -> Vec<(String, Vec<Segment>)> {
    let (from, to) = (axis.from, axis.to);
    let switch = story.switch_ms;
    let mut lanes = Vec::new();
    if let Some(old) = &story.old {
        let mut segs = Vec::new();
        match switch {
            Some(s) => {
                segs.push((from, s, Role::Primary));
                let back = first(timeline, "+convert-to-slave", old)
                    .or(story.rejoin_ms)
                    .map(|b| b.max(s));
                match back {
                    Some(b) => {
                        segs.push((s, b, Role::Demoted));
                        segs.push((b, to, Role::Replica));
                    }
                    None => segs.push((s, to, Role::Demoted)),
                }
            }
            None => segs.push((from, to, Role::Primary)),
        }
        lanes.push((old.clone(), segs));
    }
    if let Some(new) = &story.new {
        let promoted = story.promoted_ms.or(switch).unwrap_or(to);
        lanes.push((
            new.clone(),
            vec![
                (from, promoted, Role::Replica),
                (promoted, to, Role::Primary),
            ],
        ));
    }
    let mut others: Vec<String> = timeline
        .iter()
        .filter(|r| r.instance.as_deref() == Some("slave"))
        .filter_map(|r| r.address.clone())
        .chain(story.replicas.iter().cloned())
        .filter(|a| Some(a) != story.old.as_ref() && Some(a) != story.new.as_ref())
        .collect();
    others.sort();
    others.dedup();
    for o in others {
        lanes.push((o, vec![(from, to, Role::Replica)]));
    }
    lanes
}

/// Each sampled node's lane from what it answered to `ROLE`.
pub(super) fn sampled_lanes(lanes: &[NodeLane]) -> Vec<(String, Vec<Segment>)> {
    let role = |r: &str| match r {
        "master" => Role::Primary,
        "replica" => Role::Replica,
        _ => Role::Silent,
    };
    lanes
        .iter()
        .map(|l| {
            let segs = l.spans.iter();
            let segs = segs.map(|s| (s.from_ms, s.to_ms, role(&s.role))).collect();
            (l.node.clone(), segs)
        })
        .collect()
}

/// The writes per time bucket, from `y`.
pub(super) fn workload(s: &mut Svg, b: &Buckets, axis: Axis, y: f64) {
    let width = b.bucket_ms.max(1) as f64;
    let px = width / (axis.to - axis.from) * (X1 - X0);
    let k = (3.0 / px).ceil().max(1.0) as usize;
    let group = width * k as f64;
    struct Bar {
        from: f64,
        acked: u64,
        failed: u64,
        unknown: u64,
        lost: u64,
    }
    let mut bars: Vec<Bar> = Vec::new();
    for (i, chunk) in (0..b.acked.len()).collect::<Vec<_>>().chunks(k).enumerate() {
        let from = b.from_ms + (i * k) as f64 * width;
        if from + group < axis.from || from > axis.to {
            continue;
        }
        let sum = |v: &[u64]| {
            chunk
                .iter()
                .map(|&j| v.get(j).copied().unwrap_or(0))
                .sum::<u64>()
        };
        bars.push(Bar {
            from,
            acked: sum(&b.acked),
            failed: sum(&b.failed),
            unknown: sum(&b.unknown),
            lost: sum(&b.lost),
        });
    }
    let max = bars
        .iter()
        .map(|b| b.acked + b.failed + b.unknown)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let h = WORKLOAD - 10.0;
    let base = y + WORKLOAD;
    s.text(20.0, y + 17.0, &[("font-weight", "bold".into())], "writes");
    s.text(
        20.0,
        y + 33.0,
        &[("fill", "#555".into()), ("font-size", "11".into())],
        &format!("per {} ms (max {})", num(group), max as u64),
    );
    s.line((X0, base), (X1, base), &[("stroke", "#888".into())]);
    for bar in bars {
        let x = axis.x(bar.from.max(axis.from));
        let w = (axis.x((bar.from + group).min(axis.to)) - x - 0.5).max(0.5);
        let mut top = base;
        for (n, fill) in [
            (bar.acked, "#2da44e"),
            (bar.failed, "#e69f00"),
            (bar.unknown, "#8c8c8c"),
        ] {
            if n == 0 {
                continue;
            }
            let hh = (n as f64 / max * h).max(1.0);
            top -= hh;
            s.rect(x, top, w, hh, &[("fill", fill.into())], None);
        }
        if bar.lost > 0 {
            let hh = (bar.lost as f64 / max * h).max(3.0);
            let tip = format!(
                "{} ms: {} acked, {} lost, {} failed, {} unknown",
                num(bar.from),
                bar.acked,
                bar.lost,
                bar.failed,
                bar.unknown
            );
            s.rect(
                x,
                base - hh,
                w,
                hh,
                &[("fill", "#cf222e".into())],
                Some(&tip),
            );
        }
    }
}

/// The legend of a drill trial's picture: (colour, meaning).
pub(super) const TRIAL_LEGEND: &[(&str, &str)] = &[
    ("#1f4e99", "primary"),
    ("#9ecae1", "replica"),
    ("#f4a259", "replaced, not yet a replica"),
    ("#cf222e", "fault / lost writes"),
    ("#2da44e", "acknowledged"),
    ("#e69f00", "failed (error reply)"),
    ("#8c8c8c", "unknown (no reply)"),
    ("#009e73", "+switch-master"),
];

/// The legend of a trial whose node lanes are the nodes' own `ROLE` answers.
pub(super) const SAMPLED_LEGEND: &[(&str, &str)] = &[
    ("#1f4e99", "ROLE master"),
    ("#9ecae1", "ROLE replica"),
    ("#d0d0d0", "no answer"),
    ("#cf222e", "fault / lost writes"),
    ("#2da44e", "acknowledged"),
    ("#e69f00", "failed (error reply)"),
    ("#8c8c8c", "unknown (no reply)"),
    ("#009e73", "+switch-master"),
];

/// The legend of a watched episode's picture (no fault, no workload).
pub(super) const EPISODE_LEGEND: &[(&str, &str)] = &[
    ("#1f4e99", "primary"),
    ("#9ecae1", "replica"),
    ("#f4a259", "replaced, not yet a replica"),
    ("#e69f00", "+sdown"),
    ("#d55e00", "+odown"),
    ("#8e44ad", "election"),
    ("#0072b2", "promotion"),
    ("#009e73", "+switch-master"),
];

/// The legend along `y`.
pub(super) fn legend(s: &mut Svg, items: &[(&str, &str)], y: f64) {
    let mut x = 20.0;
    for &(fill, name) in items {
        let attrs: [Attr<'_>; 1] = [("fill", fill.into())];
        s.rect(x, y - 9.0, 10.0, 10.0, &attrs, None);
        s.text(x + 14.0, y, &[("font-size", "11".into())], name);
        x += 24.0 + name.len() as f64 * 6.3;
    }
}
