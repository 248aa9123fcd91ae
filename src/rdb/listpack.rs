//! Listpack blob validation: header (`lpValidateIntegrity`), per-entry walk (`lpValidateNext`),
//! tuple/duplicate rules for set/zset/hash listpacks and the stream listpack layout.

use super::dedup::{Fingerprints, fp_int};

/// One decoded listpack entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Entry<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Entry<'_> {
    /// `lpGetIntegerIfValid`: integer entries, or strings that `string2ll` accepts.
    pub(super) fn as_int(&self) -> Option<i64> {
        match *self {
            Entry::Int(v) => Some(v),
            Entry::Str(s) => string2ll(s),
        }
    }
}

/// Redis `string2ll`: optional '-', digits, no leading zeros, no '+' or spaces, fits i64.
pub(super) fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = if s[0] == b'-' {
        (true, &s[1..])
    } else {
        (false, s)
    };
    if digits.is_empty() || digits[0] == b'0' || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

const HDR: usize = 6;
const EOF: u8 = 0xff;
/// `LP_HDR_NUMELE_UNKNOWN`.
const NUMELE_UNKNOWN: u16 = u16::MAX;
/// `EB_EXPIRE_TIME_MAX` (2^48 - 1).
pub(super) const EB_EXPIRE_TIME_MAX: i64 = (1 << 48) - 1;

/// `lpValidateIntegrity(.., deep=0)`: size, total-bytes field, terminator.
pub(super) fn validate_header(lp: &[u8]) -> Result<(), &'static str> {
    if lp.len() < HDR + 1 {
        return Err("listpack shorter than its header");
    }
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]);
    if total as usize != lp.len() {
        return Err("listpack total-bytes field does not match its length");
    }
    if lp[lp.len() - 1] != EOF {
        return Err("listpack does not end with 0xFF");
    }
    Ok(())
}

fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Forward walker with `lpValidateNext` semantics; assumes `validate_header` passed.
pub(super) struct Iter<'a> {
    lp: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Iter<'a> {
    pub(super) fn new(lp: &'a [u8]) -> Self {
        Iter {
            lp,
            pos: HDR,
            done: false,
        }
    }

    /// Next entry, `Ok(None)` at the terminator.
    pub(super) fn next_entry(&mut self) -> Result<Option<Entry<'a>>, &'static str> {
        const BAD: &str = "listpack entry is malformed or runs past the end";
        if self.done {
            return Err(BAD);
        }
        let lp = self.lp;
        let last = lp.len() - 1;
        let p = self.pos;
        if p > last {
            return Err(BAD);
        }
        let b = lp[p];
        if b == EOF {
            self.done = true;
            return Ok(None);
        }
        let byte = |i: usize| -> Result<u8, &'static str> {
            if p + i > last {
                Err(BAD)
            } else {
                Ok(lp[p + i])
            }
        };
        // (header bytes, payload length)
        let (hdr, plen): (usize, usize) = if b & 0x80 == 0 {
            (1, 0)
        } else if b & 0xc0 == 0x80 {
            (1, (b & 0x3f) as usize)
        } else if b & 0xe0 == 0xc0 {
            (1, 1)
        } else if b & 0xf0 == 0xe0 {
            (2, (((b & 0x0f) as usize) << 8) | byte(1)? as usize)
        } else {
            match b {
                0xf0 => (
                    5,
                    u32::from_le_bytes([byte(1)?, byte(2)?, byte(3)?, byte(4)?]) as usize,
                ),
                0xf1 => (1, 2),
                0xf2 => (1, 3),
                0xf3 => (1, 4),
                0xf4 => (1, 8),
                _ => return Err("listpack entry has an invalid encoding byte"),
            }
        };
        if p + hdr > last {
            return Err(BAD);
        }
        let entrylen = hdr + plen;
        let bl = backlen_size(entrylen);
        let total = entrylen + bl;
        if p.checked_add(total).is_none_or(|e| e > last) {
            return Err(BAD);
        }
        // decode backlen backwards from the entry's last byte
        let mut q = p + total - 1;
        let mut val: u64 = 0;
        let mut shift = 0u32;
        loop {
            val |= u64::from(lp[q] & 127) << shift;
            if lp[q] & 128 == 0 {
                break;
            }
            shift += 7;
            if shift > 28 || q == 0 {
                val = u64::MAX;
                break;
            }
            q -= 1;
        }
        if val != entrylen as u64 {
            return Err("listpack entry back-length does not match its size");
        }
        self.pos = p + total;
        let data = &lp[p + hdr..p + entrylen];
        let e = if b & 0x80 == 0 {
            Entry::Int(i64::from(b & 0x7f))
        } else if b & 0xc0 == 0x80 || b & 0xf0 == 0xe0 || b == 0xf0 {
            Entry::Str(data)
        } else if b & 0xe0 == 0xc0 {
            let u = (u16::from(b & 0x1f) << 8) | u16::from(data[0]);
            Entry::Int(if u >= 1 << 12 {
                i64::from(u) - (1 << 13)
            } else {
                i64::from(u)
            })
        } else {
            Entry::Int(match b {
                0xf1 => i64::from(i16::from_le_bytes([data[0], data[1]])),
                0xf2 => i64::from(i32::from_le_bytes([0, data[0], data[1], data[2]]) >> 8),
                0xf3 => i64::from(i32::from_le_bytes([data[0], data[1], data[2], data[3]])),
                _ => i64::from_le_bytes([
                    data[0], data[1], data[2], data[3], data[4], data[5], data[6], data[7],
                ]),
            })
        };
        Ok(Some(e))
    }

    /// Next entry, failing at the terminator.
    fn need(&mut self) -> Result<Entry<'a>, &'static str> {
        self.next_entry()?.ok_or("stream listpack ends early")
    }

    fn need_int(&mut self) -> Result<i64, &'static str> {
        self.need()?
            .as_int()
            .ok_or("stream listpack entry is not an integer")
    }
}

