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
//! # backups = ["/var/backups/redis", "s3://ops/redis"]   # optional: where its backups are kept
//! # backup_rpo = "1h"                 # optional: the newest may be this old (default 26h)
//! ```
//!
//! Each group may carry its own connection settings, with the key names of a scenario's
//! `[target]` table, in the `[[group]]` table itself or in its `[group.auth]` (not both):
//! `user`, `password_file` / `password_env`, `sentinel_user`, `sentinel_password_file` /
//! `sentinel_password_env`, `resolve = ["NAME=IP", …]` and a `tls` table (`ca`, `cert`, `key`,
//! `server_name`, `insecure`, `on`). A password itself is refused: it never goes into a file
//! that is read by others. What a group leaves unset comes from the command line's flags.
//! Every table refuses a key it does not know.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_aux::serde_introspection::serde_introspect;

use crate::addr::Addr;
use crate::conn::secret::Source;
use crate::conn::spec::{Resolve, Spec, TlsSpec};
use crate::error::{Error, Result};

/// One group of Sentinels that monitor the same masters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Group {
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
    /// The group's own connection settings (empty: the flags' serve it).
    pub conn: Spec,
    /// Where the group's backups are kept (directories, `s3://` / `gs://` prefixes).
    pub backups: Vec<String>,
    /// How old the newest good backup of a master may be.
    pub backup_rpo: Option<Duration>,
}

impl Group {
    /// Whether `master` is followed.
    pub(crate) fn follows(&self, master: &str) -> bool {
        self.masters.is_empty() || self.masters.iter().any(|m| m == master)
    }

    /// `master`'s RTO target, if any.
    pub(crate) fn rto_for(&self, master: &str) -> Option<Duration> {
        self.rto_by_master.get(master).copied().or(self.rto)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    group: Vec<GroupToml>,
}

/// One `[[group]]` table: its own keys and, inline, its connection keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupToml {
    #[serde(flatten)]
    own: GroupKeys,
    /// The group's connection settings, in the table itself…
    #[serde(flatten)]
    conn: ConnToml,
}

/// A `[[group]]` table's own keys.
#[derive(Debug, Deserialize)]
struct GroupKeys {
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
    /// …or in `[group.auth]`.
    #[serde(default)]
    auth: Option<ConnToml>,
    /// Backup destinations whose newest manifest is read.
    #[serde(default)]
    backups: Vec<String>,
    /// Backup RPO (`"1h"`).
    #[serde(default, with = "humantime_serde")]
    backup_rpo: Option<Duration>,
}

/// A group's connection keys: those of a scenario's `[target]` table.
#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConnToml {
    /// ACL user on the data nodes.
    #[serde(default)]
    user: Option<String>,
    /// File holding the data nodes' password.
    #[serde(default)]
    password_file: Option<std::path::PathBuf>,
    /// Environment variable holding the data nodes' password.
    #[serde(default)]
    password_env: Option<String>,
    /// ACL user on the Sentinels.
    #[serde(default)]
    sentinel_user: Option<String>,
    /// File holding the Sentinels' password.
    #[serde(default)]
    sentinel_password_file: Option<std::path::PathBuf>,
    /// Environment variable holding the Sentinels' password.
    #[serde(default)]
    sentinel_password_env: Option<String>,
    /// TLS (`ca`, `cert`, `key`, `server_name`, `insecure`, `on`).
    #[serde(default)]
    tls: Option<TlsSpec>,
    /// Hostname map, `["NAME=IP", …]`.
    #[serde(default)]
    resolve: Vec<String>,
    /// Refused: a password never goes into the file.
    #[serde(default)]
    password: Option<toml::Value>,
    /// Refused: a password never goes into the file.
    #[serde(default)]
    sentinel_password: Option<toml::Value>,
}

impl ConnToml {
    /// The settings these keys give; `at` names the table in errors.
    fn spec(self, at: &str) -> std::result::Result<Spec, String> {
        if self.password.is_some() || self.sentinel_password.is_some() {
            return Err(format!(
                "{at}: a password never goes into the config file; use `password_file` / \
                 `password_env` (or `sentinel_password_file` / `sentinel_password_env`)"
            ));
        }
        let source =
            |file: Option<std::path::PathBuf>, env: Option<String>, what: &str| match (file, env) {
                (Some(_), Some(_)) => Err(format!(
                    "{at}: give `{what}_file` or `{what}_env`, not both"
                )),
                (Some(f), None) => Ok(Some(Source::File(f))),
                (None, Some(e)) => Ok(Some(Source::Env(e))),
                (None, None) => Ok(None),
            };
        let resolve = self
            .resolve
            .iter()
            .map(|r| r.parse::<Resolve>().map_err(|e| format!("{at}: {e}")))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Spec {
            user: self.user,
            password: source(self.password_file, self.password_env, "password")?,
            sentinel_user: self.sentinel_user,
            sentinel_password: source(
                self.sentinel_password_file,
                self.sentinel_password_env,
                "sentinel_password",
            )?,
            tls: self.tls,
            resolve,
        })
    }
}

