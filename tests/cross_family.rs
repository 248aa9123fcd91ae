//! Backups across server families, with real servers: a Redis 7.0 backup restored into Valkey
//! 8.1 and 9.1 scratch servers (`restore-test` passes: key count, sessions, sampled TTLs), and
//! a Valkey 9.1 backup that Redis 7.0 would not load refused by `verify --for`, `restore-test`
//! and `restore` with its reason, before anything is touched. Runs in the main (Redis) pass;
//! fails without the cached Valkeys unless `WARDEN_TEST_SKIP_MISSING=1`.

#[path = "backup_support/mod.rs"]
mod backup_support;
mod support;

use backup_support::{fill, sentinels, wait_synced};
use support::{TestLab, Warden, valkey};
use warden::lab::SentinelSettings;

/// Takes a backup of `t` into `w`'s `backups/`; returns the directory and the stored file.
fn backup(t: &TestLab, w: &Warden) -> (String, String) {
    let dest = w.path().join("backups").display().to_string();
    let s = sentinels(t);
    let run = tokio::task::block_in_place(|| {
        w.run(&["backup", "--sentinels", &s, "--dest", &dest, "--json"])
    });
    assert_eq!(run.code, 0, "{run:#?}");
    let m: serde_json::Value = serde_json::from_str(&run.stdout).expect("manifest json");
    let file = format!("{dest}/{}", m["file"].as_str().expect("file"));
    (dest, file)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_7_0_backup_restores_into_valkey_8_1_and_9_1() {
    let test = "a_redis_7_0_backup_restores_into_valkey_8_1_and_9_1";
    if support::on_valkey() {
        eprintln!("skipping {test}: it backs up a Redis lab (the main pass)");
        return;
    }
    let (Some(v8), Some(v9)) = (valkey::server_or_skip(test), valkey::server9_or_skip(test)) else {
        return;
    };
    let t = TestLab::up().await;
    let primary = t.lab.nodes()[0].clone();
    fill(&primary, 10_000, 500, 64).await;
    wait_synced(&t, 10_500).await;
    let w = Warden::new();
    let (_, file) = backup(&t, &w);
    drop(t);

    for (name, bin) in [("valkey-8.1", v8), ("valkey-9.1", v9)] {
        let run = w.run(&["verify", &file, "--for", name]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(run.stdout.contains("  loads\n"), "{run:#?}");
        let bin = bin.display().to_string();
        let run = w.run(&[
            "restore-test",
            &file,
            "--redis-server",
            &bin,
            "--sample",
            "200",
            "--json",
        ]);
        assert_eq!(run.code, 0, "{name}: {run:#?}");
        let r: serde_json::Value = serde_json::from_str(&run.stdout).expect("report json");
        // Every key and every session of the manifest, each sampled one with its TTL.
        assert_eq!(r["ok"], true, "{name}: {r:#}");
        assert_eq!(r["dbsize"], 10_500, "{name}: {r:#}");
        assert_eq!(r["sessions_in_backup"], 10_000, "{name}: {r:#}");
        assert_eq!(r["sessions_found"], 10_000, "{name}: {r:#}");
        assert_eq!(r["sampled"], 200, "{name}: {r:#}");
        assert_eq!(r["sample_failures"], serde_json::json!([]), "{name}: {r:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valkey_9_1_backup_is_refused_for_redis_7_0_with_its_reason() {
    let test = "a_valkey_9_1_backup_is_refused_for_redis_7_0_with_its_reason";
    if support::on_valkey() {
        eprintln!("skipping {test}: it needs Redis 7.0 beside Valkey 9.1 (the main pass)");
        return;
    }
    let Some(v9) = valkey::server9_or_skip(test) else {
        return;
    };
    let t = TestLab::up_on(v9, SentinelSettings::default()).await;
    let primary = t.lab.nodes()[0].clone();
    fill(&primary, 1_000, 10, 16).await;
    wait_synced(&t, 1_010).await;
    let w = Warden::new();
    let (_, file) = backup(&t, &w);
    let reason = "Valkey RDB 80 (Valkey 9.0 – 9.1): Valkey's own magic VALKEY080, which no Redis \
                  loads (\"Wrong signature\")";

    // verify --for: by name, and by asking the live nodes.
    let run = w.run(&["verify", &file, "--for", "redis-7.0"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stdout
            .contains(&format!("on Redis 7.0         does not load: {reason}\n")),
        "{run:#?}"
    );
    let run = w.run(&["verify", &file, "--for", &primary.to_string(), "--json"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("verify json");
    assert_eq!(v["loads_on"]["server"], "Valkey 9.1", "{v:#}");
    assert_eq!(v["loads_on"]["loads"], true, "{v:#}");
    drop(t);
    // A Redis 7.0 node (the main pass's server), asked the same way.
    let port = support::free_ports(1)[0];
    let conf = format!(
        "port {port}\nbind 127.0.0.1\nsave \"\"\ndir {}\n",
        w.path().display()
    );
    let redis = support::RedisProc::start(w.path(), "redis70", port, &conf, false);
    let up = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(up.elapsed() < support::WAIT, "redis-server did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let run = w.run(&[
        "verify",
        &file,
        "--for",
        &redis.addr().to_string(),
        "--json",
    ]);
    assert_eq!(run.code, 1, "{run:#?}");
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("verify json");
    assert_eq!(v["loads_on"]["server"], "Redis 7.0", "{v:#}");
    assert_eq!(v["loads_on"]["reason"], reason, "{v:#}");
    let run = w.run(&["verify", &file, "--for", "keydb-6.3"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr.starts_with("warden: --for keydb-6.3: expected"),
        "{run:#?}"
    );
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");

    // restore-test on a Redis 7.0 scratch server and restore into a stopped Redis 7.0 node's
    // data dir: refused with the same reason, exit 1, nothing started or written.
    let refused = format!("does not load on Redis 7.0: {reason}\n");
    let run = w.run(&["restore-test", &file, "--redis-server", "redis-server"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.starts_with("warden: "), "{run:#?}");
    assert!(run.stderr.ends_with(&refused), "{run:#?}");
    let data = w.path().join("node-data");
    std::fs::create_dir_all(&data).expect("data dir");
    let into = format!("dir:{}", data.display());
    let run = w.run(&["restore", &file, "--into", &into, "--for", "redis-7.0"]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.ends_with(&refused), "{run:#?}");
    assert_eq!(
        std::fs::read_dir(&data).expect("read").count(),
        0,
        "{run:#?}"
    );
}
