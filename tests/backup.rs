//! `warden backup` on a real lab, run as the real binary: the primary never forks, the
//! replica does, the manifest's counts match the primary at rest, and the stored file
//! verifies; retention keeps what `--keep-last`/`--keep-days` say and the newest; with no
//! healthy replica it refuses unless `--allow-primary`.

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
    // Retention: a third backup with --keep-last 2 deletes the oldest; --keep-days 0 then
    // deletes all but the newest.
    let backup = |extra: &[&str]| {
        let mut a = vec!["backup", "--sentinels", &s, "--dest", dest, "--json"];
        a.extend_from_slice(extra);
        tokio::task::block_in_place(|| w.run(&a))
    };
    let listed = || {
        let run = w.run(&["backups", "list", "--dest", dest, "--json"]);
        let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("list json");
        v.as_array()
            .expect("array")
            .iter()
            .map(|m| m["file"].as_str().expect("file").to_string())
            .collect::<Vec<_>>()
    };
    let before = listed();
    assert_eq!(before.len(), 2, "{before:?}");
    let third = manifest(&backup(&["--keep-last", "2"]));
    assert_eq!(third["deleted"], serde_json::json!([before[0]]));
    let fourth = manifest(&backup(&["--keep-days", "0"]));
    assert_eq!(
        fourth["deleted"],
        serde_json::json!([before[1], third["file"]])
    );
    assert_eq!(listed(), [fourth["file"].as_str().expect("file")]);
    let run = w.run(&["backups", "list", "--dest", dest]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains("replica 127.0.0.1:"), "{run:#?}");
    // A full disk (a file-size limit; SIGXFSZ ignored so writes fail with EFBIG) is one
    // line and leaves no temporary file.
    let run = tokio::task::block_in_place(|| {
        support::run(
            std::process::Command::new("sh")
                .current_dir(w.path())
                .args([
                    "-c",
                    "trap '' XFSZ; ulimit -f 64; exec \"$0\" \"$@\"",
                    env!("CARGO_BIN_EXE_warden"),
                    "backup",
                    "--sentinels",
                    &s,
                    "--dest",
                    dest,
                ]),
        )
    });
    let line = run.one_line_error();
    assert!(line.contains("File too large"), "{line}");
    let leftovers: Vec<_> = std::fs::read_dir(dest)
        .expect("dest")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        leftovers.len(),
        2,
        "one backup and its manifest: {leftovers:?}"
    );
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
            let Ok(mut c) = warden::conn::Conn::default()
                .node(&sentinel, Timeouts::CONTROL)
                .await
            else {
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

#[test]
fn unreachable_sentinels_are_one_line_and_write_nothing() {
    let w = Warden::new();
    let port = support::free_ports(1)[0];
    let s = format!("127.0.0.1:{port}");
    let run = w.run(&["backup", "--sentinels", &s, "--dest", "out"]);
    let line = run.one_line_error();
    assert!(line.contains("no Sentinel answered"), "{line}");
    assert!(!w.path().join("out").exists(), "nothing written");
}
