//! Pure: what one poll saw of one master — plain data the poller fills and the detectors
//! read — and the limits above which its figures are hazards.

use crate::addr::Addr;

/// What one Sentinel answered about the master in one poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SentinelSeen {
    /// The Sentinel.
    pub addr: Addr,
    /// Its answers, or why it did not give them.
    pub answer: Result<SentinelAnswer, String>,
}

/// A reachable Sentinel's answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SentinelAnswer {
    /// `GET-MASTER-ADDR-BY-NAME`.
    pub primary: Option<Addr>,
    /// `config-epoch` of `SENTINEL MASTERS`.
    pub config_epoch: Option<u64>,
    /// `CKQUORUM`: `Err(why)` when it fails.
    pub quorum: Result<(), String>,
    /// `sentinel_tilt:1`.
    pub tilt: bool,
    /// Other Sentinels it knows (`num-other-sentinels`).
    pub other_sentinels: u32,
    /// `down-after-milliseconds` of `SENTINEL MASTERS`.
    pub down_after_ms: Option<u64>,
}

/// One data node as the poll saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeSeen {
    /// Its address.
    pub addr: Addr,
    /// `ROLE`'s first word (`master`, `slave`), or `None` when it did not answer.
    pub role: Option<String>,
    /// For a replica: `master_link_status:up`, from its own `INFO replication`.
    pub link_up: Option<bool>,
    /// For a replica: its own `slave_repl_offset` (fresher than the primary's view, which a
    /// replica updates by an acknowledgement once a second).
    pub offset: Option<i64>,
}

/// A replica line of the primary's `INFO replication` (`slaveN:ip=…,offset=…,lag=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReplicaLine {
    /// `ip:port`.
    pub addr: Addr,
    /// The offset the replica acknowledged.
    pub offset: i64,
    /// Seconds since its last acknowledgement.
    pub lag_secs: u64,
}

/// The primary's replication and write figures.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PrimarySeen {
    /// `master_repl_offset`.
    pub offset: i64,
    /// The replicas it lists.
    pub replicas: Vec<ReplicaLine>,
    /// `instantaneous_ops_per_sec`.
    pub ops_per_sec: f64,
}

/// One poll of one master: every Sentinel's answers and every node's role.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Snapshot {
    /// The master name.
    pub master: String,
    /// Each Sentinel of the group.
    pub sentinels: Vec<SentinelSeen>,
    /// The primary (the Sentinels' majority answer) and the replicas they list.
    pub nodes: Vec<NodeSeen>,
    /// The primary's figures, when it answered.
    pub primary: Option<PrimarySeen>,
    /// The primary the Sentinels agree on (or most of them name).
    pub primary_addr: Option<Addr>,
}

/// Limits above which a snapshot's figures are hazards.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Limits {
    /// Replica lag, bytes.
    pub max_lag_bytes: u64,
    /// Replica lag, seconds since its last acknowledgement.
    pub max_lag_secs: u64,
    /// Exposure, writes.
    pub max_exposure_writes: f64,
    /// Exposure, seconds of writes.
    pub max_exposure_secs: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_lag_bytes: 1 << 20,
            max_lag_secs: 10,
            max_exposure_writes: 1000.0,
            max_exposure_secs: 1.0,
        }
    }
}
