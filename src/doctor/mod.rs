//! `warden doctor`: a one-shot audit of a live deployment's HA configuration. This module is
//! the only I/O: it asks every Sentinel and every data node (through [`Conn`])
//! and fills plain [`facts::Facts`]; [`checks`] turns them into findings and [`report`]
//! prints them (both pure).

pub(crate) mod audit;
pub(crate) mod checks;
pub(crate) mod facts;
pub(crate) mod report;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use futures_util::future::join_all;

use crate::addr::Addr;
use crate::client::{self, Timeouts};
use crate::conn::{Con, Conn};
use crate::error::{Error, Result};
use crate::sentinel::topology;
use crate::sentinel::view::{MasterView, ReplicaView};
use crate::server::{Family, ServerVersion};
use facts::{
    Facts, MasterSettings, NodeAnswer, NodeFacts, Peer, Probe, Rate, Role, SentinelAnswer,
    SentinelFacts, SentinelUser,
};
use report::Report;

/// What to audit.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// The Sentinels to ask.
    pub sentinels: Vec<Addr>,
    /// How to connect to the Sentinels and the nodes.
    pub conn: Conn,
    /// The master name they monitor.
    pub master: String,
    /// What the deployment is held to.
    pub targets: checks::Targets,
    /// Time between the two samples of the primary's replication offset.
    pub sample: Duration,
}

/// Gathers, checks and reports. Fails (exit 2) only when no Sentinel answered or none
/// knows the master.
pub(crate) async fn run(spec: &Spec) -> Result<Report> {
    let facts = gather(spec).await?;
    let findings = checks::check(&facts, &spec.targets);
    Ok(Report::new(
        &spec.master,
        spec.sentinels.iter().map(ToString::to_string).collect(),
        facts.primary.as_ref().map(ToString::to_string),
        spec.targets.rto_ms,
        findings,
    ))
}

/// Asks every Sentinel, then every node they name, then samples the primary's write rate.
pub(crate) async fn gather(spec: &Spec) -> Result<Facts> {
    let answers = join_all(
        spec.sentinels
            .iter()
            .map(|s| ask_sentinel(&spec.conn, s, &spec.master)),
    )
    .await;
    let mut sentinels = Vec::new();
    let mut unknown_master = false;
    for (addr, a) in spec.sentinels.iter().zip(answers) {
        unknown_master |= matches!(a, Err(Error::UnknownMaster { .. }));
        sentinels.push(SentinelFacts {
            addr: addr.clone(),
            answer: a.map_err(|e| e.to_string()),
        });
    }
    let ok: Vec<&SentinelAnswer> = sentinels
        .iter()
        .filter_map(|s| s.answer.as_ref().ok())
        .collect();
    if ok.is_empty() {
        let list = topology::join(&spec.sentinels);
        return Err(if unknown_master {
            Error::UnknownMaster {
                master: spec.master.clone(),
                sentinels: list,
            }
        } else {
            let last = sentinels
                .last()
                .and_then(|s| s.answer.as_ref().err().cloned());
            Error::NoSentinel {
                sentinels: list,
                last: last.unwrap_or_else(|| "no Sentinel given".into()),
            }
        });
    }
    let named: Vec<Addr> = ok.iter().map(|a| a.master.addr.clone()).collect();
    let primary = facts::majority_primary(&named);
    let mut members: Vec<(Addr, Role)> =
        primary.iter().map(|p| (p.clone(), Role::Primary)).collect();
    let mut replicas: Vec<Addr> = ok
        .iter()
        .flat_map(|a| a.replicas.iter().map(|r| r.addr.clone()))
        .collect();
    replicas.sort();
    replicas.dedup();
    members.extend(
        replicas
            .into_iter()
            .filter(|r| Some(r) != primary.as_ref())
            .map(|r| (r, Role::Replica)),
    );
    let node_answers = join_all(members.iter().map(|(a, _)| ask_node(&spec.conn, a))).await;
    let nodes = members
        .into_iter()
        .zip(node_answers)
        .map(|((addr, role), answer)| NodeFacts {
            addr,
            role,
            answer: answer.map_err(|e| e.to_string()),
        })
        .collect();
    let write_rate = match &primary {
        Some(p) => sample_rate(&spec.conn, p, spec.sample).await.ok(),
        None => None,
    };
    Ok(Facts {
        master: spec.master.clone(),
        sentinels,
        primary,
        nodes,
        write_rate,
    })
}

async fn ask_sentinel(conn: &Conn, s: &Addr, name: &str) -> Result<SentinelAnswer> {
    let mut con = conn.sentinel(s, Timeouts::CONTROL).await?;
    let fields: HashMap<String, String> =
        client::query(&mut con, s, redis::cmd("SENTINEL").arg("MASTER").arg(name))
            .await
            .map_err(|e| no_such_master(e, s, name))?;
    let unknown = || Error::UnknownMaster {
        master: name.into(),
        sentinels: s.to_string(),
    };
    let master = MasterView::from_fields(&fields).ok_or_else(unknown)?;
    let settings = MasterSettings::from_fields(&fields).ok_or_else(unknown)?;
    let replicas: Vec<HashMap<String, String>> = client::query(
        &mut con,
        s,
        redis::cmd("SENTINEL").arg("REPLICAS").arg(name),
    )
    .await?;
    let peers: Vec<HashMap<String, String>> = client::query(
        &mut con,
        s,
        redis::cmd("SENTINEL").arg("SENTINELS").arg(name),
    )
    .await?;
    let ckquorum = topology::ckquorum(&mut con, s, name).await?;
    let info: String = client::query(&mut con, s, redis::cmd("INFO").arg("server")).await?;
    let mut config = BTreeMap::new();
    for key in ["resolve-hostnames", "announce-hostnames"] {
        // Before 6.2 there is no SENTINEL CONFIG: the setting stays unknown.
        let reply: redis::RedisResult<HashMap<String, String>> = redis::cmd("SENTINEL")
            .arg("CONFIG")
            .arg("GET")
            .arg(key)
            .query_async(&mut con)
            .await;
        if let Some(v) = reply.ok().and_then(|m| m.get(key).cloned()) {
            config.insert(key.to_string(), v);
        }
    }
    Ok(SentinelAnswer {
        version: client::parse_info(&info)
            .remove("redis_version")
            .unwrap_or_default(),
        master,
        settings,
        replicas: replicas
            .iter()
            .filter_map(ReplicaView::from_fields)
            .collect(),
        peers: peers.iter().filter_map(Peer::from_fields).collect(),
        ckquorum,
        config,
    })
}

