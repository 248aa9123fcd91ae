//! How fresh a backup is: before the snapshot, `warden backup` reads the primary's
//! `master_repl_offset` and waits (up to `--catch-up`) until the chosen replica's
//! `slave_repl_offset` reaches it, so the backup holds every write the primary had
//! acknowledged when the backup started. When the bound passes first, the backup goes ahead
//! and the manifest records the exact lag (`lag_bytes`, `caught_up: false`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::addr::Addr;
use crate::client::{self, connect_node};
use crate::error::Result;

/// What the catch-up wait found, recorded in the manifest's `source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freshness {
    /// The primary's `master_repl_offset` when the backup started.
    pub primary_repl_offset: i64,
    /// The replica's `slave_repl_offset` when the snapshot was asked for.
    pub replica_repl_offset: i64,
    /// Bytes of the primary's stream the replica had not yet applied then (0 when caught up).
    pub lag_bytes: u64,
    /// Whether the replica had reached the primary's offset.
    pub caught_up: bool,
    /// Milliseconds spent waiting.
    pub waited_ms: u64,
}

/// Bytes `replica` is behind `primary` (never negative: a replica can be ahead of an offset
/// read earlier).
pub fn lag(primary: i64, replica: i64) -> u64 {
    u64::try_from(primary.saturating_sub(replica)).unwrap_or(0)
}

/// Reads the primary's offset, then polls the replica until it reaches it or `bound` passes.
pub async fn catch_up(
    replica: &Addr,
    primary: &Addr,
    password: Option<&str>,
    bound: Duration,
) -> Result<Freshness> {
    let started = tokio::time::Instant::now();
    let mut p = connect_node(primary, password).await?;
    let target = client::replication(&mut p, primary).await?.offset;
    let mut r = connect_node(replica, password).await?;
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

#[cfg(test)]
mod tests {
    #[test]
    fn lag_is_never_negative() {
        assert_eq!(super::lag(100, 40), 60);
        assert_eq!(super::lag(100, 100), 0);
        assert_eq!(super::lag(100, 140), 0);
    }
}
