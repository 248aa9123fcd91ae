//! Duplicate-member detection in bounded memory: 128-bit fingerprints of one key's members, sorted.

use std::hash::{DefaultHasher, Hasher};

/// Beyond this many members per key (256 MiB of fingerprints) duplicate detection is skipped.
const MAX_MEMBERS: usize = 16 << 20;

/// 128-bit fingerprint of a member's bytes (two independently keyed SipHash runs).
pub(super) fn fp(bytes: &[u8]) -> u128 {
    let mut a = DefaultHasher::new();
    a.write(bytes);
    let mut b = DefaultHasher::new();
    b.write_u8(0x5a);
    b.write(bytes);
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}

/// Fingerprint of an integer member, identical to the fingerprint of its decimal string.
pub(super) fn fp_int(v: i64) -> u128 {
    let mut buf = [0u8; 24];
    let mut i = buf.len();
    let neg = v < 0;
    let mut u = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    if neg {
        i -= 1;
        buf[i] = b'-';
    }
    fp(&buf[i..])
}

/// A reusable fingerprint set for the members of one key.
#[derive(Default)]
pub(super) struct Fingerprints {
    v: Vec<u128>,
    overflow: bool,
}

impl Fingerprints {
    pub(super) fn clear(&mut self) {
        self.v.clear();
        self.overflow = false;
    }

    pub(super) fn push(&mut self, f: u128) {
        if self.v.len() < MAX_MEMBERS {
            self.v.push(f);
        } else {
            self.overflow = true;
        }
    }

    /// Sorts in place; true if two members share a fingerprint.
    pub(super) fn has_duplicate(&mut self) -> bool {
        if self.overflow {
            return false;
        }
        self.v.sort_unstable();
        self.v.windows(2).any(|w| w[0] == w[1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_and_string_fingerprints_agree() {
        for v in [0i64, 7, -7, 123456, i64::MIN, i64::MAX] {
            assert_eq!(fp_int(v), fp(v.to_string().as_bytes()));
        }
    }
}
