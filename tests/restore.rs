//! `warden restore FILE --into dir:PATH` into the data dir of a stopped `appendonly yes`
//! node: the node then starts with the backup's keys, not its old AOF; bad input (a running
//! node, a missing file, a manifest mismatch, a truncated gzip) gets one line and leaves no
//! partial file behind.

#[path = "rdb_support/mod.rs"]
mod rdb_support;
mod support;

use std::path::Path;

use rdb_support::backup::make_backup;
use support::{RedisProc, Warden, free_ports};

fn aof_node(dir: &Path, port: u16) -> RedisProc {
    let conf = format!(
        "port {port}\nbind 127.0.0.1\ndir {}\nappendonly yes\nsave \"\"\n",
        dir.display()
    );
    RedisProc::start(dir, "node", port, &conf, false)
}

fn redis_cmd(port: u16, args: &[&str]) -> String {
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn wait_up(port: u16) {
    let deadline = std::time::Instant::now() + support::WAIT;
    while redis_cmd(port, &["PING"]) != "PONG" {
        assert!(
            std::time::Instant::now() < deadline,
            "node on {port} did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".warden-tmp-"))
        .collect()
}

#[test]
fn restore_into_an_aof_node_loads_the_backup_not_the_old_aof() {
    let w = Warden::new();
    let backup = make_backup(&w.path().join("backups"), 500);
    let backup = backup.to_str().expect("utf-8");
    let data = w.path().join("node");
    std::fs::create_dir_all(&data).expect("data dir");
    let port = free_ports(1)[0];
    let node = aof_node(&data, port);
    wait_up(port);
    assert_eq!(redis_cmd(port, &["SET", "old:1", "x"]), "OK");
    let into = format!("dir:{}", data.display());
    let run = w.run(&["restore", backup, "--into", &into]);
    assert!(run.one_line_error().contains("is running in"), "{run:#?}");
    assert_eq!(redis_cmd(port, &["SHUTDOWN"]), "");
    drop(node);

    let run = w.run(&["restore", backup, "--into", &into, "--json"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let r: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(r["keys"], 500);
    assert_eq!(r["previous"].as_array().map(Vec::len), Some(1), "{r:#}"); // the old AOF dir
    let _node = aof_node(&data, port);
    wait_up(port);
    assert_eq!(redis_cmd(port, &["DBSIZE"]), "500");
    assert_eq!(redis_cmd(port, &["EXISTS", "old:1"]), "0");
    assert!(leftovers(&data).is_empty());
}

#[test]
fn bad_inputs_get_one_line_and_leave_nothing_behind() {
    let w = Warden::new();
    let dest = w.path().join("backups");
    let backup = make_backup(&dest, 500);
    let data = w.path().join("node");
    std::fs::create_dir_all(&data).expect("data dir");
    let into = format!("dir:{}", data.display());

    let line = w
        .run(&["restore", "nope.rdb.gz", "--into", &into])
        .one_line_error()
        .to_string();
    assert!(line.contains("nope.rdb.gz"), "{line}");
    let line = w
        .run(&[
            "restore",
            backup.to_str().expect("utf-8"),
            "--into",
            "nowhere:x",
        ])
        .one_line_error()
        .to_string();
    assert!(line.contains("dir:PATH"), "{line}");

    // a full disk, simulated by a file-size limit (SIGXFSZ ignored, so writes fail with EFBIG)
    let run = support::run(
        std::process::Command::new("sh")
            .current_dir(w.path())
            .args([
                "-c",
                "trap '' XFSZ; ulimit -f 4; exec \"$0\" \"$@\"",
                env!("CARGO_BIN_EXE_warden"),
                "restore",
                backup.to_str().expect("utf-8"),
                "--into",
                &into,
            ]),
    );
    let line = run.one_line_error();
    assert!(line.contains("File too large"), "{line}");
    assert_eq!(
        std::fs::read_dir(&data).expect("dir").count(),
        0,
        "nothing left"
    );

    // manifest mismatch: the stored sha256 no longer matches
    let mpath = dest.join("redis-m-20261125-010000.manifest.json");
    let original = std::fs::read_to_string(&mpath).expect("manifest");
    let mut m: serde_json::Value = serde_json::from_str(&original).expect("json");
    m["stored"]["sha256"] = "00".repeat(32).into();
    std::fs::write(&mpath, m.to_string()).expect("write");
    let run = w.run(&["restore", backup.to_str().expect("utf-8"), "--into", &into]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.starts_with("warden: checksum error:"),
        "{run:#?}"
    );
    assert_eq!(run.stderr.lines().count(), 1);

    // truncated gzip, with a manifest that matches the truncated bytes
    let bytes = std::fs::read(&backup).expect("backup");
    let cut = &bytes[..bytes.len() / 2];
    std::fs::write(&backup, cut).expect("truncate");
    let digest = warden::backup::tee::digest(cut).expect("digest");
    m["stored"]["sha256"] = digest.sha256.into();
    std::fs::write(&mpath, m.to_string()).expect("write");
    let run = w.run(&["restore", backup.to_str().expect("utf-8"), "--into", &into]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("is not a valid RDB"), "{run:#?}");
    assert_eq!(run.stderr.lines().count(), 1);
    let run = w.run(&["restore-test", backup.to_str().expect("utf-8")]);
    assert_eq!(run.code, 1, "{run:#?}");

    assert_eq!(
        std::fs::read_dir(&data).expect("dir").count(),
        0,
        "nothing written"
    );
}

/// The issue "Disaster recovery as the runbook means it" (1): a restore run as root left
/// `dump.rdb` and `appendonlydir/*` as `root:root 0600`, and Debian's redis-server (user
/// `redis`) could not open the AOF. The restored files now take the data dir's owner (or
/// the replaced files'), and a server running as that user loads them.
#[test]
fn a_restore_as_root_gives_the_files_the_data_dirs_owner() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt, chown};
    let id = |args: &[&str]| -> Option<u32> {
        let out = std::process::Command::new("id").args(args).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    if id(&["-u"]) != Some(0) {
        eprintln!("skipped: needs root to give a data dir to another user");
        return;
    }
    let (Some(uid), Some(gid)) = (id(&["-u", "nobody"]), id(&["-g", "nobody"])) else {
        eprintln!("skipped: no user `nobody` here");
        return;
    };
    let w = Warden::new();
    let backup = make_backup(&w.path().join("backups"), 300);
    let backup = backup.to_str().expect("utf-8");
    // a parent `nobody` can traverse (test temp dirs are 0700)
    let open = tempfile::Builder::new()
        .prefix("warden-owner-")
        .tempdir()
        .expect("tmp");
    std::fs::set_permissions(open.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let data = open.path().join("data");
    std::fs::create_dir(&data).expect("data dir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o750)).expect("chmod");
    chown(&data, Some(uid), Some(gid)).expect("chown");

    let into = format!("dir:{}", data.display());
    let run = w.run(&["restore", backup, "--into", &into]);
    assert_eq!(run.code, 0, "{run:#?}");
    let owned = |p: &Path| {
        let m = std::fs::metadata(p).expect("meta");
        (m.uid(), m.gid(), m.mode() & 0o777)
    };
    assert_eq!(owned(&data.join("dump.rdb")), (uid, gid, 0o640));
    let aof = data.join("appendonlydir");
    assert_eq!(owned(&aof), (uid, gid, 0o750));
    for f in std::fs::read_dir(&aof).expect("aof dir").flatten() {
        assert_eq!(
            owned(&f.path()),
            (uid, gid, 0o640),
            "{}",
            f.path().display()
        );
    }

    // a server running as that user loads them, through the AOF
    let port = free_ports(1)[0];
    let conf = open.path().join("node.conf");
    std::fs::write(
        &conf,
        format!(
            "port {port}\nbind 127.0.0.1\ndir {}\nappendonly yes\nsave \"\"\n",
            data.display()
        ),
    )
    .expect("conf");
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let log = open.path().join("node.log");
    let out = std::fs::File::create(&log).expect("log");
    let mut child = std::process::Command::new("setpriv")
        .args(["--reuid", &uid.to_string(), "--regid", &gid.to_string()])
        .args(["--clear-groups", "redis-server"])
        .arg(&conf)
        .stdout(out.try_clone().expect("clone"))
        .stderr(out)
        .spawn()
        .expect("setpriv redis-server");
    let deadline = std::time::Instant::now() + support::WAIT;
    while redis_cmd(port, &["PING"]) != "PONG" {
        if std::time::Instant::now() > deadline || child.try_wait().ok().flatten().is_some() {
            let _ = child.kill();
            panic!("node as nobody did not start:\n{}", support::tail(&log, 20));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let keys = redis_cmd(port, &["DBSIZE"]);
    let _ = redis_cmd(port, &["SHUTDOWN", "NOSAVE"]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(keys, "300", "{}", support::tail(&log, 20));

    // a second restore keeps the modes of the files it replaces
    std::fs::set_permissions(
        data.join("dump.rdb"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod");
    let run = w.run(&["restore", backup, "--into", &into, "--no-checkpoint"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(owned(&data.join("dump.rdb")), (uid, gid, 0o600));
}

/// Two restores within one second: the second's checkpoints must not meet the first's
/// (`appendonlydir.before-restore-<stamp>` existed: "Directory not empty"; found by
/// `tests/dr_drill.rs`).
#[test]
fn restores_in_the_same_second_keep_both_checkpoints() {
    let w = Warden::new();
    let backup = make_backup(&w.path().join("backups"), 50);
    let backup = backup.to_str().expect("utf-8");
    let data = w.path().join("node");
    std::fs::create_dir_all(&data).expect("data dir");
    let into = format!("dir:{}", data.display());
    for _ in 0..3 {
        let run = w.run(&["restore", backup, "--into", &into]);
        assert_eq!(run.code, 0, "{run:#?}");
    }
    let kept = std::fs::read_dir(&data)
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".before-restore-"))
        .count();
    assert_eq!(
        kept, 4,
        "two restores replaced dump.rdb and appendonlydir each"
    );
}
