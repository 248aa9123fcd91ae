//! `warden watch` against a real lab: a manual failover is printed as it happens and summed up
//! as one episode; bad targets are one-line errors.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Instant;

use serde_json::Value;
use support::{TestLab, WAIT, Warden, dump_logs};
use warden::client::{self, Timeouts};

/// Reads the child's JSON lines until `pred` matches one; panics with what was read on timeout.
fn read_until(
    rx: &mpsc::Receiver<String>,
    seen: &mut Vec<Value>,
    what: &str,
    pred: impl Fn(&Value) -> bool,
) {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let v: Value =
                    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
                let hit = pred(&v);
                seen.push(v);
                if hit {
                    return;
                }
            }
            Err(e) => panic!("no line for {what} ({e}); read so far: {seen:#?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_failover_is_one_episode_with_its_phases_in_order() {
    let t = TestLab::up().await;
    let logs = t.logs();
    let sentinels = t.lab.sentinels();
    let list = sentinels
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let w = Warden::new();
    let mut child = w
        .command()
        .args(["watch", "--json", "--episodes", "1", "--sentinels", &list])
        .args(["--master", t.lab.master()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn warden watch");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut seen = Vec::new();
    for _ in 0..sentinels.len() {
        read_until(&rx, &mut seen, "a connection", |v| v["type"] == "connected");
    }
    let mut con = client::connect(&sentinels[0], Timeouts::CONTROL)
        .await
        .expect("sentinel");
    let ok: String = redis::cmd("SENTINEL")
        .arg("FAILOVER")
        .arg(t.lab.master())
        .query_async(&mut con)
        .await
        .expect("SENTINEL FAILOVER");
    assert_eq!(ok, "OK");
    read_until(&rx, &mut seen, "the failover summary", |v| {
        v["type"] == "failover"
    });
    let status = child.wait().expect("watch exits after one episode");
    if !status.success() {
        dump_logs(&logs);
        panic!("watch exited with {status}: {seen:#?}");
    }

    let f = seen.last().expect("summary");
    assert_eq!(f["outcome"], "failed_over", "{f:#}");
    assert_ne!(f["old"], f["new"], "{f:#}");
    assert!(
        f["switch_reports"].as_u64().is_some_and(|n| n >= 1),
        "{f:#}"
    );
    // A manual failover has no +sdown/+odown; the phases it has come in failover order.
    let times: Vec<f64> = f["phases_ms"]
        .as_array()
        .expect("phases")
        .iter()
        .filter_map(|p| p[1].as_f64())
        .collect();
    assert!(times.len() >= 5, "{f:#}");
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{f:#}");
    // Each event is printed once, however many Sentinels report it.
    let switches = seen
        .iter()
        .filter(|v| v["type"] == "event" && v["event"] == "+switch-master")
        .count();
    assert_eq!(switches, 1, "{seen:#?}");

    let run = w.run(&["watch", "--sentinels", &list, "--master", "nosuchmaster"]);
    assert!(run.one_line_error().contains("nosuchmaster"), "{run:#?}");
}

#[test]
fn an_unreachable_sentinel_and_a_missing_lab_are_one_line_errors() {
    let w = Warden::new();
    let port = support::free_ports(1)[0];
    let run = w.run(&["watch", "--sentinels", &format!("127.0.0.1:{port}")]);
    assert!(
        run.one_line_error().contains("no Sentinel answered"),
        "{run:#?}"
    );

    let run = w.run(&["watch"]);
    assert!(run.one_line_error().contains("warden lab up"), "{run:#?}");
}
