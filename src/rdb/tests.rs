//! Data-driven tests of length encodings and of the top-level walk on hand-built files.

use super::reader::{Len, Src};
use super::*;

fn check_len(bytes: &[u8], expect: Result<Len, &str>) {
    let mut src = Src::new(bytes);
    let got = src.len_enc("a length").map_err(|p| p.to_string());
    match expect {
        Ok(l) => assert_eq!(got, Ok(l), "{bytes:02x?}"),
        Err(frag) => assert!(
            got.as_ref().is_err_and(|e| e.contains(frag)),
            "{bytes:02x?}: {got:?}"
        ),
    }
}

#[test]
fn length_encodings() {
    check_len(&[0x05], Ok(Len::Len(5)));
    check_len(&[0x3f], Ok(Len::Len(63)));
    check_len(&[0x41, 0x02], Ok(Len::Len(258)));
    check_len(&[0x80, 0, 1, 0, 0], Ok(Len::Len(65536)));
    check_len(&[0x81, 0, 0, 0, 1, 0, 0, 0, 0], Ok(Len::Len(1 << 32)));
    check_len(&[0xc0], Ok(Len::Enc(0)));
    check_len(&[0xc3], Ok(Len::Enc(3)));
    check_len(&[0x82], Err("offset 0: unknown length encoding 0x82"));
    check_len(
        &[0x41],
        Err("offset 1: unexpected end of file while reading a length"),
    );
    check_len(&[0x80, 0, 0], Err("unexpected end of file"));
    check_len(&[], Err("offset 0: unexpected end of file"));
}

fn check_string(bytes: &[u8], expect: Result<&[u8], &str>) {
    let mut out = Vec::new();
    let got = Src::new(bytes)
        .string_into(&mut out, "a string")
        .map_err(|p| p.to_string());
    let skipped = Src::new(bytes)
        .skip_string("a string")
        .map_err(|p| p.to_string());
    match expect {
        Ok(s) => {
            assert_eq!(got, Ok(()), "{bytes:02x?}");
            assert_eq!(out, s);
            assert!(skipped.is_ok(), "skip disagrees: {skipped:?}");
        }
        Err(frag) => {
            assert!(
                got.as_ref().is_err_and(|e| e.contains(frag)),
                "{bytes:02x?}: {got:?}"
            );
            assert!(skipped.is_err(), "skip disagrees on {bytes:02x?}");
        }
    }
}

#[test]
fn string_encodings() {
    check_string(&[0x03, b'a', b'b', b'c'], Ok(b"abc"));
    check_string(&[0xc0, 0xfe], Ok(b"-2"));
    check_string(&[0xc1, 0x30, 0x75], Ok(b"30000"));
    check_string(&[0xc2, 0x00, 0x94, 0x35, 0x77], Ok(b"2000000000"));
    check_string(&[0xc3, 0x04, 0x05, 0x00, b'a', 0x40, 0x00], Ok(b"aaaaa"));
    check_string(
        &[0xc3, 0x04, 0x06, 0x00, b'a', 0x40, 0x00],
        Err("invalid LZF"),
    );
    check_string(&[0xc3, 0x03, 0x05, 0x00, b'a', 0x40], Err("invalid LZF"));
    check_string(
        &[0xc3, 0x04, 0x05, 0x00, b'a'],
        Err("unexpected end of file"),
    );
    check_string(&[0xc4], Err("unknown string encoding 4"));
    check_string(
        &[0x05, b'a'],
        Err("unexpected end of file while reading a string (5 bytes)"),
    );
    check_string(
        &[0x80, 0xff, 0xff, 0xff, 0xff, b'a'],
        Err("unexpected end of file"),
    );
}

static CRC: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_REDIS);

/// Build a file: header + body + EOF + checksum.
fn file(version: &str, body: &[u8]) -> Vec<u8> {
    let mut f = format!("REDIS{version}").into_bytes();
    f.extend_from_slice(body);
    f.push(0xff);
    let c = CRC.checksum(&f);
    f.extend_from_slice(&c.to_le_bytes());
    f
}

fn s(x: &str) -> Vec<u8> {
    let mut v = vec![x.len() as u8];
    v.extend_from_slice(x.as_bytes());
    v
}

