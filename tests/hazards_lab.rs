//! Issue "Production watch", the hazards `tests/hazards.rs` does not provoke: each one made
//! on a real lab and reported by `warden watch --json` exactly once per occurrence (raised
//! when it starts, cleared when it ends), never once per Sentinel or per poll. Issue 23: a
//! failover leader that crashes after promoting a replica.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::Value;
use support::watch::{Watch, hazard, list, manual_failover};
use support::{TestLab, WAIT, Warden};
use warden::addr::Addr;
use warden::client::Timeouts;
use warden::conn::Conn;
use warden::lab::SentinelSettings;

/// `args` on the data node (or, with `sentinel`, the Sentinel) at `addr`.
async fn on<T: redis::FromRedisValue>(addr: &Addr, sentinel: bool, args: &[&str]) -> T {
    let c = Conn::default();
    let mut con = if sentinel {
        c.sentinel(addr, Timeouts::CONTROL).await
    } else {
        c.node(addr, Timeouts::CONTROL).await
    }
    .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    redis::cmd(args[0])
        .arg(&args[1..])
        .query_async(&mut con)
        .await
        .unwrap_or_else(|e| panic!("{args:?} on {addr}: {e}"))
}

/// A watch of `t`'s master, read until its topology is healthy: the primary, both replicas,
/// three Sentinels answering, the quorum. Returns the primary and the replicas.
fn healthy_watch(t: &TestLab, w: &Warden, extra: &[&str]) -> (Watch, Addr, Vec<Addr>) {
    let sentinels = list(&t.lab.sentinels());
    let mut args = vec!["--sentinels", &sentinels, "--master", t.lab.master()];
    args.extend(extra);
    let mut watch = Watch::start(w, &args, t.logs());
    let top = watch.until("a healthy topology", |v| {
        v["type"] == "topology"
            && v["quorum_ok"] == true
            && v["sentinels_answering"] == 3
            && v["replicas"].as_array().is_some_and(|r| r.len() == 2)
    });
    let addr = |v: &Value| v.as_str().expect("addr").parse::<Addr>().expect("addr");
    let replicas = top["replicas"].as_array().unwrap();
    let replicas = replicas.iter().map(|r| addr(&r["addr"])).collect();
    (watch, addr(&top["primary"]), replicas)
}

/// Matches a hazard line of `kind` in `state` about `subject`.
fn about(kind: &'static str, state: &'static str, subject: &Addr) -> impl Fn(&Value) -> bool {
    let subject = subject.to_string();
    move |v| hazard(kind, state)(v) && v["subject"] == subject.as_str()
}

/// A lab whose Sentinels convert a node that answers `ROLE master` out of turn after their
/// own 8 s (4 × the server's 2 s publish period, not the test suite's quicker one), so two
/// primaries last long enough to be seen; `INFO` still every second (the suite's), so a change
/// made by hand is seen within a second.
async fn slow_conversion() -> TestLab {
    TestLab::up_with(SentinelSettings {
        publish_period: Some(Duration::from_secs(2)),
        ..SentinelSettings::default()
    })
    .await
}

/// Freezes the Sentinel at `s` for 3 s (SIGSTOP until the watch finds it unreachable, then
/// SIGCONT): its timer jumps by more than 2 s, so it enters TILT.
async fn freeze(t: &mut TestLab, watch: &mut Watch, s: &Addr) {
    t.lab.signal(s, Signal::SIGSTOP).expect("SIGSTOP");
    let stopped = Instant::now();
    watch.until("unreachable", about("sentinel-unreachable", "raised", s));
    // The fault is the length of the freeze, not a wait for something.
    tokio::time::sleep(Duration::from_secs(3).saturating_sub(stopped.elapsed())).await;
    t.lab.signal(s, Signal::SIGCONT).expect("SIGCONT");
}

/// Asserts `kind` was raised and cleared exactly once (about `subject`, if given).
fn once(watch: &Watch, kind: &str, subject: Option<&str>) {
    for state in ["raised", "cleared"] {
        let n = watch.count(kind, state, subject);
        assert_eq!(n, 1, "{kind} {state} {n} times: {:#?}", watch.seen);
    }
}

