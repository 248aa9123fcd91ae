//! Pure: the doctor's rules. Each reads [`Facts`] (and the targets) and adds [`Finding`]s;
//! none does I/O, and time enters only as the measured [`Rate`](super::facts::Rate).

use std::collections::BTreeSet;

use super::facts::{Facts, SentinelAnswer};
use super::report::{Finding, Severity};
use crate::addr::Addr;

/// What the deployment is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Targets {
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

/// `down-after-milliseconds` at or below this risks a second failover right after a
/// failover (`redis-facts.md` §7.1: 4 of 30 kill trials at 1 s on a lab, 0 of 4 at 2 s).
const DOWN_AFTER_LOW_MS: u64 = 1000;

/// Every rule, in no particular order (the report sorts).
pub(crate) fn check(f: &Facts, t: &Targets) -> Vec<Finding> {
    let mut out = Vec::new();
    sentinels(f, &mut out);
    quorum(f, &mut out);
    colocation(f, &mut out);
    timing(f, t, &mut out);
    down_after(f, &mut out);
    hostnames(f, &mut out);
    replicas(f, &mut out);
    versions::versions(f, &mut out);
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
        node::role(n.role, a, &place, &mut out);
        sentinel_user::sentinel_users(a, &place, &mut out);
        if let Err(e) = &a.config {
            push(
                &mut out,
                Severity::Warn,
                "config-unreadable",
                &place,
                format!("could not read config: {e}"),
                "allow CONFIG GET for the doctor's user (ACL +config|get), or audit this node's redis.conf by hand",
            );
            node::persistence_from_info(a, &place, &mut out);
            continue;
        }
        node::write_safety(n.role, a, &place, &mut out);
        node::backlog(a, f, t, &place, &mut out);
        node::persistence(a, &place, &mut out);
        node::memory(a, &place, &mut out);
        node::exposure(a, &place, &mut out);
        node::announce(a, &n.addr, &place, &mut out);
    }
    out
}

pub(super) fn push(
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
pub(super) fn answered(f: &Facts) -> Vec<(&Addr, &SentinelAnswer)> {
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
    // down-after has its own rule ([`down_after`]).
    let mut settings: Vec<_> = answered(f)
        .iter()
        .map(|(_, a)| {
            let s = a.settings;
            (s.quorum, s.failover_timeout_ms, s.parallel_syncs)
        })
        .collect();
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

/// `down-after-milliseconds` of 1 s or less on a Sentinel, and Sentinels that disagree on it.
fn down_after(f: &Facts, out: &mut Vec<Finding>) {
    let seen: Vec<(&Addr, u64)> = answered(f)
        .into_iter()
        .map(|(addr, a)| (addr, a.settings.down_after_ms))
        .collect();
    let mut low: Vec<u64> = seen
        .iter()
        .map(|(_, d)| *d)
        .filter(|d| *d <= DOWN_AFTER_LOW_MS)
        .collect();
    if !low.is_empty() {
        let n = low.len();
        low.sort_unstable();
        low.dedup();
        let values: Vec<String> = low.iter().map(u64::to_string).collect();
        push(
            out,
            Severity::Warn,
            "down-after-low",
            "sentinels",
            format!(
                "down-after-milliseconds {} on {n} of {} Sentinel(s): a Sentinel may put the primary it \
                 just switched to in +sdown one down-after later and fail over again (seen in ~4 of 30 \
                 kill trials at 1 s on a lab, 0 of 4 at 2 s)",
                values.join(", "),
                seen.len()
            ),
            "SENTINEL SET <master> down-after-milliseconds 2000 or more on every Sentinel (watch raises failover-after-failover when it happens)",
        );
    }
    let mut values: Vec<u64> = seen.iter().map(|(_, d)| *d).collect();
    values.sort_unstable();
    values.dedup();
    if values.len() > 1 {
        push(
            out,
            Severity::Warn,
            "down-after-differs",
            "sentinels",
            format!(
                "down-after-milliseconds differs ({}): the Sentinel with the shortest puts the master \
                 down first and starts the failovers; the others agree only after their own",
                seen.iter()
                    .map(|(addr, d)| format!("{addr}: {d}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "SENTINEL SET <master> down-after-milliseconds to one value on every Sentinel",
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
    // The node's own config is current; a Sentinel refreshes its copy only every 10 s.
    let priority = |r: &crate::sentinel::view::ReplicaView| {
        f.nodes
            .iter()
            .find(|n| n.addr == r.addr)
            .and_then(|n| {
                n.answer
                    .as_ref()
                    .ok()?
                    .config("replica-priority")?
                    .parse()
                    .ok()
            })
            .unwrap_or(r.priority)
    };
    let zero: Vec<String> = a
        .replicas
        .iter()
        .filter(|r| priority(r) == 0)
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

mod node;
mod sentinel_user;
#[cfg(test)]
mod tests;
mod versions;