#[test]
fn crc_catalog_check_value() {
    assert_eq!(CRC.checksum(b"123456789"), 0xe9c6d914c4b8d9ca);
}

#[test]
fn streamed_crc_matches_the_reference_across_refills() {
    // 600 KiB arriving 4093 bytes a read: several refills, SIMD blocks and odd tails
    struct Dribble<'a>(&'a [u8]);
    impl std::io::Read for Dribble<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = out.len().min(4093).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let data: Vec<u8> = (0..600 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut src = Src::new(Dribble(&data));
    src.skip(data.len() as u64 - 1, "bytes").expect("skip");
    src.u8("the last byte").expect("last");
    assert_eq!(src.finish_crc(), CRC.checksum(&data));
}

#[test]
fn hand_built_file_stats() {
    let mut body = vec![0xfa];
    body.extend(s("redis-ver"));
    body.extend(s("7.0.15"));
    body.extend([0xfe, 0x00, 0xfb, 0x03, 0x02]);
    // live session (expires at 10_000), expired session (expires at 10), plain key
    body.push(0xfc);
    body.extend(10_000i64.to_le_bytes());
    body.push(0x00);
    body.extend(s("session:1"));
    body.extend(s("v"));
    body.push(0xfc);
    body.extend(10i64.to_le_bytes());
    body.push(0x00);
    body.extend(s("session:2"));
    body.extend(s("v"));
    body.extend([0xfe, 0x02, 0x00]);
    body.extend(s("other"));
    body.extend([0xc0, 0x07]);
    let f = file("0010", &body);
    let sum = verify(
        &f[..],
        &Options {
            pattern: "session:*".into(),
            now_ms: 1000,
        },
    );
    assert!(sum.valid, "{:?}", sum.problem);
    assert_eq!(sum.redis_version.as_deref(), Some("7.0.15"));
    assert_eq!(
        (
            sum.keys,
            sum.keys_with_expiry,
            sum.keys_expired,
            sum.keys_matching
        ),
        (3, 2, 1, 2)
    );
    assert_eq!(
        sum.ttl_ms,
        Some(TtlStats {
            count: 1,
            min: 9000,
            median: 9000,
            max: 9000
        })
    );
    assert_eq!(sum.dbs.len(), 2);
    assert_eq!(
        sum.dbs[1],
        DbStats {
            index: 2,
            keys: 1,
            keys_with_expiry: 0,
            keys_expired: 0
        }
    );
    assert_eq!(sum.types, vec![("string".to_string(), 3)]);
    assert!(matches!(sum.checksum, Checksum::Ok(_)));
}

#[test]
fn bad_inputs_are_reported_not_panicked() {
    let cases: &[(Vec<u8>, &str)] = &[
        (b"RADIS0010".to_vec(), "offset 0: expected magic \"REDIS\""),
        (
            b"VALKEY080\xfa".to_vec(),
            "offset 10: unexpected end of file while reading an AUX key",
        ),
        (
            b"REDIS0099\xff".to_vec(),
            "offset 5: Redis RDB version 99 is newer than this verifier knows",
        ),
        (b"REDIS0000\xff".to_vec(), "invalid RDB version"),
        (
            file("0010", &[0x7a]),
            "offset 9: expected an opcode or value type byte, found 0x7a",
        ),
        (file("0010", &[0x02, 0x01, b'k', 0x00]), "empty value"),
        (file("0010", &[0x06, 0x01, b'k']), "pre-GA"),
        (b"REDIS0010".to_vec(), "offset 9: unexpected end of file"),
        (
            file("0010", &[0x0b, 0x01, b'k', 0x04, 2, 0, 0, 0]),
            "intset shorter",
        ),
    ];
    for (bytes, frag) in cases {
        let sum = verify(&bytes[..], &Options::default());
        let p = sum.problem.expect("problem").to_string();
        assert!(!sum.valid);
        assert!(p.contains(frag), "{p:?} should contain {frag:?}");
    }
    // version < 5: no checksum at all
    let mut f = b"REDIS0004".to_vec();
    f.push(0xff);
    let sum = verify(&f[..], &Options::default());
    assert!(sum.valid && sum.checksum == Checksum::Missing);
}
