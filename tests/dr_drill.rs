//! `warden dr-drill`: on a process lab, back up, then restore into the lab's primary after
//! killing it (runbook §5.2) and time each step: the report's restore RTO is the sum of its
//! steps, the node serves the backup's keys and TTLs, exit 0. A backup made to look an hour
//! old (its manifest's time moved back; nothing sleeps) fails `backup_rpo = "1s"`, exit 1,
//! restored into a scratch node.

#[path = "backup_support/mod.rs"]
mod backup_support;
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use backup_support::{dbsize, fill, sentinels, wait_synced};
use support::{TestLab, Warden};
use warden::lab::SentinelSettings;

/// Stops whatever `lab.json` records at the end (dr-drill restarts the primary under a new
/// PID the test's own lab value does not know).
struct Down(PathBuf);

impl Drop for Down {
    fn drop(&mut self) {
        if let Ok(lab) = warden::lab::Lab::load(&self.0) {
            let _ = lab.down();
        }
    }
}

fn scenario(w: &Warden, name: &str, dest: &Path, restore: &str, rpo: &str) -> PathBuf {
    w.write(
        name,
        &format!(
            "name = \"{name}\"\n[backup]\ndest = \"{}\"\n[targets]\nrestore_rto = \"60s\"\n\
             backup_rpo = \"{rpo}\"\n[restore]\n{restore}",
            dest.display()
        ),
    )
}

fn steps_sum(r: &serde_json::Value) -> f64 {
    r["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["ms"].as_f64().expect("ms"))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_into_the_killed_lab_primary_is_timed_step_by_step() {
    // a long down-after: the primary is back before any Sentinel would fail it over
    let settings = SentinelSettings {
        down_after: Duration::from_secs(60),
        ..SentinelSettings::default()
    };
    let t = TestLab::up_with(settings).await;
    let _down = Down(t.lab.dir().to_path_buf());
    let primary = t.lab.nodes()[0].clone();
    fill(&primary, 400, 100, 100).await;
    wait_synced(&t, 500).await;
    let w = Warden::new();
    let dest = w.path().join("backups");
    let s = sentinels(&t);
    let run = tokio::task::block_in_place(|| {
        w.run(&[
            "backup",
            "--sentinels",
            &s,
            "--dest",
            dest.to_str().expect("utf-8"),
        ])
    });
    assert_eq!(run.code, 0, "{run:#?}");
    // writes after the backup are gone after the restore
    let mut c = backup_support::con(&primary).await;
    let () = redis::cmd("SET")
        .arg(&["after:backup", "x"])
        .query_async(&mut c)
        .await
        .expect("SET");
    drop(c);

    let restore = format!(
        "into = \"lab-primary\"\nlab_dir = \"{}\"\nexpect_size = \"10GB\"\n",
        t.lab.dir().display()
    );
    let sc = scenario(&w, "lab.toml", &dest, &restore, "1h");
    let run =
        tokio::task::block_in_place(|| w.run(&["dr-drill", sc.to_str().expect("utf-8"), "--json"]));
    assert_eq!(run.code, 0, "{run:#?}");
    let r: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let names: Vec<&str> = r["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        ["download", "checksum", "verify", "load", "first_served"]
    );
    let rto = r["restore_rto_ms"].as_f64().expect("rto");
    assert!((rto - steps_sum(&r)).abs() < 1e-6, "{r:#}");
    assert!(
        r["into"].as_str().expect("into").starts_with("lab primary"),
        "{r:#}"
    );
    assert!(
        r["extrapolated_rto_ms"].as_f64().expect("extrapolated") > rto,
        "{r:#}"
    );
    for c in r["verdict"].as_array().expect("verdict") {
        assert_eq!(c["ok"], true, "{c:#}");
    }
    // the restarted primary serves the backup: its keys, its TTLs, not the later write
    assert_eq!(dbsize(&primary).await, 500);
    let mut c = backup_support::con(&primary).await;
    let exists: i64 = redis::cmd("EXISTS")
        .arg("after:backup")
        .query_async(&mut c)
        .await
        .expect("EXISTS");
    assert_eq!(exists, 0);
    let pttl: i64 = redis::cmd("PTTL")
        .arg("session:7")
        .query_async(&mut c)
        .await
        .expect("PTTL");
    assert!(pttl > 0, "{pttl}");
    let run = tokio::task::block_in_place(|| w.run(&["dr-drill", sc.to_str().expect("utf-8")]));
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains("restore RTO"), "{}", run.stdout);

    // an hour-old backup (its manifest says so) against backup_rpo = 1s: exit 1, and only
    // backup_rpo fails; restored into a scratch process this time
    let mpath = std::fs::read_dir(&dest)
        .expect("dest")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".manifest.json"))
        .expect("manifest");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&mpath).expect("read")).expect("json");
    let old = chrono::Utc::now() - chrono::Duration::hours(1);
    m["created"] = old.to_rfc3339().into();
    std::fs::write(&mpath, m.to_string()).expect("write");
    let sc = scenario(&w, "old.toml", &dest, "", "1s");
    let run =
        tokio::task::block_in_place(|| w.run(&["dr-drill", sc.to_str().expect("utf-8"), "--json"]));
    assert_eq!(run.code, 1, "{run:#?}");
    let r: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let failed: Vec<&str> = r["verdict"]
        .as_array()
        .expect("verdict")
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(failed, ["backup_rpo"], "{r:#}");
    assert!(
        r["backup_age_ms"].as_u64().expect("age") >= 3_600_000,
        "{r:#}"
    );
    assert!(
        r["into"]
            .as_str()
            .expect("into")
            .starts_with("scratch process"),
        "{r:#}"
    );
    let rto = r["restore_rto_ms"].as_f64().expect("rto");
    assert!((rto - steps_sum(&r)).abs() < 1e-6, "{r:#}");

    // a scenario with a mistake: exit 2, one line
    let bad = w.write("bad.toml", "name = \"x\"\n[backup]\ndest = \"d\"\n");
    let run = w.run(&["dr-drill", bad.to_str().expect("utf-8")]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(run.one_line_error().contains("targets"), "{run:#?}");
}
