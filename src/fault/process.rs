//! The local-process backend: signals to the PIDs a lab recorded.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::Applied;
use crate::addr::Addr;
use crate::error::{Error, Result};
use crate::lab::Lab;

/// SIGKILL.
pub fn kill(lab: &mut Lab, node: &Addr) -> Result<Applied> {
    lab.signal(node, Signal::SIGKILL)?;
    Ok(Applied::Down(node.clone()))
}

/// SIGTERM, then wait (up to 10 s) for the process to exit, without blocking the runtime
/// (event timestamps are taken on it).
pub async fn stop(lab: &mut Lab, node: &Addr) -> Result<Applied> {
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
pub fn colocated_sentinel(lab: &Lab, node: &Addr) -> Result<Addr> {
    let port = lab.member(node)?.port;
    let i = lab.nodes().iter().position(|n| n.port == port);
    i.and_then(|i| lab.sentinels().get(i).cloned())
        .ok_or_else(|| Error::internal(format!("no Sentinel pairs with {node} in the lab")))
}

/// SIGSTOP.
pub fn pause(lab: &mut Lab, node: &Addr) -> Result<Applied> {
    lab.signal(node, Signal::SIGSTOP)?;
    Ok(Applied::Paused(node.clone()))
}

/// SIGCONT.
pub fn resume(lab: &mut Lab, node: &Addr) -> Result<()> {
    lab.signal(node, Signal::SIGCONT)
}
