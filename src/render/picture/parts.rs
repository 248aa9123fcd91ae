//! The parts of a trial's picture below the Sentinel lanes: the data nodes' roles, the
//! workload bars and the legend.

use super::{Axis, Svg, WORKLOAD, X0, X1, num};
use crate::drill::evidence::TimelineRow;
use crate::drill::report::doc::Trial;
use crate::render::svg::Attr;

/// A data node's role during a stretch of time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Role {
    Primary,
    Replica,
    /// Replaced by the Sentinels but not (yet) seen as a replica.
    Demoted,
}

fn first(rows: &[TimelineRow], channel: &str, address: &str) -> Option<f64> {
    rows.iter()
        .filter(|r| r.channel == channel && r.address.as_deref() == Some(address))
        .map(|r| r.first_ms)
        .find(|ms| *ms >= 0.0)
}

/// A stretch of a node's lane: from, to (ms from the fault), its role.
pub(super) type Segment = (f64, f64, Role);

/// Each data node with its roles over `[from, to]`.
pub(super) fn node_lanes(t: &Trial, axis: Axis) -> Vec<(String, Vec<Segment>)> {
    let (from, to) = (axis.from, axis.to);
    let switch = t.sentinel_rto_ms;
    let mut lanes = Vec::new();
    if let Some(old) = &t.old_primary {
        let mut segs = Vec::new();
        match switch {
            Some(s) => {
                segs.push((from, s, Role::Primary));
                let back = first(&t.timeline, "+convert-to-slave", old)
                    .or(t.rejoin_ms)
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
    if let Some(new) = &t.new_primary {
        let promoted = t
            .phases
            .iter()
            .find(|p| p.phase == "+promoted-slave")
            .and_then(|p| p.at_ms)
            .or(switch)
            .unwrap_or(to);
        lanes.push((
            new.clone(),
            vec![
                (from, promoted, Role::Replica),
                (promoted, to, Role::Primary),
            ],
        ));
    }
    let mut others: Vec<String> = t
        .timeline
        .iter()
        .filter(|r| r.instance.as_deref() == Some("slave"))
        .filter_map(|r| r.address.clone())
        .filter(|a| Some(a) != t.old_primary.as_ref() && Some(a) != t.new_primary.as_ref())
        .collect();
    others.sort();
    others.dedup();
    for o in others {
        lanes.push((o, vec![(from, to, Role::Replica)]));
    }
    lanes
}

pub(super) fn workload(s: &mut Svg, t: &Trial, axis: Axis, y: f64) {
    let b = &t.workload;
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

pub(super) fn legend(s: &mut Svg, y: f64) {
    let items: [(&str, &str); 8] = [
        ("#1f4e99", "primary"),
        ("#9ecae1", "replica"),
        ("#f4a259", "replaced, not yet a replica"),
        ("#cf222e", "fault / lost writes"),
        ("#2da44e", "acknowledged"),
        ("#e69f00", "failed (error reply)"),
        ("#8c8c8c", "unknown (no reply)"),
        ("#009e73", "+switch-master"),
    ];
    let mut x = 20.0;
    for (fill, name) in items {
        let attrs: [Attr<'_>; 1] = [("fill", fill.into())];
        s.rect(x, y - 9.0, 10.0, 10.0, &attrs, None);
        s.text(x + 14.0, y, &[("font-size", "11".into())], name);
        x += 24.0 + name.len() as f64 * 6.3;
    }
}
