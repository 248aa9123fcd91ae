//! `lab down` leaves nothing behind; the `lab` CLI round trip, its start-up errors, and the
//! live state `lab status` shows.

mod support;

use std::path::{Path, PathBuf};

use support::{TestLab, WAIT, Warden, free_ports, wait_until};
use warden::client::{self, Timeouts};
use warden::sentinel::topology;

/// Whether `pid` is alive: `/proc/<pid>/stat` exists and its state is not `Z`.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat_fields(&stat).first().is_some_and(|s| *s != "Z"),
        Err(_) => false,
    }
}

/// The fields after `(comm)`: state, ppid, pgrp, …
fn stat_fields(stat: &str) -> Vec<&str> {
    stat.rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default()
}

/// Live (non-zombie) processes whose process group is one of `pgrps`: `(pid, pgrp)`.
fn in_groups(pgrps: &[u32]) -> Vec<(u32, u32)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let f = stat_fields(&stat);
        if let (Some(state), Some(pgrp)) = (f.first(), f.get(2).and_then(|g| g.parse().ok()))
            && *state != "Z"
            && pgrps.contains(&pgrp)
        {
            found.push((pid, pgrp));
        }
    }
    found
}

fn assert_all_gone(pids: &[u32]) {
    let alive: Vec<_> = pids.iter().filter(|p| alive(**p)).collect();
    assert!(alive.is_empty(), "still alive: {alive:?} of {pids:?}");
    let left = in_groups(pids);
    assert!(
        left.is_empty(),
        "left in the lab's process groups: {left:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_down_leaves_no_process_behind() {
    let t = TestLab::up().await;
    let pids: Vec<u32> = t.lab.members().iter().map(|m| m.pid).collect();
    assert_eq!(pids.len(), 6);
    assert!(pids.iter().all(|p| alive(*p)), "{pids:?}");
    // Each member leads its own process group (so a terminal's Ctrl-C reaches warden only).
    assert_eq!(in_groups(&pids).len(), 6, "{:?}", in_groups(&pids));
    let dir = t.lab.dir().to_path_buf();
    t.lab.down().expect("down");
    assert_all_gone(&pids);
    assert!(!dir.exists(), "{} still exists", dir.display());
}

/// Runs `warden lab down` on drop if a lab is still recorded (a failed test leaks nothing).
struct CliLab<'a> {
    warden: &'a Warden,
    dir: PathBuf,
}

impl Drop for CliLab<'_> {
    fn drop(&mut self) {
        if self.dir.join("lab.json").exists() {
            let dir = self.dir.to_string_lossy().into_owned();
            let _ = self.warden.run(&["lab", "down", "--dir", &dir]);
        }
    }
}

