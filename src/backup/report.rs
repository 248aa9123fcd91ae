//! Pure: the human-readable tables of the backup commands (`verify`, `backup`,
//! `backups list`) and the duration and size formats every backup and restore table uses.
//! JSON output is the serde form of the same values.

use std::fmt::Write;

use crate::backup::manifest::{Entry, Manifest};
use crate::rdb::{Checksum, Summary};

/// Formats a millisecond duration compactly: `850ms`, `42.0s`, `12.5m`, `3.5h`, `2.0d`.
pub(crate) fn ms(v: u64) -> String {
    let s = v as f64 / 1000.0;
    if v < 1000 {
        format!("{v}ms")
    } else if s < 60.0 {
        format!("{s:.1}s")
    } else if s < 3600.0 {
        format!("{:.1}m", s / 60.0)
    } else if s < 86_400.0 {
        format!("{:.1}h", s / 3600.0)
    } else {
        format!("{:.1}d", s / 86_400.0)
    }
}

/// Formats a byte count: `512 B`, `1.5 MiB`.
pub(crate) fn bytes(v: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if v < 1024 {
        return format!("{v} B");
    }
    let mut x = v as f64 / 1024.0;
    let mut unit = 0;
    while x >= 1024.0 && unit + 1 < UNITS.len() {
        x /= 1024.0;
        unit += 1;
    }
    format!("{x:.1} {}", UNITS[unit])
}

fn checksum(c: &Checksum) -> String {
    match c {
        Checksum::Ok(v) => format!("ok (crc64 {v:016x})"),
        Checksum::Disabled => "disabled (saved with rdbchecksum no)".into(),
        Checksum::Mismatch { stored, computed } => {
            format!("MISMATCH (stored {stored:016x}, computed {computed:016x})")
        }
        Checksum::Missing => "none (RDB version < 5)".into(),
        Checksum::NotReached => "not reached".into(),
    }
}

/// The `warden verify` table for `file`, with `pattern` the glob counted as matching.
pub fn verify_table(file: &str, pattern: &str, s: &Summary) -> String {
    let mut t = String::new();
    let mut row = |k: &str, v: String| {
        let _ = writeln!(t, "{k:<20} {v}");
    };
    row("file", file.to_string());
    row(
        "result",
        match &s.problem {
            None => "valid".into(),
            Some(p) => format!("INVALID at {p}"),
        },
    );
    let version = match (s.rdb_version, &s.valkey_version, &s.redis_version) {
        (Some(v), Some(k), _) => format!("{v} (written by valkey {k})"),
        (Some(v), None, Some(r)) => format!("{v} (written by redis {r})"),
        (Some(v), None, None) => v.to_string(),
        (None, ..) => "unknown".into(),
    };
    row("rdb version", version);
    if let (Some(magic), Some(name)) = (&s.format, &s.format_name) {
        let valkey = s.aux.iter().find(|(k, _)| k == "valkey-ver");
        let by = valkey
            .map(|(_, v)| format!(", written by valkey {v}"))
            .unwrap_or_default();
        row("format", format!("{magic}: {name}{by}"));
    }
    row("checksum", checksum(&s.checksum));
    row(
        "rdb size",
        format!("{} ({} bytes)", bytes(s.bytes), s.bytes),
    );
    // Raw or compressed, bytes after the RDB's end read the same: ignored, as Redis
    // ignores them, and said.
    match (&s.trailing_unreadable, s.trailing_bytes) {
        (None, 0) => {}
        (None, n) => row(
            "trailing bytes",
            format!("{n} B after the RDB's end (ignored, as Redis ignores them)"),
        ),
        (Some(why), n) => row(
            "trailing bytes",
            format!(
                "{n}+ B after the RDB's end, then unreadable ({why}) (ignored, as Redis ignores them)"
            ),
        ),
    }
    let per_db: Vec<String> = s
        .dbs
        .iter()
        .map(|d| format!("db{} {}", d.index, d.keys))
        .collect();
    let per_db = if per_db.is_empty() {
        String::new()
    } else {
        format!(" ({})", per_db.join(", "))
    };
    row("keys", format!("{}{per_db}", s.keys));
    row("with expiry", s.keys_with_expiry.to_string());
    row("already expired", s.keys_expired.to_string());
    row(&format!("matching {pattern}"), s.keys_matching.to_string());
    if s.hash_fields_with_expiry > 0 {
        row(
            "hash fields w/ ttl",
            format!(
                "{} ({} already expired)",
                s.hash_fields_with_expiry, s.hash_fields_expired
            ),
        );
    }
    if let Some(ttl) = s.ttl_ms {
        row(
            "ttl min/median/max",
            format!("{} / {} / {}", ms(ttl.min), ms(ttl.median), ms(ttl.max)),
        );
    }
    if !s.types.is_empty() {
        let types: Vec<String> = s.types.iter().map(|(n, c)| format!("{n} {c}")).collect();
        row("types", types.join(", "));
    }
    if s.modules_skipped > 0 {
        row("module values", format!("{} skipped", s.modules_skipped));
    }
    t
}

