//! The Sentinel protocol: typed events parsed from Pub/Sub text, a monitor that follows every
//! Sentinel, the merged timeline, and the topology and health queries.

pub mod event;
pub mod health;
pub mod monitor;
pub mod report;
pub mod timeline;
pub mod topology;
pub mod view;
