//! `warden backup` on a real lab, run as the real binary: the primary never forks, the
//! replica does, the manifest's counts match the primary at rest, and the stored file
//! verifies; with no healthy replica it refuses unless `--allow-primary`.

#[path = "backup_support/mod.rs"]
mod backup_support;
mod support;

use backup_support::{dbsize, fill, info, sentinels, wait_synced};
use nix::sys::signal::Signal;
use support::{TestLab, WAIT, Warden, wait_until};
use warden::addr::Addr;
use warden::client::Timeouts;
use warden::sentinel::topology;

fn manifest(run: &support::Run) -> serde_json::Value {
    assert_eq!(run.code, 0, "{run:#?}");
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_from_a_replica_never_forks_the_primary() {
    let t = TestLab::up().await;
    let primary = t.lab.nodes()[0].clone();
    fill(&primary, 5000, 100, 200).await;
    wait_synced(&t, 5100).await;
    let forks_before = info(&primary, "stats", "total_forks").await;
    let w = Warden::new();
    let dest = w.path().join("backups");
    let dest = dest.to_str().expect("utf-8");
    let s = sentinels(&t);
    for (method, compress) in [("stream", "gzip"), ("bgsave", "zstd")] {
        let replicas = t.lab.nodes()[1..].to_vec();
        let mut replica_forks = Vec::new();
        for r in &replicas {
            replica_forks.push(info(r, "stats", "total_forks").await);
        }
        let run = tokio::task::block_in_place(|| {
            w.run(&[
                "backup",
                "--sentinels",
                &s,
                "--dest",
                dest,
                "--method",
                method,
                "--compress",
                compress,
                "--json",
            ])
        });
        let m = manifest(&run);
        assert_eq!(m["counts"]["keys"], dbsize(&primary).await, "{method}");
        assert_eq!(m["counts"]["keys"], 5100, "{method}");
        assert_eq!(m["counts"]["keys_matching"], 5000, "{method}");
        assert_eq!(m["counts"]["keys_with_expiry"], 5000, "{method}");
        assert_eq!(m["source"]["role"], "replica", "{method}");
        assert_eq!(m["source"]["method"], method);
        assert_eq!(m["source"]["primary"], primary.to_string());
        assert_eq!(
            info(&primary, "stats", "total_forks").await,
            forks_before,
            "{method}: the primary forked"
        );
        let source: Addr = m["source"]["addr"]
            .as_str()
            .expect("source addr")
            .parse()
            .expect("addr");
        let i = replicas
            .iter()
            .position(|r| *r == source)
            .expect("source is a lab replica");
        assert!(
            info(&source, "stats", "total_forks").await > replica_forks[i],
            "{method}: the replica did not fork"
        );
        let file = std::path::Path::new(dest).join(m["file"].as_str().expect("file"));
        let run = w.run(&["verify", file.to_str().expect("utf-8"), "--json"]);
        assert_eq!(run.code, 0, "{run:#?}");
        let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
        assert_eq!(v["keys"], 5100);
    }
    let leftovers: Vec<_> = std::fs::read_dir(dest)
        .expect("dest")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".warden-tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_healthy_replica_the_primary_is_used_only_when_allowed() {
    let mut t = TestLab::up().await;
    let primary = t.lab.nodes()[0].clone();
    fill(&primary, 300, 0, 50).await;
    let replicas = t.lab.nodes()[1..].to_vec();
    for r in &replicas {
        t.lab.signal(r, Signal::SIGSTOP).expect("SIGSTOP replica");
    }
    let sentinel = t.lab.sentinels()[0].clone();
    let master = t.lab.master().to_string();
    wait_until(WAIT, "both replicas flagged down", &t.logs(), || {
        let (sentinel, master) = (sentinel.clone(), master.clone());
        async move {
            let Ok(mut c) = warden::client::connect(&sentinel, Timeouts::CONTROL).await else {
                return false;
            };
            topology::replicas(&mut c, &sentinel, &master)
                .await
                .is_ok_and(|rs| rs.len() == 2 && rs.iter().all(|r| !r.healthy()))
        }
    })
    .await;
    let w = Warden::new();
    let s = sentinels(&t);
    let dest = w.path().join("b");
    let dest = dest.to_str().expect("utf-8");
    let forks_before = info(&primary, "stats", "total_forks").await;
    let run = tokio::task::block_in_place(|| w.run(&["backup", "--sentinels", &s, "--dest", dest]));
    let line = run.one_line_error();
    assert!(line.contains("no healthy replica of 'mymaster'"), "{line}");
    assert!(line.contains("--allow-primary"), "{line}");
    assert_eq!(info(&primary, "stats", "total_forks").await, forks_before);
    let run = tokio::task::block_in_place(|| {
        w.run(&[
            "backup",
            "--sentinels",
            &s,
            "--dest",
            dest,
            "--allow-primary",
            "--json",
        ])
    });
    let m = manifest(&run);
    assert_eq!(m["source"]["role"], "primary");
    assert_eq!(m["counts"]["keys"], 300);
    assert_eq!(
        info(&primary, "stats", "total_forks").await,
        forks_before + 1
    );
    for r in &replicas {
        t.lab.signal(r, Signal::SIGCONT).expect("SIGCONT replica");
    }
}