/// `lpValidateIntegrity(.., deep=1, cb)`: walk every entry, check the header count. Returns the count.
pub(super) fn validate_deep<'a>(
    lp: &'a [u8],
    mut cb: impl FnMut(u32, Entry<'a>) -> Result<(), &'static str>,
) -> Result<u32, &'static str> {
    validate_header(lp)?;
    let numele = u16::from_le_bytes([lp[4], lp[5]]);
    let mut it = Iter::new(lp);
    let mut count: u32 = 0;
    while let Some(e) = it.next_entry()? {
        cb(count, e)?;
        count = count.wrapping_add(1);
    }
    if numele != NUMELE_UNKNOWN && u32::from(numele) != count {
        return Err("listpack header count does not match its entries");
    }
    Ok(count)
}

/// `lpValidateIntegrityAndDups(.., deep=1, tuple_len)`: the first element of every tuple is unique;
/// with `tuple_len == 3` the third is a field TTL (integer, in range, ordered). Returns the entry count.
pub(super) fn validate_tuples(
    lp: &[u8],
    tuple_len: u32,
    fps: &mut Fingerprints,
) -> Result<u32, &'static str> {
    fps.clear();
    let mut last_expire: i64 = -1;
    let n = validate_deep(lp, |i, e| {
        let k = i % tuple_len;
        if k == 0 {
            fps.push(match e {
                Entry::Int(v) => fp_int(v),
                Entry::Str(s) => super::dedup::fp(s),
            });
        }
        if k == 2 {
            let at = e.as_int().ok_or("hash field TTL is not an integer")?;
            if !(0..=EB_EXPIRE_TIME_MAX).contains(&at) {
                return Err("hash field TTL out of range");
            }
            if at != 0 && (last_expire == 0 || at < last_expire) {
                return Err("hash field TTLs are not ordered");
            }
            last_expire = at;
        }
        Ok(())
    })?;
    if n % tuple_len != 0 {
        return Err("listpack entry count is not a multiple of the tuple size");
    }
    if fps.has_duplicate() {
        return Err("listpack has duplicate elements");
    }
    Ok(n)
}

