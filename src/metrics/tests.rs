use std::time::{Duration, Instant, SystemTime};

use super::*;
use crate::failover::SwitchReports;
use crate::failover::episode::Observed;

fn failover(started_s: u64) -> Failover {
    Failover {
        master: "mymaster".into(),
        outcome: Outcome::FailedOver,
        old: Some(Addr::new("127.0.0.1", 7001)),
        new: Some(Addr::new("127.0.0.1", 7002)),
        observed: Observed::Live,
        epoch: Some(3),
        phases: vec![
            ("try_failover", Some(0.0)),
            ("promoted_slave", Some(150.0)),
            ("switch_master", Some(1_400.0)),
            ("failover_end", None),
        ],
        switch_master: Some(SwitchReports {
            sentinels: 3,
            spread_ms: 2.0,
        }),
        duration_ms: 2_000.0,
        started: SystemTime::UNIX_EPOCH + Duration::from_secs(started_s),
        origin: Instant::now(),
    }
}

/// The value of the sample `series` (name and labels as printed) in `text`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn a_failover_counts_observes_its_phases_and_stamps_its_end() {
    let m = Metrics::new();
    m.failover(&failover(1_000));
    let text = m.encode(SystemTime::UNIX_EPOCH + Duration::from_secs(1_012));
    let counted =
        r#"warden_failovers_total{group="default",master="mymaster",outcome="failed_over"}"#;
    assert_eq!(sample(&text, counted), Some(1.0), "{text}");
    // try_failover lasted 0.15 s, promoted_slave 1.25 s, switch_master 0.6 s (to the end).
    let phase = |p: &str, le: &str| {
        sample(
            &text,
            &format!(
                r#"warden_failover_phase_seconds_bucket{{group="default",master="mymaster",phase="{p}",le="{le}"}}"#
            ),
        )
    };
    assert_eq!(phase("try_failover", "0.1"), Some(0.0), "{text}");
    assert_eq!(phase("try_failover", "0.25"), Some(1.0), "{text}");
    assert_eq!(phase("promoted_slave", "1"), Some(0.0), "{text}");
    assert_eq!(phase("promoted_slave", "2"), Some(1.0), "{text}");
    assert_eq!(phase("switch_master", "1"), Some(1.0), "{text}");
    assert!(!text.contains("failover_end"), "{text}");
    let last = r#"warden_last_failover_timestamp_seconds{group="default",master="mymaster"}"#;
    assert_eq!(sample(&text, last), Some(1_002.0), "{text}");
    let since = r#"warden_seconds_since_last_failover{group="default",master="mymaster"}"#;
    assert_eq!(sample(&text, since), Some(10.0), "{text}");
    let primary = r#"warden_primary_info{group="default",master="mymaster",addr="127.0.0.1:7002"}"#;
    assert_eq!(sample(&text, primary), Some(1.0), "{text}");
}

#[test]
fn a_new_primary_replaces_the_old_series() {
    let m = Metrics::new();
    m.set_primary("mymaster", "127.0.0.1:7001");
    m.set_primary("mymaster", "127.0.0.1:7001");
    m.set_primary("mymaster", "127.0.0.1:7002");
    let text = m.encode(SystemTime::now());
    let series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("warden_primary_info{"))
        .collect();
    assert_eq!(
        series,
        [r#"warden_primary_info{group="default",master="mymaster",addr="127.0.0.1:7002"} 1"#]
    );
}

#[test]
fn ready_once_a_sentinel_is_subscribed_and_the_primary_known() {
    let m = Metrics::new();
    let s: Vec<Addr> = (0..3).map(|i| Addr::new("127.0.0.1", 26379 + i)).collect();
    m.watching("mymaster", &s);
    assert_eq!(m.readiness(), Readiness::NotReady("no Sentinel subscribed"));
    m.set_sentinel_up("mymaster", &s[1].to_string(), true);
    assert_eq!(
        m.readiness(),
        Readiness::NotReady("the primary is not known yet")
    );
    m.set_primary("mymaster", "127.0.0.1:7001");
    assert_eq!(m.readiness(), Readiness::Ready);
    let text = m.encode(SystemTime::now());
    assert_eq!(
        sample(
            &text,
            r#"warden_sentinels_reachable{group="default",master="mymaster"}"#
        ),
        Some(1.0),
        "{text}"
    );
    // Counters exist from the start, so the first failover is an increase.
    let aborted = r#"warden_failovers_total{group="default",master="mymaster",outcome="aborted"}"#;
    assert_eq!(sample(&text, aborted), Some(0.0), "{text}");
    let hazard = r#"warden_hazards_total{group="default",master="mymaster",kind="rto-exceeded"}"#;
    assert_eq!(sample(&text, hazard), Some(0.0), "{text}");
    m.set_sentinel_up("mymaster", &s[1].to_string(), false);
    assert_eq!(m.readiness(), Readiness::NotReady("no Sentinel subscribed"));
    m.set_sentinel_up("mymaster", &s[0].to_string(), true);
    m.stopped();
    assert_eq!(m.readiness(), Readiness::NotReady("shutting down"));
}

