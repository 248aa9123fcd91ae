//! Each detector on a virtual clock; each hazard reported once per occurrence.

use super::history::LOOP_WINDOW;
use super::*;

fn t0() -> Instant {
    Instant::now()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn a(port: u16) -> Addr {
    Addr::local(port)
}

fn answer(primary: u16, quorum: bool) -> SentinelAnswer {
    SentinelAnswer {
        primary: Some(a(primary)),
        config_epoch: Some(1),
        quorum: if quorum {
            Ok(())
        } else {
            Err("NOQUORUM 1 usable Sentinels".into())
        },
        tilt: false,
        other_sentinels: 2,
        down_after_ms: Some(1000),
    }
}

/// 3 Sentinels that agree on 1 (replicas 2, 3 in sync), unless changed.
fn healthy() -> Snapshot {
    Snapshot {
        master: "m".into(),
        sentinels: (0..3)
            .map(|i| SentinelSeen {
                addr: a(26000 + i),
                answer: Ok(answer(1, true)),
            })
            .collect(),
        nodes: vec![
            NodeSeen {
                addr: a(1),
                role: Some("master".into()),
                link_up: None,
                offset: None,
            },
            NodeSeen {
                addr: a(2),
                role: Some("slave".into()),
                link_up: Some(true),
                offset: None,
            },
            NodeSeen {
                addr: a(3),
                role: Some("slave".into()),
                link_up: Some(true),
                offset: None,
            },
        ],
        primary: Some(PrimarySeen {
            offset: 1000,
            replicas: vec![
                ReplicaLine {
                    addr: a(2),
                    offset: 1000,
                    lag_secs: 0,
                },
                ReplicaLine {
                    addr: a(3),
                    offset: 1000,
                    lag_secs: 0,
                },
            ],
            ops_per_sec: 500.0,
        }),
        primary_addr: Some(a(1)),
    }
}

/// Feeds snapshots at the given seconds; returns every report as `kind state`.
fn run(snaps: &[(u64, Snapshot)], rate: Option<f64>) -> Vec<String> {
    let start = t0();
    let mut tr = Tracker::new("m");
    let mut out = Vec::new();
    for (at, s) in snaps {
        let found = detect(s, &Limits::default(), rate);
        for h in tr.update(start + secs(*at), &SNAPSHOT_KINDS, found) {
            out.push(format!("{} {:?}", h.kind, h.state));
        }
    }
    out
}

#[test]
fn a_healthy_master_has_no_hazard() {
    assert!(detect(&healthy(), &Limits::default(), Some(100.0)).is_empty());
}

#[test]
fn quorum_lost_and_unreachable_are_reported_once_and_cleared_once() {
    let mut lost = healthy();
    lost.sentinels[0].answer = Ok(answer(1, false));
    lost.sentinels[1].answer = Err("timed out".into());
    lost.sentinels[2].answer = Err("timed out".into());
    let snaps = [
        (0, healthy()),
        (5, lost.clone()),
        (10, lost.clone()),
        (15, lost),
        (20, healthy()),
        (25, healthy()),
    ];
    let got = run(&snaps, None);
    assert_eq!(
        got,
        [
            "sentinel-unreachable Raised",
            "sentinel-unreachable Raised",
            "quorum-lost Raised",
            "quorum-lost Cleared",
            "sentinel-unreachable Cleared",
            "sentinel-unreachable Cleared",
        ]
    );
}

#[test]
fn no_sentinel_answering_is_quorum_lost() {
    let mut s = healthy();
    for x in &mut s.sentinels {
        x.answer = Err("refused".into());
    }
    let kinds: Vec<_> = detect(&s, &Limits::default(), None)
        .iter()
        .map(|f| f.kind)
        .collect();
    assert!(kinds.contains(&HazardKind::QuorumLost), "{kinds:?}");
}

#[test]
fn split_view_and_two_primaries_must_hold_over_two_polls() {
    let mut split = healthy();
    split.sentinels[2].answer = Ok(answer(2, true));
    split.nodes[1].role = Some("master".into());
    // One poll inside a failover: nothing. Two polls 5 s apart: each once.
    assert!(run(&[(0, split.clone()), (5, healthy())], None).is_empty());
    let got = run(
        &[
            (0, split.clone()),
            (5, split.clone()),
            (10, split),
            (15, healthy()),
        ],
        None,
    );
    assert_eq!(
        got,
        [
            "split-view Raised",
            "two-primaries Raised",
            "split-view Cleared",
            "two-primaries Cleared",
        ]
    );
}

#[test]
fn link_down_and_lag_are_per_replica() {
    let mut s = healthy();
    s.nodes[1].link_up = Some(false);
    let p = s.primary.as_mut().unwrap();
    p.offset = 5_000_000;
    p.replicas[0].offset = 10;
    p.replicas[1] = ReplicaLine {
        addr: a(3),
        offset: 4_999_000,
        lag_secs: 12,
    };
    let found = detect(&s, &Limits::default(), Some(1000.0));
    let got: Vec<_> = found
        .iter()
        .map(|f| format!("{} {}", f.kind, f.subject.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        got,
        ["replica-link-down 127.0.0.1:2", "replica-lag 127.0.0.1:3"],
        "{found:?}"
    );
}

#[test]
fn exposure_is_the_best_replicas_lag_at_the_write_rate() {
    let mut s = healthy();
    let p = s.primary.as_mut().unwrap();
    p.offset = 1_000_000;
    p.replicas[0].offset = 800_000;
    p.replicas[1].offset = 900_000;
    // 100 000 bytes behind at 50 000 bytes/s: 2 s, at 500 ops/s: 1000 writes.
    let e = exposure(p, Some(50_000.0)).unwrap();
    assert_eq!(e.bytes, 100_000);
    assert!(
        (e.secs - 2.0).abs() < 1e-9 && (e.writes - 1000.0).abs() < 1e-6,
        "{e:?}"
    );
    let found = detect(&s, &Limits::default(), Some(50_000.0));
    assert!(
        found.iter().any(|f| f.kind == HazardKind::Exposure),
        "{found:?}"
    );
    // The same lag at a fast stream is a few ms: no exposure.
    let found = detect(&s, &Limits::default(), Some(100_000_000.0));
    assert!(
        !found.iter().any(|f| f.kind == HazardKind::Exposure),
        "{found:?}"
    );
}

#[test]
fn lag_and_exposure_of_one_poll_after_a_primary_stall_are_no_hazard() {
    let mut behind = healthy();
    let p = behind.primary.as_mut().unwrap();
    p.offset += 34_000;
    for r in &mut p.replicas {
        r.lag_secs = 12;
    }
    assert!(
        detect(&behind, &Limits::default(), None)
            .iter()
            .any(|f| f.kind == HazardKind::Exposure)
    );
    // Answered as the primary resumed; the next poll, a moment later, is healthy.
    assert!(run(&[(0, behind.clone()), (0, healthy())], None).is_empty());
    let got = run(&[(0, behind.clone()), (1, behind), (2, healthy())], None);
    assert_eq!(
        got,
        [
            "replica-lag Raised",
            "replica-lag Raised",
            "exposure Raised",
            "replica-lag Cleared",
            "replica-lag Cleared",
            "exposure Cleared",
        ]
    );
}

#[test]
fn exposure_without_a_rate_uses_the_ack_age() {
    let p = PrimarySeen {
        offset: 100,
        replicas: vec![ReplicaLine {
            addr: a(2),
            offset: 50,
            lag_secs: 7,
        }],
        ops_per_sec: 10.0,
    };
    let e = exposure(&p, None).unwrap();
    assert_eq!((e.bytes, e.secs, e.writes), (50, 7.0, 70.0));
}

#[test]
fn flapping_needs_the_count_within_the_window_and_clears_when_it_drains() {
    let start = t0();
    let mut tr = Tracker::new("m");
    let mut flaps = Flaps::new(secs(600), 2);
    let mut got = Vec::new();
    let mut feed = |tr: &mut Tracker, at: u64, f: Vec<Finding>| {
        for h in tr.update(start + secs(at), &[HazardKind::Flapping], f) {
            got.push(format!("{} {:?} {}", h.kind, h.state, h.detail));
        }
    };
    let f = flaps.failover(start);
    feed(&mut tr, 0, f);
    let f = flaps.failover(start + secs(60));
    feed(&mut tr, 60, f);
    let f = flaps.failover(start + secs(120));
    feed(&mut tr, 120, f);
    let f = flaps.look(start + secs(601));
    feed(&mut tr, 601, f);
    let f = flaps.look(start + secs(800));
    feed(&mut tr, 800, f);
    assert_eq!(
        got,
        [
            "flapping Raised 2 failovers within 10m",
            "flapping Cleared 2 failovers within 10m",
        ]
    );
}

#[test]
fn a_failover_loop_is_repeated_epochs_with_an_abort_and_no_switch() {
    let start = t0();
    let mut at = Attempts::default();
    assert!(at.epoch(start, 5).is_empty());
    assert!(at.epoch(start, 5).is_empty(), "the same epoch again");
    assert!(
        at.aborted(start + secs(1)).is_empty(),
        "one attempt is no loop"
    );
    let f = at.epoch(start + secs(20), 6);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].kind, HazardKind::FailoverLoop);
    assert!(f[0].detail.contains("epoch 5 -> 6"), "{f:?}");
    at.switched();
    assert!(at.look().is_empty());
    // Attempts far apart are not one loop.
    at.epoch(start, 7);
    at.aborted(start);
    assert!(at.epoch(start + LOOP_WINDOW + secs(1), 8).is_empty());
}

