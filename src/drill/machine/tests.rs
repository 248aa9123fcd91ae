//! Table tests of a trial's decisions, driven by a virtual clock over timelines in
//! `testdata/trials/` (a clean failover; the second failover of a short down-after): the
//! runner's loop in miniature, with the cluster's answers derived from the timeline.

use std::time::{Duration, Instant, SystemTime};

use super::*;
use crate::sentinel::event::parse;

const OLD: u16 = 17500;
const NEW: u16 = 17501;
const THIRD: u16 = 17502;

const CLEAN: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/trials/clean-failover.tsv"
));
const SECOND: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/trials/second-failover.tsv"
));

/// One line of a timeline file: ms after the fault, Sentinel, channel, payload.
fn events(text: &str) -> Vec<(f64, usize, &str, &str)> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.splitn(4, '\t').collect();
            (
                f[0].parse().expect("ms"),
                f[1].parse().expect("source"),
                f[2],
                f[3],
            )
        })
        .collect()
}

/// A trial to drive: its timeline, when the new primary acknowledged a write, a node that
/// answers `ROLE master` from some ms on whatever happens, and how long it may run.
struct Case<'a> {
    text: &'a str,
    /// Drop every event after this many ms (a trial cut off mid-failover).
    cut_ms: f64,
    acked_ms: Option<u64>,
    extra_master: Option<(u64, u16)>,
    cfg: Config,
}

/// How the drive ended.
#[derive(Debug, PartialEq)]
struct Outcome {
    /// The states entered, with the ms they were entered at.
    path: Vec<(u64, &'static str)>,
    /// The primary settled on and when (ms), or why not.
    settled: Result<(u64, u16), String>,
    /// The machine asked for the fault to be reverted.
    reverted: bool,
}

fn name(s: &State) -> &'static str {
    match s {
        State::WarmUp { .. } => "warm-up",
        State::Preflight { .. } => "pre-flight",
        State::Observe { .. } => "observe",
        State::Settle { .. } => "settle",
        State::Stabilize { .. } => "stabilize",
        State::Finished => "finished",
    }
}

fn cfg(expect_failover: bool, observe_s: u64) -> Config {
    Config {
        expect_failover,
        observe: Duration::from_secs(observe_s),
        settle: Duration::from_secs(1),
        stable_for: Config::default_window(Some(1000)),
    }
}

/// What the cluster answers at `now`, as the timeline says: each Sentinel names the new
/// address of its latest `+switch-master`; a Sentinel between its `+try-failover` and its
/// `+failover-end` has one in progress; the node promoted last answers `ROLE master` (the
/// killed old primary answers nothing), and so does `extra` from its time on.
fn probe(t: &Timeline, t0: Instant, now: Instant, extra: Option<(u64, u16)>) -> Probe {
    let seen = |src: usize, kind: EventKind| {
        t.entries()
            .iter()
            .filter(|e| e.event.kind == kind)
            .flat_map(|e| e.reports.iter().map(move |r| (r, e)))
            .filter(|(r, _)| r.source == src && r.at <= now)
            .max_by_key(|(r, _)| r.at)
            .map(|(r, e)| (r.at, e.event.detail.clone()))
    };
    let named = (0..3)
        .map(|s| match seen(s, EventKind::SwitchMaster) {
            Some((_, Detail::SwitchMaster { new, .. })) => Some(new),
            _ => Some(Addr::local(OLD)),
        })
        .collect();
    let in_progress = (0..3).any(|s| match seen(s, EventKind::TryFailover) {
        Some((tried, _)) => seen(s, EventKind::FailoverEnd).is_none_or(|(end, _)| end < tried),
        None => false,
    });
    let promoted = t
        .entries()
        .iter()
        .rev()
        .filter(|e| e.event.kind == EventKind::PromotedSlave && e.first_at <= now)
        .find_map(|e| match &e.event.detail {
            Detail::Instance { instance, .. } => Some(instance.addr.clone()),
            _ => None,
        });
    let mut masters: Vec<Addr> = promoted.into_iter().collect();
    if let Some((from, port)) = extra
        && now >= t0 + Duration::from_millis(from)
    {
        masters.push(Addr::local(port));
    }
    if masters.is_empty() && t.entries().is_empty() {
        masters.push(Addr::local(OLD));
    }
    Probe {
        named,
        in_progress,
        masters,
    }
}

