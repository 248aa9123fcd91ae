//! Pure: the doctor's rules. Each reads [`Facts`] (and the targets) and adds [`Finding`]s;
//! none does I/O, and time enters only as the measured [`Rate`](super::facts::Rate).

use std::collections::BTreeSet;

use super::facts::{Facts, NodeAnswer, Role, SentinelAnswer};
use super::report::{Finding, Severity};
use crate::addr::Addr;

/// What the deployment is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    /// Client RTO target; timing checks are skipped without one.
    pub rto_ms: Option<u64>,
    /// Shortest partial-resync window (backlog / write rate) accepted, in seconds.
    pub min_backlog_secs: u64,
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            rto_ms: None,
            min_backlog_secs: 60,
        }
    }
}

/// Election and promotion after `down-after-milliseconds`: the lab measured 1.2–1.4 s
/// (`redis-facts.md` §1.3); 1 s is the optimistic and 2 s the planning figure.
const ELECTION_FAST_MS: u64 = 1000;
const ELECTION_PLAN_MS: u64 = 2000;

/// Every rule, in no particular order (the report sorts).
pub fn check(f: &Facts, t: &Targets) -> Vec<Finding> {
    let mut out = Vec::new();
    sentinels(f, &mut out);
    quorum(f, &mut out);
    colocation(f, &mut out);
    timing(f, t, &mut out);
    hostnames(f, &mut out);
    replicas(f, &mut out);
    versions(f, &mut out);
    for n in &f.nodes {
        let place = n.addr.to_string();
        let a = match &n.answer {
            Ok(a) => a,
            Err(e) => {
                push(
                    &mut out,
                    Severity::Error,
                    "node-unreachable",
                    &place,
                    e.clone(),
                    "make the node reachable from here, or remove it from the Sentinels (SENTINEL RESET)",
                );
                continue;
            }
        };
        role(n.role, a, &place, &mut out);
        if let Err(e) = &a.config {
            push(
                &mut out,
                Severity::Warn,
                "config-unreadable",
                &place,
                format!("could not read config: {e}"),
                "allow CONFIG GET for the doctor's user (ACL +config|get), or audit this node's redis.conf by hand",
            );
            persistence_from_info(a, &place, &mut out);
            continue;
        }
        write_safety(a, &place, &mut out);
        backlog(a, f, t, &place, &mut out);
        persistence(a, &place, &mut out);
        memory(a, &place, &mut out);
        exposure(a, &place, &mut out);
        announce(a, &n.addr, &place, &mut out);
    }
    out
}

fn push(
    out: &mut Vec<Finding>,
    severity: Severity,
    id: &'static str,
    place: &str,
    evidence: String,
    fix: &str,
) {
    out.push(Finding {
        severity,
        id,
        place: place.to_string(),
        evidence,
        fix: fix.to_string(),
    });
}

/// The Sentinels that answered, with their answers.
fn answered(f: &Facts) -> Vec<(&Addr, &SentinelAnswer)> {
    f.sentinels
        .iter()
        .filter_map(|s| s.answer.as_ref().ok().map(|a| (&s.addr, a)))
        .collect()
}

/// How many Sentinels the deployment has: the most any of them knows (itself + peers),
/// at least the number given.
fn known_sentinels(f: &Facts) -> usize {
    answered(f)
        .iter()
        .map(|(_, a)| a.peers.len() + 1)
        .chain([f.sentinels.len()])
        .max()
        .unwrap_or(0)
}

/// How many Sentinels are up, as the best-connected Sentinel sees it (itself + up peers).
fn reachable_sentinels(f: &Facts) -> usize {
    answered(f)
        .iter()
        .map(|(_, a)| a.peers.iter().filter(|p| p.up()).count() + 1)
        .max()
        .unwrap_or(0)
}

