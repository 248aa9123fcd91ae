//! Pure: the `watch --config` file — several independent Sentinel groups, each with its
//! Sentinels, the masters to follow and per-master RTO targets — read from TOML text.
//!
//! ```toml
//! [[group]]
//! name = "eu"
//! sentinels = ["10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"]
//! masters = ["orders", "sessions"]   # optional: default every master the Sentinels monitor
//! rto_ms = 5000                      # optional: the group's default target
//! [group.rto_ms_by_master]           # optional: per-master targets
//! orders = 2000
//! # [group.auth] is reserved for credentials and TLS (not read yet).
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::addr::Addr;
use crate::error::{Error, Result};

/// One group of Sentinels that monitor the same masters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The group's name (printed with each of its masters).
    pub name: String,
    /// Its Sentinels.
    pub sentinels: Vec<Addr>,
    /// The masters to follow; empty: every master they monitor (`SENTINEL MASTERS`).
    pub masters: Vec<String>,
    /// RTO target of masters without their own.
    pub rto: Option<Duration>,
    /// Per-master RTO targets.
    pub rto_by_master: BTreeMap<String, Duration>,
}

impl Group {
    /// Whether `master` is followed.
    pub fn follows(&self, master: &str) -> bool {
        self.masters.is_empty() || self.masters.iter().any(|m| m == master)
    }

    /// `master`'s RTO target, if any.
    pub fn rto_for(&self, master: &str) -> Option<Duration> {
        self.rto_by_master.get(master).copied().or(self.rto)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    group: Vec<GroupToml>,
}

/// One `[[group]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupToml {
    /// Name, unique in the file.
    name: String,
    /// `host:port` of each Sentinel.
    sentinels: Vec<Addr>,
    /// Masters to follow (default: all).
    #[serde(default)]
    masters: Vec<String>,
    /// The group's default RTO target, ms.
    rto_ms: Option<u64>,
    /// Per-master RTO targets, ms.
    #[serde(default)]
    rto_ms_by_master: BTreeMap<String, u64>,
    /// Reserved: credentials and TLS for this group's connections.
    #[serde(default)]
    auth: Option<toml::Table>,
}

/// Parses a config file's text; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Vec<Group>> {
    let file: File =
        toml::from_str(text).map_err(|e| Error::Usage(format!("{origin}: {}", e.message())))?;
    if file.group.is_empty() {
        return Err(Error::Usage(format!("{origin}: no [[group]]")));
    }
    let mut groups: Vec<Group> = Vec::new();
    for g in file.group {
        if g.sentinels.is_empty() {
            return Err(Error::Usage(format!(
                "{origin}: group '{}' has no sentinels",
                g.name
            )));
        }
        if groups.iter().any(|x| x.name == g.name) {
            return Err(Error::Usage(format!(
                "{origin}: group '{}' appears twice",
                g.name
            )));
        }
        // `g.auth` is reserved for the connection settings; not read yet.
        let _ = g.auth;
        groups.push(Group {
            name: g.name,
            sentinels: g.sentinels,
            masters: g.masters,
            rto: g.rto_ms.map(Duration::from_millis),
            rto_by_master: g
                .rto_ms_by_master
                .into_iter()
                .map(|(m, ms)| (m, Duration::from_millis(ms)))
                .collect(),
        });
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_with_targets_are_read() {
        let text = r#"
            [[group]]
            name = "eu"
            sentinels = ["127.0.0.1:26379", "127.0.0.1:26380"]
            masters = ["orders"]
            rto_ms = 5000
            [group.rto_ms_by_master]
            orders = 2000

            [[group]]
            name = "us"
            sentinels = ["10.0.0.1:26379"]
        "#;
        let g = parse(text, "watch.toml").unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].sentinels.len(), 2);
        assert_eq!(g[0].rto_for("orders"), Some(Duration::from_millis(2000)));
        assert_eq!(g[0].rto_for("other"), Some(Duration::from_millis(5000)));
        assert!(g[0].follows("orders") && !g[0].follows("other"));
        assert!(g[1].follows("anything"));
        assert_eq!(g[1].rto_for("x"), None);
    }

    #[test]
    fn bad_files_are_usage_errors_naming_the_file() {
        for (text, want) in [
            ("", "no [[group]]"),
            (
                "[[group]]\nname = \"a\"\nsentinels = []\n",
                "has no sentinels",
            ),
            (
                "[[group]]\nname = \"a\"\nsentinels = [\"x\"]\n",
                "watch.toml",
            ),
            (
                "[[group]]\nname = \"a\"\nsentinels = [\"h:1\"]\nbogus = 1\n",
                "bogus",
            ),
            (
                "[[group]]\nname = \"a\"\nsentinels = [\"h:1\"]\n[[group]]\nname = \"a\"\nsentinels = [\"h:2\"]\n",
                "appears twice",
            ),
        ] {
            let e = parse(text, "watch.toml").unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
            assert!(e.contains("watch.toml"), "{e}");
        }
    }

    #[test]
    fn the_auth_table_is_reserved_and_accepted() {
        let text = "[[group]]\nname = \"a\"\nsentinels = [\"h:1\"]\n[group.auth]\nuser = \"x\"\n";
        assert_eq!(parse(text, "w").unwrap().len(), 1);
    }
}