/// A timeline line (Sentinel, channel, payload) or, `None`, the new primary's first ack.
type Input<'a> = (Instant, Option<(usize, &'a str, &'a str)>);

/// Drives the machine from the fault (time 0) to the end, as the runner does.
fn drive(c: &Case<'_>) -> Outcome {
    let t0 = Instant::now();
    let at = |ms: f64| t0 + Duration::from_secs_f64(ms / 1e3);
    let mut inputs: Vec<Input<'_>> = events(c.text)
        .into_iter()
        .filter(|e| e.0 <= c.cut_ms)
        .map(|(ms, s, ch, p)| (at(ms), Some((s, ch, p))))
        .collect();
    if let Some(a) = c.acked_ms {
        inputs.push((at(a as f64), None));
    }
    inputs.sort_by_key(|i| i.0);
    let mut timeline = Timeline::new(Duration::from_secs(15));
    let mut facts = Facts::default();
    let mut state = State::Observe {
        until: t0 + c.cfg.observe,
    };
    let mut stability = Stability::default();
    let (mut path, mut reverted) = (vec![(0, "observe")], false);
    let ms = |i: Instant| i.duration_since(t0).as_millis() as u64;
    let mut next = inputs.into_iter().peekable();
    while let Some(deadline) = state.deadline() {
        let before = name(&state);
        let now;
        match next.peek() {
            Some((when, _)) if *when <= deadline => {
                let (when, input) = next.next().expect("peeked");
                now = when;
                match input {
                    Some((s, ch, p)) => {
                        _ = timeline.ingest(s, now, SystemTime::UNIX_EPOCH, parse(ch, p))
                    }
                    None => facts.new_primary_acked = true,
                }
                facts.switched = timeline.first(&EventKind::SwitchMaster, "m", t0).is_some();
                state = on_progress(state, &facts, &c.cfg, now);
            }
            _ => {
                now = deadline;
                let (s, action) = on_timer(state, &facts, &c.cfg, Duration::ZERO, now);
                state = match action {
                    Action::Probe => {
                        let p = probe(&timeline, t0, now, c.extra_master);
                        stability.observe(s, &p, &c.cfg, now)
                    }
                    Action::RevertFault => {
                        reverted = true;
                        s
                    }
                    _ => s,
                };
            }
        }
        if name(&state) != before {
            path.push((ms(now), name(&state)));
        }
    }
    let settled = match stability.settled() {
        Some((when, p)) => Ok((ms(*when), p.port)),
        None => Err(stability.why_not(t0)),
    };
    Outcome {
        path,
        settled,
        reverted,
    }
}

#[test]
fn a_clean_failover_settles_on_the_new_primary_after_the_window() {
    let o = drive(&Case {
        text: CLEAN,
        cut_ms: f64::MAX,
        acked_ms: Some(2130),
        extra_master: None,
        cfg: cfg(true, 30),
    });
    // Settle 1 s after the first write on the new primary; stable from the first probe
    // (the leader's +failover-end came at 3100 ms); held 2 s.
    assert_eq!(
        o.path,
        [
            (0, "observe"),
            (2130, "settle"),
            (3130, "stabilize"),
            (5130, "finished")
        ]
    );
    assert_eq!(o.settled, Ok((5130, NEW)));
    assert!(!o.reverted);
}

#[test]
fn a_second_failover_is_waited_out_and_the_check_reads_the_last_primary() {
    let o = drive(&Case {
        text: SECOND,
        cut_ms: f64::MAX,
        acked_ms: Some(2130),
        extra_master: None,
        cfg: cfg(true, 30),
    });
    // The first probe (3130 ms) finds epoch 4 in progress; stable from the first probe
    // after its +failover-end (5200 ms): 5380 ms, held until 7380 ms.
    assert_eq!(o.settled, Ok((7380, THIRD)));
    assert_eq!(o.path.last(), Some(&(7380, "finished")));
}

