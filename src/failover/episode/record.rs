//! Pure: what a failover episode sums up to — outcome, old and new primary, how the switch
//! was seen, phase times — and its terminal block.
//!
//! Its JSON uses the drill report's names (schema 1) where they mean the same thing:
//! `old_primary`, `new_primary`, `phases` (`{"phase": "+odown", "at_ms": 12.5}`) and
//! `switch_master` (`{"sentinels": 3, "spread_ms": 1.2}`).

use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::addr::Addr;
use crate::failover::SwitchReports;
use crate::sentinel::timeline::{Entry, Phases, SourceId};

/// How an episode ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Outcome {
    /// `+failover-end`: a replica was promoted and the others reconfigured.
    FailedOver,
    /// `+failover-end-for-timeout`: promoted, but not every replica confirmed in time.
    TimedOut,
    /// The leader gave up (the `-failover-abort-*` channel).
    Aborted(String),
    /// `-sdown` of the master before any failover started: it came back.
    Recovered,
    /// The master was removed or reset (`-monitor`, `+reset-master`) during the episode.
    Abandoned(String),
    /// A new primary was announced or found after a gap, but no leader's end was seen (the
    /// next transition started, the episode went quiet, or the watch stopped).
    Switched,
    /// A failover started, but neither a switch nor an end was seen before the next attempt
    /// or [`super::QUIET`] (e.g. its leader was restarted mid-failover and the promotion reverted).
    Unfinished,
}

/// A Sentinel's answer naming a newer primary that most of the group does not name: not
/// followed, and not recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outvoted {
    /// What it names, with its config epoch.
    pub named: Addr,
    /// Its config epoch.
    pub epoch: u64,
    /// The primary as known (what the others name).
    pub primary: Addr,
    /// How many of the group's Sentinels name `named`, of how many.
    pub support: (usize, usize),
}

/// How the watch learned of the switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Observed {
    /// A `+switch-master` arrived while the watch followed the failover (or none was seen).
    Live,
    /// Found after a connection gap: by asking a Sentinel, or from a Sentinel catching up.
    AfterGap,
}

/// One failover episode, summed up when it ends.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Failover {
    /// Master name.
    pub master: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Address before the switch (`old_primary`).
    #[serde(rename = "old_primary")]
    pub old: Option<Addr>,
    /// Address after the switch (`new_primary`).
    #[serde(rename = "new_primary")]
    pub new: Option<Addr>,
    /// Whether the switch was seen live or only after a gap.
    pub observed: Observed,
    /// The failover's epoch, when an epoch event or a Sentinel's answer gave it.
    pub epoch: Option<u64>,
    /// Each phase (snake_case name) and its first report, in ms from the episode's first
    /// event; in JSON a list of phase objects named by channel, as in the drill report's `phases` (`+odown`).
    #[serde(serialize_with = "named_phases")]
    pub phases: Vec<(&'static str, Option<f64>)>,
    /// How many Sentinels have announced `+switch-master` so far, and from the first to the
    /// last announcement (`None`: none was seen).
    pub switch_master: Option<SwitchReports>,
    /// From the first event to the end, ms.
    pub duration_ms: f64,
    /// Wall-clock time of the first event.
    #[serde(serialize_with = "rfc3339")]
    pub started: SystemTime,
    /// The monotonic time of the first event: the origin of every `*_ms` (not serialized).
    #[serde(skip)]
    pub origin: Instant,
}

impl Failover {
    /// The phases as back-to-back intervals in ms from the start: each recorded phase lasts
    /// until the next recorded one, the last until the end.
    pub(crate) fn intervals(&self) -> Vec<(&'static str, f64, f64)> {
        let seen: Vec<(&'static str, f64)> = self
            .phases
            .iter()
            .filter_map(|(n, at)| at.map(|at| (*n, at)))
            .collect();
        seen.iter()
            .enumerate()
            .map(|(i, &(name, from))| {
                let to = seen.get(i + 1).map_or(self.duration_ms, |next| next.1);
                (name, from, to.max(from))
            })
            .collect()
    }
}

fn named_phases<S: serde::Serializer>(
    phases: &[(&'static str, Option<f64>)],
    s: S,
) -> Result<S::Ok, S::Error> {
    /// A phase as the drill report names it, without its UTC time.
    #[derive(Serialize)]
    struct Phase {
        phase: String,
        at_ms: Option<f64>,
    }
    s.collect_seq(phases.iter().map(|(name, at_ms)| Phase {
        phase: Phases::channel(name),
        at_ms: *at_ms,
    }))
}

fn rfc3339<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_rfc3339_millis(*t))
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::FailedOver => f.write_str("failed over"),
            Outcome::TimedOut => f.write_str("failed over, but replicas not reconfigured in time"),
            Outcome::Aborted(channel) => write!(f, "aborted ({channel})"),
            Outcome::Recovered => f.write_str("master came back, no failover"),
            Outcome::Abandoned(channel) => write!(f, "abandoned ({channel})"),
            Outcome::Switched => f.write_str("switched (the leader's +failover-end not seen)"),
            Outcome::Unfinished => f.write_str("unfinished (no switch, no end seen)"),
        }
    }
}

/// A short block for a terminal.
impl fmt::Display for Failover {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "== {}: {}", self.master, self.outcome)?;
        if let (Some(old), Some(new)) = (&self.old, &self.new) {
            write!(f, ", {old} -> {new}")?;
        }
        write!(f, " in {:.0} ms", self.duration_ms)?;
        if self.observed == Observed::AfterGap {
            f.write_str(" (seen after a connection gap)")?;
        }
        writeln!(f)?;
        for (name, at) in &self.phases {
            if let Some(at) = at {
                writeln!(f, "   {:<18}{at:>9.1} ms", Phases::channel(name))?;
            }
        }
        if let Some(s) = &self.switch_master {
            writeln!(
                f,
                "   +switch-master announced by {} Sentinel(s) so far, spread {:.1} ms",
                s.sentinels, s.spread_ms
            )?;
        }
        Ok(())
    }
}

/// Who announced the switch of `e`, and over how long. The leader announces its own
/// `+switch-master` in the timer pass that published its `+failover-end` (sentinel.c:
/// `sentinelFailoverDetectEnd` enters UPDATE_CONFIG, and the same
/// `sentinelHandleDictOfRedisInstances` pass ends in `sentinelFailoverSwitchToPromotedSlave`;
/// 50 µs apart in `testdata/episodes/consecutive-failovers.tsv`): a record closed on that
/// end (`leader`) counts it, at the end's time, unless it is already in.
pub(super) fn switch_reports(e: &Entry, leader: Option<(SourceId, Instant)>) -> SwitchReports {
    let mut spread = e.spread();
    let mut sentinels = e.count();
    if let Some((leader, end)) = leader
        && !e.reports.iter().any(|r| r.source == leader)
    {
        sentinels += 1;
        spread = spread.max(end.saturating_duration_since(e.first_at));
    }
    SwitchReports {
        sentinels,
        spread_ms: ms(spread),
    }
}

/// `d` in ms, rounded to µs (as the drill report's times are).
pub(super) fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}
