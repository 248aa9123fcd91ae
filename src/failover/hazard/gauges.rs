//! Pure: the figures of one poll that are metrics rather than hazards — whether the quorum
//! holds, each replica's lag, the exposure — computed as the detectors see them, so a gauge
//! and the hazard on the same figure never disagree.

use super::{Exposure, Snapshot, exposure, fresh, lag_bytes};
use crate::addr::Addr;

/// What a poll of one master gives the metrics.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Gauges {
    /// No answering Sentinel's `CKQUORUM` fails, and some Sentinel answers.
    pub quorum_ok: bool,
    /// The primary's view of each replica it lists: offset bytes behind. `None` when the
    /// primary did not answer (nothing is known, nothing is gone).
    pub replica_lag: Option<Vec<(Addr, u64)>>,
    /// What a failover now would lose, when the primary answered and lists a replica.
    pub exposure: Option<Exposure>,
}

/// The gauges of `s`; `bytes_per_sec` is the primary's stream rate since the previous poll.
pub(crate) fn gauges(s: &Snapshot, bytes_per_sec: Option<f64>) -> Gauges {
    let s = &*fresh(s);
    let answers: Vec<_> = s
        .sentinels
        .iter()
        .filter_map(|x| x.answer.as_ref().ok())
        .collect();
    let quorum_ok =
        answers.iter().all(|a| a.quorum.is_ok()) && (!answers.is_empty() || s.sentinels.is_empty());
    let replica_lag = s.primary.as_ref().map(|p| {
        p.replicas
            .iter()
            .map(|r| (r.addr.clone(), lag_bytes(p, r)))
            .collect()
    });
    let exposure = s.primary.as_ref().and_then(|p| exposure(p, bytes_per_sec));
    Gauges {
        quorum_ok,
        replica_lag,
        exposure,
    }
}
