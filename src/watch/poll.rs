//! The topology poller of `warden watch`: one task per Sentinel group that, every poll
//! interval, asks each Sentinel (`SENTINEL MASTERS`, `GET-MASTER-ADDR-BY-NAME`, `CKQUORUM`,
//! `SENTINEL REPLICAS`, `INFO sentinel`) and each data node (`ROLE`, `INFO replication`,
//! `INFO stats`) and sends one [`Snapshot`] per followed master to the watch loop, which
//! runs the pure detectors of [`crate::failover::hazard`] on it.
//!
//! Sentinels and nodes are asked concurrently with short timeouts, so a stopped Sentinel or a
//! replica in `DEBUG SLEEP` delays a poll by at most one timeout. Every connection comes
//! from the group's [`Conn`] (Sentinels with theirs, nodes with theirs).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::config::Group;
use crate::addr::Addr;
use crate::client::{self, Timeouts};
use crate::conn::{Con, Conn};
use crate::failover::hazard::{
    NodeSeen, PrimarySeen, ReplicaLine, SentinelAnswer, SentinelSeen, Snapshot,
};
use crate::sentinel::topology;

/// Short: a poll must not lag behind by more than one of these.
const POLL: Timeouts = Timeouts {
    connect: Duration::from_millis(500),
    response: Duration::from_millis(1500),
};

pub(crate) use super::core::Polled;

/// Polls `group` every `every` until `tx`'s receiver is gone; the first poll is immediate.
pub(crate) async fn run(
    conn: Conn,
    group_ix: usize,
    group: Group,
    every: Duration,
    tx: mpsc::UnboundedSender<Polled>,
) {
    let mut last: HashMap<String, (Instant, i64, Addr)> = HashMap::new();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = tx.closed() => return,
        }
        let began = Instant::now();
        for snapshot in poll(&conn, &group).await {
            let at = Instant::now();
            let bytes_per_sec = rate(&mut last, &snapshot, at);
            let msg = Polled {
                group: group_ix,
                began,
                at,
                snapshot,
                bytes_per_sec,
            };
            if tx.send(msg).is_err() {
                return;
            }
        }
    }
}

/// Bytes/s of the primary's offset since the previous poll of the same primary.
fn rate(
    last: &mut HashMap<String, (Instant, i64, Addr)>,
    s: &Snapshot,
    at: Instant,
) -> Option<f64> {
    let (p, addr) = (s.primary.as_ref()?, s.primary_addr.clone()?);
    let prev = last.insert(s.master.clone(), (at, p.offset, addr.clone()));
    let (t, offset, was) = prev?;
    let dt = at.saturating_duration_since(t).as_secs_f64();
    (was == addr && dt > 0.0 && p.offset >= offset).then(|| (p.offset - offset) as f64 / dt)
}

/// What one Sentinel said about every master it monitors.
#[derive(Debug, Clone, Default)]
struct SentinelPoll {
    answers: BTreeMap<String, SentinelAnswer>,
    replicas: BTreeMap<String, Vec<Addr>>,
}

/// One poll of every followed master of `group`.
pub(crate) async fn poll(conn: &Conn, group: &Group) -> Vec<Snapshot> {
    let mut set = JoinSet::new();
    for (i, s) in group.sentinels.iter().cloned().enumerate() {
        let (g, conn) = (group.clone(), conn.clone());
        set.spawn(async move { (i, ask_sentinel(&conn, &s, &g).await) });
    }
    let mut polls: Vec<Result<SentinelPoll, String>> =
        vec![Err("not asked".into()); group.sentinels.len()];
    while let Some(Ok((i, r))) = set.join_next().await {
        polls[i] = r;
    }
    let mut masters: Vec<String> = polls
        .iter()
        .flatten()
        .flat_map(|p| p.answers.keys().cloned())
        .collect();
    masters.extend(group.masters.iter().cloned());
    masters.sort();
    masters.dedup();
    let mut out = Vec::new();
    for m in masters {
        out.push(snapshot(conn, group, &polls, m).await);
    }
    out
}

