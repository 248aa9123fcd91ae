//! AOF backups and tools: `warden backup --aof` copies a replica's multi-part AOF while a
//! writer keeps writing, and a scratch server started on the copy holds exactly a prefix of
//! the writes (every `load:i` below some k, none above); `aof inspect --truncated` finds a
//! hand-torn command; `aof trim` writes a directory a strict redis-server
//! (`aof-load-truncated no`) loads, where the torn one is refused.

#[path = "backup_support/mod.rs"]
mod backup_support;
mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use backup_support::{con, sentinels};
use support::{RedisProc, TestLab, Warden, free_ports};

fn redis_cmd(port: u16, args: &[&str]) -> String {
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A redis-server with `appendonly yes` on the AOF directory `aof` (copied under `home`);
/// `None` when it exits instead of serving.
fn serve_aof(home: &Path, aof: &Path, strict: bool) -> Option<(RedisProc, u16)> {
    std::fs::create_dir_all(home).expect("home");
    let data = home.join("data");
    std::fs::create_dir_all(&data).expect("data");
    let copied = std::process::Command::new("cp")
        .arg("-r")
        .arg(aof)
        .arg(data.join("appendonlydir"))
        .status();
    assert!(copied.is_ok_and(|s| s.success()));
    let port = free_ports(1)[0];
    let conf = format!(
        "port {port}\nbind 127.0.0.1\ndir {}\nappendonly yes\nsave \"\"\naof-load-truncated {}\n",
        data.display(),
        if strict { "no" } else { "yes" }
    );
    let mut p = RedisProc::start(home, "scratch", port, &conf, false);
    let deadline = std::time::Instant::now() + support::WAIT;
    loop {
        if redis_cmd(port, &["PING"]) == "PONG" {
            return Some((p, port));
        }
        if p.child.try_wait().ok().flatten().is_some() || std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aof_backup_under_load_restores_a_prefix_of_the_writes_and_trim_repairs_a_torn_tail() {
    let t = TestLab::up().await;
    let primary = t.lab.nodes()[0].clone();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, primary) = (stop.clone(), primary.clone());
        tokio::spawn(async move {
            let mut c = con(&primary).await;
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let () = redis::cmd("SET")
                    .arg(format!("load:{i}"))
                    .arg(i)
                    .query_async(&mut c)
                    .await
                    .expect("SET");
                i += 1;
            }
            i
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let w = Warden::new();
    let dest = w.path().join("backups");
    let s = sentinels(&t);
    let run = tokio::task::block_in_place(|| {
        w.run(&[
            "backup",
            "--aof",
            "--sentinels",
            &s,
            "--dest",
            dest.to_str().expect("utf-8"),
            "--json",
        ])
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let written = writer.await.expect("writer");
    assert_eq!(run.code, 0, "{run:#?}");
    let c: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let copy = std::path::PathBuf::from(c["to"].as_str().expect("to"));
    assert!(copy.join("appendonly.aof.manifest").is_file(), "{c:#}");

    // the copy loads, and holds load:0 .. load:k-1 and nothing after
    let (_srv, port) = serve_aof(&w.path().join("s1"), &copy, true).expect("the copy loads");
    let k: u64 = redis_cmd(port, &["DBSIZE"]).parse().expect("dbsize");
    assert!(k > 0 && k <= written, "k {k}, written {written}");
    let mut c = con(&warden::addr::Addr::local(port)).await;
    let mut get = redis::cmd("MGET");
    for i in 0..k {
        get.arg(format!("load:{i}"));
    }
    let values: Vec<Option<String>> = get.query_async(&mut c).await.expect("MGET");
    for (i, v) in values.iter().enumerate() {
        assert_eq!(
            v.as_deref(),
            Some(i.to_string().as_str()),
            "load:{i} of {k}"
        );
    }
    assert_eq!(redis_cmd(port, &["EXISTS", &format!("load:{k}")]), "0");

    // inspect: readable to the end
    let run = w.run(&["aof", "inspect", copy.to_str().expect("utf-8"), "--json"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let r: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(r["torn"], serde_json::Value::Null, "{r:#}");

    // hand-torn: one complete command, then half of another, appended to the incr file
    let torn = w.path().join("torn");
    assert!(
        std::process::Command::new("cp")
            .arg("-r")
            .arg(&copy)
            .arg(&torn)
            .status()
            .expect("cp")
            .success()
    );
    let incr = std::fs::read_dir(&torn)
        .expect("torn dir")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .expect("incr file");
    let mut bytes = std::fs::read(&incr).expect("incr");
    bytes.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$5\r\nextra\r\n$1\r\n1\r\n");
    let cut_at = bytes.len() as u64;
    bytes.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$4\r\ntorn\r\n$5\r\nhel");
    std::fs::write(&incr, &bytes).expect("write");
    let run = w.run(&[
        "aof",
        "inspect",
        torn.to_str().expect("utf-8"),
        "--truncated",
        "--json",
    ]);
    assert_eq!(run.code, 1, "{run:#?}");
    let r: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(r["torn"]["offset"], cut_at, "{r:#}");
    assert_eq!(r["last_complete"]["command"], "SET extra 1", "{r:#}");
    let run = w.run(&[
        "aof",
        "inspect",
        torn.to_str().expect("utf-8"),
        "--truncated",
    ]);
    assert!(
        run.stdout.contains(&format!("at offset {cut_at}")),
        "{}",
        run.stdout
    );
    assert!(
        serve_aof(&w.path().join("s2"), &torn, true).is_none(),
        "a strict server refuses the torn AOF"
    );

    // trim: a new directory, never in place
    let trimmed = w.path().join("trimmed");
    let run = w.run(&[
        "aof",
        "trim",
        torn.to_str().expect("utf-8"),
        "--to",
        trimmed.to_str().expect("utf-8"),
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(
        std::fs::read(&incr).expect("incr").len(),
        bytes.len(),
        "the source is untouched"
    );
    let run = w.run(&[
        "aof",
        "trim",
        torn.to_str().expect("utf-8"),
        "--to",
        trimmed.to_str().expect("utf-8"),
    ]);
    assert_eq!(run.code, 2, "{run:#?}");
    let (_srv, port) =
        serve_aof(&w.path().join("s3"), &trimmed, true).expect("the trimmed AOF loads");
    assert_eq!(redis_cmd(port, &["DBSIZE"]), (k + 1).to_string());
    assert_eq!(redis_cmd(port, &["GET", "extra"]), "1");
}