fn no_such_master(e: Error, s: &Addr, name: &str) -> Error {
    match e {
        Error::Command { ref source, .. } if source.to_string().contains("No such master") => {
            Error::UnknownMaster {
                master: name.into(),
                sentinels: s.to_string(),
            }
        }
        e => e,
    }
}

/// `INFO server|replication|persistence` and `CONFIG GET *`. A refused `CONFIG` (renamed,
/// ACL) is kept as the config's error, not a failure.
async fn ask_node(conn: &Conn, addr: &Addr) -> Result<NodeAnswer> {
    let mut con = conn.node(addr, Timeouts::CONTROL).await?;
    let mut info = BTreeMap::new();
    for section in ["server", "replication", "persistence"] {
        let text: String = client::query(&mut con, addr, redis::cmd("INFO").arg(section)).await?;
        info.extend(client::parse_info(&text));
    }
    let reply: redis::RedisResult<HashMap<String, String>> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("*")
        .query_async(&mut con)
        .await;
    let config = match reply {
        Ok(all) => Ok(facts::relevant_config(all)),
        Err(e) if e.code().is_some() => Err(crate::error::one_line(&e.to_string())),
        Err(source) => {
            return Err(Error::Command {
                addr: addr.clone(),
                command: "CONFIG GET".into(),
                source,
            });
        }
    };
    let sentinel_users = sentinel_users(&mut con, addr, &info).await;
    Ok(NodeAnswer {
        info,
        config,
        sentinel_users,
    })
}

/// Sentinel's own users on the node (`CLIENT LIST`), each asked with `ACL DRYRUN` (Redis 7.0
/// and later, every Valkey) for what Sentinel sends it; [`facts::PROBES`] marked coordinated
/// only on Valkey 9 and later. `Err`: why it could not be asked.
async fn sentinel_users(
    con: &mut Con,
    addr: &Addr,
    info: &BTreeMap<String, String>,
) -> std::result::Result<Vec<SentinelUser>, String> {
    let server = ServerVersion::from_info(&info.clone().into_iter().collect());
    let major = server.major_minor().map_or(0, |(major, _)| major);
    let valkey = server.family == Family::Valkey;
    if !valkey && major < 7 {
        return Err(format!("{server} has no ACL DRYRUN (Redis 7.0 and later)"));
    }
    let probes: Vec<&'static Probe> = facts::PROBES
        .iter()
        .filter(|p| !p.coordinated || (valkey && major >= 9))
        .collect();
    let list: String = client::query(con, addr, redis::cmd("CLIENT").arg("LIST"))
        .await
        .map_err(|e| e.to_string())?;
    let mut users = Vec::new();
    for user in facts::sentinel_users(&list) {
        let mut pipe = redis::pipe();
        for p in &probes {
            pipe.cmd("ACL").arg("DRYRUN").arg(&user).arg(p.args);
        }
        let replies: Vec<redis::Value> = pipe
            .query_async(con)
            .await
            .map_err(|e| crate::error::one_line(&format!("ACL DRYRUN on {addr}: {e}")))?;
        let mut refused = Vec::new();
        for (p, reply) in probes.iter().zip(replies) {
            match reply {
                redis::Value::Okay => {}
                redis::Value::SimpleString(s) if s == "OK" => {}
                // The refusal's reason, as text.
                redis::Value::BulkString(why) => {
                    refused.push((*p, String::from_utf8_lossy(&why).into_owned()))
                }
                other => {
                    let e = redis::from_redis_value::<String>(other).err();
                    let e = e.map(|e| e.to_string()).unwrap_or_default();
                    return Err(crate::error::one_line(&format!(
                        "ACL DRYRUN {user} {} on {addr}: {e}",
                        p.command()
                    )));
                }
            }
        }
        users.push(SentinelUser { user, refused });
    }
    Ok(users)
}

/// The primary's `master_repl_offset` twice, `gap` apart; the interval is measured here.
async fn sample_rate(conn: &Conn, primary: &Addr, gap: Duration) -> Result<Rate> {
    let mut con = conn.node(primary, Timeouts::CONTROL).await?;
    let (first, t0) = (offset(&mut con, primary).await?, Instant::now());
    tokio::time::sleep(gap).await;
    let (second, t1) = (offset(&mut con, primary).await?, Instant::now());
    Ok(Rate {
        bytes: second - first,
        over_ms: (t1 - t0).as_millis() as u64,
    })
}

async fn offset(con: &mut Con, addr: &Addr) -> Result<i64> {
    Ok(client::replication(con, addr).await?.offset)
}