#[test]
fn a_failover_in_progress_when_the_bound_passes_is_not_stable() {
    let o = drive(&Case {
        text: SECOND,
        cut_ms: 4000.0,
        acked_ms: Some(2130),
        extra_master: None,
        cfg: cfg(true, 5),
    });
    assert_eq!(o.settled, Err("a failover is in progress".into()));
    // Stabilizing lasts at most `observe` (5 s) from its start.
    assert_eq!(o.path.last(), Some(&(8130, "finished")));
}

#[test]
fn two_primaries_at_the_end_are_not_stable() {
    let o = drive(&Case {
        text: CLEAN,
        cut_ms: f64::MAX,
        acked_ms: Some(2130),
        extra_master: Some((4000, OLD)),
        cfg: cfg(true, 5),
    });
    assert_eq!(
        o.settled,
        Err("127.0.0.1:17500 also answers ROLE master".into())
    );
}

#[test]
fn with_no_failover_the_fault_is_reverted_and_the_old_primary_settles() {
    let o = drive(&Case {
        text: "",
        cut_ms: f64::MAX,
        acked_ms: None,
        extra_master: None,
        cfg: cfg(false, 3),
    });
    assert_eq!(
        o.path,
        [
            (0, "observe"),
            (3000, "settle"),
            (4000, "stabilize"),
            (6000, "finished")
        ]
    );
    assert!(o.reverted);
    assert_eq!(o.settled, Ok((6000, OLD)));
}

#[test]
fn without_the_write_on_the_new_primary_observing_waits() {
    let o = drive(&Case {
        text: CLEAN,
        cut_ms: f64::MAX,
        acked_ms: None,
        extra_master: None,
        cfg: cfg(true, 4),
    });
    assert_eq!(o.path[1], (4000, "settle"));
    assert_eq!(o.settled, Ok((7000, NEW)));
}

#[test]
fn assess_names_what_is_missing() {
    let a = Addr::local;
    let cases: &[(Probe, Result<Addr, String>)] = &[
        (
            Probe {
                named: vec![Some(a(1)), Some(a(1)), Some(a(2))],
                in_progress: false,
                masters: vec![a(1)],
            },
            Ok(a(1)),
        ),
        (
            Probe {
                named: vec![Some(a(1)), None, Some(a(2))],
                in_progress: false,
                masters: vec![a(1)],
            },
            Err("no majority of the 3 Sentinels names one primary".into()),
        ),
        (
            Probe {
                named: vec![Some(a(1)), Some(a(1)), Some(a(1))],
                in_progress: false,
                masters: vec![],
            },
            Err("127.0.0.1:1 does not answer ROLE master".into()),
        ),
    ];
    for (p, want) in cases {
        assert_eq!(&assess(p), want, "{p:?}");
    }
}

#[test]
fn a_failover_after_the_check_is_found_and_named() {
    let t0 = Instant::now();
    let mut t = Timeline::new(Duration::from_secs(15));
    for (ms, s, ch, p) in events(SECOND) {
        let at = t0 + Duration::from_secs_f64(ms / 1e3);
        t.ingest(s, at, SystemTime::UNIX_EPOCH, parse(ch, p));
    }
    let since = |ms: u64| t0 + Duration::from_millis(ms);
    assert_eq!(
        failover_since(&t, "m", since(3110)),
        Some("+odown 15 ms".into())
    );
    assert_eq!(failover_since(&t, "m", since(5300)), None);
    assert_eq!(failover_since(&t, "other", since(0)), None);
}

/// Found by the short-pause drill: an `observe` no longer than the window could never settle.
#[test]
fn stabilizing_lasts_at_least_twice_the_window_whatever_observe_is() {
    let o = drive(&Case {
        text: "",
        cut_ms: f64::MAX,
        acked_ms: None,
        extra_master: None,
        cfg: cfg(false, 2),
    });
    assert_eq!(o.settled, Ok((5000, OLD)));
    assert_eq!(cfg(false, 2).stabilize_bound(), Duration::from_secs(4));
}
