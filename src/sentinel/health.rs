//! Is the cluster fit to fail over? The one health check behind `lab up` readiness and the
//! drill's pre-flight gate.

use std::time::{Duration, Instant};

use crate::addr::Addr;
use crate::client::{self, Timeouts};
use crate::conn::Conn;
use crate::error::{Error, Result};
use crate::sentinel::topology;

/// What a healthy cluster must show.
#[derive(Debug, Clone)]
pub struct Expect {
    /// Replicas every Sentinel must know, all healthy (`None`: at least one).
    pub replicas: Option<u32>,
    /// Other Sentinels each Sentinel must know (`None`: do not check).
    pub other_sentinels: Option<u32>,
    /// Largest accepted gap, in bytes, between the primary's offset and a replica's.
    pub max_lag_bytes: u64,
    /// Also require `SENTINEL CKQUORUM` to pass on every Sentinel.
    pub quorum: bool,
}

/// The outcome of one health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// The primary all Sentinels agree on, if they do.
    pub primary: Option<Addr>,
    /// The replicas the Sentinels list.
    pub replicas: Vec<Addr>,
    /// Why the cluster is not healthy; empty when it is.
    pub problems: Vec<String>,
}

impl Health {
    /// No problem found.
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.primary.is_some()
    }
}

/// Polls [`check`] every 100 ms until it passes or `timeout` ends. `still_up` runs before
/// each check; an error from it (a member of the cluster exited) ends the wait at once.
/// `what` names the timeout in the error.
pub async fn wait(
    conn: &Conn,
    sentinels: &[Addr],
    master: &str,
    expect: &Expect,
    timeout: Duration,
    what: &str,
    mut still_up: impl AsyncFnMut() -> Result<()>,
) -> Result<Health> {
    let deadline = Instant::now() + timeout;
    loop {
        still_up().await?;
        let health = check(conn, sentinels, master, expect).await?;
        if health.ok() {
            return Ok(health);
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: what.into(),
                waited: timeout,
                detail: health.problems.join("; "),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Checks every Sentinel and every replica once.
///
/// Fails only on errors a retry cannot fix (a master name no Sentinel knows); everything
/// transient (an unreachable Sentinel, a lagging replica) is a problem in the result.
pub async fn check(
    conn: &Conn,
    sentinels: &[Addr],
    master: &str,
    expect: &Expect,
) -> Result<Health> {
    let t = Timeouts::CONTROL;
    let mut problems = Vec::new();
    let mut primaries: Vec<Addr> = Vec::new();
    let mut replicas: Vec<Addr> = Vec::new();
    for s in sentinels {
        let mut con = match conn.sentinel(s, t).await {
            Ok(c) => c,
            Err(e @ (Error::Auth { .. } | Error::NoPerm { .. } | Error::Tls { .. })) => {
                return Err(e);
            }
            Err(e) => {
                problems.push(format!("sentinel {s} unreachable ({e})"));
                continue;
            }
        };
        let view = match topology::master(&mut con, s, master).await {
            Ok(v) => v,
            Err(e @ (Error::UnknownMaster { .. } | Error::Auth { .. } | Error::NoPerm { .. })) => {
                return Err(e);
            }
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        if view.flags.contains("down") {
            problems.push(format!("sentinel {s} flags the master {}", view.flags));
        }
        if let Some(n) = expect.other_sentinels
            && view.num_other_sentinels < n
        {
            problems.push(format!(
                "sentinel {s} knows {} of {n} other sentinels",
                view.num_other_sentinels
            ));
        }
        primaries.push(view.addr);
        let reps = topology::replicas(&mut con, s, master).await?;
        let healthy = reps.iter().filter(|r| r.healthy()).count() as u32;
        let want = expect.replicas.unwrap_or(1);
        if healthy < want || reps.len() as u32 != healthy {
            problems.push(format!(
                "sentinel {s} sees {healthy} healthy of {} replicas (want {want})",
                reps.len()
            ));
        }
        for r in reps {
            if !replicas.contains(&r.addr) {
                replicas.push(r.addr);
            }
        }
        if expect.quorum
            && let Err(why) = topology::ckquorum(&mut con, s, master).await?
        {
            problems.push(format!("sentinel {s}: CKQUORUM fails: {why}"));
        }
        if topology::tilt(&mut con, s).await? {
            problems.push(format!("sentinel {s} is in TILT mode"));
        }
    }
    primaries.dedup();
    let primary = match primaries.as_slice() {
        [one] => Some(one.clone()),
        [] => None,
        many => {
            problems.push(format!(
                "sentinels disagree on the primary: {}",
                topology::join(many)
            ));
            None
        }
    };
    if let Some(p) = &primary {
        check_replication(conn, p, &replicas, expect.max_lag_bytes, &mut problems).await?;
    }
    Ok(Health {
        primary,
        replicas,
        problems,
    })
}

/// Asks the primary, then each replica, for its offset: a replica at or past the primary's
/// earlier offset is caught up; otherwise its lag is the difference.
async fn check_replication(
    conn: &Conn,
    primary: &Addr,
    replicas: &[Addr],
    max_lag: u64,
    problems: &mut Vec<String>,
) -> Result<()> {
    let t = Timeouts::CONTROL;
    let primary_offset = match conn.node(primary, t).await {
        Ok(mut con) => match client::replication(&mut con, primary).await {
            Ok(r) if r.is_master() => r.offset,
            Ok(r) => {
                problems.push(format!("primary {primary} reports role {}", r.role));
                return Ok(());
            }
            Err(e) => return fatal(e, problems),
        },
        Err(e) => return fatal(e, problems),
    };
    for r in replicas {
        let rep = match conn.node(r, t).await {
            Ok(mut con) => client::replication(&mut con, r).await,
            Err(e) => Err(e),
        };
        match rep {
            Ok(rep) if !rep.link_up => {
                problems.push(format!("replica {r} link to its master is down"))
            }
            Ok(rep) if rep.master.as_ref() != Some(primary) => problems.push(format!(
                "replica {r} follows {} instead of {primary}",
                rep.master
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| "nothing".into())
            )),
            Ok(rep) => {
                let lag = primary_offset.saturating_sub(rep.offset).max(0) as u64;
                if lag > max_lag {
                    problems.push(format!("replica {r} lags {lag} bytes (allowed {max_lag})"));
                }
            }
            Err(e) => fatal(e, problems)?,
        }
    }
    Ok(())
}

/// An authentication, permission or TLS error ends the check (waiting cannot fix it);
/// anything else is a problem to report and retry.
fn fatal(e: Error, problems: &mut Vec<String>) -> Result<()> {
    match e {
        Error::Auth { .. } | Error::NoPerm { .. } | Error::Tls { .. } => Err(e),
        e => {
            problems.push(e.to_string());
            Ok(())
        }
    }
}
