//! Drills: scenario files, the runner that injects a fault under a session workload, the pure
//! checker that turns observations into RTO/RPO figures and a verdict, and the report.

pub mod checker;
pub mod clients;
pub mod compare;
pub mod evidence;
mod load;
pub mod primaries;
mod probe;
pub mod progress;
pub mod report;
mod roles;
pub mod runner;
pub mod scenario;
mod target;
mod trial;
mod verdict;
