//! Pure: which server family (Redis or Valkey) and version a node runs, from its `INFO server`
//! fields — plain data the drill report and `lab status` share with the probe
//! (`client::server_version`).
//!
//! Valkey answers `redis_version:7.2.4` for compatibility; it names itself in
//! `server_name:valkey` and `valkey_version`, which win.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

/// The server family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Redis (`redis_version`, no `server_name:valkey`).
    Redis,
    /// Valkey (`server_name:valkey`, `valkey_version`).
    Valkey,
}

/// A server's family and version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerVersion {
    /// Redis or Valkey.
    pub family: Family,
    /// `valkey_version` for Valkey, else `redis_version` (`unknown` when absent).
    pub version: String,
}

impl ServerVersion {
    /// The family and version in `INFO server`'s fields (as [`crate::client::parse_info`]
    /// splits them).
    pub fn from_info(info: &HashMap<String, String>) -> ServerVersion {
        let get = |k: &str| info.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let valkey = get("server_name") == Some("valkey") || get("valkey_version").is_some();
        let (family, version) = if valkey {
            (
                Family::Valkey,
                get("valkey_version").or(get("redis_version")),
            )
        } else {
            (Family::Redis, get("redis_version"))
        };
        ServerVersion {
            family,
            version: version.unwrap_or("unknown").to_string(),
        }
    }
}

impl ServerVersion {
    /// `major.minor` of the version (`7.0.15` → (7, 0)); `None` when it is not one.
    pub(crate) fn major_minor(&self) -> Option<(u32, u32)> {
        let mut parts = self.version.split('.').map(|p| p.parse::<u32>().ok());
        Some((parts.next().flatten()?, parts.next().flatten()?))
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let family = match self.family {
            Family::Redis => "redis",
            Family::Valkey => "valkey",
        };
        write!(f, "{family} {}", self.version)
    }
}

/// The servers of several nodes in one phrase: `valkey 8.1.8`, or with a mix (mid-upgrade)
/// each version and on how many nodes, `redis 7.0.15 on 2 nodes, valkey 8.1.8 on 1`. Nodes
/// that did not answer are left out; `unknown` when none did.
pub(crate) fn describe<'a>(servers: impl IntoIterator<Item = &'a ServerVersion>) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for s in servers {
        let s = s.to_string();
        match counts.iter_mut().find(|(n, _)| *n == s) {
            Some((_, c)) => *c += 1,
            None => counts.push((s, 1)),
        }
    }
    match &counts[..] {
        [] => "unknown".into(),
        [(one, _)] => one.clone(),
        _ => {
            let parts: Vec<String> = counts
                .iter()
                .enumerate()
                .map(|(i, (s, c))| match (i, c) {
                    (0, 1) => format!("{s} on 1 node"),
                    (0, c) => format!("{s} on {c} nodes"),
                    (_, c) => format!("{s} on {c}"),
                })
                .collect();
            parts.join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(fields: &[(&str, &str)]) -> HashMap<String, String> {
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn family_and_version_from_info_server() {
        let check = |fields: &[(&str, &str)], want: &str| {
            assert_eq!(ServerVersion::from_info(&info(fields)).to_string(), want);
        };
        // Redis 7.0 (captured here).
        check(
            &[("redis_version", "7.0.15"), ("redis_mode", "standalone")],
            "redis 7.0.15",
        );
        // Valkey 8.1 (captured here): a compatibility redis_version, its own name and version.
        check(
            &[
                ("redis_version", "7.2.4"),
                ("server_name", "valkey"),
                ("valkey_version", "8.1.8"),
            ],
            "valkey 8.1.8",
        );
        check(&[("valkey_version", "9.0.0")], "valkey 9.0.0");
        check(
            &[("server_name", "valkey"), ("redis_version", "7.2.4")],
            "valkey 7.2.4",
        );
        check(&[], "redis unknown");
    }

    #[test]
    fn several_nodes_in_one_phrase() {
        let v = |f, s: &str| ServerVersion {
            family: f,
            version: s.into(),
        };
        let (r, k) = (v(Family::Redis, "7.0.15"), v(Family::Valkey, "8.1.8"));
        assert_eq!(describe([&k, &k, &k]), "valkey 8.1.8");
        assert_eq!(
            describe([&r, &k, &r]),
            "redis 7.0.15 on 2 nodes, valkey 8.1.8 on 1"
        );
        assert_eq!(
            describe([&k, &r]),
            "valkey 8.1.8 on 1 node, redis 7.0.15 on 1"
        );
        assert_eq!(describe([]), "unknown");
        assert_eq!(
            serde_json::to_value(&k).unwrap(),
            serde_json::json!({"family": "valkey", "version": "8.1.8"})
        );
    }
}