#[test]
fn healthy_while_the_loop_turns() {
    let m = Metrics::new();
    let t0 = Instant::now();
    assert!(!m.healthy(t0));
    m.heartbeat(t0);
    assert!(m.healthy(t0 + Duration::from_secs(1)));
    assert!(!m.healthy(t0 + STALL));
    m.heartbeat(t0 + STALL);
    m.stopped();
    assert!(!m.healthy(t0 + STALL));
}

#[test]
fn the_setters_for_hazards_doctor_and_backups_reach_the_text() {
    let m = Metrics::new();
    m.set_quorum_ok("mymaster", false);
    m.set_replica_lag_bytes("mymaster", "127.0.0.1:7002", 1234);
    m.set_replica_lag_bytes("mymaster", "127.0.0.1:7003", 5);
    m.remove_replica("mymaster", "127.0.0.1:7003");
    m.set_exposure("mymaster", 17, 0.5);
    m.hazard("mymaster", "no_quorum");
    m.hazard("mymaster", "no_quorum");
    m.set_doctor_findings("warning", 2);
    m.set_backup_age("mymaster", Duration::from_secs(90));
    m.set_tilt("mymaster", "127.0.0.1:26379", true);
    let text = m.encode(SystemTime::now());
    for (series, value) in [
        (
            r#"warden_quorum_ok{group="default",master="mymaster"}"#,
            0.0,
        ),
        (
            r#"warden_replica_lag_bytes{group="default",master="mymaster",replica="127.0.0.1:7002"}"#,
            1234.0,
        ),
        (
            r#"warden_exposure_writes{group="default",master="mymaster"}"#,
            17.0,
        ),
        (
            r#"warden_exposure_seconds{group="default",master="mymaster"}"#,
            0.5,
        ),
        (
            r#"warden_hazards_total{group="default",master="mymaster",kind="no_quorum"}"#,
            2.0,
        ),
        (r#"warden_doctor_findings{severity="warning"}"#, 2.0),
        (
            r#"warden_backup_age_seconds{group="default",master="mymaster"}"#,
            90.0,
        ),
        (
            r#"warden_tilt{group="default",master="mymaster",sentinel="127.0.0.1:26379"}"#,
            1.0,
        ),
    ] {
        assert_eq!(sample(&text, series), Some(value), "{series} in {text}");
    }
    assert!(!text.contains("7003"), "{text}");
    // Counters are described with their _total name.
    assert!(
        text.contains("# TYPE warden_hazards_total counter"),
        "{text}"
    );
}

#[test]
fn ready_only_once_every_watched_master_has_a_primary() {
    let m = Metrics::new();
    let s = [Addr::new("127.0.0.1", 26379)];
    m.watching("orders", &s);
    m.watching("sessions", &s);
    m.set_sentinel_up("orders", &s[0].to_string(), true);
    m.set_sentinel_up("sessions", &s[0].to_string(), true);
    m.set_primary("orders", "127.0.0.1:7001");
    assert_eq!(
        m.readiness(),
        Readiness::NotReady("the primary is not known yet")
    );
    m.set_primary("sessions", "127.0.0.1:7101");
    assert_eq!(m.readiness(), Readiness::Ready);
}

#[test]
fn a_poll_sets_quorum_lag_and_exposure_and_drops_a_replica_no_longer_listed() {
    use crate::failover::hazard::{
        NodeSeen, PrimarySeen, ReplicaLine, SentinelAnswer, SentinelSeen, Snapshot,
    };
    let line = |port, offset| ReplicaLine {
        addr: Addr::new("127.0.0.1", port),
        offset,
        lag_secs: 0,
    };
    let mut snap = Snapshot {
        master: "m".into(),
        sentinels: vec![SentinelSeen {
            addr: Addr::new("127.0.0.1", 26379),
            answer: Ok(SentinelAnswer {
                primary: Some(Addr::new("127.0.0.1", 7001)),
                config_epoch: Some(1),
                quorum: Ok(()),
                tilt: false,
                other_sentinels: 2,
                down_after_ms: Some(1000),
            }),
        }],
        nodes: vec![NodeSeen {
            addr: Addr::new("127.0.0.1", 7001),
            role: Some("master".into()),
            link_up: None,
            offset: None,
        }],
        primary: Some(PrimarySeen {
            offset: 1000,
            replicas: vec![line(7002, 900), line(7003, 1000)],
            ops_per_sec: 100.0,
        }),
        primary_addr: Some(Addr::new("127.0.0.1", 7001)),
    };
    let m = Metrics::new();
    m.polled("m", &snap, Some(1000.0));
    let text = m.encode(SystemTime::now());
    let lag = |port: u16| {
        format!(
            r#"warden_replica_lag_bytes{{group="default",master="m",replica="127.0.0.1:{port}"}}"#
        )
    };
    assert_eq!(
        sample(&text, r#"warden_quorum_ok{group="default",master="m"}"#),
        Some(1.0)
    );
    assert_eq!(sample(&text, &lag(7002)), Some(100.0), "{text}");
    assert_eq!(sample(&text, &lag(7003)), Some(0.0), "{text}");
    assert_eq!(
        sample(
            &text,
            r#"warden_exposure_seconds{group="default",master="m"}"#
        ),
        Some(0.0)
    );

    snap.primary.as_mut().unwrap().replicas.remove(0);
    if let Ok(a) = snap.sentinels[0].answer.as_mut() {
        a.quorum = Err("NOQUORUM".into());
    }
    m.polled("m", &snap, Some(1000.0));
    let text = m.encode(SystemTime::now());
    assert_eq!(
        sample(&text, r#"warden_quorum_ok{group="default",master="m"}"#),
        Some(0.0)
    );
    assert_eq!(sample(&text, &lag(7002)), None, "{text}");
    assert_eq!(sample(&text, &lag(7003)), Some(0.0), "{text}");
}

#[test]
fn two_groups_with_a_master_of_the_same_name_keep_their_series_apart() {
    let m = Metrics::new();
    let (eu, us) = (m.group("eu"), m.group("us"));
    let s = [Addr::new("127.0.0.1", 26379)];
    eu.watching("mymaster", &s);
    us.watching("mymaster", &s);
    eu.set_sentinel_up("mymaster", &s[0].to_string(), true);
    eu.set_primary("mymaster", "127.0.0.1:7001");
    assert_eq!(
        m.readiness(),
        Readiness::NotReady("the primary is not known yet"),
        "us's primary is not known"
    );
    us.set_primary("mymaster", "127.0.0.1:8001");
    assert_eq!(m.readiness(), Readiness::Ready);
    eu.failover(&failover(1_000));
    let text = m.encode(SystemTime::UNIX_EPOCH + Duration::from_secs(1_010));
    let total = |g: &str| {
        sample(
            &text,
            &format!(
                r#"warden_failovers_total{{group="{g}",master="mymaster",outcome="failed_over"}}"#
            ),
        )
    };
    assert_eq!((total("eu"), total("us")), (Some(1.0), Some(0.0)), "{text}");
    let reachable = |g: &str| {
        sample(
            &text,
            &format!(r#"warden_sentinels_reachable{{group="{g}",master="mymaster"}}"#),
        )
    };
    assert_eq!((reachable("eu"), reachable("us")), (Some(1.0), Some(0.0)));
    assert!(
        text.contains(
            r#"warden_primary_info{group="us",master="mymaster",addr="127.0.0.1:8001"} 1"#
        )
    );
    assert_eq!(
        sample(
            &text,
            r#"warden_seconds_since_last_failover{group="eu",master="mymaster"}"#
        ),
        Some(8.0),
        "{text}"
    );
    assert_eq!(us.group_name(), "us");
}
