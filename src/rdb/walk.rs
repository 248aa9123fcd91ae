//! The top-level walk: header, opcodes (AUX, SELECTDB, expiries, ...), keys, EOF, checksum, stats.

use std::io::Read;

use super::dedup::Fingerprints;
use super::field_ttl::FieldTtls;
use super::format::{Family, Format};
use super::reader::{Res, Src};
use super::stats::{Glob, TtlAcc};
use super::{Checksum, DbStats, MAX_AUX, Options, Problem, Summary, header};

/// Walk state: the source, reusable scratch buffers and the running stats.
pub(super) struct Walker<'o, R: Read> {
    pub(super) src: Src<R>,
    pub(super) opts: &'o Options,
    pub(super) version: u32,
    /// The file's format (family and version), from its magic.
    pub(super) format: Format,
    /// Per-field TTLs of hashes.
    pub(super) field_ttls: FieldTtls,
    /// Scratch for embedded blobs (listpack, ziplist, intset) of the current key.
    pub(super) blob: Vec<u8>,
    /// Scratch for one member string.
    pub(super) elem: Vec<u8>,
    key: Vec<u8>,
    pub(super) fps: Fingerprints,
    pub(super) modules_skipped: u64,
    rdb_version: Option<u32>,
    redis_version: Option<String>,
    valkey_version: Option<String>,
    aux: Vec<(String, String)>,
    checksum: Checksum,
    dbs: Vec<DbStats>,
    cur_db: usize,
    keys: u64,
    with_expiry: u64,
    expired: u64,
    matching: u64,
    ttl: TtlAcc,
    types: [u64; 256],
    trailing: u64,
    trailing_unreadable: Option<String>,
}

impl<'o, R: Read> Walker<'o, R> {
    pub(super) fn new(src: Src<R>, opts: &'o Options) -> Self {
        Walker {
            src,
            opts,
            version: 0,
            format: Format {
                family: Family::Redis,
                version: 0,
            },
            field_ttls: FieldTtls::default(),
            blob: Vec::new(),
            elem: Vec::new(),
            key: Vec::new(),
            fps: Fingerprints::default(),
            modules_skipped: 0,
            rdb_version: None,
            redis_version: None,
            valkey_version: None,
            aux: Vec::new(),
            checksum: Checksum::NotReached,
            dbs: Vec::new(),
            cur_db: usize::MAX,
            keys: 0,
            with_expiry: 0,
            expired: 0,
            matching: 0,
            ttl: TtlAcc::new(),
            types: [0; 256],
            trailing: 0,
            trailing_unreadable: None,
        }
    }

    fn select_db(&mut self, index: u64) {
        self.cur_db = match self.dbs.iter().position(|d| d.index == index) {
            Some(i) => i,
            None => {
                self.dbs.push(DbStats {
                    index,
                    ..DbStats::default()
                });
                self.dbs.len() - 1
            }
        };
    }

