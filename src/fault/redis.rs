//! The Redis-command backend: `DEBUG SLEEP` on a node, `SENTINEL FAILOVER` on a Sentinel,
//! and the coordinated failover (writers paused) that combines node and Sentinel commands.

use std::time::{Duration, Instant};

use super::Applied;
use crate::addr::Addr;
use crate::client::{self, Timeouts};
use crate::conn::Conn;
use crate::error::{Error, Result};

/// Starts `DEBUG SLEEP <d>` on `node` in a task (the reply comes when the sleep ends).
pub(crate) fn debug_sleep(conn: &Conn, node: &Addr, d: Duration) -> Applied {
    let node = node.clone();
    let conn = conn.clone();
    Applied::Sleeping(tokio::spawn(async move {
        let t = Timeouts {
            connect: Duration::from_secs(1),
            response: d + Duration::from_secs(10),
        };
        let mut con = conn.node(&node, t).await?;
        let cmd = redis::cmd("DEBUG")
            .arg("SLEEP")
            .arg(format!("{:.3}", d.as_secs_f64()))
            .to_owned();
        client::query::<()>(&mut con, &node, &cmd).await
    }))
}

/// `SENTINEL FAILOVER <master>` on the first Sentinel that accepts it.
pub(crate) async fn sentinel_failover(
    conn: &Conn,
    sentinels: &[Addr],
    master: &str,
) -> Result<Applied> {
    failover_on(conn, sentinels, master, false)
        .await
        .map(|_| Applied::Done)
}

/// `SENTINEL FAILOVER <master> COORDINATED` (Valkey ≥ 9.0) on the first Sentinel that
/// accepts it: the old primary pauses writes and hands over once a replica caught up.
pub(crate) async fn sentinel_failover_coordinated(
    conn: &Conn,
    sentinels: &[Addr],
    master: &str,
) -> Result<Applied> {
    failover_on(conn, sentinels, master, true)
        .await
        .map(|_| Applied::Done)
}

/// `SENTINEL FAILOVER <master> [COORDINATED]` on the first Sentinel that accepts it;
/// returns that Sentinel (the failover's leader).
pub(super) async fn failover_on(
    conn: &Conn,
    sentinels: &[Addr],
    master: &str,
    coordinated: bool,
) -> Result<Addr> {
    let mut last = None;
    for s in sentinels {
        let attempt = async {
            let mut con = conn.sentinel(s, Timeouts::CONTROL).await?;
            let mut cmd = redis::cmd("SENTINEL");
            cmd.arg("FAILOVER").arg(master);
            if coordinated {
                cmd.arg("COORDINATED");
            }
            client::query::<()>(&mut con, s, &cmd).await
        };
        match attempt.await {
            Ok(()) => return Ok(s.clone()),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::internal("no Sentinel given")))
}

/// `SENTINEL RESET <master>` on the first `count` of `sentinels` (all of them must accept).
pub(crate) async fn sentinel_reset(
    conn: &Conn,
    sentinels: &[Addr],
    master: &str,
    count: u32,
) -> Result<Applied> {
    let count = count as usize;
    if count > sentinels.len() {
        return Err(Error::Usage(format!(
            "`sentinel-reset` on {count} Sentinels, but the drill follows {}",
            sentinels.len()
        )));
    }
    for s in &sentinels[..count] {
        let mut con = conn.sentinel(s, Timeouts::CONTROL).await?;
        let cmd = redis::cmd("SENTINEL").arg("RESET").arg(master).to_owned();
        client::query::<i64>(&mut con, s, &cmd).await?;
    }
    Ok(Applied::Done)
}

/// `SENTINEL SIMULATE-FAILURE <mode>` on `sentinel`; without a mode, `HELP`, which clears
/// every simulated failure first (sentinel.c resets the flags before it reads the modes, and
/// the command needs at least one argument).
pub(crate) async fn simulate_failure(
    conn: &Conn,
    sentinel: &Addr,
    mode: Option<&str>,
) -> Result<()> {
    let mut con = conn.sentinel(sentinel, Timeouts::CONTROL).await?;
    let cmd = redis::cmd("SENTINEL")
        .arg("SIMULATE-FAILURE")
        .arg(mode.unwrap_or("HELP"))
        .to_owned();
    client::query::<redis::Value>(&mut con, sentinel, &cmd)
        .await
        .map(|_| ())
}

