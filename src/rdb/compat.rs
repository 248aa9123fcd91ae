//! Pure: will an RDB file load on a given server? Decided from what the verifier saw (the
//! file's [`Format`], its value types) and the server's family and `major.minor`.
//!
//! What each server loads (each checked here by starting the server on a file, Redis 7.0.15,
//! Valkey 8.1.8 and 9.1.2; the rest from each project's `rdb.c` / `rdb.h`):
//! - Redis loads `REDIS` files up to its own RDB version (7.0: 10, 7.2: 11, 7.4 – 8.4: 12,
//!   8.6: 13, 8.8: 14, 8.10: 15) and refuses a newer one ("Can't handle RDB format version");
//!   no Redis loads Valkey 9's `VALKEY` magic ("Wrong signature").
//! - Valkey 7.2 – 8.x load `REDIS` files up to 11, and refuse `VALKEY080` by its version.
//! - Valkey 9.x load `REDIS` files up to 11 and `VALKEY` files up to their own (9.0/9.1: 80,
//!   9.2: 81). Redis RDB 12 – 79 are "foreign": refused unless `rdb-version-check relaxed`,
//!   and even then a value type Valkey does not know (Redis 7.4's hash field TTL types) stops
//!   the load.

use std::fmt;

use super::Summary;
use super::format::{self, Family, Format};
use crate::server::{Family as ServerFamily, ServerVersion};

/// A server a file is meant to load on: family and `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Server {
    /// Redis or Valkey.
    pub family: ServerFamily,
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
}

/// The servers `verify --for` names in its help: one of each RDB format in use.
pub(crate) const NAMED: &[&str] = &[
    "redis-7.0",
    "redis-7.2",
    "redis-7.4",
    "redis-8.2",
    "valkey-8.1",
    "valkey-9.1",
];

/// Value types of Redis's numbering that no Valkey knows (Redis 7.4's hash field TTLs and
/// what came after), by the verifier's type names.
const REDIS_ONLY_TYPES: &[&str] = &[
    "hash-metadata-pre-ga",
    "hash-listpack-ex-pre-ga",
    "hash-metadata",
    "hash-listpack-ex",
    "unknown",
];

impl Server {
    /// `redis-7.0`, `valkey-9.1` (a patch level is allowed and ignored: `redis-7.0.15`).
    pub fn parse(text: &str) -> Option<Server> {
        let (family, version) = text.split_once('-')?;
        let family = match family.to_ascii_lowercase().as_str() {
            "redis" => ServerFamily::Redis,
            "valkey" => ServerFamily::Valkey,
            _ => return None,
        };
        Server::of_version(family, version)
    }

    /// A live node's server, from its `INFO server` ([`ServerVersion`]); `None` when its
    /// version is not `major.minor…`.
    pub fn of(v: &ServerVersion) -> Option<Server> {
        Server::of_version(v.family, &v.version)
    }

    /// A binary's server, from its `--version` line (`Redis server v=7.0.15 sha=…`,
    /// `Valkey server v=9.1.2 …`).
    pub(crate) fn of_version_line(line: &str) -> Option<Server> {
        let family = match line.split_whitespace().next()? {
            "Redis" => ServerFamily::Redis,
            "Valkey" => ServerFamily::Valkey,
            _ => return None,
        };
        let v = line.split_whitespace().find_map(|w| w.strip_prefix("v="))?;
        Server::of_version(family, v)
    }

    fn of_version(family: ServerFamily, version: &str) -> Option<Server> {
        let mut parts = version.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        parts.all(|p| p.parse::<u32>().is_ok()).then_some(Server {
            family,
            major,
            minor,
        })
    }