async fn snapshot(
    conn: &Conn,
    group: &Group,
    polls: &[Result<SentinelPoll, String>],
    master: String,
) -> Snapshot {
    let sentinels: Vec<SentinelSeen> = group
        .sentinels
        .iter()
        .zip(polls)
        .map(|(addr, p)| SentinelSeen {
            addr: addr.clone(),
            answer: match p {
                Ok(p) => p
                    .answers
                    .get(&master)
                    .cloned()
                    .ok_or_else(|| format!("does not monitor '{master}'")),
                Err(why) => Err(why.clone()),
            },
        })
        .collect();
    let primary_addr = majority(
        sentinels
            .iter()
            .filter_map(|s| s.answer.as_ref().ok()?.primary.clone()),
    );
    let mut addrs: Vec<Addr> = primary_addr.iter().cloned().collect();
    for p in polls.iter().flatten() {
        for r in p.replicas.get(&master).into_iter().flatten() {
            if !addrs.contains(r) {
                addrs.push(r.clone());
            }
        }
    }
    let mut set = JoinSet::new();
    for (i, a) in addrs.iter().cloned().enumerate() {
        let conn = conn.clone();
        set.spawn(async move { (i, ask_node(&conn, &a).await) });
    }
    let mut nodes: Vec<Option<(NodeSeen, Option<PrimarySeen>)>> = vec![None; addrs.len()];
    while let Some(Ok((i, r))) = set.join_next().await {
        nodes[i] = Some(r);
    }
    let mut primary = None;
    let mut seen = Vec::new();
    for (a, n) in addrs.iter().zip(nodes) {
        let (node, p) = n.unwrap_or_else(|| {
            (
                NodeSeen {
                    addr: a.clone(),
                    role: None,
                    link_up: None,
                    offset: None,
                },
                None,
            )
        });
        if Some(a) == primary_addr.as_ref() {
            primary = p;
        }
        seen.push(node);
    }
    Snapshot {
        master,
        sentinels,
        nodes: seen,
        primary,
        primary_addr,
    }
}

/// The address most Sentinels name (the first of equals).
fn majority(names: impl Iterator<Item = Addr>) -> Option<Addr> {
    let mut counts: Vec<(Addr, usize)> = Vec::new();
    for a in names {
        match counts.iter_mut().find(|(x, _)| *x == a) {
            Some((_, n)) => *n += 1,
            None => counts.push((a, 1)),
        }
    }
    let best = counts.iter().map(|(_, n)| *n).max()?;
    counts.into_iter().find(|(_, n)| *n == best).map(|(a, _)| a)
}

async fn ask_sentinel(conn: &Conn, s: &Addr, group: &Group) -> Result<SentinelPoll, String> {
    let mut con = conn.sentinel(s, POLL).await.map_err(|e| e.to_string())?;
    let list: Vec<HashMap<String, String>> =
        client::query(&mut con, s, redis::cmd("SENTINEL").arg("MASTERS"))
            .await
            .map_err(|e| e.to_string())?;
    let info: String = client::query(&mut con, s, redis::cmd("INFO").arg("sentinel"))
        .await
        .map_err(|e| e.to_string())?;
    let tilt = client::parse_info(&info)
        .get("sentinel_tilt")
        .is_some_and(|v| v == "1");
    let mut out = SentinelPoll::default();
    for m in list {
        let Some(name) = m.get("name").cloned() else {
            continue;
        };
        if !group.follows(&name) {
            continue;
        }
        let answer = ask_master(&mut con, s, &name, &m, tilt).await?;
        let replicas = topology::replicas(&mut con, s, &name)
            .await
            .map_err(|e| e.to_string())?;
        out.replicas
            .insert(name.clone(), replicas.into_iter().map(|r| r.addr).collect());
        out.answers.insert(name, answer);
    }
    Ok(out)
}

async fn ask_master(
    con: &mut Con,
    s: &Addr,
    name: &str,
    fields: &HashMap<String, String>,
    tilt: bool,
) -> Result<SentinelAnswer, String> {
    let primary: Option<(String, u16)> = client::query(
        con,
        s,
        redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(name),
    )
    .await
    .map_err(|e| e.to_string())?;
    let quorum = topology::ckquorum(con, s, name)
        .await
        .map_err(|e| e.to_string())?
        .map(|_| ());
    Ok(SentinelAnswer {
        primary: primary.map(|(h, p)| Addr::new(h, p)),
        config_epoch: fields.get("config-epoch").and_then(|e| e.parse().ok()),
        quorum,
        tilt,
        other_sentinels: fields
            .get("num-other-sentinels")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
        down_after_ms: fields
            .get("down-after-milliseconds")
            .and_then(|n| n.parse().ok()),
    })
}

/// `ROLE`, `INFO replication` and (for a primary) `INFO stats` of one node.
async fn ask_node(conn: &Conn, a: &Addr) -> (NodeSeen, Option<PrimarySeen>) {
    let mut node = NodeSeen {
        addr: a.clone(),
        role: None,
        link_up: None,
        offset: None,
    };
    let Ok(mut con) = conn.node(a, POLL).await else {
        return (node, None);
    };
    let Ok(role) = role(&mut con, a).await else {
        return (node, None);
    };
    node.role = Some(role.clone());
    let Ok(text) =
        client::query::<String>(&mut con, a, redis::cmd("INFO").arg("replication")).await
    else {
        return (node, None);
    };
    let info = client::parse_info(&text);
    if role != "master" {
        node.link_up = info.get("master_link_status").map(|s| s == "up");
        node.offset = info.get("slave_repl_offset").and_then(|o| o.parse().ok());
        return (node, None);
    }
    let stats: String = client::query(&mut con, a, redis::cmd("INFO").arg("stats"))
        .await
        .unwrap_or_default();
    let ops_per_sec = client::parse_info(&stats)
        .get("instantaneous_ops_per_sec")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let primary = PrimarySeen {
        offset: info
            .get("master_repl_offset")
            .and_then(|o| o.parse().ok())
            .unwrap_or(0),
        replicas: replica_lines(&info),
        ops_per_sec,
    };
    (node, Some(primary))
}

