//! Pure: a failover as an SVG timeline — on one time axis from time 0 (a drill's fault, or
//! a watched episode's first event): a lane per Sentinel (each event where it arrived, the
//! leader marked), a lane per data node (its role over time, the fault and its revert), the
//! workload per time bucket (lost writes in red) when there is one, brackets (Sentinel RTO,
//! client RTO, the lost-write window; a watched episode's phases), and the verdict.
//! No script: hovering a mark shows its `<title>`.
//!
//! A drill trial ([`trial_svg`]) and a watched episode ([`episode_svg`]) each become one
//! `Scene`, drawn by `Scene::draw`.

mod episode;
mod parts;
mod trial;

pub(crate) use episode::{Episode, episode_svg};
use parts::{Role, Segment, legend, node_lanes, workload};
pub(crate) use trial::trial_svg;

use super::svg::{Svg, num};
use crate::drill::checker::Verdict;
use crate::drill::evidence::{Buckets, TimelineRow};
use crate::drill::report::Judged;

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
    /// An axis covering `times` (ms; at least one second), from a little before time 0 or
    /// before `earliest`.
    fn fit(times: impl IntoIterator<Item = Option<f64>>, earliest: Option<f64>) -> Axis {
        let end = times.into_iter().flatten().fold(1000.0_f64, f64::max) * 1.08;
        let mut from = -0.1 * end;
        if let Some(o) = earliest {
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

/// A lane per Sentinel: every one named, and every one that reported (`?` when unnamed).
fn sentinel_lanes(named: &[String], timeline: &[TimelineRow]) -> Vec<String> {
    let reported = timeline
        .iter()
        .flat_map(|r| r.reports.iter().map(|a| a.sentinel + 1))
        .max()
        .unwrap_or(0);
    (0..named.len().max(reported))
        .map(|i| named.get(i).map_or("?", String::as_str).to_string())
        .collect()
}

/// `client RTO 2190 ms ≤ 5000 ✓`.
pub(crate) fn judged_text<T: Copy + Into<f64>>(name: &str, j: &Judged<T>, unit: &str) -> String {
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

/// A red stretch over a node's lane: the fault from time 0 to its revert.
struct Fault {
    /// The node's address.
    node: String,
    /// What was done.
    what: String,
    /// When it was reverted, ms (`None`: not within the picture).
    reverted_ms: Option<f64>,
}

/// A bracket under the lanes: a span with its text, or a grey sentence when there is none.
struct Bracket {
    span: Option<(f64, f64)>,
    colour: &'static str,
    text: String,
}

/// Everything one picture shows; built from a drill trial or a watched episode.
struct Scene<'a> {
    title: String,
    /// The line under the title.
    sub: Vec<String>,
    /// What time 0 is (`fault`, `first event`) and the colour of its line.
    zero: (&'static str, &'static str),
    axis: Axis,
    /// A lane per Sentinel: its address.
    sentinels: Vec<String>,
    leader: Option<usize>,
    timeline: &'a [TimelineRow],
    nodes: Vec<(String, Vec<Segment>)>,
    fault: Option<Fault>,
    workload: Option<&'a Buckets>,
    brackets: Vec<Bracket>,
    /// A target drawn as a dotted line (the RTO target), ms.
    target_ms: Option<f64>,
    /// A mark across the lanes per failover: where it started, ms, and its label.
    marks: Vec<(f64, String)>,
    /// The verdict line and its colour, then plain lines, then reasons (in red).
    verdict: (String, &'static str),
    lines: Vec<String>,
    reasons: Vec<String>,
    legend: &'static [(&'static str, &'static str)],
}

impl Scene<'_> {
    fn draw(&self) -> String {
        let axis = self.axis;
        let top = 80.0;
        let lanes_end = top
            + self.sentinels.len() as f64 * SENTINEL_LANE
            + 10.0
            + self.nodes.len() as f64 * NODE_LANE
            + if self.workload.is_some() {
                WORKLOAD + 20.0
            } else {
                0.0
            };
        let brackets_end = lanes_end + self.brackets.len() as f64 * BRACKET + 10.0;
        let verdict_lines = 1 + self.lines.len() + self.reasons.len();
        let height = brackets_end + verdict_lines as f64 * LINE + 40.0;
        let mut s = Svg::new(WIDTH, height, &self.title);
        s.text(
            20.0,
            26.0,
            &[("font-size", "16".into()), ("font-weight", "bold".into())],
            &self.title,
        );
        s.text(
            20.0,
            46.0,
            &[("fill", "#555".into())],
            &self.sub.join(" · "),
        );

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
            &format!("time from the {}", self.zero.0),
        );
        let mut y = self.sentinel_lanes(&mut s, top);
        y = self.node_lanes(&mut s, y);
        if let Some(b) = self.workload {
            workload(&mut s, b, axis, y);
            y += WORKLOAD + 20.0;
        }

        // Time 0.
        let fx = axis.x(0.0);
        let (zero, zero_colour) = self.zero;
        s.line(
            (fx, top - 8.0),
            (fx, y),
            &[
                ("stroke", zero_colour.into()),
                ("stroke-width", "2".into()),
                ("stroke-dasharray", "6 3".into()),
            ],
        );
        s.text(
            fx + 4.0,
            top - 1.0,
            &[("fill", zero_colour.into()), ("font-weight", "bold".into())],
            zero,
        );

        for (ms, label) in self.marks.iter().filter(|m| axis.contains(m.0)) {
            let x = axis.x(*ms);
            let purple = [
                ("stroke", "#8e44ad".into()),
                ("stroke-dasharray", "3 3".into()),
            ];
            s.line((x, top - 8.0), (x, y), &purple);
            s.text(
                x + 3.0,
                y - 3.0,
                &[("font-size", "10".into()), ("fill", "#8e44ad".into())],
                label,
            );
        }
        y = self.brackets(&mut s, y + 10.0);
        if let Some(target) = self.target_ms.filter(|t| axis.contains(*t)) {
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
                ("fill", self.verdict.1.into()),
            ],
            &self.verdict.0,
        );
        y += LINE;
        for line in &self.lines {
            s.text(20.0, y, &[], line);
            y += LINE;
        }
        for r in &self.reasons {
            s.text(20.0, y, &[("fill", "#cf222e".into())], &format!("• {r}"));
            y += LINE;
        }
        legend(&mut s, self.legend, height - 14.0);
        s.finish()
    }

    /// A lane per Sentinel from `y`: each event where it arrived. Returns the next `y`.
    fn sentinel_lanes(&self, s: &mut Svg, mut y: f64) -> f64 {
        let axis = self.axis;
        for (i, addr) in self.sentinels.iter().enumerate() {
            let leader = if self.leader == Some(i) {
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
            let mut marks: Vec<(f64, &TimelineRow)> = self
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
        y + 10.0
    }

    /// A lane per data node from `y`: its roles, and the fault. Returns the next `y`.
    fn node_lanes(&self, s: &mut Svg, mut y: f64) -> f64 {
        let axis = self.axis;
        for (addr, segs) in &self.nodes {
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
                    Role::Silent => ("#d0d0d0", "no answer to ROLE"),
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
            if let Some(f) = self.fault.as_ref().filter(|f| f.node == *addr) {
                let end = f.reverted_ms.unwrap_or(axis.to).min(axis.to);
                let tip = format!("fault: {} (0 → {} ms)", f.what, num(end));
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
                if let Some(r) = f.reverted_ms.filter(|r| axis.contains(*r)) {
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
        y
    }

    /// The brackets from `y`; returns the next `y`.
    fn brackets(&self, s: &mut Svg, mut y: f64) -> f64 {
        let axis = self.axis;
        for b in &self.brackets {
            let mid = y + BRACKET / 2.0;
            match b.span {
                Some((a, z)) => {
                    let (xa, xb) = (axis.x(a.max(axis.from)), axis.x(z.min(axis.to)));
                    let c = b.colour;
                    let stroke: [(&str, String); 2] =
                        [("stroke", c.into()), ("stroke-width", "2".into())];
                    s.line((xa, mid), (xb, mid), &stroke);
                    s.line((xa, mid - 6.0), (xa, mid + 6.0), &stroke);
                    s.line((xb, mid - 6.0), (xb, mid + 6.0), &stroke);
                    let (x, anchor) = if xb + 8.0 + b.text.len() as f64 * 6.5 < WIDTH {
                        (xb + 8.0, "start")
                    } else {
                        (xa - 8.0, "end")
                    };
                    s.text(
                        x,
                        mid + 4.0,
                        &[("fill", c.into()), ("text-anchor", anchor.into())],
                        &b.text,
                    );
                }
                None => s.text(X0, mid + 4.0, &[("fill", "#888".into())], &b.text),
            }
            y += BRACKET;
        }
        y
    }
}