#[test]
fn rto_is_exceeded_strictly_above_the_target() {
    assert!(rto(999.0, Duration::from_millis(1000)).is_none());
    assert!(rto(1000.0, Duration::from_millis(1000)).is_none());
    let f = rto(1200.0, Duration::from_millis(1000)).unwrap();
    assert_eq!(
        f.detail,
        "clients could not write for 1200 ms (target 1000 ms)"
    );
}

#[test]
fn instant_hazards_are_reported_each_time_and_never_cleared() {
    let start = t0();
    let mut tr = Tracker::new("m");
    let f = || Finding::new(HazardKind::StaleSwitch, None, "x".into());
    assert_eq!(
        tr.update(start, &[HazardKind::StaleSwitch], vec![f()])
            .len(),
        1
    );
    assert_eq!(
        tr.update(start, &[HazardKind::StaleSwitch], vec![f()])
            .len(),
        1
    );
    assert!(
        tr.update(start, &[HazardKind::StaleSwitch], vec![])
            .is_empty()
    );
}

#[test]
fn tilt_from_events_is_raised_once_per_sentinel_and_cleared_once() {
    let start = t0();
    let mut tr = Tracker::new("m");
    let tilt = |s: &str| {
        Finding::new(
            HazardKind::Tilt,
            Some(s.into()),
            "#tilt mode entered".into(),
        )
    };
    assert_eq!(tr.raise(tilt("s1")).len(), 1);
    assert!(tr.raise(tilt("s1")).is_empty(), "a repeat");
    assert_eq!(tr.raise(tilt("s2")).len(), 1);
    // A snapshot does not decide tilt: it stays raised.
    assert!(tr.update(start, &SNAPSHOT_KINDS, vec![]).is_empty());
    assert_eq!(tr.clear(HazardKind::Tilt, Some("s1".into())).len(), 1);
    assert!(tr.clear(HazardKind::Tilt, Some("s1".into())).is_empty());
}

