//! The Redis-command backend: `DEBUG SLEEP` on a node, `SENTINEL FAILOVER` on a Sentinel.

use std::time::Duration;

use super::Applied;
use crate::addr::Addr;
use crate::client::{self, Timeouts};
use crate::conn::Conn;
use crate::error::{Error, Result};

/// Starts `DEBUG SLEEP <d>` on `node` in a task (the reply comes when the sleep ends).
pub fn debug_sleep(conn: &Conn, node: &Addr, d: Duration) -> Applied {
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
pub async fn sentinel_failover(conn: &Conn, sentinels: &[Addr], master: &str) -> Result<Applied> {
    let mut last = None;
    for s in sentinels {
        let attempt = async {
            let mut con = conn.sentinel(s, Timeouts::CONTROL).await?;
            client::query::<()>(
                &mut con,
                s,
                redis::cmd("SENTINEL").arg("FAILOVER").arg(master),
            )
            .await
        };
        match attempt.await {
            Ok(()) => return Ok(Applied::Done),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::internal("no Sentinel given")))
}
