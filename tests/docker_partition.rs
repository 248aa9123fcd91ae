//! Container faults that must be undone: the group partition (traffic dropped inside the
//! containers' network namespaces, the host still reaching both sides), a fault reverted on
//! Ctrl-C, and a revert that fails being reported. Fails without an engine unless
//! `WARDEN_TEST_SKIP_MISSING=1`.

mod support;

use std::process::Command;

use bollard::Docker;
use bollard::query_parameters::InspectContainerOptions;
use support::docker::{TestDockerLab, edge, engine};
use support::{WAIT, Warden, wait_until};
use warden::addr::Addr;
use warden::client::{self, Timeouts};
use warden::docker::Project;
use warden::drill::runner;
use warden::drill::scenario::Scenario;
use warden::fault::docker::Stack;
use warden::lab::SentinelSettings;
use warden::shutdown::Signal;

/// Whether `redis-cli PING` to `to`, run inside the network namespace of `pid`, gets PONG
/// within 2 s (`timeout` bounds a connect that a DROP rule leaves hanging).
fn ping_from(pid: i64, to: &Addr) -> bool {
    let out = Command::new("timeout")
        .args(["2", "nsenter", "-t", &pid.to_string(), "-n", "redis-cli"])
        .args(["-h", &to.host, "-p", &to.port.to_string(), "PING"])
        .output()
        .expect("run nsenter");
    String::from_utf8_lossy(&out.stdout).trim() == "PONG"
}

async fn pid(docker: &Docker, id: &str) -> i64 {
    let info = docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await;
    info.expect("inspect")
        .state
        .and_then(|s| s.pid)
        .expect("pid")
}

/// Waits until [`ping_from`] `pid` to `to` succeeds (`when`: for the message). One PING bounded
/// by 2 s can miss on a loaded machine: it is polled, as any state to reach.
async fn reaches(pid: i64, to: &Addr, when: &str) {
    let what = format!("{to} reachable from pid {pid} {when}");
    wait_until(WAIT, &what, &[], || {
        let to = to.clone();
        async move { tokio::task::block_in_place(|| ping_from(pid, &to)) }
    })
    .await;
}

async fn host_reaches(addr: &Addr) -> bool {
    match warden::conn::Conn::default()
        .node(addr, Timeouts::CONTROL)
        .await
    {
        Ok(mut con) => client::query::<String>(&mut con, addr, &redis::cmd("PING"))
            .await
            .is_ok(),
        Err(_) => false,
    }
}

