//! Pure: a trial's (or a drill's, or a client's) outcome against its targets.

use serde::{Deserialize, Serialize};

/// The outcome of a trial, merged over trials as Missed > Unknown > Met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Every target met.
    Met,
    /// Not measured (pre-flight failed, the run was cancelled, a step errored).
    Unknown,
    /// A target was missed.
    Missed,
}
