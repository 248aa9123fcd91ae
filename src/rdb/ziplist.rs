//! Legacy blob validation: ziplist (`ziplistValidateIntegrity`, deep) and zipmap (`zipmapValidateIntegrity`, deep).

use super::dedup::{Fingerprints, fp, fp_int};
use super::listpack::Entry;

const HDR: usize = 10;
const END: u8 = 0xff;

/// Walk a ziplist deeply (every entry, prevlen chain, tail offset, count), calling `cb` per entry.
pub(super) fn validate<'a>(
    zl: &'a [u8],
    mut cb: impl FnMut(u32, Entry<'a>) -> Result<(), &'static str>,
) -> Result<u32, &'static str> {
    const BAD: &str = "ziplist entry is malformed or runs past the end";
    let size = zl.len();
    if size < HDR + 1 {
        return Err("ziplist shorter than its header");
    }
    if u32::from_le_bytes([zl[0], zl[1], zl[2], zl[3]]) as usize != size {
        return Err("ziplist total-bytes field does not match its length");
    }
    if zl[size - 1] != END {
        return Err("ziplist does not end with 0xFF");
    }
    let tail = u32::from_le_bytes([zl[4], zl[5], zl[6], zl[7]]) as usize;
    if tail > size - 1 {
        return Err("ziplist tail offset is out of range");
    }
    let header_count = u16::from_le_bytes([zl[8], zl[9]]);
    let last = size - 1; // position of the END byte; entries must stay at or before it
    let mut p = HDR;
    let mut prev: Option<usize> = None;
    let mut prev_raw = 0usize;
    let mut count: u32 = 0;
    while zl[p] != END {
        let at = |i: usize| -> Result<u8, &'static str> {
            if p + i > last {
                Err(BAD)
            } else {
                Ok(zl[p + i])
            }
        };
        let prevlensize = if zl[p] < 254 { 1 } else { 5 };
        if p + prevlensize > last {
            return Err(BAD);
        }
        let eb = zl[p + prevlensize];
        let enc = if eb < 0xc0 { eb & 0xc0 } else { eb };
        let lensize = match enc {
            0xfe | 0xc0 | 0xd0 | 0xe0 | 0xf0 | 0xf1..=0xfd | 0x00 => 1,
            0x40 => 2,
            0x80 => 5,
            _ => return Err("ziplist entry has an invalid encoding"),
        };
        if p + prevlensize + lensize > last {
            return Err(BAD);
        }
        let prevlen = if prevlensize == 1 {
            zl[p] as usize
        } else {
            u32::from_le_bytes([at(1)?, at(2)?, at(3)?, at(4)?]) as usize
        };
        let q = p + prevlensize;
        let len = match enc {
            0x00 => (eb & 0x3f) as usize,
            0x40 => (((eb & 0x3f) as usize) << 8) | zl[q + 1] as usize,
            0x80 => u32::from_be_bytes([zl[q + 1], zl[q + 2], zl[q + 3], zl[q + 4]]) as usize,
            0xfe => 1,
            0xc0 => 2,
            0xf0 => 3,
            0xd0 => 4,
            0xe0 => 8,
            _ => 0,
        };
        let headersize = prevlensize + lensize;
        if p.checked_add(headersize + len).is_none_or(|e| e > last) {
            return Err(BAD);
        }
        if prevlen > p || p - prevlen < HDR {
            return Err(BAD);
        }
        if prevlen != prev_raw {
            return Err("ziplist entry prevlen does not match the previous entry");
        }
        let d = &zl[p + headersize..p + headersize + len];
        let e = match enc {
            0x00 | 0x40 | 0x80 => Entry::Str(d),
            0xfe => Entry::Int(i64::from(d[0] as i8)),
            0xc0 => Entry::Int(i64::from(i16::from_le_bytes([d[0], d[1]]))),
            0xf0 => Entry::Int(i64::from(i32::from_le_bytes([0, d[0], d[1], d[2]]) >> 8)),
            0xd0 => Entry::Int(i64::from(i32::from_le_bytes([d[0], d[1], d[2], d[3]]))),
            0xe0 => Entry::Int(i64::from_le_bytes([
                d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7],
            ])),
            imm => Entry::Int(i64::from((imm & 0x0f) - 1)),
        };
        cb(count, e)?;
        prev_raw = headersize + len;
        prev = Some(p);
        p += headersize + len;
        count = count.wrapping_add(1);
    }
    if p != size - 1 {
        return Err(BAD);
    }
    if prev.is_some_and(|pp| pp != tail) {
        return Err("ziplist tail offset does not point at the last entry");
    }
    if header_count != u16::MAX && u32::from(header_count) != count {
        return Err("ziplist header count does not match its entries");
    }
    Ok(count)
}

/// Ziplist of field/value (or member/score) pairs: even count, unique first elements. Returns the pair count.
pub(super) fn validate_pairs(zl: &[u8], fps: &mut Fingerprints) -> Result<u32, &'static str> {
    fps.clear();
    let n = validate(zl, |i, e| {
        if i % 2 == 0 {
            fps.push(match e {
                Entry::Int(v) => fp_int(v),
                Entry::Str(s) => fp(s),
            });
        }
        Ok(())
    })?;
    if n % 2 != 0 {
        return Err("ziplist has an odd number of entries");
    }
    if fps.has_duplicate() {
        return Err("ziplist has duplicate fields");
    }
    Ok(n / 2)
}

