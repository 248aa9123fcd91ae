//! One walker per RDB value type, mirroring `rdbLoadObject` with deep sanitization (as `redis-check-rdb` runs it).

use std::io::Read;

use super::Problem;
use super::dedup::fp;
use super::listpack::{self, EB_EXPIRE_TIME_MAX};
use super::reader::{Len, Res};
use super::walk::Walker;
use super::{intset, ziplist};

/// `EB_EXPIRE_TIME_INVALID` (2^48): the largest legal `minExpire`.
const EB_EXPIRE_TIME_INVALID: u64 = 1 << 48;

fn empty(at: u64) -> Problem {
    Problem::new(at, "empty value (redis-check-rdb rejects empty keys)")
}

impl<R: Read> Walker<'_, R> {
    /// Read an embedded blob string (listpack, ziplist, intset, ...) into `self.blob`; returns its start offset.
    fn blob(&mut self, what: &str) -> Res<u64> {
        let at = self.src.offset();
        let mut b = std::mem::take(&mut self.blob);
        let r = self.src.string_into(&mut b, what);
        self.blob = b;
        r.map(|_| at)
    }

    /// Read one member string into `self.elem` and record its fingerprint.
    pub(super) fn member(&mut self, what: &str) -> Res<()> {
        let mut e = std::mem::take(&mut self.elem);
        let r = self.src.string_into(&mut e, what);
        if r.is_ok() {
            self.fps.push(fp(&e));
        }
        self.elem = e;
        r
    }

    pub(super) fn dup_check(&mut self, at: u64, what: &str) -> Res<()> {
        if self.fps.has_duplicate() {
            Err(Problem::new(at, format!("duplicate {what} detected")))
        } else {
            Ok(())
        }
    }

    /// Lenient `rdbLoadLen` for fields whose bad encoding Redis does not treat as fatal (stream metadata).
    fn len_lenient(&mut self, what: &str) -> Res<u64> {
        let at = self.src.offset();
        match self.src.len_enc(what) {
            Ok(Len::Len(n)) => Ok(n),
            Ok(Len::Enc(e)) => Ok(u64::from(e)),
            Err(p) if p.offset == at && !p.message.starts_with("unexpected end") => Ok(u64::MAX),
            Err(p) => Err(p),
        }
    }

    /// Walk the value of a key of type `t`.
    pub(super) fn value(&mut self, t: u8) -> Res<()> {
        let at = self.src.offset();
        if self.format.is_hash2(t) {
            return self.hash2(at);
        }
        match t {
            0 => {
                self.src.skip_string("a string value")?;
            }
            1 => {
                let n = self.src.len("a list length")?;
                if n == 0 {
                    return Err(empty(at));
                }
                for _ in 0..n {
                    self.src.skip_string("a list element")?;
                }
            }
            2 => {
                let n = self.src.len("a set length")?;
                if n == 0 {
                    return Err(empty(at));
                }
                self.fps.clear();
                for _ in 0..n {
                    self.member("a set member")?;
                }
                self.dup_check(at, "set members")?;
            }
            3 | 5 => self.zset(t, at)?,
            4 => {
                let n = self.src.len("a hash length")?;
                if n == 0 {
                    return Err(empty(at));
                }
                self.fps.clear();
                for _ in 0..n {
                    self.member("a hash field")?;
                    self.src.skip_string("a hash value")?;
                }
                self.dup_check(at, "hash fields")?;
            }
            22 | 24 => self.hash_metadata(t, at)?,
            14 | 18 => self.quicklist(t, at)?,
            9..=13 | 16 | 17 | 20 | 23 | 25 => self.encoded(t, at)?,
            15 | 19 | 21 => self.stream(t, at)?,
            7 => {
                self.src.len("a module type id")?;
                self.module_value()?;
            }
            6 => {
                return Err(Problem::new(
                    at,
                    "module value in the pre-GA (4.0 RC) format cannot be walked without the module",
                ));
            }
            _ => {
                return Err(Problem::new(
                    at,
                    format!("expected a value type byte, found 0x{t:02x}"),
                ));
            }
        }
        Ok(())
    }

    fn zset(&mut self, t: u8, at: u64) -> Res<()> {
        let n = self.src.len("a zset length")?;
        if n == 0 {
            return Err(empty(at));
        }
        self.fps.clear();
        for _ in 0..n {
            self.member("a zset member")?;
            let sat = self.src.offset();
            let score = if t == 5 {
                f64::from_le_bytes(self.src.array("a binary zset score")?)
            } else {
                let l = self.src.u8("a zset score length")?;
                match l {
                    253 => f64::NAN,
                    254 => f64::INFINITY,
                    255 => f64::NEG_INFINITY,
                    _ => {
                        let mut buf = [0u8; 255];
                        self.src.exact(&mut buf[..l as usize], "a zset score")?;
                        parse_lg(&buf[..l as usize])
                            .ok_or_else(|| Problem::new(sat, "zset score is not a number"))?
                    }
                }
            };
            if score.is_nan() {
                return Err(Problem::new(sat, "zset score is NaN"));
            }
        }
        self.dup_check(at, "zset members")
    }

    fn hash_metadata(&mut self, t: u8, at: u64) -> Res<()> {
        let mut min_expire = EB_EXPIRE_TIME_INVALID;
        if t == 24 {
            // An out-of-range minExpire is only logged by Redis, not fatal.
            min_expire = u64::from_le_bytes(self.src.array("a hash minExpire")?);
        }
        let n = self.src.len("a hash length")?;
        if n == 0 {
            return Err(empty(at));
        }
        self.fps.clear();
        for _ in 0..n {
            let tat = self.src.offset();
            let ttl = self.src.len("a hash field TTL")?;
            let expire_at = if t == 24 {
                if ttl != 0 {
                    ttl.wrapping_add(min_expire).wrapping_sub(1)
                } else {
                    0
                }
            } else {
                ttl
            };
            if expire_at > EB_EXPIRE_TIME_MAX as u64 {
                return Err(Problem::new(
                    tat,
                    format!("invalid hash field expireAt {expire_at}"),
                ));
            }
            let now = self.opts.now_ms;
            self.field_ttls
                .record((expire_at != 0).then_some(expire_at), now);
            self.member("a hash field")?;
            self.src.skip_string("a hash value")?;
        }
        self.dup_check(at, "hash fields")
    }

    fn quicklist(&mut self, t: u8, at: u64) -> Res<()> {
        let n = self.src.len("a quicklist node count")?;
        if n == 0 {
            return Err(empty(at));
        }
        let mut elements: u64 = 0;
        for _ in 0..n {
            let mut packed = true;
            if t == 18 {
                let cat = self.src.offset();
                match self.src.len("a quicklist container")? {
                    1 => packed = false,
                    2 => {}
                    c => {
                        return Err(Problem::new(
                            cat,
                            format!(
                                "quicklist container must be 1 (plain) or 2 (packed), found {c}"
                            ),
                        ));
                    }
                }
            }
            let nat = self.src.offset();
            if !packed {
                if self.src.skip_string("a plain quicklist node")? == 0 {
                    return Err(Problem::new(nat, "empty quicklist node"));
                }
                elements += 1;
                continue;
            }
            self.blob("a quicklist node")?;
            if self.blob.is_empty() {
                return Err(Problem::new(nat, "empty quicklist node"));
            }
            let r = if t == 18 {
                listpack::validate_deep(&self.blob, |_, _| Ok(()))
            } else {
                ziplist::validate(&self.blob, |_, _| Ok(()))
            };
            elements += u64::from(r.map_err(|m| Problem::new(nat, m))?);
        }
        if elements == 0 {
            return Err(empty(at));
        }
        Ok(())
    }

    /// Single-blob encodings: zipmap, ziplists, intset, listpacks (incl. hash-field-expiry).
    fn encoded(&mut self, t: u8, at: u64) -> Res<()> {
        if t == 25 {
            self.src.array::<8>("a hash minExpire")?;
        }
        let bat = self.blob("an encoded value blob")?;
        let blob = &self.blob;
        let fps = &mut self.fps;
        let n: u32 = match t {
            9 => ziplist::validate_zipmap(blob, fps),
            10 => ziplist::validate(blob, |_, _| Ok(())),
            11 => intset::validate(blob),
            12 | 13 => ziplist::validate_pairs(blob, fps),
            20 => listpack::validate_tuples(blob, 1, fps),
            16 | 17 => listpack::validate_tuples(blob, 2, fps),
            _ => listpack::validate_tuples(blob, 3, fps),
        }
        .map_err(|m| Problem::new(bat, m))?;
        if n == 0 {
            return Err(empty(at));
        }
        if t == 23 || t == 25 {
            let now = self.opts.now_ms;
            self.field_ttls.record_listpack_ex(&self.blob, now);
        }
        Ok(())
    }

    fn stream(&mut self, t: u8, at: u64) -> Res<()> {
        let nodes = self.src.len("a stream listpack count")?;
        self.fps.clear();
        for _ in 0..nodes {
            let kat = self.src.offset();
            self.member("a stream node key")?;
            if self.elem.len() != 16 {
                return Err(Problem::new(
                    kat,
                    format!(
                        "stream node key must be 16 bytes, found {}",
                        self.elem.len()
                    ),
                ));
            }
            let bat = self.blob("a stream listpack")?;
            listpack::validate_stream(&self.blob).map_err(|m| Problem::new(bat, m))?;
        }
        self.dup_check(at, "stream node keys")?;
        let length = self.len_lenient("a stream length")?;
        let n_meta = if t >= 19 { 7 } else { 2 };
        for _ in 0..n_meta {
            self.len_lenient("a stream id/counter")?;
        }
        if length != 0 && nodes == 0 {
            return Err(Problem::new(
                at,
                "stream length inconsistent with its listpacks",
            ));
        }
        let groups = self.src.len("a stream consumer group count")?;
        let mut group_names = Vec::new();
        let mut pel: Vec<([u8; 16], bool)> = Vec::new();
        let mut cpel: Vec<[u8; 16]> = Vec::new();
        let mut consumer_names = Vec::new();
        for _ in 0..groups {
            let gat = self.src.offset();
            self.src
                .string_into(&mut self.elem, "a consumer group name")?;
            group_names.push(fp(&self.elem));
            self.len_lenient("a consumer group id")?;
            self.len_lenient("a consumer group id")?;
            if t >= 19 {
                self.len_lenient("a consumer group offset")?;
            }
            let n = self.src.len("a consumer group PEL size")?;
            pel.clear();
            for _ in 0..n {
                let id: [u8; 16] = self.src.array("a PEL entry id")?;
                self.src.array::<8>("a PEL delivery time")?;
                self.len_lenient("a PEL delivery count")?;
                pel.push((id, false));
            }
            pel.sort_unstable();
            if pel.windows(2).any(|w| w[0].0 == w[1].0) {
                return Err(Problem::new(
                    gat,
                    "duplicated global PEL entry in a consumer group",
                ));
            }
            let consumers = self.src.len("a consumer count")?;
            consumer_names.clear();
            for _ in 0..consumers {
                let cat = self.src.offset();
                self.src.string_into(&mut self.elem, "a consumer name")?;
                consumer_names.push(fp(&self.elem));
                self.src.array::<8>("a consumer seen time")?;
                if t >= 21 {
                    self.src.array::<8>("a consumer active time")?;
                }
                let n = self.src.len("a consumer PEL size")?;
                cpel.clear();
                for _ in 0..n {
                    let id: [u8; 16] = self.src.array("a consumer PEL entry id")?;
                    match pel.binary_search_by(|e| e.0.cmp(&id)) {
                        Ok(i) => pel[i].1 = true,
                        Err(_) => {
                            return Err(Problem::new(
                                cat,
                                "consumer PEL entry not found in the group's global PEL",
                            ));
                        }
                    }
                    cpel.push(id);
                }
                cpel.sort_unstable();
                if cpel.windows(2).any(|w| w[0] == w[1]) {
                    return Err(Problem::new(cat, "duplicated consumer PEL entry"));
                }
            }
            consumer_names.sort_unstable();
            if consumer_names.windows(2).any(|w| w[0] == w[1]) {
                return Err(Problem::new(gat, "duplicate stream consumer"));
            }
            if pel.iter().any(|e| !e.1) {
                return Err(Problem::new(
                    gat,
                    "stream consumer group PEL entry without a consumer",
                ));
            }
        }
        group_names.sort_unstable();
        if group_names.windows(2).any(|w| w[0] == w[1]) {
            return Err(Problem::new(at, "duplicated consumer group name"));
        }
        Ok(())
    }
}

/// Parse the leading `%lg` number of a legacy ASCII zset score.
fn parse_lg(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?.trim_start();
    (1..=s.len())
        .rev()
        .filter(|&i| s.is_char_boundary(i))
        .find_map(|i| s[..i].parse::<f64>().ok())
}
