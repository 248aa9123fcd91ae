//! `warden watch --listen` against a real lab: the real Prometheus server scrapes it and
//! sees a forced failover in the counter and the phase histogram; the scraped text passes
//! `promtool check metrics`; `/readyz` waits for the Sentinels while `/healthz` answers at
//! once; SIGTERM ends the watch with 0, promptly, after flushing the spans of a failover to
//! an OTLP http/protobuf receiver (and warns once about a collector that does not answer);
//! the README's scrape config, with the shipped rules it loads, passes `promtool check config`.
//!
//! Without `prometheus` / `promtool` on PATH (Debian's `prometheus`, installed by
//! scripts/setup.sh) the tests that need them fail, unless the run opted out of
//! missing tools (`WARDEN_TEST_SKIP_MISSING=1`).

mod metrics_support;
mod support;

use std::path::{Path, PathBuf};

use metrics_support::{Prometheus, get, have, otlp_http_receiver, poll, promtool, status};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use serde_json::Value;
use support::watch::{Watch, kill_and_reap, list};
use support::{TestLab, WAIT, Warden, dump_logs, free_ports};
use warden::addr::Addr;
use warden::client::Timeouts;

async fn sentinel_failover(via: &Addr, master: &str) {
    let mut con = warden::conn::Conn::default()
        .sentinel(via, Timeouts::CONTROL)
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
async fn prometheus_sees_a_failover_in_the_counter_and_the_phase_histogram() {
    if !have("prometheus") || !have("promtool") {
        return;
    }
    let t = TestLab::up().await;
    let logs = t.logs();
    let master = t.lab.master().to_string();
    let sentinels = t.lab.sentinels();
    let listen = format!("127.0.0.1:{}", free_ports(1)[0]);
    let w = Warden::new();
    let mut watch = Watch::captured(
        &w,
        &[
            "--sentinels",
            &list(&sentinels),
            "--master",
            &master,
            "--listen",
            &listen,
        ],
        &[],
    );
    poll("/readyz to say ready", WAIT, || {
        (status(&listen, "/readyz") == Some(200)).then_some(())
    });
    let prom = Prometheus::start(&listen);
    let m = format!(r#"master="{master}""#);
    prom.until(&format!("warden_sentinels_reachable{{{m}}}"), |v| v == 3.0);
    let total = format!("sum(warden_failovers_total{{{m}}}) or vector(0)");
    let before = prom.until(&total, |_| true);

    sentinel_failover(&sentinels[0], &master).await;
    let record = watch.until("the failover record", |v| v["type"] == "failover");
    assert_eq!(record["outcome"], "failed_over", "{record:#}");
    let after = prom.until(&total, |v| v > before);
    assert_eq!(after, before + 1.0, "one failover, one increment");
    let phases = prom.until(
        &format!("count(warden_failover_phase_seconds_count{{{m}}} > 0)"),
        |v| v >= 4.0,
    );
    eprintln!("{phases} phases observed");
    // The phase durations add up to the record's duration (each lasts until the next).
    let sum = prom.until(
        &format!("sum(warden_failover_phase_seconds_sum{{{m}}})"),
        |_| true,
    );
    let duration_s = record["duration_ms"].as_f64().expect("duration_ms") / 1000.0;
    let first_phase_s = record["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .find_map(|p| p["at_ms"].as_f64())
        .expect("a phase")
        / 1000.0;
    assert!(
        (sum + first_phase_s - duration_s).abs() < 0.01,
        "{sum} + {first_phase_s} vs {duration_s}"
    );
    // Exactly one primary series, the new one.
    let new = record["new_primary"].as_str().expect("new_primary");
    poll("the primary series to follow the switch", WAIT, || {
        let q = prom.query(&format!("warden_primary_info{{{m}}}"));
        (q.len() == 1 && q[0].0.get("addr").is_some_and(|a| a == new)).then_some(())
    });
    let since = prom.until(
        &format!("time() - warden_last_failover_timestamp_seconds{{{m}}}"),
        |_| true,
    );
    assert!((0.0..WAIT.as_secs_f64()).contains(&since), "{since}");

    // The text Prometheus scraped is well-formed by Prometheus's own linter.
    let (code, text) = get(&listen, "/metrics").expect("GET /metrics");
    assert_eq!(code, 200);
    for name in [
        "warden_failovers_total",
        "warden_failover_phase_seconds_bucket",
        "warden_last_failover_timestamp_seconds",
        "warden_seconds_since_last_failover",
        "warden_sentinels_reachable",
        "warden_sentinel_up",
        "warden_tilt",
        "warden_primary_info",
    ] {
        assert!(text.contains(name), "{name} missing from {text}");
    }
    promtool(&["check", "metrics"], &text);

    let (status, took) = watch.terminate();
    if !status.success() {
        dump_logs(&logs);
    }
    assert!(status.success(), "{status} after {took:?}");
}

/// `/readyz` is 503 while no Sentinel answers and 200 once one does; `/healthz` is 200 from
/// the start. Logs are JSON lines; a collector that is not there is warned about once, and
/// neither it nor SIGTERM holds anything up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_waits_for_the_sentinels_and_a_dead_collector_is_warned_about_once() {
    let t = TestLab::up().await;
    let logs = t.logs();
    let master = t.lab.master().to_string();
    let mut lab = t.lab;
    let sentinels = lab.sentinels();
    for s in &sentinels {
        kill_and_reap(&mut lab, s);
    }
    let listen = format!("127.0.0.1:{}", free_ports(1)[0]);
    let nobody = format!("http://127.0.0.1:{}", free_ports(1)[0]);
    let w = Warden::new();
    let mut watch = Watch::captured(
        &w,
        &[
            "--sentinels",
            &list(&sentinels),
            "--master",
            &master,
            "--listen",
            &listen,
            "--log-format",
            "json",
            "--otlp-endpoint",
            &nobody,
            "--otlp-protocol",
            "http/protobuf",
        ],
        &[("OTEL_BSP_SCHEDULE_DELAY", "200")],
    );
    for _ in &sentinels {
        watch.until("a Sentinel reported down", |v| v["type"] == "disconnected");
    }
    poll("/healthz to answer", WAIT, || {
        (status(&listen, "/healthz") == Some(200)).then_some(())
    });
    let (code, body) = get(&listen, "/readyz").expect("GET /readyz");
    assert_eq!(
        (code, body.trim()),
        (503, "not ready: no Sentinel subscribed")
    );
    assert_eq!(status(&listen, "/nothing-here"), Some(404));

    for s in &sentinels {
        lab.restart(s).expect("restart sentinel");
    }
    poll("/readyz to say ready", WAIT, || {
        (status(&listen, "/readyz") == Some(200)).then_some(())
    });
    assert_eq!(status(&listen, "/healthz"), Some(200));

    // A failover is recorded at once although its trace cannot be delivered.
    sentinel_failover(&sentinels[0], &master).await;
    watch.until("the failover record", |v| v["type"] == "failover");
    let (status, took) = watch.terminate();
    if !status.success() {
        dump_logs(&logs);
    }
    assert!(status.success(), "{status} after {took:?}");

    let stderr = watch.stderr();
    let parsed: Vec<Value> = stderr
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let message = |v: &Value| v["fields"]["message"].as_str().unwrap_or("").to_string();
    let warned = parsed
        .iter()
        .filter(|v| message(v).starts_with("cannot export traces"))
        .count();
    assert_eq!(warned, 1, "{stderr:#?}");
    let record = parsed
        .iter()
        .find(|v| message(v).starts_with("failover recorded"))
        .unwrap_or_else(|| panic!("no failover log line: {stderr:#?}"));
    assert_eq!(record["level"], "WARN", "{record:#}");
    assert_eq!(record["fields"]["outcome"], "failed_over", "{record:#}");
    assert_eq!(record["fields"]["master"], master.as_str(), "{record:#}");
}

/// Issue "Production watch": SIGTERM stops the watch with 0 and flushes the exporter: the
/// spans of a failover recorded just before arrive over http/protobuf, configured by the
/// standard variables alone (the batch delay is ten minutes, so only the flush sends them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_0_and_flushes_a_failover_trace_over_http_protobuf() {
    let (endpoint, mut requests) = otlp_http_receiver().await;
    let t = TestLab::up().await;
    let logs = t.logs();
    let master = t.lab.master().to_string();
    let sentinels = t.lab.sentinels();
    let w = Warden::new();
    let mut watch = Watch::captured(
        &w,
        &["--sentinels", &list(&sentinels), "--master", &master],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_SERVICE_NAME", "warden-under-test"),
            ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test"),
            ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
        ],
    );
    for _ in &sentinels {
        watch.until("a connection", |v| v["type"] == "connected");
    }
    sentinel_failover(&sentinels[0], &master).await;
    let record = watch.until("the failover record", |v| v["type"] == "failover");
    assert!(requests.try_recv().is_err(), "exported before the flush");

    let (status, took) = watch.terminate();
    if !status.success() {
        dump_logs(&logs);
    }
    assert!(status.success(), "{status} after {took:?}");
    eprintln!("exited {took:?} after SIGTERM");

    let mut spans = Vec::new();
    let mut resources = Vec::new();
    while let Ok((path, req)) = requests.try_recv() {
        assert_eq!(path, "/v1/traces");
        for rs in req.resource_spans {
            resources.extend(rs.resource.into_iter().flat_map(|r| r.attributes));
            spans.extend(rs.scope_spans.into_iter().flat_map(|s| s.spans));
        }
    }
    let attr = |key: &str| {
        resources
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref()?.value.clone())
    };
    assert_eq!(
        attr("service.name"),
        Some(AnyValue::StringValue("warden-under-test".into())),
        "{resources:#?}"
    );
    assert_eq!(
        attr("deployment.environment"),
        Some(AnyValue::StringValue("test".into())),
        "{resources:#?}"
    );
    let root_name = format!("failover {master}");
    let roots: Vec<_> = spans.iter().filter(|s| s.name == root_name).collect();
    assert_eq!(roots.len(), 1, "{spans:#?}");
    let children: Vec<&str> = spans
        .iter()
        .filter(|s| s.parent_span_id == roots[0].span_id)
        .map(|s| s.name.as_str())
        .collect();
    for phase in ["+try-failover", "+switch-master", "+failover-end"] {
        assert!(
            children.contains(&phase),
            "{phase} missing from {children:?}"
        );
    }
    let root_ms = (roots[0].end_time_unix_nano - roots[0].start_time_unix_nano) as f64 / 1e6;
    let record_ms = record["duration_ms"].as_f64().expect("duration_ms");
    assert!(
        (root_ms - record_ms).abs() < 1.0,
        "{root_ms} vs {record_ms}"
    );
}

