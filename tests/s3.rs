//! Object-storage destinations against a real S3-compatible server (`moto_server` from PyPI's
//! `moto[server]`, installed by `scripts/setup.sh`): backup to a directory and a bucket in one
//! run, list, retention, restore-test from the bucket, `backups verify --all` (the objects'
//! ETags checked against the bytes downloaded, also through a proxy that damages them), a
//! bucket that does not exist, and the trend over drill reports saved under a prefix.
//!
//! Without `moto_server` on PATH these tests fail, unless the run opted out of missing tools
//! (`tests/support/missing.rs`).

#[path = "backup_support/mod.rs"]
mod backup_support;
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use backup_support::{fill, sentinels, wait_synced};
use support::{TestLab, Warden, free_ports};

/// A `moto_server` on a free port; killed on drop.
struct Moto {
    child: Child,
    url: String,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts moto; when it is not installed, fails, or returns None (after saying why) when the
/// run opted out of missing tools.
fn moto() -> Option<Moto> {
    let port = free_ports(1)[0];
    let child = match Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            support::missing::missing(&format!("moto_server is not runnable ({e})"));
            return None;
        }
    };
    let m = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
        port,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(m)
}

/// Creates a bucket with a bare `PUT /<bucket>` (moto does not check signatures).
fn create_bucket(m: &Moto, bucket: &str) {
    let mut s = TcpStream::connect(("127.0.0.1", m.port)).expect("connect moto");
    write!(
        s,
        "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        m.port
    )
    .expect("send");
    let mut reply = String::new();
    s.read_to_string(&mut reply).expect("reply");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}

/// Overwrites an object with a bare `PUT /<bucket>/<key>` (moto does not check signatures).
fn put_object(m: &Moto, bucket: &str, key: &str, body: &[u8]) {
    let mut s = TcpStream::connect(("127.0.0.1", m.port)).expect("connect moto");
    write!(
        s,
        "PUT /{bucket}/{key} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        m.port,
        body.len()
    )
    .expect("send");
    s.write_all(body).expect("body");
    let mut reply = String::new();
    s.read_to_string(&mut reply).expect("reply");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}

/// An HTTP proxy to moto on `port` that changes the last byte of every response to a `GET`
/// of a data object (`….rdb…`, not a manifest): bytes other than those the store received,
/// as damage at rest or in transit would give. One request per connection (it asks moto to
/// close after each); returns its URL.
fn corrupting_proxy(port: u16) -> String {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            std::thread::spawn(move || relay(client, port));
        }
    });
    url
}

fn relay(mut client: TcpStream, port: u16) {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match client.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let body_len: usize = text
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = vec![0u8; body_len];
    if client.read_exact(&mut body).is_err() {
        return;
    }
    let mut lines: Vec<&str> = text
        .trim_end()
        .lines()
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    lines.push("Connection: close");
    let request_line = lines[0].to_string();
    let mut server = TcpStream::connect(("127.0.0.1", port)).expect("connect moto");
    server
        .write_all(format!("{}\r\n\r\n", lines.join("\r\n")).as_bytes())
        .expect("send head");
    server.write_all(&body).expect("send body");
    let mut reply = Vec::new();
    server.read_to_end(&mut reply).expect("reply");
    let data_get = request_line.starts_with("GET ")
        && request_line.contains(".rdb")
        && !request_line.contains(".manifest");
    let header_end = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4);
    if let (true, Some(h)) = (data_get, header_end)
        && reply.len() > h
        && let Some(last) = reply.last_mut()
    {
        *last ^= 0xff;
    }
    let _ = client.write_all(&reply);
}

fn warden_s3(w: &Warden, m: &Moto, args: &[&str]) -> support::Run {
    let mut cmd = w.command();
    cmd.args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("WARDEN_S3_ENDPOINT", &m.url);
    tokio::task::block_in_place(|| support::run(&mut cmd))
}

