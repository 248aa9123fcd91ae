//! Pure: what the user asked for — who to authenticate as on the data nodes and on the
//! Sentinels, TLS and the hostname map — as plain data, before any file or variable is read.
//! Flags, a scenario's `[target]` and a lab's `lab.json` all become a [`Spec`].

use core::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::secret::Source;

/// Connection settings as given: secrets by [`Source`], TLS files by path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spec {
    /// ACL user on the data nodes (`default` when `None`).
    pub user: Option<String>,
    /// Password on the data nodes.
    pub password: Option<Source>,
    /// ACL user on the Sentinels (`default` when `None`).
    pub sentinel_user: Option<String>,
    /// Password on the Sentinels (their own `requirepass` or ACL user).
    pub sentinel_password: Option<Source>,
    /// TLS, if any.
    pub tls: Option<TlsSpec>,
    /// Hostname map: a host a Sentinel announces (or that is given) → the IP to connect to.
    pub resolve: Vec<Resolve>,
}

impl Spec {
    /// Whether nothing is set (plain TCP, no password).
    pub fn is_empty(&self) -> bool {
        *self == Spec::default()
    }

    /// `self`, with every field it leaves unset taken from `base` (a lab's recorded settings
    /// under what the command line or scenario gives).
    pub fn or(self, base: Spec) -> Spec {
        let same_user = self.user.is_none() && self.password.is_none();
        let same_sentinel = self.sentinel_user.is_none() && self.sentinel_password.is_none();
        Spec {
            user: if same_user { base.user } else { self.user },
            password: if same_user {
                base.password
            } else {
                self.password
            },
            sentinel_user: if same_sentinel {
                base.sentinel_user
            } else {
                self.sentinel_user
            },
            sentinel_password: if same_sentinel {
                base.sentinel_password
            } else {
                self.sentinel_password
            },
            tls: self.tls.or(base.tls),
            resolve: if self.resolve.is_empty() {
                base.resolve
            } else {
                self.resolve
            },
        }
    }
}

impl Spec {
    /// `self`, with `found` (hostnames discovered, e.g. a compose stack's containers) added
    /// to the hostname map under the entries given: a name already mapped keeps its IP.
    pub fn with_hosts(mut self, found: impl IntoIterator<Item = (String, IpAddr)>) -> Spec {
        for (name, ip) in found {
            if !self.resolve.iter().any(|r| r.name == name) {
                self.resolve.push(Resolve { name, ip });
            }
        }
        self
    }
}

/// Which connections use TLS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TlsOn {
    /// Data nodes and Sentinels.
    #[default]
    Both,
    /// Data nodes only (Sentinels in plain TCP).
    Nodes,
    /// Sentinels only (data nodes in plain TCP).
    Sentinels,
}

impl TlsOn {
    /// Whether connections to data nodes use TLS.
    pub fn nodes(self) -> bool {
        matches!(self, TlsOn::Both | TlsOn::Nodes)
    }

    /// Whether connections to Sentinels use TLS.
    pub fn sentinels(self) -> bool {
        matches!(self, TlsOn::Both | TlsOn::Sentinels)
    }
}

/// TLS settings (a scenario's `[target.tls]`, or the `--tls*` flags).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    /// PEM file of the CA(s) that sign the servers' certificates (default: the system's).
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// PEM client certificate, for servers with `tls-auth-clients yes`.
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// PEM private key of `cert`.
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// The name the servers' certificates must carry (default: the host connected to).
    #[serde(default)]
    pub server_name: Option<String>,
    /// Accept any server certificate. Off by default; for throw-away test setups only.
    #[serde(default)]
    pub insecure: bool,
    /// Which connections use TLS.
    #[serde(default)]
    pub on: TlsOn,
}

/// One `NAME=IP` entry of the hostname map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolve {
    /// The host name as announced or given.
    pub name: String,
    /// The IP to connect to instead of resolving `name`.
    pub ip: IpAddr,
}

impl std::str::FromStr for Resolve {
    type Err = String;

    fn from_str(s: &str) -> Result<Resolve, String> {
        let (name, ip) = s
            .split_once('=')
            .ok_or_else(|| format!("resolve entry {s:?} is not NAME=IP"))?;
        let name = name.trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(format!("resolve entry {s:?} has an invalid name"));
        }
        let ip = ip
            .trim()
            .parse()
            .map_err(|_| format!("resolve entry {s:?}: {ip:?} is not an IP address"))?;
        Ok(Resolve {
            name: name.to_string(),
            ip,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::Secret;

    #[test]
    fn resolve_entries_parse_like_curls() {
        let r: Resolve = "redis-1.internal=10.0.0.5".parse().unwrap();
        assert_eq!(r.name, "redis-1.internal");
        assert_eq!(r.ip.to_string(), "10.0.0.5");
        for bad in ["noequals", "=10.0.0.1", "a=b", "a b=1.2.3.4"] {
            assert!(bad.parse::<Resolve>().is_err(), "{bad}");
        }
    }

    #[test]
    fn given_settings_win_over_a_labs_and_auth_pairs_stay_together() {
        let lab = Spec {
            user: Some("warden".into()),
            password: Some(Source::File("/lab/warden.pass".into())),
            tls: Some(TlsSpec::default()),
            ..Spec::default()
        };
        let given = Spec {
            password: Some(Source::Value(Secret::new("x"))),
            ..Spec::default()
        };
        let merged = given.or(lab.clone());
        assert_eq!(
            merged.user, None,
            "a password given alone is the default user's"
        );
        assert_eq!(merged.tls, Some(TlsSpec::default()));
        assert_eq!(Spec::default().or(lab.clone()), lab);
    }

    #[test]
    fn discovered_hosts_fill_the_map_and_given_entries_win() {
        let given = Spec {
            resolve: vec!["redis-primary=10.0.0.9".parse().unwrap()],
            ..Spec::default()
        };
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let merged = given.with_hosts([
            ("redis-primary".to_string(), ip("172.20.0.2")),
            ("sentinel-1".to_string(), ip("172.20.0.5")),
        ]);
        let got: Vec<String> = merged
            .resolve
            .iter()
            .map(|r| format!("{}={}", r.name, r.ip))
            .collect();
        assert_eq!(got, ["redis-primary=10.0.0.9", "sentinel-1=172.20.0.5"]);
    }
}
