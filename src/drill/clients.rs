//! Pure: one workload's figures in a trial, for the report's side-by-side comparison of
//! clients (the built-in writer, external programs).

use serde::{Deserialize, Serialize};

use super::verdict::Verdict;

/// One workload's figures in one trial, every `*_ms` from the fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientRow {
    /// The workload's name.
    pub name: String,
    /// An external program (`command`), not the built-in writer.
    pub external: bool,
    /// Fault → its first write acknowledged by a new primary.
    pub client_rto_ms: Option<f64>,
    /// Its longest stretch after the fault with no acknowledged write.
    pub unavailable_ms: Option<f64>,
    /// When that stretch began.
    pub unavailable_from_ms: Option<f64>,
    /// Acknowledged writes.
    pub acked: u64,
    /// Refused writes (every error kind).
    pub failed: u64,
    /// Writes with no reply.
    pub unknown: u64,
    /// Acknowledged writes lost (`None`: no loss check).
    pub lost: Option<u64>,
    /// The oldest lost ack.
    pub lost_oldest_ms: Option<f64>,
    /// The newest lost ack.
    pub lost_newest_ms: Option<f64>,
    /// From the oldest lost ack to the later of the fault and the newest.
    pub lost_window_ms: Option<f64>,
    /// Its verdict against the scenario's targets.
    pub verdict: Verdict,
}
