//! `warden verify` on every RDB format in use. Redis 7.0 (RDB 10) files are written by the
//! installed server in `tests/rdb_corpus.rs`; no server here writes the others, so these
//! fixtures are built byte by byte from the formats' public sources, and say which:
//!
//! - Redis `src/rdb.h` (RDB 11 = 7.2, 12 = 7.4: types 24 `HASH_METADATA` — minExpire, then
//!   (ttl − minExpire + 1, field, value) — and 25 `HASH_LISTPACK_EX` — minExpire, then a
//!   listpack of (field, value, ttl) triples, ttl 0 = none, TTLs ascending);
//! - Valkey 9.1 `src/rdb.h` (`VALKEY%03d` magic, RDB 80, `RDB_TYPE_HASH_2 = 22` as
//!   (field, value, expire-ms i64 LE, −1 = none) triples per Valkey's HFE design doc and
//!   `rdbLoadObject`; opcode 243 `SLOT_IMPORT` = job name, range count, (start, end));
//! - Valkey 7.2 – 8.x write `REDIS0011` with a `valkey-ver` AUX field;
//! - Redis 8.6 / 8.8 (RDB 13 / 14) are recognised and named: a file with no type they added
//!   walks; type 26 stops, named.
//!
//! The verify results are snapshotted (`tests/snapshots/rdb_formats__*.snap`).

use warden::rdb::{Options, Summary, verify};

/// The verifier's clock: 2027-01-15.
const NOW: u64 = 1_800_000_000_000;
const PAST: u64 = 1_700_000_000_000;
const FUTURE: u64 = 1_900_000_000_000;

fn len(n: usize) -> Vec<u8> {
    if n < 64 {
        vec![n as u8]
    } else if n < 16384 {
        vec![0x40 | (n >> 8) as u8, n as u8]
    } else {
        let mut v = vec![0x80];
        v.extend_from_slice(&(n as u32).to_be_bytes());
        v
    }
}

fn string(s: &[u8]) -> Vec<u8> {
    let mut v = len(s.len());
    v.extend_from_slice(s);
    v
}

/// An RDB under construction.
struct Rdb(Vec<u8>);

impl Rdb {
    fn new(magic: &str, aux: &[(&str, &str)]) -> Rdb {
        let mut r = Rdb(magic.as_bytes().to_vec());
        for (k, v) in aux {
            r.0.push(0xfa);
            r.raw(&string(k.as_bytes())).raw(&string(v.as_bytes()));
        }
        r.0.extend_from_slice(&[0xfe, 0x00]); // SELECTDB 0
        r
    }

    fn raw(&mut self, b: &[u8]) -> &mut Rdb {
        self.0.extend_from_slice(b);
        self
    }

    /// A key of type `t` (with an absolute expiry in ms) whose value bytes are `value`.
    fn key(&mut self, t: u8, name: &str, expire: Option<u64>, value: &[u8]) -> &mut Rdb {
        if let Some(at) = expire {
            self.0.push(0xfc);
            self.0.extend_from_slice(&at.to_le_bytes());
        }
        self.0.push(t);
        self.raw(&string(name.as_bytes())).raw(value)
    }

    /// EOF and the CRC64 of everything before it.
    fn finish(&mut self) -> Vec<u8> {
        self.0.push(0xff);
        let crc = crc::Crc::<u64>::new(&crc::CRC_64_REDIS).checksum(&self.0);
        let mut out = self.0.clone();
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }
}

/// A listpack entry: a short string, or an integer (7-bit or 64-bit encoding).
enum Lp<'a> {
    S(&'a str),
    I(u64),
}

fn listpack(entries: &[Lp]) -> Vec<u8> {
    let mut body = Vec::new();
    for e in entries {
        let enc: Vec<u8> = match e {
            Lp::S(s) => [&[0x80 | s.len() as u8][..], s.as_bytes()].concat(),
            Lp::I(v) if *v < 128 => vec![*v as u8],
            Lp::I(v) => [&[0xf4][..], &v.to_le_bytes()].concat(),
        };
        body.extend_from_slice(&enc);
        body.push(enc.len() as u8); // backlen (entries here are < 128 bytes)
    }
    let total = 4 + 2 + body.len() + 1;
    let mut lp = (total as u32).to_le_bytes().to_vec();
    lp.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    lp.extend_from_slice(&body);
    lp.push(0xff);
    string(&lp)
}

fn strings(r: &mut Rdb) {
    r.key(0, "session:1", Some(FUTURE), &string(b"alive"));
    r.key(0, "session:2", Some(PAST), &string(b"expired"));
    r.key(0, "other", None, &string(b"x"));
    let hash = [len(1), string(b"f"), string(b"v")].concat();
    r.key(4, "hash", None, &hash);
}

fn redis_7_2() -> Vec<u8> {
    let mut r = Rdb::new("REDIS0011", &[("redis-ver", "7.2.4"), ("redis-bits", "64")]);
    strings(&mut r);
    r.key(20, "set", None, &listpack(&[Lp::S("a"), Lp::S("b")]));
    r.finish()
}

fn valkey_8() -> Vec<u8> {
    let mut r = Rdb::new(
        "REDIS0011",
        &[
            ("valkey-ver", "8.1.1"),
            ("redis-ver", "7.2.4"),
            ("redis-bits", "64"),
        ],
    );
    strings(&mut r);
    r.finish()
}

