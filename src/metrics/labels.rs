//! The label sets of the metric families: every per-master set starts with the master's
//! Sentinel `group`.

use prometheus_client::encoding::EncodeLabelSet;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct MasterL {
    pub(super) group: String,
    pub(super) master: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct MasterOutcome {
    pub(super) group: String,
    pub(super) master: String,
    pub(super) outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct MasterPhase {
    pub(super) group: String,
    pub(super) master: String,
    pub(super) phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct MasterSentinel {
    pub(super) group: String,
    pub(super) master: String,
    pub(super) sentinel: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct MasterAddr {
    pub(super) group: String,
    pub(super) master: String,
    pub(super) addr: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct MasterReplica {
    pub(super) group: String,
    pub(super) master: String,
    pub(super) replica: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct MasterKind {
    pub(super) group: String,
    pub(super) master: String,
    pub(super) kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct SeverityL {
    pub(super) severity: String,
}
