//! Pure: the docker lab's built-in definition — its six services, their roles, labels,
//! names, commands and the Sentinel config text. It is the one source of truth for
//! `warden lab up --backend docker`; `compose/docker-compose.yml` mirrors it for people
//! (same services, roles, labels and Redis settings), and `tests/docker_lab.rs` checks that
//! the two agree.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::config::{self, SentinelSettings, TlsFiles, write_limits};
use crate::docker::select::{CHAOS_ALLOWED, LABEL_CHAOS, LABEL_PROJECT, LABEL_ROLE, LABEL_SERVICE};

/// Label naming the warden lab that created a container, network or volume (its lab id).
pub const LABEL_LAB: &str = "io.warden.lab";
/// The port every node listens on inside its container.
pub(crate) const NODE_PORT: u16 = 6379;
/// The port every Sentinel listens on inside its container.
pub(crate) const SENTINEL_PORT: u16 = 26379;
/// Where data and the Sentinel config live inside a container (a named volume).
pub(crate) const DATA_DIR: &str = "/data";
/// The Sentinel's config file, written into its volume before it starts.
pub(crate) const SENTINEL_CONF: &str = "sentinel.conf";

/// What a container of the stack is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The node that starts as the primary.
    Primary,
    /// A node that starts as a replica of the primary.
    Replica,
    /// A Sentinel.
    Sentinel,
}

impl Role {
    /// The value of the role label ([`LABEL_ROLE`]).
    pub fn name(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Replica => "replica",
            Role::Sentinel => "sentinel",
        }
    }

    /// The port this role listens on.
    pub fn port(self) -> u16 {
        match self {
            Role::Sentinel => SENTINEL_PORT,
            Role::Primary | Role::Replica => NODE_PORT,
        }
    }
}

/// One service of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// Service name: network alias, compose service label and container-name suffix.
    pub name: &'static str,
    /// What it is.
    pub role: Role,
}

/// The stack, in start order: the primary, two replicas, three Sentinels.
pub const SERVICES: [Service; 6] = [
    Service {
        name: "redis-primary",
        role: Role::Primary,
    },
    Service {
        name: "redis-replica-1",
        role: Role::Replica,
    },
    Service {
        name: "redis-replica-2",
        role: Role::Replica,
    },
    Service {
        name: "sentinel-1",
        role: Role::Sentinel,
    },
    Service {
        name: "sentinel-2",
        role: Role::Sentinel,
    },
    Service {
        name: "sentinel-3",
        role: Role::Sentinel,
    },
];

/// The compose project name of lab `lab_id` (also its network's name).
pub(crate) fn project(lab_id: &str) -> String {
    format!("warden-{lab_id}")
}

/// The container name of `service` in lab `lab_id`.
pub(crate) fn container_name(lab_id: &str, service: &str) -> String {
    format!("warden-{lab_id}-{service}")
}

/// The data volume of `service` in lab `lab_id`.
pub(crate) fn volume_name(lab_id: &str, service: &str) -> String {
    format!("warden-{lab_id}-{service}-data")
}

/// Labels of the lab's network and volumes.
pub(crate) fn lab_labels(lab_id: &str) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_LAB.to_string(), lab_id.to_string()),
        (LABEL_PROJECT.to_string(), project(lab_id)),
    ])
}

/// Labels of a container: the lab's, plus role, service and the chaos opt-in.
pub fn container_labels(lab_id: &str, service: &Service) -> HashMap<String, String> {
    let mut l = lab_labels(lab_id);
    l.insert(LABEL_ROLE.into(), service.role.name().into());
    l.insert(LABEL_SERVICE.into(), service.name.into());
    l.insert(LABEL_CHAOS.into(), CHAOS_ALLOWED.into());
    l
}

