//! The docker lab: built from one definition that the compose file mirrors, up until the
//! Sentinels agree, and down without leaving a container, network or volume behind.
//! Container tests skip without an engine unless `WARDEN_REQUIRE_DOCKER=1`.

mod support;

use std::collections::BTreeMap;

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
};
use support::Warden;
use support::docker::{TestDockerLab, engine, label_filter};
use warden::docker::{LABEL_CHAOS, LABEL_ROLE};
use warden::lab::SentinelSettings;
use warden::lab::stack::{self, SERVICES};
use warden::sentinel::health::{self, Expect};

/// `service -> (role label, chaos label)` as `compose/docker-compose.yml` declares them.
fn compose_services() -> BTreeMap<String, (String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/compose/docker-compose.yml");
    let text = std::fs::read_to_string(path).expect("read compose file");
    let mut out = BTreeMap::new();
    let mut in_services = false;
    let mut current: Option<String> = None;
    for line in text.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            in_services = line == "services:";
            current = None;
            continue;
        }
        if !in_services {
            continue;
        }
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
            && !name.starts_with(' ')
        {
            current = Some(name.to_string());
            out.insert(name.to_string(), (String::new(), String::new()));
        } else if let Some(svc) = &current {
            let entry = out.get_mut(svc).expect("current service recorded");
            let t = line.trim();
            if let Some(v) = t.strip_prefix(&format!("{LABEL_ROLE}: ")) {
                entry.0 = v.to_string();
            } else if let Some(v) = t.strip_prefix(&format!("{LABEL_CHAOS}: ")) {
                entry.1 = v.to_string();
            }
        }
    }
    out
}

#[test]
fn compose_file_mirrors_the_built_in_stack() {
    let compose = compose_services();
    let built_in: BTreeMap<String, (String, String)> = SERVICES
        .iter()
        .map(|s| {
            let l = stack::container_labels("x", s);
            (
                s.name.to_string(),
                (l[LABEL_ROLE].clone(), l[LABEL_CHAOS].clone()),
            )
        })
        .collect();
    assert_eq!(compose, built_in);
}

#[test]
fn no_docker_engine_is_a_one_line_error() {
    let w = Warden::new();
    let run = support::run(w.command().env("DOCKER_HOST", "unix:///nonexistent").args([
        "lab",
        "up",
        "--backend",
        "docker",
        "--dir",
        "lab",
    ]));
    let line = run.one_line_error();
    assert!(
        line.contains("cannot reach the Docker engine at unix:///nonexistent"),
        "{line}"
    );
    assert!(!w.path().join("lab").exists(), "no state left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_image_is_a_one_line_error() {
    if engine().await.is_none() {
        return;
    }
    let w = Warden::new();
    let image = "warden-no-such-image:0";
    let run = w.run(&[
        "lab",
        "up",
        "--backend",
        "docker",
        "--dir",
        "lab",
        "--image",
        image,
    ]);
    let line = run.one_line_error();
    assert!(
        line.contains("is not present and warden does not pull"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_lab_comes_up_agrees_and_leaves_nothing_behind() {
    let Some(docker) = engine().await else {
        return;
    };
    let t = TestDockerLab::up_with(SentinelSettings::default()).await;
    let lab_id = t.lab.lab_id().to_string();
    let expect = Expect {
        replicas: Some(2),
        other_sentinels: Some(2),
        max_lag_bytes: 0,
        quorum: true,
    };
    let h = health::check(&t.lab.sentinels(), t.lab.master(), &expect)
        .await
        .expect("health check");
    assert!(h.ok(), "{:?}", h.problems);
    let primary = &t.lab.containers()[0];
    assert_eq!(h.primary.as_ref(), Some(&primary.addr));
    assert_eq!(t.lab.listed().await.expect("list").len(), 6);

    t.lab.down().await.expect("lab down");
    let f = label_filter(stack::LABEL_LAB, &lab_id);
    let opts = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&f)
        .build();
    let containers = docker.list_containers(Some(opts)).await.expect("list");
    assert!(containers.is_empty(), "containers left: {containers:?}");
    let opts = ListNetworksOptionsBuilder::default().filters(&f).build();
    let networks = docker.list_networks(Some(opts)).await.expect("list");
    assert!(networks.is_empty(), "networks left: {networks:?}");
    let opts = ListVolumesOptionsBuilder::default().filters(&f).build();
    let volumes = docker.list_volumes(Some(opts)).await.expect("list");
    let volumes = volumes.volumes.unwrap_or_default();
    assert!(volumes.is_empty(), "volumes left: {volumes:?}");
    assert!(!t.dir.path().join("lab").exists());
}
