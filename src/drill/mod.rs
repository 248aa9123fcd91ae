//! Drills: scenario files, the runner that injects a fault under a session workload, the pure
//! checker that turns observations into RTO/RPO figures and a verdict, and the report.

pub mod checker;
pub mod clients;
pub mod cluster;
pub mod compare;
mod ending;
pub mod evidence;
pub mod failovers;
mod load;
mod machine;
pub mod primaries;
mod probe;
pub mod progress;
pub mod report;
mod roles;
pub mod runner;
pub mod scenario;
pub mod split;
mod target;
mod trial;
mod verdict;
