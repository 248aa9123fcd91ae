//! Pure: the history file of `drill --history` and `warden check` — one JSON object per line,
//! one line per write — built from a trial's [`History`] in invoke-time order, and the counts a
//! re-check of it reports.
//!
//! Times come as a pair: `CLOCK_MONOTONIC` nanoseconds (since boot, system-wide on Linux, so
//! they line up with another process's timestamps on the same host) and UTC.

use std::collections::BTreeMap;
use std::iter::Peekable;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::history::{Found, History, WriterHistory};
use crate::addr::Addr;

/// How a write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Outcome {
    /// The server acknowledged it.
    Ok,
    /// The server refused it with an error reply (`error` names the code).
    Error,
    /// No reply (timeout, connection lost): it may or may not have landed.
    Unknown,
}

/// What the loss check found for a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Check {
    /// Acknowledged and present with a plausible TTL.
    Present,
    /// Acknowledged and absent: lost.
    Lost,
    /// Acknowledged and present without a TTL.
    TtlGone,
    /// Acknowledged and present, its TTL off by more than the time since the write.
    TtlOff,
    /// Unknown outcome, and present: it landed.
    Recovered,
    /// Unknown outcome, and absent (never counted as lost).
    Absent,
}

impl Check {
    /// What a `PTTL` reply says of a write that ended `age_ms` before the check: `None` for a
    /// refused write (never checked).
    pub(crate) fn of(outcome: Outcome, pttl: i64, ttl_ms: u64, age_ms: u64) -> Option<Check> {
        match outcome {
            Outcome::Ok => Some(Check::acked(super::history::classify(pttl, ttl_ms, age_ms))),
            Outcome::Unknown => Some(Check::unknown(pttl != -2)),
            Outcome::Error => None,
        }
    }

    fn acked(found: Found) -> Check {
        match found {
            Found::Present => Check::Present,
            Found::Lost => Check::Lost,
            Found::TtlGone => Check::TtlGone,
            Found::TtlOff => Check::TtlOff,
        }
    }

    fn unknown(landed: bool) -> Check {
        if landed {
            Check::Recovered
        } else {
            Check::Absent
        }
    }
}

/// One write of the history file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Line {
    /// The drill trial (1-based).
    pub trial: u32,
    /// The workload that wrote it (as the report names it: `warden` for the built-in writer).
    #[serde(default)]
    pub client: String,
    /// The key written.
    pub key: String,
    /// The node the write was sent to (`null`: not known).
    pub node: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// The error code of a refused write (`READONLY`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it was sent: `CLOCK_MONOTONIC`, ns.
    pub invoke_mono_ns: u64,
    /// When its reply (or its timeout) came: `CLOCK_MONOTONIC`, ns.
    pub complete_mono_ns: u64,
    /// When it was sent, UTC.
    pub invoke_utc: DateTime<Utc>,
    /// When its reply (or its timeout) came, UTC.
    pub complete_utc: DateTime<Utc>,
    /// The TTL it was written with, ms.
    pub ttl_ms: u64,
    /// What the loss check found (`null`: not checked, or refused).
    pub check: Option<Check>,
}

/// A history's epoch on both clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Anchor {
    /// The epoch on `CLOCK_MONOTONIC`, ns.
    pub mono_ns: u64,
    /// The epoch in UTC.
    pub utc: DateTime<Utc>,
}

impl Anchor {
    /// `us` µs after the epoch, on both clocks.
    pub(crate) fn at(&self, us: u32) -> (u64, DateTime<Utc>) {
        (
            self.mono_ns + u64::from(us) * 1000,
            self.utc + TimeDelta::microseconds(i64::from(us)),
        )
    }
}

/// What a trial's lines are made of besides its history.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Trial<'a> {
    /// The trial number.
    pub trial: u32,
    /// The workload's name.
    pub client: &'a str,
    /// The key prefix (a key is `<prefix>:<seq>`).
    pub prefix: &'a str,
    /// The TTL the keys were written with, ms.
    pub ttl_ms: u64,
    /// The history's epoch on both clocks.
    pub anchor: Anchor,
    /// What the loss check found: per ack in `History::acks` order, and whether each unknown
    /// write landed, writer by writer (`None`: it did not run).
    pub found: Option<(&'a [Found], &'a [bool])>,
}

/// One write before it becomes a [`Line`].
struct Op<'a> {
    seq: u32,
    invoke_us: u32,
    at_us: u32,
    node: Option<&'a Addr>,
    outcome: Outcome,
    error: Option<&'a str>,
    check: Option<Check>,
}

type Ops<'a> = Peekable<Box<dyn Iterator<Item = Op<'a>> + 'a>>;

