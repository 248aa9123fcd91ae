//! `warden doctor` against a real process lab: the known set of findings (an insta snapshot
//! of the JSON, addresses redacted), stable across runs; `min-replicas-to-write 1` on the
//! primary removes exactly one finding; a refused `CONFIG` is a finding, not a failure; and
//! bad targets are one-line errors with exit 2.

mod support;

use serde_json::Value;
use support::{TestLab, Warden};
use warden::client::{self, Timeouts};
use warden::lab::{Lab, LabSpec, SentinelSettings};

/// A default lab whose primary has the lowest node port, so that the report (sorted by
/// severity, id, then address) lists the primary's finding before its replicas' in every
/// run, and the snapshot does not depend on which free ports came up.
async fn lab() -> TestLab {
    let dir = tempfile::Builder::new()
        .prefix("warden-doctor-")
        .tempdir()
        .expect("temp dir");
    let mut spec = LabSpec::ephemeral(dir.path().join("lab"), SentinelSettings::default())
        .expect("free ports");
    spec.node_ports.sort();
    assert!(
        spec.node_ports.iter().all(|p| *p >= 10_000),
        "{:?}",
        spec.node_ports
    );
    match Lab::up(spec).await {
        Ok(lab) => TestLab { lab, dir },
        Err(e) => panic!("lab did not come up: {e}"),
    }
}

fn doctor(w: &Warden, lab: &Lab, extra: &[&str]) -> support::Run {
    let list = support::watch::list(&lab.sentinels());
    let mut args = vec!["doctor", "--sentinels", &list, "--master", "mymaster"];
    args.extend_from_slice(extra);
    w.run(&args)
}

fn json(run: &support::Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
}

/// `(severity, id, where)` of every finding.
fn ids(v: &Value) -> Vec<(String, String, String)> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (s("severity"), s("id"), s("where"))
        })
        .collect()
}

/// The JSON text with what changes from lab to lab replaced: the Sentinels' addresses, and
/// each node's by its role. Done on the text, so the snapshot also pins the field order.
/// (By hand: the dev-dependency insta is built without its `redactions` feature, and adding
/// it would pull new crates.)
fn redacted(text: &str, lab: &Lab) -> String {
    let mut text = text.to_string();
    for (i, n) in lab.nodes().iter().enumerate() {
        let role = if i == 0 { "[primary]" } else { "[replica]" };
        text = text.replace(&format!("\"{n}\""), &format!("\"{role}\""));
    }
    for s in lab.sentinels() {
        text = text.replace(&format!("\"{s}\""), "\"[sentinel]\"");
    }
    text
}

async fn config_set(addr: &warden::addr::Addr, args: &[&str]) {
    let conn = warden::conn::Conn::default();
    let con = conn.node(addr, Timeouts::CONTROL).await.expect("connect");
    command(con, addr, args).await;
}