/// Deep zipmap validation plus the duplicate-field check the loader performs. Returns the pair count.
pub(super) fn validate_zipmap(zm: &[u8], fps: &mut Fingerprints) -> Result<u32, &'static str> {
    const BAD: &str = "zipmap entry runs past the end";
    let size = zm.len();
    if size < 2 {
        return Err("zipmap shorter than its header");
    }
    if zm[size - 1] != END {
        return Err("zipmap does not end with 0xFF");
    }
    let out = |p: usize| p < 2 || p > size - 1;
    let dlen = |p: usize| -> (usize, usize) {
        if zm[p] < 254 {
            (1, zm[p] as usize)
        } else {
            (
                5,
                u32::from_le_bytes([zm[p + 1], zm[p + 2], zm[p + 3], zm[p + 4]]) as usize,
            )
        }
    };
    fps.clear();
    let mut p = 1usize;
    let mut count: u32 = 0;
    while zm[p] != END {
        let s = if zm[p] < 254 { 1 } else { 5 };
        if out(p + s) {
            return Err(BAD);
        }
        let (_, l) = dlen(p);
        let field = p + s;
        p = field.checked_add(l).ok_or(BAD)?;
        if out(p) {
            return Err(BAD);
        }
        fps.push(fp(&zm[field..p]));
        let s = if zm[p] < 254 { 1 } else { 5 };
        if out(p + s) {
            return Err(BAD);
        }
        let (_, l) = dlen(p);
        p += s;
        let free = zm[p] as usize;
        p = (p + 1).checked_add(l + free).ok_or(BAD)?;
        count += 1;
        if out(p) {
            return Err(BAD);
        }
    }
    if count == 0 {
        return Err("zipmap is empty");
    }
    if zm[0] != 254 && u32::from(zm[0]) != count {
        return Err("zipmap header count does not match its entries");
    }
    if fps.has_duplicate() {
        return Err("zipmap has duplicate fields");
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zl(entries: &[&[u8]], tail_idx: usize, count: u16) -> Vec<u8> {
        let mut body = Vec::new();
        let mut tail = HDR;
        for (i, e) in entries.iter().enumerate() {
            if i == tail_idx {
                tail = HDR + body.len();
            }
            body.extend_from_slice(e);
        }
        let total = (HDR + body.len() + 1) as u32;
        let mut v = total.to_le_bytes().to_vec();
        v.extend_from_slice(&(tail as u32).to_le_bytes());
        v.extend_from_slice(&count.to_le_bytes());
        v.extend_from_slice(&body);
        v.push(END);
        v
    }

    #[test]
    fn ziplist_cases() {
        // entry 1: prevlen 0, str "ab" (0x02); entry 2: prevlen 4, imm int 5 (0xf6)
        let e1: &[u8] = &[0x00, 0x02, b'a', b'b'];
        let e2: &[u8] = &[0x04, 0xf6];
        let mut got = Vec::new();
        let r = validate(&zl(&[e1, e2], 1, 2), |_, e| {
            got.push(format!("{e:?}"));
            Ok(())
        });
        assert_eq!(r, Ok(2));
        assert_eq!(got, vec!["Str([97, 98])", "Int(5)"]);
        assert_eq!(
            validate(&zl(&[e1, e2], 1, 3), |_, _| Ok(())),
            Err("ziplist header count does not match its entries")
        );
        assert_eq!(
            validate(&zl(&[e1, e2], 0, 2), |_, _| Ok(())),
            Err("ziplist tail offset does not point at the last entry")
        );
        assert_eq!(
            validate(&zl(&[e1, &[0x03, 0xf6]], 1, 2), |_, _| Ok(())),
            Err("ziplist entry prevlen does not match the previous entry")
        );
        assert_eq!(
            validate(&zl(&[&[0x00, 0x09, b'a']], 0, 1), |_, _| Ok(())),
            Err("ziplist entry is malformed or runs past the end")
        );
        let mut fps = Fingerprints::default();
        assert_eq!(validate_pairs(&zl(&[e1, e2], 1, 2), &mut fps), Ok(1));
    }

    #[test]
    fn zipmap_cases() {
        let mut fps = Fingerprints::default();
        // count 1, field "a", value "b" free 0, END
        assert_eq!(
            validate_zipmap(&[1, 1, b'a', 1, 0, b'b', END], &mut fps),
            Ok(1)
        );
        assert_eq!(
            validate_zipmap(&[2, 1, b'a', 1, 0, b'b', END], &mut fps),
            Err("zipmap header count does not match its entries")
        );
        assert_eq!(
            validate_zipmap(
                &[1, 1, b'a', 1, 0, b'b', 1, b'a', 1, 0, b'c', END],
                &mut fps
            ),
            Err("zipmap header count does not match its entries")
        );
        assert_eq!(
            validate_zipmap(
                &[2, 1, b'a', 1, 0, b'b', 1, b'a', 1, 0, b'c', END],
                &mut fps
            ),
            Err("zipmap has duplicate fields")
        );
        assert_eq!(validate_zipmap(&[0, END], &mut fps), Err("zipmap is empty"));
        assert_eq!(
            validate_zipmap(&[1, 9, b'a', END], &mut fps),
            Err("zipmap entry runs past the end")
        );
    }
}
