//! `warden watch --listen` against a real lab: the real Prometheus server scrapes it and
//! sees a forced failover in the counter and the phase histogram; the scraped text passes
//! `promtool check metrics`; `/readyz` waits for the Sentinels while `/healthz` answers at
//! once; SIGTERM ends the watch with 0, promptly, after flushing the spans of a failover to
//! an OTLP http/protobuf receiver (and warns once about a collector that does not answer);
//! the README's scrape config and alert rules pass `promtool check config`.
//!
//! Without `prometheus` / `promtool` on PATH (Debian's `prometheus`, installed by
//! scripts/setup.sh) the tests that need them skip with a message, unless
//! `WARDEN_REQUIRE_PROMETHEUS=1`, which makes them fail instead.

mod support;

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message;
use serde_json::Value;
use support::{TestLab, WAIT, Warden, dump_logs, free_ports, tail};
use tempfile::TempDir;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use warden::addr::Addr;
use warden::client::{self, Timeouts};

/// How long a stopped watch may take to exit (its exporter flush is capped at 5 s).
const PROMPT: Duration = Duration::from_secs(10);

fn prometheus_required() -> bool {
    std::env::var("WARDEN_REQUIRE_PROMETHEUS").is_ok_and(|v| v == "1")
}

/// True when `tool --version` runs; otherwise skips (false) or, when required, fails.
fn have(tool: &str) -> bool {
    match Command::new(tool).arg("--version").output() {
        Ok(o) if o.status.success() => true,
        r if !prometheus_required() => {
            eprintln!(
                "SKIPPED: {tool} not runnable ({r:?}); run scripts/setup.sh, or set WARDEN_REQUIRE_PROMETHEUS=1 to fail"
            );
            false
        }
        r => panic!("WARDEN_REQUIRE_PROMETHEUS=1 but {tool} cannot run: {r:?}"),
    }
}

/// Polls `f` every 100 ms until it gives a value; panics naming `what` after `timeout`.
fn poll<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `GET path` over HTTP/1.0 (no chunking, the server closes); `(status, body)`.
fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

fn status(addr: &str, path: &str) -> Option<u16> {
    get(addr, path).map(|(s, _)| s)
}

/// A running `warden watch --json`, its stdout lines (parsed) and stderr lines.
struct Watch {
    child: Child,
    out: mpsc::Receiver<String>,
    err: mpsc::Receiver<String>,
    seen: Vec<Value>,
}

