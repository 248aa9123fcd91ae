//! Pure: what the monitor reports to whoever follows a group of Sentinels — a session
//! started or ended (and whether the Sentinel turned warden's settings away), a Sentinel's
//! answer about where a primary is, an event — and how a report feeds a merged timeline.
//! Apart from the monitor's tasks ([`super::monitor`]) so the watch's pure decisions can
//! take it in.

use std::time::{Instant, SystemTime};

use crate::addr::Addr;
use crate::sentinel::event::SentinelEvent;
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
        /// Set when the Sentinel turned warden's connection settings away (credentials,
        /// TLS) rather than being out of reach.
        rejected: Option<Rejected>,
    },
    /// The Sentinel's answer, right after a subscription: where the primary is.
    Primary {
        /// Which Sentinel.
        source: SourceId,
        /// The master asked about.
        master: String,
        /// When the answer arrived.
        at: Instant,
        /// Wall-clock time of the answer.
        wall: SystemTime,
        /// `SENTINEL GET-MASTER-ADDR-BY-NAME`.
        addr: Addr,
        /// `config-epoch` from `SENTINEL MASTER`.
        config_epoch: u64,
    },
    /// Subscribed, but the Sentinel could not say where the primary is (it does not monitor
    /// the master, or the query failed); asked again with backoff. Sent when the reason
    /// changes.
    Unanswered {
        /// Which Sentinel.
        source: SourceId,
        /// When it was noticed.
        at: Instant,
        /// Why.
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
    /// The Sentinel that sent this report.
    pub fn source(&self) -> SourceId {
        match self {
            MonitorEvent::Connected { source, .. }
            | MonitorEvent::Disconnected { source, .. }
            | MonitorEvent::Primary { source, .. }
            | MonitorEvent::Unanswered { source, .. }
            | MonitorEvent::Event { source, .. } => *source,
        }
    }

    /// Feeds this report into a timeline; returns the index of the entry it started, if it
    /// is an event no other Sentinel reported yet.
    pub fn apply(self, timeline: &mut Timeline) -> Option<usize> {
        match self {
            MonitorEvent::Connected { source, at } => timeline.connected(source, at),
            MonitorEvent::Disconnected {
                source, at, reason, ..
            } => timeline.disconnected(source, at, reason),
            MonitorEvent::Primary { .. } | MonitorEvent::Unanswered { .. } => {}
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

/// Why a Sentinel turned a connection away because of warden's own settings: waiting does
/// not help with these (unless someone changes the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejected {
    /// It refused the credentials (`WRONGPASS`, `NOAUTH`); what the server said, from which
    /// [`crate::conn::Conn::auth_failed`] rebuilds the error.
    Auth(String),
    /// TLS failed: the handshake, or a server that drops a plain connection at once (a
    /// TLS-only port); the line to report.
    Tls(String),
}