fn sentinels(f: &Facts, out: &mut Vec<Finding>) {
    for s in &f.sentinels {
        let place = s.addr.to_string();
        match &s.answer {
            Err(e) => push(
                out,
                Severity::Warn,
                "sentinel-unreachable",
                &place,
                e.clone(),
                "check that this Sentinel runs and is reachable, or drop it from --sentinels",
            ),
            Ok(a) => {
                if let Err(why) = &a.ckquorum {
                    push(
                        out,
                        Severity::Error,
                        "ckquorum-failed",
                        &place,
                        format!("SENTINEL CKQUORUM: {why}"),
                        "bring enough Sentinels up, or lower the quorum (SENTINEL SET <master> quorum N)",
                    );
                }
            }
        }
    }
    let named: BTreeSet<String> = answered(f)
        .iter()
        .map(|(_, a)| a.master.addr.to_string())
        .collect();
    if named.len() > 1 {
        push(
            out,
            Severity::Error,
            "sentinels-disagree",
            "sentinels",
            format!(
                "the Sentinels name different primaries: {}",
                named.into_iter().collect::<Vec<_>>().join(", ")
            ),
            "find the stale Sentinel (epochs in SENTINEL MASTER) and SENTINEL RESET it",
        );
    }
    let n = known_sentinels(f);
    if n < 3 {
        push(
            out,
            Severity::Warn,
            "too-few-sentinels",
            "sentinels",
            format!("{n} Sentinel(s) known"),
            "run at least 3 Sentinels on separate hosts",
        );
    }
    let mut settings: Vec<_> = answered(f).iter().map(|(_, a)| a.settings).collect();
    settings.dedup();
    if settings.len() > 1 {
        let seen: Vec<String> = answered(f)
            .iter()
            .map(|(addr, a)| {
                let s = a.settings;
                format!(
                    "{addr}: quorum {} down-after {} failover-timeout {} parallel-syncs {}",
                    s.quorum, s.down_after_ms, s.failover_timeout_ms, s.parallel_syncs
                )
            })
            .collect();
        push(
            out,
            Severity::Warn,
            "sentinel-settings-differ",
            "sentinels",
            seen.join("; "),
            "SENTINEL SET the same quorum, down-after-milliseconds, failover-timeout and parallel-syncs on every Sentinel",
        );
    }
}

fn quorum(f: &Facts, out: &mut Vec<Finding>) {
    let Some(q) = answered(f).iter().map(|(_, a)| a.settings.quorum).max() else {
        return;
    };
    let q = q as usize;
    let (n, up) = (known_sentinels(f), reachable_sentinels(f));
    let majority = n / 2 + 1;
    if q > n {
        push(
            out,
            Severity::Error,
            "quorum-above-sentinels",
            "sentinels",
            format!("quorum {q} > {n} Sentinels: the master can never be declared down"),
            "SENTINEL SET <master> quorum to a majority of the Sentinels",
        );
    } else if q > up {
        push(
            out,
            Severity::Error,
            "quorum-unreachable",
            "sentinels",
            format!("quorum {q} > {up} Sentinels up (of {n})"),
            "bring Sentinels back up, or lower the quorum (SENTINEL SET <master> quorum)",
        );
    } else if q < majority {
        push(
            out,
            Severity::Info,
            "quorum-below-majority",
            "sentinels",
            format!(
                "quorum {q} < majority {majority} of {n}: a minority can flag ODOWN (the failover still needs {majority} votes)"
            ),
            &format!("SENTINEL SET <master> quorum {majority}"),
        );
    }
}

/// Sentinels on the primary's IP go down with it; when the rest are not a majority, no
/// failover can be authorized.
fn colocation(f: &Facts, out: &mut Vec<Finding>) {
    let Some(p) = &f.primary else { return };
    let n = known_sentinels(f);
    let shared = f.sentinels.iter().filter(|s| s.addr.host == p.host).count();
    if shared == 0 {
        return;
    }
    let rest = n.saturating_sub(shared);
    let majority = n / 2 + 1;
    let (severity, tail) = if rest < majority {
        (
            Severity::Error,
            format!(
                "; the {rest} left are no majority of {n}: losing this host stops any failover"
            ),
        )
    } else {
        (Severity::Warn, String::new())
    };
    push(
        out,
        severity,
        "sentinel-on-primary-host",
        &p.host,
        format!(
            "{shared} of {n} Sentinels share the primary's IP {}{tail}",
            p.host
        ),
        "run Sentinels on hosts apart from the data nodes (one per failure domain)",
    );
}

