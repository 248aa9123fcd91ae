//! Which RDB format a file is in, from its 9-byte magic, and what its type and opcode bytes
//! mean. Redis writes `REDIS` + 4 digits; Valkey 7.2 – 8.x write `REDIS0011` too (told apart
//! only by the `valkey-ver` AUX field), and Valkey 9 writes `VALKEY` + 3 digits (RDB 80).
//! The two families give the same numbers different meanings — 22 is Redis 7.4's
//! pre-GA hash-with-metadata but Valkey 9's `HASH_2`, 243 is Redis 8.6's `KEY_META` but
//! Valkey 9's `SLOT_IMPORT` — so every dispatch is on family and version, never on the byte
//! alone.
//!
//! Sources (the public `src/rdb.h` of each project): Redis `unstable` 2024-10 (RDB 12: types
//! 0–7, 9–25; opcodes 244–255), Valkey 9.1 (`VALKEY%03d`, RDB 80: `RDB_TYPE_HASH_2 = 22`,
//! `rdbIsObjectType` = 0–7, 9–22; opcodes 243 `SLOT_IMPORT`, 244 `SLOT_INFO`). Redis RDB 13
//! (8.6: type 26, opcode 243 `KEY_META`), 14 (8.8: types 27, 28) and 15 (8.10) are
//! recognised and named; they are walked with the RDB 12 rules and stop, named, at a byte
//! those versions added.

use super::Problem;

/// Who writes the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// `REDIS` + 4 digits (Redis; Valkey up to 8.x).
    Redis,
    /// `VALKEY` + 3 digits (Valkey 9+).
    Valkey,
}

/// A file's format: family and version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Format {
    /// Who writes it.
    pub family: Family,
    /// The version digits.
    pub version: u32,
}

/// Newest Redis RDB version recognised (walked with the RDB 12 rules).
pub(crate) const REDIS_KNOWN: u32 = 15;
/// Valkey RDB versions walked in full.
pub(crate) const VALKEY_WALKED: u32 = 80;
/// Newest Valkey RDB version recognised (walked with the RDB 80 rules).
pub(crate) const VALKEY_KNOWN: u32 = 81;

impl Format {
    /// The magic as written: `REDIS0012`, `VALKEY080`.
    pub(crate) fn magic(&self) -> String {
        match self.family {
            Family::Redis => format!("REDIS{:04}", self.version),
            Family::Valkey => format!("VALKEY{:03}", self.version),
        }
    }

    /// A reader's name for it: the format and the servers that write it.
    pub(crate) fn name(&self) -> String {
        let who = match (self.family, self.version) {
            (Family::Redis, 1..=5) => "Redis ≤ 3.0",
            (Family::Redis, 6..=8) => "Redis 3.2 – 4.0",
            (Family::Redis, 9) => "Redis 5.0 – 6.2",
            (Family::Redis, 10) => "Redis 7.0",
            (Family::Redis, 11) => "Redis 7.2, Valkey 7.2 – 8.x",
            (Family::Redis, 12) => "Redis 7.4 – 8.4",
            (Family::Redis, 13) => "Redis 8.6",
            (Family::Redis, 14) => "Redis 8.8",
            (Family::Redis, 15) => "Redis 8.10",
            (Family::Valkey, 80) => "Valkey 9.0 – 9.1",
            (Family::Valkey, 81) => "Valkey 9.2",
            _ => "unknown",
        };
        let family = match self.family {
            Family::Redis => "Redis",
            Family::Valkey => "Valkey",
        };
        format!("{family} RDB {} ({who})", self.version)
    }

    /// `rdbIsObjectType` of this format.
    pub(super) fn is_object_type(&self, t: u8) -> bool {
        match self.family {
            Family::Redis if self.version >= 14 => t <= 7 || (9..=28).contains(&t),
            Family::Redis if self.version >= 13 => t <= 7 || (9..=26).contains(&t),
            Family::Redis => t <= 7 || (9..=25).contains(&t),
            Family::Valkey => t <= 7 || (9..=22).contains(&t),
        }
    }

    /// Whether `t` is Valkey's `HASH_2` (field, value, expire-ms triples).
    pub(super) fn is_hash2(&self, t: u8) -> bool {
        self.family == Family::Valkey && t == 22
    }

    /// A value type this verifier recognises but cannot walk: named.
    pub(super) fn unwalked_type(&self, t: u8) -> Option<String> {
        (self.family == Family::Redis && t >= 26 && self.is_object_type(t)).then(|| {
            format!(
                "value type {t} (added in {}) is recognised but not walked by this verifier",
                self.name()
            )
        })
    }