/// Checks a `+switch-master` to `new` the way a careful client does before following it:
/// `ROLE` on `new` must say `master`, and a Sentinel of the group must name `new` with a
/// config epoch above `known_epoch`. Asks a few times (a Sentinel may be a moment behind);
/// `Err` says why it is not confirmed.
pub(crate) async fn confirm_switch(
    conn: &Conn,
    sentinels: &[Addr],
    master: &str,
    new: &Addr,
    known_epoch: Option<u64>,
) -> Result<(), String> {
    let mut why = String::new();
    for attempt in 0..5 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let role = match conn.node(new, POLL).await {
            Ok(mut con) => role(&mut con, new).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let mut epoch = None;
        for s in sentinels {
            if let Some(e) = names_with_epoch(conn, s, master, new).await {
                epoch = epoch.max(Some(e));
            }
        }
        let is_master = role.as_deref().is_ok_and(|r| r == "master");
        if crate::failover::hazard::switch_confirmed(is_master, epoch, known_epoch) {
            return Ok(());
        }
        let role = role.unwrap_or_else(|e| format!("no answer ({e})"));
        let known = known_epoch.map_or("none".into(), |e| e.to_string());
        why = match epoch {
            Some(e) => format!(
                "{new} answers ROLE {role}; Sentinels name it at config epoch {e} (known {known})"
            ),
            None => format!(
                "{new} answers ROLE {role}; no Sentinel names it as the primary (known epoch {known})"
            ),
        };
    }
    Err(why)
}

/// The config epoch of `master` on `s` if `s` names `new` as its primary.
async fn names_with_epoch(conn: &Conn, s: &Addr, master: &str, new: &Addr) -> Option<u64> {
    let mut con = conn.sentinel(s, POLL).await.ok()?;
    let named: Option<(String, u16)> = client::query(
        &mut con,
        s,
        redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(master),
    )
    .await
    .ok()?;
    let (h, p) = named?;
    if Addr::new(h, p) != *new {
        return None;
    }
    let view: HashMap<String, String> = client::query(
        &mut con,
        s,
        redis::cmd("SENTINEL").arg("MASTER").arg(master),
    )
    .await
    .ok()?;
    view.get("config-epoch")?.parse().ok()
}

/// The first word of `ROLE`: `master`, `slave`, `sentinel`.
async fn role(con: &mut Con, a: &Addr) -> crate::error::Result<String> {
    let v: redis::Value = client::query(con, a, &redis::cmd("ROLE")).await?;
    Ok(match v {
        redis::Value::Array(items) => match items.first() {
            Some(redis::Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
            _ => "unknown".into(),
        },
        _ => "unknown".into(),
    })
}

/// The `slaveN:ip=…,port=…,state=…,offset=…,lag=…` lines of a primary's `INFO replication`.
pub(crate) fn replica_lines(info: &HashMap<String, String>) -> Vec<ReplicaLine> {
    let mut lines: Vec<(u32, ReplicaLine)> = info
        .iter()
        .filter_map(|(k, v)| {
            let n: u32 = k.strip_prefix("slave")?.parse().ok()?;
            let f: HashMap<&str, &str> = v.split(',').filter_map(|kv| kv.split_once('=')).collect();
            let addr = Addr::new(*f.get("ip")?, f.get("port")?.parse().ok()?);
            Some((
                n,
                ReplicaLine {
                    addr,
                    offset: f.get("offset")?.parse().ok()?,
                    lag_secs: f.get("lag").and_then(|l| l.parse().ok()).unwrap_or(0),
                },
            ))
        })
        .collect();
    lines.sort_by_key(|(n, _)| *n);
    lines.into_iter().map(|(_, l)| l).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_lines_are_read_in_order() {
        let info = client::parse_info(
            "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n\
             slave1:ip=127.0.0.1,port=7003,state=online,offset=90,lag=3\r\n\
             slave0:ip=127.0.0.1,port=7002,state=online,offset=100,lag=0\r\n\
             master_repl_offset:100\r\n",
        );
        let lines = replica_lines(&info);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].addr, Addr::local(7002));
        assert_eq!((lines[1].offset, lines[1].lag_secs), (90, 3));
    }

    #[test]
    fn the_majority_answer_wins() {
        let got = majority([Addr::local(1), Addr::local(2), Addr::local(2)].into_iter());
        assert_eq!(got, Some(Addr::local(2)));
        assert_eq!(majority(std::iter::empty()), None);
    }
}
