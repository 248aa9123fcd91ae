//! Valkey's snapshots: an RDB written by the real `valkey-server` 8.1 (`REDIS0011`, AUX
//! `valkey-ver`) verifies, its summary names Valkey, and `valkey-check-rdb` agrees. Fails
//! without the cached Valkey (`scripts/setup.sh`) unless `WARDEN_TEST_SKIP_MISSING=1`.

#[path = "support/missing.rs"]
mod missing;
#[path = "rdb_support/mod.rs"]
mod rdb_support;
#[path = "support/valkey.rs"]
mod valkey;

use std::process::Command;

use rdb_support::Redis;
use warden::backup::report::verify_table;
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
