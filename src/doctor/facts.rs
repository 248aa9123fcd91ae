//! Pure: what `warden doctor` saw on a deployment — each Sentinel's answers and each data
//! node's `INFO` and config — as plain data the checks read. The gather in [`super`] fills it.

use std::collections::{BTreeMap, HashMap};

use crate::addr::Addr;
use crate::sentinel::view::{MasterView, ReplicaView};

/// Everything gathered, in the order the Sentinels were given and the nodes were found.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Facts {
    /// The master name.
    pub master: String,
    /// One entry per Sentinel given.
    pub sentinels: Vec<SentinelFacts>,
    /// The primary most Sentinels name (ties: the first Sentinel's).
    pub primary: Option<Addr>,
    /// The primary, then every replica any Sentinel lists.
    pub nodes: Vec<NodeFacts>,
    /// The primary's replication stream rate, sampled twice.
    pub write_rate: Option<Rate>,
}

/// Bytes added to the primary's `master_repl_offset` over a measured interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rate {
    /// Offset difference.
    pub bytes: i64,
    /// Interval between the two samples.
    pub over_ms: u64,
}

impl Rate {
    /// Bytes per second (`None` for an empty interval).
    pub(crate) fn per_sec(&self) -> Option<f64> {
        (self.over_ms > 0).then(|| self.bytes.max(0) as f64 * 1000.0 / self.over_ms as f64)
    }
}

/// One Sentinel: its address, and its answers or why it gave none.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SentinelFacts {
    /// As given.
    pub addr: Addr,
    /// Its answers, or the error that stopped them.
    pub answer: Result<SentinelAnswer, String>,
}

/// What one Sentinel said.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SentinelAnswer {
    /// `redis_version` from `INFO server`.
    pub version: String,
    /// `SENTINEL MASTER`.
    pub master: MasterView,
    /// The master's settings from the same reply.
    pub settings: MasterSettings,
    /// `SENTINEL REPLICAS`.
    pub replicas: Vec<ReplicaView>,
    /// `SENTINEL SENTINELS`: the other Sentinels it knows.
    pub peers: Vec<Peer>,
    /// `SENTINEL CKQUORUM`: `Ok(text)` or `Err(why not)`.
    pub ckquorum: Result<String, String>,
    /// `SENTINEL CONFIG GET` of `resolve-hostnames` and `announce-hostnames` (those read).
    pub config: BTreeMap<String, String>,
}

/// Another Sentinel as one Sentinel sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Peer {
    /// Its announced address.
    pub addr: Addr,
    /// Its flags, e.g. `sentinel` or `s_down,sentinel,disconnected`.
    pub flags: String,
}

impl Peer {
    /// Not flagged down or disconnected.
    pub(crate) fn up(&self) -> bool {
        !self
            .flags
            .split(',')
            .any(|f| matches!(f, "s_down" | "o_down" | "disconnected"))
    }

    /// One entry of a `SENTINEL SENTINELS` reply; `None` without a usable address.
    pub(crate) fn from_fields(m: &HashMap<String, String>) -> Option<Peer> {
        Some(Peer {
            addr: Addr::new(m.get("ip")?.clone(), m.get("port")?.parse().ok()?),
            flags: m.get("flags").cloned().unwrap_or_default(),
        })
    }
}

/// The per-master settings in a `SENTINEL MASTER` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MasterSettings {
    /// `quorum`.
    pub quorum: u32,
    /// `down-after-milliseconds`.
    pub down_after_ms: u64,
    /// `failover-timeout`.
    pub failover_timeout_ms: u64,
    /// `parallel-syncs`.
    pub parallel_syncs: u32,
}

impl MasterSettings {
    /// The settings in a `SENTINEL MASTER` field map; `None` when one is missing.
    pub(crate) fn from_fields(m: &HashMap<String, String>) -> Option<MasterSettings> {
        Some(MasterSettings {
            quorum: m.get("quorum")?.parse().ok()?,
            down_after_ms: m.get("down-after-milliseconds")?.parse().ok()?,
            failover_timeout_ms: m.get("failover-timeout")?.parse().ok()?,
            parallel_syncs: m.get("parallel-syncs")?.parse().ok()?,
        })
    }
}

/// Which role the Sentinels give a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The primary they name.
    Primary,
    /// A replica they list.
    Replica,
}

