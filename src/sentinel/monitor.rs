//! Follows every Sentinel's Pub/Sub stream (`PSUBSCRIBE *`), one task per Sentinel, and sends
//! each event, stamped where its bytes arrived, to one channel.
//!
//! A connection that drops is retried with capped exponential backoff; each session start and
//! end is sent too, with the reason it ended, so a gap is recorded, never silently lost.

use std::time::{Duration, Instant, SystemTime};

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::addr::Addr;
use crate::conn::Conn;
use crate::sentinel::event::{self, SentinelEvent};
use crate::sentinel::timeline::{Ingest, SourceId, Timeline};

/// What the monitor reports.
#[derive(Debug, Clone)]
pub enum MonitorEvent {
    /// Subscribed to the Sentinel (first time or after a gap).
    Connected {
        /// Which Sentinel.
        source: SourceId,
        /// When the subscription was confirmed.
        at: Instant,
    },
    /// The connection ended or could not be made; reported once per outage.
    Disconnected {
        /// Which Sentinel.
        source: SourceId,
        /// When it was noticed.
        at: Instant,
        /// Why the session ended.
        reason: String,
    },
    /// An event arrived.
    Event {
        /// Which Sentinel published it.
        source: SourceId,
        /// Monotonic arrival time.
        at: Instant,
        /// Wall-clock arrival time.
        wall: SystemTime,
        /// The parsed event.
        event: SentinelEvent,
    },
}

impl MonitorEvent {
    /// Feeds this report into a timeline; returns the index of the entry it started, if it
    /// is an event no other Sentinel reported yet.
    pub fn apply(self, timeline: &mut Timeline) -> Option<usize> {
        match self {
            MonitorEvent::Connected { source, at } => timeline.connected(source, at),
            MonitorEvent::Disconnected { source, at, reason } => {
                timeline.disconnected(source, at, reason)
            }
            MonitorEvent::Event {
                source,
                at,
                wall,
                event,
            } => {
                if let Ingest::New(i) = timeline.ingest(source, at, wall, event) {
                    return Some(i);
                }
            }
        }
        None
    }
}

/// Reconnect delays: doubled after each failed attempt, capped, reset after a healthy session.
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
            max: Duration::from_secs(2),
        }
    }
}

/// A session that lasted this long counts as healthy and resets the backoff.
const HEALTHY_SESSION: Duration = Duration::from_secs(5);

/// Starts one task per Sentinel. The tasks end when `tx`'s receiver is dropped (or when the
/// returned set is dropped).
pub fn spawn(
    conn: &Conn,
    sentinels: &[Addr],
    backoff: Backoff,
    tx: mpsc::UnboundedSender<MonitorEvent>,
) -> JoinSet<()> {
    let mut set = JoinSet::new();
    for (source, addr) in sentinels.iter().cloned().enumerate() {
        set.spawn(follow(conn.clone(), source, addr, backoff, tx.clone()));
    }
    set
}

/// Follows one Sentinel until the receiver goes away. The outside sees the connection state
/// as `Connected` / `Disconnected { reason }` reports; a failed reconnect attempt is not
/// reported again while the outage lasts.
async fn follow(
    conn: Conn,
    source: SourceId,
    addr: Addr,
    backoff: Backoff,
    tx: mpsc::UnboundedSender<MonitorEvent>,
) {
    let mut delay = backoff.initial;
    let mut outage_reported = false;
    loop {
        match subscribe(&conn, &addr).await {
            Ok(mut stream) => {
                let start = Instant::now();
                if tx
                    .send(MonitorEvent::Connected { source, at: start })
                    .is_err()
                {
                    return;
                }
                let reason = tokio::select! {
                    r = forward(source, &mut stream, &tx) => r,
                    _ = tx.closed() => None,
                };
                let Some(reason) = reason else { return };
                let at = Instant::now();
                if tx
                    .send(MonitorEvent::Disconnected { source, at, reason })
                    .is_err()
                {
                    return;
                }
                outage_reported = true;
                if start.elapsed() >= HEALTHY_SESSION {
                    delay = backoff.initial;
                }
            }
            Err(reason) => {
                if !outage_reported {
                    outage_reported = true;
                    let at = Instant::now();
                    if tx
                        .send(MonitorEvent::Disconnected { source, at, reason })
                        .is_err()
                    {
                        return;
                    }
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

async fn subscribe(conn: &Conn, addr: &Addr) -> Result<redis::aio::PubSubStream, String> {
    let connect = async {
        let mut ps = conn
            .subscribe(addr, Duration::from_secs(2))
            .await
            .map_err(|e| e.to_string())?;
        ps.psubscribe("*")
            .await
            .map_err(|e| format!("cannot subscribe to {addr}: {e}"))?;
        Ok::<_, String>(ps.into_on_message())
    };
    match tokio::time::timeout(Duration::from_secs(2), connect).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(format!("cannot subscribe to {addr}: timed out")),
    }
}

/// Forwards messages until the stream ends (`Some(reason)`) or the receiver is gone (`None`).
async fn forward(
    source: SourceId,
    stream: &mut redis::aio::PubSubStream,
    tx: &mpsc::UnboundedSender<MonitorEvent>,
) -> Option<String> {
    while let Some(msg) = stream.next().await {
        let at = Instant::now();
        let wall = SystemTime::now();
        let channel = msg.get_channel_name();
        let payload: String = msg.get_payload().unwrap_or_default();
        let event = event::parse(channel, &payload);
        tx.send(MonitorEvent::Event {
            source,
            at,
            wall,
            event,
        })
        .ok()?;
    }
    Some("connection closed".into())
}
