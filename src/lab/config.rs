//! Pure: the lab's settings and the `redis.conf` / `sentinel.conf` text they produce.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::conn::secret::{Secret, Source};
use crate::conn::spec::{Spec, TlsOn, TlsSpec};

/// Sentinel settings for a lab, all overridable (defaults tuned for fast, repeatable drills).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SentinelSettings {
    /// Master name the Sentinels monitor.
    pub master: String,
    /// Sentinels that must agree the master is down.
    pub quorum: u32,
    /// `down-after-milliseconds`: silence before a Sentinel flags an instance down.
    #[serde(with = "humantime_serde")]
    pub down_after: Duration,
    /// `failover-timeout`.
    #[serde(with = "humantime_serde")]
    pub failover_timeout: Duration,
    /// `parallel-syncs`: replicas reconfigured at once after a failover.
    pub parallel_syncs: u32,
    /// Nodes' `min-replicas-to-write`: a primary with fewer replicas acking within
    /// `min_replicas_max_lag` refuses writes (0: off, the Redis default).
    pub min_replicas_to_write: u32,
    /// Nodes' `min-replicas-max-lag` (whole seconds, at least 1).
    #[serde(with = "humantime_serde")]
    pub min_replicas_max_lag: Duration,
    /// Sentinel's ping period, which also spaces its reconnects to an instance (`SENTINEL
    /// DEBUG ping-period`, Redis ≥ 7.0; default 1 s). Longer than `down_after`, a Sentinel
    /// that switches to a new primary judges it down before its new link opens: a failover
    /// follows every failover (`scenarios/second-failover.toml`). `None`: half of
    /// `down_after` when that is 1 s or less (so the lab does not lose that race by chance),
    /// else the server's own.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub reconnect_period: Option<Duration>,
    /// How often each Sentinel sends `INFO` to each node (`SENTINEL DEBUG info-period`; the
    /// server's own: 10 s, 1 s while a failover is on). A returning old primary is converted to
    /// a replica on the first `INFO` after `publish_period` × 4: with both shorter, a kill
    /// trial's rejoin takes ~2 s instead of ~11 s (the test suite's labs); leave both unset to
    /// drill the timing a deployment has. `None`: the server's own.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub info_period: Option<Duration>,
    /// The hello publish period (`SENTINEL DEBUG publish-period`; the server's own: 2 s).
    /// `None`: the server's own.
    #[serde(
        default,
        with = "humantime_serde",
        skip_serializing_if = "Option::is_none"
    )]
    pub publish_period: Option<Duration>,
}

impl Default for SentinelSettings {
    fn default() -> Self {
        SentinelSettings {
            master: "mymaster".into(),
            quorum: 2,
            down_after: Duration::from_millis(1000),
            failover_timeout: Duration::from_millis(10_000),
            parallel_syncs: 1,
            min_replicas_to_write: 0,
            min_replicas_max_lag: Duration::from_secs(10),
            reconnect_period: None,
            info_period: None,
            publish_period: None,
        }
    }
}

/// The ACL user `lab up --auth` creates on the nodes, and warden then connects as.
pub(crate) const LAB_USER: &str = "warden";

/// The rules of [`LAB_USER`]: every command warden runs on a data node (the union of the
/// per-command minimal ACLs in the book, docs/book/src/acls.md), on the session keys only.
pub(crate) const LAB_USER_RULES: &str = "~session:* &* -@all +ping +role +info +set +get +pttl +dbsize \
     +scan +debug +replconf +sync +bgsave +config|get +client|list +acl|dryrun";

/// Where a secured lab keeps its secrets and certificates (paths in the lab directory; the
/// values never enter `lab.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Security {
    /// `--auth`: the password files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthFiles>,
    /// `--tls`: the certificate files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsFiles>,
}

/// The password files of a lab with `--auth`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthFiles {
    /// The ACL user warden connects to the nodes as.
    pub user: String,
    /// Its password.
    pub password_file: PathBuf,
    /// The nodes' `default` user (`requirepass`, `masterauth`, Sentinels' `auth-pass`).
    pub admin_password_file: PathBuf,
    /// The Sentinels' own `requirepass` (and `sentinel-pass`).
    pub sentinel_password_file: PathBuf,
}

/// The certificate files of a lab with `--tls`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsFiles {
    /// The throw-away CA.
    pub ca: PathBuf,
    /// The servers' certificate (nodes and Sentinels).
    pub server_cert: PathBuf,
    /// Its key.
    pub server_key: PathBuf,
    /// A client certificate for warden.
    pub client_cert: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
    /// The name the server certificate carries, when warden connects by an address the
    /// certificate does not name (container IPs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
}

impl Security {
    /// The connection settings that reach a lab secured this way.
    pub(crate) fn conn_spec(&self) -> Spec {
        Spec {
            user: self.auth.as_ref().map(|a| a.user.clone()),
            password: self
                .auth
                .as_ref()
                .map(|a| Source::File(a.password_file.clone())),
            sentinel_user: None,
            sentinel_password: self
                .auth
                .as_ref()
                .map(|a| Source::File(a.sentinel_password_file.clone())),
            tls: self.tls.as_ref().map(|t| TlsSpec {
                ca: Some(t.ca.clone()),
                cert: Some(t.client_cert.clone()),
                key: Some(t.client_key.clone()),
                server_name: t.server_name.clone(),
                insecure: false,
                on: TlsOn::Both,
            }),
            resolve: Vec::new(),
        }
    }
}