/// The book's Prometheus example (`docs/book/src/metrics.md`): the scrape config that loads the shipped rules.
fn readme_block(readme: &str, marker: &str) -> String {
    let after = readme
        .split_once(marker)
        .unwrap_or_else(|| panic!("the metrics page has no {marker}"))
        .1;
    let body = after
        .split_once("```yaml\n")
        .expect("a yaml block after the marker")
        .1;
    body.split_once("```")
        .expect("the block ends")
        .0
        .to_string()
}

#[test]
fn the_books_scrape_config_and_alert_rules_pass_promtool() {
    if !have("promtool") {
        return;
    }
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/book/src/metrics.md");
    let readme = std::fs::read_to_string(&page).expect("docs/book/src/metrics.md");
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, text: &str| -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p
    };
    // The rules the config loads: the shipped ones.
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus/rules.yml");
    let rules = write(
        "rules.yml",
        &std::fs::read_to_string(shipped).expect("deploy/prometheus/rules.yml"),
    );
    let config = write(
        "prometheus.yml",
        &readme_block(&readme, "<!-- example: prometheus.yml -->"),
    );
    let rules = rules.to_str().expect("utf-8 path");
    promtool(&["check", "rules", rules], "");
    // The config names the rules file beside it, so this checks both together.
    promtool(
        &["check", "config", config.to_str().expect("utf-8 path")],
        "",
    );
}
