//! Pure: two primaries at once. The drill asks `ROLE` of every data node in rounds
//! ([`super::roles`]); a stretch of rounds in which two or more nodes answered `master` is a
//! [`Span`], timed from the first such round to the first later round with at most one
//! (so a span is known to within one sampling period).

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::addr::Addr;

/// One sampling round: when it was sent, and what the nodes answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Round {
    /// When the round's `ROLE`s were sent (all nodes at once).
    pub at: Instant,
    /// The nodes that answered `master` (a node that did not answer is not among them).
    pub masters: Vec<Addr>,
    /// The nodes that answered as a replica.
    pub replicas: Vec<Addr>,
}

/// A stretch with two or more nodes answering `master`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Span {
    /// The first round that saw it.
    pub from: Instant,
    /// The first round after it with at most one master, or the last round (`open`).
    pub to: Instant,
    /// Every node that answered `master` during the span.
    pub nodes: Vec<Addr>,
    /// Still two masters at the last round.
    pub open: bool,
}

/// The spans in `rounds` (in time order).
pub(crate) fn spans(rounds: &[Round]) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    let mut current: Option<Span> = None;
    for r in rounds {
        match (&mut current, r.masters.len() >= 2) {
            (None, true) => {
                current = Some(Span {
                    from: r.at,
                    to: r.at,
                    nodes: r.masters.clone(),
                    open: true,
                })
            }
            (Some(s), true) => {
                s.to = r.at;
                for m in &r.masters {
                    if !s.nodes.contains(m) {
                        s.nodes.push(m.clone());
                    }
                }
            }
            (Some(_), false) => {
                let mut s = current.take().expect("a span is open");
                s.to = r.at;
                s.open = false;
                out.push(s);
            }
            (None, false) => {}
        }
    }
    out.extend(current);
    out
}

/// Two primaries in a trial, as the report gives them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TwoPrimaries {
    /// Sampling rounds taken (0: not sampled).
    pub rounds: u64,
    /// Total time with two or more masters, ms.
    pub total_ms: f64,
    /// Each stretch, timed from the fault.
    pub spans: Vec<SpanRow>,
    /// The nodes that answered `master` in the last round: one primary emerged when it
    /// holds exactly one.
    #[serde(default)]
    pub at_end: Vec<String>,
}

impl TwoPrimaries {
    /// No round was taken (the trial never passed its pre-flight, or an older report).
    pub(crate) fn unsampled(&self) -> bool {
        self.rounds == 0
    }
}

/// One stretch with two or more masters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanRow {
    /// Its first round, ms from the fault (negative: before it).
    pub from_ms: f64,
    /// How long, ms (to the first round with at most one master).
    pub ms: f64,
    /// The nodes that answered `master`.
    pub nodes: Vec<String>,
    /// Still two masters when sampling stopped.
    pub open: bool,
}

/// The report's figure for `rounds`, timed from `fault_at`.
pub(crate) fn figure(rounds: &[Round], fault_at: Instant) -> TwoPrimaries {
    let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
    let rows: Vec<SpanRow> = spans(rounds)
        .into_iter()
        .map(|s| SpanRow {
            from_ms: super::evidence::signed_ms(s.from, fault_at),
            ms: ms(s.to - s.from),
            nodes: s.nodes.iter().map(ToString::to_string).collect(),
            open: s.open,
        })
        .collect();
    TwoPrimaries {
        rounds: rounds.len() as u64,
        total_ms: rows.iter().map(|r| r.ms).sum(),
        spans: rows,
        at_end: rounds.last().map_or_else(Vec::new, |r| {
            r.masters.iter().map(ToString::to_string).collect()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rounds(t0: Instant, masters: &[&[u16]]) -> Vec<Round> {
        masters
            .iter()
            .enumerate()
            .map(|(i, ports)| Round {
                at: t0 + Duration::from_millis(200 * i as u64),
                masters: ports.iter().map(|&p| Addr::local(p)).collect(),
                replicas: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn a_span_runs_to_the_first_round_with_one_master() {
        let t0 = Instant::now();
        let r = rounds(t0, &[&[1], &[1, 2], &[1, 2], &[2], &[], &[2, 3], &[2, 3]]);
        let s = spans(&r);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].from - t0, s[0].to - t0), (ms(200), ms(600)));
        assert_eq!(s[0].nodes, vec![Addr::local(1), Addr::local(2)]);
        assert!(!s[0].open);
        assert_eq!((s[1].from - t0, s[1].to - t0), (ms(1000), ms(1200)));
        assert!(s[1].open);
    }

    #[test]
    fn no_span_with_one_master_or_none() {
        let t0 = Instant::now();
        assert!(spans(&rounds(t0, &[&[1], &[], &[2], &[2]])).is_empty());
        assert!(spans(&[]).is_empty());
        let f = figure(&rounds(t0, &[&[1], &[2]]), t0);
        assert_eq!((f.rounds, f.total_ms, f.spans.len()), (2, 0.0, 0));
    }

    #[test]
    fn the_figure_times_spans_from_the_fault_and_names_every_node() {
        let t0 = Instant::now();
        let r = rounds(t0, &[&[1], &[1, 2], &[2, 3], &[3]]);
        let f = figure(&r, t0 + ms(400));
        assert_eq!(f.rounds, 4);
        assert_eq!(f.total_ms, 400.0);
        assert_eq!(f.spans[0].from_ms, -200.0);
        assert_eq!(
            f.spans[0].nodes,
            ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]
        );
        assert_eq!(f.at_end, ["127.0.0.1:3"]);
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }
}
