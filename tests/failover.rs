//! A real failover under the monitor, and the loss check proven against known deletions.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::{TestLab, WAIT, recv_until, until_subscribed, wait_until};
use tokio::sync::mpsc;
use warden::client::Timeouts;
use warden::sentinel::event::{Detail, EventKind};
use warden::sentinel::monitor::{self, Backoff};
use warden::sentinel::timeline::Timeline;
use warden::sentinel::topology;
use warden::workload::{Plan, Workload, WorkloadConfig, loss, tally};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_primary_gives_every_phase_in_order() {
    let t = TestLab::up().await;
    let logs = t.logs();
    let mut lab = t.lab;
    let master = lab.master().to_string();
    let sentinels = lab.sentinels();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _monitor = monitor::spawn(
        &warden::conn::Conn::default(),
        &sentinels,
        Backoff::default(),
        tx,
    );
    let mut timeline = Timeline::new(Duration::from_secs(15));

    // Subscribed to every Sentinel before the fault, so no report can be missed.
    until_subscribed(&mut rx, sentinels.len(), &mut timeline, &logs).await;

    let old = topology::ask_primary(
        &warden::conn::Conn::default(),
        &sentinels,
        &master,
        Timeouts::CONTROL,
    )
    .await
    .expect("primary");
    let origin = Instant::now();
    lab.signal(&old, Signal::SIGKILL).expect("kill primary");

    recv_until(
        &mut rx,
        WAIT,
        "+failover-end and +switch-master",
        &logs,
        |ev| {
            ev.apply(&mut timeline);
            let p = timeline.phases(&master, origin);
            p.failover_end.is_some() && p.switch_master.is_some()
        },
    )
    .await;

    let phases = timeline.phases(&master, origin);
    let missing: Vec<_> = phases.iter().filter(|(_, d)| d.is_none()).collect();
    assert!(missing.is_empty(), "missing {missing:?} in {phases:?}");
    let offsets: Vec<(&str, Duration)> = phases
        .iter()
        .map(|(n, d)| (n, d.unwrap_or_default()))
        .collect();
    // sdown … promoted_slave are each preceded, in one Sentinel, by the phase before them.
    for w in offsets[..7].windows(2) {
        assert!(w[0].1 <= w[1].1, "{} after {}: {offsets:?}", w[0].0, w[1].0);
    }

    // switch_master ≤ failover_end holds when an observer switches first (the usual case).
    // The leader itself publishes +failover-end and then its own +switch-master, so when the
    // leader's report is the first +switch-master, it legitimately comes right after.
    let end = timeline
        .first(&EventKind::FailoverEnd, &master, origin)
        .expect("failover-end entry");
    let switch = timeline
        .first(&EventKind::SwitchMaster, &master, origin)
        .expect("switch-master entry");
    if switch.first_at > end.first_at {
        let leader = end.reports[0].source;
        let first_switch = switch.reports.iter().min_by_key(|r| r.at).expect("report");
        assert_eq!(
            first_switch.source, leader,
            "an observer's +switch-master came after +failover-end: {offsets:?}"
        );
    }

    // The new primary is one of the old replicas.
    let Detail::SwitchMaster { old: from, new, .. } = &switch.event.detail else {
        panic!("not a switch-master: {:?}", switch.event);
    };
    assert_eq!(from, &old);
    let replicas: Vec<_> = lab.nodes().into_iter().filter(|n| n != &old).collect();
    assert!(replicas.contains(new), "{new} is not one of {replicas:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loss_check_counts_exactly_the_deleted_keys() {
    let t = TestLab::up().await;
    let logs = t.logs();
    let lab = &t.lab;
    let sentinels = lab.sentinels();
    let primary = topology::ask_primary(
        &warden::conn::Conn::default(),
        &sentinels,
        lab.master(),
        Timeouts::CONTROL,
    )
    .await
    .expect("primary");
    let plan = Plan {
        config: WorkloadConfig {
            writers: 2,
            rate: 200,
            ..WorkloadConfig::default()
        },
        prefix: "session:losstest".into(),
        sentinels,
        master: lab.master().to_string(),
        conn: warden::conn::Conn::default(),
        epoch: Instant::now(),
        log_dir: None,
    };
    let (wtx, _wrx) = mpsc::unbounded_channel();
    let workload = Workload::start(plan.clone(), wtx);
    let mut con = warden::conn::Conn::default()
        .node(&primary, Timeouts::CONTROL)
        .await
        .expect("connect primary");
    wait_until(WAIT, "300 keys on the primary", &logs, || {
        let mut con = con.clone();
        async move {
            let n: redis::RedisResult<u64> = redis::cmd("DBSIZE").query_async(&mut con).await;
            n.is_ok_and(|n| n >= 300)
        }
    })
    .await;
    let history = workload.stop().await;
    let acked: Vec<u32> = history.acks().map(|(a, _)| a.seq).collect();
    assert!(acked.len() >= 300, "only {} acks", acked.len());

    // Every 10th acknowledged key, 25 of them, deleted; one other key loses its TTL.
    let deleted: HashSet<String> = acked
        .iter()
        .step_by(10)
        .take(25)
        .map(|&s| plan.key(s))
        .collect();
    assert_eq!(deleted.len(), 25);
    let n: u64 = redis::cmd("DEL")
        .arg(deleted.iter().collect::<Vec<_>>())
        .query_async(&mut con)
        .await
        .expect("DEL");
    assert_eq!(n, 25, "every chosen key existed");
    let persisted = plan.key(acked[1]);
    assert!(!deleted.contains(&persisted));
    let p: u32 = redis::cmd("PERSIST")
        .arg(&persisted)
        .query_async(&mut con)
        .await
        .expect("PERSIST");
    assert_eq!(p, 1, "{persisted} had a TTL");

    let tally = loss::check(&plan, &history, &primary)
        .await
        .expect("loss check");
    assert_eq!(tally.checked, acked.len() as u64);
    assert_eq!(tally.lost, 25, "{tally:?}");
    assert_eq!(tally.ttl_gone, 1, "{tally:?}");
    assert_eq!(tally.ttl_off, 0, "{tally:?}");
    assert_eq!(tally.sample.len(), 25.min(tally::SAMPLE));
    for w in &tally.sample {
        assert!(deleted.contains(&w.key), "{} was not deleted", w.key);
        assert_eq!(w.node, primary);
    }
}