/// `streamValidateListpackIntegrity(.., deep=1)`: master entry, then every entry's layout and lp-count.
pub(super) fn validate_stream(lp: &[u8]) -> Result<(), &'static str> {
    validate_header(lp)?;
    let mut it = Iter::new(lp);
    let count = it.need_int()?;
    let deleted = it.need_int()?;
    let master_fields = it.need_int()?;
    for _ in 0..master_fields.max(0) {
        it.need()?;
    }
    if it.need_int()? != 0 {
        return Err("stream listpack master entry lacks its zero terminator");
    }
    let total = count.wrapping_add(deleted);
    if total < 0 {
        return Err("stream listpack has a negative entry count");
    }
    for _ in 0..total {
        let mut fields = master_fields;
        let mut extra: i64 = 3;
        let flags = it.need_int()?;
        it.need_int()?; // ms delta
        it.need_int()?; // seq delta
        if flags & 2 == 0 {
            fields = it.need_int()?;
            for _ in 0..fields.max(0) {
                it.need()?;
            }
            extra = extra.wrapping_add(fields).wrapping_add(1);
        }
        for _ in 0..fields.max(0) {
            it.need()?;
        }
        if it.need_int()? != fields.wrapping_add(extra) {
            return Err("stream listpack entry lp-count is wrong");
        }
    }
    if it.next_entry()?.is_some() {
        return Err("stream listpack has entries past its declared count");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Build a listpack from raw entry encodings (each already with its backlen).
    fn lp(entries: &[&[u8]], count: u16) -> Vec<u8> {
        let body: Vec<u8> = entries.concat();
        let total = (HDR + body.len() + 1) as u32;
        let mut v = total.to_le_bytes().to_vec();
        v.extend_from_slice(&count.to_le_bytes());
        v.extend_from_slice(&body);
        v.push(EOF);
        v
    }

    fn check(blob: &[u8], expect: Result<u32, &str>) {
        assert_eq!(
            validate_deep(blob, |_, _| Ok(())),
            expect,
            "blob {blob:02x?}"
        );
    }

    #[test]
    fn listpack_cases() {
        // 7-bit uint 5 -> [0x05, backlen 1]; 6-bit str "ab" -> [0x82,'a','b', backlen 3]
        let a: &[u8] = &[0x05, 0x01];
        let s: &[u8] = &[0x82, b'a', b'b', 0x03];
        let i16e: &[u8] = &[0xf1, 0x34, 0x12, 0x03];
        check(&lp(&[a, s], 2), Ok(2));
        check(&lp(&[a, s], u16::MAX), Ok(2));
        check(&lp(&[a, s, i16e], 3), Ok(3));
        check(
            &lp(&[a, s], 3),
            Err("listpack header count does not match its entries"),
        );
        check(
            &lp(&[&[0x05, 0x02]], 1),
            Err("listpack entry back-length does not match its size"),
        );
        check(
            &lp(&[&[0xf7, 0x01]], 1),
            Err("listpack entry has an invalid encoding byte"),
        );
        check(
            &lp(&[&[0x85, b'a']], 1),
            Err("listpack entry is malformed or runs past the end"),
        );
        let mut bad = lp(&[a], 1);
        bad[0] += 1;
        check(
            &bad,
            Err("listpack total-bytes field does not match its length"),
        );
        let mut bad = lp(&[a], 1);
        let n = bad.len();
        bad[n - 1] = 0;
        check(&bad, Err("listpack does not end with 0xFF"));
        check(&[1, 0, 0, 0, 0], Err("listpack shorter than its header"));
        check(&lp(&[], 0), Ok(0));
    }

    #[test]
    fn decode_ints() {
        let blob = lp(&[&[0xdf, 0xff, 0x02], &[0xf2, 0xff, 0xff, 0xff, 0x04]], 2);
        let mut got = Vec::new();
        validate_deep(&blob, |_, e| {
            got.push(e);
            Ok(())
        })
        .unwrap();
        assert_eq!(got, vec![Entry::Int(-1), Entry::Int(-1)]);
    }

    #[test]
    fn tuples_and_dups() {
        let mut fps = Fingerprints::default();
        let one: &[u8] = &[0x01, 0x01];
        let s1: &[u8] = &[0x81, b'1', 0x02];
        // "1" as string and 1 as int are the same member
        assert_eq!(
            validate_tuples(&lp(&[one, s1], 2), 1, &mut fps),
            Err("listpack has duplicate elements")
        );
        assert_eq!(validate_tuples(&lp(&[one, s1], 2), 2, &mut fps), Ok(2));
        assert_eq!(
            validate_tuples(&lp(&[one], 1), 2, &mut fps),
            Err("listpack entry count is not a multiple of the tuple size")
        );
    }

    #[test]
    fn string2ll_cases() {
        assert_eq!(string2ll(b"0"), Some(0));
        assert_eq!(string2ll(b"-12"), Some(-12));
        assert_eq!(string2ll(b"012"), None);
        assert_eq!(string2ll(b"-0"), None);
        assert_eq!(string2ll(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(string2ll(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(string2ll(b"9223372036854775808"), None);
        assert_eq!(string2ll(b"+1"), None);
    }
}
