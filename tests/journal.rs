//! Issue "Never leave a fault behind", on process labs, with the real binary: SIGTERM
//! mid-pause reverts and writes the partial report; SIGKILL mid-pause leaves a journal record
//! that `lab status` reports and `warden heal` reverts; a drill killed during its trial on
//! an ephemeral lab leaves a lab `heal` removes. Every check on the processes is made from
//! outside warden (`/proc/PID/stat`).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::{TestLab, WAIT, Warden, run, wait_until};
use warden::journal::proc_stat;
use warden::lab::Lab;

/// A warden whose fault journal lives in its own working dir.
fn warden() -> (Warden, PathBuf) {
    let w = Warden::new();
    let state = w.state_dir();
    (w, state)
}

fn command(w: &Warden, args: &[&str]) -> std::process::Command {
    let mut cmd = w.command();
    cmd.args(args);
    cmd
}

/// Starts `warden drill SCENARIO --json report.json` in the background.
fn drill(w: &Warden, scenario: &Path) -> Child {
    let scenario = scenario.to_str().expect("utf-8");
    command(w, &["drill", scenario, "--json", "report.json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start warden drill")
}

fn stopped(pid: u32) -> bool {
    proc_stat(pid).is_some_and(|s| s.state == 'T')
}

/// Waits (bounded) for `child` to exit; returns its exit code and stderr.
fn wait_exit(mut child: Child, timeout: Duration) -> (i32, String) {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut err);
            }
            return (status.code().unwrap_or(-1), err);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("warden did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(child: &Child, sig: Signal) {
    kill(Pid::from_raw(child.id() as i32), sig).expect("signal warden");
}

fn pause_scenario(w: &Warden, lab_dir: &Path) -> PathBuf {
    w.write(
        "pause.toml",
        &format!(
            "name = \"pause\"\n[target]\nlab_dir = \"{}\"\n[fault]\naction = \"pause\"\n\
             duration = \"60s\"\n[timing]\nwarmup = \"1s\"\nobserve = \"90s\"\n",
            lab_dir.display()
        ),
    )
}

/// The journal's records, as JSON.
fn records(state: &Path) -> Vec<serde_json::Value> {
    let Ok(dir) = std::fs::read_dir(state.join("faults")) else {
        return Vec::new();
    };
    dir.flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_pause_reverts_it_and_writes_the_partial_report() {
    let t = TestLab::up().await;
    let primary = t.lab.members()[0].pid;
    let (w, state) = warden();
    let child = drill(&w, &pause_scenario(&w, t.lab.dir()));
    wait_until(
        WAIT,
        "the drill to SIGSTOP the primary",
        &t.logs(),
        || async { stopped(primary) },
    )
    .await;
    signal(&child, Signal::SIGTERM);
    let (code, stderr) = wait_exit(child, WAIT);

    assert_eq!(code, 143, "SIGTERM exits 128 + 15: {stderr}");
    assert!(!stopped(primary), "the primary must not stay SIGSTOPped");
    let text = std::fs::read_to_string(w.path().join("report.json")).expect("report written");
    let report: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(report["cancelled"], "SIGTERM", "{report}");
    let reasons = report["trials"][0]["reasons"].to_string();
    assert!(reasons.contains("cancelled by SIGTERM"), "{reasons}");
    assert!(!reasons.contains("revert failed"), "{reasons}");
    assert!(records(&state).is_empty(), "the record goes with the fault");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_pause_is_reported_by_lab_status_and_reverted_by_heal() {
    let t = TestLab::up().await;
    let primary = t.lab.members()[0].pid;
    let (w, state) = warden();
    let child = drill(&w, &pause_scenario(&w, t.lab.dir()));
    wait_until(
        WAIT,
        "the drill to SIGSTOP the primary",
        &t.logs(),
        || async { stopped(primary) },
    )
    .await;
    let drill_pid = child.id();
    signal(&child, Signal::SIGKILL);
    let (code, _) = wait_exit(child, WAIT);
    assert_eq!(code, -1, "killed by a signal");
    assert!(stopped(primary), "nobody reverted it: the test's premise");

    let dir = t.lab.dir().to_str().expect("utf-8");
    let status = run(&mut command(&w, &["lab", "status", "--dir", dir]));
    assert_eq!(status.code, 0, "{status:#?}");
    let line = format!("warden: leftover fault from drill pid {drill_pid} (gone): SIGSTOP");
    assert!(status.stderr.contains(&line), "{status:#?}");
    assert!(status.stderr.contains("run 'warden heal'"), "{status:#?}");
    assert!(status.stdout.contains("stopped (SIGSTOP)"), "{status:#?}");

    let heal = run(&mut command(&w, &["heal"]));
    assert_eq!(heal.code, 0, "{heal:#?}");
    assert!(heal.stdout.contains("SIGCONT to pid"), "{heal:#?}");
    assert!(!stopped(primary), "heal must continue the primary");
    assert!(records(&state).is_empty(), "healed records are forgotten");
    let again = run(&mut command(&w, &["heal"]));
    assert_eq!(again.stdout, "nothing to heal\n", "{again:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_killed_on_its_ephemeral_lab_leaves_a_lab_heal_removes() {
    let (w, state) = warden();
    let scenario = w.write(
        "ephemeral.toml",
        "name = \"e\"\n[target]\nlab = \"process\"\n[fault]\naction = \"pause\"\n\
         duration = \"60s\"\n[timing]\nwarmup = \"1s\"\nobserve = \"90s\"\n",
    );
    let child = drill(&w, &scenario);
    let paused = |r: &serde_json::Value| r["undo"][0]["undo"] == "continue";
    wait_until(WAIT, "the drill to record its pause", &[], || async {
        records(&state).iter().any(paused)
    })
    .await;
    let all = records(&state);
    let lab = all
        .iter()
        .find(|r| r["undo"][0]["undo"] == "remove-lab")
        .expect("the ephemeral lab is recorded");
    let lab_dir = PathBuf::from(lab["undo"][0]["dir"].as_str().expect("dir"));
    let members = Lab::load(&lab_dir).expect("lab.json").members().to_vec();
    signal(&child, Signal::SIGKILL);
    wait_exit(child, WAIT);
    let alive = |m: &warden::lab::Member| warden::lab::process::is_ours(m.pid, m.port);
    assert!(
        members.iter().all(alive),
        "orphaned, not stopped: the premise"
    );

    let heal = run(&mut command(&w, &["heal"]));
    assert_eq!(heal.code, 0, "{heal:#?}");
    assert!(
        heal.stdout.contains("stopped and removed the lab"),
        "{heal:#?}"
    );
    wait_until(WAIT, "the orphaned lab's processes to end", &[], || async {
        !members.iter().any(alive)
    })
    .await;
    assert!(!lab_dir.exists(), "its temp dir is removed");
    assert!(records(&state).is_empty(), "{:?}", records(&state));
}
