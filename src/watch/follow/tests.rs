//! What a followed master raises and clears from events and polls, on a virtual clock.

use std::time::{Duration, Instant, SystemTime};

use super::*;
use crate::addr::Addr;
use crate::failover::hazard::{SentinelAnswer, SentinelSeen, State};
use crate::sentinel::event::parse;

fn followed() -> Followed {
    let s = Settings {
        limits: Limits::default(),
        flap_count: 3,
        flap_window: Duration::from_secs(600),
    };
    Followed::new("m", 3, None, &s)
}

fn entry(at: Instant, channel: &str, payload: &str) -> Entry {
    Entry {
        event: parse(channel, payload),
        first_at: at,
        first_wall: SystemTime::UNIX_EPOCH,
        reports: Vec::new(),
    }
}

/// One Sentinel at port 26379 answering, in TILT or not.
fn poll(tilt: bool) -> Snapshot {
    let primary = Addr::local(6379);
    Snapshot {
        master: "m".into(),
        sentinels: vec![SentinelSeen {
            addr: Addr::local(26379),
            answer: Ok(SentinelAnswer {
                primary: Some(primary.clone()),
                config_epoch: Some(1),
                quorum: Ok(()),
                tilt,
                other_sentinels: 2,
                down_after_ms: Some(1000),
            }),
        }],
        nodes: Vec::new(),
        primary: None,
        primary_addr: Some(primary),
    }
}

fn states(hz: &[Hazard]) -> Vec<(HazardKind, State)> {
    hz.iter().map(|h| (h.kind, h.state)).collect()
}

#[test]
fn a_failover_loop_ends_when_the_master_is_back_not_a_replica_or_a_sentinel() {
    let (t, mut f) = (Instant::now(), followed());
    let master = "master m 127.0.0.1 6379";
    assert!(
        f.entry(&entry(t, "+try-failover", master), "s", Some(1))
            .is_empty()
    );
    let abort = entry(t, "-failover-abort-no-good-slave", master);
    assert!(f.entry(&abort, "s", Some(1)).is_empty());
    let again = f.entry(&entry(t, "+try-failover", master), "s", Some(2));
    assert_eq!(states(&again), [(HazardKind::FailoverLoop, State::Raised)]);
    for other in [
        "slave 127.0.0.1:6380 127.0.0.1 6380 @ m 127.0.0.1 6379",
        "sentinel 0123abcd 127.0.0.1 26380 @ m 127.0.0.1 6379",
    ] {
        assert!(f.entry(&entry(t, "-sdown", other), "s", Some(2)).is_empty());
    }
    assert!(f.entry(&abort, "s", Some(2)).is_empty(), "still one loop");
    let back = f.entry(&entry(t, "-odown", master), "s", Some(2));
    assert_eq!(states(&back), [(HazardKind::FailoverLoop, State::Cleared)]);
}

#[test]
fn tilt_whose_end_was_missed_is_cleared_by_two_polls_after_it() {
    let (t, mut f) = (Instant::now(), followed());
    let limits = Limits::default();
    let s = "127.0.0.1:26379";
    let ms = |n: u64| t + Duration::from_millis(n);
    let raised = f.tilt(ms(100), s, true);
    assert_eq!(states(&raised), [(HazardKind::Tilt, State::Raised)]);
    // A poll that ended before the `+tilt` arrived saw the Sentinel before it.
    assert!(
        f.polled(ms(50), ms(50), &poll(false), &limits, None)
            .is_empty()
    );
    // The first poll after it may have asked before TILT began; the second cannot have.
    assert!(
        f.polled(ms(600), ms(600), &poll(false), &limits, None)
            .is_empty()
    );
    let cleared = f.polled(ms(1100), ms(1100), &poll(false), &limits, None);
    assert_eq!(states(&cleared), [(HazardKind::Tilt, State::Cleared)]);
    assert!(
        f.polled(ms(1600), ms(1600), &poll(false), &limits, None)
            .is_empty()
    );
}

