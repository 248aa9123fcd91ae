//! Follows every Sentinel's Pub/Sub stream (`PSUBSCRIBE *`), one task per Sentinel, and sends
//! each event, stamped where its bytes arrived, to one channel.
//!
//! A connection that drops is retried with capped exponential backoff (first retry after
//! 50 ms, at most 1 s apart, reset by every successful subscription); each session start and
//! end is sent too, with the reason it ended, so a gap is recorded, never silently lost. An
//! authentication failure (`NOAUTH`, `WRONGPASS`) is named as such, never with the password,
//! a missing permission (`NOPERM`) names the refused command, and a rejection is marked, like a TLS failure ([`Rejected`]); before a Sentinel's first
//! subscription such a rejection is only sent, not logged: the receiver decides whether it is
//! fatal (`watch` exits when every Sentinel of a group rejects it at startup) or logs it.
//! Every connection comes from the one [`Conn`] given.
//!
//! Given a master name ([`spawn_for`]), each task also asks its Sentinel, right after every
//! subscription, where the primary is and its config epoch (`SENTINEL
//! GET-MASTER-ADDR-BY-NAME`, `SENTINEL MASTER`), again with backoff until it gets an answer,
//! so whoever follows the events can reconcile what happened in a gap.

use std::time::{Duration, Instant, SystemTime};

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::addr::Addr;
use crate::client::Timeouts;
use crate::conn::{Conn, Role};
use crate::sentinel::event;
use crate::sentinel::timeline::SourceId;

pub use super::report::{MonitorEvent, Rejected};

/// Reconnect delays: doubled after each failed attempt, capped, reset by a successful
/// subscription.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// First delay.
    pub initial: Duration,
    /// Largest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_secs(1),
        }
    }
}

/// Starts one task per Sentinel. The tasks end when `tx`'s receiver is dropped (or when the
/// returned set is dropped).
pub fn spawn(
    conn: &Conn,
    sentinels: &[Addr],
    backoff: Backoff,
    tx: mpsc::UnboundedSender<MonitorEvent>,
) -> JoinSet<()> {
    spawn_inner(conn, sentinels, 0, None, backoff, tx)
}

/// Like [`spawn`], and each task also reports its Sentinel's answer about `master`
/// ([`MonitorEvent::Primary`]) after every subscription.
pub fn spawn_for(
    conn: &Conn,
    sentinels: &[Addr],
    master: &str,
    backoff: Backoff,
    tx: mpsc::UnboundedSender<MonitorEvent>,
) -> JoinSet<()> {
    spawn_inner(
        conn,
        sentinels,
        0,
        Some(vec![master.to_owned()]),
        backoff,
        tx,
    )
}

/// Like [`spawn_for`] for several masters (`masters` empty: every master the Sentinel
/// monitors, from `SENTINEL MASTERS`), numbering the Sentinels from `first_source`: one
/// channel can then carry several groups' reports.
pub(crate) fn spawn_for_masters(
    conn: &Conn,
    sentinels: &[Addr],
    first_source: SourceId,
    masters: Vec<String>,
    backoff: Backoff,
    tx: mpsc::UnboundedSender<MonitorEvent>,
) -> JoinSet<()> {
    spawn_inner(conn, sentinels, first_source, Some(masters), backoff, tx)
}

fn spawn_inner(
    conn: &Conn,
    sentinels: &[Addr],
    first_source: SourceId,
    masters: Option<Vec<String>>,
    backoff: Backoff,
    tx: mpsc::UnboundedSender<MonitorEvent>,
) -> JoinSet<()> {
    let mut set = JoinSet::new();
    for (i, addr) in sentinels.iter().cloned().enumerate() {
        let masters = masters.clone();
        set.spawn(follow(
            conn.clone(),
            first_source + i,
            addr,
            masters,
            backoff,
            tx.clone(),
        ));
    }
    set
}

