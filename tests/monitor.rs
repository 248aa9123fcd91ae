//! The monitor against a Sentinel that dies and comes back.

mod support;

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use support::{TestLab, WAIT, recv_until, until_subscribed, wait_until};
use tokio::sync::mpsc;
use warden::sentinel::monitor::{self, Backoff, MonitorEvent};
use warden::sentinel::timeline::Timeline;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sentinel_is_a_closed_gap_after_its_restart() {
    let t = TestLab::up().await;
    let logs = t.logs();
    let mut lab = t.lab;
    let sentinels = lab.sentinels();
    let backoff = Backoff {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(500),
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _monitor = monitor::spawn(&warden::conn::Conn::default(), &sentinels, backoff, tx);
    let mut timeline = Timeline::new(Duration::from_secs(15));

    until_subscribed(&mut rx, sentinels.len(), &mut timeline, &logs).await;
    assert!(timeline.gaps().is_empty(), "{:?}", timeline.gaps());

    // Source ids are indexes into the list given to `spawn`.
    let victim = 1;
    let addr = sentinels[victim].clone();
    lab.signal(&addr, Signal::SIGKILL).expect("kill sentinel");
    let mut down_at = None;
    recv_until(
        &mut rx,
        WAIT,
        "Disconnected from the killed Sentinel",
        &logs,
        |ev| {
            if let MonitorEvent::Disconnected {
                source, at, reason, ..
            } = &ev
            {
                assert_eq!(*source, victim, "another Sentinel dropped: {reason}");
                assert!(!reason.is_empty());
                down_at = Some(*at);
            }
            ev.apply(&mut timeline);
            down_at.is_some()
        },
    )
    .await;

    // The PID is gone before the restart (restart refuses a live process).
    wait_until(WAIT, "the killed Sentinel to be reaped", &logs, || {
        let running = lab.is_running(&addr).unwrap_or(true);
        async move { !running }
    })
    .await;
    lab.restart(&addr).expect("restart sentinel");

    let mut up_at: Option<Instant> = None;
    recv_until(
        &mut rx,
        WAIT,
        "Connected again to the restarted Sentinel",
        &logs,
        |ev| {
            match &ev {
                MonitorEvent::Connected { source, at } if *source == victim => up_at = Some(*at),
                MonitorEvent::Disconnected { source, reason, .. } => {
                    assert_eq!(*source, victim, "another Sentinel dropped: {reason}");
                }
                _ => {}
            }
            ev.apply(&mut timeline);
            up_at.is_some()
        },
    )
    .await;

    let gaps = timeline.gaps();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    let gap = &gaps[0];
    assert_eq!(gap.source, victim);
    assert_eq!(Some(gap.from), down_at);
    assert_eq!(gap.to, up_at);
    assert!(gap.from < gap.to.expect("closed"), "{gap:?}");
}

/// Issue "Production watch": a Sentinel that answers `NOAUTH` is an authentication failure
/// named as such (it was reported as "connection closed"), without the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authentication_failure_is_named_as_such() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ports = support::free_ports(2);
    let conf = format!(
        "port {}\nbind 127.0.0.1\ndir {}\nrequirepass s3cret-pw\nsentinel monitor m 127.0.0.1 {} 2\n",
        ports[0],
        dir.path().display(),
        ports[1]
    );
    let sentinel = support::RedisProc::start(dir.path(), "sentinel", ports[0], &conf, true);
    let logs = vec![sentinel.log.clone()];
    let addr = sentinel.addr();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _monitor = monitor::spawn_for(
        &warden::conn::Conn::default(),
        std::slice::from_ref(&addr),
        "m",
        Backoff::default(),
        tx,
    );
    let mut reason = String::new();
    recv_until(&mut rx, WAIT, "an authentication failure", &logs, |ev| {
        if let MonitorEvent::Disconnected { reason: r, .. } = ev {
            reason = r;
        }
        reason.contains("authentication")
    })
    .await;
    assert_eq!(reason, format!("authentication failed on {addr} (NOAUTH)"));
    assert!(!reason.contains("s3cret"));
}
