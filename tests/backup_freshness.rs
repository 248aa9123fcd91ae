//! `warden backup --catch-up`: the backup waits until the chosen replica has reached the
//! primary's `master_repl_offset` read at the start, within the bound; past it, the manifest
//! records the exact lag. A replica is held behind deterministically with `CLIENT PAUSE
//! WRITE` on it (Redis 7.0 then leaves `slave_repl_offset` where it was until the pause ends).

#[path = "backup_support/mod.rs"]
mod backup_support;
mod support;

use backup_support::{con, fill, sentinels, wait_synced};
use support::{TestLab, Warden};

fn manifest(run: &support::Run) -> serde_json::Value {
    assert_eq!(run.code, 0, "{run:#?}");
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_waits_for_the_replica_to_catch_up_or_records_the_lag() {
    let t = TestLab::up().await;
    let primary = t.lab.nodes()[0].clone();
    let replicas = t.lab.nodes()[1..].to_vec();
    fill(&primary, 200, 0, 100).await;
    wait_synced(&t, 200).await;
    let w = Warden::new();
    let dest = w.path().join("backups");
    let dest = dest.to_str().expect("utf-8");
    let s = sentinels(&t);
    let backup = |catch_up: &str| {
        let args = [
            "backup",
            "--sentinels",
            &s,
            "--dest",
            dest,
            "--catch-up",
            catch_up,
            "--json",
        ];
        tokio::task::block_in_place(|| w.run(&args))
    };
    // Behind both replicas: pause them, then write on the primary.
    let hold_back = |ms: u64, key: &'static str| {
        let (replicas, primary) = (replicas.clone(), primary.clone());
        async move {
            for r in &replicas {
                let mut c = con(r).await;
                let () = redis::cmd("CLIENT")
                    .arg(&["PAUSE", &ms.to_string(), "WRITE"])
                    .query_async(&mut c)
                    .await
                    .expect("CLIENT PAUSE");
            }
            let mut c = con(&primary).await;
            let () = redis::cmd("SET")
                .arg(&[key, "x"])
                .query_async(&mut c)
                .await
                .expect("SET");
        }
    };

    // At rest: caught up at once.
    let m = manifest(&backup("5s"));
    let f = &m["source"]["freshness"];
    assert_eq!(f["caught_up"], true, "{m:#}");
    assert_eq!(f["lag_bytes"], 0, "{m:#}");

    // Held back past the bound: the backup goes ahead and records the exact lag.
    hold_back(4000, "fresh:1").await;
    let m = manifest(&backup("200ms"));
    let f = &m["source"]["freshness"];
    assert_eq!(f["caught_up"], false, "{m:#}");
    let (p, r) = (
        f["primary_repl_offset"].as_i64().expect("primary offset"),
        f["replica_repl_offset"].as_i64().expect("replica offset"),
    );
    assert!(p > r, "{m:#}");
    assert_eq!(f["lag_bytes"].as_i64(), Some(p - r), "{m:#}");
    assert!(f["waited_ms"].as_u64().expect("waited") >= 200, "{m:#}");

    // Held back within the bound: it waits, and the backup holds the write.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    hold_back(1500, "fresh:2").await;
    let m = manifest(&backup("30s"));
    let f = &m["source"]["freshness"];
    assert_eq!(f["caught_up"], true, "{m:#}");
    assert_eq!(f["lag_bytes"], 0, "{m:#}");
    assert!(
        f["replica_repl_offset"].as_i64() >= f["primary_repl_offset"].as_i64(),
        "{m:#}"
    );
    assert!(f["waited_ms"].as_u64().expect("waited") >= 300, "{m:#}");
    assert_eq!(m["counts"]["keys"], 202, "{m:#}");
}
