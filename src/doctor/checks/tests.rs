//! Table-driven: a healthy deployment built by hand has no findings; each case changes one
//! thing and names exactly the findings it must produce.

use std::collections::BTreeMap;

use super::*;
use crate::doctor::facts::{
    MasterSettings, NodeAnswer, NodeFacts, Peer, Rate, Role, SentinelAnswer, SentinelFacts,
    SentinelUser,
};
use crate::sentinel::view::{MasterView, ReplicaView};

fn addr(s: &str) -> Addr {
    s.parse().unwrap()
}

const SENTINELS: [&str; 3] = ["10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"];
const PRIMARY: &str = "10.0.1.1:6379";
const REPLICAS: [&str; 2] = ["10.0.1.2:6379", "10.0.1.3:6379"];

fn sentinel(me: &str) -> SentinelFacts {
    SentinelFacts {
        addr: addr(me),
        answer: Ok(SentinelAnswer {
            version: "7.2.4".into(),
            master: MasterView {
                addr: addr(PRIMARY),
                flags: "master".into(),
                num_replicas: 2,
                num_other_sentinels: 2,
                down_after_ms: Some(5000),
            },
            settings: MasterSettings {
                quorum: 2,
                down_after_ms: 5000,
                failover_timeout_ms: 10_000,
                parallel_syncs: 1,
            },
            replicas: REPLICAS
                .iter()
                .map(|r| ReplicaView {
                    addr: addr(r),
                    flags: "slave".into(),
                    link_ok: true,
                    offset: 100,
                    priority: 100,
                })
                .collect(),
            peers: SENTINELS
                .iter()
                .filter(|s| **s != me)
                .map(|s| Peer {
                    addr: addr(s),
                    flags: "sentinel".into(),
                })
                .collect(),
            ckquorum: Ok("OK 3 usable Sentinels".into()),
            config: [("resolve-hostnames", "no"), ("announce-hostnames", "no")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }),
    }
}

fn node(a: &str, role: Role) -> NodeFacts {
    let config: BTreeMap<String, String> = [
        ("min-replicas-to-write", "1"),
        ("min-replicas-max-lag", "10"),
        ("repl-backlog-size", "67108864"),
        ("repl-diskless-sync", "yes"),
        ("repl-diskless-sync-delay", "0"),
        ("appendonly", "yes"),
        ("appendfsync", "everysec"),
        ("save", "3600 1"),
        ("replica-priority", "100"),
        ("replica-announce-ip", ""),
        ("maxmemory", "1073741824"),
        ("maxmemory-policy", "volatile-lru"),
        ("protected-mode", "yes"),
        ("requirepass", "(set)"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let info = [
        ("redis_version", "7.2.4"),
        (
            "role",
            if role == Role::Primary {
                "master"
            } else {
                "slave"
            },
        ),
        ("aof_enabled", "1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    NodeFacts {
        addr: addr(a),
        role,
        answer: Ok(NodeAnswer {
            info,
            config: Ok(config),
            sentinel_users: Ok(vec![SentinelUser {
                user: "sentinel-node".into(),
                refused: vec![],
            }]),
        }),
    }
}

fn healthy() -> Facts {
    let mut nodes = vec![node(PRIMARY, Role::Primary)];
    nodes.extend(REPLICAS.iter().map(|r| node(r, Role::Replica)));
    Facts {
        master: "mymaster".into(),
        sentinels: SENTINELS.iter().map(|s| sentinel(s)).collect(),
        primary: Some(addr(PRIMARY)),
        nodes,
        // 64 MiB backlog at 100 KB/s: ~670 s of partial resync.
        write_rate: Some(Rate {
            bytes: 100_000,
            over_ms: 1000,
        }),
    }
}

fn answer(f: &mut Facts, i: usize) -> &mut SentinelAnswer {
    f.sentinels[i].answer.as_mut().unwrap()
}

fn set(f: &mut Facts, node: usize, k: &str, v: &str) {
    let a = f.nodes[node].answer.as_mut().unwrap();
    a.config.as_mut().unwrap().insert(k.into(), v.into());
}

fn every_sentinel(f: &mut Facts, edit: impl Fn(&mut SentinelAnswer)) {
    for i in 0..f.sentinels.len() {
        edit(answer(f, i));
    }
}

type Case = (
    &'static str,
    fn(&mut Facts),
    Vec<(Severity, &'static str, &'static str)>,
);

/// Runs the checks on the healthy deployment changed by each case.
fn check_cases(t: Targets, cases: Vec<Case>) {
    assert_eq!(
        check(&healthy(), &t),
        vec![],
        "the healthy deployment has findings"
    );
    for (name, edit, want) in cases {
        let mut f = healthy();
        edit(&mut f);
        let mut got: Vec<_> = check(&f, &t)
            .into_iter()
            .map(|x| (x.severity, x.id, x.place))
            .collect();
        got.sort();
        let mut want: Vec<_> = want
            .into_iter()
            .map(|(s, i, p)| (s, i, p.to_string()))
            .collect();
        want.sort();
        assert_eq!(got, want, "case {name}");
    }
}

#[test]
fn sentinel_and_quorum_rules() {
    use Severity::*;
    check_cases(
        Targets::default(),
        vec![
            (
                "one Sentinel down",
                |f| f.sentinels[2].answer = Err("cannot reach".into()),
                vec![(Warn, "sentinel-unreachable", "10.0.0.3:26379")],
            ),
            (
                "ckquorum fails",
                |f| answer(f, 0).ckquorum = Err("NOQUORUM 1 usable".into()),
                vec![(Error, "ckquorum-failed", "10.0.0.1:26379")],
            ),
            (
                "quorum above the Sentinels",
                |f| every_sentinel(f, |a| a.settings.quorum = 4),
                vec![(Error, "quorum-above-sentinels", "sentinels")],
            ),
            (
                "quorum above the Sentinels up",
                |f| {
                    f.sentinels[2].answer = Err("down".into());
                    every_sentinel_ok(f, |a| {
                        a.settings.quorum = 3;
                        for p in &mut a.peers {
                            if p.addr.host == "10.0.0.3" {
                                p.flags = "s_down,sentinel".into()
                            }
                        }
                    });
                },
                vec![
                    (Warn, "sentinel-unreachable", "10.0.0.3:26379"),
                    (Error, "quorum-unreachable", "sentinels"),
                ],
            ),
            (
                "quorum 1 of 3",
                |f| every_sentinel(f, |a| a.settings.quorum = 1),
                vec![(Info, "quorum-below-majority", "sentinels")],
            ),
            (
                "two Sentinels",
                |f| {
                    f.sentinels.pop();
                    every_sentinel(f, |a| a.peers.retain(|p| p.addr.host != "10.0.0.3"));
                },
                vec![(Warn, "too-few-sentinels", "sentinels")],
            ),
            (
                "one Sentinel on the primary's host",
                |f| f.sentinels[0].addr = addr("10.0.1.1:26379"),
                vec![(Warn, "sentinel-on-primary-host", "10.0.1.1")],
            ),
            (
                "two of three on the primary's host",
                |f| {
                    f.sentinels[0].addr = addr("10.0.1.1:26379");
                    f.sentinels[1].addr = addr("10.0.1.1:26380");
                },
                vec![(Error, "sentinel-on-primary-host", "10.0.1.1")],
            ),
            (
                "Sentinels disagree on the primary",
                |f| answer(f, 1).master.addr = addr(REPLICAS[0]),
                vec![(Error, "sentinels-disagree", "sentinels")],
            ),
            (
                "down-after differs",
                |f| answer(f, 2).settings.down_after_ms = 30_000,
                vec![(Warn, "down-after-differs", "sentinels")],
            ),
            (
                "failover-timeout differs",
                |f| answer(f, 2).settings.failover_timeout_ms = 30_000,
                vec![(Warn, "sentinel-settings-differ", "sentinels")],
            ),
            (
                "down-after 1 s (issue 23: a second failover right after a failover)",
                |f| every_sentinel(f, |a| a.settings.down_after_ms = 1000),
                vec![(Warn, "down-after-low", "sentinels")],
            ),
            (
                "down-after 1 s on one Sentinel only",
                |f| answer(f, 0).settings.down_after_ms = 800,
                vec![
                    (Warn, "down-after-differs", "sentinels"),
                    (Warn, "down-after-low", "sentinels"),
                ],
            ),
            (
                "down-after 1001 ms is not low",
                |f| every_sentinel(f, |a| a.settings.down_after_ms = 1001),
                vec![],
            ),
            (
                "hostname settings differ",
                |f| {
                    answer(f, 0)
                        .config
                        .insert("resolve-hostnames".into(), "yes".into());
                },
                vec![(Warn, "hostname-settings-differ", "sentinels")],
            ),
            (
                "announce without resolve",
                |f| {
                    every_sentinel(f, |a| {
                        a.config.insert("announce-hostnames".into(), "yes".into());
                    })
                },
                vec![
                    (Warn, "announce-without-resolve", "10.0.0.1:26379"),
                    (Warn, "announce-without-resolve", "10.0.0.2:26379"),
                    (Warn, "announce-without-resolve", "10.0.0.3:26379"),
                ],
            ),
        ],
    );
}

fn every_sentinel_ok(f: &mut Facts, edit: impl Fn(&mut SentinelAnswer)) {
    for s in &mut f.sentinels {
        if let Ok(a) = &mut s.answer {
            edit(a);
        }
    }
}

#[test]
fn timing_rules_need_an_rto() {
    use Severity::*;
    let t = |rto| Targets {
        rto_ms: Some(rto),
        ..Targets::default()
    };
    // 5 s down-after, 10 s failover-timeout: 25 s covers a retried election.
    check_cases(
        t(25_000),
        vec![
            (
                "down-after leaves no room for the election",
                |f| every_sentinel(f, |a| a.settings.down_after_ms = 24_500),
                vec![
                    (Error, "down-after-vs-rto", "sentinels"),
                    (Warn, "failover-timeout-vs-rto", "sentinels"),
                ],
            ),
            (
                "down-after leaves under 2 s",
                |f| every_sentinel(f, |a| a.settings.down_after_ms = 23_500),
                vec![
                    (Warn, "down-after-vs-rto", "sentinels"),
                    (Warn, "failover-timeout-vs-rto", "sentinels"),
                ],
            ),
            (
                "failover-timeout too long for a retry",
                |f| every_sentinel(f, |a| a.settings.failover_timeout_ms = 180_000),
                vec![(Warn, "failover-timeout-vs-rto", "sentinels")],
            ),
        ],
    );
    let mut f = healthy();
    every_sentinel(&mut f, |a| a.settings.down_after_ms = 60_000);
    assert_eq!(
        check(&f, &Targets::default()),
        vec![],
        "no RTO, no timing finding"
    );
}

#[test]
fn replica_rules() {
    use Severity::*;
    check_cases(
        Targets::default(),
        vec![
            (
                "no replicas",
                |f| {
                    every_sentinel(f, |a| a.replicas.clear());
                    f.nodes.truncate(1);
                },
                vec![(Error, "no-replicas", "sentinels")],
            ),
            (
                "every replica priority 0 (the nodes say so)",
                |f| {
                    set(f, 1, "replica-priority", "0");
                    set(f, 2, "replica-priority", "0");
                },
                vec![(Error, "no-promotable-replica", "sentinels")],
            ),
            (
                "one replica priority 0 (Sentinel's copy, config unreadable)",
                |f| {
                    every_sentinel(f, |a| a.replicas[0].priority = 0);
                    f.nodes[1].answer.as_mut().unwrap().config = Err("NOPERM".into());
                },
                vec![
                    (Info, "replica-priority-zero", "10.0.1.2:6379"),
                    (Warn, "config-unreadable", "10.0.1.2:6379"),
                ],
            ),
            (
                "a replica's link is down",
                |f| {
                    every_sentinel(f, |a| {
                        a.replicas[1].link_ok = false;
                        a.replicas[1].flags = "slave,disconnected".into();
                    })
                },
                vec![(Warn, "replica-unhealthy", "10.0.1.3:6379")],
            ),
            (
                "a replica does not answer",
                |f| f.nodes[2].answer = Err("cannot reach".into()),
                vec![(Error, "node-unreachable", "10.0.1.3:6379")],
            ),
            (
                "the primary says it is a replica",
                |f| {
                    f.nodes[0]
                        .answer
                        .as_mut()
                        .unwrap()
                        .info
                        .insert("role".into(), "slave".into());
                },
                vec![(Error, "role-mismatch", "10.0.1.1:6379")],
            ),
        ],
    );
}

#[test]
fn node_setting_rules() {
    use Severity::*;
    check_cases(
        Targets::default(),
        vec![
            (
                "min-replicas-to-write 0 on the primary",
                |f| set(f, 0, "min-replicas-to-write", "0"),
                vec![(Warn, "min-replicas-unset", "10.0.1.1:6379")],
            ),
            (
                "a 64 KiB backlog at 100 KB/s",
                |f| set(f, 1, "repl-backlog-size", "65536"),
                vec![(Warn, "repl-backlog-short", "10.0.1.2:6379")],
            ),
            (
                "no write rate measured",
                |f| {
                    f.write_rate = None;
                    set(f, 1, "repl-backlog-size", "1");
                },
                vec![],
            ),
            (
                "diskless sync waits 5 s",
                |f| set(f, 0, "repl-diskless-sync-delay", "5"),
                vec![(Info, "diskless-sync-delay", "10.0.1.1:6379")],
            ),
            (
                "disk-based sync ignores the delay",
                |f| {
                    set(f, 0, "repl-diskless-sync-delay", "5");
                    set(f, 0, "repl-diskless-sync", "no");
                },
                vec![],
            ),
            (
                "AOF off, RDB on",
                |f| set(f, 2, "appendonly", "no"),
                vec![(Warn, "aof-off", "10.0.1.3:6379")],
            ),
            (
                "no persistence at all",
                |f| {
                    set(f, 2, "appendonly", "no");
                    set(f, 2, "save", "");
                },
                vec![(Error, "no-persistence", "10.0.1.3:6379")],
            ),
            (
                "appendfsync no",
                |f| set(f, 1, "appendfsync", "no"),
                vec![(Warn, "aof-fsync-no", "10.0.1.2:6379")],
            ),
            (
                "appendfsync always",
                |f| set(f, 1, "appendfsync", "always"),
                vec![(Info, "aof-fsync-always", "10.0.1.2:6379")],
            ),
            (
                "config unreadable, AOF off per INFO",
                |f| {
                    let a = f.nodes[0].answer.as_mut().unwrap();
                    a.config = Err("ERR unknown command 'CONFIG'".into());
                    a.info.insert("aof_enabled".into(), "0".into());
                },
                vec![
                    (Warn, "config-unreadable", "10.0.1.1:6379"),
                    (Warn, "aof-off", "10.0.1.1:6379"),
                ],
            ),
            (
                "maxmemory 0",
                |f| set(f, 0, "maxmemory", "0"),
                vec![(Info, "maxmemory-unset", "10.0.1.1:6379")],
            ),
            (
                "allkeys-lru",
                |f| set(f, 0, "maxmemory-policy", "allkeys-lru"),
                vec![(Warn, "maxmemory-evicts-any-key", "10.0.1.1:6379")],
            ),
            (
                "noeviction with a limit",
                |f| set(f, 0, "maxmemory-policy", "noeviction"),
                vec![(Info, "maxmemory-noeviction", "10.0.1.1:6379")],
            ),
            (
                "volatile-ttl is fine",
                |f| set(f, 0, "maxmemory-policy", "volatile-ttl"),
                vec![],
            ),
            (
                "open without auth",
                |f| {
                    set(f, 1, "protected-mode", "no");
                    set(f, 1, "requirepass", "");
                },
                vec![(Warn, "open-without-auth", "10.0.1.2:6379")],
            ),
            (
                "protected mode off, but a password",
                |f| set(f, 1, "protected-mode", "no"),
                vec![],
            ),
            (
                "replica announces another IP",
                |f| set(f, 2, "replica-announce-ip", "192.168.5.5"),
                vec![(Warn, "replica-announce-ip-mismatch", "10.0.1.3:6379")],
            ),
            (
                "replica announces its own IP",
                |f| set(f, 2, "replica-announce-ip", "10.0.1.3"),
                vec![],
            ),
        ],
    );
}

#[test]
fn version_rules() {
    use Severity::*;
    check_cases(
        Targets::default(),
        vec![
            (
                "a 6.0 node",
                |f| {
                    f.nodes[1]
                        .answer
                        .as_mut()
                        .unwrap()
                        .info
                        .insert("redis_version".into(), "6.0.16".into());
                },
                vec![(Info, "version-before-6.2", "10.0.1.2:6379")],
            ),
            (
                "Sentinels on 7.0.0",
                |f| answer(f, 0).version = "7.0.0".into(),
                vec![(Warn, "sentinel-7.0.0-no-slaves", "10.0.0.1:26379")],
            ),
            (
                "a 7.0.0 data node is not flagged for SENTINEL SLAVES",
                |f| {
                    f.nodes[1]
                        .answer
                        .as_mut()
                        .unwrap()
                        .info
                        .insert("redis_version".into(), "7.0.0".into());
                },
                vec![],
            ),
            (
                "7.0.15 and 6.2.0 are fine",
                |f| {
                    answer(f, 0).version = "7.0.15".into();
                    f.nodes[1]
                        .answer
                        .as_mut()
                        .unwrap()
                        .info
                        .insert("redis_version".into(), "6.2.0".into());
                },
                vec![],
            ),
        ],
    );
}

mod sentinel_user;
