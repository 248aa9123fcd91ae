//! Corpus tests against real `redis-server` dumps: agreement with `redis-check-rdb` on valid and
//! broken copies, and a bounded seeded fuzz that must never panic.

#[path = "rdb_support/mod.rs"]
mod support;

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support::Redis;
use warden::rdb::{Checksum, Options, verify};

fn opts() -> Options {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    Options {
        pattern: "session:*".into(),
        now_ms,
    }
}

/// Deterministic pseudo-random bytes.
fn noise(rng: &mut StdRng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.random()).collect()
}

/// Fill a server with every kind of value the running Redis can produce.
fn fill(r: &mut Redis, rng: &mut StdRng) {
    r.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    // strings: small, int, big random, big compressible
    r.cmd(&["SET", "str:small", "hello"]);
    r.cmd(&["SET", "str:int8", "12"]);
    r.cmd(&["SET", "str:int16", "-3000"]);
    r.cmd(&["SET", "str:int32", "2000000000"]);
    r.cmd(&["SET", "str:int64", "9000000000000"]);
    let big = noise(rng, 20_000);
    r.cmd_bytes(&[b"SET", b"str:big", &big]);
    r.cmd(&["SET", "str:lzf", &"abcabcabc-".repeat(500)]);
    r.cmd(&["SET", &format!("str:longkey:{}", "k".repeat(300)), "v"]);
    // lists
    r.cmd(&["RPUSH", "list:small", "a", "b", "1", "-5", "70000"]);
    let mut pipe = Vec::new();
    for i in 0..3000 {
        Redis::encode(
            &[
                b"RPUSH",
                b"list:big",
                format!("element-{i}-{}", "x".repeat(i % 120)).as_bytes(),
            ],
            &mut pipe,
        );
    }
    r.pipeline(&pipe, 3000);
    r.cmd(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100"]);
    r.cmd(&[
        "RPUSH",
        "list:plain",
        "short",
        &"P".repeat(500),
        "short2",
        &"Q".repeat(300),
    ]);
    r.cmd(&["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1073741824"]);
    // sets
    r.cmd(&[
        "SADD",
        "set:ints",
        "1",
        "2",
        "3",
        "-100",
        "100000",
        "5000000000",
    ]);
    r.cmd(&["SADD", "set:strs", "apple", "banana", "cherry"]);
    let mut pipe = Vec::new();
    for i in 0..1000 {
        Redis::encode(
            &[b"SADD", b"set:big", format!("member:{i}").as_bytes()],
            &mut pipe,
        );
        Redis::encode(
            &[b"SADD", b"set:bigints", i.to_string().as_bytes()],
            &mut pipe,
        );
    }
    r.pipeline(&pipe, 2000);
    // zsets
    r.cmd(&[
        "ZADD",
        "zset:small",
        "1",
        "a",
        "2.5",
        "b",
        "-inf",
        "c",
        "+inf",
        "d",
    ]);
    let mut pipe = Vec::new();
    for i in 0..500 {
        Redis::encode(
            &[
                b"ZADD",
                b"zset:big",
                format!("{}.25", i * 3).as_bytes(),
                format!("m{i}").as_bytes(),
            ],
            &mut pipe,
        );
    }
    r.pipeline(&pipe, 500);
    // hashes
    r.cmd(&[
        "HSET",
        "hash:small",
        "f1",
        "v1",
        "f2",
        "2",
        "f3",
        &"z".repeat(40),
    ]);
    let mut pipe = Vec::new();
    for i in 0..600 {
        Redis::encode(
            &[
                b"HSET",
                b"hash:big",
                format!("field{i}").as_bytes(),
                format!("value{i}").as_bytes(),
            ],
            &mut pipe,
        );
    }
    r.pipeline(&pipe, 600);
    r.cmd(&["HSET", "hash:bigval", "f", &"V".repeat(200)]);
    // streams with groups, consumers and pending entries
    for i in 0..120 {
        r.cmd(&[
            "XADD",
            "stream:1",
            "*",
            "temp",
            &i.to_string(),
            "loc",
            "lab",
        ]);
    }
    r.cmd(&["XADD", "stream:1", "*", "other", "fields"]);
    let id = r.cmd(&["XADD", "stream:1", "*", "x", "1"]);
    r.cmd(&["XDEL", "stream:1", &id]);
    r.cmd(&["XGROUP", "CREATE", "stream:1", "g1", "0"]);
    r.cmd(&["XGROUP", "CREATE", "stream:1", "g2", "$"]);
    r.cmd(&[
        "XREADGROUP",
        "GROUP",
        "g1",
        "alice",
        "COUNT",
        "5",
        "STREAMS",
        "stream:1",
        ">",
    ]);
    r.cmd(&[
        "XREADGROUP",
        "GROUP",
        "g1",
        "bob",
        "COUNT",
        "3",
        "STREAMS",
        "stream:1",
        ">",
    ]);
    r.cmd(&["XGROUP", "CREATECONSUMER", "stream:1", "g2", "carol"]);
    r.cmd(&["XADD", "stream:empty", "MAXLEN", "0", "*", "a", "b"]);
    // expiries: live sessions, some already expired (active expiry off)
    let mut pipe = Vec::new();
    for i in 0..200 {
        let v = noise(rng, 512);
        Redis::encode(
            &[
                b"SET",
                format!("session:{i}").as_bytes(),
                &v,
                b"EX",
                b"1800",
            ],
            &mut pipe,
        );
    }
    r.pipeline(&pipe, 200);
    for i in 0..20 {
        r.cmd(&["SET", &format!("session:gone:{i}"), "x", "PX", "1"]);
    }
    r.cmd(&["EXPIRE", "hash:small", "100000"]);
    // other databases
    r.cmd(&["SELECT", "3"]);
    r.cmd(&["SET", "session:db3", "v", "EX", "60"]);
    r.cmd(&["RPUSH", "db3:list", "x"]);
    r.cmd(&["SELECT", "15"]);
    r.cmd(&["SET", "db15", "1"]);
    r.cmd(&["SELECT", "0"]);
    std::thread::sleep(Duration::from_millis(20));
}

/// (name, bytes) of every valid dump in the corpus, built once per test binary.
fn valid_corpus() -> &'static Vec<(String, Vec<u8>)> {
    static C: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    C.get_or_init(|| {
        let configs: &[(&str, &[(&str, &str)])] = &[
            ("default", &[]),
            (
                "plain-encodings",
                &[
                    ("hash-max-listpack-entries", "0"),
                    ("set-max-intset-entries", "0"),
                    ("zset-max-listpack-entries", "0"),
                    ("list-max-listpack-size", "1"),
                ],
            ),
            (
                "small-nodes",
                &[
                    ("list-max-listpack-size", "4"),
                    ("set-max-intset-entries", "2000"),
                    ("hash-max-listpack-value", "1000"),
                ],
            ),
            ("no-compression", &[("rdbcompression", "no")]),
            ("no-checksum", &[("rdbchecksum", "no")]),
        ];
        let mut out = Vec::new();
        for (i, (name, cfg)) in configs.iter().enumerate() {
            let mut r = Redis::start(cfg);
            let mut rng = StdRng::seed_from_u64(i as u64);
            fill(&mut r, &mut rng);
            r.cmd(&["SAVE"]);
            out.push((name.to_string(), std::fs::read(r.dump_path()).unwrap()));
        }
        let mut r = Redis::start(&[]);
        r.cmd(&["SAVE"]);
        out.push(("empty".to_string(), std::fs::read(r.dump_path()).unwrap()));
        out
    })
}