async fn command(mut con: warden::conn::Con, addr: &warden::addr::Addr, args: &[&str]) {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    let _: () = client::query(&mut con, addr, &cmd).await.expect("command");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_default_lab_has_a_known_set_of_findings() {
    let t = lab().await;
    let w = Warden::new();
    let first = doctor(&w, &t.lab, &["--json"]);
    // The lab runs every process on one host: that is an error, so the default --fail-on
    // error already exits 1.
    assert_eq!(first.code, 1, "{first:#?}");
    let second = doctor(&w, &t.lab, &["--json"]);
    assert_eq!(
        first.stdout, second.stdout,
        "--json differs between two runs"
    );
    insta::assert_snapshot!("default_lab", redacted(&first.stdout, &t.lab));

    let table = doctor(&w, &t.lab, &["--fail-on", "warn"]);
    assert_eq!(table.code, 1, "{table:#?}");
    assert!(
        table.stdout.contains("min-replicas-unset"),
        "{}",
        table.stdout
    );
    assert!(
        table.stdout.contains("1 error, 4 warn, 3 info"),
        "{}",
        table.stdout
    );

    // min-replicas-to-write 1 on the primary: exactly its min-replicas-unset goes away.
    let primary = t.lab.nodes()[0].clone();
    config_set(&primary, &["CONFIG", "SET", "min-replicas-to-write", "1"]).await;
    let after = json(&doctor(&w, &t.lab, &["--json"]));
    let mut gone = ids(&json(&first));
    let left = ids(&after);
    assert_eq!(left.len() + 1, gone.len(), "{left:#?}");
    gone.retain(|f| !left.contains(f));
    assert_eq!(
        gone,
        [(
            "warn".into(),
            "min-replicas-unset".into(),
            primary.to_string()
        )]
    );

    // CONFIG refused on a replica (ACL): a finding, not a failure.
    let replica = t.lab.nodes()[1].clone();
    config_set(&replica, &["ACL", "SETUSER", "default", "-config"]).await;
    let run = doctor(&w, &t.lab, &["--json"]);
    assert_eq!(run.code, 1, "{run:#?}");
    let found = ids(&json(&run));
    assert!(
        found.contains(&(
            "warn".into(),
            "config-unreadable".into(),
            replica.to_string()
        )),
        "{found:#?}"
    );
}

/// Sentinel's own user on the data nodes (`sentinel auth-user`) short of `+slaveof`: once
/// Sentinel's links are logged in as it, doctor names the command and the rule on every node
/// (`ACL DRYRUN`), an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinels_own_user_short_of_a_permission_is_named_on_every_node() {
    let t = lab().await;
    let w = Warden::new();
    let rules = "allchannels +ping +info +role +subscribe +publish +multi +exec \
                 +config|rewrite +client|setname +client|kill +script|kill";
    let mut setuser = vec!["ACL", "SETUSER", "sentinel-node", "on", ">sentinel-node-pw"];
    setuser.extend(rules.split_whitespace());
    for n in t.lab.nodes() {
        config_set(&n, &setuser).await;
    }
    for s in t.lab.sentinels() {
        for (k, v) in [
            ("auth-user", "sentinel-node"),
            ("auth-pass", "sentinel-node-pw"),
        ] {
            let conn = warden::conn::Conn::default();
            let con = conn.sentinel(&s, Timeouts::CONTROL).await.expect("connect");
            command(con, &s, &["SENTINEL", "SET", "mymaster", k, v]).await;
        }
    }
    let deadline = std::time::Instant::now() + support::WAIT;
    let refused = loop {
        let v = json(&doctor(&w, &t.lab, &["--json"]));
        let refused: Vec<Value> = v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["id"] == "sentinel-user-refused")
            .cloned()
            .collect();
        if refused.len() == 3 {
            break refused;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Sentinel's links never logged in as sentinel-node: {v:#}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    for f in refused {
        assert_eq!(f["severity"], "error", "{f:#}");
        let evidence = f["evidence"].as_str().expect("evidence");
        assert!(
            evidence.starts_with(
                "Sentinel's user 'sentinel-node' may not run SLAVEOF NO ONE (a failover needs them)"
            ),
            "{evidence}"
        );
        let fix = f["fix"].as_str().expect("fix");
        assert!(
            fix.starts_with("ACL SETUSER sentinel-node +slaveof on every data node"),
            "{fix}"
        );
    }
}

#[test]
fn no_sentinel_answering_is_a_one_line_error() {
    let w = Warden::new();
    let port = support::free_ports(1)[0];
    let run = w.run(&["doctor", "--sentinels", &format!("127.0.0.1:{port}")]);
    assert!(
        run.one_line_error().contains("no Sentinel answered"),
        "{run:#?}"
    );
    let run = w.run(&["doctor"]);
    assert!(
        run.one_line_error().contains("give --sentinels"),
        "{run:#?}"
    );
    let run = w.run(&["doctor", "--sentinels", "x:1", "--fail-on", "fatal"]);
    assert_eq!(run.code, 2, "{run:#?}");
}