/// The `warden backup` table for the backup stored at `path`.
pub(crate) fn backup_table(path: &str, m: &Manifest) -> String {
    let mut t = String::new();
    let mut row = |k: &str, v: String| {
        let _ = writeln!(t, "{k:<20} {v}");
    };
    row("stored", path.to_string());
    row(
        "source",
        format!(
            "{} ({} of {}), method {}",
            m.source.addr, m.source.role, m.source.primary, m.source.method
        ),
    );
    row("repl offset", m.source.master_repl_offset.to_string());
    if let Some(f) = &m.source.freshness {
        row(
            "freshness",
            if f.caught_up {
                format!(
                    "caught up with the primary's offset {} (waited {})",
                    f.primary_repl_offset,
                    ms(f.waited_ms)
                )
            } else {
                format!(
                    "{} bytes behind the primary's offset {} after {}",
                    f.lag_bytes,
                    f.primary_repl_offset,
                    ms(f.waited_ms)
                )
            },
        );
    }
    row(
        "rdb",
        format!("{} raw, sha256 {}", bytes(m.raw.bytes), m.raw.sha256),
    );
    let ratio = m.raw.bytes as f64 / m.stored.bytes.max(1) as f64;
    row(
        "file",
        format!(
            "{} {} (ratio {ratio:.2}), sha256 {}",
            bytes(m.stored.bytes),
            format!("{:?}", m.compression).to_lowercase(),
            m.stored.sha256
        ),
    );
    let c = &m.counts;
    row(
        "keys",
        format!(
            "{} (with expiry {}, matching {} {})",
            c.keys, c.keys_with_expiry, c.pattern, c.keys_matching
        ),
    );
    row("took", ms(m.duration_ms));
    t
}

/// The `warden backups list` table, oldest first, then any incomplete files.
pub(crate) fn list_table(entries: &[Entry], incomplete: &[String]) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{:<20} {:<44} {:>10} {:>10} {:<22} method",
        "created (UTC)", "file", "stored", "keys", "source"
    );
    for e in entries {
        let m = &e.manifest;
        let _ = writeln!(
            t,
            "{:<20} {:<44} {:>10} {:>10} {:<22} {}",
            m.created.format("%Y-%m-%d %H:%M:%S"),
            m.file,
            bytes(m.stored.bytes),
            m.counts.keys,
            format!("{} {}", m.source.role, m.source.addr),
            m.source.method
        );
    }
    for f in incomplete {
        let _ = writeln!(
            t,
            "{:<20} {f} (no manifest: interrupted, not a backup)",
            "incomplete"
        );
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rdb::{Options, verify};

    #[test]
    fn units() {
        assert_eq!(ms(850), "850ms");
        assert_eq!(ms(42_000), "42.0s");
        assert_eq!(ms(750_000), "12.5m");
        assert_eq!(ms(3 * 3_600_000 + 1_800_000), "3.5h");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536 * 1024), "1.5 MiB");
    }

    #[test]
    fn an_invalid_file_says_where() {
        let s = verify(&b"REDIS0010\xfe"[..], &Options::default());
        let t = verify_table("x.rdb", "session:*", &s);
        assert!(t.contains("result               INVALID at offset"), "{t}");
        assert!(t.contains("checksum             not reached"), "{t}");
    }
}