    /// The whole walk; stats accumulate in `self` even when it fails.
    pub(super) fn run(&mut self) -> Res<()> {
        let f = header(&mut self.src)?;
        self.format = f;
        let v = f.version;
        self.version = v;
        self.rdb_version = Some(v);
        let now = i64::try_from(self.opts.now_ms).unwrap_or(i64::MAX);
        let pattern = Glob::new(self.opts.pattern.as_bytes());
        let mut expire: i64 = -1;
        loop {
            let at = self.src.offset();
            let t = self.src.u8("an opcode or value type byte")?;
            match t {
                0xfd => {
                    let s = i32::from_le_bytes(self.src.array("an EXPIRETIME")?);
                    expire = i64::from(s) * 1000;
                    continue;
                }
                0xfc => {
                    expire = i64::from_le_bytes(self.src.array("an EXPIRETIME_MS")?);
                    continue;
                }
                0xf9 => {
                    self.src.u8("a FREQ byte")?;
                    continue;
                }
                0xf8 => {
                    self.src.len("an IDLE time")?;
                    continue;
                }
                0xff => break,
                0xfe => {
                    let db = self.src.len("a SELECTDB index")?;
                    self.select_db(db);
                    continue;
                }
                0xfb => {
                    self.src.len("a RESIZEDB size")?;
                    self.src.len("a RESIZEDB size")?;
                    continue;
                }
                0xfa => {
                    self.src.string_into(&mut self.key, "an AUX key")?;
                    self.src.string_into(&mut self.elem, "an AUX value")?;
                    let k = String::from_utf8_lossy(&self.key).into_owned();
                    let val = String::from_utf8_lossy(&self.elem).into_owned();
                    match k.as_str() {
                        "redis-ver" => self.redis_version = Some(val.clone()),
                        "valkey-ver" => self.valkey_version = Some(val.clone()),
                        _ => {}
                    }
                    if self.aux.len() < MAX_AUX {
                        self.aux.push((k, val));
                    }
                    continue;
                }
                0xf7 => {
                    self.src.len("a MODULE_AUX module id")?;
                    self.src.len("a MODULE_AUX when-opcode")?;
                    self.src.len("a MODULE_AUX when")?;
                    self.module_value()?;
                    continue;
                }
                0xf5 => {
                    // FUNCTION2: one string holding the library code (not compiled here).
                    self.src.skip_string("a function library")?;
                    continue;
                }
                0xf6 => {
                    return Err(Problem::new(
                        at,
                        "function library in the Redis 7.0 release-candidate format (FUNCTION_PRE_GA) is not supported",
                    ));
                }
                0xf4 => {
                    for _ in 0..3 {
                        self.src.len("a SLOT_INFO field")?;
                    }
                    continue;
                }
                0xf3 if self.format.family == Family::Valkey => {
                    // SLOT_IMPORT: job name, then (start, end) slot ranges
                    self.src.skip_string("a SLOT_IMPORT job name")?;
                    let n = self.src.len("a SLOT_IMPORT range count")?;
                    for _ in 0..n {
                        self.src.len("a SLOT_IMPORT range start")?;
                        self.src.len("a SLOT_IMPORT range end")?;
                    }
                    continue;
                }
                0xf3 if self.format.version >= 13 => {
                    return Err(Problem::new(
                        at,
                        format!(
                            "opcode 243 (KEY_META, added in {}) is recognised but not walked by this verifier",
                            self.format.name()
                        ),
                    ));
                }
                t if self.format.is_object_type(t) => {
                    if let Some(m) = self.format.unwalked_type(t) {
                        return Err(Problem::new(at, m));
                    }
                }
                t => {
                    return Err(Problem::new(
                        at,
                        format!("expected an opcode or value type byte, found 0x{t:02x}"),
                    ));
                }
            }
            // A key/value pair of type `t`.
            self.src.string_into(&mut self.key, "a key")?;
            self.value(t).map_err(|p| {
                Problem::new(
                    p.offset,
                    format!(
                        "{} (key {:?}, type {})",
                        p.message,
                        String::from_utf8_lossy(&self.key[..self.key.len().min(64)]),
                        self.format.type_name(t)
                    ),
                )
            })?;
            if self.cur_db == usize::MAX {
                self.select_db(0);
            }
            self.keys += 1;
            self.types[t as usize] += 1;
            let db = &mut self.dbs[self.cur_db];
            db.keys += 1;
            if pattern.matches(&self.key) {
                self.matching += 1;
            }
            if expire != -1 {
                db.keys_with_expiry += 1;
                self.with_expiry += 1;
                if expire < now {
                    db.keys_expired += 1;
                    self.expired += 1;
                } else {
                    self.ttl.record((expire - now) as u64);
                }
            }
            expire = -1;
        }
        let computed = self.src.finish_crc();
        if self.version >= 5 {
            let stored = u64::from_le_bytes(self.src.array("the 8-byte checksum")?);
            self.checksum = if stored == 0 {
                Checksum::Disabled
            } else if stored == computed {
                Checksum::Ok(stored)
            } else {
                Checksum::Mismatch { stored, computed }
            };
            if let Checksum::Mismatch { .. } = self.checksum {
                return Err(Problem::new(
                    self.src.offset() - 8,
                    format!(
                        "checksum mismatch: stored 0x{stored:016x}, computed 0x{computed:016x}"
                    ),
                ));
            }
        } else {
            self.checksum = Checksum::Missing;
        }
        (self.trailing, self.trailing_unreadable) = self.src.drain();
        Ok(())
    }

    /// Walk a module value through its typed opcodes (`rdbLoadCheckModuleValue`).
    pub(super) fn module_value(&mut self) -> Res<()> {
        loop {
            let at = self.src.offset();
            match self.src.len("a module opcode")? {
                0 => break,
                1 | 2 => {
                    self.src.len("a module integer")?;
                }
                3 => {
                    self.src.array::<4>("a module float")?;
                }
                4 => {
                    self.src.array::<8>("a module double")?;
                }
                5 => {
                    self.src.skip_string("a module string")?;
                }
                op => return Err(Problem::new(at, format!("unknown module opcode {op}"))),
            }
        }
        self.modules_skipped += 1;
        Ok(())
    }

    /// Assemble the summary from the walk result and accumulated stats.
    pub(super) fn finish(self, result: Res<()>) -> Summary {
        let problem = result.err();
        let types = (0..=255u8)
            .filter(|&t| self.types[t as usize] > 0)
            .map(|t| (self.format.type_name(t).to_string(), self.types[t as usize]))
            .collect();
        Summary {
            valid: problem.is_none(),
            problem,
            rdb_version: self.rdb_version,
            format: self.rdb_version.map(|_| self.format.magic()),
            format_name: self.rdb_version.map(|_| self.format.name()),
            hash_fields_with_expiry: self.field_ttls.with_expiry,
            hash_fields_expired: self.field_ttls.expired,
            redis_version: self.redis_version,
            valkey_version: self.valkey_version,
            aux: self.aux,
            checksum: self.checksum,
            dbs: self.dbs,
            keys: self.keys,
            keys_with_expiry: self.with_expiry,
            keys_expired: self.expired,
            keys_matching: self.matching,
            ttl_ms: self.ttl.finish(),
            types,
            modules_skipped: self.modules_skipped,
            bytes: self.src.offset(),
            trailing_bytes: self.trailing,
            trailing_unreadable: self.trailing_unreadable,
        }
    }
}