/// The command of a node container; `primary_ip` is `None` for the primary itself.
/// Protected mode is off because the nodes are reached over the network (the official
/// image's entrypoint does the same).
pub(crate) fn node_cmd(primary_ip: Option<&str>, s: &SentinelSettings) -> Vec<String> {
    let port = NODE_PORT.to_string();
    let mut c: Vec<String> = [
        "redis-server",
        "--port",
        &port,
        "--protected-mode",
        "no",
        "--dir",
        DATA_DIR,
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--repl-diskless-sync-delay",
        "0",
        "--enable-debug-command",
        "yes",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    for (k, v) in write_limits(s) {
        c.extend([format!("--{k}"), v]);
    }
    if let Some(ip) = primary_ip {
        c.extend(["--replicaof".into(), ip.into(), port]);
    }
    c
}

/// Where a secured lab's container keeps its own private files (a node's config with its
/// secrets, the TLS certificates and key): outside the data volume, so nothing copied out of
/// `/data` (backups, restore checkpoints) carries them.
pub(crate) const SECURE_DIR: &str = "/etc/warden";
/// A secured node's config file, in [`SECURE_DIR`].
pub(crate) const NODE_CONF: &str = "redis.conf";

/// The command of a secured lab's node: everything, secrets included, is in its config file
/// (never in `Config.Cmd`, which `docker inspect` shows).
pub(crate) fn node_conf_cmd() -> Vec<String> {
    vec!["redis-server".into(), format!("{SECURE_DIR}/{NODE_CONF}")]
}

/// A command's `--name value…` options as config-file lines (`name value…`).
pub(crate) fn as_conf(cmd: &[String]) -> String {
    let mut out = String::new();
    for arg in cmd.iter().skip(1) {
        match arg.strip_prefix("--") {
            Some(name) => {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(name);
            }
            None if arg.is_empty() => out.push_str(" \"\""),
            None => {
                out.push(' ');
                out.push_str(arg);
            }
        }
    }
    out.push('\n');
    out
}

/// The lab's TLS files as a container sees them, in [`SECURE_DIR`]`/tls`.
pub(crate) fn container_tls(t: &TlsFiles) -> TlsFiles {
    let at = |f: &str| PathBuf::from(format!("{SECURE_DIR}/tls/{f}"));
    TlsFiles {
        ca: at("ca.crt"),
        server_cert: at("server.crt"),
        server_key: at("server.key"),
        client_cert: at("client.crt"),
        client_key: at("client.key"),
        server_name: t.server_name.clone(),
    }
}

/// The command of a Sentinel container: its config is a writable file in its own volume.
pub(crate) fn sentinel_cmd() -> Vec<String> {
    vec![
        "redis-server".into(),
        format!("{DATA_DIR}/{SENTINEL_CONF}"),
        "--sentinel".into(),
    ]
}

/// `sentinel.conf` for a Sentinel container monitoring the primary at `primary_ip`.
///
/// Sentinels announce IPs (`announce-hostnames` stays off): warden runs on the host, where
/// container names do not resolve but the user network's IPs are routed.
pub(crate) fn sentinel_conf(primary_ip: &str, s: &SentinelSettings) -> String {
    format!(
        "port {SENTINEL_PORT}\n\
         dir {DATA_DIR}\n\
         sentinel resolve-hostnames yes\n{monitor}",
        monitor = config::monitor_lines(primary_ip, NODE_PORT, s),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stack_is_one_primary_two_replicas_three_sentinels() {
        let count = |r| SERVICES.iter().filter(|s| s.role == r).count();
        assert_eq!(
            (
                count(Role::Primary),
                count(Role::Replica),
                count(Role::Sentinel)
            ),
            (1, 2, 3)
        );
        assert_eq!(SERVICES[0].role, Role::Primary, "the primary starts first");
    }

    #[test]
    fn every_container_is_labelled_for_its_lab_and_opted_in() {
        let l = container_labels("ab12", &SERVICES[3]);
        assert_eq!(l[LABEL_LAB], "ab12");
        assert_eq!(l[LABEL_PROJECT], "warden-ab12");
        assert_eq!(l[LABEL_ROLE], "sentinel");
        assert_eq!(l[LABEL_SERVICE], "sentinel-1");
        assert_eq!(l[LABEL_CHAOS], CHAOS_ALLOWED);
        assert_eq!(
            container_name("ab12", "sentinel-1"),
            "warden-ab12-sentinel-1"
        );
        assert_eq!(
            volume_name("ab12", "sentinel-1"),
            "warden-ab12-sentinel-1-data"
        );
    }

    #[test]
    fn replicas_follow_the_primary_ip_and_sentinels_monitor_it() {
        let s = SentinelSettings::default();
        assert!(!node_cmd(None, &s).contains(&"--replicaof".to_string()));
        let r = node_cmd(Some("172.20.0.2"), &s).join(" ");
        assert!(
            r.contains("--min-replicas-to-write 0 --min-replicas-max-lag 10"),
            "{r}"
        );
        assert!(r.ends_with("--replicaof 172.20.0.2 6379"), "{r}");
        assert!(r.contains("--appendfsync everysec"));
        let s = sentinel_conf("172.20.0.2", &SentinelSettings::default());
        assert!(s.contains("sentinel monitor mymaster 172.20.0.2 6379 2\n"));
        assert!(s.contains("sentinel down-after-milliseconds mymaster 1000\n"));
        assert!(!s.contains("announce-hostnames"));
        assert_eq!(
            sentinel_cmd().join(" "),
            "redis-server /data/sentinel.conf --sentinel"
        );
    }

    #[test]
    fn a_secured_node_takes_its_command_as_a_config_file() {
        let s = SentinelSettings::default();
        let conf = as_conf(&node_cmd(Some("172.20.0.2"), &s));
        assert!(
            conf.starts_with("port 6379\nprotected-mode no\ndir /data\n"),
            "{conf}"
        );
        assert!(conf.ends_with("replicaof 172.20.0.2 6379\n"), "{conf}");
        assert_eq!(
            node_conf_cmd().join(" "),
            "redis-server /etc/warden/redis.conf"
        );
        let t = TlsFiles {
            ca: "/lab/tls/ca.crt".into(),
            server_cert: "/lab/tls/server.crt".into(),
            server_key: "/lab/tls/server.key".into(),
            client_cert: "/lab/tls/client.crt".into(),
            client_key: "/lab/tls/client.key".into(),
            server_name: Some("warden-lab".into()),
        };
        let inside = container_tls(&t);
        assert_eq!(
            inside.server_key,
            PathBuf::from("/etc/warden/tls/server.key")
        );
        assert_eq!(inside.server_name.as_deref(), Some("warden-lab"));
    }
}