/// The secrets of a lab with `--auth`, to write into its 0600 config files.
#[derive(Debug, Clone)]
pub(crate) struct Secrets {
    /// [`LAB_USER`]'s password.
    pub user: Secret,
    /// The nodes' `default` user.
    pub admin: Secret,
    /// The Sentinels'.
    pub sentinel: Secret,
}

/// A node's `--auth` lines: `requirepass` and `masterauth` for the `default` user, and the
/// ACL user warden connects as.
pub(crate) fn node_auth_lines(s: &Secrets) -> String {
    format!(
        "requirepass {admin}\nmasterauth {admin}\nuser {LAB_USER} on >{user} {LAB_USER_RULES}\n",
        admin = s.admin.expose(),
        user = s.user.expose(),
    )
}

/// A Sentinel's `--auth` lines (after its `sentinel monitor` line): its own `requirepass`,
/// the password other Sentinels expect, and the nodes' password.
pub(crate) fn sentinel_auth_lines(master: &str, s: &Secrets) -> String {
    format!(
        "requirepass {sp}\nsentinel sentinel-pass {sp}\nsentinel auth-pass {master} {admin}\n",
        sp = s.sentinel.expose(),
        admin = s.admin.expose(),
    )
}

/// `--tls` lines for a node or Sentinel on `port`: TLS only (`port 0`), replication and
/// Sentinel links over TLS too; clients may present a certificate.
pub(crate) fn tls_lines(port: u16, t: &TlsFiles) -> String {
    format!(
        "port 0\ntls-port {port}\ntls-cert-file {cert}\ntls-key-file {key}\n\
         tls-ca-cert-file {ca}\ntls-auth-clients optional\ntls-replication yes\n",
        cert = t.server_cert.display(),
        key = t.server_key.display(),
        ca = t.ca.display(),
    )
}

/// `redis.conf` for a lab node; `primary` is `None` for the primary itself.
pub(crate) fn node_conf(port: u16, dir: &Path, primary: Option<u16>) -> String {
    let mut c = format!(
        "port {port}\n\
         bind 127.0.0.1\n\
         dir {dir}\n\
         daemonize no\n\
         appendonly yes\n\
         appendfsync everysec\n\
         save \"\"\n\
         repl-diskless-sync-delay 0\n\
         enable-debug-command yes\n",
        dir = dir.display()
    );
    if let Some(p) = primary {
        c.push_str(&format!("replicaof 127.0.0.1 {p}\n"));
    }
    c
}

/// The nodes' write-safety settings as `(name, value)` config pairs.
pub(crate) fn write_limits(s: &SentinelSettings) -> [(&'static str, String); 2] {
    [
        ("min-replicas-to-write", s.min_replicas_to_write.to_string()),
        (
            "min-replicas-max-lag",
            s.min_replicas_max_lag.as_secs().max(1).to_string(),
        ),
    ]
}

/// `sentinel.conf` for a lab Sentinel watching the primary on `primary_port`.
pub(crate) fn sentinel_conf(
    port: u16,
    dir: &Path,
    primary_port: u16,
    s: &SentinelSettings,
) -> String {
    format!(
        "port {port}\n\
         bind 127.0.0.1\n\
         dir {dir}\n\
         daemonize no\n{monitor}",
        dir = dir.display(),
        monitor = monitor_lines("127.0.0.1", primary_port, s),
    )
}

/// The `sentinel monitor` line for the primary at `host:port` and the master's settings
/// (shared by the process lab and the docker stack).
pub(crate) fn monitor_lines(host: &str, port: u16, s: &SentinelSettings) -> String {
    let m = &s.master;
    format!(
        "sentinel monitor {m} {host} {port} {quorum}\n\
         sentinel down-after-milliseconds {m} {down}\n\
         sentinel failover-timeout {m} {fo}\n\
         sentinel parallel-syncs {m} {ps}\n",
        quorum = s.quorum,
        down = s.down_after.as_millis(),
        fo = s.failover_timeout.as_millis(),
        ps = s.parallel_syncs,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_follow_the_primary_and_sentinels_use_the_settings() {
        let dir = Path::new("/tmp/lab/n");
        assert!(!node_conf(7100, dir, None).contains("replicaof"));
        let r = node_conf(7101, dir, Some(7100));
        assert!(r.contains("replicaof 127.0.0.1 7100\n"));
        assert!(r.contains("repl-diskless-sync-delay 0\n"));
        let s = sentinel_conf(7110, dir, 7100, &SentinelSettings::default());
        assert!(s.contains("sentinel monitor mymaster 127.0.0.1 7100 2\n"));
        assert!(s.contains("sentinel down-after-milliseconds mymaster 1000\n"));
        assert!(s.contains("sentinel failover-timeout mymaster 10000\n"));
    }
}
