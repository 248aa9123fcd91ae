//! What the runner asks a node between steps: does it serve, has it rejoined as a replica,
//! may the writers' user run what they need on it.

use std::time::Instant;

use super::target::Target;
use crate::addr::Addr;
use crate::client::{self, Timeouts};
use crate::conn::Conn;
use crate::error::Error;

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
