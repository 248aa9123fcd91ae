//! The docker lab: built from one definition that the compose file mirrors, up until the
//! Sentinels agree, `lab status` showing live roles after a failover, and down without
//! leaving a container, network or volume behind.
//! Container tests fail without an engine unless `WARDEN_TEST_SKIP_MISSING=1`.

mod support;

use std::collections::BTreeMap;

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
};
use support::docker::{TestDockerLab, edge, engine, label_filter};
use support::{WAIT, Warden, wait_until};
use warden::client::Timeouts;
use warden::docker::{LABEL_CHAOS, LABEL_ROLE};
use warden::lab::SentinelSettings;
use warden::lab::docker::DockerLab;
use warden::lab::stack::{self, Role, SERVICES};
use warden::sentinel::health::{self, Expect};
use warden::sentinel::topology;

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

/// Runs this file's own `missing_image_is_a_one_line_error` (a container test) with no engine
/// reachable, `extra` set on top; its exit status and output.
fn run_container_test_without_engine(extra: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = std::process::Command::new(std::env::current_exe().expect("test binary"));
    cmd.args([
        "--exact",
        "missing_image_is_a_one_line_error",
        "--nocapture",
    ])
    .env("DOCKER_HOST", "unix:///nonexistent")
    .env_remove(support::missing::OPT_OUT);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run the test binary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Issue 19: a test that needs Docker fails without it, naming the engine, the set-up script
/// and the one opt-out; with the opt-out it says SKIPPED and passes.
#[test]
fn a_container_test_fails_without_an_engine_unless_the_run_opts_out() {
    let (passed, text) = run_container_test_without_engine(&[]);
    assert!(!passed, "{text}");
    for want in [
        "no Docker engine",
        "bash scripts/setup.sh",
        "WARDEN_TEST_SKIP_MISSING=1",
    ] {
        assert!(text.contains(want), "no {want:?} in:\n{text}");
    }
    let (passed, text) = run_container_test_without_engine(&[(support::missing::OPT_OUT, "1")]);
    assert!(passed, "{text}");
    assert!(text.contains("SKIPPED: no Docker engine"), "{text}");
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

    // A dry run of a drill on an ephemeral docker lab checks the image too: it says it is
    // missing (exit 2) instead of naming it and exiting 0.
    let scenario = w.write(
        "docker.toml",
        "name = \"d\"\n[target]\nlab = \"docker\"\n[fault]\naction = \"kill\"\n",
    );
    let mut cmd = w.command();
    cmd.env("WARDEN_REDIS_IMAGE", image).args([
        "drill",
        scenario.to_str().expect("utf-8"),
        "--dry-run",
    ]);
    let dry = support::run(&mut cmd);
    let line = dry.one_line_error();
    assert!(
        line.contains(&format!("image '{image}' is not present")),
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
    let h = health::check(
        &warden::conn::Conn::default(),
        &t.lab.sentinels(),
        t.lab.master(),
        &expect,
    )
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

/// Runs `warden lab down` on drop, so a failing test leaves no containers behind.
struct DownOnDrop<'a>(&'a Warden);

impl Drop for DownOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self
            .0
            .run(&["lab", "down", "--backend", "docker", "--dir", "lab"]);
    }
}

/// The role column of the `lab status` line of container `name`.
fn role_in_status(stdout: &str, name: &str) -> Option<String> {
    stdout
        .lines()
        .find(|l| l.split_whitespace().nth(2) == Some(name))
        .and_then(|l| l.split_whitespace().next())
        .map(String::from)
}

#[test]
fn lab_status_shows_live_roles_after_a_failover() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    if rt.block_on(engine()).is_none() {
        return;
    }
    let w = Warden::new();
    let up = w.run(&["lab", "up", "--backend", "docker", "--dir", "lab"]);
    let _down = DownOnDrop(&w);
    assert_eq!(up.code, 0, "{up:#?}");
    let lab = rt
        .block_on(DockerLab::load(&w.path().join("lab")))
        .expect("load the lab");
    let old = lab.containers()[0].clone();
    let sentinel = lab.containers().iter().find(|c| c.role == Role::Sentinel);
    let sentinel = sentinel.expect("a Sentinel").clone();
    let failover = [
        "redis-cli",
        "-p",
        "26379",
        "SENTINEL",
        "FAILOVER",
        lab.master(),
    ];
    let out = rt.block_on(async {
        let engine = edge().await;
        engine.exec(&sentinel.id, &sentinel.name, &failover).await
    });
    let out = out.expect("exec SENTINEL FAILOVER in a Sentinel container");
    assert_eq!((out.code, out.stdout.trim()), (Some(0), "OK"), "{out:?}");
    let sentinels = lab.sentinels();
    let new = rt.block_on(async {
        let conn = warden::conn::Conn::default();
        let ask = || topology::ask_primary(&conn, &sentinels, lab.master(), Timeouts::CONTROL);
        wait_until(WAIT, "the Sentinels to switch the primary", &[], || async {
            ask().await.is_ok_and(|p| p != old.addr)
        })
        .await;
        ask().await.expect("primary")
    });
    let new = lab.containers().iter().find(|c| c.addr == new);
    let new = new.expect("the new primary is a lab container").clone();
    let mut status = None;
    rt.block_on(wait_until(
        WAIT,
        "lab status to show the old primary as a replica",
        &[],
        || {
            let s = w.run(&["lab", "status", "--dir", "lab"]);
            let demoted = role_in_status(&s.stdout, &old.name).as_deref() == Some("replica");
            status = Some(s);
            async move { demoted }
        },
    ));
    let status = status.expect("status ran");
    assert_eq!(status.code, 0, "{status:#?}");
    assert_eq!(
        role_in_status(&status.stdout, &new.name).as_deref(),
        Some("primary"),
        "{status:#?}"
    );
    let old_line = status.stdout.lines().find(|l| l.contains(&old.name));
    assert!(
        old_line.is_some_and(|l| l.contains("link ") && l.contains("(started as primary)")),
        "{status:#?}"
    );
}
