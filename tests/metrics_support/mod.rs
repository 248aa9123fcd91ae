//! For the metrics, dashboard and fleet tests: bounded polls, a bare HTTP/1.0 GET, the real
//! Prometheus server on a temp config, `promtool`, and an OTLP http/protobuf receiver (the
//! watch they run is `support::watch::Watch`).
#![allow(dead_code)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use crate::support::{WAIT, free_ports, tail};

/// True when `tool --version` runs; otherwise fails, or is false (after saying why) when
/// the run opted out of missing tools.
pub fn have(tool: &str) -> bool {
    match Command::new(tool).arg("--version").output() {
        Ok(o) if o.status.success() => true,
        r => {
            crate::support::missing::missing(&format!("{tool} is not runnable ({r:?})"));
            false
        }
    }
}

/// Polls `f` every 100 ms until it gives a value; panics naming `what` after `timeout`.
pub fn poll<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
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
pub fn get(addr: &str, path: &str) -> Option<(u16, String)> {
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

pub fn status(addr: &str, path: &str) -> Option<u16> {
    get(addr, path).map(|(s, _)| s)
}

/// The real Prometheus server scraping one target every second; killed on drop.
pub struct Prometheus {
    child: Child,
    addr: String,
    dir: TempDir,
}

impl Prometheus {
    pub fn start(target: &str) -> Prometheus {
        Prometheus::start_with_rules(target, None)
    }

    /// [`Prometheus::start`], evaluating the alert rules of `rules` every second too.
    pub fn start_with_rules(target: &str, rules: Option<&std::path::Path>) -> Prometheus {
        let rule_files = rules.map_or(String::new(), |r| {
            format!("rule_files:\n  - '{}'\n", r.display())
        });
        let dir = tempfile::Builder::new()
            .prefix("warden-prometheus-")
            .tempdir()
            .expect("temp dir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n{rule_files}\
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

    pub fn dump(&self) {
        eprintln!("----- prometheus.log -----");
        eprintln!("{}", tail(&self.dir.path().join("prometheus.log"), 40));
    }

    /// An instant query: each result's labels and value.
    pub fn query(&self, q: &str) -> Vec<(HashMap<String, String>, f64)> {
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
    pub fn value(&self, q: &str) -> Option<f64> {
        match self.query(q).as_slice() {
            [(_, v)] => Some(*v),
            _ => None,
        }
    }

    /// Polls `q` until `pred` holds of its value.
    pub fn until(&self, q: &str, pred: impl Fn(f64) -> bool) -> f64 {
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
pub fn encode(q: &str) -> String {
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
pub fn promtool(args: &[&str], stdin: &str) {
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

/// An OTLP http/protobuf receiver on a free loopback port: `(base endpoint, requests with
/// the path they were posted to)`.
pub async fn otlp_http_receiver() -> (
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