#[test]
fn a_switch_is_confirmed_by_role_and_a_newer_epoch() {
    assert!(switch_confirmed(true, Some(3), Some(2)));
    assert!(switch_confirmed(true, Some(3), None));
    assert!(!switch_confirmed(false, Some(3), Some(2)), "not a master");
    assert!(!switch_confirmed(true, Some(2), Some(2)), "an old epoch");
    assert!(
        !switch_confirmed(true, None, Some(2)),
        "no Sentinel names it"
    );
}

#[test]
fn a_hazard_line_names_kind_master_subject_and_state() {
    let h = Hazard {
        master: "m".into(),
        kind: HazardKind::ReplicaLag,
        subject: Some("10.0.0.2:6379".into()),
        state: State::Cleared,
        detail: "0 bytes".into(),
    };
    assert_eq!(
        h.to_string(),
        "hazard replica-lag master=m subject=10.0.0.2:6379 cleared: 0 bytes"
    );
}

#[test]
fn the_gauges_agree_with_the_detectors() {
    let g = gauges(&healthy(), Some(100.0));
    assert!(g.quorum_ok);
    assert_eq!(g.replica_lag, Some(vec![(a(2), 0), (a(3), 0)]));
    assert_eq!(g.exposure.map(|e| e.bytes), Some(0));

    let mut s = healthy();
    s.sentinels[0].answer = Ok(answer(1, false));
    // The replica's own offset is fresher than the primary's line for it.
    s.nodes[2].offset = Some(990);
    let p = s.primary.as_mut().unwrap();
    p.replicas[1].offset = 900;
    let g = gauges(&s, None);
    assert!(!g.quorum_ok);
    assert_eq!(g.replica_lag, Some(vec![(a(2), 0), (a(3), 10)]));

    for x in &mut s.sentinels {
        x.answer = Err("refused".into());
    }
    s.primary = None;
    let g = gauges(&s, None);
    assert!(!g.quorum_ok, "no Sentinel answering is no quorum");
    assert_eq!((g.replica_lag, g.exposure), (None, None));
}

