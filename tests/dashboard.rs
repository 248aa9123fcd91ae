//! The alert rules and the Grafana dashboard that ship in `deploy/` (issue 22): the rules
//! pass `promtool check rules` and their unit tests (`promtool test rules`); a real Prometheus
//! loads them while it scrapes a real `watch --listen` through a forced failover, and the
//! failover alerts fire; then every query of `deploy/grafana/warden.json` (its variables
//! included) is run against that Prometheus and returns data (the backup panels' from a real
//! `warden backup` in the directory the watch reads).
//!
//! Without `prometheus` / `promtool` on PATH the tests fail (`metrics_support::have`), unless
//! the run opted out of missing tools (`WARDEN_TEST_SKIP_MISSING=1`).

mod metrics_support;
mod support;

use std::path::{Path, PathBuf};

use metrics_support::{Prometheus, have, poll, promtool, status};
use serde_json::Value;
use support::watch::Watch;
use support::{TestLab, WAIT, Warden, free_ports};
use warden::addr::Addr;

fn deploy(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(rel)
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn the_shipped_alert_rules_pass_promtool_and_their_unit_tests() {
    if !have("promtool") {
        return;
    }
    let rules = deploy("prometheus/rules.yml");
    promtool(&["check", "rules", path_str(&rules)], "");
    let tests = deploy("prometheus/rules.test.yml");
    promtool(&["test", "rules", path_str(&tests)], "");
    // Every rule has a unit test.
    let text = std::fs::read_to_string(&rules).expect("rules.yml");
    let tested = std::fs::read_to_string(&tests).expect("rules.test.yml");
    for line in text.lines() {
        if let Some(name) = line.trim().strip_prefix("- alert: ") {
            assert!(
                tested.contains(&format!("alertname: {name}\n")),
                "{name} has no unit test"
            );
        }
    }
}

/// Every query of the dashboard, with what its result must carry: each panel target's
/// `expr`, and each `label_values(METRIC, LABEL)` variable as METRIC (whose results must have
/// LABEL). Grafana's variables become "all".
fn dashboard_queries(dash: &Value) -> Vec<(String, Option<String>)> {
    let all = |q: &str| q.replace("$group", ".*").replace("$master", ".*");
    let mut out = Vec::new();
    for p in dash["panels"].as_array().expect("panels") {
        for t in p["targets"].as_array().expect("targets") {
            out.push((all(t["expr"].as_str().expect("expr")), None));
        }
    }
    for v in dash["templating"]["list"].as_array().expect("templating") {
        if v["type"] != "query" {
            continue;
        }
        let q = v["query"]["query"].as_str().expect("variable query");
        let inner = q
            .strip_prefix("label_values(")
            .and_then(|r| r.strip_suffix(')'))
            .expect("label_values(METRIC, LABEL)");
        let (metric, label) = inner.rsplit_once(',').expect("METRIC, LABEL");
        out.push((all(metric.trim()), Some(label.trim().to_string())));
    }
    out
}

async fn sentinel_failover(via: &Addr, master: &str) {
    let mut con = warden::conn::Conn::default()
        .sentinel(via, warden::client::Timeouts::CONTROL)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_returns_data_after_a_failover_and_the_alerts_fire() {
    if !have("prometheus") || !have("promtool") {
        return;
    }
    let dash: Value = serde_json::from_str(
        &std::fs::read_to_string(deploy("grafana/warden.json")).expect("warden.json"),
    )
    .expect("dashboard JSON");
    let queries = dashboard_queries(&dash);
    assert!(queries.len() >= 10, "{queries:?}");

    let t = TestLab::up().await;
    let master = t.lab.master().to_string();
    let sentinels = t.lab.sentinels();
    let list: Vec<String> = sentinels.iter().map(ToString::to_string).collect();
    let listen = format!("127.0.0.1:{}", free_ports(1)[0]);
    let w = Warden::new();
    // A real backup where the watch reads backups: the backup panels have data too.
    let backups = w.path().join("backups");
    std::fs::create_dir(&backups).expect("backups dir");
    let backups = path_str(&backups).to_string();
    let run = w.run(&[
        "backup",
        "--sentinels",
        &list.join(","),
        "--master",
        &master,
        "--dest",
        &backups,
    ]);
    assert_eq!(run.code, 0, "backup: {run:#?}");
    // A 1 ms RTO target: the failover exceeds it, so a hazard series exists too; the
    // doctor's audit runs at once and every 2 s.
    let mut watch = Watch::captured(
        &w,
        &[
            "--sentinels",
            &list.join(","),
            "--master",
            &master,
            "--listen",
            &listen,
            "--rto-ms",
            "1",
            "--doctor-every",
            "2s",
            "--poll",
            "1s",
            "--backup-dest",
            &backups,
            "--backup-rpo",
            "1h",
        ],
        &[],
    );
    poll("/readyz to say ready", WAIT, || {
        (status(&listen, "/readyz") == Some(200)).then_some(())
    });
    let prom = Prometheus::start_with_rules(&listen, Some(&deploy("prometheus/rules.yml")));
    prom.until(
        &format!(r#"warden_sentinels_reachable{{master="{master}"}}"#),
        |v| v == 3.0,
    );
    sentinel_failover(&sentinels[0], &master).await;
    let record = watch.until("the failover record", |v| v["type"] == "failover");
    assert_eq!(record["outcome"], "failed_over", "{record:#}");
    watch.until("the rto-exceeded hazard", |v| {
        v["type"] == "hazard" && v["kind"] == "rto-exceeded"
    });

    for (q, label) in &queries {
        let rows = poll(&format!("data for {q}"), WAIT, || {
            let rows = prom.query(q);
            (!rows.is_empty()).then_some(rows)
        });
        if let Some(label) = label {
            assert!(
                rows.iter().all(|(l, _)| l.contains_key(label)),
                "{q}: no {label} in {rows:?}"
            );
        }
        eprintln!("{q}: {} series", rows.len());
    }
    // The shipped rules, loaded by the real Prometheus, see the failover.
    for alert in ["RedisFailover", "RedisFailoverSlowerThanRTO"] {
        let q = format!(r#"ALERTS{{alertname="{alert}",alertstate="firing",master="{master}"}}"#);
        prom.until(&q, |v| v == 1.0);
    }
    let (st, took) = watch.terminate();
    assert!(st.success(), "{st} after {took:?}");
}
