use super::*;

/// The verifier's value types and their key counts.
type Types = [(String, u64)];

fn fmt(magic: &str) -> Format {
    let h: [u8; 9] = magic.as_bytes().try_into().expect("9 bytes");
    format::parse(&h).expect(magic)
}

fn server(name: &str) -> Server {
    Server::parse(name).expect(name)
}

/// Every file format in use against every named server, with the reason text.
#[test]
fn every_format_on_every_named_server() {
    let strings = vec![("string".to_string(), 10)];
    let hash_ttl = vec![
        ("string".to_string(), 10),
        ("hash-listpack-ex".to_string(), 2),
    ];
    let hash2 = vec![("hash-2-field-ttl".to_string(), 3)];
    let files: [(&str, &str, &Types); 7] = [
        ("REDIS0010", "strings", &strings),
        ("REDIS0011", "strings", &strings),
        ("REDIS0012", "strings", &strings),
        ("REDIS0012", "hash ttl", &hash_ttl),
        ("REDIS0013", "strings", &strings),
        ("VALKEY080", "hash-2", &hash2),
        ("VALKEY081", "strings", &strings),
    ];
    let mut got = String::new();
    for (magic, what, types) in files {
        for name in NAMED {
            let v = decide(fmt(magic), types, server(name));
            got.push_str(&format!("{magic} {what:<8} {name:<10} {}\n", v.line()));
        }
    }
    let want = include_str!("table.txt");
    assert_eq!(got, want, "\n{got}");
}

#[test]
fn servers_are_named_asked_or_read_from_their_version_line() {
    assert_eq!(server("redis-7.0.15"), server("redis-7.0"));
    assert_eq!(server("Valkey-9.1").to_string(), "Valkey 9.1");
    for bad in [
        "redis",
        "redis-7",
        "keydb-6.3",
        "redis-seven.0",
        "valkey-9.1.x",
        "",
    ] {
        assert_eq!(Server::parse(bad), None, "{bad}");
    }
    let live = ServerVersion {
        family: ServerFamily::Valkey,
        version: "9.1.2".into(),
    };
    assert_eq!(Server::of(&live), Some(server("valkey-9.1")));
    let line = "Valkey server v=9.1.2 sha=00000000:1 malloc=libc bits=64 build=1536df31c0395150";
    assert_eq!(Server::of_version_line(line), Some(server("valkey-9.1")));
    let line = "Redis server v=7.0.15 sha=00000000:0 malloc=jemalloc-5.3.0 bits=64 build=1";
    assert_eq!(Server::of_version_line(line), Some(server("redis-7.0")));
    assert_eq!(Server::of_version_line("KeyDB server v=6.3.4"), None);
}

/// Versions between and beyond the named ones take the nearest row of what they load.
#[test]
fn older_and_newer_servers_load_their_own_formats() {
    let strings = [("string".to_string(), 1)];
    let loads =
        |magic: &str, name: &str| decide(fmt(magic), &strings, server(name)) == Verdict::Loads;
    assert!(loads("REDIS0009", "redis-6.2") && !loads("REDIS0010", "redis-6.2"));
    assert!(loads("REDIS0012", "redis-8.4") && !loads("REDIS0013", "redis-8.4"));
    assert!(loads("REDIS0015", "redis-8.10") && loads("REDIS0015", "redis-9.0"));
    assert!(loads("REDIS0011", "valkey-7.2") && !loads("VALKEY080", "valkey-7.2"));
    assert!(loads("VALKEY081", "valkey-9.2") && loads("VALKEY080", "valkey-9.0"));
}

#[test]
fn a_file_that_does_not_verify_loads_nowhere() {
    let mut s = crate::rdb::verify(&b"REDIS0010\xff"[..], &crate::rdb::Options::default());
    assert!(!s.valid);
    let v = check(&s, server("redis-7.0"));
    assert!(
        matches!(&v, Verdict::DoesNotLoad(why) if why.starts_with("the file does not verify (offset")),
        "{v:?}"
    );
    s.problem = None;
    s.format = None;
    assert_eq!(
        check(&s, server("redis-7.0")),
        Verdict::DoesNotLoad("the file does not verify".into())
    );
}