/// The primary stopped while no replica may be promoted (`replica-priority 0`): every
/// attempt ends in `-failover-abort-no-good-slave` and the next comes in a new epoch, with
/// no `+switch-master`. One failover loop, cleared once when the primary is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_attempts_without_a_promotable_replica_are_one_failover_loop() {
    let mut t = TestLab::up_with(SentinelSettings {
        // Sentinel retries 2 × failover-timeout after an attempt: every 6 s, beyond the
        // watch's 5 s merge window (a retry by another Sentinel within it is merged away).
        failover_timeout: Duration::from_secs(3),
        ..SentinelSettings::default()
    })
    .await;
    let w = Warden::new();
    let (mut watch, primary, replicas) = healthy_watch(&t, &w, &[]);
    for r in &replicas {
        let _: String = on(r, false, &["CONFIG", "SET", "replica-priority", "0"]).await;
    }
    // Sentinel reads a replica's priority from its INFO: wait until all know.
    let sentinels = t.lab.sentinels();
    support::wait_until(
        WAIT,
        "every Sentinel to see priority 0",
        &t.logs(),
        || async {
            for s in &sentinels {
                let seen: Vec<HashMap<String, String>> =
                    on(s, true, &["SENTINEL", "REPLICAS", t.lab.master()]).await;
                let zero = seen
                    .iter()
                    .filter(|r| r.get("slave-priority").is_some_and(|p| p == "0"));
                if zero.count() < replicas.len() {
                    return false;
                }
            }
            true
        },
    )
    .await;
    t.lab.signal(&primary, Signal::SIGSTOP).expect("SIGSTOP");
    let raised = watch.until("a failover loop", hazard("failover-loop", "raised"));
    let aborts = watch
        .seen
        .iter()
        .filter(|v| v["type"] == "event" && v["event"] == "-failover-abort-no-good-slave");
    assert!(aborts.count() >= 1, "{:#?}", watch.seen);
    t.lab.signal(&primary, Signal::SIGCONT).expect("SIGCONT");
    watch.until("the loop over", hazard("failover-loop", "cleared"));
    watch.drain_for(Duration::from_secs(2));
    once(&watch, "failover-loop", None);
    assert!(
        raised["detail"]
            .as_str()
            .is_some_and(|d| d.contains("no +switch-master")),
        "{raised:#}"
    );
    let switched = watch.seen.iter().any(|v| v["event"] == "+switch-master");
    assert!(!switched, "{:#?}", watch.seen);
    // The primary's stall is no exposure: when it resumes, its replicas' acks look old and
    // its stream (the Sentinels' queued hellos) ahead, until they ack within a second.
    assert_eq!(
        watch.count("exposure", "raised", None),
        0,
        "{:#?}",
        watch.seen
    );
}

/// One Sentinel frozen for 3 s: unreachable while stopped, then in TILT (its timer jumped
/// more than 2 s) until the tilt period ends, shortened here to 3 s with `SENTINEL DEBUG`
/// (30 s by default). Each reported once, about that Sentinel only; the quorum holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_sentinel_is_unreachable_once_then_in_tilt_once() {
    let mut t = TestLab::up().await;
    let w = Warden::new();
    let (mut watch, _, _) = healthy_watch(&t, &w, &[]);
    let sentinels = t.lab.sentinels();
    let frozen = sentinels[2].clone();
    let _: String = on(&frozen, true, &["SENTINEL", "DEBUG", "tilt-period", "3000"]).await;
    freeze(&mut t, &mut watch, &frozen).await;
    watch.until("TILT", about("tilt", "raised", &frozen));
    watch.until("TILT over", about("tilt", "cleared", &frozen));
    let subject = frozen.to_string();
    while watch.count("sentinel-unreachable", "cleared", Some(&subject)) == 0 {
        watch.until("reachable again", |v| v["type"] == "hazard");
    }
    watch.drain_for(Duration::from_secs(2));
    once(&watch, "tilt", Some(&subject));
    once(&watch, "sentinel-unreachable", Some(&subject));
    assert_eq!(watch.count("tilt", "raised", None), 1, "{:#?}", watch.seen);
    let unreachable = watch.count("sentinel-unreachable", "raised", None);
    assert_eq!(unreachable, 1, "{:#?}", watch.seen);
    assert_eq!(watch.count("quorum-lost", "raised", None), 0);
}