/// One data node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NodeFacts {
    /// Its address as the Sentinels report it.
    pub addr: Addr,
    /// Its role per Sentinels.
    pub role: Role,
    /// Its answers, or why it could not be reached.
    pub answer: Result<NodeAnswer, String>,
}

/// What one node said.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NodeAnswer {
    /// `INFO server`, `INFO replication` and `INFO persistence` fields.
    pub info: BTreeMap<String, String>,
    /// `CONFIG GET` of [`CONFIG_KEYS`], or why it could not be read (renamed, forbidden).
    pub config: Result<BTreeMap<String, String>, String>,
    /// Sentinel's own users on this node and what they may not run, or why that could not
    /// be asked (no `ACL DRYRUN` before Redis 7.0, or the doctor's user may not run it).
    pub sentinel_users: Result<Vec<SentinelUser>, String>,
}

/// Sentinel's own user on a data node (`sentinel auth-user`), and the commands Sentinel sends
/// there that `ACL DRYRUN` refuses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SentinelUser {
    /// The user Sentinel's command links are logged in as.
    pub user: String,
    /// Each refused probe, with the server's reason.
    pub refused: Vec<(&'static Probe, String)>,
}

/// A command Sentinel sends a data node, as `ACL DRYRUN` arguments, and the rule allowing it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Probe {
    /// The command and its arguments.
    pub args: &'static [&'static str],
    /// The `ACL SETUSER` rule that allows it.
    pub rule: &'static str,
    /// Sent only for a `SENTINEL FAILOVER <master> COORDINATED` (Valkey 9 and later).
    pub coordinated: bool,
}

impl Probe {
    /// The command as a person types it (`CONFIG REWRITE`).
    pub(crate) fn command(&self) -> String {
        self.args.join(" ")
    }
}

const fn probe(args: &'static [&'static str], rule: &'static str) -> Probe {
    Probe {
        args,
        rule,
        coordinated: false,
    }
}

const fn coordinated(args: &'static [&'static str], rule: &'static str) -> Probe {
    Probe {
        args,
        rule,
        coordinated: true,
    }
}

/// What Sentinel sends a data node to monitor, promote and reconfigure it (the book's
/// "Minimal ACLs", `sentinel auth-user` rows; Redis's `sentinel.c`, Valkey's for the
/// coordinated failover, valkey#2779).
pub(crate) const PROBES: &[Probe] = &[
    probe(&["PING"], "+ping"),
    probe(&["INFO"], "+info"),
    probe(&["ROLE"], "+role"),
    probe(&["SUBSCRIBE", "__sentinel__:hello"], "allchannels"),
    probe(&["PUBLISH", "__sentinel__:hello", "hello"], "+publish"),
    probe(&["MULTI"], "+multi"),
    probe(&["EXEC"], "+exec"),
    // Redis 7.0, Valkey 8.1 and 9.1 Sentinels all send SLAVEOF (measured: a failover
    // with a user lacking `+replicaof` switched, and no node's ACL LOG named it).
    probe(&["SLAVEOF", "NO", "ONE"], "+slaveof"),
    probe(&["CONFIG", "REWRITE"], "+config|rewrite"),
    probe(&["CLIENT", "SETNAME", "sentinel"], "+client|setname"),
    probe(&["CLIENT", "KILL", "TYPE", "normal"], "+client|kill"),
    probe(&["SCRIPT", "KILL"], "+script|kill"),
    coordinated(&["FAILOVER"], "+failover"),
    coordinated(&["CLIENT", "PAUSE", "1000", "WRITE"], "+client|pause"),
    coordinated(&["CLIENT", "UNPAUSE"], "+client|unpause"),
];

/// The users of Sentinel's command links in a `CLIENT LIST` reply (the clients Sentinel
/// names `sentinel-<id>-cmd`), each once, in the order seen.
pub(crate) fn sentinel_users(client_list: &str) -> Vec<String> {
    let mut users: Vec<String> = Vec::new();
    for line in client_list.lines() {
        let field = |k: &str| {
            line.split(' ')
                .find_map(|f| f.strip_prefix(k)?.strip_prefix('='))
        };
        let sentinel =
            field("name").is_some_and(|n| n.starts_with("sentinel-") && n.ends_with("-cmd"));
        if let Some(user) = field("user").filter(|_| sentinel)
            && !users.iter().any(|u| u == user)
        {
            users.push(user.to_string());
        }
    }
    users
}