fn fault(text: &str) -> warden::fault::Fault {
    let s = format!("name = \"t\"\n[target]\nlab = \"docker\"\n[fault]\n{text}\n");
    Scenario::parse(&s).expect("scenario").fault
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_cuts_the_groups_apart_the_host_reaches_both_and_revert_heals_it() {
    let Some(docker) = engine().await else {
        return;
    };
    let t = TestDockerLab::up_with(SentinelSettings::default()).await;
    let stack = Stack::new(Project::new(edge().await, t.lab.project()));
    let cs = t.lab.containers().to_vec();
    let (primary, replica) = (&cs[0], &cs[1]);
    let f = fault("action = \"partition\"\nwith_sentinels = 1\nduration = \"30s\"");
    let sel = stack.select(&f, &primary.addr).await.expect("select");
    assert_eq!(sel.hit.len(), 2, "the primary and one Sentinel: {sel:?}");
    assert_eq!(sel.other_side.len(), 4, "{sel:?}");
    let primary_pid = pid(&docker, &primary.id).await;
    reaches(primary_pid, &replica.addr, "before the partition").await;

    let applied = stack.inject(&f, &sel).await.expect("inject");
    let cut = !ping_from(primary_pid, &replica.addr);
    let host_primary = host_reaches(&primary.addr).await;
    let host_replica = host_reaches(&replica.addr).await;
    let reverted = applied.revert().await;

    assert!(
        cut,
        "the primary still reaches a replica during the partition"
    );
    assert!(
        host_primary && host_replica,
        "the host must reach both sides"
    );
    reverted.expect("revert");
    reaches(primary_pid, &replica.addr, "after the revert").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revert_that_fails_is_reported_with_the_container() {
    let Some(docker) = engine().await else {
        return;
    };
    let t = TestDockerLab::up_with(SentinelSettings::default()).await;
    let stack = Stack::new(Project::new(edge().await, t.lab.project()));
    let primary = t.lab.containers()[0].clone();
    let f = fault("action = \"pause\"\nduration = \"30s\"");
    let sel = stack.select(&f, &primary.addr).await.expect("select");
    let applied = stack.inject(&f, &sel).await.expect("inject");
    // Someone else unpauses it first: the revert cannot do its job and must say so.
    docker
        .unpause_container(&primary.id)
        .await
        .expect("unpause by hand");
    let e = applied
        .revert()
        .await
        .expect_err("revert of an unpaused container");
    let msg = e.to_string();
    assert!(
        msg.starts_with("docker: revert: unpause container"),
        "{msg}"
    );
    assert!(msg.contains(&primary.name), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_a_pause_drill_unpauses_the_primary() {
    let Some(docker) = engine().await else {
        return;
    };
    let t = TestDockerLab::up_with(SentinelSettings::default()).await;
    let primary = t.lab.containers()[0].clone();
    let text = format!(
        "name = \"t\"\n[target]\nlab_dir = \"{}\"\n[fault]\naction = \"pause\"\nduration = \"60s\"\n\
         [timing]\nwarmup = \"1s\"\nobserve = \"90s\"\n",
        t.lab.dir().display()
    );
    let scenario = Scenario::parse(&text).expect("scenario");
    let paused = {
        let docker = docker.clone();
        let id = primary.id.clone();
        async move {
            wait_until(WAIT, "the drill to pause the primary", &[], || async {
                let info = docker
                    .inspect_container(&id, None::<InspectContainerOptions>)
                    .await;
                info.ok().and_then(|i| i.state).and_then(|s| s.paused) == Some(true)
            })
            .await;
            Signal::Int
        }
    };
    let report = runner::run(&scenario, &warden::conn::Spec::default(), false, paused)
        .await
        .expect("drill");
    let info = docker
        .inspect_container(&primary.id, None::<InspectContainerOptions>)
        .await;
    let state = info.expect("inspect").state.expect("state");
    assert_eq!(
        state.paused,
        Some(false),
        "the pause must be reverted on Ctrl-C"
    );
    let reasons = &report.trials[0].reasons;
    assert!(
        reasons.iter().any(|r| r == "cancelled by SIGINT"),
        "{reasons:?}"
    );
    assert_eq!(report.cancelled.as_deref(), Some("SIGINT"));
    assert!(
        !reasons.iter().any(|r| r.contains("revert failed")),
        "{reasons:?}"
    );
}

#[test]
fn partition_drill_counts_the_writes_the_cut_off_primary_acknowledged() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    if rt.block_on(engine()).is_none() {
        return;
    }
    let w = Warden::new();
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/docker-primary-partition.toml"
    );
    let run = w.run(&["drill", scenario, "--json", "report.json"]);
    assert!(run.code == 0 || run.code == 1, "{run:#?}");
    let text = std::fs::read_to_string(w.path().join("report.json")).expect("report");
    let report: serde_json::Value = serde_json::from_str(&text).expect("json");
    let t = &report["trials"][0];
    assert_eq!(t["injected"], true, "{t}");
    assert_ne!(
        t["new_primary"], t["old_primary"],
        "a failover on the majority side: {t}"
    );
    assert!(
        t["lost"]["count"]["value"].as_u64().unwrap_or(0) > 0,
        "writes lost: {t}"
    );
    assert!(
        t["rejoin_ms"].is_number(),
        "the old primary was demoted and rejoined: {t}"
    );
    let reasons = t["reasons"].as_array().expect("reasons");
    assert!(
        !reasons
            .iter()
            .any(|r| r.as_str().unwrap_or("").contains("revert")),
        "{t}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_cuts_a_container_off_and_revert_restores_its_alias_and_ip() {
    let Some(docker) = engine().await else {
        return;
    };
    let t = TestDockerLab::up_with(SentinelSettings::default()).await;
    let stack = Stack::new(Project::new(edge().await, t.lab.project()));
    let replica = t.lab.containers()[1].clone();
    let f = fault("action = \"disconnect\"\ntarget = \"replica\"\nduration = \"30s\"");
    let primary = t.lab.containers()[0].addr.clone();
    let sel = stack.select(&f, &primary).await.expect("select");
    assert_eq!(sel.hit[0].name, replica.name, "{sel:?}");
    let applied = stack.inject(&f, &sel).await.expect("inject");
    let cut = !host_reaches(&replica.addr).await;
    applied.revert().await.expect("revert");

    assert!(cut, "a disconnected container is unreachable");
    let info = docker
        .inspect_container(&replica.id, None::<InspectContainerOptions>)
        .await;
    let nets = info
        .expect("inspect")
        .network_settings
        .and_then(|n| n.networks);
    let ep = nets
        .and_then(|mut n| n.remove(t.lab.network()))
        .expect("reconnected");
    assert_eq!(ep.ip_address.as_deref(), Some(replica.addr.host.as_str()));
    let aliases = ep.aliases.unwrap_or_default();
    assert!(aliases.contains(&replica.service), "{aliases:?}");
    wait_until(WAIT, "the replica to answer again", &[], || {
        host_reaches(&replica.addr)
    })
    .await;
}
