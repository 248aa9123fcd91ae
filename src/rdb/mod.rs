//! RDB snapshot verification: one streaming walk over `impl Read` that validates the whole file
//! the way `redis-check-rdb` does (deep payload sanitization, trailing CRC64) and reports stats.
//!
//! Layout: `reader` (buffering, offsets, CRC, length/string encodings), `value` (one walker per
//! value type), `lzf`, `listpack`, `ziplist`, `intset` (embedded blob checks), `dedup` (bounded
//! duplicate-member detection), `stats` (pattern match, TTL summary).
//!
//! Invariants: no I/O beyond the reader it is given; time is an argument (`Options::now_ms`);
//! value payloads are skipped, never collected (only embedded blobs of one key, one key name and
//! one key's member fingerprints are held at a time); it never panics on any input.

pub mod compat;
mod dedup;
mod field_ttl;
pub(crate) mod format;
mod intset;
mod listpack;
mod lzf;
mod reader;
mod stats;
mod value;
mod walk;
mod ziplist;

use std::fmt;
use std::io::Read;

use reader::{Res, Src};
use serde::Serialize;
pub(crate) use stats::TtlStats;

/// At most this many AUX fields are kept in [`Summary::aux`] (the rest are still validated).
const MAX_AUX: usize = 256;

/// What to count besides validity.
#[derive(Debug, Clone)]
pub struct Options {
    /// Glob (`*`, `?`, `\` escape) counted into [`Summary::keys_matching`].
    pub pattern: String,
    /// Unix time in milliseconds against which "already expired" is judged.
    pub now_ms: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            pattern: "session:*".to_string(),
            now_ms: 0,
        }
    }
}

/// The first fatal problem found: where, and what was expected/found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Byte offset from the start of the file.
    pub offset: u64,
    /// Human-readable description.
    pub message: String,
}

impl Problem {
    pub(crate) fn new(offset: u64, message: impl Into<String>) -> Self {
        Problem {
            offset,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "offset {}: {}", self.offset, self.message)
    }
}

/// Outcome of the trailing CRC64 check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "value", rename_all = "snake_case")]
pub enum Checksum {
    /// Stored checksum matches the computed one (JSON: 16 hex digits, which `jq` keeps whole).
    Ok(#[serde(serialize_with = "hex64")] u64),
    /// Stored checksum is 0: the file was saved with `rdbchecksum no`.
    Disabled,
    /// Stored and computed checksums differ.
    Mismatch {
        /// Value in the file's last 8 bytes.
        #[serde(serialize_with = "hex64")]
        stored: u64,
        /// CRC64 of everything up to and including the EOF opcode.
        #[serde(serialize_with = "hex64")]
        computed: u64,
    },
    /// RDB version < 5 carries no checksum.
    Missing,
    /// The walk failed before reaching the checksum.
    NotReached,
}

/// A CRC64 as 16 hex digits: a JSON number above 2^53 is rounded by most readers.
fn hex64<S: serde::Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{v:016x}"))
}

/// Per-database key counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DbStats {
    /// Database number (SELECTDB).
    pub index: u64,
    /// Keys in this database.
    pub keys: u64,
    /// Keys with an expiry.
    pub keys_with_expiry: u64,
    /// Keys whose expiry is before `now_ms`.
    pub keys_expired: u64,
}

/// Result of [`verify`].
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// True when the whole file parsed and the checksum is OK, disabled or absent (version < 5).
    pub valid: bool,
    /// First fatal problem, if any.
    pub problem: Option<Problem>,
    /// Version from the `REDISnnnn` / `VALKEYnnn` header.
    pub rdb_version: Option<u32>,
    /// The magic as written (`REDIS0012`, `VALKEY080`): Redis and Valkey number types and
    /// opcodes differently.
    pub format: Option<String>,
    /// The format and the servers that write it (`Valkey RDB 80 (Valkey 9.0 – 9.1)`).
    pub format_name: Option<String>,
    /// AUX `redis-ver`.
    pub redis_version: Option<String>,
    /// AUX `valkey-ver` (Valkey writes it instead of `redis-ver`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valkey_version: Option<String>,
    /// AUX fields in file order (at most 256 kept).
    pub aux: Vec<(String, String)>,
    /// Trailing CRC64 outcome.
    pub checksum: Checksum,
    /// Per-database stats, in order of first appearance.
    pub dbs: Vec<DbStats>,
    /// Total keys.
    pub keys: u64,
    /// Keys with an expiry.
    pub keys_with_expiry: u64,
    /// Keys already expired at `now_ms`.
    pub keys_expired: u64,
    /// Keys matching `Options::pattern`.
    pub keys_matching: u64,
    /// Hash fields with their own TTL (Redis 7.4 hash field expiration, Valkey 9 `HASH_2`).
    pub hash_fields_with_expiry: u64,
    /// Of those, already expired at `now_ms`.
    pub hash_fields_expired: u64,
    /// Remaining TTL over keys with an expiry that are not yet expired.
    pub ttl_ms: Option<TtlStats>,
    /// Key count per value type/encoding name, in type-byte order.
    pub types: Vec<(String, u64)>,
    /// Module values (and module AUX blocks) walked through their opcodes without the module.
    pub modules_skipped: u64,
    /// Bytes consumed, including checksum and trailing bytes.
    pub bytes: u64,
    /// Bytes after the checksum (ignored by `redis-check-rdb`, and here, but reported).
    pub trailing_bytes: u64,
    /// Data after the RDB's end that could not even be read (in a compressed file: bytes
    /// after its last frame that are no frame), and why; ignored like trailing bytes.
    pub trailing_unreadable: Option<String>,
}

/// Walk and validate a whole RDB stream; never panics, never buffers the file.
pub fn verify(reader: impl Read, opts: &Options) -> Summary {
    let mut w = walk::Walker::new(Src::new(reader), opts);
    let result = w.run();
    w.finish(result)
}

/// Read and check the 9-byte header ([`format`](mod@format)); returns the format.
fn header<R: Read>(src: &mut Src<R>) -> Res<format::Format> {
    let h: [u8; 9] = src.array("the RDB header")?;
    format::parse(&h)
}

#[cfg(test)]
mod tests;
