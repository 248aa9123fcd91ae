//! Pure: what a failover episode sums up to — outcome, old and new primary, how the switch
//! was seen, phase times — and its terminal block.

use std::fmt;
use std::time::SystemTime;

use serde::Serialize;

use crate::addr::Addr;
use crate::sentinel::timeline::Phases;

/// How an episode ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
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

/// How the watch learned of the switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Observed {
    /// A `+switch-master` arrived while the watch followed the failover (or none was seen).
    Live,
    /// Found after a connection gap: by asking a Sentinel, or from a Sentinel catching up.
    AfterGap,
}

/// One failover episode, summed up when it ends.
#[derive(Debug, Clone, Serialize)]
pub struct Failover {
    /// Master name.
    pub master: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Address before the switch.
    pub old: Option<Addr>,
    /// Address after the switch.
    pub new: Option<Addr>,
    /// Whether the switch was seen live or only after a gap.
    pub observed: Observed,
    /// The failover's epoch, when an epoch event or a Sentinel's answer gave it.
    pub epoch: Option<u64>,
    /// Each phase's first report, in ms from the episode's first event.
    pub phases_ms: Vec<(&'static str, Option<f64>)>,
    /// How many Sentinels have announced `+switch-master` so far.
    pub switch_reports: usize,
    /// Time between the first and the last of those announcements, ms.
    pub switch_spread_ms: Option<f64>,
    /// From the first event to the end, ms.
    pub duration_ms: f64,
    /// Wall-clock time of the first event.
    #[serde(serialize_with = "rfc3339")]
    pub started: SystemTime,
}

impl Failover {
    /// The phases as back-to-back intervals in ms from the start: each recorded phase lasts
    /// until the next recorded one, the last until the end.
    pub fn intervals(&self) -> Vec<(&'static str, f64, f64)> {
        let seen: Vec<(&'static str, f64)> = self
            .phases_ms
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
        for (name, at) in &self.phases_ms {
            if let Some(at) = at {
                writeln!(f, "   {:<18}{at:>9.1} ms", Phases::channel(name))?;
            }
        }
        if let Some(spread) = self.switch_spread_ms {
            writeln!(
                f,
                "   +switch-master announced by {} Sentinel(s) so far, spread {spread:.1} ms",
                self.switch_reports
            )?;
        }
        Ok(())
    }
}