impl NodeAnswer {
    /// An `INFO` field.
    pub(crate) fn info(&self, k: &str) -> Option<&str> {
        self.info.get(k).map(String::as_str)
    }

    /// A config value, when config could be read and holds `k`.
    pub(crate) fn config(&self, k: &str) -> Option<&str> {
        self.config.as_ref().ok()?.get(k).map(String::as_str)
    }
}

/// The node settings the checks read. `requirepass` is kept only as `(set)` or empty.
pub(crate) const CONFIG_KEYS: &[&str] = &[
    "min-replicas-to-write",
    "min-replicas-max-lag",
    "repl-backlog-size",
    "repl-diskless-sync",
    "repl-diskless-sync-delay",
    "appendonly",
    "appendfsync",
    "save",
    "replica-priority",
    "replica-announce-ip",
    "maxmemory",
    "maxmemory-policy",
    "protected-mode",
    "requirepass",
];

/// The [`CONFIG_KEYS`] out of a `CONFIG GET *` reply, with the password replaced by `(set)`.
pub(crate) fn relevant_config(all: HashMap<String, String>) -> BTreeMap<String, String> {
    all.into_iter()
        .filter(|(k, _)| CONFIG_KEYS.contains(&k.as_str()))
        .map(|(k, v)| {
            if k == "requirepass" && !v.is_empty() {
                (k, "(set)".to_string())
            } else {
                (k, v)
            }
        })
        .collect()
}

/// The address most Sentinels name as the master; a tie goes to the earliest in `named`.
pub(crate) fn majority_primary(named: &[Addr]) -> Option<Addr> {
    let mut best: Option<(&Addr, usize)> = None;
    for a in named {
        let n = named.iter().filter(|b| *b == a).count();
        if best.is_none_or(|(_, m)| n > m) {
            best = Some((a, n));
        }
    }
    best.map(|(a, _)| a.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn settings_and_peers_are_read_from_field_maps() {
        let m = map(&[
            ("quorum", "2"),
            ("down-after-milliseconds", "1000"),
            ("failover-timeout", "10000"),
            ("parallel-syncs", "1"),
        ]);
        let s = MasterSettings::from_fields(&m).unwrap();
        assert_eq!(
            (s.quorum, s.down_after_ms, s.failover_timeout_ms),
            (2, 1000, 10000)
        );
        assert_eq!(MasterSettings::from_fields(&map(&[("quorum", "2")])), None);
        let p = Peer::from_fields(&map(&[
            ("ip", "10.0.0.1"),
            ("port", "26379"),
            ("flags", "s_down,sentinel"),
        ]))
        .unwrap();
        assert!(!p.up());
    }

    #[test]
    fn the_password_is_never_kept() {
        let c = relevant_config(map(&[
            ("requirepass", "hunter2"),
            ("dir", "/x"),
            ("save", ""),
        ]));
        assert_eq!(c["requirepass"], "(set)");
        assert!(!c.contains_key("dir"));
        assert_eq!(c["save"], "");
    }

    #[test]
    fn sentinels_users_are_read_from_its_named_command_links() {
        let list = "id=3 addr=127.0.0.1:5 name=sentinel-1a2b3c4d-cmd age=9 user=sentinel-node\n\
                    id=4 addr=127.0.0.1:6 name=sentinel-1a2b3c4d-pubsub user=sentinel-node\n\
                    id=5 addr=127.0.0.1:7 name=sentinel-9f8e7d6c-cmd user=sentinel-node\n\
                    id=6 addr=127.0.0.1:8 name=sentinel-00000000-cmd user=other\n\
                    id=7 addr=127.0.0.1:9 name= user=default\n";
        assert_eq!(sentinel_users(list), ["sentinel-node", "other"]);
        assert!(sentinel_users("id=7 addr=127.0.0.1:9 name=app user=default").is_empty());
    }

    #[test]
    fn the_majority_names_the_primary() {
        let a = Addr::local(1);
        let b = Addr::local(2);
        assert_eq!(
            majority_primary(&[a.clone(), b.clone(), b.clone()]),
            Some(b.clone())
        );
        assert_eq!(majority_primary(&[a.clone(), b.clone()]), Some(a));
        assert_eq!(majority_primary(&[]), None);
    }
}
