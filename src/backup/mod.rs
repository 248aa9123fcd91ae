//! Backups taken from a replica, so the primary never forks.
//!
//! [`take`] runs `warden backup`: [`replica`] picks the source, [`sync`] or [`bgsave`] gets
//! the RDB, [`store`] writes it through [`tee`] (hash), [`compress`] and the [`rdb`] verifier
//! to a temporary name and renames it beside its [`manifest`]; [`remote`] copies it to
//! object storage. [`report`] formats the
//! tables; [`cmd`] dispatches the commands.
//!
//! [`bench`] is `warden bench backup`. [`restore`] writes a backup into a stopped node's data dir, [`restore_docker`] into a
//! container through the Docker API; [`restore_test`] proves a stored backup restores in a [`scratch`] server and judges it
//! with [`checks`]; [`retention`] decides what `--keep-last`/`--keep-days` delete.

pub mod bench;
pub mod bgsave;
pub mod checks;
pub mod cmd;
pub mod compress;
pub mod container;
pub mod manifest;
pub mod rdb;
pub mod remote;
pub mod replica;
pub mod report;
pub mod restore;
pub mod restore_docker;
pub mod restore_test;
pub mod retention;
pub mod scratch;
pub mod scratch_docker;
pub mod store;
pub mod sync;
pub mod take;
pub mod tee;
