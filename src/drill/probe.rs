//! What the runner asks the cluster between steps: does a node serve, has it rejoined as a
//! replica, may the writers' user run what they need on it, is the cluster stable.

use std::time::Instant;

use futures_util::future::join_all;

use super::machine::Probe;
use super::target::Target;
use crate::addr::Addr;
use crate::client::{self, Timeouts};
use crate::conn::Conn;
use crate::error::Error;
use crate::sentinel::topology;

/// Whether `node` answers PING (not LOADING).
pub(super) async fn serving(conn: Conn, node: Addr) -> bool {
    match conn.node(&node, Timeouts::CONTROL).await {
        Ok(mut con) => client::query::<String>(&mut con, &node, &redis::cmd("PING"))
            .await
            .is_ok(),
        Err(_) => false,
    }
}

/// Whether `node` is a replica with its link to the primary up.
pub(super) async fn rejoined(conn: Conn, node: Addr) -> bool {
    match conn.node(&node, Timeouts::CONTROL).await {
        Ok(mut con) => client::replication(&mut con, &node)
            .await
            .is_ok_and(|r| !r.is_master() && r.link_up),
        Err(_) => false,
    }
}

/// Whether the writers' user may run what they need on `primary`: the `ROLE` a writer checks
/// before it writes. A refusal (`NOPERM`, wrong credentials) is the pre-flight's failure,
/// naming the command, instead of a fault injected while no write can be acknowledged;
/// another error is asked again (`false`) until `until`.
pub(super) async fn workload_allowed(
    target: &Target,
    primary: &Addr,
    until: Instant,
) -> std::result::Result<bool, String> {
    let asked = async {
        let mut con = target.conn.node(primary, Timeouts::CONTROL).await?;
        client::is_master(&mut con, primary).await
    };
    match asked.await {
        Ok(_) => Ok(true),
        Err(e @ (Error::NoPerm { .. } | Error::Auth { .. })) => Err(e.to_string()),
        Err(e) if Instant::now() >= until => Err(e.to_string()),
        Err(_) => Ok(false),
    }
}

/// One probe of the cluster for the trial's decisions ([`super::machine`]): what each
/// Sentinel names as the primary, whether one has a failover of it in progress, and which
/// of `nodes` (and the named primaries) answer `ROLE master`.
pub(super) async fn cluster(target: &Target, nodes: &[Addr]) -> Probe {
    let (conn, sentinels, master) = (&target.conn, &target.sentinels, &target.master);
    let t = Timeouts::CONTROL;
    let named = topology::primary_per_sentinel(conn, sentinels, master, t).await;
    let views = join_all(sentinels.iter().map(|s| async move {
        let mut con = conn.sentinel(s, t).await.ok()?;
        topology::master(&mut con, s, master).await.ok()
    }))
    .await;
    let named: Vec<Option<Addr>> = named.into_iter().map(|a| a.ok().flatten()).collect();
    let mut asked: Vec<Addr> = nodes.to_vec();
    for a in named.iter().flatten() {
        if !asked.contains(a) {
            asked.push(a.clone());
        }
    }
    let roles = join_all(asked.iter().map(|n| async move {
        let mut con = conn.node(n, t).await.ok()?;
        client::is_master(&mut con, n).await.ok()
    }))
    .await;
    Probe {
        named,
        in_progress: views.iter().flatten().any(|v| v.failing_over()),
        masters: asked
            .into_iter()
            .zip(roles)
            .filter(|(_, m)| *m == Some(true))
            .map(|(n, _)| n)
            .collect(),
    }
}

/// Sentinel's `down-after-milliseconds` for the master, from the first Sentinel that tells.
pub(super) async fn down_after_ms(target: &Target) -> Option<u64> {
    for s in &target.sentinels {
        let Ok(mut con) = target.conn.sentinel(s, Timeouts::CONTROL).await else {
            continue;
        };
        if let Ok(v) = topology::master(&mut con, s, &target.master).await {
            return v.down_after_ms;
        }
    }
    None
}
