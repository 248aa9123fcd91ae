//! Pure: what a stored backup is called and what its manifest records.
//!
//! A backup is the pair `redis-<master>-YYYYmmdd-HHMMSS.rdb.gz` (or `.rdb.zst`, `.rdb`) and
//! `redis-<master>-YYYYmmdd-HHMMSS.manifest.json`. The manifest is written last: a data file
//! without its manifest is an interrupted backup, never a complete one.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::addr::Addr;
use crate::backup::compress::Compression;
use crate::backup::tee::Digested;
use crate::rdb::Summary;

/// Suffix of a manifest file.
pub(crate) const MANIFEST_SUFFIX: &str = ".manifest.json";

/// `redis-<master>-YYYYmmdd-HHMMSS`, with characters unsafe in a file name replaced by `_`;
/// `n > 1` adds `-n` (a second backup within the same second).
pub(crate) fn base_name(master: &str, created: DateTime<Utc>, n: u32) -> String {
    let safe: String = master
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stamp = created.format("%Y%m%d-%H%M%S");
    if n > 1 {
        format!("redis-{safe}-{stamp}-{n}")
    } else {
        format!("redis-{safe}-{stamp}")
    }
}

/// Where the RDB came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The node the RDB was taken from.
    pub addr: Addr,
    /// `replica`, or `primary` when `--allow-primary` had to be used.
    pub role: String,
    /// The primary at the time (per the Sentinels).
    pub primary: Addr,
    /// `stream` (SYNC) or `bgsave`.
    pub method: String,
    /// The node's replication offset just before the snapshot (`slave_repl_offset` on a
    /// replica): how far into the primary's write stream the backup reaches, at least.
    pub master_repl_offset: i64,
    /// The catch-up wait before the snapshot (absent for a backup from the primary, and in
    /// manifests written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freshness: Option<Freshness>,
}

/// What the catch-up wait found, recorded in the manifest's `source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freshness {
    /// The primary's `master_repl_offset` when the backup started.
    pub primary_repl_offset: i64,
    /// The replica's `slave_repl_offset` when the snapshot was asked for.
    pub replica_repl_offset: i64,
    /// Bytes of the primary's stream the replica had not yet applied then (0 when caught up).
    pub lag_bytes: u64,
    /// Whether the replica had reached the primary's offset.
    pub caught_up: bool,
    /// Milliseconds spent waiting.
    pub waited_ms: u64,
}

/// Bytes `replica` is behind `primary` (never negative: a replica can be ahead of an offset
/// read earlier).
pub(crate) fn lag(primary: i64, replica: i64) -> u64 {
    u64::try_from(primary.saturating_sub(replica)).unwrap_or(0)
}

/// Key counts of the RDB, from the verifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// RDB format version.
    pub rdb_version: Option<u32>,
    /// Redis version that wrote it (AUX `redis-ver`).
    pub redis_version: Option<String>,
    /// Valkey version that wrote it (AUX `valkey-ver`); absent for Redis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valkey_version: Option<String>,
    /// All keys.
    pub keys: u64,
    /// Keys with an expiry.
    pub keys_with_expiry: u64,
    /// Keys already expired when the backup was verified.
    pub keys_expired: u64,
    /// The glob counted into `keys_matching`.
    pub pattern: String,
    /// Keys matching `pattern`.
    pub keys_matching: u64,
}

impl Counts {
    /// The counts of a verifier summary.
    pub fn from_summary(s: &Summary, pattern: &str) -> Counts {
        Counts {
            rdb_version: s.rdb_version,
            redis_version: s.redis_version.clone(),
            valkey_version: s.valkey_version.clone(),
            keys: s.keys,
            keys_with_expiry: s.keys_with_expiry,
            keys_expired: s.keys_expired,
            pattern: pattern.to_string(),
            keys_matching: s.keys_matching,
        }
    }
}

