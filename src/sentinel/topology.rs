//! What the Sentinels say about a master: its address, its replicas, quorum and TILT.

use std::collections::HashMap;

use futures_util::future::join_all;

use crate::addr::Addr;
use crate::client::{self, Timeouts};
use crate::conn::{Con, Conn};
use crate::error::{Error, Result};
use crate::sentinel::view::{MasterView, PrimaryAnswer, ReplicaView};

/// Maps "no such master" replies to [`Error::UnknownMaster`].
fn unknown_master(e: Error, sentinel: &Addr, name: &str) -> Error {
    match e {
        Error::Command { ref source, .. } if source.to_string().contains("No such master") => {
            Error::UnknownMaster {
                master: name.to_string(),
                sentinels: sentinel.to_string(),
            }
        }
        e => e,
    }
}

/// `SENTINEL MASTER <name>` on one Sentinel.
pub async fn master(con: &mut Con, sentinel: &Addr, name: &str) -> Result<MasterView> {
    let m: HashMap<String, String> = client::query(
        con,
        sentinel,
        redis::cmd("SENTINEL").arg("MASTER").arg(name),
    )
    .await
    .map_err(|e| unknown_master(e, sentinel, name))?;
    MasterView::from_fields(&m).ok_or_else(|| Error::UnknownMaster {
        master: name.to_string(),
        sentinels: sentinel.to_string(),
    })
}

/// `SENTINEL REPLICAS <name>` on one Sentinel.
pub async fn replicas(con: &mut Con, sentinel: &Addr, name: &str) -> Result<Vec<ReplicaView>> {
    let list: Vec<HashMap<String, String>> = client::query(
        con,
        sentinel,
        redis::cmd("SENTINEL").arg("REPLICAS").arg(name),
    )
    .await
    .map_err(|e| unknown_master(e, sentinel, name))?;
    Ok(list.iter().filter_map(ReplicaView::from_fields).collect())
}

/// `SENTINEL CKQUORUM <name>`: `Ok(text)` when the quorum and majority are reachable,
/// `Err(text)` with Sentinel's explanation when not.
pub async fn ckquorum(
    con: &mut Con,
    sentinel: &Addr,
    name: &str,
) -> Result<std::result::Result<String, String>> {
    let reply: redis::RedisResult<String> = redis::cmd("SENTINEL")
        .arg("CKQUORUM")
        .arg(name)
        .query_async(con)
        .await;
    Ok(match reply {
        Ok(text) => Ok(text),
        Err(e)
            if e.code().is_some()
                && e.code() != Some("NOPERM")
                && !crate::conn::is_auth_error(&e) =>
        {
            if e.to_string().contains("No such master") {
                return Err(Error::UnknownMaster {
                    master: name.to_string(),
                    sentinels: sentinel.to_string(),
                });
            }
            Err(e.detail().unwrap_or("CKQUORUM failed").to_string())
        }
        Err(source) => {
            let cmd = redis::cmd("SENTINEL").arg("CKQUORUM").to_owned();
            return Err(con.error(sentinel, &cmd, source));
        }
    })
}

/// Whether the Sentinel is in TILT mode (`INFO sentinel` → `sentinel_tilt:1`).
pub async fn tilt(con: &mut Con, sentinel: &Addr) -> Result<bool> {
    let text: String = client::query(con, sentinel, redis::cmd("INFO").arg("sentinel")).await?;
    Ok(client::parse_info(&text)
        .get("sentinel_tilt")
        .is_some_and(|v| v == "1"))
}

/// Asks the Sentinels in order for the master's address, as a Sentinel-aware client does:
/// the first Sentinel that answers with an address wins; a null reply means "ask the next".
/// When every Sentinel refused the credentials (or a permission), that refusal is the error.
pub async fn ask_primary(conn: &Conn, sentinels: &[Addr], name: &str, t: Timeouts) -> Result<Addr> {
    let mut last = String::from("no Sentinel given");
    let mut answered = false;
    let mut refused = None;
    for s in sentinels {
        let asked = async {
            let mut con = conn.sentinel(s, t).await?;
            client::query::<Option<(String, u16)>>(
                &mut con,
                s,
                redis::cmd("SENTINEL")
                    .arg("GET-MASTER-ADDR-BY-NAME")
                    .arg(name),
            )
            .await
        };
        match asked.await {
            Ok(Some((host, port))) => return Ok(Addr::new(host, port)),
            Ok(None) => answered = true,
            Err(e @ (Error::Auth { .. } | Error::NoPerm { .. } | Error::Tls { .. })) => {
                last = e.to_string();
                refused = Some(e);
            }
            Err(e) => last = e.to_string(),
        }
    }
    if let Some(e) = refused
        && !answered
    {
        return Err(e);
    }
    let list = join(sentinels);
    if answered {
        Err(Error::UnknownMaster {
            master: name.to_string(),
            sentinels: list,
        })
    } else {
        Err(Error::NoSentinel {
            sentinels: list,
            last,
        })
    }
}

/// Asks every Sentinel at once for the master's address (no first-answer-wins: a split view
/// shows), in the order of `sentinels`.
pub async fn primary_per_sentinel(
    conn: &Conn,
    sentinels: &[Addr],
    name: &str,
    t: Timeouts,
) -> Vec<PrimaryAnswer> {
    join_all(sentinels.iter().map(|s| async move {
        let mut con = conn.sentinel(s, t).await.map_err(|e| e.to_string())?;
        let cmd = redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(name)
            .clone();
        let reply: Option<(String, u16)> = client::query(&mut con, s, &cmd)
            .await
            .map_err(|e| e.to_string())?;
        Ok(reply.map(|(host, port)| Addr::new(host, port)))
    }))
    .await
}

/// `a, b, c` for error messages.
pub fn join(addrs: &[Addr]) -> String {
    addrs
        .iter()
        .map(Addr::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
