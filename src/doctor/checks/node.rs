//! Pure: the rules about one data node's own settings (role, write safety, backlog,
//! persistence, memory, exposure, announced address).

use super::push;
use crate::addr::Addr;
use crate::doctor::checks::Targets;
use crate::doctor::facts::{Facts, NodeAnswer, Role};
use crate::doctor::report::{Finding, Severity};

pub(super) fn role(role: Role, a: &NodeAnswer, place: &str, out: &mut Vec<Finding>) {
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

pub(super) fn write_safety(role: Role, a: &NodeAnswer, place: &str, out: &mut Vec<Finding>) {
    if a.config("min-replicas-to-write").is_some_and(|v| v == "0") {
        let whose = match role {
            Role::Primary => "an isolated primary keeps taking writes, lost when it is demoted",
            Role::Replica => "applies once this replica is promoted",
        };
        push(
            out,
            Severity::Warn,
            "min-replicas-unset",
            place,
            format!("min-replicas-to-write 0 ({whose})"),
            "CONFIG SET min-replicas-to-write 1 and min-replicas-max-lag 10 (bounds split-brain loss)",
        );
    }
}

pub(super) fn backlog(a: &NodeAnswer, f: &Facts, t: &Targets, place: &str, out: &mut Vec<Finding>) {
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

pub(super) fn persistence(a: &NodeAnswer, place: &str, out: &mut Vec<Finding>) {
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
pub(super) fn persistence_from_info(a: &NodeAnswer, place: &str, out: &mut Vec<Finding>) {
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

pub(super) fn memory(a: &NodeAnswer, place: &str, out: &mut Vec<Finding>) {
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

pub(super) fn exposure(a: &NodeAnswer, place: &str, out: &mut Vec<Finding>) {
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

pub(super) fn announce(a: &NodeAnswer, addr: &Addr, place: &str, out: &mut Vec<Finding>) {
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