/// Every write of `history` as a line, in invoke-time order. Each writer's writes are already
/// in that order (a writer has one write in flight), so this merges them without sorting.
pub(crate) fn lines<'a>(history: &'a History, t: Trial<'a>) -> impl Iterator<Item = Line> + 'a {
    let (mut acks_at, mut unknown_at) = (0, 0);
    let mut streams: Vec<Ops<'a>> = Vec::new();
    for w in &history.writers {
        streams.extend(writer_ops(w, t.found, acks_at, unknown_at));
        acks_at += w.acks.len();
        unknown_at += w.unknown.len();
    }
    std::iter::from_fn(move || {
        let next = streams
            .iter_mut()
            .enumerate()
            .filter_map(|(i, s)| s.peek().map(|op| (op.invoke_us, i)))
            .min()?;
        streams[next.1].next()
    })
    .map(move |op| line(op, &t))
}

/// One writer's acks, unknown and refused writes, each in invoke order.
fn writer_ops<'a>(
    w: &'a WriterHistory,
    found: Option<(&'a [Found], &'a [bool])>,
    acks_at: usize,
    unknown_at: usize,
) -> [Ops<'a>; 3] {
    let acks = w
        .acks_with_node()
        .enumerate()
        .map(move |(i, (a, node))| Op {
            seq: a.seq,
            invoke_us: a.invoke_us,
            at_us: a.at_us,
            node: Some(node),
            outcome: Outcome::Ok,
            error: None,
            check: found.and_then(|(f, _)| f.get(acks_at + i).map(|f| Check::acked(*f))),
        });
    let unknown = w.unknown.iter().enumerate().map(move |(i, u)| Op {
        seq: u.seq,
        invoke_us: u.invoke_us,
        at_us: u.at_us,
        node: w.node_of(u.era),
        outcome: Outcome::Unknown,
        error: None,
        check: found.and_then(|(_, l)| l.get(unknown_at + i).map(|l| Check::unknown(*l))),
    });
    let refused = w.refused.iter().map(move |r| Op {
        seq: r.attempt.seq,
        invoke_us: r.attempt.invoke_us,
        at_us: r.attempt.at_us,
        node: w.node_of(r.attempt.era),
        outcome: Outcome::Error,
        error: Some(w.code(r)),
        check: None,
    });
    let boxed = |i: Box<dyn Iterator<Item = Op<'a>> + 'a>| i.peekable();
    [
        boxed(Box::new(acks)),
        boxed(Box::new(unknown)),
        boxed(Box::new(refused)),
    ]
}

fn line(op: Op<'_>, t: &Trial<'_>) -> Line {
    let (invoke_mono_ns, invoke_utc) = t.anchor.at(op.invoke_us);
    let (complete_mono_ns, complete_utc) = t.anchor.at(op.at_us);
    Line {
        trial: t.trial,
        client: t.client.to_string(),
        key: format!("{}:{}", t.prefix, op.seq),
        node: op.node.map(Addr::to_string),
        outcome: op.outcome,
        error: op.error.map(str::to_string),
        invoke_mono_ns,
        complete_mono_ns,
        invoke_utc,
        complete_utc,
        ttl_ms: t.ttl_ms,
        check: op.check,
    }
}

/// What a history holds, by outcome and by what the check found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Counts {
    /// Lines.
    pub writes: u64,
    /// Acknowledged writes.
    pub acked: u64,
    /// Acknowledged and present.
    pub present: u64,
    /// Acknowledged and absent.
    pub lost: u64,
    /// Acknowledged, present without a TTL.
    pub ttl_gone: u64,
    /// Acknowledged, present with a TTL off.
    pub ttl_off: u64,
    /// Writes without a reply.
    pub unknown: u64,
    /// Unknown writes that landed.
    pub recovered: u64,
    /// Refused writes.
    pub failed: u64,
    /// Lines whose check differs from the one the history held.
    pub changed: u64,
}

impl Counts {
    /// Counts `line`, whose check was `before` in the history read.
    pub(crate) fn add(&mut self, line: &Line, before: Option<Check>) {
        self.writes += 1;
        match line.outcome {
            Outcome::Ok => self.acked += 1,
            Outcome::Unknown => self.unknown += 1,
            Outcome::Error => self.failed += 1,
        }
        match line.check {
            Some(Check::Present) => self.present += 1,
            Some(Check::Lost) => self.lost += 1,
            Some(Check::TtlGone) => self.ttl_gone += 1,
            Some(Check::TtlOff) => self.ttl_off += 1,
            Some(Check::Recovered) => self.recovered += 1,
            Some(Check::Absent) | None => {}
        }
        self.changed += u64::from(line.check != before);
    }
}