/// Valid files plus broken copies: truncations, bit flips, bad magic, newer version, zeroed checksum.
fn full_corpus() -> Vec<(String, Vec<u8>)> {
    let mut all = Vec::new();
    let mut rng = StdRng::seed_from_u64(42);
    for (name, bytes) in valid_corpus() {
        all.push((name.clone(), bytes.clone()));
        let n = bytes.len();
        let mut cuts: Vec<usize> = (1..50).map(|k| n * k / 50).collect();
        cuts.extend((1..=10).map(|k| n.saturating_sub(k)));
        cuts.extend([0, 5, 9, 10]);
        cuts.sort_unstable();
        cuts.dedup();
        for c in cuts {
            all.push((format!("{name}-trunc-{c}"), bytes[..c].to_vec()));
        }
        for k in 0..60 {
            let off = if k < 50 {
                n * k / 50 + rng.random_range(0..(n / 50).max(1))
            } else {
                n - 1 - rng.random_range(0..30.min(n))
            };
            let off = off.min(n - 1);
            let mut b = bytes.clone();
            b[off] ^= 1 << rng.random_range(0..8);
            all.push((format!("{name}-flip-{off}"), b));
        }
        let mut b = bytes.clone();
        b[..5].copy_from_slice(b"RADIS");
        all.push((format!("{name}-magic"), b));
        let mut b = bytes.clone();
        b[5..9].copy_from_slice(b"0099");
        all.push((format!("{name}-v99"), b));
        let mut b = bytes.clone();
        b[n - 8..].fill(0);
        all.push((format!("{name}-crc-zeroed"), b));
        let mut b = bytes.clone();
        b.extend_from_slice(b"trailing garbage");
        all.push((format!("{name}-trailing"), b));
    }
    all
}

