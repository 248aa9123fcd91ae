//! Pure: split brain, and the returning old primary told apart from it, from the `ROLE`
//! rounds ([`super::primaries::Round`]) and what each Sentinel named at the time (its own
//! `+switch-master` reports in the timeline); and each node's lane of answers.
//!
//! A round is **split brain** when the Sentinels name two different primaries, or a node
//! answers `ROLE master` that no Sentinel names and that was never the primary. A former
//! primary answering `master` while no Sentinel names it is **returning**: back, and not
//! yet converted to a replica (a killed primary restarted does that for about 10 s).

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::evidence::signed_ms;
use super::primaries::Round;
use crate::addr::Addr;
use crate::sentinel::event::Detail;
use crate::sentinel::timeline::Timeline;

/// Stretches of sampling rounds in which something held, timed from the fault.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stretches {
    /// Their total, ms.
    pub total_ms: f64,
    /// Each stretch: from (ms from the fault) and how long (to the first round without it).
    pub spans: Vec<Stretch>,
}

/// One stretch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stretch {
    /// Its first round, ms from the fault.
    pub from_ms: f64,
    /// How long, ms.
    pub ms: f64,
    /// The nodes involved.
    pub nodes: Vec<String>,
    /// Still holding at the last round.
    pub open: bool,
}

impl Stretches {
    /// Nothing was seen.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

/// A node's answers over the trial: each stretch of one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeLane {
    /// The node.
    pub node: String,
    /// Its stretches, in time order.
    pub spans: Vec<RoleSpan>,
}

/// A stretch of one answer to `ROLE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleSpan {
    /// From, ms from the fault.
    pub from_ms: f64,
    /// To, ms from the fault (the next round with another answer, or the last round).
    pub to_ms: f64,
    /// `master`, `replica` or `silent` (no answer).
    pub role: String,
}

/// Split brain and returning old primaries in `rounds`.
pub(crate) fn judge(
    rounds: &[Round],
    timeline: &Timeline,
    master: &str,
    old: &Addr,
    sentinels: usize,
    fault_at: Instant,
) -> (Stretches, Stretches) {
    let switches = switches(timeline, master);
    let mut split = Spans::default();
    let mut returning = Spans::default();
    for r in rounds {
        let named = named_at(&switches, old, sentinels, r.at);
        let former: Vec<&Addr> = std::iter::once(old)
            .chain(switches.iter().filter(|s| s.2 <= r.at).map(|s| &s.0))
            .collect();
        let unnamed = r.masters.iter().filter(|m| !named.contains(m));
        let (back, rogue): (Vec<&Addr>, Vec<&Addr>) = unnamed.partition(|m| former.contains(m));
        let two_named = named.len() >= 2;
        let mut split_nodes: Vec<&Addr> = rogue;
        if two_named {
            split_nodes.extend(named.iter());
        }
        split.round(r.at, two_named || !split_nodes.is_empty(), &split_nodes);
        returning.round(r.at, !back.is_empty(), &back);
    }
    (split.finish(fault_at), returning.finish(fault_at))
}

/// Each sampled node's answers, timed from the fault.
pub(crate) fn lanes(rounds: &[Round], fault_at: Instant) -> Vec<NodeLane> {
    let mut nodes: Vec<&Addr> = rounds
        .iter()
        .flat_map(|r| r.masters.iter().chain(&r.replicas))
        .collect();
    nodes.sort_by_key(|a| a.to_string());
    nodes.dedup();
    let ms = |at: Instant| signed_ms(at, fault_at);
    nodes
        .into_iter()
        .map(|node| {
            let mut spans: Vec<RoleSpan> = Vec::new();
            for r in rounds {
                let role = match (r.masters.contains(node), r.replicas.contains(node)) {
                    (true, _) => "master",
                    (false, true) => "replica",
                    _ => "silent",
                };
                match spans.last_mut() {
                    Some(s) if s.role == role => s.to_ms = ms(r.at),
                    Some(s) => {
                        s.to_ms = ms(r.at);
                        spans.push(span(ms(r.at), role));
                    }
                    None => spans.push(span(ms(r.at), role)),
                }
            }
            NodeLane {
                node: node.to_string(),
                spans,
            }
        })
        .collect()
}

fn span(from_ms: f64, role: &str) -> RoleSpan {
    RoleSpan {
        from_ms,
        to_ms: from_ms,
        role: role.into(),
    }
}

/// Every `+switch-master` report of `master`: (old, new, when, by which Sentinel).
fn switches(t: &Timeline, master: &str) -> Vec<(Addr, Addr, Instant, usize)> {
    let mut out: Vec<_> = t
        .entries()
        .iter()
        .filter_map(|e| match &e.event.detail {
            Detail::SwitchMaster {
                master: m,
                old,
                new,
            } if m == master => Some((e, old, new)),
            _ => None,
        })
        .flat_map(|(e, old, new)| {
            let each = e.reports.iter();
            each.map(move |r| (old.clone(), new.clone(), r.at, r.source))
        })
        .collect();
    out.sort_by_key(|s| s.2);
    out
}

/// The distinct primaries the Sentinels named at `at`: each names `old` until its own
/// latest `+switch-master` report before `at`.
fn named_at(
    switches: &[(Addr, Addr, Instant, usize)],
    old: &Addr,
    sentinels: usize,
    at: Instant,
) -> Vec<Addr> {
    let mut named: Vec<Addr> = Vec::new();
    for s in 0..sentinels.max(1) {
        let latest = switches.iter().rfind(|w| w.3 == s && w.2 <= at);
        let a = latest.map_or(old, |w| &w.1);
        if !named.contains(a) {
            named.push(a.clone());
        }
    }
    named
}

/// Builds stretches round by round.
#[derive(Default)]
struct Spans {
    done: Vec<(Instant, Instant, Vec<Addr>, bool)>,
    open: Option<(Instant, Instant, Vec<Addr>)>,
}

impl Spans {
    fn round(&mut self, at: Instant, holds: bool, nodes: &[&Addr]) {
        match (&mut self.open, holds) {
            (None, true) => self.open = Some((at, at, Vec::new())),
            (Some(o), true) => o.1 = at,
            (Some(_), false) => {
                if let Some((from, _, n)) = self.open.take() {
                    self.done.push((from, at, n, false));
                }
            }
            (None, false) => {}
        }
        if let Some(o) = &mut self.open {
            for n in nodes {
                if !o.2.contains(n) {
                    o.2.push((*n).clone());
                }
            }
        }
    }

    fn finish(mut self, fault_at: Instant) -> Stretches {
        if let Some((from, to, n)) = self.open.take() {
            self.done.push((from, to, n, true));
        }
        let spans: Vec<Stretch> = self
            .done
            .into_iter()
            .map(|(from, to, nodes, open)| Stretch {
                from_ms: signed_ms(from, fault_at),
                ms: signed_ms(to, from),
                nodes: nodes.iter().map(ToString::to_string).collect(),
                open,
            })
            .collect();
        Stretches {
            total_ms: spans.iter().map(|s| s.ms).sum(),
            spans,
        }
    }
}
