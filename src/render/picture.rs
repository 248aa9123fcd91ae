//! Pure: one trial as an SVG timeline — on one time axis from the fault: a lane per Sentinel
//! (each event where it arrived, the leader marked), a lane per data node (its role over
//! time, the fault and its revert), the workload per time bucket (lost writes in red),
//! brackets for Sentinel RTO, client RTO and the lost-write window, and the verdict against
//! the targets. No script: hovering a mark shows its `<title>`.

mod parts;

use parts::{Role, legend, node_lanes, workload};

use super::svg::{Svg, num};
use crate::drill::checker::Verdict;
use crate::drill::evidence::TimelineRow;
use crate::drill::report::doc::Trial;
use crate::drill::report::{Document, Judged, verdict_name};

const WIDTH: f64 = 1200.0;
const X0: f64 = 230.0;
const X1: f64 = 1170.0;
const SENTINEL_LANE: f64 = 40.0;
const NODE_LANE: f64 = 28.0;
const WORKLOAD: f64 = 110.0;
const BRACKET: f64 = 24.0;
const LINE: f64 = 18.0;

/// The time axis: ms from the fault → x.
#[derive(Debug, Clone, Copy)]
struct Axis {
    from: f64,
    to: f64,
}

impl Axis {
    /// An axis covering the trial's failover, from a little before the fault.
    fn of(t: &Trial) -> Axis {
        let mut end: f64 = 1000.0;
        let mut consider = |v: Option<f64>| {
            if let Some(v) = v {
                end = end.max(v);
            }
        };
        consider(t.sentinel_rto_ms);
        consider(t.client_rto_ms.value);
        consider(t.reverted_ms);
        consider(t.rejoin_ms);
        consider(t.lost.newest_ms);
        for p in &t.phases {
            consider(p.at_ms);
        }
        let end = end * 1.08;
        let mut from = -0.1 * end;
        if let Some(o) = t.lost.oldest_ms {
            from = from.min(o - 0.03 * end);
        }
        Axis { from, to: end }
    }

    fn x(&self, ms: f64) -> f64 {
        X0 + (ms - self.from) / (self.to - self.from) * (X1 - X0)
    }

    fn contains(&self, ms: f64) -> bool {
        ms >= self.from && ms <= self.to
    }

    /// Tick positions and labels: 1, 2 or 5 × 10^k ms apart, about ten of them.
    fn ticks(&self) -> Vec<(f64, String)> {
        let raw = (self.to - self.from) / 10.0;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * mag);
        let mut out = Vec::new();
        let mut v = (self.from / step).ceil() * step;
        while v <= self.to {
            out.push((v, duration(v, step)));
            v += step;
        }
        out
    }
}

/// `250 ms`, `2 s`, `1.5 s`, `-1 s`.
fn duration(ms: f64, step: f64) -> String {
    let ms = if ms.abs() < 1e-9 { 0.0 } else { ms };
    if step < 1000.0 {
        format!("{} ms", num(ms))
    } else if (ms / 1000.0).fract() == 0.0 {
        format!("{:.0} s", ms / 1000.0)
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// The colour of an event mark.
fn colour(channel: &str) -> &'static str {
    match channel {
        "+sdown" => "#e69f00",
        "+odown" => "#d55e00",
        "+try-failover" | "+elected-leader" | "+vote-for-leader" | "+new-epoch" => "#8e44ad",
        "+selected-slave"
        | "+promoted-slave"
        | "+failover-state-send-slaveof-noone"
        | "+failover-state-wait-promotion" => "#0072b2",
        "+switch-master" => "#009e73",
        "+failover-end" | "+failover-end-for-timeout" => "#006d4f",
        "+tilt" => "#cc0000",
        _ => "#888888",
    }
}

/// Whether an event gets a text label in its lane (the rest are marks with a hover title).
fn labelled(channel: &str) -> bool {
    matches!(
        channel,
        "+sdown"
            | "+odown"
            | "+try-failover"
            | "+elected-leader"
            | "+selected-slave"
            | "+promoted-slave"
            | "+switch-master"
            | "+failover-end"
            | "+convert-to-slave"
            | "+tilt"
    )
}

/// The number of Sentinel lanes: every Sentinel named, and every one that reported.
fn sentinel_count(d: &Document, t: &Trial) -> usize {
    let reported = t
        .timeline
        .iter()
        .flat_map(|r| r.reports.iter().map(|a| a.sentinel + 1))
        .max()
        .unwrap_or(0);
    d.sentinels.len().max(reported)
}

/// `client RTO 2190 ms ≤ 5000 ✓`.
pub fn judged_text<T: Copy + Into<f64>>(name: &str, j: &Judged<T>, unit: &str) -> String {
    let value = j
        .value
        .map_or_else(|| "—".to_string(), |v| format!("{}{unit}", num(v.into())));
    match (j.target, j.met) {
        (Some(t), Some(true)) => format!("{name} {value} ≤ {t}{unit} ✓"),
        (Some(t), Some(false)) => format!("{name} {value} > {t}{unit} ✗ MISSED"),
        (Some(t), None) => format!("{name} {value} (target ≤ {t}{unit}, not judged)"),
        (None, _) => format!("{name} {value} (no target)"),
    }
}

fn verdict_colour(v: Verdict) -> &'static str {
    match v {
        Verdict::Met => "#1a7f37",
        Verdict::Missed => "#cf222e",
        Verdict::Unknown => "#9a6700",
    }
}