fn json(run: &support::Run) -> serde_json::Value {
    assert_eq!(run.code, 0, "{run:#?}");
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_to_a_bucket_list_prune_and_restore_test_from_it() {
    let Some(m) = moto() else { return };
    create_bucket(&m, "warden");
    let t = TestLab::up().await;
    let primary = t.lab.nodes()[0].clone();
    fill(&primary, 3000, 10, 300).await;
    wait_synced(&t, 3010).await;
    let w = Warden::new();
    let s = sentinels(&t);
    let local = w.path().join("local");
    let local = local.to_str().expect("utf-8");
    let bucket = "s3://warden/redis/prod";
    let first = json(&warden_s3(
        &w,
        &m,
        &[
            "backup",
            "--sentinels",
            &s,
            "--dest",
            local,
            "--dest",
            bucket,
            "--json",
        ],
    ));
    let stored = first["locations"].as_array().expect("locations");
    assert_eq!(stored.len(), 2, "{first:#}");
    assert!(
        std::path::Path::new(local)
            .join(first["file"].as_str().expect("file"))
            .is_file()
    );
    for _ in 0..2 {
        json(&warden_s3(
            &w,
            &m,
            &[
                "backup",
                "--sentinels",
                &s,
                "--dest",
                bucket,
                "--keep-last",
                "2",
                "--json",
            ],
        ));
    }
    drop(t);
    let listed = json(&warden_s3(
        &w,
        &m,
        &["backups", "list", "--dest", bucket, "--json"],
    ));
    let files: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .map(|m| m["file"].as_str().expect("file"))
        .collect();
    assert_eq!(files.len(), 2, "{listed:#}");
    assert!(
        !files.contains(&first["file"].as_str().expect("file")),
        "{files:?}"
    );
    let report = json(&warden_s3(
        &w,
        &m,
        &[
            "restore-test",
            "latest",
            "--dest",
            bucket,
            "--sample",
            "20",
            "--json",
        ],
    ));
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["dbsize"], 3010);
    let one = format!("{bucket}/{}", files[0]);
    let report = json(&warden_s3(&w, &m, &["restore-test", &one, "--json"]));
    assert_eq!(report["sessions_found"], 3000);
    // backups verify --all over the bucket: all good; then the newest object is replaced
    // by other bytes: it is named damaged (object size and sha256), and latest-good skips it
    let audit = json(&warden_s3(
        &w,
        &m,
        &["backups", "verify", "--all", "--dest", bucket, "--json"],
    ));
    assert_eq!(audit["newest_good"], files[1], "{audit:#}");
    // moto's ETags (multipart: MD5 of the parts' MD5s) match the bytes downloaded
    for b in audit["backups"].as_array().expect("backups") {
        assert_eq!(b["etag"], "match", "{audit:#}");
    }
    // through a proxy that changes the last byte of every data object it serves, each
    // backup is damaged, and its ETag names it
    let proxy = corrupting_proxy(m.port);
    let mut cmd = w.command();
    cmd.args(["backups", "verify", "--all", "--dest", bucket, "--json"])
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("WARDEN_S3_ENDPOINT", &proxy);
    let run = tokio::task::block_in_place(|| support::run(&mut cmd));
    assert_eq!(run.code, 1, "{run:#?}");
    let audit: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(audit["newest_good"], serde_json::Value::Null, "{audit:#}");
    for b in audit["backups"].as_array().expect("backups") {
        assert_eq!(b["etag"], "mismatch", "{audit:#}");
        assert!(
            b["problems"][0]
                .as_str()
                .is_some_and(|p| p.starts_with("ETag ")),
            "{audit:#}"
        );
    }
    put_object(
        &m,
        "warden",
        &format!("redis/prod/{}", files[1]),
        b"not a backup",
    );
    let run = warden_s3(
        &w,
        &m,
        &["backups", "verify", "--all", "--dest", bucket, "--json"],
    );
    assert_eq!(run.code, 1, "{run:#?}");
    let audit: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(audit["newest_good"], files[0], "{audit:#}");
    let bad = &audit["backups"][1];
    assert_eq!(bad["file"], files[1], "{audit:#}");
    assert!(
        bad["problems"][0]
            .as_str()
            .is_some_and(|p| p.starts_with("object size 12 bytes")),
        "{audit:#}"
    );
    let report = json(&warden_s3(
        &w,
        &m,
        &["restore-test", "latest-good", "--dest", bucket, "--json"],
    ));
    assert!(
        report["file"]
            .as_str()
            .is_some_and(|f| f.ends_with(files[0])),
        "{report:#}"
    );
    // the local copy was not pruned: retention ran only where that run stored
    assert_eq!(
        json(&warden_s3(
            &w,
            &m,
            &["backups", "list", "--dest", local, "--json"]
        ))
        .as_array()
        .map(Vec::len),
        Some(1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_is_one_line_before_any_snapshot() {
    let Some(m) = moto() else { return };
    let w = Warden::new();
    let run = warden_s3(
        &w,
        &m,
        &[
            "backup",
            "--sentinels",
            "127.0.0.1:1",
            "--dest",
            "s3://no-such-bucket/x",
        ],
    );
    let line = run.one_line_error();
    assert!(line.contains("s3://no-such-bucket/x"), "{line}");
    assert_eq!(std::fs::read_dir(w.path()).expect("dir").count(), 0);
}

/// `report --trend s3://…` reads every saved drill report under a prefix (and nothing else):
/// five runs a day apart, the newest with a worse client RTO p95 → the regression is named
/// and the exit code is 1; within the threshold of the previous run, no regression (exit 0).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trend_over_reports_saved_in_a_bucket_flags_a_worse_rto() {
    let Some(m) = moto() else { return };
    create_bucket(&m, "drills");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/reports/primary-kill.json"
    );
    let base: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).expect("fixture")).expect("JSON");
    let p95s = [2200.0, 2300.0, 2250.0, 2280.0, 3400.0];
    for (i, p95) in p95s.into_iter().enumerate() {
        let mut d = base.clone();
        d["started"] = format!("2026-03-0{}T10:00:00Z", i + 1).into();
        for row in d["summary"].as_array_mut().expect("summary") {
            if row["figure"] == "client_rto_ms" {
                row["median"] = (p95 - 100.0).into();
                row["p95"] = p95.into();
            }
        }
        let key = format!("nightly/primary-kill-2026030{}T100000Z.json", i + 1);
        put_object(&m, "drills", &key, d.to_string().as_bytes());
    }
    put_object(&m, "drills", "nightly/README.txt", b"not a report");
    put_object(
        &m,
        "drills",
        "other/primary-kill-20260306T100000Z.json",
        b"{}",
    );
    let w = Warden::new();
    let run = warden_s3(
        &w,
        &m,
        &["report", "--trend", "s3://drills/nightly/", "--window", "5"],
    );
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stdout.contains(
            "REGRESSION: client RTO p95 3400 ms in primary-kill-20260305T100000Z.json is more \
             than 20% above the median of the 4 runs before it (2265 ms)"
        ),
        "{run:#?}"
    );
    let run = warden_s3(
        &w,
        &m,
        &[
            "report",
            "--trend",
            "s3://drills/nightly",
            "--window",
            "1",
            "--threshold",
            "0.6",
        ],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains("no regression"), "{run:#?}");
    // An empty prefix is named.
    let run = warden_s3(&w, &m, &["report", "--trend", "s3://drills/none"]);
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(
        run.stderr
            .starts_with("warden: no saved drill reports (*.json) under s3://drills/none"),
        "{run:#?}"
    );
}