fn timing(f: &Facts, t: &Targets, out: &mut Vec<Finding>) {
    let Some(rto) = t.rto_ms else { return };
    let Some(s) = answered(f)
        .iter()
        .map(|(_, a)| a.settings)
        .max_by_key(|s| s.down_after_ms)
    else {
        return;
    };
    let da = s.down_after_ms;
    if da + ELECTION_FAST_MS > rto {
        push(
            out,
            Severity::Error,
            "down-after-vs-rto",
            "sentinels",
            format!(
                "down-after-milliseconds {da} + ≥{ELECTION_FAST_MS} ms election > RTO {rto} ms"
            ),
            &format!(
                "SENTINEL SET <master> down-after-milliseconds {}",
                rto.saturating_sub(ELECTION_PLAN_MS).max(100)
            ),
        );
    } else if da + ELECTION_PLAN_MS > rto {
        push(
            out,
            Severity::Warn,
            "down-after-vs-rto",
            "sentinels",
            format!(
                "down-after-milliseconds {da} + ~{ELECTION_PLAN_MS} ms election and promotion > RTO {rto} ms"
            ),
            &format!(
                "SENTINEL SET <master> down-after-milliseconds {}",
                rto.saturating_sub(ELECTION_PLAN_MS).max(100)
            ),
        );
    }
    let ft = s.failover_timeout_ms;
    if da + 2 * ft > rto {
        push(
            out,
            Severity::Warn,
            "failover-timeout-vs-rto",
            "sentinels",
            format!(
                "failover-timeout {ft}: a failed first election retries after 2×{ft} ms, beyond RTO {rto} ms"
            ),
            "SENTINEL SET <master> failover-timeout lower (it also bounds promotion), and keep ≥3 Sentinels to avoid split votes",
        );
    }
}

fn hostnames(f: &Facts, out: &mut Vec<Finding>) {
    for key in ["resolve-hostnames", "announce-hostnames"] {
        let values: BTreeSet<&str> = answered(f)
            .iter()
            .filter_map(|(_, a)| a.config.get(key).map(String::as_str))
            .collect();
        if values.len() > 1 {
            push(
                out,
                Severity::Warn,
                "hostname-settings-differ",
                "sentinels",
                format!(
                    "{key} is {} across Sentinels",
                    values.into_iter().collect::<Vec<_>>().join(" and ")
                ),
                &format!("SENTINEL CONFIG SET {key} to the same value on every Sentinel"),
            );
        }
    }
    for (addr, a) in answered(f) {
        if a.config
            .get("announce-hostnames")
            .is_some_and(|v| v == "yes")
            && a.config
                .get("resolve-hostnames")
                .is_some_and(|v| v != "yes")
        {
            push(
                out,
                Severity::Warn,
                "announce-without-resolve",
                &addr.to_string(),
                "announce-hostnames yes, resolve-hostnames no".into(),
                "SENTINEL CONFIG SET resolve-hostnames yes",
            );
        }
    }
}

fn replicas(f: &Facts, out: &mut Vec<Finding>) {
    let Some((_, a)) = answered(f)
        .into_iter()
        .max_by_key(|(_, a)| a.replicas.len())
    else {
        return;
    };
    if a.replicas.is_empty() {
        push(
            out,
            Severity::Error,
            "no-replicas",
            "sentinels",
            "the Sentinels list no replica".into(),
            "add replicas (replicaof <primary>) so there is something to fail over to",
        );
        return;
    }
    let zero: Vec<String> = a
        .replicas
        .iter()
        .filter(|r| r.priority == 0)
        .map(|r| r.addr.to_string())
        .collect();
    if zero.len() == a.replicas.len() {
        push(
            out,
            Severity::Error,
            "no-promotable-replica",
            "sentinels",
            format!("replica-priority 0 on every replica ({})", zero.join(", ")),
            "CONFIG SET replica-priority 100 on at least one replica",
        );
    } else {
        for z in zero {
            push(
                out,
                Severity::Info,
                "replica-priority-zero",
                &z,
                "replica-priority 0: never promoted".into(),
                "CONFIG SET replica-priority 100 if this replica should be able to take over",
            );
        }
    }
    for r in a.replicas.iter().filter(|r| !r.healthy()) {
        push(
            out,
            Severity::Warn,
            "replica-unhealthy",
            &r.addr.to_string(),
            format!(
                "flags {}, master-link-status {}",
                r.flags,
                if r.link_ok { "ok" } else { "err" }
            ),
            "fix the replica's link to the primary before relying on a failover",
        );
    }
}

