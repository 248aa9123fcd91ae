//! Issue "Never leave a fault behind", on the docker lab, with the real binary: SIGTERM
//! mid-partition deletes every DROP rule and writes the partial report; SIGKILL
//! mid-partition leaves rules that `lab status` reports and `warden heal` deletes. The rules
//! are checked from outside warden (`nsenter -t <container pid> -n iptables -S`). Fails
//! without an engine unless `WARDEN_TEST_SKIP_MISSING=1`.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::query_parameters::InspectContainerOptions;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::docker::{TestDockerLab, engine};
use support::{WAIT, Warden, run, wait_until};
use warden::lab::SentinelSettings;

fn command(w: &Warden, args: &[&str]) -> Command {
    let mut cmd = w.command();
    cmd.args(args);
    cmd
}

/// The DROP rules in the network namespace of each container of the lab.
async fn drop_rules(docker: &Docker, ids: &[String]) -> Vec<String> {
    let mut rules = Vec::new();
    for id in ids {
        let info = docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .expect("inspect");
        let pid = info.state.and_then(|s| s.pid).unwrap_or(0);
        if pid <= 0 {
            continue;
        }
        let out = Command::new("nsenter")
            .args(["-t", &pid.to_string(), "-n", "iptables", "-w", "-S"])
            .output()
            .expect("nsenter iptables -S");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        rules.extend(
            text.lines()
                .filter(|l| l.contains("DROP"))
                .map(String::from),
        );
    }
    rules
}

fn partition_scenario(w: &Warden, lab_dir: &Path) -> PathBuf {
    w.write(
        "partition.toml",
        &format!(
            "name = \"partition\"\n[target]\nlab_dir = \"{}\"\n[fault]\naction = \"partition\"\n\
             with_sentinels = 1\nduration = \"60s\"\n[timing]\nwarmup = \"1s\"\nobserve = \"90s\"\n",
            lab_dir.display()
        ),
    )
}

fn wait_exit(mut child: Child, timeout: Duration) -> i32 {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.code().unwrap_or(-1);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("warden did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts the partition drill and waits until its DROP rules are in.
async fn partitioned(docker: &Docker, t: &TestDockerLab, w: &Warden) -> (Child, Vec<String>) {
    let ids: Vec<String> = t.lab.containers().iter().map(|c| c.id.clone()).collect();
    assert!(drop_rules(docker, &ids).await.is_empty(), "no rule before");
    let scenario = partition_scenario(w, t.lab.dir());
    let child = command(w, &["drill", scenario.to_str().expect("utf-8")])
        .args(["--json", "report.json"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start warden drill");
    wait_until(WAIT, "the partition's DROP rules", &[], || async {
        drop_rules(docker, &ids).await.len() >= 2
    })
    .await;
    let rules = drop_rules(docker, &ids).await;
    assert!(
        rules.iter().all(|r| r.contains("warden:")),
        "every rule carries the drill's tag: {rules:?}"
    );
    (child, ids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_partition_deletes_every_rule_and_writes_the_partial_report() {
    let Some(docker) = engine().await else {
        return;
    };
    let t = TestDockerLab::up_with(SentinelSettings::default()).await;
    let w = Warden::new();
    let (child, ids) = partitioned(&docker, &t, &w).await;
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).expect("SIGTERM");
    let code = wait_exit(child, WAIT);

    assert_eq!(code, 143);
    let left = drop_rules(&docker, &ids).await;
    assert!(left.is_empty(), "DROP rules left: {left:?}");
    let text = std::fs::read_to_string(w.path().join("report.json")).expect("report");
    let report: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(report["cancelled"], "SIGTERM", "{report}");
    let reasons = report["trials"][0]["reasons"].to_string();
    assert!(reasons.contains("cancelled by SIGTERM"), "{reasons}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_partition_is_reported_and_heal_deletes_the_rules() {
    let Some(docker) = engine().await else {
        return;
    };
    let t = TestDockerLab::up_with(SentinelSettings::default()).await;
    let w = Warden::new();
    let (child, ids) = partitioned(&docker, &t, &w).await;
    let drill_pid = child.id();
    kill(Pid::from_raw(drill_pid as i32), Signal::SIGKILL).expect("SIGKILL");
    wait_exit(child, WAIT);
    assert!(!drop_rules(&docker, &ids).await.is_empty(), "the premise");

    let dir = t.lab.dir().to_str().expect("utf-8");
    let status = run(&mut command(&w, &["lab", "status", "--dir", dir]));
    let line = format!("warden: leftover fault from drill pid {drill_pid} (gone): partition");
    assert!(status.stderr.contains(&line), "{status:#?}");

    let heal = run(&mut command(&w, &["heal"]));
    assert_eq!(heal.code, 0, "{heal:#?}");
    let left = drop_rules(&docker, &ids).await;
    assert!(left.is_empty(), "DROP rules left: {left:?}\n{heal:#?}");
}
