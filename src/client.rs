//! Commands on a connection from [`crate::conn`] with errors that name the command and never
//! its arguments, timeouts, and the few node queries (`ROLE`, `INFO replication`) everything
//! else builds on.
//!
//! The redis crate's defaults (1 s connect, 500 ms response) are wrong for both a Sentinel
//! probe and a `DEBUG SLEEP`, so every connection states its own [`Timeouts`].

use std::collections::HashMap;

use crate::addr::Addr;
use crate::conn::Con;
use crate::error::Result;

pub use crate::conn::Timeouts;

/// Runs `cmd` on `con`, naming the command (never its arguments) and address in the error;
/// an authentication or permission refusal becomes [`Error::Auth`](crate::error::Error::Auth) / [`Error::NoPerm`](crate::error::Error::NoPerm).
pub async fn query<T: redis::FromRedisValue>(
    con: &mut Con,
    addr: &Addr,
    cmd: &redis::Cmd,
) -> Result<T> {
    match cmd.query_async(con).await {
        Ok(v) => Ok(v),
        Err(source) => Err(con.error(addr, cmd, source)),
    }
}

/// Parses `INFO` text into its `field:value` pairs.
pub fn parse_info(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// A node's replication state, from `INFO replication`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replication {
    /// `master` or `slave`.
    pub role: String,
    /// For a replica: whether its link to the master is up.
    pub link_up: bool,
    /// For a replica: the master it follows.
    pub master: Option<Addr>,
    /// The node's replication offset (`master_repl_offset`, or `slave_repl_offset` on a replica).
    pub offset: i64,
}

impl Replication {
    /// Whether the node says it is a master.
    pub(crate) fn is_master(&self) -> bool {
        self.role == "master"
    }
}

/// Reads `INFO replication` from a node.
pub async fn replication(con: &mut Con, addr: &Addr) -> Result<Replication> {
    let text: String = query(con, addr, redis::cmd("INFO").arg("replication")).await?;
    let info = parse_info(&text);
    let get = |k: &str| info.get(k).map(String::as_str);
    let master = match (
        get("master_host"),
        get("master_port").and_then(|p| p.parse().ok()),
    ) {
        (Some(h), Some(p)) => Some(Addr::new(h, p)),
        _ => None,
    };
    let offset_field = if get("role") == Some("slave") {
        "slave_repl_offset"
    } else {
        "master_repl_offset"
    };
    Ok(Replication {
        role: get("role").unwrap_or("unknown").to_string(),
        link_up: get("master_link_status") == Some("up"),
        master,
        offset: get(offset_field).and_then(|o| o.parse().ok()).unwrap_or(-1),
    })
}

/// Which server family and version the node (or Sentinel) at `addr` runs, from `INFO server`.
pub(crate) async fn server_version(
    con: &mut Con,
    addr: &Addr,
) -> Result<crate::server::ServerVersion> {
    let text: String = query(con, addr, redis::cmd("INFO").arg("server")).await?;
    Ok(crate::server::ServerVersion::from_info(&parse_info(&text)))
}

/// Whether the node at `addr` answers `ROLE` with `master`.
pub(crate) async fn is_master(con: &mut Con, addr: &Addr) -> Result<bool> {
    let role: redis::Value = query(con, addr, &redis::cmd("ROLE")).await?;
    Ok(match role {
        redis::Value::Array(items) => matches!(
            items.first(),
            Some(redis::Value::BulkString(b)) if b == b"master"
        ),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_text_is_split_into_fields() {
        let info = parse_info("# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\n\r\n");
        assert_eq!(info["role"], "slave");
        assert_eq!(info["master_host"], "127.0.0.1");
        assert_eq!(info.len(), 2);
    }
}
