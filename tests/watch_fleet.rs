//! One `watch --config` over a fleet whose groups have their own credentials (issue 22): two
//! labs started with `lab up --auth` (each with its own secrets; the second over TLS), one
//! watch process reaching each with the settings of its `[[group]]` — a password file for
//! one, an environment variable and a CA / client certificate for the other — records each
//! group's failover once, with its group, in its JSON and in its metrics; no secret in any
//! output. A misspelled key in the file is one line naming it, exit 2. A watch whose stderr
//! goes to a file writes plain text there, without a colour escape. And a watch given a
//! backup directory exports its newest backup, and a stale one as a hazard.

mod metrics_support;
mod secured;
mod support;

use std::path::Path;

use metrics_support::{get, poll, status};
use secured::SecuredLab;
use serde_json::Value;
use support::watch::Watch;
use support::{WAIT, Warden, free_ports};
use warden::addr::Addr;
use warden::conn::{Conn, Source, Spec, TlsSpec};

/// The connection settings of `lab`'s Sentinels, as a client of the test.
fn sentinel_conn(lab: &SecuredLab) -> Conn {
    let tls = lab.tls.then(|| TlsSpec {
        ca: Some(lab.dir.join("tls/ca.crt")),
        cert: Some(lab.dir.join("tls/client.crt")),
        key: Some(lab.dir.join("tls/client.key")),
        ..TlsSpec::default()
    });
    Conn::build(&Spec {
        sentinel_password: Some(Source::File(lab.dir.join("secrets/sentinel.pass"))),
        tls,
        ..Spec::default()
    })
    .expect("conn")
}

async fn failover(lab: &SecuredLab, master: &str) {
    let via: Addr = lab.sentinels.parse().expect("addr");
    let mut con = sentinel_conn(lab)
        .sentinel(&via, warden::client::Timeouts::CONTROL)
        .await
        .expect("sentinel");
    let ok: String = redis::cmd("SENTINEL")
        .arg("FAILOVER")
        .arg(master)
        .query_async(&mut con)
        .await
        .expect("SENTINEL FAILOVER");
    assert_eq!(ok, "OK");
}

