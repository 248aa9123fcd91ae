//! Intset blob validation (`intsetValidateIntegrity`, deep mode as redis-check-rdb runs it).

/// Validate an intset blob: header, encoding, exact size, non-empty, strictly ascending.
/// Returns the element count.
pub(super) fn validate(blob: &[u8]) -> Result<u32, &'static str> {
    if blob.len() < 8 {
        return Err("intset shorter than its header");
    }
    let enc = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]);
    let count = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]);
    if !matches!(enc, 2 | 4 | 8) {
        return Err("intset has an invalid encoding");
    }
    if 8 + u64::from(count) * u64::from(enc) != blob.len() as u64 {
        return Err("intset length does not match its element count");
    }
    if count == 0 {
        return Err("intset is empty");
    }
    let get = |i: usize| -> i64 {
        let p = &blob[8 + i * enc as usize..];
        match enc {
            2 => i64::from(i16::from_le_bytes([p[0], p[1]])),
            4 => i64::from(i32::from_le_bytes([p[0], p[1], p[2], p[3]])),
            _ => i64::from_le_bytes([p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]]),
        }
    };
    let mut prev = get(0);
    for i in 1..count as usize {
        let cur = get(i);
        if cur <= prev {
            return Err("intset elements are not strictly ascending");
        }
        prev = cur;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(blob: &[u8], expect: Result<u32, &str>) {
        assert_eq!(validate(blob), expect, "blob {blob:02x?}");
    }

    #[test]
    fn intset_cases() {
        check(&[2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 2, 0], Ok(2));
        check(&[4, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff], Ok(1));
        check(
            &[2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 1, 0],
            Err("intset elements are not strictly ascending"),
        );
        check(
            &[2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 1, 0],
            Err("intset elements are not strictly ascending"),
        );
        check(
            &[3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0],
            Err("intset has an invalid encoding"),
        );
        check(
            &[2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0],
            Err("intset length does not match its element count"),
        );
        check(&[2, 0, 0, 0, 0, 0, 0, 0], Err("intset is empty"));
        check(&[2, 0, 0], Err("intset shorter than its header"));
    }
}