/// What a failover-after-failover table feeds: a confirmed switch, a failover start by a
/// Sentinel, or a look at the clock (ms from the start).
#[derive(Clone, Copy)]
enum Re {
    Switch(u64),
    Start(u64, &'static str),
    Look(u64),
}

/// Issue 23: a failover that starts within 3 × down-after (at least 3 s) of the last switch
/// is raised once, naming its sender and the gap, and cleared after one quiet window.
#[test]
fn a_failover_soon_after_a_switch_is_raised_once_and_cleared_when_stable() {
    use Re::{Look, Start, Switch};
    let ms = Duration::from_millis;
    type Case<'a> = (&'a str, Option<Duration>, &'a [Re], &'a [&'a str]);
    let cases: &[Case] = &[
        (
            "down-after 1 s: 1005 ms after the switch (the quick start's trial 3)",
            Some(ms(1000)),
            &[
                Switch(0),
                Start(1005, "s1"),
                Start(1010, "s1"),
                Look(3000),
                Look(4010),
            ],
            &[
                "Raised s1 started a failover 1005 ms after the last switch (window 3000 ms)",
                "Cleared s1 started a failover 1005 ms after the last switch (window 3000 ms)",
            ],
        ),
        (
            "the second failover's own switch keeps it until one window after it",
            Some(ms(1000)),
            &[
                Switch(0),
                Start(1005, "s1"),
                Switch(2100),
                Look(4500),
                Look(5100),
            ],
            &[
                "Raised s1 started a failover 1005 ms after the last switch (window 3000 ms)",
                "Cleared s1 started a failover 1005 ms after the last switch (window 3000 ms)",
            ],
        ),
        (
            "after the window: a new failover, no hazard",
            Some(ms(1000)),
            &[Switch(0), Start(3001, "s1"), Look(10_000)],
            &[],
        ),
        (
            "down-after 5 s: the window is 15 s",
            Some(ms(5000)),
            &[Switch(0), Start(14_000, "s2"), Look(28_000), Look(29_000)],
            &[
                "Raised s2 started a failover 14000 ms after the last switch (window 15000 ms)",
                "Cleared s2 started a failover 14000 ms after the last switch (window 15000 ms)",
            ],
        ),
        (
            "down-after unknown: at least 3 s",
            None,
            &[Switch(0), Start(2000, "s0"), Look(4999), Look(5000)],
            &[
                "Raised s0 started a failover 2000 ms after the last switch (window 3000 ms)",
                "Cleared s0 started a failover 2000 ms after the last switch (window 3000 ms)",
            ],
        ),
        (
            "no switch seen yet: the first failover is no hazard",
            Some(ms(1000)),
            &[Start(0, "s0"), Start(500, "s1"), Look(10_000)],
            &[],
        ),
    ];
    for (name, down_after, steps, expect) in cases {
        let start = t0();
        let window = Refailovers::window(*down_after);
        let mut tr = Tracker::new("m");
        let mut re = Refailovers::default();
        let mut got = Vec::new();
        let scope = [HazardKind::FailoverAfterFailover];
        for step in *steps {
            let found = match *step {
                Switch(at) => {
                    re.switched(start + ms(at));
                    continue;
                }
                Start(at, s) => (at, re.started(start + ms(at), s, window)),
                Look(at) => (at, re.look(start + ms(at), window)),
            };
            for h in tr.update(start + ms(found.0), &scope, found.1) {
                assert_eq!(h.kind, HazardKind::FailoverAfterFailover);
                got.push(format!("{:?} {}", h.state, h.detail));
            }
        }
        assert_eq!(got, *expect, "{name}");
    }
}
