//! `warden bench loss`: the drill's loss check ([`crate::workload::loss::check`]) over N
//! acknowledged session keys on a scratch `redis-server`, every thousandth key deleted so
//! the check has losses to find: wall time per round, keys per second, and whether it found
//! exactly the deleted keys.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::addr::Addr;
use crate::client::Timeouts;
use crate::conn::Conn;
use crate::error::{Error, Result};
use crate::restore::scratch::Scratch;
use crate::workload::history::{History, WriterHistory};
use crate::workload::{Plan, WorkloadConfig};

/// Every this many keys, one is deleted before the check.
const DELETE_EVERY: u32 = 1000;

/// Benchmark settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    /// Acknowledged keys to check.
    pub keys: u32,
    /// Rounds (the median is reported).
    pub rounds: u32,
}

/// Runs the benchmark; returns its table.
pub(crate) async fn run(spec: &Spec) -> Result<String> {
    let dir = crate::lab::temp_state_dir("warden-bench-loss-")?;
    let server = Scratch::start(Path::new("redis-server"), &dir, Duration::from_secs(30)).await?;
    let plan = plan();
    let (history, deleted) = fill(&plan, &server.addr, spec.keys).await?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "loss check bench on {}: {} acknowledged keys, {deleted} of them deleted",
        server.addr, spec.keys
    );
    let _ = writeln!(
        out,
        "{:<8} {:>10} {:>14} {:>8}",
        "round", "seconds", "keys/s", "lost"
    );
    let mut times = Vec::new();
    for round in 1..=spec.rounds.max(1) {
        let started = Instant::now();
        let tally = crate::workload::loss::check(&plan, &history, &server.addr).await?;
        let secs = started.elapsed().as_secs_f64();
        times.push(secs);
        let lost = match tally.lost == u64::from(deleted) {
            true => tally.lost.to_string(),
            false => format!("{} (expected {deleted})", tally.lost),
        };
        let rate = f64::from(spec.keys) / secs;
        let _ = writeln!(out, "{round:<8} {secs:>10.3} {rate:>14.0} {lost:>8}");
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let _ = writeln!(
        out,
        "median {median:.3} s for {} keys ({:.0} keys/s)",
        spec.keys,
        f64::from(spec.keys) / median
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(out)
}

/// A plan whose keys are `session:bench:<seq>`.
fn plan() -> Plan {
    Plan {
        config: WorkloadConfig::default(),
        prefix: "session:bench".into(),
        sentinels: Vec::new(),
        master: "bench".into(),
        conn: Conn::default(),
        epoch: Instant::now(),
        log_dir: None,
    }
}

/// Writes `n` keys with the workload's TTL, 1000 SETs a pipeline, records each as
/// acknowledged, then deletes every [`DELETE_EVERY`]th; returns the history and how many
/// were deleted.
async fn fill(plan: &Plan, addr: &Addr, n: u32) -> Result<(History, u32)> {
    let t = Timeouts {
        connect: Duration::from_secs(2),
        response: Duration::from_secs(60),
    };
    let mut con = plan.conn.node(addr, t).await?;
    let ttl = plan.config.ttl.as_secs().max(1);
    let mut writer = WriterHistory::default();
    writer.begin_era(addr.clone());
    let value = vec![b'x'; 64];
    let mut seq = 0;
    while seq < n {
        let mut pipe = redis::pipe();
        let end = n.min(seq + 1000);
        for s in seq..end {
            pipe.cmd("SET")
                .arg(plan.key(s))
                .arg(&value)
                .arg("EX")
                .arg(ttl)
                .ignore();
        }
        let mut deleted = redis::pipe();
        for s in (seq..end).filter(|s| s % DELETE_EVERY == DELETE_EVERY - 1) {
            deleted.cmd("DEL").arg(plan.key(s)).ignore();
        }
        let query = async {
            pipe.query_async::<()>(&mut con).await?;
            deleted.query_async::<()>(&mut con).await
        };
        query.await.map_err(|source| Error::Command {
            addr: addr.clone(),
            command: "SET (pipelined)".into(),
            source,
        })?;
        let at = plan.epoch.elapsed().as_micros() as u32;
        for s in seq..end {
            writer.acked(s, at, at);
        }
        seq = end;
    }
    let history = History {
        epoch: plan.epoch,
        writers: vec![writer],
    };
    Ok((history, n / DELETE_EVERY))
}
