//! Backup → `warden restore-test` round trip on a lab with 100k session keys (random values,
//! TTLs): it passes; a sampled-value check command that rejects fails it; one flipped byte in
//! the stored file fails it with the checksum error.

#[path = "backup_support/mod.rs"]
mod backup_support;
mod support;

use backup_support::{fill, sentinels, wait_synced};
use support::{TestLab, Warden};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_restores_and_a_flipped_byte_fails_the_checksum() {
    let t = TestLab::up().await;
    let primary = t.lab.nodes()[0].clone();
    fill(&primary, 100_000, 500, 100).await;
    wait_synced(&t, 100_500).await;
    let w = Warden::new();
    let dest = w.path().join("backups");
    let dest = dest.to_str().expect("utf-8");
    let s = sentinels(&t);
    let run = tokio::task::block_in_place(|| {
        w.run(&["backup", "--sentinels", &s, "--dest", dest, "--json"])
    });
    assert_eq!(run.code, 0, "{run:#?}");
    let m: serde_json::Value = serde_json::from_str(&run.stdout).expect("manifest json");
    assert_eq!(m["counts"]["keys_matching"], 100_000);
    drop(t); // the restore test needs no cluster

    let run = w.run(&[
        "restore-test",
        "latest",
        "--dest",
        dest,
        "--sample",
        "50",
        "--check-cmd",
        "test \"$(wc -c)\" -eq 100",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    let r: serde_json::Value = serde_json::from_str(&run.stdout).expect("report json");
    assert_eq!(r["ok"], true, "{r:#}");
    assert_eq!(r["dbsize"], 100_500);
    assert_eq!(r["sessions_found"], 100_000);
    assert_eq!(r["sampled"], 50);
    assert_eq!(r["check_cmd_failures"], 0);

    let file = std::path::Path::new(dest).join(m["file"].as_str().expect("file"));
    let file = file.to_str().expect("utf-8");
    let run = w.run(&[
        "restore-test",
        file,
        "--sample",
        "5",
        "--check-cmd",
        "false",
    ]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stdout.contains("FAIL 5 of 5 values rejected"),
        "{run:#?}"
    );
    assert!(
        run.stdout.contains("verdict              FAILED"),
        "{run:#?}"
    );

    let mut bytes = std::fs::read(file).expect("read backup");
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(file, bytes).expect("write backup");
    let run = w.run(&["restore-test", file]);
    assert_eq!(run.code, 1, "{run:#?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{run:#?}");
    assert!(lines[0].starts_with("warden: checksum error: "), "{run:#?}");
}
