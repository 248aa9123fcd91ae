//! Container faults through the Docker API: a kill drill on the docker lab fails over and the
//! old primary rejoins; the opt-in guard refuses a container without the label and leaves it
//! running; bad input is one line. Fails without an engine unless `WARDEN_TEST_SKIP_MISSING=1`.

mod support;

use bollard::Docker;
use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkCreateRequest, NetworkingConfig,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, RemoveContainerOptionsBuilder,
    StartContainerOptions,
};
use support::Warden;
use support::docker::{edge, engine};
use warden::addr::Addr;
use warden::docker::Project;
use warden::error::Error;
use warden::lab::docker::default_image;

const SCENARIO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scenarios/docker-primary-kill.toml"
);

#[test]
fn kill_drill_on_the_docker_lab_fails_over_and_the_old_primary_rejoins() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    if rt.block_on(engine()).is_none() {
        return;
    }
    let w = Warden::new();
    let run = w.run(&["drill", SCENARIO, "--json", "report.json"]);
    assert!(run.code == 0 || run.code == 1, "{run:#?}");
    let text = std::fs::read_to_string(w.path().join("report.json")).expect("report");
    let report: serde_json::Value = serde_json::from_str(&text).expect("json");
    let t = &report["trials"][0];
    assert_eq!(t["injected"], true, "{t}");
    assert!(
        t["fault"].as_str().unwrap_or("").contains("redis-primary"),
        "{t}"
    );
    let phases = t["phases"].as_array().expect("phases");
    assert!(phases.iter().any(|p| p["phase"] == "+switch-master"), "{t}");
    assert_ne!(t["new_primary"], t["old_primary"], "{t}");
    assert!(
        t["rejoin_ms"].is_number(),
        "the old primary did not rejoin: {t}"
    );
    // Replication is asynchronous: a few writes acked just before the kill may be lost, so
    // the count is only required to be measured.
    assert!(t["lost"]["count"]["value"].is_u64(), "{t}");
}

/// A container with no warden labels on its own network (with a network alias), started by
/// the test; returns its name, alias and network, all removed at the end.
async fn stray(docker: &Docker) -> (String, String, String) {
    let name = format!("warden-stray-{:08x}", rand::random::<u32>());
    let (alias, network) = (format!("{name}-alias"), format!("{name}-net"));
    let net = NetworkCreateRequest {
        name: network.clone(),
        ..Default::default()
    };
    docker.create_network(net).await.expect("create network");
    let body = ContainerCreateBody {
        image: Some(default_image()),
        cmd: Some(vec!["redis-server".into(), "--port".into(), "6379".into()]),
        host_config: Some(HostConfig {
            network_mode: Some(network.clone()),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                network.clone(),
                EndpointSettings {
                    aliases: Some(vec![alias.clone()]),
                    ..Default::default()
                },
            )])),
        }),
        ..Default::default()
    };
    let opts = CreateContainerOptionsBuilder::default().name(&name).build();
    let created = docker.create_container(Some(opts), body).await;
    let started = match &created {
        Ok(c) => {
            docker
                .start_container(&c.id, None::<StartContainerOptions>)
                .await
        }
        Err(_) => Ok(()),
    };
    if created.is_err() || started.is_err() {
        let rm = RemoveContainerOptionsBuilder::default().force(true).v(true);
        let _ = docker.remove_container(&name, Some(rm.build())).await;
        let _ = docker.remove_network(&network).await;
        panic!("cannot start a stray container: {created:?} {started:?}");
    }
    (name, alias, network)
}

