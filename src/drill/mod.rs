//! Drills: scenario files, the runner that injects a fault under a session workload, the pure
//! checker that turns observations into RTO/RPO figures and a verdict, and the report.

pub(crate) mod checker;
pub(crate) mod clients;
pub(crate) mod cluster;
pub(crate) mod compare;
mod ending;
pub(crate) mod evidence;
pub(crate) mod failovers;
mod load;
mod machine;
pub(crate) mod primaries;
mod probe;
pub(crate) mod progress;
pub mod report;
mod roles;
pub mod runner;
pub mod scenario;
pub(crate) mod split;
mod target;
mod trial;
mod verdict;
