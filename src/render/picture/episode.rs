//! A failover episode that `warden watch` recorded, as a `Scene`: time 0 is the episode's
//! first event; a lane per Sentinel of the group, the old and new primary and the replicas
//! the poll knows; a bracket to the first `+switch-master`, one per phase, and the outcome.
//! No workload lane: the watch writes nothing.

use super::parts::{EPISODE_LEGEND, Story};
use super::{Axis, Bracket, Scene, colour, node_lanes, num};
use crate::addr::Addr;
use crate::drill::evidence::{self, TimelineRow};
use crate::failover::episode::{Failover, Observed, Outcome};
use crate::sentinel::timeline::{Phases, Timeline};

/// A watched episode with what its picture needs beside the record.
#[derive(Debug, Clone)]
pub(crate) struct Episode<'a> {
    /// The Sentinel group's name.
    pub group: &'a str,
    /// The record.
    pub failover: &'a Failover,
    /// The group's Sentinels: a row's `sentinel` indexes this list.
    pub sentinels: Vec<String>,
    /// The Sentinel that led the failover (the first to report `+elected-leader`, else
    /// `+try-failover`).
    pub leader: Option<usize>,
    /// The events of the master (and the epoch events) from the first to the end, ms from
    /// the first.
    pub timeline: Vec<TimelineRow>,
    /// The data nodes the watch's poll saw last.
    pub nodes: Vec<String>,
}

impl<'a> Episode<'a> {
    /// The episode `f` of group `group`, whose Sentinels are `sentinels`, numbered from
    /// `first` in `timeline`'s reports; `nodes` are the data nodes the poll saw.
    pub(crate) fn of(
        group: &'a str,
        f: &'a Failover,
        timeline: &Timeline,
        sentinels: &[Addr],
        first: usize,
        nodes: &[Addr],
    ) -> Episode<'a> {
        let end = f.origin + std::time::Duration::from_secs_f64(f.duration_ms.max(0.0) / 1e3);
        let entries = timeline.entries().iter().filter(|e| {
            e.first_at >= f.origin
                && e.first_at <= end
                && e.event.master_name().is_none_or(|m| m == f.master)
        });
        let mut rows = evidence::rows(entries, f.origin);
        for a in rows.iter_mut().flat_map(|r| r.reports.iter_mut()) {
            a.sentinel = a.sentinel.saturating_sub(first);
        }
        let leader = ["+elected-leader", "+try-failover"].iter().find_map(|c| {
            let row = rows.iter().find(|r| r.channel == *c)?;
            let first = row
                .reports
                .iter()
                .min_by(|a, b| a.at_ms.total_cmp(&b.at_ms))?;
            Some(first.sentinel)
        });
        Episode {
            group,
            failover: f,
            sentinels: sentinels.iter().map(Addr::to_string).collect(),
            leader,
            timeline: rows,
            nodes: nodes.iter().map(Addr::to_string).collect(),
        }
    }
}