/// The picture of trial `t` of drill `d`.
pub fn trial_svg(d: &Document, t: &Trial) -> String {
    let axis = Axis::of(t);
    let sentinels = sentinel_count(d, t);
    let nodes = node_lanes(t, axis);
    let has_workload = !t.workload.acked.is_empty();
    let verdict_lines = 4 + t.reasons.len();
    let top = 80.0;
    let lanes_end = top
        + sentinels as f64 * SENTINEL_LANE
        + 10.0
        + nodes.len() as f64 * NODE_LANE
        + if has_workload { WORKLOAD + 20.0 } else { 0.0 };
    let brackets_end = lanes_end + 3.0 * BRACKET + 10.0;
    let height = brackets_end + verdict_lines as f64 * LINE + 40.0;
    let title = format!("{} — trial {}: {}", d.scenario, t.trial, t.fault);
    let mut s = Svg::new(WIDTH, height, &title);
    s.text(
        20.0,
        26.0,
        &[("font-size", "16".into()), ("font-weight", "bold".into())],
        &title,
    );
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
    s.text(20.0, 46.0, &[("fill", "#555".into())], &sub.join(" · "));

    // The axis and its grid.
    for (ms, label) in axis.ticks() {
        let x = axis.x(ms);
        s.line(
            (x, top - 8.0),
            (x, lanes_end),
            &[("stroke", "#e4e4e4".into())],
        );
        s.text(
            x,
            top - 12.0,
            &[("text-anchor", "middle".into()), ("fill", "#555".into())],
            &label,
        );
    }
    s.text(
        20.0,
        top - 12.0,
        &[("fill", "#555".into())],
        "time from the fault",
    );

    // A lane per Sentinel.
    let mut y = top;
    for i in 0..sentinels {
        let addr = d.sentinels.get(i).map(String::as_str).unwrap_or("?");
        let leader = if t.leader == Some(i) {
            " ★ leader"
        } else {
            ""
        };
        s.rect(
            10.0,
            y,
            X1 - 10.0 + 20.0,
            SENTINEL_LANE - 4.0,
            &[(
                "fill",
                if i % 2 == 0 { "#f6f8fa" } else { "#ffffff" }.into(),
            )],
            None,
        );
        s.text(
            20.0,
            y + 15.0,
            &[("font-weight", "bold".into())],
            &format!("sentinel #{i}{leader}"),
        );
        s.text(
            20.0,
            y + 29.0,
            &[("fill", "#555".into()), ("font-size", "11".into())],
            addr,
        );
        let mid = y + SENTINEL_LANE / 2.0 - 2.0;
        s.line((X0, mid), (X1, mid), &[("stroke", "#c8c8c8".into())]);
        let mut label_end = [f64::MIN; 2];
        let mut marks: Vec<(f64, &TimelineRow)> = t
            .timeline
            .iter()
            .flat_map(|r| {
                r.reports
                    .iter()
                    .filter(|a| a.sentinel == i)
                    .map(move |a| (a.at_ms, r))
            })
            .filter(|(ms, _)| axis.contains(*ms))
            .collect();
        marks.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (ms, r) in marks {
            let x = axis.x(ms);
            let tip = format!(
                "{} ms: {} (first report {} ms, spread {} ms)",
                num(ms),
                r.text,
                num(r.first_ms),
                num(r.spread_ms)
            );
            s.open("g", &[]);
            s.leaf("title", &[], &tip);
            s.empty(
                "circle",
                &[
                    ("cx", num(x)),
                    ("cy", num(mid)),
                    ("r", "4.5".into()),
                    ("fill", colour(&r.channel).into()),
                    ("stroke", "#fff".into()),
                ],
            );
            s.close();
            if labelled(&r.channel) {
                let w = r.channel.len() as f64 * 6.2;
                if let Some(row) = (0..2).find(|&k| label_end[k] < x) {
                    let ly = if row == 0 { mid - 7.0 } else { mid + 15.0 };
                    s.text(
                        x + 3.0,
                        ly,
                        &[
                            ("font-size", "10".into()),
                            ("fill", colour(&r.channel).into()),
                        ],
                        &r.channel,
                    );
                    label_end[row] = x + 3.0 + w;
                }
            }
        }
        y += SENTINEL_LANE;
    }
    y += 10.0;

    // A lane per data node.
    for (addr, segs) in &nodes {
        s.text(20.0, y + 17.0, &[], addr);
        for (a, b, role) in segs {
            let (a, b) = (a.max(axis.from), b.min(axis.to));
            if b <= a {
                continue;
            }
            let (fill, name) = match role {
                Role::Primary => ("#1f4e99", "primary"),
                Role::Replica => ("#9ecae1", "replica"),
                Role::Demoted => ("#f4a259", "replaced by the Sentinels, not yet a replica"),
            };
            let tip = format!("{addr}: {name} from {} to {} ms", num(a), num(b));
            s.rect(
                axis.x(a),
                y + 6.0,
                axis.x(b) - axis.x(a),
                NODE_LANE - 12.0,
                &[("fill", fill.into())],
                Some(&tip),
            );
        }
        if Some(addr) == t.old_primary.as_ref() && t.injected {
            let end = t.reverted_ms.unwrap_or(axis.to).min(axis.to);
            let tip = format!("fault: {} (0 → {} ms)", t.fault, num(end));
            s.rect(
                axis.x(0.0),
                y + 3.0,
                axis.x(end) - axis.x(0.0),
                NODE_LANE - 6.0,
                &[
                    ("fill", "#cf222e".into()),
                    ("fill-opacity", "0.35".into()),
                    ("stroke", "#cf222e".into()),
                ],
                Some(&tip),
            );
            if let Some(r) = t.reverted_ms.filter(|r| axis.contains(*r)) {
                s.text(
                    axis.x(r) + 3.0,
                    y + 12.0,
                    &[("font-size", "10".into()), ("fill", "#cf222e".into())],
                    "reverted",
                );
            }
        }
        y += NODE_LANE;
    }

    // The workload.
    if has_workload {
        workload(&mut s, t, axis, y);
        y += WORKLOAD + 20.0;
    }

    // The fault line.
    let fx = axis.x(0.0);
    s.line(
        (fx, top - 8.0),
        (fx, y),
        &[
            ("stroke", "#cf222e".into()),
            ("stroke-width", "2".into()),
            ("stroke-dasharray", "6 3".into()),
        ],
    );
    s.text(
        fx + 4.0,
        top - 1.0,
        &[("fill", "#cf222e".into()), ("font-weight", "bold".into())],
        "fault",
    );

    // Brackets.
    y += 10.0;
    let rto_target = t.client_rto_ms.target;
    let lost_end = t.lost.newest_ms.map(|n| n.max(0.0));
    let brackets: [(&str, Option<f64>, Option<f64>, &str); 3] = [
        (
            "Sentinel RTO",
            Some(0.0).filter(|_| t.sentinel_rto_ms.is_some()),
            t.sentinel_rto_ms,
            "#009e73",
        ),
        (
            "client RTO",
            Some(0.0).filter(|_| t.client_rto_ms.value.is_some()),
            t.client_rto_ms.value,
            "#0072b2",
        ),
        ("lost-write window", t.lost.oldest_ms, lost_end, "#cf222e"),
    ];
    for (name, a, b, c) in brackets {
        let label = match (a, b) {
            (Some(a), Some(b)) => {
                let (xa, xb) = (axis.x(a.max(axis.from)), axis.x(b.min(axis.to)));
                let mid = y + BRACKET / 2.0;
                s.line(
                    (xa, mid),
                    (xb, mid),
                    &[("stroke", c.into()), ("stroke-width", "2".into())],
                );
                s.line(
                    (xa, mid - 6.0),
                    (xa, mid + 6.0),
                    &[("stroke", c.into()), ("stroke-width", "2".into())],
                );
                s.line(
                    (xb, mid - 6.0),
                    (xb, mid + 6.0),
                    &[("stroke", c.into()), ("stroke-width", "2".into())],
                );
                let text = match name {
                    "client RTO" => judged_text("client RTO", &t.client_rto_ms, " ms"),
                    "lost-write window" => {
                        judged_text("lost-write window", &t.lost.window_ms, " ms")
                    }
                    _ => format!("{name} {} ms", num(b - a)),
                };
                let (x, anchor) = if xb + 8.0 + text.len() as f64 * 6.5 < WIDTH {
                    (xb + 8.0, "start")
                } else {
                    (xa - 8.0, "end")
                };
                s.text(
                    x,
                    mid + 4.0,
                    &[("fill", c.into()), ("text-anchor", anchor.into())],
                    &text,
                );
                None
            }
            _ if name == "lost-write window" && t.lost.count.value == Some(0) => {
                Some("lost-write window: no acknowledged write was lost".to_string())
            }
            _ => Some(format!("{name}: not measured")),
        };
        if let Some(label) = label {
            s.text(
                X0,
                y + BRACKET / 2.0 + 4.0,
                &[("fill", "#888".into())],
                &label,
            );
        }
        y += BRACKET;
    }
    if let Some(target) = rto_target.map(|t| t as f64).filter(|t| axis.contains(*t)) {
        let x = axis.x(target);
        s.line(
            (x, top - 8.0),
            (x, y),
            &[
                ("stroke", "#0072b2".into()),
                ("stroke-dasharray", "2 3".into()),
            ],
        );
        s.text(
            x - 3.0,
            top - 1.0,
            &[
                ("fill", "#0072b2".into()),
                ("text-anchor", "end".into()),
                ("font-size", "10".into()),
            ],
            &format!("RTO target {target:.0} ms"),
        );
    }

    // The verdict.
    y += 16.0;
    s.text(
        20.0,
        y,
        &[
            ("font-size", "14".into()),
            ("font-weight", "bold".into()),
            ("fill", verdict_colour(t.verdict).into()),
        ],
        &format!("verdict: {}", verdict_name(t.verdict)),
    );
    y += LINE;
    let failover = match (t.failover.expected, t.failover.happened) {
        (true, true) => "a failover was expected and happened ✓".to_string(),
        (true, false) => "a failover was expected and did NOT happen ✗".to_string(),
        (false, false) => "no failover was expected and none happened ✓".to_string(),
        (false, true) => "no failover was expected but one happened ✗".to_string(),
    };
    let lost = judged_text("lost writes", &t.lost.count.clone_f64(), "");
    for line in [
        failover,
        judged_text("client RTO", &t.client_rto_ms, " ms"),
        format!(
            "{lost} · {}",
            judged_text("lost-write window", &t.lost.window_ms, " ms")
        ),
    ] {
        s.text(20.0, y, &[], &line);
        y += LINE;
    }
    for r in &t.reasons {
        s.text(20.0, y, &[("fill", "#cf222e".into())], &format!("• {r}"));
        y += LINE;
    }
    legend(&mut s, height - 14.0);
    s.finish()
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
