//! The local-process backend: signals to the PIDs a lab recorded.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::Applied;
use super::redis::{failover_on, simulate_failure};
use super::spec::CrashWhen;
use crate::addr::Addr;
use crate::conn::Conn;
use crate::error::{Error, Result};
use crate::journal::{Entry, Undo};
use crate::lab::Lab;

/// SIGKILL.
pub(crate) fn kill(lab: &mut Lab, node: &Addr) -> Result<Applied> {
    lab.signal(node, Signal::SIGKILL)?;
    Ok(Applied::Down(node.clone()))
}

/// SIGTERM, then wait (up to 10 s) for the process to exit, without blocking the runtime
/// (event timestamps are taken on it).
pub(crate) async fn stop(lab: &mut Lab, node: &Addr) -> Result<Applied> {
    lab.signal(node, Signal::SIGTERM)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while lab.is_running(node)? {
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: format!("{node} did not exit after SIGTERM"),
                waited: Duration::from_secs(10),
                detail: "the process is still running".into(),
            });
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(Applied::Down(node.clone()))
}

/// The Sentinel that shares a host with `node` in a process lab: the lab pairs its *i*-th
/// data node with its *i*-th Sentinel (one host each).
pub(crate) fn colocated_sentinel(lab: &Lab, node: &Addr) -> Result<Addr> {
    let port = lab.member(node)?.port;
    let i = lab.nodes().iter().position(|n| n.port == port);
    i.and_then(|i| lab.sentinels().get(i).cloned())
        .ok_or_else(|| Error::internal(format!("no Sentinel pairs with {node} in the lab")))
}

/// SIGSTOP.
pub(crate) fn pause(lab: &mut Lab, node: &Addr) -> Result<Applied> {
    lab.signal(node, Signal::SIGSTOP)?;
    Ok(Applied::Paused(node.clone()))
}

/// SIGCONT.
pub(crate) fn resume(lab: &mut Lab, node: &Addr) -> Result<()> {
    lab.signal(node, Signal::SIGCONT)
}

/// How long the failover leader has to exit once `SENTINEL FAILOVER` is accepted: after its
/// election at once, after a promotion once its `INFO` shows the replica as a primary (1 s
/// polls during a failover, bounded by failover-timeout).
pub(crate) const CRASH_WAIT: Duration = Duration::from_secs(30);

/// `sentinel-leader-crash`: arms `SENTINEL SIMULATE-FAILURE crash-after-<when>` on every
/// Sentinel of `lab` (each one's restart recorded in `journal` first), starts a failover of
/// `master` with `SENTINEL FAILOVER` (the Sentinel that accepts it is the leader, no election
/// needed), waits for that Sentinel's process to exit, and disarms the others at once, so a
/// later failover by them runs normally. The crashed Sentinel is started again by the revert.
pub(crate) async fn leader_crash(
    lab: &mut Lab,
    conn: &Conn,
    master: &str,
    when: CrashWhen,
    journal: &mut Entry,
) -> Result<Applied> {
    let sentinels = lab.sentinels();
    for s in &sentinels {
        journal.will(Undo::Restart {
            lab_dir: lab.dir().to_path_buf(),
            addr: s.clone(),
        })?;
    }
    let mut armed = Ok(());
    for s in &sentinels {
        armed = armed.and(simulate_failure(conn, s, Some(when.mode())).await);
    }
    let crashed = match armed {
        Ok(()) => match failover_on(conn, &sentinels, master, false).await {
            Ok(leader) => wait_exit(lab, &leader).await.map(|()| leader),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    for s in &sentinels {
        if crashed.as_ref().is_ok_and(|l| l == s) {
            continue;
        }
        if let Err(e) = simulate_failure(conn, s, None).await {
            tracing::warn!(sentinel = %s, "could not clear SENTINEL SIMULATE-FAILURE: {e}");
        }
    }
    crashed.map(Applied::SentinelDown)
}

/// Waits until the lab process at `addr` has exited (at most [`CRASH_WAIT`]).
async fn wait_exit(lab: &mut Lab, addr: &Addr) -> Result<()> {
    let deadline = Instant::now() + CRASH_WAIT;
    while lab.is_running(addr)? {
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: format!("the failover leader {addr} to crash (SENTINEL SIMULATE-FAILURE)"),
                waited: CRASH_WAIT,
                detail: "it is still running: the failover did not reach the armed step".into(),
            });
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}