/// The picture of a watched episode.
pub(crate) fn episode_svg(e: &Episode) -> String {
    let f = e.failover;
    let phase = |name: &str| {
        f.phases
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, at)| *at)
    };
    let times = f.phases.iter().map(|(_, at)| *at);
    let axis = Axis::fit(times.chain([Some(f.duration_ms)]), None);
    let story = Story {
        old: f.old.as_ref().map(Addr::to_string),
        new: f.new.as_ref().map(Addr::to_string),
        switch_ms: phase("switch_master"),
        promoted_ms: phase("promoted_slave"),
        rejoin_ms: None,
        replicas: e.nodes.clone(),
    };
    let started = chrono::DateTime::<chrono::Utc>::from(f.started);
    let mut sub = vec![
        format!("warden {}", env!("CARGO_PKG_VERSION")),
        format!("watch, group {}", e.group),
        format!(
            "first event at {} (time 0)",
            started.format("%Y-%m-%d %H:%M:%S%.3f UTC")
        ),
    ];
    if let (Some(o), Some(n)) = (&f.old, &f.new) {
        sub.push(format!("primary {o} → {n}"));
    }
    if let Some(epoch) = f.epoch {
        sub.push(format!("epoch {epoch}"));
    }
    let mut lines = vec![match &f.switch_master {
        Some(s) => format!(
            "+switch-master announced by {} Sentinel(s), spread {} ms",
            s.sentinels,
            num(s.spread_ms)
        ),
        None => "no +switch-master seen".to_string(),
    }];
    lines.push(match f.observed {
        Observed::Live => "the switch was seen live".to_string(),
        Observed::AfterGap => {
            "the switch was found after a connection gap (its phases are not all known)".into()
        }
    });
    Scene {
        marks: Vec::new(),
        title: format!(
            "{} — failover at {}: {}",
            f.master,
            started.format("%Y-%m-%d %H:%M:%S UTC"),
            f.outcome
        ),
        sub,
        zero: ("first event", "#555555"),
        axis,
        sentinels: super::sentinel_lanes(&e.sentinels, &e.timeline),
        leader: e.leader,
        timeline: &e.timeline,
        nodes: node_lanes(&story, &e.timeline, axis),
        fault: None,
        workload: None,
        brackets: brackets(f),
        target_ms: None,
        verdict: (
            format!("outcome: {}", f.outcome),
            outcome_colour(&f.outcome),
        ),
        lines,
        reasons: Vec::new(),
        legend: EPISODE_LEGEND,
    }
    .draw()
}

/// The first event to the first `+switch-master`, then each phase until the next.
fn brackets(f: &Failover) -> Vec<Bracket> {
    let switch = f
        .phases
        .iter()
        .find(|(n, _)| *n == "switch_master")
        .and_then(|(_, at)| *at);
    let mut out = vec![Bracket {
        span: switch.map(|s| (0.0, s)),
        colour: "#009e73",
        text: match switch {
            Some(s) => format!("first event → +switch-master {} ms", num(s)),
            None => "first event → +switch-master: not seen".into(),
        },
    }];
    let spans = f.intervals();
    for (i, &(name, from, to)) in spans.iter().enumerate() {
        let channel = Phases::channel(name);
        let text = match spans.get(i + 1) {
            Some(next) => format!(
                "{channel} → {} {} ms",
                Phases::channel(next.0),
                num(to - from)
            ),
            None => format!("{channel} → the end {} ms", num(to - from)),
        };
        out.push(Bracket {
            span: Some((from, to)),
            colour: colour(&channel),
            text,
        });
    }
    out
}

fn outcome_colour(o: &Outcome) -> &'static str {
    match o {
        Outcome::FailedOver | Outcome::Recovered => "#1a7f37",
        Outcome::TimedOut | Outcome::Switched => "#9a6700",
        Outcome::Aborted(_) | Outcome::Abandoned(_) | Outcome::Unfinished => "#cf222e",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failover::episode::sample::returning_old_master;

    #[test]
    fn a_watched_episode_draws_its_sentinels_nodes_and_phases() {
        let s = returning_old_master();
        assert_eq!(s.failovers.len(), 1, "{:#?}", s.failovers);
        let nodes = [17500, 17501, 17502].map(|p| Addr::new("127.0.0.1", p));
        let e = Episode::of(
            "default",
            &s.failovers[0],
            &s.timeline,
            &s.sentinels,
            0,
            &nodes,
        );
        assert_eq!(e.leader, Some(2), "sentinel #2 was elected");
        let svg = episode_svg(&e).replace(env!("CARGO_PKG_VERSION"), "VERSION");
        let doc = roxmltree::Document::parse(&svg).expect("the SVG parses as XML");
        let texts: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .collect();
        for want in [
            "sentinel #2 ★ leader",
            "127.0.0.1:17502",
            "outcome: failed over",
            "time from the first event",
        ] {
            assert!(texts.contains(&want), "{want}: {texts:?}");
        }
        assert!(!texts.contains(&"writes"), "no workload lane: {texts:?}");
        insta::assert_snapshot!(svg);
    }
}