/// A version the Sentinels or a node run, against the table in [`KNOWN`].
fn versions(f: &Facts, out: &mut Vec<Finding>) {
    let sentinels = answered(f)
        .into_iter()
        .map(|(addr, a)| (addr, a.version.as_str(), true));
    let nodes = f.nodes.iter().filter_map(|n| {
        let v = n.answer.as_ref().ok()?.info("redis_version")?;
        Some((&n.addr, v, false))
    });
    for (addr, v, is_sentinel) in sentinels.chain(nodes) {
        let Some(have) = parse_version(v) else {
            continue;
        };
        for k in KNOWN.iter().filter(|k| (k.applies)(have, is_sentinel)) {
            push(
                out,
                k.severity,
                k.id,
                &addr.to_string(),
                format!("version {v}: {}", k.what),
                k.fix,
            );
        }
    }
}

/// One entry of the known-version table.
struct Known {
    id: &'static str,
    severity: Severity,
    applies: fn((u32, u32, u32), bool) -> bool,
    what: &'static str,
    fix: &'static str,
}

/// Only what the Redis release notes say, each entry with its source.
const KNOWN: &[Known] = &[
    // Redis 6.2-rc3 release notes: "Add FAILOVER command (#8315)" and, under Sentinel,
    // "Add hostname support to Sentinel (#8282)".
    Known {
        id: "version-before-6.2",
        severity: Severity::Info,
        applies: |v, _| v < (6, 2, 0),
        what: "before 6.2: no FAILOVER command, no hostname support in Sentinel",
        fix: "upgrade to Redis 6.2 or later",
    },
    // Redis 7.0.1 release notes: "Re-add SENTINEL SLAVES command, missing in redis 7.0
    // (#10723)".
    Known {
        id: "sentinel-7.0.0-no-slaves",
        severity: Severity::Warn,
        applies: |v, sentinel| sentinel && v == (7, 0, 0),
        what: "SENTINEL SLAVES is missing (clients that use it cannot list replicas)",
        fix: "upgrade the Sentinels to 7.0.1 or later",
    },
];

/// `7.0.15` → `(7, 0, 15)`.
fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let mut it = v.trim().split('.').map(|p| p.parse::<u32>().ok());
    Some((it.next()??, it.next()??, it.next().flatten().unwrap_or(0)))
}

fn role(role: Role, a: &NodeAnswer, place: &str, out: &mut Vec<Finding>) {
    let says = a.info("role").unwrap_or("unknown");
    let want = match role {
        Role::Primary => "master",
        Role::Replica => "slave",
    };
    if says != want {
        push(
            out,
            Severity::Error,
            "role-mismatch",
            place,
            format!("the Sentinels say {want}, the node says {says}"),
            "let Sentinel reconfigure it (wait failover-timeout) or REPLICAOF it by hand",
        );
    }
}

fn write_safety(a: &NodeAnswer, place: &str, out: &mut Vec<Finding>) {
    if a.config("min-replicas-to-write").is_some_and(|v| v == "0") {
        push(out, Severity::Warn, "min-replicas-unset", place,
            "min-replicas-to-write 0: an isolated primary keeps accepting writes that are lost when it is demoted".into(),
            "CONFIG SET min-replicas-to-write 1 and min-replicas-max-lag 10 (bounds split-brain loss)");
    }
}

fn backlog(a: &NodeAnswer, f: &Facts, t: &Targets, place: &str, out: &mut Vec<Finding>) {
    let Some(rate) = f.write_rate.and_then(|r| r.per_sec()).filter(|r| *r > 0.0) else {
        return;
    };
    let Some(size) = a
        .config("repl-backlog-size")
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return;
    };
    let window = size as f64 / rate;
    if window < t.min_backlog_secs as f64 {
        let want = (rate * t.min_backlog_secs as f64 * 2.0).ceil() as u64;
        push(
            out,
            Severity::Warn,
            "repl-backlog-short",
            place,
            format!(
                "repl-backlog-size {size} B at {rate:.0} B/s = {window:.1} s of partial resync"
            ),
            &format!("CONFIG SET repl-backlog-size {want} (2× the minimum window at this rate)"),
        );
    }
}

