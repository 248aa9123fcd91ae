//! `warden watch` against a real lab: a manual failover is printed as it happens and summed up
//! as one episode, and exported as one OTLP trace; started before the Sentinels it waits for
//! them; a Sentinel restart is bridged and a switch made during the gap is recorded after it;
//! `--svg` draws the episode; only bad input is an error.

mod support;

use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use support::watch::{Watch, kill_and_reap, list};
use support::{TestLab, WAIT, Warden, dump_logs};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio_stream::wrappers::TcpListenerStream;
use warden::addr::Addr;
use warden::client::Timeouts;

/// Waits until the watch is subscribed to every Sentinel, then asks for a manual failover.
async fn failover_when_watched(t: &TestLab, watch: &mut Watch) {
    let sentinels = t.lab.sentinels();
    for _ in 0..sentinels.len() {
        watch.until("a connection", |v| v["type"] == "connected");
    }
    let mut con = warden::conn::Conn::default()
        .node(&sentinels[0], Timeouts::CONTROL)
        .await
        .expect("sentinel");
    let ok: String = redis::cmd("SENTINEL")
        .arg("FAILOVER")
        .arg(t.lab.master())
        .query_async(&mut con)
        .await
        .expect("SENTINEL FAILOVER");
    assert_eq!(ok, "OK");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_failover_is_one_episode_with_its_phases_in_order() {
    let t = TestLab::up().await;
    let logs = t.logs();
    let list = list(&t.lab.sentinels());
    let w = Warden::new();
    let args = ["--sentinels", &list, "--master", t.lab.master()];
    let mut watch = Watch::one_episode(&w, &args, logs.clone());
    failover_when_watched(&t, &mut watch).await;
    watch.until("the failover summary", |v| v["type"] == "failover");
    let status = watch.wait();
    if !status.success() {
        dump_logs(&logs);
        panic!("watch exited with {status}: {:#?}", watch.seen);
    }

    let f = watch.seen.last().expect("summary");
    assert_eq!(f["outcome"], "failed_over", "{f:#}");
    assert_ne!(f["old_primary"], f["new_primary"], "{f:#}");
    assert!(
        f["switch_master"]["sentinels"]
            .as_u64()
            .is_some_and(|n| n >= 1),
        "{f:#}"
    );
    // A manual failover has no +sdown/+odown; the phases it has come in failover order.
    let times: Vec<f64> = f["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .filter_map(|p| p["at_ms"].as_f64())
        .collect();
    assert!(times.len() >= 5, "{f:#}");
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{f:#}");
    // Each event is printed once, however many Sentinels report it.
    let switches = watch
        .seen
        .iter()
        .filter(|v| v["type"] == "event" && v["event"] == "+switch-master")
        .count();
    assert_eq!(switches, 1, "{:#?}", watch.seen);

    // A master the Sentinels do not monitor (yet) is waited for, not an error.
    let run = w.run(&[
        "watch",
        "--json",
        "--duration",
        "1500ms",
        "--sentinels",
        &list,
        "--master",
        "nosuchmaster",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains(r#""type":"waiting""#), "{run:#?}");
    assert!(run.stderr.contains("nosuchmaster"), "{run:#?}");
}

/// `watch --svg DIR` draws the one episode it records: exactly one picture (no temporary file
/// left), named by the master and the failover's epoch, well-formed XML with a lane per
/// Sentinel and per data node, and no workload lane.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn svg_draws_one_picture_of_the_one_failover() {
    let t = TestLab::up().await;
    let logs = t.logs();
    let list = list(&t.lab.sentinels());
    let w = Warden::new();
    let dir = w.path().join("pictures");
    let dir_arg = dir.to_str().expect("utf-8");
    let args = [
        "--sentinels",
        &list,
        "--master",
        t.lab.master(),
        "--svg",
        dir_arg,
    ];
    let mut watch = Watch::one_episode(&w, &args, logs.clone());
    failover_when_watched(&t, &mut watch).await;
    watch.until("the failover summary", |v| v["type"] == "failover");
    let status = watch.wait();
    if !status.success() {
        dump_logs(&logs);
        panic!("watch exited with {status}: {:#?}", watch.seen);
    }
    let f = watch.seen.last().expect("summary");
    let files: Vec<String> = std::fs::read_dir(&dir)
        .expect("the picture directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    let epoch = f["epoch"].as_u64().expect("a manual failover has an epoch");
    assert_eq!(files, [format!("{}-{epoch}.svg", t.lab.master())], "{f:#}");
    let svg = std::fs::read_to_string(dir.join(&files[0])).expect("svg");
    let doc = roxmltree::Document::parse(&svg).expect("the SVG parses as XML");
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    let new = f["new_primary"].as_str().expect("new_primary");
    for want in ["sentinel #0", "sentinel #2", new, "outcome: failed over"] {
        assert!(
            texts.iter().any(|t| t.starts_with(want)),
            "{want}: {texts:?}"
        );
    }
    assert!(
        texts.iter().any(|t| t.ends_with("★ leader")),
        "the leader is marked: {texts:?}"
    );
    assert!(!texts.contains(&"writes"), "no workload lane: {texts:?}");
}

#[test]
fn only_bad_input_is_an_error_an_unreachable_sentinel_is_waited_for() {
    let w = Warden::new();
    let port = support::free_ports(1)[0];
    let run = w.run(&[
        "watch",
        "--json",
        "--duration",
        "1s",
        "--sentinels",
        &format!("127.0.0.1:{port}"),
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains(r#""type":"disconnected""#), "{run:#?}");
    assert!(run.stderr.contains("retrying"), "{run:#?}");

    let run = w.run(&["watch", "--sentinels", "not-an-address"]);
    assert_eq!(run.code, 2, "{run:#?}");

    let run = w.run(&["watch"]);
    assert!(run.one_line_error().contains("warden lab up"), "{run:#?}");

    let run = w.run(&["--otlp-endpoint", "not a url", "watch"]);
    assert!(run.one_line_error().contains("OTLP endpoint"), "{run:#?}");
}

/// An OTLP/gRPC trace receiver on a free loopback port: `(endpoint, requests)`.
async fn otlp_receiver() -> (String, UnboundedReceiver<ExportTraceServiceRequest>) {
    struct Rx(UnboundedSender<ExportTraceServiceRequest>);
    #[tonic::async_trait]
    impl TraceService for Rx {
        async fn export(
            &self,
            r: tonic::Request<ExportTraceServiceRequest>,
        ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
            let _ = self.0.send(r.into_inner());
            Ok(tonic::Response::new(ExportTraceServiceResponse {
                partial_success: None,
            }))
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = unbounded_channel();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Rx(tx)))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    (endpoint, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_failover_is_exported_as_one_otlp_trace() {
    let (endpoint, mut requests) = otlp_receiver().await;
    let t = TestLab::up().await;
    let list = list(&t.lab.sentinels());
    let w = Warden::new();
    let args = [
        "--sentinels",
        &list,
        "--master",
        t.lab.master(),
        "--otlp-endpoint",
        &endpoint,
    ];
    let mut watch = Watch::one_episode(&w, &args, t.logs());
    failover_when_watched(&t, &mut watch).await;
    watch.until("the failover summary", |v| v["type"] == "failover");
    let status = tokio::task::block_in_place(|| watch.wait());
    assert!(status.success(), "{status}: {:#?}", watch.seen);

    // warden flushes its exporter before it exits, so every span has arrived by now.
    let mut spans = Vec::new();
    while let Ok(req) = requests.try_recv() {
        for rs in req.resource_spans {
            spans.extend(rs.scope_spans.into_iter().flat_map(|s| s.spans));
        }
    }
    let root_name = format!("failover {}", t.lab.master());
    let roots: Vec<_> = spans.iter().filter(|s| s.name == root_name).collect();
    assert_eq!(roots.len(), 1, "{spans:#?}");
    let root = roots[0];
    let children: Vec<_> = spans
        .iter()
        .filter(|s| s.parent_span_id == root.span_id)
        .collect();
    let names: Vec<&str> = children.iter().map(|s| s.name.as_str()).collect();
    for phase in [
        "+try-failover",
        "+promoted-slave",
        "+switch-master",
        "+failover-end",
    ] {
        assert!(names.contains(&phase), "{phase} missing from {names:?}");
    }
    for c in &children {
        assert_eq!(c.trace_id, root.trace_id);
        assert!(
            root.start_time_unix_nano <= c.start_time_unix_nano,
            "{c:#?}"
        );
        assert!(c.start_time_unix_nano <= c.end_time_unix_nano, "{c:#?}");
        assert!(c.end_time_unix_nano <= root.end_time_unix_nano, "{c:#?}");
    }
    // The root lasts as long as the summary says, to the millisecond.
    let root_ms = (root.end_time_unix_nano - root.start_time_unix_nano) as f64 / 1e6;
    let summary_ms = watch.seen.last().expect("summary")["duration_ms"]
        .as_f64()
        .expect("duration_ms");
    assert!(
        (root_ms - summary_ms).abs() < 1.0,
        "{root_ms} vs {summary_ms}"
    );
}

/// Sends `SENTINEL FAILOVER` to `via` and waits until it names another primary.
async fn failover_via(via: &Addr, master: &str, logs: &[std::path::PathBuf]) -> (Addr, Addr) {
    let ask = || async {
        let mut con = warden::conn::Conn::default()
            .sentinel(via, Timeouts::CONTROL)
            .await
            .ok()?;
        let (h, p): (String, u16) = redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(master)
            .query_async(&mut con)
            .await
            .ok()?;
        Some(Addr::new(h, p))
    };
    let old = ask().await.expect("a primary");
    let mut con = warden::conn::Conn::default()
        .sentinel(via, Timeouts::CONTROL)
        .await
        .expect("sentinel");
    let _: String = redis::cmd("SENTINEL")
        .arg("FAILOVER")
        .arg(master)
        .query_async(&mut con)
        .await
        .expect("SENTINEL FAILOVER");
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(new) = ask().await.filter(|a| *a != old) {
            return (old, new);
        }
        if Instant::now() >= deadline {
            dump_logs(logs);
            panic!("{via} named no new primary");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until something listens on `addr`; returns when it was first seen.
async fn listening(addr: &Addr) -> Instant {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect((addr.host.as_str(), addr.port))
            .await
            .is_ok()
        {
            return Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("{addr} did not listen");
}

/// Issue "Production watch": started while no Sentinel answers, `watch` waits (it used to
/// exit 2), then records a failover.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn started_before_the_sentinels_it_waits_and_records_a_failover() {
    let t = TestLab::up().await;
    let logs = t.logs();
    let master = t.lab.master().to_string();
    let mut lab = t.lab;
    let sentinels = lab.sentinels();
    for s in &sentinels {
        kill_and_reap(&mut lab, s);
    }
    let list = list(&sentinels);
    let w = Warden::new();
    let args = ["--sentinels", &list, "--master", &master];
    let mut watch = Watch::one_episode(&w, &args, logs.clone());
    for _ in &sentinels {
        watch.until("a Sentinel reported down", |v| v["type"] == "disconnected");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(watch.running(), "watch exited: {:#?}", watch.seen);
    for s in &sentinels {
        lab.restart(s).expect("restart sentinel");
    }
    for _ in &sentinels {
        watch.until("an answer", |v| v["type"] == "primary");
    }
    let (old, new) = failover_via(&sentinels[1], &master, &logs).await;
    watch.until("the failover record", |v| v["type"] == "failover");
    let f = watch.seen.last().expect("record").clone();
    assert_eq!(f["outcome"], "failed_over", "{f:#}");
    assert_eq!(f["old_primary"], old.to_string(), "{f:#}");
    assert_eq!(f["new_primary"], new.to_string(), "{f:#}");
    assert_eq!(f["observed"], "live", "{f:#}");
    let status = watch.wait();
    assert!(status.success(), "{status}: {:#?}", watch.seen);
}

/// Issue "Production watch": a Sentinel restart is bridged within about the backoff, and the
/// switch made while the watch could not see any Sentinel is recorded after the gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_is_bridged_and_a_switch_in_the_gap_is_recorded_after_it() {
    let t = TestLab::up().await;
    let logs = t.logs();
    let master = t.lab.master().to_string();
    let mut lab = t.lab;
    let sentinels = lab.sentinels();
    let watched = sentinels[0].clone();
    let w = Warden::new();
    let args = ["--sentinels", &watched.to_string(), "--master", &master];
    let mut watch = Watch::one_episode(&w, &args, logs.clone());
    watch.until("the first answer", |v| v["type"] == "primary");

    // A quick restart: the watch is back within the first retries.
    kill_and_reap(&mut lab, &watched);
    lab.restart(&watched).expect("restart");
    let up = listening(&watched).await;
    watch.until("the reconnection", |v| v["type"] == "connected");
    let latency = Instant::now().saturating_duration_since(up);
    eprintln!("reconnected {latency:?} after the restarted Sentinel listened");
    assert!(
        latency < Duration::from_millis(1500),
        "{latency:?}: {:#?}",
        watch.seen
    );

    // A switch while the only watched Sentinel is down.
    kill_and_reap(&mut lab, &watched);
    let (old, new) = failover_via(&sentinels[1], &master, &logs).await;
    lab.restart(&watched).expect("restart");
    watch.until("the failover record", |v| v["type"] == "failover");
    let f = watch.seen.last().expect("record").clone();
    assert_eq!(f["old_primary"], old.to_string(), "{f:#}");
    assert_eq!(f["new_primary"], new.to_string(), "{f:#}");
    assert_eq!(f["observed"], "after_gap", "{f:#}");
    let status = watch.wait();
    assert!(status.success(), "{status}: {:#?}", watch.seen);
    let gaps = watch
        .seen
        .iter()
        .filter(|v| v["type"] == "connected" && v["gap_ms"].is_number())
        .count();
    assert!(gaps >= 1, "{:#?}", watch.seen);
}
