//! `warden restore FILE --into docker:CONTAINER`: a labelled `appendonly yes` container ends
//! up serving the backup (its old AOF, rewritten once, replaced), with the previous files
//! kept as tar checkpoints; an unlabelled container, a missing one and a missing engine get
//! one line and leave everything as it was. `restore-test --backend docker` loads a backup in
//! a scratch container and removes it. Container tests fail without an engine unless
//! `WARDEN_TEST_SKIP_MISSING=1`.

#[path = "rdb_support/mod.rs"]
mod rdb_support;
mod support;

use std::path::Path;

use bollard::query_parameters::{
    DownloadFromContainerOptionsBuilder, ListContainersOptionsBuilder, StopContainerOptions,
};
use futures_util::StreamExt;
use rdb_support::backup::make_backup;
use support::Warden;
use support::docker::{TestContainer, engine, label_filter};
use warden::restore::scratch_docker::LABEL_SCRATCH;

const KEYS: usize = 2000;

/// The entry names of a tar archive.
fn tar_names(bytes: &[u8]) -> Vec<String> {
    let mut a = tar::Archive::new(bytes);
    let mut names: Vec<String> = a
        .entries()
        .expect("tar")
        .map(|e| {
            e.expect("entry")
                .path()
                .expect("path")
                .display()
                .to_string()
        })
        .collect();
    names.sort();
    names
}

/// `path` in the container, as the tar the archive API returns.
async fn download(c: &TestContainer, path: &str) -> Vec<u8> {
    let opts = DownloadFromContainerOptionsBuilder::default()
        .path(path)
        .build();
    let mut s = c.docker.download_from_container(&c.id, Some(opts));
    let mut out = Vec::new();
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(&chunk.expect("download"));
    }
    out
}