fn recorded_pids(dir: &Path) -> Vec<u32> {
    let text = std::fs::read_to_string(dir.join("lab.json")).expect("lab.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("lab.json is JSON");
    v["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| m["pid"].as_u64().expect("pid") as u32)
        .collect()
}

fn join(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn cli_lab_up_status_down_round_trip() {
    let w = Warden::new();
    let ports = free_ports(6);
    let (nodes, sentinels) = (join(&ports[..3]), join(&ports[3..]));
    let guard = CliLab {
        warden: &w,
        dir: w.path().join("lab"),
    };
    let up = w.run(&[
        "lab",
        "up",
        "--dir",
        "lab",
        "--ports",
        &nodes,
        "--sentinel-ports",
        &sentinels,
    ]);
    assert_eq!(up.code, 0, "{up:#?}");
    assert!(up.stdout.contains("lab up in"), "{up:#?}");
    let pids = recorded_pids(&guard.dir);
    assert_eq!(pids.len(), 6);
    assert!(pids.iter().all(|p| alive(*p)), "{pids:?}");

    let status = w.run(&["lab", "status", "--dir", "lab"]);
    assert_eq!(status.code, 0, "{status:#?}");
    assert_eq!(status.stdout.matches(" running").count(), 6, "{status:#?}");
    let primary = format!(
        "primary (per Sentinels): 127.0.0.1:{} (3 of 3 agree)",
        ports[0]
    );
    assert!(status.stdout.contains(&primary), "{status:#?}");
    // The family and version every node reports, in one line.
    let family = if support::on_valkey() {
        "valkey"
    } else {
        "redis"
    };
    assert!(
        status.stdout.contains(&format!("\nserver: {family} ")),
        "{status:#?}"
    );

    // `lab status | head -1` and `watch | head -1`: a reader that is gone ends them quietly.
    let sentinel_list: Vec<String> = ports[3..]
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect();
    let sentinel_list = sentinel_list.join(",");
    for args in [
        vec!["lab", "status", "--dir", "lab"],
        vec![
            "watch",
            "--sentinels",
            &sentinel_list,
            "--master",
            "mymaster",
        ],
    ] {
        let mut child = w
            .command()
            .args(&args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn warden");
        drop(child.stdout.take());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while child.try_wait().expect("try_wait").is_none() && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        if child.try_wait().expect("try_wait").is_none() {
            let _ = child.kill();
            panic!("{args:?} kept running with its stdout closed");
        }
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }

    let down = w.run(&["lab", "down", "--dir", "lab"]);
    assert_eq!(down.code, 0, "{down:#?}");
    assert!(!guard.dir.exists());
    assert_all_gone(&pids);

    // With the lab gone, status is an error about the missing state.
    let gone = w.run(&["lab", "status", "--dir", "lab"]);
    assert!(gone.one_line_error().contains("lab.json"), "{gone:#?}");
}

#[test]
fn cli_lab_up_on_a_port_in_use_exits_2_naming_it() {
    let w = Warden::new();
    let ports = free_ports(5);
    let held = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    let busy = held.local_addr().expect("addr").port();
    let nodes = format!("{},{busy},{}", ports[0], ports[1]);
    let run = w.run(&[
        "lab",
        "up",
        "--dir",
        "lab",
        "--ports",
        &nodes,
        "--sentinel-ports",
        &join(&ports[2..]),
    ]);
    let _guard = CliLab {
        warden: &w,
        dir: w.path().join("lab"),
    };
    let line = run.one_line_error();
    assert!(line.contains(&format!("port {busy} ")), "{line}");
    assert!(!w.path().join("lab/lab.json").exists(), "nothing started");
    drop(held);
}

#[test]
fn cli_lab_up_with_a_missing_redis_server_exits_2_naming_it() {
    let w = Warden::new();
    let ports = free_ports(6);
    let run = support::run(
        w.command()
            .env("WARDEN_REDIS_SERVER", "/nonexistent")
            .args(["lab", "up", "--dir", "lab", "--ports"])
            .arg(join(&ports[..3]))
            .arg("--sentinel-ports")
            .arg(join(&ports[3..])),
    );
    let _guard = CliLab {
        warden: &w,
        dir: w.path().join("lab"),
    };
    let line = run.one_line_error();
    assert!(line.contains("'/nonexistent'"), "{line}");
}

/// `lab up --ports 7330,7331` used to start a 2-node lab. A port list that does not give the
/// lab's shape (3 nodes, 3 Sentinels, all distinct) is refused before anything starts.
#[test]
fn cli_lab_up_refuses_ports_that_do_not_fit_the_lab() {
    let w = Warden::new();
    let p = free_ports(7);
    let (nodes, sentinels) = (join(&p[..3]), join(&p[3..6]));
    let table = [
        (join(&p[..2]), sentinels.clone(), "give 3 node ports, not 2"),
        (join(&p[..4]), join(&p[4..7]), "give 3 node ports, not 4"),
        (
            nodes.clone(),
            join(&p[3..5]),
            "give 3 Sentinel ports, not 2",
        ),
        (
            format!("{},{},{}", p[0], p[1], p[0]),
            sentinels.clone(),
            "given more than once",
        ),
        (
            nodes.clone(),
            join(&[p[3], p[4], p[0]]),
            "given more than once",
        ),
    ];
    for (nodes, sentinels, want) in table {
        let run = w.run(&[
            "lab",
            "up",
            "--dir",
            "lab",
            "--ports",
            &nodes,
            "--sentinel-ports",
            &sentinels,
        ]);
        let _guard = CliLab {
            warden: &w,
            dir: w.path().join("lab"),
        };
        let line = run.one_line_error();
        assert!(line.contains(want), "{nodes} / {sentinels}: {line}");
        assert!(!w.path().join("lab").exists(), "nothing started: {line}");
    }
}

/// Lines of `lab status` that name `addr` (the node's row).
fn row<'a>(status: &'a str, addr: &str) -> Option<&'a str> {
    status
        .lines()
        .find(|l| l.trim_start().starts_with("node") && l.contains(&format!("{addr} ")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lab_status_shows_each_nodes_live_role_after_a_failover() {
    let t = TestLab::up().await;
    let logs = t.logs();
    let (sentinels, master) = (t.lab.sentinels(), t.lab.master().to_string());
    let dir = t.lab.dir().to_string_lossy().into_owned();
    let status = {
        let dir = dir.clone();
        move || {
            let w = Warden::new();
            let run = w.run(&["lab", "status", "--dir", &dir]);
            assert_eq!(run.code, 0, "{run:#?}");
            run.stdout
        }
    };
    let old = topology::ask_primary(
        &warden::conn::Conn::default(),
        &sentinels,
        &master,
        Timeouts::CONTROL,
    )
    .await
    .expect("primary");
    let before = tokio::task::spawn_blocking(status.clone())
        .await
        .expect("run");
    let old_row = row(&before, &old.to_string()).expect("old primary's row");
    assert!(old_row.contains(" primary"), "{before}");
    let replicas: Vec<&str> = before.lines().filter(|l| l.contains(" replica ")).collect();
    assert_eq!(replicas.len(), 2, "{before}");
    assert!(
        replicas
            .iter()
            .all(|l| l.contains("link up") && l.contains(" B")),
        "{before}"
    );

    let mut con = warden::conn::Conn::default()
        .node(&sentinels[0], Timeouts::CONTROL)
        .await
        .expect("connect");
    let _: String = client::query(
        &mut con,
        &sentinels[0],
        redis::cmd("SENTINEL").arg("FAILOVER").arg(&master),
    )
    .await
    .expect("SENTINEL FAILOVER");
    wait_until(WAIT, "the Sentinels to switch the primary", &logs, || {
        let (sentinels, master, old) = (sentinels.clone(), master.clone(), old.clone());
        async move {
            topology::ask_primary(
                &warden::conn::Conn::default(),
                &sentinels,
                &master,
                Timeouts::CONTROL,
            )
            .await
            .is_ok_and(|p| p != old)
        }
    })
    .await;
    let new = topology::ask_primary(
        &warden::conn::Conn::default(),
        &sentinels,
        &master,
        Timeouts::CONTROL,
    )
    .await
    .expect("primary");

    // The Sentinels report the switch once the promoted node says it is a master; the old
    // primary is reconfigured as a replica shortly after, so poll (bounded) for both.
    let deadline = std::time::Instant::now() + WAIT;
    let last = loop {
        let out = tokio::task::spawn_blocking(status.clone())
            .await
            .expect("run");
        let new_is_master = row(&out, &new.to_string()).is_some_and(|r| r.contains(" primary"));
        let old_follows = row(&out, &old.to_string()).is_some_and(|r| r.contains(" replica "));
        if (new_is_master && old_follows) || std::time::Instant::now() >= deadline {
            break out;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let new_row = row(&last, &new.to_string()).expect("new primary's row");
    assert!(new_row.contains(" primary"), "{last}");
    let old_row = row(&last, &old.to_string()).expect("old primary's row");
    assert!(old_row.contains(" replica "), "{last}");
    let primary = format!("primary (per Sentinels): {new}");
    assert!(last.contains(&primary), "{last}");
    drop(t);
}
