//! The production compose stack (`compose/docker-compose.yml`, Sentinels with
//! `announce-hostnames`) drilled from the host: `docker-compose up -d` under a unique
//! project, a kill drill through the given Sentinels' IPs with `compose_project` (warden maps
//! the hostnames the Sentinels announce to container IPs through the Docker API), the
//! failover and the client RTO reported; `docker-compose down -v` then leaves no container,
//! volume or network of the project (also when the test fails: a guard tears it down).
//! Fails without an engine unless `WARDEN_TEST_SKIP_MISSING=1`; needs Debian's `docker-compose`.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::query_parameters::{
    InspectContainerOptions, ListContainersOptionsBuilder, ListNetworksOptionsBuilder,
    ListVolumesOptionsBuilder,
};
use support::Warden;
use support::docker::{engine, label_filter};
use support::scenario::PrimaryKill;
use warden::addr::Addr;
use warden::conn::{Conn, Spec};
use warden::lab::docker::default_image;
use warden::sentinel::health::{self, Expect};

const COMPOSE_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/compose/docker-compose.yml");
const PROJECT_LABEL: &str = "com.docker.compose.project";

/// A compose project brought up by the test; `down -v` on drop.
struct Stack {
    project: String,
}

impl Stack {
    fn compose(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker-compose")
            .args(["-p", &self.project, "-f", COMPOSE_FILE])
            .args(args)
            .env("WARDEN_REDIS_IMAGE", default_image())
            .env("WARDEN_DOWN_AFTER_MS", "2000")
            .output()
            .expect("run docker-compose")
    }

    fn down(&self) -> std::process::Output {
        self.compose(&["down", "-v", "--remove-orphans", "-t", "2"])
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.down();
    }
}

/// The project's containers with their service label and IP (empty while it has none).
async fn services(docker: &Docker, project: &str) -> Vec<(String, String, String)> {
    let filter = label_filter(PROJECT_LABEL, project);
    let opts = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filter)
        .build();
    let listed = docker.list_containers(Some(opts)).await.expect("list");
    let mut out = Vec::new();
    for c in listed {
        let id = c.id.unwrap_or_default();
        let info = docker
            .inspect_container(&id, None::<InspectContainerOptions>)
            .await
            .expect("inspect");
        let labels = info.config.and_then(|c| c.labels).unwrap_or_default();
        let service = labels
            .get("com.docker.compose.service")
            .cloned()
            .unwrap_or_default();
        let health = info
            .state
            .and_then(|s| s.health)
            .and_then(|h| h.status)
            .map(|s| s.to_string())
            .unwrap_or_default();
        let ip = info
            .network_settings
            .and_then(|n| n.networks)
            .and_then(|n| n.into_values().next())
            .and_then(|e| e.ip_address)
            .unwrap_or_default();
        out.push((service, health, ip));
    }
    out.sort();
    out
}

/// What of the project is left on the engine: containers, volumes, networks.
async fn leftovers(docker: &Docker, project: &str) -> Vec<String> {
    let filter = label_filter(PROJECT_LABEL, project);
    let mut left = Vec::new();
    let opts = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filter)
        .build();
    for c in docker.list_containers(Some(opts)).await.expect("list") {
        left.push(format!("container {:?}", c.names));
    }
    let opts = ListVolumesOptionsBuilder::default()
        .filters(&filter)
        .build();
    let volumes = docker.list_volumes(Some(opts)).await.expect("volumes");
    for v in volumes.volumes.unwrap_or_default() {
        left.push(format!("volume {}", v.name));
    }
    let opts = ListNetworksOptionsBuilder::default()
        .filters(&filter)
        .build();
    for n in docker.list_networks(Some(opts)).await.expect("networks") {
        left.push(format!("network {:?}", n.name));
    }
    left
}

fn scenario(project: &str, sentinels: &[String]) -> String {
    let project = format!("compose_project = \"{project}\"");
    PrimaryKill::on_sentinels("compose-primary-kill", sentinels, "mymaster", &project)
        .load(4, 500)
        .wait("60s")
        .targets(15000, 1000, 2000)
        .toml()
}

#[test]
fn the_compose_stack_with_announced_hostnames_is_drilled_from_the_host() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(docker) = rt.block_on(engine()) else {
        return;
    };
    let stack = Stack {
        project: format!("wardentest{:08x}", rand::random::<u32>()),
    };
    let up = stack.compose(&["up", "-d"]);
    assert!(up.status.success(), "docker-compose up: {up:#?}");

    // Healthy: six containers whose health checks pass …
    let deadline = Instant::now() + Duration::from_secs(90);
    let sentinels = loop {
        let s = rt.block_on(services(&docker, &stack.project));
        if s.len() == 6 && s.iter().all(|(_, h, ip)| h == "healthy" && !ip.is_empty()) {
            break s
                .iter()
                .filter(|(name, ..)| name.starts_with("sentinel-"))
                .map(|(.., ip)| format!("{ip}:26379"))
                .collect::<Vec<_>>();
        }
        assert!(Instant::now() < deadline, "the stack is not healthy: {s:?}");
        std::thread::sleep(Duration::from_millis(500));
    };
    // … and Sentinels that know both replicas (named by hostname) in sync, and each other.
    rt.block_on(async {
        let edge = warden::docker::connect().await.expect("edge");
        let hosts = edge.hosts(&stack.project).await.expect("hosts");
        for name in ["redis-primary", "redis-replica-1", "sentinel-3"] {
            assert!(hosts.iter().any(|(n, _)| n == name), "{name}: {hosts:?}");
        }
        let conn = Conn::build(&Spec::default().with_hosts(hosts)).expect("conn");
        let addrs: Vec<Addr> = sentinels.iter().map(|s| s.parse().unwrap()).collect();
        let expect = Expect {
            replicas: Some(2),
            other_sentinels: Some(2),
            max_lag_bytes: 0,
            quorum: true,
        };
        let what = "the compose stack did not become ready";
        let ok = health::wait(
            &conn,
            &addrs,
            "mymaster",
            &expect,
            Duration::from_secs(60),
            what,
            async || Ok(()),
        )
        .await;
        ok.expect("healthy");
    });

    let w = Warden::new();
    let s = w.write("compose.toml", &scenario(&stack.project, &sentinels));
    let run = w.run(&["drill", &s.display().to_string(), "--json", "report.json"]);
    eprintln!("{}\n{}", run.stdout, run.stderr);
    assert!(run.code == 0 || run.code == 1, "{run:#?}");
    let text = std::fs::read_to_string(w.path().join("report.json")).expect("report");
    let report: serde_json::Value = serde_json::from_str(&text).expect("json");
    let t = &report["trials"][0];
    assert_eq!(t["injected"], true, "{t}");
    assert_eq!(t["old_primary"], "redis-primary:6379", "{t}");
    let new = t["new_primary"].as_str().unwrap_or("");
    assert!(new.starts_with("redis-replica-"), "{t}");
    let phases = t["phases"].as_array().expect("phases");
    assert!(
        phases
            .iter()
            .any(|p| p["phase"] == "+switch-master" && p["at_ms"].is_number()),
        "{t}"
    );
    assert!(
        t["client_rto_ms"]["value"].is_number(),
        "no client RTO: {t}"
    );
    assert!(run.stdout.contains("client RTO"), "{}", run.stdout);

    let down = stack.down();
    assert!(down.status.success(), "docker-compose down: {down:#?}");
    let left = rt.block_on(leftovers(&docker, &stack.project));
    assert!(left.is_empty(), "left after down -v: {left:?}");
}
