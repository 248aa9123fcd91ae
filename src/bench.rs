//! The benchmarks. Here `warden bench workload`: the session workload's acknowledged-SET
//! throughput against `redis-benchmark -t set` with the same connections and value size, on
//! the same lab primary, in one run, plus the ledger's memory per million acknowledged writes.
//! [`backup`] is `warden bench backup`, [`watch`] is `warden bench watch`, [`loss`] is
//! `warden bench loss`.

pub(crate) mod backup;
pub(crate) mod loss;
pub(crate) mod watch;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::client::{self, Timeouts};
use crate::error::{Error, Result};
use crate::lab::{Lab, LabSpec, SentinelSettings};
use crate::workload::{Plan, RetryPolicy, Workload, WorkloadConfig};

/// Benchmark settings.
#[derive(Debug, Clone)]
pub(crate) struct BenchSpec {
    /// Connections (redis-benchmark `-c`) = writers.
    pub connections: usize,
    /// Value size in bytes (redis-benchmark `-d`).
    pub value_size: usize,
    /// How long the warden workload runs per round.
    pub duration: Duration,
    /// Rounds (each: redis-benchmark, then warden).
    pub rounds: u32,
}

/// Runs the benchmark on an ephemeral lab and returns the table.
pub(crate) async fn workload(spec: &BenchSpec) -> Result<String> {
    let dir = crate::lab::temp_state_dir("warden-bench-")?;
    let lab = Lab::up(LabSpec::ephemeral(dir, SentinelSettings::default())?).await?;
    let primary = lab.nodes()[0].clone();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "workload bench on lab primary {primary}: {} connections, {} B values, {} round(s)",
        spec.connections, spec.value_size, spec.rounds
    );
    let _ = writeln!(
        out,
        "{:<8} {:>22} {:>22} {:>7}",
        "round", "redis-benchmark SET/s", "warden acked SET/s", "ratio"
    );
    let mut ratios = Vec::new();
    let mut ledger_per_million = 0.0;
    for round in 1..=spec.rounds {
        flush(&primary).await?;
        let theirs = redis_benchmark(&primary, spec).await?;
        flush(&primary).await?;
        let (ours, bytes_per_million) = warden(&lab, spec).await?;
        ledger_per_million = bytes_per_million;
        let ratio = ours / theirs;
        ratios.push(ratio);
        let _ = writeln!(out, "{round:<8} {theirs:>22.0} {ours:>22.0} {ratio:>7.2}");
    }
    ratios.sort_by(f64::total_cmp);
    let _ = writeln!(
        out,
        "median ratio warden / redis-benchmark: {:.2}",
        ratios[ratios.len() / 2]
    );
    let _ = writeln!(
        out,
        "ledger memory: {:.1} MB per million acknowledged writes at this count \
         (12 B per write: its send and ack times; plus at most one 48 KiB chunk per writer)",
        ledger_per_million / 1e6
    );
    lab.down()?;
    Ok(out)
}

async fn flush(node: &crate::addr::Addr) -> Result<()> {
    let mut con = crate::conn::Conn::default()
        .node(node, Timeouts::CONTROL)
        .await?;
    client::query::<()>(&mut con, node, &redis::cmd("FLUSHALL")).await
}

/// Runs `redis-benchmark -t set` for about as many requests as warden will do; returns req/s.
async fn redis_benchmark(node: &crate::addr::Addr, spec: &BenchSpec) -> Result<f64> {
    let requests = (spec.duration.as_secs_f64() * 40_000.0) as u64;
    let out = tokio::process::Command::new("redis-benchmark")
        .args([
            "-h",
            &node.host,
            "-p",
            &node.port.to_string(),
            "-t",
            "set",
            "--csv",
        ])
        .args([
            "-c",
            &spec.connections.to_string(),
            "-d",
            &spec.value_size.to_string(),
        ])
        .args(["-n", &requests.to_string(), "-r", "100000000"])
        .output()
        .await
        .map_err(|source| Error::Spawn {
            what: "redis-benchmark (apt-get install redis-tools)".into(),
            source,
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    // CSV: a header line, then "SET","<rps>",...
    text.lines()
        .find(|l| l.starts_with("\"SET\""))
        .and_then(|l| l.split(',').nth(1))
        .and_then(|v| v.trim_matches('"').parse().ok())
        .ok_or_else(|| Error::internal(format!("cannot read redis-benchmark's output: {text}")))
}

/// Runs the workload flat out for the spec's duration; returns (acked/s, ledger bytes per million acks).
async fn warden(lab: &Lab, spec: &BenchSpec) -> Result<(f64, f64)> {
    let plan = Plan {
        conn: lab.conn().clone(),
        config: WorkloadConfig {
            writers: spec.connections,
            rate: 0,
            value_size: spec.value_size,
            retry: RetryPolicy::Immediate,
            ..WorkloadConfig::default()
        },
        prefix: "session:bench".into(),
        sentinels: lab.sentinels(),
        master: lab.master().to_string(),
        epoch: Instant::now(),
        log_dir: None,
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let start = Instant::now();
    let workload = Workload::start(plan, tx);
    let drain = async { while rx.recv().await.is_some() {} };
    let _ = tokio::time::timeout(spec.duration, drain).await;
    let history = workload.stop().await;
    let elapsed = start.elapsed().as_secs_f64();
    let acked = history.acked() as f64;
    if acked == 0.0 {
        return Err(Error::Usage("the workload acknowledged no write".into()));
    }
    Ok((acked / elapsed, history.ledger_bytes() as f64 / acked * 1e6))
}