    /// The name of value type `t`.
    pub(super) fn type_name(&self, t: u8) -> &'static str {
        if self.is_hash2(t) {
            return "hash-2-field-ttl";
        }
        match t {
            0 => "string",
            1 => "list-linked",
            2 => "set-hashtable",
            3 => "zset-v1",
            4 => "hash-hashtable",
            5 => "zset-skiplist",
            6 => "module-pre-ga",
            7 => "module",
            9 => "hash-zipmap",
            10 => "list-ziplist",
            11 => "set-intset",
            12 => "zset-ziplist",
            13 => "hash-ziplist",
            14 => "list-quicklist",
            15 => "stream-v1",
            16 => "hash-listpack",
            17 => "zset-listpack",
            18 => "list-quicklist2",
            19 => "stream-v2",
            20 => "set-listpack",
            21 => "stream-v3",
            22 => "hash-metadata-pre-ga",
            23 => "hash-listpack-ex-pre-ga",
            24 => "hash-metadata",
            25 => "hash-listpack-ex",
            _ => "unknown",
        }
    }
}

/// `atoi` on the version digits, as the servers parse them.
fn atoi(s: &[u8]) -> i64 {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let neg = i < s.len() && s[i] == b'-';
    if i < s.len() && (s[i] == b'-' || s[i] == b'+') {
        i += 1;
    }
    let mut v: i64 = 0;
    while i < s.len() && s[i].is_ascii_digit() && v < 1 << 40 {
        v = v * 10 + i64::from(s[i] - b'0');
        i += 1;
    }
    if neg { -v } else { v }
}

/// The format of the 9-byte header `h`, or why it is not one this verifier reads.
pub(super) fn parse(h: &[u8; 9]) -> Result<Format, Problem> {
    let (family, digits, at) = if &h[..5] == b"REDIS" {
        (Family::Redis, &h[5..], 5)
    } else if &h[..6] == b"VALKEY" {
        (Family::Valkey, &h[6..], 6)
    } else {
        return Err(Problem::new(
            0,
            format!(
                "expected magic \"REDIS\" or \"VALKEY\", found {:?}",
                String::from_utf8_lossy(&h[..6])
            ),
        ));
    };
    let v = atoi(digits);
    if v < 1 {
        return Err(Problem::new(
            at,
            format!("invalid RDB version {:?}", String::from_utf8_lossy(digits)),
        ));
    }
    let f = Format {
        family,
        version: u32::try_from(v).unwrap_or(u32::MAX),
    };
    let known = match family {
        Family::Redis => f.version <= REDIS_KNOWN,
        // Valkey reserves low numbers for Redis compatibility: its own start at 80
        Family::Valkey => (VALKEY_WALKED..=VALKEY_KNOWN).contains(&f.version),
    };
    if !known {
        return Err(Problem::new(
            at,
            format!(
                "{} RDB version {v} is newer than this verifier knows (Redis ≤ {REDIS_KNOWN}, Valkey {VALKEY_WALKED}–{VALKEY_KNOWN})",
                if family == Family::Redis {
                    "Redis"
                } else {
                    "Valkey"
                }
            ),
        ));
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> [u8; 9] {
        s.as_bytes().try_into().expect("9 bytes")
    }

    #[test]
    fn magics_are_told_apart_and_named() {
        for (magic, name) in [
            ("REDIS0010", "Redis RDB 10 (Redis 7.0)"),
            ("REDIS0011", "Redis RDB 11 (Redis 7.2, Valkey 7.2 – 8.x)"),
            ("REDIS0012", "Redis RDB 12 (Redis 7.4 – 8.4)"),
            ("REDIS0013", "Redis RDB 13 (Redis 8.6)"),
            ("REDIS0014", "Redis RDB 14 (Redis 8.8)"),
            ("VALKEY080", "Valkey RDB 80 (Valkey 9.0 – 9.1)"),
        ] {
            let f = parse(&h(magic)).expect(magic);
            assert_eq!(f.name(), name);
            assert_eq!(f.magic(), magic);
        }
        assert!(
            parse(&h("REDIS0016"))
                .unwrap_err()
                .message
                .contains("newer")
        );
        assert!(
            parse(&h("VALKEY011"))
                .unwrap_err()
                .message
                .contains("Valkey RDB version 11")
        );
        assert!(
            parse(&h("KEYDB0011"))
                .unwrap_err()
                .message
                .contains("\"REDIS\" or \"VALKEY\"")
        );
        assert!(
            parse(&h("REDIS00x1"))
                .unwrap_err()
                .message
                .contains("invalid RDB version")
        );
    }

    #[test]
    fn type_22_means_different_things_in_the_two_families() {
        let redis = parse(&h("REDIS0012")).expect("redis");
        let valkey = parse(&h("VALKEY080")).expect("valkey");
        assert_eq!(redis.type_name(22), "hash-metadata-pre-ga");
        assert_eq!(valkey.type_name(22), "hash-2-field-ttl");
        assert!(redis.is_object_type(25) && !valkey.is_object_type(25));
        let r13 = parse(&h("REDIS0013")).expect("13");
        assert!(r13.is_object_type(26) && !redis.is_object_type(26));
        assert!(r13.unwalked_type(26).expect("named").contains("Redis 8.6"));
    }
}
