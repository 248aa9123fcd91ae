//! Pure: the failover vocabulary that drills, `watch`, metrics, pictures and traces share —
//! a failover episode and its record ([`episode`]), the hazards of a followed master
//! ([`hazard`]), and who announced a switch ([`SwitchReports`]). It imports only the pure
//! Sentinel timeline and plain addresses; everything that talks to a server sits above it.

pub(crate) mod episode;
pub(crate) mod hazard;

use serde::{Deserialize, Serialize};

/// How many Sentinels announced `+switch-master`, and over how long.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwitchReports {
    /// Sentinels that announced it.
    pub sentinels: usize,
    /// From the first announcement to the last, ms.
    pub spread_ms: f64,
}