fn lines(r: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Watch {
    fn spawn(w: &Warden, args: &[&str], env: &[(&str, &str)]) -> Watch {
        let mut cmd = w.command();
        for var in [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_SERVICE_NAME",
            "OTEL_RESOURCE_ATTRIBUTES",
        ] {
            cmd.env_remove(var);
        }
        let mut child = cmd
            .args(["watch", "--json"])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn warden watch");
        let out = lines(child.stdout.take().expect("stdout"));
        let err = lines(child.stderr.take().expect("stderr"));
        Watch {
            child,
            out,
            err,
            seen: Vec::new(),
        }
    }

    /// Reads stdout lines until `pred` matches one; returns it.
    fn read_until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.out.recv_timeout(left) {
                Ok(line) => {
                    let v: Value =
                        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
                    let hit = pred(&v);
                    self.seen.push(v.clone());
                    if hit {
                        return v;
                    }
                }
                Err(e) => panic!("no line for {what} ({e}); read so far: {:#?}", self.seen),
            }
        }
    }

    /// Sends SIGTERM and waits (bounded) for the exit; returns the status and how long it took.
    fn terminate(&mut self) -> (ExitStatus, Duration) {
        let start = Instant::now();
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM).expect("SIGTERM");
        let status = poll("watch to exit after SIGTERM", PROMPT, || {
            self.child.try_wait().expect("try_wait")
        });
        (status, start.elapsed())
    }

    /// Every stderr line written so far (after the exit: all of them).
    fn stderr(&self) -> Vec<String> {
        let mut all = Vec::new();
        while let Ok(l) = self.err.recv_timeout(Duration::from_millis(200)) {
            all.push(l);
        }
        all
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real Prometheus server scraping one target every second; killed on drop.
struct Prometheus {
    child: Child,
    addr: String,
    dir: TempDir,
}

impl Prometheus {
    fn start(target: &str) -> Prometheus {
        let dir = tempfile::Builder::new()
            .prefix("warden-prometheus-")
            .tempdir()
            .expect("temp dir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: warden\n    static_configs:\n      - targets: ['{target}']\n"
            ),
        )
        .expect("write config");
        let addr = format!("127.0.0.1:{}", free_ports(1)[0]);
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn prometheus");
        let p = Prometheus { child, addr, dir };
        let deadline = Instant::now() + WAIT;
        while status(&p.addr, "/-/ready") != Some(200) {
            if Instant::now() >= deadline {
                p.dump();
                panic!("prometheus did not become ready on {}", p.addr);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        p
    }

    fn dump(&self) {
        eprintln!("----- prometheus.log -----");
        eprintln!("{}", tail(&self.dir.path().join("prometheus.log"), 40));
    }

    /// An instant query: each result's labels and value.
    fn query(&self, q: &str) -> Vec<(HashMap<String, String>, f64)> {
        let Some((200, body)) = get(&self.addr, &format!("/api/v1/query?query={}", encode(q)))
        else {
            return Vec::new();
        };
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        v["data"]["result"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let labels = r["metric"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect();
                let value = r["value"][1].as_str().and_then(|s| s.parse().ok());
                (labels, value.unwrap_or(f64::NAN))
            })
            .collect()
    }

    /// The single value of a query that yields one series.
    fn value(&self, q: &str) -> Option<f64> {
        match self.query(q).as_slice() {
            [(_, v)] => Some(*v),
            _ => None,
        }
    }

    /// Polls `q` until `pred` holds of its value.
    fn until(&self, q: &str, pred: impl Fn(f64) -> bool) -> f64 {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(v) = self.value(q).filter(|v| pred(*v)) {
                return v;
            }
            if Instant::now() >= deadline {
                self.dump();
                panic!("{q} never held; last: {:?}", self.query(q));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Percent-encodes everything but unreserved characters.
fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs `promtool ARGS` with `stdin`; panics with its output unless it succeeds.
fn promtool(args: &[&str], stdin: &str) {
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn promtool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("promtool");
    assert!(
        out.status.success(),
        "promtool {args:?}: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn list(sentinels: &[Addr]) -> String {
    sentinels
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

async fn sentinel_failover(via: &Addr, master: &str) {
    let mut con = client::connect(via, Timeouts::CONTROL)
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
    let mut watch = Watch::spawn(
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
    let record = watch.read_until("the failover record", |v| v["type"] == "failover");
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
    let first_phase_s = record["phases_ms"]
        .as_array()
        .expect("phases_ms")
        .iter()
        .find_map(|p| p[1].as_f64())
        .expect("a phase")
        / 1000.0;
    assert!(
        (sum + first_phase_s - duration_s).abs() < 0.01,
        "{sum} + {first_phase_s} vs {duration_s}"
    );
    // Exactly one primary series, the new one.
    let new = record["new"].as_str().expect("new");
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

/// Kills a lab Sentinel and waits until it is gone.
fn kill_and_reap(lab: &mut warden::lab::Lab, addr: &Addr) {
    lab.signal(addr, Signal::SIGKILL).expect("kill sentinel");
    poll(&format!("{addr} to stop"), WAIT, || {
        (!lab.is_running(addr).unwrap_or(true)).then_some(())
    });
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
    let mut watch = Watch::spawn(
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
        watch.read_until("a Sentinel reported down", |v| v["type"] == "disconnected");
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
    watch.read_until("the failover record", |v| v["type"] == "failover");
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

/// An OTLP http/protobuf receiver on a free loopback port: `(base endpoint, requests with
/// the path they were posted to)`.
async fn otlp_http_receiver() -> (
    String,
    UnboundedReceiver<(String, ExportTraceServiceRequest)>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let tx = tx.clone();
                    async move {
                        let path = req.uri().path().to_string();
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let mut response = Response::new(Full::new(Bytes::new()));
                        match ExportTraceServiceRequest::decode(body) {
                            Ok(r) => {
                                let _ = tx.send((path, r));
                            }
                            Err(_) => *response.status_mut() = hyper::StatusCode::BAD_REQUEST,
                        }
                        response.headers_mut().insert(
                            hyper::header::CONTENT_TYPE,
                            hyper::header::HeaderValue::from_static("application/x-protobuf"),
                        );
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (endpoint, rx)
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
    let mut watch = Watch::spawn(
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
        watch.read_until("a connection", |v| v["type"] == "connected");
    }
    sentinel_failover(&sentinels[0], &master).await;
    let record = watch.read_until("the failover record", |v| v["type"] == "failover");
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

/// The README's Prometheus example: the alert rules and the scrape config that loads them.
fn readme_block(readme: &str, marker: &str) -> String {
    let after = readme
        .split_once(marker)
        .unwrap_or_else(|| panic!("README has no {marker}"))
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
fn the_readme_scrape_config_and_alert_rules_pass_promtool() {
    if !have("promtool") {
        return;
    }
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, text: &str| -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p
    };
    let rules = write(
        "warden-alerts.yml",
        &readme_block(&readme, "<!-- example: warden-alerts.yml -->"),
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
