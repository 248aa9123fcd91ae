//! Will this backup load there? Finds the server a file is meant for — a name
//! (`valkey-9.1`), a live node asked with `INFO server`, or a `redis-server` binary's
//! `--version` — and refuses a file that server would not load ([`crate::rdb::compat`]
//! decides), before anything is touched.

use std::path::Path;
use std::time::Duration;

use crate::addr::Addr;
use crate::client::{self, Timeouts};
use crate::conn::Conn;
use crate::error::{Error, Result};
use crate::rdb::Summary;
use crate::rdb::compat::{self, NAMED, Server, Verdict};

/// The server `--for` names: `redis-7.0`, `valkey-9.1`, … or `HOST:PORT` of a live node
/// (asked with `INFO server`, connected as `conn` says).
pub(crate) async fn server_for(text: &str, conn: &Conn) -> Result<Server> {
    if let Some(s) = Server::parse(text) {
        return Ok(s);
    }
    let addr: Addr = text.parse().map_err(|_| {
        Error::Usage(format!(
            "--for {text}: expected a server ({}, or FAMILY-MAJOR.MINOR) or HOST:PORT of a live node",
            NAMED.join(", ")
        ))
    })?;
    asked(conn, &addr).await
}

/// The server a live node runs (`INFO server`).
pub(crate) async fn asked(conn: &Conn, addr: &Addr) -> Result<Server> {
    let t = Timeouts {
        connect: Duration::from_secs(2),
        response: Duration::from_secs(10),
    };
    let mut con = conn.node(addr, t).await?;
    let v = client::server_version(&mut con, addr).await?;
    Server::of(&v).ok_or_else(|| {
        Error::Usage(format!(
            "{addr} runs {v}: warden cannot tell which RDB formats that version loads"
        ))
    })
}

/// The server a binary is (`BINARY --version`).
pub(crate) async fn of_binary(binary: &Path) -> Result<Server> {
    let out = tokio::process::Command::new(binary)
        .arg("--version")
        .output()
        .await
        .map_err(|source| Error::Spawn {
            what: format!("{} --version", binary.display()),
            source,
        })?;
    let line = String::from_utf8_lossy(&out.stdout);
    Server::of_version_line(line.trim()).ok_or_else(|| {
        Error::Usage(format!(
            "{} --version said {:?}: not a Redis or Valkey server warden knows",
            binary.display(),
            line.trim()
        ))
    })
}

/// `Ok` when the file `what`, summed up by the verifier in `s`, loads on `server`; else
/// [`Error::WontLoad`] with the reason.
pub(crate) fn require(what: &str, s: &Summary, server: Server) -> Result<()> {
    match compat::check(s, server) {
        Verdict::Loads => Ok(()),
        Verdict::DoesNotLoad(reason) => Err(Error::WontLoad {
            what: what.to_string(),
            server: server.to_string(),
            reason,
        }),
    }
}