/// How long the writers stay paused at most (the pause ends by itself then, whatever
/// happened to the drill).
pub(crate) const PAUSE_LIMIT: Duration = Duration::from_secs(10);

/// The coordinated failover: `CLIENT PAUSE WRITE` on `node` (the primary), wait until every
/// replica has its offset, `SENTINEL FAILOVER`, wait until the leader names the new primary,
/// `REPLICAOF` it on `node`, then `CLIENT UNPAUSE`. Writes queued by the pause reach `node`
/// once it is a replica, so they are refused (`READONLY`), never acknowledged and lost. The
/// pause ends on every path (and by itself after [`PAUSE_LIMIT`]).
pub(crate) async fn coordinated_failover(
    conn: &Conn,
    node: &Addr,
    sentinels: &[Addr],
    master: &str,
) -> Result<Applied> {
    let mut con = conn.node(node, Timeouts::CONTROL).await?;
    let pause = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(PAUSE_LIMIT.as_millis() as u64)
        .arg("WRITE")
        .to_owned();
    client::query::<()>(&mut con, node, &pause).await?;
    let deadline = Instant::now() + PAUSE_LIMIT;
    let switched = switch_paused(conn, &mut con, node, sentinels, master, deadline).await;
    let unpaused = client::query::<()>(&mut con, node, redis::cmd("CLIENT").arg("UNPAUSE")).await;
    switched?;
    unpaused.map(|()| Applied::Done)
}

/// The steps of [`coordinated_failover`] while the writers are paused.
async fn switch_paused(
    conn: &Conn,
    con: &mut crate::conn::Con,
    node: &Addr,
    sentinels: &[Addr],
    master: &str,
    deadline: Instant,
) -> Result<()> {
    let timeout = |what: String| Error::Timeout {
        what,
        waited: PAUSE_LIMIT,
        detail: "the writers' pause ends; the failover was not coordinated".into(),
    };
    while !replicas_caught_up(con, node).await? {
        if Instant::now() >= deadline {
            return Err(timeout(format!(
                "the replicas of {node} to reach its offset"
            )));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let leader = failover_on(conn, sentinels, master, false).await?;
    let new = loop {
        let named = crate::sentinel::topology::ask_primary(
            conn,
            std::slice::from_ref(&leader),
            master,
            Timeouts::CONTROL,
        )
        .await?;
        if named != *node {
            break named;
        }
        if Instant::now() >= deadline {
            return Err(timeout(format!("sentinel {leader} to name a new primary")));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    // The address as the Sentinels announce it: the one the nodes reach each other by.
    let replicaof = redis::cmd("REPLICAOF")
        .arg(&new.host)
        .arg(new.port)
        .to_owned();
    client::query::<()>(con, node, &replicaof).await
}

/// Whether every replica of `node` (`INFO replication`: `slaveN:…,offset=…`) has reached
/// its `master_repl_offset`; false while none is connected.
async fn replicas_caught_up(con: &mut crate::conn::Con, node: &Addr) -> Result<bool> {
    let text: String = client::query(con, node, redis::cmd("INFO").arg("replication")).await?;
    let info = client::parse_info(&text);
    let offset: i64 = info
        .get("master_repl_offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(i64::MAX);
    let replicas: Vec<i64> = info
        .iter()
        .filter(|(k, _)| k.starts_with("slave") && k[5..].parse::<u32>().is_ok())
        .filter_map(|(_, v)| {
            v.split(',')
                .find_map(|kv| kv.strip_prefix("offset="))
                .and_then(|o| o.parse().ok())
        })
        .collect();
    Ok(!replicas.is_empty() && replicas.iter().all(|&o| o >= offset))
}
