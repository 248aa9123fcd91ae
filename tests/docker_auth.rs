//! `lab up --backend docker --auth` (and `--tls`): a kill drill on the recorded lab meets its
//! targets with the settings from `lab.json`, `lab status` reads every node, and no secret
//! shows in any output nor in `docker inspect` of the lab's containers (command, environment,
//! labels: secrets reach the containers as 0600 files). Fails without an engine unless
//! `WARDEN_TEST_SKIP_MISSING=1`.

mod secured;
mod support;

use std::path::Path;

use bollard::Docker;
use bollard::query_parameters::{InspectContainerOptions, ListContainersOptionsBuilder};
use secured::SecuredLab;
use support::docker::{engine, label_filter};
use support::scenario::PrimaryKill;
use warden::addr::Addr;
use warden::client::{self, Timeouts};
use warden::conn::Conn;

fn scenario(lab_dir: &Path) -> String {
    PrimaryKill::on_lab_dir("docker-secured-primary-kill", lab_dir)
        .load(4, 500)
        .toml()
}

/// `docker inspect` of every container of lab `lab_id`, as JSON text.
async fn inspected(docker: &Docker, lab_id: &str) -> Vec<String> {
    let filter = label_filter("io.warden.lab", lab_id);
    let opts = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&filter)
        .build();
    let listed = docker.list_containers(Some(opts)).await.expect("list");
    let mut out = Vec::new();
    for c in listed {
        let info = docker
            .inspect_container(&c.id.unwrap_or_default(), None::<InspectContainerOptions>)
            .await
            .expect("inspect");
        out.push(serde_json::to_string(&info).expect("json"));
    }
    out
}

/// A kill drill on the lab meets its targets; `lab status` shows every node's live role.
fn drill_and_status(lab: &SecuredLab, seen: &mut Vec<String>) {
    let s = lab.w.write("secured.toml", &scenario(&lab.dir));
    let json = lab.w.path().join("drill.json");
    let run = lab.w.run(&[
        "drill",
        &s.display().to_string(),
        "--json",
        &json.display().to_string(),
        "-vv",
    ]);
    assert_eq!(run.code, 0, "drill: {run:#?}");
    let report = std::fs::read_to_string(&json).expect("drill json");
    let v: serde_json::Value = serde_json::from_str(&report).expect("json");
    assert_eq!(v["verdict"], "met", "{report}");
    assert!(
        v["trials"][0]["client_rto_ms"]["value"].is_number(),
        "{report}"
    );
    seen.extend([run.stdout, run.stderr, report]);

    // The old primary rejoined during the drill; its link may take a moment to show up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let run = lab
            .w
            .run(&["lab", "status", "--dir", &lab.file("."), "-vv"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(run.stdout.contains("primary (per Sentinels): "), "{run:#?}");
        let replicas = run
            .stdout
            .lines()
            .filter(|l| l.trim_start().starts_with("replica") && l.contains("link up"))
            .count();
        let done = replicas == 2;
        assert!(
            done || std::time::Instant::now() < deadline,
            "{}",
            run.stdout
        );
        seen.extend([run.stdout, run.stderr]);
        if done {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// `watch` (started before the drill) records its failover; a stream and a bgsave backup from
/// a replica and a restore-test of the newest succeed, all through the lab's secrets.
fn watch_drill_backup(lab: &SecuredLab, seen: &mut Vec<String>) {
    let out = lab.w.path().join("watch.out");
    let flags = lab.conn_flags();
    let mut watch = lab
        .w
        .command()
        .args([
            "watch",
            "--episodes",
            "1",
            "--duration",
            "120s",
            "--doctor-every",
            "0",
            "-vv",
        ])
        .args(&flags)
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out).expect("watch.out"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn watch");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::fs::read_to_string(&out)
        .unwrap_or_default()
        .matches(" connected")
        .count()
        < 3
    {
        assert!(
            std::time::Instant::now() < deadline,
            "watch did not subscribe"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    drill_and_status(lab, seen);
    let status = watch.wait().expect("watch");
    let text = std::fs::read_to_string(&out).expect("watch.out");
    assert!(status.success(), "watch: {text}");
    assert!(
        text.contains("switch-master"),
        "watch saw no failover: {text}"
    );
    seen.push(text);

    let dest = lab.w.path().join("backups").display().to_string();
    for method in [
        &["--method", "stream"][..],
        &["--method", "bgsave", "--from-container"],
    ] {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let run = loop {
            let mut args: Vec<&str> = vec!["backup", "--dest", &dest, "--json", "-vv"];
            args.extend(method);
            args.extend(flags.iter().map(String::as_str));
            let run = lab.w.run(&args);
            // The Sentinels refresh a replica's link state every 10 s after a failover.
            if run.code == 0
                || !run.stderr.contains("no healthy replica")
                || std::time::Instant::now() >= deadline
            {
                break run;
            }
            seen.extend([run.stdout, run.stderr]);
            std::thread::sleep(std::time::Duration::from_millis(500));
        };
        assert_eq!(run.code, 0, "backup {method:?}: {run:#?}");
        seen.extend([run.stdout, run.stderr]);
    }
    let run = lab
        .w
        .run(&["restore-test", "latest", "--dest", &dest, "--json", "-vv"]);
    assert_eq!(run.code, 0, "restore-test: {run:#?}");
    seen.extend([run.stdout, run.stderr]);
}

fn assert_no_leak(
    lab: &SecuredLab,
    rt: &tokio::runtime::Runtime,
    docker: &Docker,
    seen: &[String],
) {
    let inspected = rt.block_on(inspected(docker, &lab.lab_id()));
    assert_eq!(inspected.len(), 6, "the lab has six containers");
    for secret in lab.secrets() {
        assert!(secret.len() >= 32, "secrets are long and random");
        for o in seen.iter().chain(&inspected) {
            assert!(!o.contains(&secret), "a secret leaked into: {o}");
        }
    }
}

#[test]
fn a_docker_lab_with_auth_drills_and_reports_without_leaking_a_secret() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(docker) = rt.block_on(engine()) else {
        return;
    };
    let (lab, up) = SecuredLab::up_docker(false);
    let mut seen = vec![up.stdout.clone(), up.stderr.clone()];
    watch_drill_backup(&lab, &mut seen);
    assert_no_leak(&lab, &rt, &docker, &seen);
}

#[test]
fn a_docker_lab_with_auth_and_tls_drills_and_reports_without_leaking_a_secret() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(docker) = rt.block_on(engine()) else {
        return;
    };
    let (lab, up) = SecuredLab::up_docker(true);
    // Plain TCP to a TLS-only Sentinel is refused: the lab really is TLS only.
    let sentinel = up
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("sentinels: "))
        .and_then(|l| l.split(',').next())
        .expect("sentinels line")
        .to_string();
    let addr: Addr = sentinel.parse().expect("address");
    let plain = rt.block_on(async {
        let mut con = Conn::default().sentinel(&addr, Timeouts::CONTROL).await?;
        client::query::<String>(&mut con, &addr, &redis::cmd("PING")).await
    });
    assert!(plain.is_err(), "plain TCP answered: {plain:?}");
    let mut seen = vec![up.stdout.clone(), up.stderr.clone()];
    watch_drill_backup(&lab, &mut seen);
    assert_no_leak(&lab, &rt, &docker, &seen);
}