/// One Sentinel made to monitor the master at a replica's address: the Sentinels disagree
/// on the primary. One split view, cleared once the Sentinel monitors the primary again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_naming_another_primary_is_one_split_view() {
    let t = TestLab::up().await;
    let w = Warden::new();
    let (mut watch, primary, replicas) = healthy_watch(&t, &w, &[]);
    let (master, odd) = (t.lab.master(), t.lab.sentinels()[2].clone());
    let monitor = |at: &Addr| {
        let (host, port) = (at.host.clone(), at.port.to_string());
        let odd = odd.clone();
        async move {
            let _: String = on(&odd, true, &["SENTINEL", "REMOVE", master]).await;
            let args = ["SENTINEL", "MONITOR", master, &host, &port, "2"];
            let _: String = on(&odd, true, &args).await;
            let args = ["SENTINEL", "SET", master, "down-after-milliseconds", "1000"];
            let _: String = on(&odd, true, &args).await;
        }
    };
    monitor(&replicas[0]).await;
    let raised = watch.until("a split view", hazard("split-view", "raised"));
    let detail = raised["detail"].as_str().expect("detail");
    assert!(
        detail.contains(&format!("{odd} says {}", replicas[0])),
        "{raised:#}"
    );
    // Several more polls see the same disagreement: still one report.
    watch.drain_for(Duration::from_secs(2));
    monitor(&primary).await;
    watch.until("one view again", hazard("split-view", "cleared"));
    watch.drain_for(Duration::from_secs(2));
    once(&watch, "split-view", None);
}

/// `REPLICAOF NO ONE` on a replica: two nodes answer `ROLE master`. One report, cleared once
/// when Sentinel converts the replica back (`+convert-to-slave`, 8 s after it saw the role).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_made_primary_by_hand_is_two_primaries_once() {
    let t = slow_conversion().await;
    let w = Warden::new();
    let (mut watch, primary, replicas) = healthy_watch(&t, &w, &[]);
    let rogue = &replicas[0];
    let _: String = on(rogue, false, &["REPLICAOF", "NO", "ONE"]).await;
    let raised = watch.until("two primaries", hazard("two-primaries", "raised"));
    let detail = raised["detail"].as_str().expect("detail");
    assert!(
        detail.contains(&primary.to_string()) && detail.contains(&rogue.to_string()),
        "{raised:#}"
    );
    watch.until("Sentinel's fix", |v| v["event"] == "+convert-to-slave");
    watch.until("one primary again", hazard("two-primaries", "cleared"));
    watch.drain_for(Duration::from_secs(2));
    once(&watch, "two-primaries", None);
    let failovers = watch.seen.iter().filter(|v| v["type"] == "failover");
    assert_eq!(failovers.count(), 0, "{:#?}", watch.seen);
}

/// A replica whose link to the primary is cut and cannot come back (a wrong `masterauth`):
/// `master_link_status:down`, reported once about that replica, cleared once the password is
/// put right and it resyncs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_cannot_reconnect_is_link_down_once() {
    let t = TestLab::up().await;
    let w = Warden::new();
    let (mut watch, _, replicas) = healthy_watch(&t, &w, &[]);
    let cut = &replicas[0];
    let subject = cut.to_string();
    let _: String = on(cut, false, &["CONFIG", "SET", "masterauth", "wrongpass"]).await;
    let killed: i64 = on(cut, false, &["CLIENT", "KILL", "TYPE", "master"]).await;
    assert_eq!(killed, 1, "the replica's link to its primary");
    let raised = watch.until("link down", about("replica-link-down", "raised", cut));
    assert_eq!(raised["detail"], "master_link_status:down", "{raised:#}");
    // Several more polls see the link down: still one report.
    watch.drain_for(Duration::from_secs(2));
    let _: String = on(cut, false, &["CONFIG", "SET", "masterauth", ""]).await;
    watch.until("link up", about("replica-link-down", "cleared", cut));
    watch.drain_for(Duration::from_secs(2));
    once(&watch, "replica-link-down", Some(&subject));
    assert_eq!(watch.count("replica-link-down", "raised", None), 1);
}