fn redis_7_4() -> Vec<u8> {
    let mut r = Rdb::new("REDIS0012", &[("redis-ver", "7.4.2")]);
    strings(&mut r);
    // HASH_METADATA: minExpire, then (ttl relative to minExpire + 1 | 0, field, value)
    let min = PAST;
    let mut v = min.to_le_bytes().to_vec();
    v.extend(len(2));
    v.extend(len(1)); // expires at PAST (1 + min − 1)
    v.extend(string(b"old"));
    v.extend(string(b"v"));
    v.extend(len(0)); // no TTL
    v.extend(string(b"kept"));
    v.extend(string(b"v"));
    r.key(24, "hfe:table", None, &v);
    // HASH_LISTPACK_EX: minExpire, then a listpack of (field, value, ttl) triples
    let mut v = FUTURE.to_le_bytes().to_vec();
    v.extend(listpack(&[
        Lp::S("soon"),
        Lp::S("v"),
        Lp::I(FUTURE),
        Lp::S("never"),
        Lp::S("v"),
        Lp::I(0),
    ]));
    r.key(25, "hfe:lp", None, &v);
    r.finish()
}

fn hash_2() -> Vec<u8> {
    let mut v = len(3);
    for (f, at) in [("a", -1i64), ("b", PAST as i64), ("c", FUTURE as i64)] {
        v.extend(string(f.as_bytes()));
        v.extend(string(b"v"));
        v.extend_from_slice(&at.to_le_bytes());
    }
    v
}

fn valkey_9() -> Vec<u8> {
    let mut r = Rdb::new(
        "VALKEY080",
        &[("valkey-ver", "9.0.0"), ("redis-bits", "64")],
    );
    // SLOT_IMPORT: a 40-byte job name, one range 0–100
    r.raw(&[0xf3])
        .raw(&string(&[b'j'; 40]))
        .raw(&len(1))
        .raw(&len(0))
        .raw(&len(100));
    strings(&mut r);
    r.key(22, "hfe:valkey", None, &hash_2());
    r.finish()
}

fn redis_8_6() -> Vec<u8> {
    let mut r = Rdb::new("REDIS0013", &[("redis-ver", "8.6.0")]);
    strings(&mut r);
    r.finish()
}

fn redis_8_8() -> Vec<u8> {
    let mut r = Rdb::new("REDIS0014", &[("redis-ver", "8.8.0")]);
    strings(&mut r);
    r.finish()
}

fn redis_8_6_with_type_26() -> Vec<u8> {
    let mut r = Rdb::new("REDIS0013", &[("redis-ver", "8.6.0")]);
    strings(&mut r);
    r.key(26, "new:type", None, &string(b"?"));
    r.finish()
}

/// Valkey's HASH_2 bytes under a Redis 7.4 magic: type 22 there is Redis's pre-GA
/// hash-with-metadata, a different layout, so the walk must fail.
fn hash_2_under_redis_magic() -> Vec<u8> {
    let mut r = Rdb::new("REDIS0012", &[("redis-ver", "7.4.0")]);
    r.key(22, "hfe:valkey", None, &hash_2());
    r.finish()
}

fn view(s: &Summary) -> serde_json::Value {
    serde_json::json!({
        "valid": s.valid,
        "problem": s.problem.as_ref().map(ToString::to_string),
        "format": s.format,
        "format_name": s.format_name,
        "rdb_version": s.rdb_version,
        "redis_version": s.redis_version,
        "keys": s.keys,
        "keys_with_expiry": s.keys_with_expiry,
        "keys_expired": s.keys_expired,
        "hash_fields_with_expiry": s.hash_fields_with_expiry,
        "hash_fields_expired": s.hash_fields_expired,
        "types": s.types,
        "checksum": s.checksum,
    })
}

#[test]
fn every_format_in_use_verifies_with_field_ttls_counted() {
    let opts = Options {
        pattern: "session:*".into(),
        now_ms: NOW,
    };
    let all: Vec<(&str, Vec<u8>)> = vec![
        ("redis_7_2_rdb11", redis_7_2()),
        ("valkey_8_rdb11", valkey_8()),
        ("redis_7_4_rdb12_hfe", redis_7_4()),
        ("valkey_9_rdb80_hash2", valkey_9()),
        ("redis_8_6_rdb13", redis_8_6()),
        ("redis_8_8_rdb14", redis_8_8()),
        ("redis_8_6_rdb13_type_26", redis_8_6_with_type_26()),
        ("valkey_hash2_under_redis_magic", hash_2_under_redis_magic()),
    ];
    let mut views = serde_json::Map::new();
    for (name, bytes) in &all {
        views.insert(name.to_string(), view(&verify(&bytes[..], &opts)));
    }
    let v = serde_json::Value::Object(views);
    // the facts the snapshot must keep
    assert_eq!(v["redis_7_4_rdb12_hfe"]["hash_fields_with_expiry"], 2);
    assert_eq!(v["redis_7_4_rdb12_hfe"]["hash_fields_expired"], 1);
    assert_eq!(v["valkey_9_rdb80_hash2"]["valid"], true);
    assert_eq!(v["valkey_9_rdb80_hash2"]["hash_fields_with_expiry"], 2);
    assert_eq!(v["valkey_9_rdb80_hash2"]["hash_fields_expired"], 1);
    assert_eq!(v["valkey_hash2_under_redis_magic"]["valid"], false);
    assert_eq!(v["redis_8_8_rdb14"]["valid"], true);
    assert!(
        v["redis_8_6_rdb13_type_26"]["problem"]
            .as_str()
            .is_some_and(|p| p.contains("Redis 8.6")),
        "{v:#}"
    );
    insta::assert_json_snapshot!("verify_results", v);
}

#[test]
fn the_verify_command_names_the_format_and_the_field_ttls() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("valkey9.rdb");
    std::fs::write(&p, valkey_9()).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_warden"))
        .arg("verify")
        .arg(&p)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("VALKEY080: Valkey RDB 80 (Valkey 9.0 – 9.1), written by valkey 9.0.0"),
        "{text}"
    );
    assert!(text.contains("hash fields w/ ttl"), "{text}");
}
