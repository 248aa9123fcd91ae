//! `warden verify FILE[.gz|.zst]` run as the real binary on dumps written by a real
//! `redis-server`: table and JSON output, exit 0 valid / 1 invalid / 2 unreadable.

#[path = "rdb_support/mod.rs"]
mod rdb_support;
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};

use rdb_support::Redis;
use support::Warden;

/// A dump with 300 `session:*` keys (TTL 1 h) and 20 other keys, saved into `dir`.
fn dump(dir: &Path) -> PathBuf {
    let mut r = Redis::start(&[]);
    let mut pipe = Vec::new();
    for i in 0..300 {
        Redis::encode(
            &[
                b"SET",
                format!("session:{i}").as_bytes(),
                b"payload",
                b"EX",
                b"3600",
            ],
            &mut pipe,
        );
    }
    for i in 0..20 {
        Redis::encode(&[b"SET", format!("other:{i}").as_bytes(), b"v"], &mut pipe);
    }
    r.pipeline(&pipe, 320);
    let path = dir.join("dump.rdb");
    r.save_to(&path);
    path
}

fn compressed(raw: &Path, c: warden::backup::compress::Compression) -> PathBuf {
    let out = PathBuf::from(format!("{}{}", raw.display(), &c.suffix()[4..]));
    let mut e = c
        .encoder(std::fs::File::create(&out).expect("create"))
        .expect("encoder");
    e.write_all(&std::fs::read(raw).expect("read dump"))
        .expect("compress");
    e.finish().expect("finish");
    out
}

#[test]
fn verify_reads_raw_gzip_and_zstd_dumps() {
    use warden::backup::compress::Compression;
    let w = Warden::new();
    let raw = dump(w.path());
    for file in [
        raw.clone(),
        compressed(&raw, Compression::Gzip),
        compressed(&raw, Compression::Zstd),
    ] {
        let name = file.to_str().expect("utf-8");
        let run = w.run(&["verify", name]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(
            run.stdout.contains("result               valid"),
            "{run:#?}"
        );
        assert!(
            run.stdout.contains("keys                 320 (db0 320)"),
            "{run:#?}"
        );
        let run = w.run(&["verify", name, "--json"]);
        assert_eq!(run.code, 0, "{run:#?}");
        let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
        assert_eq!(v["valid"], true);
        assert_eq!(v["keys"], 320);
        assert_eq!(v["keys_matching"], 300);
        assert_eq!(v["keys_with_expiry"], 300);
        assert_eq!(v["checksum"]["status"], "ok");
        // The CRC64 is a hex string: as a JSON number above 2^53, `jq` would round it.
        let crc = v["checksum"]["value"].as_str().expect("crc as a string");
        assert!(
            crc.len() == 16 && crc.chars().all(|c| c.is_ascii_hexdigit()),
            "{crc}"
        );
    }
    let run = w.run(&[
        "verify",
        raw.to_str().expect("utf-8"),
        "--pattern",
        "other:*",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(v["keys_matching"], 20);
}

#[test]
fn damaged_files_exit_1_and_missing_files_exit_2() {
    use warden::backup::compress::Compression;
    let w = Warden::new();
    let raw = dump(w.path());
    let gz = compressed(&raw, Compression::Gzip);
    let bytes = std::fs::read(&gz).expect("read gz");
    let cut = w.path().join("cut.rdb.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let run = w.run(&["verify", cut.to_str().expect("utf-8")]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stdout.contains("INVALID at offset"), "{run:#?}");

    let mut flipped = std::fs::read(&raw).expect("read");
    let at = flipped.len() / 2;
    flipped[at] ^= 0x01;
    let bad = w.path().join("flipped.rdb");
    std::fs::write(&bad, flipped).expect("write");
    let run = w.run(&["verify", bad.to_str().expect("utf-8")]);
    assert_eq!(run.code, 1, "{run:#?}");

    let line = w
        .run(&["verify", "missing.rdb.gz"])
        .one_line_error()
        .to_string();
    assert!(line.contains("missing.rdb.gz"), "{line}");
}

/// Issue "Never leave a fault behind": bytes after the RDB's end read the same raw, inside
/// a compressed stream, and after a compressed stream's last frame — valid, and said.
#[test]
fn trailing_bytes_read_the_same_raw_and_compressed() {
    use warden::backup::compress::Compression;
    let w = Warden::new();
    let raw = dump(w.path());
    let mut junk = std::fs::read(&raw).expect("read");
    junk.extend_from_slice(b"JUNKJUNK");
    let raw_junk = w.path().join("junk.rdb");
    std::fs::write(&raw_junk, &junk).expect("write");
    let inside_gz = compressed(&raw_junk, Compression::Gzip);
    let inside_zst = compressed(&raw_junk, Compression::Zstd);
    let mut after = Vec::new();
    for c in [Compression::Gzip, Compression::Zstd] {
        let f = compressed(&raw, c);
        let mut bytes = std::fs::read(&f).expect("read");
        bytes.extend_from_slice(b"JUNKJUNK");
        let out = w.path().join(format!("after{}", c.suffix()));
        std::fs::write(&out, bytes).expect("write");
        after.push(out);
    }
    for file in [raw_junk, inside_gz, inside_zst].iter().chain(&after) {
        let run = w.run(&["verify", file.to_str().expect("utf-8")]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(
            run.stdout.contains("result               valid"),
            "{run:#?}"
        );
        assert!(
            run.stdout.contains("B after the RDB's end") && run.stdout.contains("(ignored"),
            "{run:#?}"
        );
    }
}

#[test]
fn a_directory_is_one_line_and_exit_2() {
    let w = Warden::new();
    let line = w
        .run(&["verify", w.path().to_str().expect("utf-8")])
        .one_line_error()
        .to_string();
    assert!(line.contains("is a directory"), "{line}");
}
