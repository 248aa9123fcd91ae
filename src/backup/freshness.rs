//! How fresh a backup is: before the snapshot, `warden backup` reads the primary's
//! `master_repl_offset` and waits (up to `--catch-up`) until the chosen replica's
//! `slave_repl_offset` reaches it, so the backup holds every write the primary had
//! acknowledged when the backup started. When the bound passes first, the backup goes ahead
//! and the manifest records the exact lag (`lag_bytes`, `caught_up: false`).

use std::time::Duration;

use crate::addr::Addr;
use crate::backup::manifest::{Freshness, lag};
use crate::client::{self, Timeouts};
use crate::conn::Conn;
use crate::error::Result;

/// Reads the primary's offset, then polls the replica until it reaches it or `bound` passes.
pub(crate) async fn catch_up(
    conn: &Conn,
    replica: &Addr,
    primary: &Addr,
    bound: Duration,
) -> Result<Freshness> {
    let started = tokio::time::Instant::now();
    let mut p = conn.node(primary, Timeouts::CONTROL).await?;
    let target = client::replication(&mut p, primary).await?.offset;
    let mut r = conn.node(replica, Timeouts::CONTROL).await?;
    loop {
        let at = client::replication(&mut r, replica).await?.offset;
        let lag_bytes = lag(target, at);
        let waited = started.elapsed();
        if lag_bytes == 0 || waited >= bound {
            return Ok(Freshness {
                primary_repl_offset: target,
                replica_repl_offset: at,
                lag_bytes,
                caught_up: lag_bytes == 0,
                waited_ms: waited.as_millis() as u64,
            });
        }
        tokio::time::sleep(Duration::from_millis(10).min(bound - waited)).await;
    }
}
