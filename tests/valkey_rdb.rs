//! Valkey's snapshots: an RDB written by the real `valkey-server` 8.1 (`REDIS0011`, AUX
//! `valkey-ver`) and one by 9.1 (`VALKEY080`, with hash-field TTLs) verify, their summaries
//! name Valkey, `valkey-check-rdb` agrees, and the 9.1 one is judged to load on Valkey 9.1 only.
//! Fails without the cached Valkeys (`scripts/setup.sh`) unless `WARDEN_TEST_SKIP_MISSING=1`.

#[path = "support/missing.rs"]
mod missing;
#[path = "rdb_support/mod.rs"]
mod rdb_support;
#[path = "support/valkey.rs"]
mod valkey;

use std::process::Command;

use rdb_support::Redis;
use warden::backup::report::verify_table;
use warden::rdb::compat::{self, Server, Verdict};
use warden::rdb::{Checksum, Options, verify};

#[test]
fn a_valkey_8_1_dump_verifies_and_names_valkey() {
    let Some(server) = valkey::server_or_skip("a_valkey_8_1_dump_verifies_and_names_valkey") else {
        return;
    };
    let mut v = Redis::start_bin(&server, &[]);
    // One of each kind of value Valkey 8.1 writes with its default encodings, and an expiry an
    // hour away (so "already expired" stays 0 however slow the machine).
    assert_eq!(v.cmd(&["DEBUG", "POPULATE", "1000", "key", "16"]), "OK");
    v.cmd(&["SET", "session:1", "v", "PX", "3600000"]);
    v.cmd(&["SET", "counter", "12345"]);
    v.cmd(&["RPUSH", "list", "a", "b", "1", "-5"]);
    v.cmd(&["SADD", "set:ints", "1", "2", "3"]);
    v.cmd(&["SADD", "set:strs", "apple", "banana"]);
    v.cmd(&["ZADD", "zset", "1", "a", "2.5", "b"]);
    v.cmd(&["HSET", "hash", "f1", "v1", "f2", "v2"]);
    v.cmd(&["XADD", "stream", "1-1", "field", "value"]);
    v.cmd(&["SELECT", "3"]);
    v.cmd(&["SET", "in-db-3", "x"]);
    assert_eq!(v.cmd(&["SAVE"]), "OK");
    let path = v.dump_path();
    let bytes = std::fs::read(&path).expect("dump.rdb");
    assert_eq!(
        &bytes[..9],
        b"REDIS0011",
        "Valkey 8.1 writes Redis's magic and version 11"
    );

    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let opts = Options {
        pattern: "key:*".into(),
        now_ms,
    };
    let s = verify(&bytes[..], &opts);
    assert!(s.valid, "{s:#?}");
    assert!(matches!(s.checksum, Checksum::Ok(_)), "{s:#?}");
    // The stable part of the summary (the checksum, ctime and used-mem change every run).
    let aux_keys: Vec<&str> = s.aux.iter().map(|(k, _)| k.as_str()).collect();
    let stable = serde_json::json!({
        "valid": s.valid,
        "rdb_version": s.rdb_version,
        "redis_version": s.redis_version,
        "valkey_version": s.valkey_version,
        "aux_keys": aux_keys,
        "dbs": s.dbs,
        "keys": s.keys,
        "keys_with_expiry": s.keys_with_expiry,
        "keys_expired": s.keys_expired,
        "keys_matching": s.keys_matching,
        "types": s.types,
        "trailing_bytes": s.trailing_bytes,
    });
    insta::assert_json_snapshot!("valkey_8_1_summary", stable);
    let table = verify_table("dump.rdb", "key:*", &s);
    assert!(
        table.contains("rdb version          11 (written by valkey 8.1."),
        "{table}"
    );

    // Valkey's own checker (the server binary under another name) agrees.
    let check = Command::new(valkey::dir().join("valkey-check-rdb"))
        .arg(&path)
        .output()
        .expect("run valkey-check-rdb");
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{out}");
    assert!(out.contains("RDB looks OK"), "{out}");
    assert!(out.contains(&format!("{} keys read", s.keys)), "{out}");
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64
}

