//! Backups taken from a replica, so the primary never forks, and the store they live in.
//!
//! [`take`] runs `warden backup`: [`replica`] picks the source, [`sync`] or [`bgsave`] gets
//! the RDB (out of a container through [`container`] with `--from-container`), [`store`]
//! writes it through [`tee`] (hash), [`compress`] and the [`crate::rdb`] verifier to a
//! temporary name and renames it beside its [`manifest`]; [`remote`] copies it to object
//! storage; [`retention`] decides what `--keep-last`/`--keep-days` delete. [`fetch`] finds,
//! downloads and unpacks a stored backup for [`crate::restore`]. [`report`] formats the
//! tables; [`aof`] is the AOF layout a restore writes beside the RDB. [`audit`] re-checks
//! every stored backup (`backups verify --all`, `latest-good`), with an object's ETag
//! recomputed by [`etag`]. [`freshness`] waits for the
//! replica to reach the primary's offset before the snapshot. [`aof_files`] opens, inspects,
//! trims and copies (`backup --aof`) multi-part AOF directories.

pub(crate) mod aof;
pub(crate) mod aof_files;
pub(crate) mod audit;
pub(crate) mod bgsave;
pub mod compress;
pub(crate) mod container;
pub(crate) mod etag;
pub(crate) mod fetch;
pub(crate) mod freshness;
pub mod manifest;
pub(crate) mod newest;
pub(crate) mod remote;
pub(crate) mod replica;
pub mod report;
pub(crate) mod retention;
pub mod store;
pub mod sync;
pub(crate) mod take;
pub mod tee;
