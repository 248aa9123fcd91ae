//! warden makes Redis Sentinel high availability measurable.
//!
//! A tour of the crate, from the edge inwards:
//!
//! - [`cli`] declares the command line; [`run`] dispatches it and maps the outcome to an exit
//!   code ([`error`] holds the policy).
//! - [`lab`] starts and stops a local three-node, three-Sentinel cluster.
//! - [`sentinel`] parses Sentinel events, follows every Sentinel, merges their reports into one
//!   timeline, and queries topology and health; [`failover`] is the vocabulary drills and
//!   watch share (episodes, hazards); [`watch`] prints that timeline live for
//!   every master of one or more Sentinel groups, sums up each failover episode, and reports
//!   hazards (a lost quorum, a lagging replica, a stale `+switch-master`, …).
//! - [`doctor`] audits a live deployment's HA configuration once: it gathers what the
//!   Sentinels and nodes say, and pure rules turn that into findings.
//! - [`workload`] writes session keys like a Sentinel-aware client and checks which
//!   acknowledged writes survived; [`fault`] injects faults (and [`fault::heal`] reverts
//!   those a killed drill left); [`drill`] runs scenarios of both and judges the figures
//!   against targets. [`journal`] records every fault in effect durably, [`shutdown`] turns
//!   SIGINT, SIGTERM and SIGHUP into a clean stop.
//! - [`rdb`] reads and verifies the RDB format (pure); [`aof`] reads multi-part AOFs (pure); [`backup`] takes verified backups from
//!   a replica and stores them locally or in object storage; [`restore`] puts one back into a
//!   node or proves it restores in a scratch server; [`dr`] times a whole restore against
//!   `restore_rto` and `backup_rpo` targets (`dr-drill`).
//! - [`docker`] is the one edge to the Docker engine (lab, container faults, backup and
//!   restore in containers all go through it).
//! - [`metrics`] holds the Prometheus registry every part feeds and serves it with
//!   `/healthz` and `/readyz`; [`telemetry`] sets up logs and the OTLP trace exporter.
//! - [`bench`](mod@bench) times warden against the tools it is compared with.
//! - Leaves: [`addr`], [`error`], [`util`] (clock, blocking work), [`client`] (connections),
//!   [`server`] (which family and version a node runs; pure).
//!
//! The command layer ([`cli`], [`run`]) imports the library; the library never imports it.
//!
//! Pure modules (no tokio, no redis) are marked as such in their first doc line.
//!
//! A module or item is `pub` only where the binary, a test in `tests/` or a fuzz target names it;
//! everything else is `pub(crate)`, and `unreachable_pub` keeps it so (ARCHITECTURE.md, "Public
//! surface").
#![warn(missing_docs)]
#![warn(unreachable_pub)]
// These docs are for contributors, read with `cargo doc --document-private-items` (CI builds
// them so): a link from a `pub` item to a `pub(crate)` one resolves there.
#![allow(rustdoc::private_intra_doc_links)]

pub mod addr;
pub mod aof;
pub mod backup;
pub(crate) mod bench;
pub mod cli;
pub mod client;
pub mod conn;
pub mod docker;
pub(crate) mod doctor;
pub(crate) mod dr;
pub mod drill;
pub mod error;
pub(crate) mod failover;
pub mod fault;
pub mod journal;
pub mod lab;
pub(crate) mod metrics;
pub mod rdb;
pub(crate) mod render;
pub mod restore;
pub mod sentinel;
pub(crate) mod server;
pub mod shutdown;
pub(crate) mod telemetry;
pub(crate) mod util;
pub(crate) mod watch;
pub mod workload;

mod commands;

pub use commands::{argument_error, run};