/// The counts per trial and over all, as a table.
pub(crate) fn table(per_trial: &BTreeMap<u32, Counts>) -> String {
    let mut all = Counts::default();
    let mut out = format!(
        "{:<6} {:>9} {:>9} {:>9} {:>7} {:>8} {:>7} {:>8} {:>9} {:>7} {:>8}\n",
        "trial",
        "writes",
        "acked",
        "present",
        "lost",
        "ttl-gone",
        "ttl-off",
        "unknown",
        "recovered",
        "failed",
        "changed"
    );
    let row = |name: &str, c: &Counts| {
        format!(
            "{name:<6} {:>9} {:>9} {:>9} {:>7} {:>8} {:>7} {:>8} {:>9} {:>7} {:>8}\n",
            c.writes,
            c.acked,
            c.present,
            c.lost,
            c.ttl_gone,
            c.ttl_off,
            c.unknown,
            c.recovered,
            c.failed,
            c.changed
        )
    };
    for (trial, c) in per_trial {
        out += &row(&trial.to_string(), c);
        all.writes += c.writes;
        all.acked += c.acked;
        all.present += c.present;
        all.lost += c.lost;
        all.ttl_gone += c.ttl_gone;
        all.ttl_off += c.ttl_off;
        all.unknown += c.unknown;
        all.recovered += c.recovered;
        all.failed += c.failed;
        all.changed += c.changed;
    }
    if per_trial.len() > 1 {
        out += &row("all", &all);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn history() -> History {
        let mut a = WriterHistory::default();
        a.begin_era(Addr::local(1));
        a.acked(0, 100, 150);
        a.unknown(2, 300, 900);
        a.begin_era(Addr::local(2));
        a.acked(4, 1000, 1010);
        let mut b = WriterHistory::default();
        b.begin_era(Addr::local(1));
        b.acked(1, 120, 130);
        b.refused(3, "READONLY", 400, 410);
        b.acked(5, 950, 960);
        History {
            epoch: Instant::now(),
            writers: vec![a, b],
        }
    }

    fn trial<'a>(found: Option<(&'a [Found], &'a [bool])>) -> Trial<'a> {
        Trial {
            trial: 3,
            client: "warden",
            prefix: "session:x-3",
            ttl_ms: 1_800_000,
            anchor: Anchor {
                mono_ns: 5_000_000_000,
                utc: "2026-11-29T10:00:00Z".parse().unwrap(),
            },
            found,
        }
    }

    #[test]
    fn lines_come_in_invoke_order_with_what_the_check_found() {
        let h = history();
        // acks in History::acks order: a's 0, 4, then b's 1, 5; a's one unknown write.
        let found = [Found::Present, Found::Lost, Found::Present, Found::TtlGone];
        let lines: Vec<Line> = lines(&h, trial(Some((&found, &[true])))).collect();
        let keys: Vec<(&str, Outcome, Option<Check>)> = lines
            .iter()
            .map(|l| (l.key.as_str(), l.outcome, l.check))
            .collect();
        assert_eq!(
            keys,
            [
                ("session:x-3:0", Outcome::Ok, Some(Check::Present)),
                ("session:x-3:1", Outcome::Ok, Some(Check::Present)),
                ("session:x-3:2", Outcome::Unknown, Some(Check::Recovered)),
                ("session:x-3:3", Outcome::Error, None),
                ("session:x-3:5", Outcome::Ok, Some(Check::TtlGone)),
                ("session:x-3:4", Outcome::Ok, Some(Check::Lost)),
            ]
        );
        let refused = &lines[3];
        assert_eq!(refused.error.as_deref(), Some("READONLY"));
        assert_eq!(refused.node.as_deref(), Some("127.0.0.1:1"));
        assert_eq!(lines[5].node.as_deref(), Some("127.0.0.1:2"));
        let unknown = &lines[2];
        assert_eq!(
            (unknown.invoke_mono_ns, unknown.complete_mono_ns),
            (5_000_300_000, 5_000_900_000)
        );
        assert_eq!(
            unknown.complete_utc.to_rfc3339(),
            "2026-11-29T10:00:00.000900+00:00"
        );
        let json = serde_json::to_string(&lines[3]).unwrap();
        assert_eq!(serde_json::from_str::<Line>(&json).unwrap(), lines[3]);
        assert!(
            json.contains(r#""outcome":"error","error":"READONLY""#),
            "{json}"
        );
    }

    #[test]
    fn without_a_loss_check_nothing_is_marked() {
        let h = history();
        assert!(lines(&h, trial(None)).all(|l| l.check.is_none()));
        assert_eq!(lines(&h, trial(None)).count(), 6);
    }

    #[test]
    fn a_recheck_counts_outcomes_and_changes() {
        let h = history();
        let mut c = Counts::default();
        for mut l in lines(&h, trial(None)) {
            let before = l.check;
            l.check = Check::of(l.outcome, -2, l.ttl_ms, 0);
            c.add(&l, before);
        }
        let want = Counts {
            writes: 6,
            acked: 4,
            lost: 4,
            unknown: 1,
            failed: 1,
            changed: 5,
            ..Counts::default()
        };
        assert_eq!(c, want);
        let mut per = BTreeMap::new();
        per.insert(1, c.clone());
        per.insert(2, c);
        let t = table(&per);
        assert!(t.lines().last().unwrap().starts_with("all "), "{t}");
    }
}