#[test]
fn valid_dumps_verify_with_stats() {
    for (name, bytes) in valid_corpus() {
        let s = verify(&bytes[..], &opts());
        assert!(s.valid, "{name}: {:?}", s.problem);
        assert_eq!(s.rdb_version, Some(10), "{name}");
        assert!(
            s.redis_version
                .as_deref()
                .is_some_and(|v| v.starts_with("7.")),
            "{name}"
        );
        assert_eq!(s.bytes, bytes.len() as u64);
        if name == "empty" {
            assert_eq!(s.keys, 0);
            continue;
        }
        match (name.as_str(), s.checksum) {
            ("no-checksum", Checksum::Disabled) => {}
            (_, Checksum::Ok(_)) => {}
            (n, c) => panic!("{n}: checksum {c:?}"),
        }
        assert_eq!(
            s.dbs.iter().map(|d| d.index).collect::<Vec<_>>(),
            vec![0, 3, 15],
            "{name}"
        );
        // 200 live sessions + 20 expired + 1 in db 3
        assert_eq!(s.keys_matching, 221, "{name}");
        assert_eq!(s.keys_expired, 20, "{name}");
        assert_eq!(s.keys_with_expiry, 200 + 20 + 1 + 1, "{name}");
        let ttl = s.ttl_ms.expect("ttl stats");
        assert_eq!(ttl.count, 202);
        assert!(
            ttl.min <= 60_000
                && ttl.max <= 100_000_000
                && ttl.median > 1_000_000
                // the median comes from a 3-significant-digit histogram: allow 0.1 %
                && ttl.median <= 1_800_000 + 1_800,
            "{ttl:?}"
        );
        assert!(
            s.types.iter().any(|(t, _)| t.starts_with("stream")),
            "{name}: {:?}",
            s.types
        );
    }
    let kinds = |n: &str| {
        verify(
            &valid_corpus().iter().find(|c| c.0 == n).unwrap().1[..],
            &opts(),
        )
        .types
    };
    let plain = kinds("plain-encodings");
    assert!(
        plain.iter().any(|(t, _)| t == "hash-hashtable"),
        "{plain:?}"
    );
    let def = kinds("default");
    for t in [
        "set-intset",
        "zset-listpack",
        "zset-skiplist",
        "hash-listpack",
        "list-quicklist2",
    ] {
        assert!(def.iter().any(|(n, _)| n == t), "missing {t} in {def:?}");
    }
}

#[test]
fn agreement_with_redis_check_rdb() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = full_corpus();
    let mut disagreements = Vec::new();
    let (mut ok, mut bad) = (0, 0);
    for (i, (name, bytes)) in corpus.iter().enumerate() {
        let path = dir.path().join(format!("{i}.rdb"));
        std::fs::write(&path, bytes).unwrap();
        let theirs = support::check_rdb_ok(Path::new(&path));
        let ours = verify(&bytes[..], &opts());
        if theirs {
            ok += 1
        } else {
            bad += 1
        }
        if ours.valid != theirs {
            disagreements.push(format!(
                "{name}: redis-check-rdb ok={theirs}, verify ok={} {:?}",
                ours.valid,
                ours.problem.map(|p| p.to_string())
            ));
        }
    }
    println!(
        "corpus: {} files ({ok} accepted, {bad} rejected by redis-check-rdb)",
        corpus.len()
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreements:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

#[test]
fn broken_copies_report_where_and_what() {
    let (_, bytes) = &valid_corpus()[0];
    let s = verify(&bytes[..bytes.len() / 2], &opts());
    let p = s.problem.expect("truncation detected");
    assert!(p.message.contains("unexpected end of file"), "{p}");
    assert!(p.offset <= bytes.len() as u64 / 2);
    let mut v = bytes.clone();
    v[5..9].copy_from_slice(b"0099");
    assert_eq!(
        verify(&v[..], &opts()).problem.unwrap().message,
        "Redis RDB version 99 is newer than this verifier knows (Redis ≤ 15, Valkey 80–81)"
    );
    let mut v = bytes.clone();
    let n = v.len();
    v[n - 1] ^= 0x80;
    let s = verify(&v[..], &opts());
    assert!(matches!(s.checksum, Checksum::Mismatch { .. }) && !s.valid);
}

#[test]
fn fuzz_mutations_never_panic() {
    let mut rng = StdRng::seed_from_u64(7);
    let corpus = valid_corpus();
    for _ in 0..3000 {
        let (_, base) = &corpus[rng.random_range(0..corpus.len())];
        let mut b = base.clone();
        for _ in 0..rng.random_range(1..4) {
            let n = b.len().max(1);
            let at = rng.random_range(0..n).min(b.len().saturating_sub(1));
            match rng.random_range(0..6) {
                0 if !b.is_empty() => b[at] ^= 1 << rng.random_range(0..8),
                1 if !b.is_empty() => b[at] = rng.random(),
                2 => b.insert(at.min(b.len()), rng.random()),
                3 if !b.is_empty() => {
                    b.remove(at);
                }
                4 => b.truncate(at),
                _ if b.len() > 4 => {
                    // overwrite with an extreme length encoding
                    let pat: &[u8] = [
                        &[0x81u8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff][..],
                        &[0x80, 0xff, 0xff, 0xff, 0xff],
                        &[
                            0xc3, 0x80, 0xff, 0xff, 0xff, 0xff, 0x80, 0xff, 0xff, 0xff, 0xff,
                        ],
                    ][rng.random_range(0..3)];
                    for (k, &x) in pat.iter().enumerate() {
                        if at + k < b.len() {
                            b[at + k] = x;
                        }
                    }
                }
                _ => {}
            }
        }
        let _ = verify(&b[..], &opts());
    }
}
