//! `warden dr-drill` with `backend = "docker"`: the newest backup is restored into a fresh
//! scratch container (from `$WARDEN_REDIS_IMAGE`), every step is timed, the container serves
//! the manifest's keys and TTLs, exit 0, and no scratch container is left behind. Fails
//! without an engine unless `WARDEN_TEST_SKIP_MISSING=1`.

#[path = "rdb_support/mod.rs"]
mod rdb_support;
mod support;

use bollard::query_parameters::ListContainersOptionsBuilder;
use rdb_support::backup::make_backup;
use support::Warden;
use support::docker::{engine, label_filter};
use warden::lab::docker::default_image;
use warden::restore::scratch_docker::LABEL_SCRATCH;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dr_drill_restores_into_a_scratch_container() {
    let Some(docker) = engine().await else {
        return;
    };
    let w = Warden::new();
    let dest = w.path().join("backups");
    make_backup(&dest, 2000);
    let sc = w.write(
        "container.toml",
        &format!(
            "name = \"container\"\n[backup]\ndest = \"{}\"\n[targets]\nrestore_rto = \"60s\"\n\
             backup_rpo = \"1h\"\n[restore]\nbackend = \"docker\"\nimage = \"{}\"\n",
            dest.display(),
            default_image()
        ),
    );
    let run =
        tokio::task::block_in_place(|| w.run(&["dr-drill", sc.to_str().expect("utf-8"), "--json"]));
    assert_eq!(run.code, 0, "{run:#?}");
    let r: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert!(
        r["into"]
            .as_str()
            .expect("into")
            .starts_with("scratch container"),
        "{r:#}"
    );
    let steps = r["steps"].as_array().expect("steps");
    let names: Vec<&str> = steps
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        ["download", "checksum", "verify", "load", "first_served"]
    );
    let sum: f64 = steps.iter().map(|s| s["ms"].as_f64().expect("ms")).sum();
    let rto = r["restore_rto_ms"].as_f64().expect("rto");
    assert!((rto - sum).abs() < 1e-6, "{r:#}");
    for c in r["verdict"].as_array().expect("verdict") {
        assert_eq!(c["ok"], true, "{c:#}");
    }
    let detail = |name: &str| {
        r["verdict"]
            .as_array()
            .expect("verdict")
            .iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["detail"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    assert!(detail("keys").starts_with("DBSIZE 2000;"), "{r:#}");
    assert!(detail("ttls").starts_with("2000 keys with a TTL"), "{r:#}");
    let f = label_filter(LABEL_SCRATCH, "restore-test");
    let opts = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&f)
        .build();
    let left = docker.list_containers(Some(opts)).await.expect("list");
    assert!(left.is_empty(), "scratch containers left: {left:?}");
}