/// Follows one Sentinel until the receiver goes away. The outside sees the connection state
/// as `Connected` / `Disconnected { reason }` reports; a failed reconnect attempt is reported
/// again during an outage only when its reason changes (refused → authentication failed).
async fn follow(
    conn: Conn,
    source: SourceId,
    addr: Addr,
    masters: Option<Vec<String>>,
    backoff: Backoff,
    tx: mpsc::UnboundedSender<MonitorEvent>,
) {
    let mut delay = backoff.initial;
    let mut reported: Option<String> = None;
    let mut subscribed_once = false;
    loop {
        match subscribe(&conn, &addr).await {
            Ok(mut stream) => {
                delay = backoff.initial;
                subscribed_once = true;
                let start = Instant::now();
                if tx
                    .send(MonitorEvent::Connected { source, at: start })
                    .is_err()
                {
                    return;
                }
                let reason = tokio::select! {
                    r = session(&conn, source, &addr, masters.as_deref(), backoff, &mut stream, &tx) => r,
                    _ = tx.closed() => None,
                };
                let Some(reason) = reason else { return };
                let at = Instant::now();
                tracing::warn!(sentinel = %addr, "{reason}; reconnecting");
                reported = Some(reason.clone());
                let ended = MonitorEvent::Disconnected {
                    source,
                    at,
                    reason,
                    rejected: None,
                };
                if tx.send(ended).is_err() {
                    return;
                }
            }
            Err(Failed { reason, rejected }) => {
                if reported.as_deref() != Some(reason.as_str()) {
                    if rejected.is_some() && !subscribed_once {
                        tracing::debug!(sentinel = %addr, "{reason}; retrying (backoff up to {:?})", backoff.max);
                    } else {
                        tracing::warn!(sentinel = %addr, "{reason}; retrying (backoff up to {:?})", backoff.max);
                    }
                    reported = Some(reason.clone());
                    let at = Instant::now();
                    let ended = MonitorEvent::Disconnected {
                        source,
                        at,
                        reason,
                        rejected,
                    };
                    if tx.send(ended).is_err() {
                        return;
                    }
                } else {
                    tracing::debug!(sentinel = %addr, "{reason}; retrying in {delay:?}");
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = tx.closed() => return,
        }
        delay = (delay * 2).min(backoff.max);
    }
}

/// One subscription: forwards events until the stream ends (`Some(reason)`) or the receiver
/// is gone (`None`); meanwhile asks once where each master's primary is.
async fn session(
    conn: &Conn,
    source: SourceId,
    addr: &Addr,
    masters: Option<&[String]>,
    backoff: Backoff,
    stream: &mut redis::aio::PubSubStream,
    tx: &mpsc::UnboundedSender<MonitorEvent>,
) -> Option<String> {
    let ask = async {
        match masters {
            Some(m) => ask_until_answered(conn, source, addr, m, backoff, tx).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(ask);
    let mut asking = true;
    loop {
        tokio::select! {
            msg = stream.next() => {
                let Some(msg) = msg else {
                    return Some("connection closed".into());
                };
                let at = Instant::now();
                let wall = SystemTime::now();
                let channel = msg.get_channel_name();
                let payload: String = msg.get_payload().unwrap_or_default();
                let event = event::parse(channel, &payload);
                tx.send(MonitorEvent::Event { source, at, wall, event }).ok()?;
            }
            () = &mut ask, if asking => asking = false,
        }
    }
}

/// Asks `addr` where each of `masters`' primaries is (empty: every master it monitors) until
/// it has answered for all; sends each answer once, or an `Unanswered` report each time the
/// reason changes.
async fn ask_until_answered(
    conn: &Conn,
    source: SourceId,
    addr: &Addr,
    masters: &[String],
    backoff: Backoff,
    tx: &mpsc::UnboundedSender<MonitorEvent>,
) {
    let mut delay = backoff.initial;
    let mut reported: Option<String> = None;
    let mut answered: Vec<String> = Vec::new();
    loop {
        let mut names: Vec<String> = masters.to_vec();
        let mut missing = None;
        if names.is_empty() {
            match monitored(conn, addr).await {
                Ok(all) if !all.is_empty() => names = all,
                Ok(_) => missing = Some(format!("sentinel {addr} monitors no master (yet)")),
                Err(reason) => missing = Some(reason),
            }
        }
        let asking: Vec<&String> = names.iter().filter(|m| !answered.contains(m)).collect();
        for master in asking {
            match ask_primary(conn, addr, master).await {
                Ok((primary, config_epoch)) => {
                    let _ = tx.send(MonitorEvent::Primary {
                        source,
                        master: master.clone(),
                        at: Instant::now(),
                        wall: SystemTime::now(),
                        addr: primary,
                        config_epoch,
                    });
                    answered.push(master.clone());
                }
                Err(reason) => {
                    missing.get_or_insert(reason);
                }
            }
        }
        match missing {
            None => return,
            Some(reason) => {
                if reported.as_deref() != Some(reason.as_str()) {
                    tracing::warn!(sentinel = %addr, "{reason}; asking again (backoff up to {:?})", backoff.max);
                    let at = Instant::now();
                    let _ = tx.send(MonitorEvent::Unanswered {
                        source,
                        at,
                        reason: reason.clone(),
                    });
                    reported = Some(reason);
                }
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(backoff.max);
    }
}

/// The names of every master `addr` monitors (`SENTINEL MASTERS`).
pub async fn monitored(conn: &Conn, addr: &Addr) -> Result<Vec<String>, String> {
    let mut con = conn
        .sentinel(addr, Timeouts::CONTROL)
        .await
        .map_err(|e| reach_error(addr, e))?;
    let list: Vec<std::collections::HashMap<String, String>> = redis::cmd("SENTINEL")
        .arg("MASTERS")
        .query_async(&mut con)
        .await
        .map_err(|e| describe(addr, "cannot ask", &e))?;
    Ok(list
        .into_iter()
        .filter_map(|m| m.get("name").cloned())
        .collect())
}

/// `SENTINEL GET-MASTER-ADDR-BY-NAME` and the `config-epoch` of `SENTINEL MASTER`.
async fn ask_primary(conn: &Conn, addr: &Addr, master: &str) -> Result<(Addr, u64), String> {
    let mut con = conn
        .sentinel(addr, Timeouts::CONTROL)
        .await
        .map_err(|e| reach_error(addr, e))?;
    let primary: Option<(String, u16)> = redis::cmd("SENTINEL")
        .arg("GET-MASTER-ADDR-BY-NAME")
        .arg(master)
        .query_async(&mut con)
        .await
        .map_err(|e| describe(addr, "cannot ask", &e))?;
    let Some((host, port)) = primary else {
        return Err(format!(
            "sentinel {addr} does not monitor a master named '{master}' (yet)"
        ));
    };
    let fields: std::collections::HashMap<String, String> = redis::cmd("SENTINEL")
        .arg("MASTER")
        .arg(master)
        .query_async(&mut con)
        .await
        .map_err(|e| describe(addr, "cannot ask", &e))?;
    let epoch = fields
        .get("config-epoch")
        .and_then(|e| e.parse().ok())
        .ok_or_else(|| format!("sentinel {addr}: SENTINEL MASTER {master} has no config-epoch"))?;
    Ok((Addr::new(host, port), epoch))
}

/// The line for a connection that could not be made.
fn reach_error(addr: &Addr, e: crate::error::Error) -> String {
    match e {
        crate::error::Error::Connect { source, .. } => describe(addr, "cannot reach", &source),
        other => other.to_string(),
    }
}

/// One line for a failed call on `addr`; authentication failures say so (by their code
/// only: nothing of the credentials), and a missing permission names the refused command.
pub(crate) fn describe(addr: &Addr, doing: &str, e: &redis::RedisError) -> String {
    if e.code() == Some("NOPERM") {
        let command = crate::conn::refused_command(&e.to_string());
        return format!(
            "missing permission on {addr}: may not run {command} (NOPERM); grant it (docs/book/src/acls.md)"
        );
    }
    let auth_code = e.code().filter(|c| ["NOAUTH", "WRONGPASS"].contains(c));
    if let Some(code) = auth_code {
        return format!("authentication failed on {addr} ({code})");
    }
    if e.kind() == redis::ErrorKind::AuthenticationFailed {
        return format!("authentication failed on {addr}");
    }
    format!("{doing} {addr}: {e}")
}

/// Why a subscription could not be made.
struct Failed {
    /// The line to report.
    reason: String,
    /// Set when warden's own settings were turned away.
    rejected: Option<Rejected>,
}

impl Failed {
    fn new(reason: String) -> Self {
        Failed {
            reason,
            rejected: None,
        }
    }
}

/// A server that accepted the TCP connection and dropped it before any answer: over plain
/// TCP, a TLS-only port.
fn dropped_at_once(e: &redis::RedisError) -> bool {
    e.is_io_error() && e.is_connection_dropped() && !e.is_connection_refusal() && !e.is_timeout()
}

/// The failure for `e` in setting up a subscription to `addr`.
fn setup_failed(conn: &Conn, addr: &Addr, reason: String, e: &redis::RedisError) -> Failed {
    if crate::conn::is_auth_error(e) {
        let detail = match (e.code(), e.detail()) {
            (Some(code), Some(detail)) => format!("{code} {detail}"),
            _ => crate::error::one_line(&e.to_string()),
        };
        return Failed {
            reason,
            rejected: Some(Rejected::Auth(detail)),
        };
    }
    if !conn.tls(Role::Sentinel) && dropped_at_once(e) {
        let line = format!(
            "{addr} dropped the connection before answering ({e}): is it TLS-only? give --tls or --tls-sentinels"
        );
        return Failed {
            reason,
            rejected: Some(Rejected::Tls(line)),
        };
    }
    Failed::new(reason)
}

async fn subscribe(conn: &Conn, addr: &Addr) -> Result<redis::aio::PubSubStream, Failed> {
    let connect = async {
        let mut ps = conn
            .subscribe(addr, Duration::from_secs(2))
            .await
            .map_err(|e| match e {
                crate::error::Error::Auth { ref detail, .. } => Failed {
                    rejected: Some(Rejected::Auth(detail.clone())),
                    reason: e.to_string(),
                },
                crate::error::Error::Tls { ref message } => Failed {
                    rejected: Some(Rejected::Tls(message.clone())),
                    reason: e.to_string(),
                },
                crate::error::Error::Connect { ref source, .. } => {
                    setup_failed(conn, addr, e.to_string(), source)
                }
                other => Failed::new(other.to_string()),
            })?;
        ps.psubscribe("*").await.map_err(|e| {
            // `NOAUTH` here: no password given to a Sentinel that wants one.
            setup_failed(conn, addr, describe(addr, "cannot subscribe to", &e), &e)
        })?;
        Ok::<_, Failed>(ps.into_on_message())
    };
    match tokio::time::timeout(Duration::from_secs(2), connect).await {
        Ok(r) => r,
        Err(_) => Err(Failed::new(format!(
            "cannot subscribe to {addr}: timed out"
        ))),
    }
}
