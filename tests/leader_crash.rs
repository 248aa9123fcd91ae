//! Issue 23: the `sentinel-leader-crash` fault through the real binary on a kept process lab
//! — the failover leader exits mid-failover (`SENTINEL SIMULATE-FAILURE`), the drill runs to
//! its end, and the revert starts the crashed Sentinel again with its own config file and
//! removes the journal record. What `watch` makes of the same crash is in
//! `tests/hazards_lab.rs`.

mod support;

use std::path::{Path, PathBuf};

use support::{TestLab, Warden};
use warden::client::Timeouts;
use warden::conn::Conn;
use warden::lab::Lab;

/// The fault journal's records under `state`.
fn records(state: &Path) -> usize {
    std::fs::read_dir(state.join("faults")).map_or(0, |d| {
        d.flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .count()
    })
}

/// Stops every process `lab.json` in this directory records (the drill restarts the crashed
/// Sentinel under a new PID the test lab does not know), on every path out of the test.
struct Down(PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        if let Ok(lab) = Lab::load(&self.0) {
            let _ = lab.down();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_crash_drill_runs_to_the_end_and_starts_the_leader_again() {
    let t = TestLab::up().await;
    let w = Warden::new();
    let state = w.state_dir();
    let lab_dir = t.dir.path().join("lab");
    let _down = Down(lab_dir.clone());
    let scenario = w.write(
        "leader-crash.toml",
        &format!(
            r#"name = "leader-crash"
trials = 1
[target]
lab_dir = "{}"
[workload]
writers = 2
rate = 300
retry = {{ policy = "fixed", delay = "10ms" }}
[fault]
action = "sentinel-leader-crash"
when = "after-promotion"
[timing]
warmup = "1s"
observe = "10s"
settle = "1s"
rejoin = "20s"
[targets]
expect_failover = false
"#,
            lab_dir.display()
        ),
    );
    let out = w.path().join("out.json");
    let run = support::run(
        w.command()
            .arg("drill")
            .arg(&scenario)
            .arg("--json")
            .arg(&out),
    );
    assert!(run.code == 0 || run.code == 1, "{run:#?}");
    let text = std::fs::read_to_string(&out).expect("out.json");
    let report: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let trial = &report["trials"][0];
    assert_eq!(trial["injected"], true, "{trial:#}");
    let fault = trial["fault"].as_str().expect("fault");
    assert!(
        fault.contains("SENTINEL SIMULATE-FAILURE crash-after-promotion on every Sentinel"),
        "{fault}"
    );
    assert!(trial["reverted_ms"].is_number(), "{trial:#}");
    // One Sentinel crashed: the one that accepted SENTINEL FAILOVER, the lab's first.
    let gaps = trial["sentinel_gaps"].as_array().expect("gaps");
    let gone: Vec<u64> = gaps.iter().filter_map(|g| g["sentinel"].as_u64()).collect();
    assert_eq!(gone, [0], "{trial:#}");
    // Started again by the revert (a new PID in lab.json; it names itself in its process
    // title a moment after it starts), answering, nothing left to heal.
    let sentinels = t.lab.sentinels();
    support::wait_until(support::WAIT, "every Sentinel running", &t.logs(), || {
        let lab = Lab::load(&lab_dir);
        let sentinels = sentinels.clone();
        async move {
            let Ok(mut lab) = lab else { return false };
            sentinels
                .iter()
                .all(|s| lab.is_running(s).is_ok_and(|up| up))
        }
    })
    .await;
    for s in sentinels {
        let mut con = Conn::default()
            .sentinel(&s, Timeouts::CONTROL)
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
        let pong: String = redis::cmd("PING")
            .query_async(&mut con)
            .await
            .expect("PING");
        assert_eq!(pong, "PONG");
    }
    assert_eq!(records(&state), 0, "a journal record is left");
}