    /// The newest `REDIS` RDB version this server loads.
    fn redis_max(&self) -> u32 {
        let v = (self.major, self.minor);
        match self.family {
            ServerFamily::Valkey => 11,
            ServerFamily::Redis => match v {
                v if v < (3, 2) => 6,
                v if v < (4, 0) => 7,
                v if v < (5, 0) => 8,
                v if v < (7, 0) => 9,
                v if v < (7, 2) => 10,
                v if v < (7, 4) => 11,
                v if v < (8, 6) => 12,
                v if v < (8, 8) => 13,
                v if v < (8, 10) => 14,
                _ => 15,
            },
        }
    }

    /// The newest `VALKEY` RDB version this server loads (`None`: it loads none).
    fn valkey_max(&self) -> Option<u32> {
        match (self.family, (self.major, self.minor)) {
            (ServerFamily::Valkey, v) if v >= (9, 2) => Some(81),
            (ServerFamily::Valkey, v) if v >= (9, 0) => Some(80),
            _ => None,
        }
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let family = match self.family {
            ServerFamily::Redis => "Redis",
            ServerFamily::Valkey => "Valkey",
        };
        write!(f, "{family} {}.{}", self.major, self.minor)
    }
}

/// Whether a file loads on a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It loads.
    Loads,
    /// It does not, and why (one line).
    DoesNotLoad(String),
}

impl Verdict {
    /// `loads`, or `does not load: REASON`.
    pub fn line(&self) -> String {
        match self {
            Verdict::Loads => "loads".into(),
            Verdict::DoesNotLoad(why) => format!("does not load: {why}"),
        }
    }
}

/// Whether the file the verifier summed up in `s` loads on `server`: a file that did not
/// verify loads nowhere.
pub fn check(s: &Summary, server: Server) -> Verdict {
    let magic = s.format.as_deref().map(str::as_bytes);
    let parsed = magic.and_then(|m| <&[u8; 9]>::try_from(m).ok().map(format::parse));
    match (parsed, &s.problem) {
        (Some(Ok(f)), None) if s.valid => decide(f, &s.types, server),
        (_, Some(p)) => Verdict::DoesNotLoad(format!("the file does not verify ({p})")),
        _ => Verdict::DoesNotLoad("the file does not verify".into()),
    }
}

/// Whether a file in `format`, holding keys of `types` (the verifier's names and counts),
/// loads on `server`.
pub(crate) fn decide(format: Format, types: &[(String, u64)], server: Server) -> Verdict {
    let v = format.version;
    let name = format.name();
    let no = Verdict::DoesNotLoad;
    match (format.family, server.family) {
        (Family::Valkey, ServerFamily::Redis) => no(format!(
            "{name}: Valkey's own magic {}, which no Redis loads (\"Wrong signature\")",
            format.magic()
        )),
        (Family::Valkey, ServerFamily::Valkey) => match server.valkey_max() {
            Some(max) if v <= max => Verdict::Loads,
            Some(max) => no(format!("{name} is newer than {server} loads (≤ {max})")),
            None => no(format!(
                "{name} is newer than {server} loads (Redis RDB ≤ 11; Valkey's own formats load from 9.0)"
            )),
        },
        (Family::Redis, _) if v <= server.redis_max() => Verdict::Loads,
        (Family::Redis, ServerFamily::Valkey) if let Some(own) = server.valkey_max() => {
            let unknown: Vec<String> = types
                .iter()
                .filter(|(t, n)| *n > 0 && REDIS_ONLY_TYPES.contains(&t.as_str()))
                .map(|(t, n)| format!("{t} ({n} keys)"))
                .collect();
            let then = if unknown.is_empty() {
                "it would try with `rdb-version-check relaxed`".to_string()
            } else {
                format!(
                    "even with `rdb-version-check relaxed` it stops at value types it does not know: {}",
                    unknown.join(", ")
                )
            };
            no(format!(
                "{name} is foreign to {server}, which loads Redis RDB ≤ 11 and Valkey RDB ≤ {own}; {then}"
            ))
        }
        (Family::Redis, _) => no(format!(
            "{name} is newer than {server} loads (≤ {})",
            server.redis_max()
        )),
    }
}

#[cfg(test)]
mod tests;