/// The manifest beside each stored backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The stored file's name (in the same directory or prefix).
    pub file: String,
    /// The Sentinel master name.
    pub master: String,
    /// When the snapshot was taken, RFC 3339 UTC.
    pub created: DateTime<Utc>,
    /// How the stored file is compressed.
    pub compression: Compression,
    /// The stored (compressed) bytes.
    pub stored: Digested,
    /// The raw RDB bytes.
    pub raw: Digested,
    /// Key counts from the verifier.
    pub counts: Counts,
    /// Where it came from.
    pub source: Source,
    /// Milliseconds from the start of the transfer to the verified, renamed file.
    pub duration_ms: u64,
    /// The warden version that wrote it.
    pub warden_version: String,
}

impl Manifest {
    /// The manifest's own file name: the stored file's base name + `.manifest.json`.
    pub fn name(&self) -> String {
        manifest_name(&self.file)
    }

    /// Parses a manifest, naming what is wrong.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// The manifest name of a stored file: `x.rdb.gz` → `x.manifest.json`.
pub(crate) fn manifest_name(file: &str) -> String {
    let base = [".rdb.gz", ".rdb.zst", ".rdb"]
        .iter()
        .find_map(|s| file.strip_suffix(s))
        .unwrap_or(file);
    format!("{base}{MANIFEST_SUFFIX}")
}

/// A stored backup: its manifest and where it lives.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The manifest.
    pub manifest: Manifest,
    /// The data file.
    pub path: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn lag_is_never_negative() {
        assert_eq!(lag(100, 40), 60);
        assert_eq!(lag(100, 100), 0);
        assert_eq!(lag(100, 140), 0);
    }

    #[test]
    fn names() {
        let t = Utc.with_ymd_and_hms(2026, 11, 25, 1, 30, 5).unwrap();
        assert_eq!(
            base_name("mymaster", t, 1),
            "redis-mymaster-20261125-013005"
        );
        assert_eq!(base_name("a/b c", t, 2), "redis-a_b_c-20261125-013005-2");
        assert_eq!(
            manifest_name("redis-m-20261125-013005.rdb.gz"),
            "redis-m-20261125-013005.manifest.json"
        );
        assert_eq!(manifest_name("x.rdb.zst"), "x.manifest.json");
        assert_eq!(manifest_name("x.rdb"), "x.manifest.json");
    }

    #[test]
    fn manifest_round_trips_and_rejects_unknown_fields() {
        let m = Manifest {
            file: "redis-m-20261125-013005.rdb.gz".into(),
            master: "m".into(),
            created: Utc.with_ymd_and_hms(2026, 11, 25, 1, 30, 5).unwrap(),
            compression: Compression::Gzip,
            stored: Digested {
                bytes: 10,
                sha256: "aa".into(),
            },
            raw: Digested {
                bytes: 20,
                sha256: "bb".into(),
            },
            counts: Counts {
                rdb_version: Some(10),
                redis_version: Some("7.0.15".into()),
                valkey_version: None,
                keys: 3,
                keys_with_expiry: 2,
                keys_expired: 0,
                pattern: "session:*".into(),
                keys_matching: 2,
            },
            source: Source {
                addr: Addr::local(7101),
                role: "replica".into(),
                primary: Addr::local(7100),
                method: "stream".into(),
                master_repl_offset: 42,
                freshness: Some(Freshness {
                    primary_repl_offset: 50,
                    replica_repl_offset: 42,
                    lag_bytes: 8,
                    caught_up: false,
                    waited_ms: 5000,
                }),
            },
            duration_ms: 5,
            warden_version: "0.1.0".into(),
        };
        assert_eq!(Manifest::parse(&m.to_json()), Ok(m.clone()));
        assert_eq!(m.name(), "redis-m-20261125-013005.manifest.json");
        let bad = m.to_json().replacen("\"master\"", "\"mastr\"", 1);
        assert!(Manifest::parse(&bad).unwrap_err().contains("mastr"));
    }
}
