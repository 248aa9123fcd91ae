//! `warden backups verify --all`: in a directory of six backups with one flipped byte, one
//! truncated file and one missing manifest, exactly those three are reported damaged (and
//! why), the rest good, the newest good one named, exit 1; `restore latest-good` takes the
//! newest good one where `latest` would take a damaged one.

#[path = "rdb_support/mod.rs"]
mod rdb_support;
mod support;

use std::path::Path;

use rdb_support::backup::make_backup;
use support::Warden;

/// Six copies of one backup, an hour apart, named `redis-m-20261125-0{1..6}0000.rdb.gz`.
fn six_backups(dest: &Path) -> Vec<String> {
    let first = make_backup(dest, 200);
    let mpath = dest.join("redis-m-20261125-010000.manifest.json");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&mpath).expect("manifest")).expect("json");
    let mut names = Vec::new();
    for h in 1..=6 {
        let base = format!("redis-m-20261125-0{h}0000");
        let file = format!("{base}.rdb.gz");
        if h > 1 {
            std::fs::copy(&first, dest.join(&file)).expect("copy");
        }
        let mut m = m.clone();
        m["file"] = file.clone().into();
        m["created"] = format!("2026-11-25T0{h}:00:00Z").into();
        std::fs::write(dest.join(format!("{base}.manifest.json")), m.to_string()).expect("write");
        names.push(file);
    }
    names
}

#[test]
fn verify_all_names_exactly_the_damaged_backups_and_the_newest_good_one() {
    let w = Warden::new();
    let dest = w.path().join("backups");
    let names = six_backups(&dest);
    // 2: one flipped byte in the middle
    let p = dest.join(&names[1]);
    let mut bytes = std::fs::read(&p).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    std::fs::write(&p, &bytes).expect("flip");
    // 4: its manifest is gone
    std::fs::remove_file(dest.join("redis-m-20261125-040000.manifest.json")).expect("rm");
    // 6 (the newest): truncated
    let p = dest.join(&names[5]);
    let bytes = std::fs::read(&p).expect("read");
    std::fs::write(&p, &bytes[..bytes.len() - 100]).expect("truncate");

    let d = dest.to_str().expect("utf-8");
    let run = w.run(&["backups", "verify", "--all", "--dest", d, "--json"]);
    assert_eq!(run.code, 1, "{run:#?}");
    let r: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let verdicts = r["backups"].as_array().expect("backups");
    assert_eq!(verdicts.len(), 6, "{r:#}");
    let damaged: Vec<(&str, String)> = verdicts
        .iter()
        .filter(|v| v["good"] == false)
        .map(|v| (v["file"].as_str().unwrap_or(""), v["problems"].to_string()))
        .collect();
    let files: Vec<&str> = damaged.iter().map(|(f, _)| *f).collect();
    assert_eq!(
        files,
        [names[3].as_str(), names[1].as_str(), names[5].as_str()],
        "{r:#}"
    ); // no manifest (no time) sorts first
    assert!(damaged[0].1.contains("no manifest"), "{damaged:?}");
    assert!(damaged[1].1.contains("sha256"), "{damaged:?}");
    assert!(damaged[2].1.contains("size"), "{damaged:?}");
    for v in verdicts.iter().filter(|v| v["good"] == true) {
        assert_eq!(v["keys"], 200, "{v:#}");
    }
    assert_eq!(r["newest_good"], names[4].as_str());

    let run = w.run(&["backups", "verify", "--all", "--dest", d]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stdout.contains(&format!(
            "6 backups: 3 good, 3 damaged; newest good: {}",
            names[4]
        )),
        "{}",
        run.stdout
    );

    // restore latest-good takes the newest good one; latest would fail on the truncated one
    let data = w.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    let into = format!("dir:{}", data.display());
    let run = w.run(&["restore", "latest", "--dest", d, "--into", &into]);
    assert_eq!(run.code, 1, "{run:#?}");
    let run = w.run(&[
        "restore",
        "latest-good",
        "--dest",
        d,
        "--into",
        &into,
        "--json",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    let r: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(r["file"], names[4].as_str());
    assert_eq!(r["keys"], 200);

    // once the damaged ones are gone, everything is good: exit 0
    for n in [&names[1], &names[3], &names[5]] {
        std::fs::remove_file(dest.join(n)).expect("rm");
    }
    for n in ["020000", "060000"] {
        std::fs::remove_file(dest.join(format!("redis-m-20261125-{n}.manifest.json"))).expect("rm");
    }
    let run = w.run(&["backups", "verify", "--all", "--dest", d]);
    assert_eq!(run.code, 0, "{run:#?}");
}