/// A Sentinel restarted while in TILT never publishes `-tilt`: the polls end the hazard once
/// they find it out of TILT. One raise, one clear.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_restarted_in_tilt_is_cleared_by_the_polls() {
    let mut t = TestLab::up().await;
    let w = Warden::new();
    let (mut watch, _, _) = healthy_watch(&t, &w, &[]);
    let frozen = t.lab.sentinels()[2].clone();
    freeze(&mut t, &mut watch, &frozen).await;
    watch.until("TILT", about("tilt", "raised", &frozen));
    t.lab.signal(&frozen, Signal::SIGKILL).expect("SIGKILL");
    // The PID is gone before the restart (restart refuses a live process).
    let logs = t.logs();
    support::wait_until(WAIT, "the killed Sentinel reaped", &logs, || {
        let running = t.lab.is_running(&frozen).unwrap_or(true);
        async move { !running }
    })
    .await;
    t.lab.restart(&frozen).expect("restart");
    watch.until("TILT over", about("tilt", "cleared", &frozen));
    watch.drain_for(Duration::from_secs(2));
    once(&watch, "tilt", Some(&frozen.to_string()));
    let ended = watch.seen.iter().any(|v| v["event"] == "-tilt");
    assert!(!ended, "no -tilt was published: {:#?}", watch.seen);
}

/// Whether `node` answers `ROLE` with `role` (a node that drops the connection as it changes
/// role does not, yet).
async fn role_is(node: &Addr, role: &str) -> bool {
    let Ok(mut con) = Conn::default().node(node, Timeouts::CONTROL).await else {
        return false;
    };
    let reply: redis::RedisResult<Vec<redis::Value>> =
        redis::cmd("ROLE").query_async(&mut con).await;
    matches!(reply.as_deref(), Ok([redis::Value::BulkString(b), ..]) if b == role.as_bytes())
}

/// Issue 23: the failover leader crashes right after promoting a replica
/// (`SENTINEL SIMULATE-FAILURE crash-after-promotion`, then `SENTINEL FAILOVER` on it). The
/// old primary and the promoted replica both answer `ROLE master` until the others convert
/// the replica back: two primaries. Restarted, the leader's config names the replica at a
/// newer epoch while the others name the old primary: a split view at once, and no failover
/// record for a switch only the crashed leader believes in (in `testdata/episodes` terms: a
/// minority's answer is outvoted, and a stale `+switch-master` is no episode's switch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_crashed_after_promotion_is_two_primaries_then_a_split_view_not_a_failover() {
    let mut t = slow_conversion().await;
    let w = Warden::new();
    let (mut watch, primary, replicas) = healthy_watch(&t, &w, &[]);
    let sentinels = t.lab.sentinels();
    let leader = sentinels[0].clone();
    for s in &sentinels {
        let args = ["SENTINEL", "SIMULATE-FAILURE", "crash-after-promotion"];
        let _: String = on(s, true, &args).await;
    }
    manual_failover(&leader, t.lab.master()).await;
    let deadline = Instant::now() + WAIT;
    while t.lab.is_running(&leader).expect("lab") {
        assert!(Instant::now() < deadline, "{leader} did not crash");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for s in &sentinels[1..] {
        let _: Vec<String> = on(s, true, &["SENTINEL", "SIMULATE-FAILURE", "HELP"]).await;
    }
    let two = watch.until("two primaries", hazard("two-primaries", "raised"));
    let mut promoted = None;
    for r in &replicas {
        if role_is(r, "master").await {
            promoted = Some(r.clone());
        }
    }
    let promoted = promoted.expect("a replica promoted by the crashed leader");
    let detail = two["detail"].as_str().expect("detail");
    assert!(
        detail.contains(&primary.to_string()) && detail.contains(&promoted.to_string()),
        "{two:#}"
    );
    // The two others convert it back (+convert-to-slave, 8 s after they saw its role).
    support::wait_until(
        WAIT,
        "the promoted replica converted back",
        &t.logs(),
        || role_is(&promoted, "slave"),
    )
    .await;
    t.lab.restart(&leader).expect("restart the crashed leader");
    let split = watch.until("the restarted leader's view", |v| {
        hazard("split-view", "raised")(v)
            && v["detail"]
                .as_str()
                .is_some_and(|d| d.contains("not followed"))
    });
    let detail = split["detail"].as_str().expect("detail");
    assert!(
        detail.starts_with(&format!("{leader} names {promoted}")),
        "{split:#}"
    );
    // The others may then follow the restarted leader's config to the replica (a stale
    // switch: it answers ROLE slave) and fail over from it on their own, a real transition
    // to another node. No record names the node only the crashed leader made primary.
    watch.drain_for(Duration::from_secs(5));
    let records: Vec<&Value> = watch
        .seen
        .iter()
        .filter(|v| v["type"] == "failover" && v["new_primary"] == promoted.to_string())
        .collect();
    assert_eq!(records, [] as [&Value; 0], "{:#?}", watch.seen);
}
