//! Per-field TTLs of hashes (Redis 7.4 hash field expiration: types 24/25, and the 7.4 RC
//! types 22/23; Valkey 9's `HASH_2`), counted like key TTLs: fields with an expiry, and
//! those already expired at `Options::now_ms`.

use super::Res;
use super::listpack::{Entry, Iter};
use super::walk::Walker;
use std::io::Read;

/// Field TTL counts of the whole file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct FieldTtls {
    /// Hash fields with an expiry.
    pub(super) with_expiry: u64,
    /// Of those, already expired.
    pub(super) expired: u64,
}

impl FieldTtls {
    /// Counts one field whose absolute expiry is `at_ms` (`None`: no TTL).
    pub(super) fn record(&mut self, at_ms: Option<u64>, now_ms: u64) {
        if let Some(at) = at_ms {
            self.with_expiry += 1;
            if at < now_ms {
                self.expired += 1;
            }
        }
    }

    /// Counts the TTLs (every third entry, 0 = none) of a validated listpack of
    /// (field, value, ttl) triples (types 23/25).
    pub(super) fn record_listpack_ex(&mut self, lp: &[u8], now_ms: u64) {
        let mut it = Iter::new(lp);
        let mut i = 0u64;
        while let Ok(Some(e)) = it.next_entry() {
            if i % 3 == 2 {
                let at = match e {
                    Entry::Int(v) => u64::try_from(v).ok(),
                    Entry::Str(_) => None,
                };
                self.record(at.filter(|&a| a != 0), now_ms);
            }
            i += 1;
        }
    }
}

impl<R: Read> Walker<'_, R> {
    /// Valkey 9's `RDB_TYPE_HASH_2`: a length, then (field, value, expire-ms) triples, the
    /// expiry a little-endian i64 (`rdbLoadMillisecondTime`), -1 for none.
    pub(super) fn hash2(&mut self, at: u64) -> Res<()> {
        let n = self.src.len("a HASH_2 length")?;
        if n == 0 {
            return Err(super::Problem::new(at, "empty HASH_2 (zero fields)"));
        }
        self.fps.clear();
        for _ in 0..n {
            self.member("a HASH_2 field")?;
            self.src.skip_string("a HASH_2 value")?;
            let eat = self.src.offset();
            let expire = i64::from_le_bytes(self.src.array("a HASH_2 field expiry")?);
            if expire < -1 {
                return Err(super::Problem::new(
                    eat,
                    format!("invalid HASH_2 field expiry {expire}"),
                ));
            }
            let now = self.opts.now_ms;
            self.field_ttls
                .record((expire >= 0).then_some(expire as u64), now);
        }
        self.dup_check(at, "HASH_2 fields")
    }
}