/// A one-trial planned switchover on an ephemeral process lab, for `drill --save`.
const ONE_TRIAL: &str = r#"
name = "saved-switchover"
trials = 1

[target]
lab = "process"

[workload]
writers = 2
rate = 500
follow = "switch-master"

[fault]
action = "sentinel-failover"

[timing]
warmup = "1s"
observe = "20s"
settle = "1s"
"#;

/// `drill --save s3://…` puts the report under the prefix, where `report --trend` finds it;
/// a bucket that does not exist is one line before the drill starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_saves_its_report_in_a_bucket_for_the_trend() {
    let Some(m) = moto() else { return };
    create_bucket(&m, "chaos");
    let w = Warden::new();
    w.write("one.toml", ONE_TRIAL);
    let missing = warden_s3(&w, &m, &["drill", "one.toml", "--save", "s3://no-such/x"]);
    assert_eq!(missing.code, 2, "{missing:#?}");
    let line = missing.one_line_error();
    assert!(line.contains("s3://no-such/x"), "{line}");
    assert!(
        !missing.stdout.contains("trial"),
        "no drill ran: {missing:#?}"
    );

    let run = warden_s3(
        &w,
        &m,
        &["drill", "one.toml", "--save", "s3://chaos/nightly/"],
    );
    assert!(run.code <= 1, "a report, met or missed: {run:#?}");
    let trend = warden_s3(&w, &m, &["report", "--trend", "s3://chaos/nightly"]);
    assert_eq!(trend.code, 0, "{trend:#?}");
    assert!(
        trend.stdout.contains("saved-switchover-") && trend.stdout.contains("no regression"),
        "{trend:#?}"
    );
}