fn persistence(a: &NodeAnswer, place: &str, out: &mut Vec<Finding>) {
    let aof = a.config("appendonly") == Some("yes");
    let rdb = a.config("save").is_some_and(|s| !s.trim().is_empty());
    if !aof && !rdb {
        push(
            out,
            Severity::Error,
            "no-persistence",
            place,
            "appendonly no, save \"\"".into(),
            "CONFIG SET appendonly yes (a restarted empty primary can wipe its replicas)",
        );
        return;
    }
    if !aof {
        push(
            out,
            Severity::Warn,
            "aof-off",
            place,
            "appendonly no (RDB snapshots only)".into(),
            "CONFIG SET appendonly yes with appendfsync everysec",
        );
    }
    match a.config("appendfsync") {
        Some("no") if aof => push(
            out,
            Severity::Warn,
            "aof-fsync-no",
            place,
            "appendfsync no: the OS decides when writes reach disk".into(),
            "CONFIG SET appendfsync everysec",
        ),
        Some("always") if aof => push(
            out,
            Severity::Info,
            "aof-fsync-always",
            place,
            "appendfsync always: durable, but every write waits for an fsync".into(),
            "CONFIG SET appendfsync everysec if write latency matters",
        ),
        _ => {}
    }
    if let (Some("yes"), Some(d)) = (
        a.config("repl-diskless-sync"),
        a.config("repl-diskless-sync-delay")
            .and_then(|d| d.parse::<u64>().ok())
            .filter(|d| *d > 0),
    ) {
        push(
            out,
            Severity::Info,
            "diskless-sync-delay",
            place,
            format!(
                "repl-diskless-sync-delay {d}: a full resync after a failover starts {d} s late"
            ),
            "CONFIG SET repl-diskless-sync-delay 0 (unless replicas often sync at once)",
        );
    }
}

/// Without config: `aof_enabled` from `INFO persistence` is all there is.
fn persistence_from_info(a: &NodeAnswer, place: &str, out: &mut Vec<Finding>) {
    if a.info("aof_enabled") == Some("0") {
        push(
            out,
            Severity::Warn,
            "aof-off",
            place,
            "aof_enabled:0 (INFO persistence)".into(),
            "CONFIG SET appendonly yes with appendfsync everysec",
        );
    }
}

fn memory(a: &NodeAnswer, place: &str, out: &mut Vec<Finding>) {
    let max = a.config("maxmemory").and_then(|v| v.parse::<u64>().ok());
    let policy = a.config("maxmemory-policy").unwrap_or("");
    if max == Some(0) {
        push(
            out,
            Severity::Info,
            "maxmemory-unset",
            place,
            "maxmemory 0: memory grows until the host runs out".into(),
            "CONFIG SET maxmemory to ~70% of RAM (leave room for fork copy-on-write)",
        );
        return;
    }
    if policy.starts_with("allkeys-") {
        push(
            out,
            Severity::Warn,
            "maxmemory-evicts-any-key",
            place,
            format!("maxmemory-policy {policy}: live sessions and keys without TTL can be evicted"),
            "CONFIG SET maxmemory-policy volatile-lru (or volatile-ttl) for TTL'd sessions",
        );
    } else if policy == "noeviction" {
        push(
            out,
            Severity::Info,
            "maxmemory-noeviction",
            place,
            "maxmemory-policy noeviction: writes fail with OOM at the limit".into(),
            "keep headroom below maxmemory, or CONFIG SET maxmemory-policy volatile-lru",
        );
    }
}

fn exposure(a: &NodeAnswer, place: &str, out: &mut Vec<Finding>) {
    if a.config("protected-mode") == Some("no") && a.config("requirepass") == Some("") {
        push(
            out,
            Severity::Warn,
            "open-without-auth",
            place,
            "protected-mode no and no requirepass".into(),
            "CONFIG SET requirepass (and masterauth, sentinel auth-pass), or ACL users",
        );
    }
}

fn announce(a: &NodeAnswer, addr: &Addr, place: &str, out: &mut Vec<Finding>) {
    if let Some(ip) = a
        .config("replica-announce-ip")
        .filter(|ip| !ip.is_empty() && *ip != addr.host)
    {
        push(
            out,
            Severity::Warn,
            "replica-announce-ip-mismatch",
            place,
            format!(
                "replica-announce-ip {ip}, but the Sentinels list it as {}",
                addr.host
            ),
            "CONFIG SET replica-announce-ip to the address clients and Sentinels reach it on",
        );
    }
}

#[cfg(test)]
mod tests;
