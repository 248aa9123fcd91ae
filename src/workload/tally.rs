//! Pure: what the loss check found — the tally of acknowledged writes missing from the new
//! primary, with a sample of them — kept apart from the check's I/O so the checker can read it.

use serde::Serialize;

use super::history::{Ack, Found};
use crate::addr::Addr;

/// How many lost keys a report names.
pub const SAMPLE: usize = 20;

/// One acknowledged write the new primary does not have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LostWrite {
    /// Its key.
    pub key: String,
    /// When it was acknowledged, µs since the history epoch.
    pub at_us: u32,
    /// The node that acknowledged it.
    pub node: Addr,
}

/// What the loss check found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LossTally {
    /// Acknowledged keys looked up.
    pub checked: u64,
    /// Acknowledged keys absent from the new primary.
    pub lost: u64,
    /// Ack time range of the lost keys (µs since the epoch): oldest, newest.
    pub lost_range_us: Option<(u32, u32)>,
    /// The first lost keys, for the report.
    pub sample: Vec<LostWrite>,
    /// Present keys with no TTL.
    pub ttl_gone: u64,
    /// Present keys whose TTL is off by more than the time since the write.
    pub ttl_off: u64,
    /// Unknown-outcome writes that did land.
    pub recovered: u64,
    /// When each lost write was acknowledged, µs since the epoch (for the report's picture).
    #[serde(skip)]
    pub lost_at_us: Vec<u32>,
    /// What the check found for each acknowledged write, in `History::acks` order.
    #[serde(skip)]
    pub found: Vec<Found>,
    /// Whether each unknown write landed, writer by writer in `unknown` order.
    #[serde(skip)]
    pub landed: Vec<bool>,
}

impl LossTally {
    /// Counts `ack` (of `key`, acknowledged by `node`) as lost.
    pub(crate) fn lost_one(&mut self, key: impl FnOnce() -> String, ack: Ack, node: &Addr) {
        self.lost += 1;
        self.lost_at_us.push(ack.at_us);
        self.lost_range_us = Some(match self.lost_range_us {
            None => (ack.at_us, ack.at_us),
            Some((lo, hi)) => (lo.min(ack.at_us), hi.max(ack.at_us)),
        });
        if self.sample.len() < SAMPLE {
            self.sample.push(LostWrite {
                key: key(),
                at_us: ack.at_us,
                node: node.clone(),
            });
        }
    }
}