/// Parses a config file's text; `origin` names it in errors.
pub(crate) fn parse(text: &str, origin: &str) -> Result<Vec<Group>> {
    let file: File = toml::from_str(text).map_err(|e| {
        let message = e.message();
        // A `[[group]]` key serde could not list (the table is flattened): list them here.
        let known = if message.starts_with("unknown field") && !message.contains("expected") {
            let keys = [
                serde_introspect::<GroupKeys>(),
                serde_introspect::<ConnToml>(),
            ];
            // `password` and `sentinel_password` are read only to be refused.
            let keys: Vec<&str> = keys
                .concat()
                .into_iter()
                .filter(|k| !k.ends_with("password"))
                .collect();
            format!(", expected one of: {}", keys.join(", "))
        } else {
            String::new()
        };
        Error::Usage(format!("{origin}: {message}{known}"))
    })?;
    if file.group.is_empty() {
        return Err(Error::Usage(format!("{origin}: no [[group]]")));
    }
    let mut groups: Vec<Group> = Vec::new();
    for GroupToml { own: g, conn } in file.group {
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
        let at = format!("{origin}: group '{}'", g.name);
        let keys = match g.auth {
            Some(_) if conn != ConnToml::default() => {
                return Err(Error::Usage(format!(
                    "{at}: give connection settings in [[group]] or in [group.auth], not both"
                )));
            }
            Some(auth) => auth,
            None => conn,
        };
        let conn = keys.spec(&at).map_err(Error::Usage)?;
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
            conn,
            backups: g.backups,
            backup_rpo: g.backup_rpo,
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
    fn a_groups_connection_keys_are_read_inline_or_from_its_auth_table() {
        let text = r#"
            [[group]]
            name = "eu"
            sentinels = ["h:1"]
            user = "watcher"
            password_env = "EU_PASS"
            sentinel_password_file = "/run/eu-sentinel"
            resolve = ["redis-1=10.0.0.5"]
            backups = ["/var/backups/eu", "s3://ops/eu"]
            backup_rpo = "1h"
            [group.tls]
            ca = "/etc/ca.pem"
            server_name = "redis.eu"

            [[group]]
            name = "us"
            sentinels = ["h:2"]
            [group.auth]
            sentinel_user = "sentinel-watcher"
            sentinel_password_env = "US_SENTINEL_PASS"
            password_file = "/run/us-pass"

            [[group]]
            name = "plain"
            sentinels = ["h:3"]
        "#;
        let g = parse(text, "w").unwrap();
        let eu = &g[0].conn;
        assert_eq!(eu.user.as_deref(), Some("watcher"));
        assert_eq!(eu.password, Some(Source::Env("EU_PASS".into())));
        assert_eq!(
            eu.sentinel_password,
            Some(Source::File("/run/eu-sentinel".into()))
        );
        assert_eq!(eu.resolve[0].name, "redis-1");
        let tls = eu.tls.as_ref().unwrap();
        assert_eq!(tls.server_name.as_deref(), Some("redis.eu"));
        let us = &g[1].conn;
        assert_eq!(us.sentinel_user.as_deref(), Some("sentinel-watcher"));
        assert_eq!(us.password, Some(Source::File("/run/us-pass".into())));
        assert!(g[2].conn.is_empty());
        assert_eq!(g[0].backups, ["/var/backups/eu", "s3://ops/eu"]);
        assert_eq!(g[0].backup_rpo, Some(Duration::from_secs(3600)));
        assert_eq!((g[1].backups.len(), g[1].backup_rpo), (0, None));
    }

    #[test]
    fn unknown_keys_and_literal_passwords_are_refused_by_name() {
        let head = "[[group]]\nname = \"a\"\nsentinels = [\"h:1\"]\n";
        for (tail, want) in [
            ("pasword_env = \"X\"\n", "pasword_env"),
            (
                "[group.auth]\nsentinel_pasword_env = \"X\"\n",
                "sentinel_pasword_env",
            ),
            ("[group.tls]\nkey_file = \"k\"\n", "key_file"),
            ("[group.auth.tls]\ncafile = \"c\"\n", "cafile"),
            (
                "password = \"hunter2\"\n",
                "never goes into the config file",
            ),
            (
                "[group.auth]\nsentinel_password = \"x\"\n",
                "never goes into",
            ),
            ("password_env = \"A\"\npassword_file = \"/f\"\n", "not both"),
            ("user = \"u\"\n[group.auth]\nuser = \"v\"\n", "not both"),
            ("resolve = [\"nope\"]\n", "NAME=IP"),
        ] {
            let e = parse(&format!("{head}{tail}"), "watch.toml")
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{tail:?}: {e}");
            assert!(e.contains("watch.toml"), "{e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
        // A misspelled key of the table itself lists every key it takes.
        for tail in ["pasword_env = \"X\"\n", "mastrs = []\n"] {
            let e = parse(&format!("{head}{tail}"), "watch.toml")
                .unwrap_err()
                .to_string();
            for key in ["sentinels", "backup_rpo", "password_env", "tls", "resolve"] {
                assert!(e.contains(key), "{tail:?}: {e}");
            }
            assert!(!e.contains(", password,"), "{e}");
        }
    }
}
