//! Backups taken from a replica, so the primary never forks. So far: the RDB verifier that
//! every stored snapshot must pass ([`rdb`]).

pub mod rdb;