#[test]
fn a_valkey_9_1_dump_with_hash_field_ttls_verifies_and_loads_only_on_valkey_9() {
    let test = "a_valkey_9_1_dump_with_hash_field_ttls_verifies_and_loads_only_on_valkey_9";
    let Some(server) = valkey::server9_or_skip(test) else {
        return;
    };
    let mut v = Redis::start_bin(&server, &[]);
    assert_eq!(v.cmd(&["DEBUG", "POPULATE", "1000", "key", "16"]), "OK");
    v.cmd(&["SET", "session:1", "v", "PX", "3600000"]);
    v.cmd(&["RPUSH", "list", "a", "b", "1", "-5"]);
    v.cmd(&["ZADD", "zset", "1", "a", "2.5", "b"]);
    v.cmd(&["XADD", "stream", "1-1", "field", "value"]);
    // Hash fields with their own TTL, both ways Valkey 9 sets them: HEXPIRE on an existing
    // field, HSETEX writing fields with one. A field without a TTL beside them.
    v.cmd(&["HSET", "hash:ttl", "f1", "v1", "f2", "v2", "keep", "v"]);
    v.cmd(&["HEXPIRE", "hash:ttl", "3600", "FIELDS", "2", "f1", "f2"]);
    v.cmd(&[
        "HSETEX",
        "hash:setex",
        "EX",
        "3600",
        "FIELDS",
        "1",
        "x",
        "y",
    ]);
    v.cmd(&["HSET", "hash:plain", "a", "1"]);
    assert_eq!(v.cmd(&["SAVE"]), "OK");
    let path = v.dump_path();
    let bytes = std::fs::read(&path).expect("dump.rdb");
    assert_eq!(&bytes[..9], b"VALKEY080", "Valkey 9.1 writes its own magic");

    let opts = Options {
        pattern: "key:*".into(),
        now_ms: now_ms(),
    };
    let s = verify(&bytes[..], &opts);
    assert!(s.valid, "{s:#?}");
    assert!(matches!(s.checksum, Checksum::Ok(_)), "{s:#?}");
    assert_eq!(s.hash_fields_with_expiry, 3, "{s:#?}");
    assert_eq!(s.hash_fields_expired, 0, "{s:#?}");
    let aux_keys: Vec<&str> = s.aux.iter().map(|(k, _)| k.as_str()).collect();
    let stable = serde_json::json!({
        "valid": s.valid,
        "rdb_version": s.rdb_version,
        "format": s.format,
        "format_name": s.format_name,
        "redis_version": s.redis_version,
        "valkey_version": s.valkey_version,
        "aux_keys": aux_keys,
        "dbs": s.dbs,
        "keys": s.keys,
        "keys_with_expiry": s.keys_with_expiry,
        "keys_matching": s.keys_matching,
        "hash_fields_with_expiry": s.hash_fields_with_expiry,
        "types": s.types,
        "trailing_bytes": s.trailing_bytes,
    });
    insta::assert_json_snapshot!("valkey_9_1_summary", stable);
    let table = verify_table("dump.rdb", "key:*", &s);
    assert!(
        table.contains(
            "format               VALKEY080: Valkey RDB 80 (Valkey 9.0 – 9.1), written by valkey 9.1."
        ),
        "{table}"
    );

    // Valkey's own checker agrees.
    let check = Command::new(valkey::dir9().join("valkey-check-rdb"))
        .arg(&path)
        .output()
        .expect("run valkey-check-rdb");
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{out}");
    assert!(out.contains("RDB looks OK"), "{out}");
    assert!(out.contains(&format!("{} keys read", s.keys)), "{out}");

    // Where it loads: on Valkey 9.1 only (and it really does: a second server starts on it).
    let on = |name: &str| compat::check(&s, Server::parse(name).expect(name));
    assert_eq!(on("valkey-9.1"), Verdict::Loads);
    assert_eq!(
        on("redis-7.0"),
        Verdict::DoesNotLoad(
            "Valkey RDB 80 (Valkey 9.0 – 9.1): Valkey's own magic VALKEY080, which no Redis loads \
             (\"Wrong signature\")"
                .into()
        )
    );
    assert!(
        matches!(on("valkey-8.1"), Verdict::DoesNotLoad(why) if why.contains("newer than Valkey 8.1"))
    );
    let copy = tempfile::tempdir().expect("temp dir");
    std::fs::copy(&path, copy.path().join("dump.rdb")).expect("copy");
    let mut again = Redis::start_bin(&server, &[("dir", &copy.path().display().to_string())]);
    assert_eq!(again.cmd(&["DBSIZE"]), s.keys.to_string());
    assert_eq!(
        again.cmd(&["HTTL", "hash:ttl", "FIELDS", "1", "keep"]),
        "-1"
    );
}