async fn running(docker: &Docker, name: &str) -> bool {
    let info = docker
        .inspect_container(name, None::<InspectContainerOptions>)
        .await;
    info.ok().and_then(|i| i.state).and_then(|s| s.running) == Some(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_refuses_a_container_without_the_opt_in_label_and_leaves_it_running() {
    let Some(docker) = engine().await else {
        return;
    };
    let (name, alias, network) = stray(&docker).await;
    let engine = edge().await;
    let stack = Project::new(engine.clone(), "warden-some-project");
    let by_name = stack.by_name(&name).await;
    let by_alias = stack.by_addr(&Addr::new(alias.clone(), 6379)).await;
    let ip = engine.ip_on(&name, &network).await;
    let by_addr = match &ip {
        Ok(ip) => Some(stack.by_addr(&Addr::new(ip.clone(), 6379)).await),
        Err(_) => None,
    };
    let still_running = running(&docker, &name).await;
    let rm = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    let _ = docker.remove_container(&name, Some(rm)).await;
    let _ = docker.remove_network(&network).await;

    match by_name {
        Err(e @ Error::ContainerRefused { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(&name), "{msg}");
            assert!(
                msg.contains("lacks the opt-in label io.warden.chaos=allowed"),
                "{msg}"
            );
        }
        other => panic!("want a refusal, got {other:?}"),
    }
    let by_addr = by_addr.expect("the stray container has an IP on its network");
    assert!(
        matches!(by_addr, Err(Error::ContainerRefused { .. })),
        "{by_addr:?}"
    );
    // A network alias (what announce-hostnames hands out) maps to the container too.
    assert!(
        matches!(by_alias, Err(Error::ContainerRefused { .. })),
        "{by_alias:?}"
    );
    assert!(still_running, "the refused container must be left running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_names_and_addresses_are_one_line_errors() {
    if engine().await.is_none() {
        return;
    }
    let stack = Project::new(edge().await, "warden-some-project");
    let e = stack
        .by_name("warden-no-such-container")
        .await
        .expect_err("no container");
    assert_eq!(
        e.to_string(),
        "no container named 'warden-no-such-container'"
    );
    let e = stack
        .by_addr(&Addr::new("10.255.255.1", 6379))
        .await
        .expect_err("no container");
    assert_eq!(
        e.to_string(),
        "no container has the address 10.255.255.1:6379"
    );
}

#[test]
fn a_docker_drill_without_an_engine_is_a_one_line_error() {
    let w = Warden::new();
    let run = support::run(
        w.command()
            .env("DOCKER_HOST", "unix:///nonexistent")
            .args(["drill", SCENARIO]),
    );
    let line = run.one_line_error();
    assert!(line.contains("cannot reach the Docker engine"), "{line}");
}

#[test]
fn dry_runs_name_container_action_and_reason_touch_nothing_and_refuse_another_project() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(docker) = rt.block_on(engine()) else {
        return;
    };
    let w = Warden::new();
    let up = w.run(&["lab", "up", "--backend", "docker", "--dir", "lab"]);
    assert_eq!(up.code, 0, "{up:#?}");
    let s = w.write(
        "pause.toml",
        "name = \"p\"\n[target]\nlab_dir = \"lab\"\n[fault]\naction = \"pause\"\nduration = \"3s\"\n",
    );
    let dry = w.run(&["drill", s.to_str().expect("utf-8"), "--dry-run"]);
    let status = w.run(&["lab", "status", "--dir", "lab"]);
    let lab_json = std::fs::read_to_string(w.path().join("lab/lab.json")).expect("lab.json");
    let recorded: serde_json::Value = serde_json::from_str(&lab_json).expect("json");
    let sentinels: Vec<String> = recorded["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .filter(|c| c["role"] == "sentinel")
        .map(|c| format!("\"{}\"", c["addr"].as_str().unwrap_or("")))
        .collect();
    let project = format!("warden-{}", recorded["lab_id"].as_str().unwrap_or(""));
    let compose = |project: &str| {
        format!(
            "name = \"p\"\n[target]\nsentinels = [{}]\ncompose_project = \"{project}\"\n\
             [fault]\naction = \"pause\"\nduration = \"3s\"\n",
            sentinels.join(", ")
        )
    };
    let ours = w.write("ours.toml", &compose(&project));
    let in_project = w.run(&["drill", ours.to_str().expect("utf-8"), "--dry-run"]);
    let other = w.write("other.toml", &compose("some-other-project"));
    let outside = w.run(&["drill", other.to_str().expect("utf-8"), "--dry-run"]);
    let lab: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(w.path().join("lab/lab.json")).expect("lab.json"),
    )
    .expect("json");
    let primary = lab["containers"][0]["name"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let still_running = rt.block_on(async {
        let info = docker
            .inspect_container(&primary, None::<InspectContainerOptions>)
            .await;
        info.ok().and_then(|i| i.state).and_then(|s| s.paused) == Some(false)
    });
    let down = w.run(&["lab", "down", "--backend", "docker", "--dir", "lab"]);
    assert_eq!(in_project.code, 0, "{in_project:#?}");
    assert!(
        in_project.stdout.contains("redis-primary"),
        "{in_project:#?}"
    );
    let line = outside.one_line_error();
    assert!(line.contains("refusing container warden-"), "{line}");
    assert!(
        line.contains(&format!(
            "belongs to project '{project}', not to the selected project 'some-other-project'"
        )),
        "{line}"
    );
    assert_eq!(status.code, 0, "{status:#?}");
    assert!(
        status.stdout.contains("primary (per Sentinels): "),
        "{status:#?}"
    );
    assert_eq!(status.stdout.matches(" Up ").count(), 6, "{status:#?}");
    assert_eq!(dry.code, 0, "{dry:#?}");
    assert!(dry.stdout.contains(&primary), "{dry:#?}");
    assert!(dry.stdout.contains("pause for 3s"), "{dry:#?}");
    assert!(dry.stdout.contains("reason: it is the primary"), "{dry:#?}");
    assert!(still_running, "a dry run must not pause anything");
    assert_eq!(down.code, 0, "{down:#?}");
}
