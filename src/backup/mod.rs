//! Backups taken from a replica, so the primary never forks: the RDB verifier every stored
//! snapshot must pass ([`rdb`]), compression ([`compress`]), reports ([`report`]) and the
//! command dispatch ([`cmd`]).

pub mod cmd;
pub mod compress;
pub mod rdb;
pub mod report;