/// The lab's master name and its Sentinels, as a TOML list.
fn master_of(dir: &Path) -> (String, String) {
    let lab = warden::lab::Lab::load(dir).expect("lab.json");
    let sentinels: Vec<String> = lab.sentinels().iter().map(|s| format!("\"{s}\"")).collect();
    (lab.master().to_string(), sentinels.join(", "))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_watch_follows_two_groups_with_their_own_credentials_and_tls() {
    let plain = SecuredLab::up(false);
    let tls = SecuredLab::up(true);
    let ((m_plain, plain_s), (m_tls, tls_s)) = (master_of(&plain.dir), master_of(&tls.dir));
    assert_eq!(m_plain, m_tls, "the same master name in both groups");
    let master = m_plain;
    let secrets: Vec<String> = plain.secrets().into_iter().chain(tls.secrets()).collect();
    assert!(secrets[0] != secrets[3], "each lab has its own password");

    let w = Warden::new();
    let config = format!(
        r#"
[[group]]
name = "plain"
sentinels = [{plain_s}]
masters = ["{master}"]
user = "warden"
password_file = "{plain_pass}"
sentinel_password_file = "{plain_sentinel}"

[[group]]
name = "secure"
sentinels = [{tls_s}]
masters = ["{master}"]
[group.auth]
user = "warden"
password_env = "FLEET_SECURE_PASSWORD"
sentinel_password_file = "{tls_sentinel}"
[group.auth.tls]
ca = "{ca}"
cert = "{cert}"
key = "{key}"
"#,
        plain_pass = plain.file("secrets/warden.pass"),
        plain_sentinel = plain.file("secrets/sentinel.pass"),
        tls_sentinel = tls.file("secrets/sentinel.pass"),
        ca = tls.file("tls/ca.crt"),
        cert = tls.file("tls/client.crt"),
        key = tls.file("tls/client.key"),
    );
    let path = w.write("fleet.toml", &config);
    let listen = format!("127.0.0.1:{}", free_ports(1)[0]);
    let secure_password = tls.secrets()[0].clone();
    let mut watch = Watch::captured(
        &w,
        &[
            "--config",
            &path.display().to_string(),
            "--listen",
            &listen,
            "--doctor-every",
            "0",
        ],
        &[("FLEET_SECURE_PASSWORD", &secure_password)],
    );
    poll("/readyz to say ready", WAIT, || {
        (status(&listen, "/readyz") == Some(200)).then_some(())
    });

    let is_failover =
        |group: &'static str| move |v: &Value| v["type"] == "failover" && v["group"] == group;
    failover(&plain, &master).await;
    let a = watch.until("the plain group's failover", is_failover("plain"));
    assert_eq!(a["outcome"], "failed_over", "{a}");
    failover(&tls, &master).await;
    let b = watch.until("the secure group's failover", is_failover("secure"));
    assert_eq!(b["outcome"], "failed_over", "{b}");
    assert_eq!(a["master"], b["master"]);

    // Once each: the metrics count one failover per group, apart.
    let series = |group: &str| {
        format!(
            r#"warden_failovers_total{{group="{group}",master="{master}",outcome="failed_over"}} 1"#
        )
    };
    let text = poll("both failovers in /metrics", WAIT, || {
        let (_, text) = get(&listen, "/metrics")?;
        (text.contains(&series("plain")) && text.contains(&series("secure"))).then_some(text)
    });
    for g in ["plain", "secure"] {
        let up = format!(r#"warden_sentinels_reachable{{group="{g}",master="{master}"}} 3"#);
        assert!(text.contains(&up), "{up}\n{text}");
    }
    let (code, elapsed) = watch.terminate();
    assert_eq!(code.code(), Some(0), "after {elapsed:?}");
    let stderr = watch.stderr();
    watch.drain();
    let failovers: Vec<&Value> = watch
        .seen
        .iter()
        .filter(|v| v["type"] == "failover")
        .collect();
    for g in ["plain", "secure"] {
        let n = failovers.iter().filter(|v| v["group"] == g).count();
        assert_eq!(n, 1, "{g}: {failovers:#?}");
    }
    let seen = serde_json::to_string(&watch.seen).expect("json");
    let all = format!("{}\n{seen}\n{text}", stderr.join("\n"));
    for s in &secrets {
        assert!(!all.contains(s.as_str()), "a secret leaked");
    }
}

#[test]
fn a_misspelled_key_in_the_watch_config_is_one_line_naming_it() {
    let w = Warden::new();
    for (text, key) in [
        (
            "[[group]]\nname = \"a\"\nsentinels = [\"127.0.0.1:1\"]\npasword_file = \"/x\"\n",
            "pasword_file",
        ),
        (
            "[[group]]\nname = \"a\"\nsentinels = [\"127.0.0.1:1\"]\n[group.auth]\nuser = \"u\"\nsentinel_pasword_env = \"X\"\n",
            "sentinel_pasword_env",
        ),
        (
            "[[group]]\nname = \"a\"\nsentinels = [\"127.0.0.1:1\"]\n[group.auth.tls]\nca_file = \"/ca\"\n",
            "ca_file",
        ),
        ("[[grup]]\nname = \"a\"\n", "grup"),
    ] {
        let path = w.write("watch.toml", text);
        let run = w.run(&["watch", "--config", &path.display().to_string()]);
        let line = run.one_line_error();
        assert!(line.contains(key), "{key}: {line}");
        assert!(line.contains("watch.toml"), "{line}");
    }
}

#[test]
fn a_watch_logging_into_a_file_writes_no_colour_escape() {
    let w = Warden::new();
    let log = w.path().join("watch.log");
    let sentinel = format!("127.0.0.1:{}", free_ports(1)[0]);
    let out = w
        .command()
        .args(["watch", "--sentinels", &sentinel, "--duration", "2s", "-vv"])
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .status()
        .expect("watch");
    assert_eq!(out.code(), Some(0));
    let bytes = std::fs::read(&log).expect("log");
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.lines().count() >= 2, "some log lines: {text}");
    assert!(
        !bytes.contains(&0x1b),
        "an escape byte in the log file:\n{text}"
    );
}

/// A backup of `master` in `dir` made `hours_ago`, `bytes` long, as `warden backup` leaves it.
fn fake_backup(dir: &Path, master: &str, hours_ago: i64, bytes: usize) {
    let created = chrono::Utc::now() - chrono::Duration::hours(hours_ago);
    let base = format!("redis-{master}-{}", created.format("%Y%m%d-%H%M%S"));
    std::fs::write(dir.join(format!("{base}.rdb.gz")), vec![0u8; bytes]).expect("data");
    let manifest = serde_json::json!({
        "file": format!("{base}.rdb.gz"), "master": master, "created": created.to_rfc3339(),
        "compression": "gzip", "stored": {"bytes": bytes, "sha256": "00"},
        "raw": {"bytes": 3 * bytes, "sha256": "00"},
        "counts": {"rdb_version": 11, "redis_version": "7.2.4", "keys": 1234,
                   "keys_with_expiry": 0, "keys_expired": 0, "pattern": "*", "keys_matching": 0},
        "source": {"addr": "127.0.0.1:6380", "role": "replica", "primary": "127.0.0.1:6379",
                   "method": "stream", "master_repl_offset": 1},
        "duration_ms": 5, "warden_version": "0.1.0"
    });
    std::fs::write(
        dir.join(format!("{base}.manifest.json")),
        manifest.to_string(),
    )
    .expect("manifest");
}

#[test]
fn the_newest_backup_is_exported_and_a_stale_one_is_a_hazard() {
    let w = Warden::new();
    let dir = w.path().join("backups");
    std::fs::create_dir(&dir).expect("dir");
    fake_backup(&dir, "orders", 5, 100);
    fake_backup(&dir, "orders", 2, 4096);
    fake_backup(&dir, "sessions", 0, 10);
    let listen = format!("127.0.0.1:{}", free_ports(1)[0]);
    let sentinel = format!("127.0.0.1:{}", free_ports(1)[0]);
    let mut child = w
        .command()
        .args([
            "watch",
            "--sentinels",
            &sentinel,
            "--listen",
            &listen,
            "--duration",
            "30s",
            "--backup-dest",
            &dir.display().to_string(),
            "--backup-rpo",
            "1h",
            "--json",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("watch");
    // The gauges come from the freshness task, the hazard from the watch loop after it.
    let counted = r#"master="orders",kind="backup-stale"} 1"#;
    let text = poll("the backup series and the hazard", WAIT, || {
        let (_, text) = get(&listen, "/metrics")?;
        (text.contains("warden_backup_keys") && text.contains(counted)).then_some(text)
    });
    let _ = child.kill();
    let out = child.wait_with_output().expect("watch");
    let value = |series: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{series} in {text}"))
    };
    let l = |master: &str| format!(r#"{{group="default",master="{master}"}}"#);
    let age = value(&format!("warden_backup_age_seconds{}", l("orders")));
    assert!((7190.0..7300.0).contains(&age), "{age}");
    assert_eq!(
        value(&format!("warden_backup_size_bytes{}", l("orders"))),
        4096.0
    );
    assert_eq!(value(&format!("warden_backup_keys{}", l("orders"))), 1234.0);
    assert_eq!(
        value(&format!("warden_backup_verified{}", l("orders"))),
        1.0
    );
    assert_eq!(
        value(&format!("warden_backup_rpo_seconds{}", l("orders"))),
        3600.0
    );
    let stale = |m: &str| {
        value(&format!(
            r#"warden_hazards_total{{group="default",master="{m}",kind="backup-stale"}}"#
        ))
    };
    assert_eq!(stale("orders"), 1.0, "2 h old against a 1 h RPO");
    assert!(
        !text.contains(r#"master="sessions",kind="backup-stale""#),
        "a fresh backup is no hazard"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("hazard backup-stale master=orders"),
        "{stderr}"
    );
    // Issue 22: a hazard line on stdout like every other hazard's, once.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let hazards: Vec<serde_json::Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "hazard" && v["kind"] == "backup-stale")
        .collect();
    assert_eq!(hazards.len(), 1, "{stdout}");
    let h = &hazards[0];
    assert_eq!(
        (&h["group"], &h["master"], &h["state"]),
        (&"default".into(), &"orders".into(), &"raised".into()),
        "{h}"
    );
    let detail = h["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("the newest good backup is 2h") && detail.ends_with("(RPO 1h)"),
        "{detail}"
    );
}