#[test]
fn tilt_seen_again_by_a_poll_needs_two_calm_polls_anew_and_is_reported_once() {
    let (t, mut f) = (Instant::now(), followed());
    let limits = Limits::default();
    let ms = |n: u64| t + Duration::from_millis(n);
    let raised = f.polled(ms(0), ms(0), &poll(true), &limits, None);
    assert_eq!(states(&raised), [(HazardKind::Tilt, State::Raised)]);
    assert!(
        f.polled(ms(500), ms(500), &poll(false), &limits, None)
            .is_empty()
    );
    assert!(
        f.polled(ms(1000), ms(1000), &poll(true), &limits, None)
            .is_empty()
    );
    assert!(
        f.polled(ms(1500), ms(1500), &poll(false), &limits, None)
            .is_empty()
    );
    let cleared = f.polled(ms(2000), ms(2000), &poll(false), &limits, None);
    assert_eq!(states(&cleared), [(HazardKind::Tilt, State::Cleared)]);
    // A `-tilt` after the polls ended it ends nothing more.
    assert!(f.tilt(ms(2100), "127.0.0.1:26379", false).is_empty());
}

#[test]
fn a_poll_begun_before_a_minus_tilt_does_not_raise_tilt_again() {
    let (t, mut f) = (Instant::now(), followed());
    let limits = Limits::default();
    let s = "127.0.0.1:26379";
    let ms = |n: u64| t + Duration::from_millis(n);
    assert_eq!(
        states(&f.tilt(ms(0), s, true)),
        [(HazardKind::Tilt, State::Raised)]
    );
    assert_eq!(
        states(&f.tilt(ms(300), s, false)),
        [(HazardKind::Tilt, State::Cleared)]
    );
    // Asked at 200 ms, while still in TILT, answered after the `-tilt`.
    assert!(
        f.polled(ms(200), ms(400), &poll(true), &limits, None)
            .is_empty()
    );
    // A poll begun after it that finds TILT again is a new occurrence.
    let again = f.polled(ms(500), ms(600), &poll(true), &limits, None);
    assert_eq!(states(&again), [(HazardKind::Tilt, State::Raised)]);
}

/// Issue 23: a Sentinel that fails over again right after a confirmed switch raises
/// `failover-after-failover` once (not again on its `+elected-leader`), with the window the
/// poll's down-after gives; a quiet window clears it.
#[test]
fn a_failover_right_after_a_switch_is_raised_once_with_its_sender() {
    let (t, mut f) = (Instant::now(), followed());
    let ms = Duration::from_millis;
    f.polled(t, t, &poll(false), &Limits::default(), None);
    let master = "master m 127.0.0.1 6380";
    assert!(f.switched(t).is_empty());
    let again = f.entry(
        &entry(t + ms(1005), "+try-failover", master),
        "127.0.0.1:26380",
        Some(2),
    );
    assert_eq!(
        states(&again),
        [(HazardKind::FailoverAfterFailover, State::Raised)]
    );
    assert_eq!(
        again[0].detail,
        "127.0.0.1:26380 started a failover 1005 ms after the last switch (window 3000 ms)"
    );
    let leader = entry(t + ms(1100), "+elected-leader", master);
    assert!(f.entry(&leader, "127.0.0.1:26380", Some(2)).is_empty());
    assert!(
        f.tick(t + ms(4000)).is_empty(),
        "within a window of the last start"
    );
    let calm = f.tick(t + ms(4100));
    assert_eq!(
        states(&calm),
        [(HazardKind::FailoverAfterFailover, State::Cleared)]
    );
}

/// Issue 23: a Sentinel's answer that only a minority shares is a split view at once (no
/// hold: it is an answer, not a sample), reported once; a poll where all agree clears it.
#[test]
fn an_outvoted_answer_is_a_split_view_at_once_until_a_poll_agrees() {
    let (t, mut f) = (Instant::now(), followed());
    let o = crate::failover::episode::Outvoted {
        named: Addr::local(6380),
        epoch: 2,
        primary: Addr::local(6379),
        support: (1, 3),
    };
    let raised = f.outvoted("127.0.0.1:26379", &o);
    assert_eq!(states(&raised), [(HazardKind::SplitView, State::Raised)]);
    assert_eq!(
        raised[0].detail,
        "127.0.0.1:26379 names 127.0.0.1:6380 (config epoch 2), 1 of 3 Sentinels: not followed, \
         127.0.0.1:6379 stays the primary"
    );
    assert!(f.outvoted("127.0.0.1:26379", &o).is_empty(), "once");
    let agreed = f.polled(t, t, &poll(false), &Limits::default(), None);
    assert_eq!(states(&agreed), [(HazardKind::SplitView, State::Cleared)]);
}