fn checkpoints(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".before-restore-"))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_into_an_aof_container_serves_the_backup() {
    let Some(docker) = engine().await else {
        return;
    };
    let w = Warden::new();
    let dest = w.path().join("backups");
    let backup = make_backup(&dest, KEYS);
    let c = TestContainer::start(&docker, &[("io.warden.role", "primary")]).await;
    for i in 0..50 {
        let key = format!("old:{i}");
        assert_eq!(c.cmd(&["SET", &key, "x"]).await.as_deref(), Some("OK"));
    }
    // A rewrite moves the AOF to sequence 2: the restore must not leave those files behind.
    c.cmd(&["BGREWRITEAOF"]).await.expect("BGREWRITEAOF");
    support::wait_until(support::WAIT, "the AOF rewrite", &[], || async {
        c.cmd(&["INFO", "persistence"]).await.is_some_and(|s| {
            s.contains("aof_rewrite_in_progress:0") && s.contains("aof_rewrite_scheduled:0")
        })
    })
    .await;
    assert!(
        tar_names(&download(&c, "/data/appendonlydir").await)
            .iter()
            .any(|n| n.contains(".2.")),
        "the rewrite made sequence-2 files"
    );

    let into = format!("docker:{}", c.name);
    let run = w.run(&["restore", backup.to_str().expect("utf-8"), "--into", &into]);
    assert_eq!(run.code, 0, "{run:#?}");
    for want in [
        "restored             redis-m-20261125-010000.rdb.gz (2000 keys)",
        "aof                  /data/appendonlydir (base = the same RDB)",
        "key count            ok   DBSIZE 2000",
        "note                 appendonly yes: the node loaded /data/appendonlydir",
    ] {
        assert!(
            run.stdout.contains(want),
            "want {want:?} in\n{}",
            run.stdout
        );
    }
    assert_eq!(c.cmd(&["DBSIZE"]).await.as_deref(), Some("2000"));
    assert_eq!(c.cmd(&["EXISTS", "old:1"]).await.as_deref(), Some("0"));
    assert_eq!(
        c.cmd(&["EXISTS", "session:1999"]).await.as_deref(),
        Some("1")
    );
    let persistence = c.cmd(&["INFO", "persistence"]).await.expect("INFO");
    assert!(persistence.contains("aof_enabled:1"), "{persistence}");
    assert_eq!(
        tar_names(&download(&c, "/data/appendonlydir").await),
        [
            "appendonlydir/",
            "appendonlydir/appendonly.aof.1.base.rdb",
            "appendonlydir/appendonly.aof.1.incr.aof",
            "appendonlydir/appendonly.aof.manifest",
        ]
    );

    // The checkpoint: the old AOF directory (sequence 2) and dump.rdb, as tars beside the backup.
    let kept = checkpoints(&dest);
    assert_eq!(kept.len(), 2, "{kept:?}");
    let aof_tar = kept
        .iter()
        .find(|n| n.contains("-appendonlydir.before-restore-"))
        .expect("AOF checkpoint");
    let names = tar_names(&std::fs::read(dest.join(aof_tar)).expect("read"));
    assert!(names.iter().any(|n| n.contains(".2.base.rdb")), "{names:?}");

    // The node keeps the backup across a restart (it loads the AOF based on it), and a second
    // restore without a checkpoint keeps nothing more.
    let run = w.run(&[
        "restore",
        backup.to_str().expect("utf-8"),
        "--into",
        &into,
        "--no-checkpoint",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    let r: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(r["check"]["ok"], true, "{r:#}");
    assert_eq!(r["appendonly"], true);
    assert_eq!(checkpoints(&dest).len(), 2);
    assert_eq!(c.cmd(&["DBSIZE"]).await.as_deref(), Some("2000"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlabelled_or_missing_containers_are_refused_and_left_alone() {
    let Some(docker) = engine().await else {
        return;
    };
    let w = Warden::new();
    let backup = make_backup(&w.path().join("backups"), 10);
    let backup = backup.to_str().expect("utf-8");
    let c = TestContainer::start(&docker, &[]).await;
    assert_eq!(c.cmd(&["SET", "keep:me", "1"]).await.as_deref(), Some("OK"));
    let started = c.inspect().await.state.and_then(|s| s.started_at);

    let run = w.run(&["restore", backup, "--into", &format!("docker:{}", c.name)]);
    let line = run.one_line_error();
    assert!(
        line.contains(&format!(
            "refusing container {}: it lacks the label io.warden.role",
            c.name
        )),
        "{line}"
    );
    let state = c.inspect().await.state.expect("state");
    assert_eq!(state.running, Some(true));
    assert_eq!(state.started_at, started, "never restarted");
    assert_eq!(c.cmd(&["GET", "keep:me"]).await.as_deref(), Some("1"));
    assert_eq!(c.cmd(&["DBSIZE"]).await.as_deref(), Some("1"));

    // A labelled node that is stopped: its config cannot be read, so it is not touched.
    let stopped = TestContainer::start(&docker, &[("io.warden.role", "primary")]).await;
    docker
        .stop_container(&stopped.id, None::<StopContainerOptions>)
        .await
        .expect("stop");
    let run = w.run(&[
        "restore",
        backup,
        "--into",
        &format!("docker:{}", stopped.name),
    ]);
    assert!(
        run.one_line_error().contains("it is not running"),
        "{run:#?}"
    );
    let state = stopped.inspect().await.state.expect("state");
    assert_eq!(state.running, Some(false), "left stopped");

    let missing = format!("{}-gone", c.name);
    let run = w.run(&["restore", backup, "--into", &format!("docker:{missing}")]);
    let line = run.one_line_error();
    assert!(
        line.contains(&format!("no container named '{missing}'")),
        "{line}"
    );
    assert!(checkpoints(&w.path().join("backups")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_test_in_a_scratch_container_passes_and_leaves_nothing() {
    let Some(docker) = engine().await else {
        return;
    };
    let w = Warden::new();
    let backup = make_backup(&w.path().join("backups"), KEYS);
    let args = [
        "restore-test",
        backup.to_str().expect("utf-8"),
        "--backend",
        "docker",
        "--sample",
        "20",
        "--json",
    ];
    let run = w.run(&args);
    assert_eq!(run.code, 0, "{run:#?}");
    let r: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(r["ok"], true, "{r:#}");
    assert_eq!(r["dbsize"], 2000);
    assert_eq!(r["sessions_found"], 2000);
    assert_eq!(r["sampled"], 20);
    let f = label_filter(LABEL_SCRATCH, "restore-test");
    let opts = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&f)
        .build();
    let left = docker.list_containers(Some(opts)).await.expect("list");
    assert!(left.is_empty(), "scratch containers left: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_a_password_needs_it_and_is_left_alone_without() {
    let Some(docker) = engine().await else {
        return;
    };
    let w = Warden::new();
    let backup = make_backup(&w.path().join("backups"), 10);
    let backup = backup.to_str().expect("utf-8");
    let c =
        TestContainer::start_with(&docker, &[("io.warden.role", "replica")], Some("s3cret")).await;
    assert_eq!(c.cmd(&["SET", "old:1", "x"]).await.as_deref(), Some("OK"));
    let started = c.inspect().await.state.and_then(|s| s.started_at);
    let into = format!("docker:{}", c.name);

    let line = w
        .run(&["restore", backup, "--into", &into])
        .one_line_error()
        .to_string();
    assert!(line.contains("no password was given"), "{line}");
    assert!(line.contains("WARDEN_REDIS_PASSWORD"), "{line}");
    assert_eq!(c.inspect().await.state.and_then(|s| s.started_at), started);
    assert_eq!(c.cmd(&["DBSIZE"]).await.as_deref(), Some("1"));

    let run = support::run(
        w.command()
            .env("WARDEN_REDIS_PASSWORD", "s3cret")
            .args(["restore", backup, "--into", &into]),
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.contains("key count            ok   DBSIZE 10"),
        "{}",
        run.stdout
    );
    assert_eq!(c.cmd(&["DBSIZE"]).await.as_deref(), Some("10"));
}

#[test]
fn no_docker_engine_is_a_one_line_error() {
    let w = Warden::new();
    let backup = make_backup(&w.path().join("backups"), 10);
    let run = support::run(w.command().env("DOCKER_HOST", "unix:///nonexistent").args([
        "restore",
        backup.to_str().expect("utf-8"),
        "--into",
        "docker:x",
    ]));
    let line = run.one_line_error();
    assert!(
        line.contains("cannot reach the Docker engine at unix:///nonexistent"),
        "{line}"
    );
    let run = support::run(w.command().env("DOCKER_HOST", "unix:///nonexistent").args([
        "restore-test",
        backup.to_str().expect("utf-8"),
        "--backend",
        "docker",
    ]));
    assert!(
        run.one_line_error()
            .contains("cannot reach the Docker engine")
    );
}
