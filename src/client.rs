//! Connections to Redis nodes and Sentinels with explicit timeouts, and the few node queries
//! (`ROLE`, `INFO replication`) everything else builds on.
//!
//! The redis crate's defaults (1 s connect, 500 ms response) are wrong for both a Sentinel
//! probe and a `DEBUG SLEEP`, so every connection states its own.

use std::collections::HashMap;
use std::time::Duration;

use redis::aio::MultiplexedConnection;

use crate::addr::Addr;
use crate::error::{Error, Result};

/// How long to wait for a TCP connection and for each reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect (and handshake) timeout.
    pub connect: Duration,
    /// Per-command response timeout.
    pub response: Duration,
}

impl Timeouts {
    /// Short timeouts for control-plane queries on loopback or a LAN.
    pub const CONTROL: Timeouts = Timeouts {
        connect: Duration::from_millis(500),
        response: Duration::from_secs(2),
    };
}

/// Opens a multiplexed connection to `addr`.
pub async fn connect(addr: &Addr, t: Timeouts) -> Result<MultiplexedConnection> {
    let client = redis::Client::open(addr.url()).map_err(|source| Error::Connect {
        addr: addr.clone(),
        source,
    })?;
    let cfg = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(t.connect))
        .set_response_timeout(Some(t.response));
    // The crate's own connect timeout does not cover every await; bound the whole handshake.
    match tokio::time::timeout(
        t.connect + t.response,
        client.get_multiplexed_async_connection_with_config(&cfg),
    )
    .await
    {
        Ok(Ok(con)) => Ok(con),
        Ok(Err(source)) => Err(Error::Connect {
            addr: addr.clone(),
            source,
        }),
        Err(_) => Err(Error::Connect {
            addr: addr.clone(),
            source: std::io::Error::from(std::io::ErrorKind::TimedOut).into(),
        }),
    }
}

/// Connects to a data node, authenticating when a password is given.
pub async fn connect_node(addr: &Addr, password: Option<&str>) -> Result<MultiplexedConnection> {
    let t = Timeouts {
        connect: Duration::from_secs(2),
        response: Duration::from_secs(10),
    };
    let mut con = connect(addr, t).await?;
    if let Some(pw) = password {
        let _: () = query(&mut con, addr, redis::cmd("AUTH").arg(pw)).await?;
    }
    Ok(con)
}

/// Runs `cmd` on `con`, naming the command and address in the error.
pub async fn query<T: redis::FromRedisValue>(
    con: &mut MultiplexedConnection,
    addr: &Addr,
    cmd: &redis::Cmd,
) -> Result<T> {
    cmd.query_async(con).await.map_err(|source| Error::Command {
        addr: addr.clone(),
        command: command_name(cmd),
        source,
    })
}

fn command_name(cmd: &redis::Cmd) -> String {
    cmd.args_iter()
        .take(2)
        .filter_map(|a| match a {
            redis::Arg::Simple(b) => Some(String::from_utf8_lossy(b).to_uppercase()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" ")
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
    pub fn is_master(&self) -> bool {
        self.role == "master"
    }
}

/// Reads `INFO replication` from a node.
pub async fn replication(con: &mut MultiplexedConnection, addr: &Addr) -> Result<Replication> {
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
pub async fn server_version(
    con: &mut MultiplexedConnection,
    addr: &Addr,
) -> Result<crate::server::ServerVersion> {
    let text: String = query(con, addr, redis::cmd("INFO").arg("server")).await?;
    Ok(crate::server::ServerVersion::from_info(&parse_info(&text)))
}

/// Whether the node at `addr` answers `ROLE` with `master`.
pub async fn is_master(con: &mut MultiplexedConnection, addr: &Addr) -> Result<bool> {
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

    #[test]
    fn command_names_are_upper_cased() {
        assert_eq!(
            command_name(redis::cmd("sentinel").arg("master").arg("m")),
            "SENTINEL MASTER"
        );
    }
}
