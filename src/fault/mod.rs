//! Faults injected on purpose, and how each is reverted: the [`Fault`] a scenario describes,
//! and [`inject`]/[`revert`] over three backends — local processes ([`process`]), plain
//! Redis commands ([`redis`]) and containers through the Docker edge ([`docker`], with the
//! pure target choice in [`target`]; the opt-in guard is the edge's [`crate::docker::Project`]).

pub mod docker;
pub mod process;
pub mod redis;
pub mod target;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::addr::Addr;
use crate::error::{Error, Result};
use crate::lab::Lab;

/// What to do to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// SIGKILL the process; restarted at the end of the trial.
    Kill,
    /// SIGTERM the process (a graceful shutdown); restarted at the end of the trial.
    Stop,
    /// SIGSTOP the process for `duration`, then SIGCONT.
    Pause,
    /// `DEBUG SLEEP <duration>` on the node: its event loop freezes, the process stays.
    DebugSleep,
    /// `SENTINEL FAILOVER <master>`: a manual failover, the primary stays healthy.
    SentinelFailover,
    /// Docker only: restart the container (graceful stop, then start); nothing to revert.
    Restart,
    /// Docker only: disconnect the container from its networks for `duration`, then
    /// reconnect it with its aliases (and its IP where the network allows pinning it).
    Disconnect,
    /// Docker only: for `duration`, drop all traffic between the target (plus
    /// `with_sentinels` Sentinels) and the rest of the stack, inside each container's network
    /// namespace; the host still reaches both sides.
    Partition,
}

/// Which instance the fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// The current primary, as the Sentinels report it just before the fault.
    Primary,
    /// Docker only: data nodes that are not the current primary (`count` of them).
    Replica,
    /// Docker only: Sentinels (`count` of them).
    Sentinel,
}

/// A fault as a scenario states it (`[fault]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// What to do.
    pub action: Action,
    /// To which instance.
    #[serde(default = "primary")]
    pub target: Target,
    /// For `pause` and `debug-sleep`: how long the node stays frozen; for `disconnect` and
    /// `partition`: how long it stays cut off.
    #[serde(default, with = "humantime_serde")]
    pub duration: Option<Duration>,
    /// Docker only: how many containers of the target kind (default 1).
    #[serde(default)]
    pub count: Option<u32>,
    /// Docker `partition` only: Sentinels on the target's side (default 0).
    #[serde(default)]
    pub with_sentinels: Option<u32>,
}

impl Target {
    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Target::Primary => "primary",
            Target::Replica => "replica",
            Target::Sentinel => "sentinel",
        }
    }
}

fn primary() -> Target {
    Target::Primary
}

impl Fault {
    /// Checks the settings fit together; returns what is wrong.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.with_sentinels.is_some() && self.action != Action::Partition {
            return Err("`with_sentinels` goes only with `partition`".into());
        }
        if self.count == Some(0) {
            return Err("`count` must be at least 1".into());
        }
        if self.target == Target::Primary && self.count.is_some_and(|c| c > 1) {
            return Err("there is one primary: `count` must be 1".into());
        }
        let needs_duration = self.timed() || self.action == Action::DebugSleep;
        match (needs_duration, self.duration) {
            (true, None) => Err(format!("fault `{}` needs a `duration`", self.action.name())),
            (false, Some(_)) => Err(format!(
                "fault `{}` takes no `duration` (it is reverted at the end of the trial)",
                self.action.name()
            )),
            _ => Ok(()),
        }
    }

    /// Whether the fault acts on a process, so it needs a lab that knows the PIDs.
    pub fn needs_process(&self) -> bool {
        matches!(self.action, Action::Kill | Action::Stop | Action::Pause)
    }

    /// Whether only the docker backend can carry the fault out.
    pub fn docker_only(&self) -> bool {
        matches!(
            self.action,
            Action::Restart | Action::Disconnect | Action::Partition
        ) || self.target != Target::Primary
            || self.count.is_some()
    }

    /// Whether the fault is reverted when its `duration` ends (rather than after the trial).
    pub fn timed(&self) -> bool {
        matches!(
            self.action,
            Action::Pause | Action::Disconnect | Action::Partition
        )
    }
}

impl Action {
    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Action::Kill => "kill",
            Action::Stop => "stop",
            Action::Pause => "pause",
            Action::DebugSleep => "debug-sleep",
            Action::SentinelFailover => "sentinel-failover",
            Action::Restart => "restart",
            Action::Disconnect => "disconnect",
            Action::Partition => "partition",
        }
    }
}

/// A fault in effect, holding what its revert needs.
#[derive(Debug)]
pub enum Applied {
    /// The process is down; revert restarts it.
    Down(Addr),
    /// The process is stopped with SIGSTOP; revert continues it.
    Paused(Addr),
    /// `DEBUG SLEEP` is running; revert waits for it to return.
    Sleeping(tokio::task::JoinHandle<Result<()>>),
    /// A container fault; it holds its own API client, so revert needs no lab.
    Containers(docker::Applied),
    /// Nothing to revert.
    Done,
}

impl Applied {
    /// Whether the fault took its target down (killed or stopped): revert starts it again.
    pub fn is_down(&self) -> bool {
        match self {
            Applied::Down(_) => true,
            Applied::Containers(a) => a.is_down(),
            Applied::Paused(_) | Applied::Sleeping(_) | Applied::Done => false,
        }
    }
}

/// What the fault will do, in words (for `--dry-run` and reports).
pub fn describe(fault: &Fault, node: &Addr, lab: Option<&Lab>) -> String {
    let pid = lab
        .and_then(|l| l.member(node).ok())
        .map(|m| format!(" (pid {})", m.pid))
        .unwrap_or_default();
    match fault.action {
        Action::Kill => format!("SIGKILL the primary {node}{pid}, restart it after the loss check"),
        Action::Stop => format!("SIGTERM the primary {node}{pid}, restart it after the loss check"),
        Action::Pause => format!(
            "SIGSTOP the primary {node}{pid} for {}, then SIGCONT",
            humantime::format_duration(fault.duration.unwrap_or_default())
        ),
        Action::DebugSleep => format!(
            "DEBUG SLEEP {:.3} on the primary {node}",
            fault.duration.unwrap_or_default().as_secs_f64()
        ),
        Action::SentinelFailover => format!("SENTINEL FAILOVER (primary now {node})"),
        Action::Restart | Action::Disconnect | Action::Partition => {
            format!("{} (docker only)", fault.action.name())
        }
    }
}

/// Where process and container faults are carried out.
pub enum Via<'a> {
    /// Redis commands only (no lab).
    Commands,
    /// The processes of a local lab.
    Process(&'a mut Lab),
    /// Containers chosen beforehand by [`docker::Stack::select`].
    Docker(&'a docker::Stack, &'a target::Selection),
}

/// Injects `fault` on `node` (the primary). Process faults need the lab that started it;
/// container faults the selection made on the docker stack.
pub async fn inject(
    fault: &Fault,
    node: &Addr,
    via: Via<'_>,
    sentinels: &[Addr],
    master: &str,
) -> Result<Applied> {
    let need_lab = || {
        Error::Usage(format!(
            "fault `{}` needs a lab (lab = \"process\", lab = \"docker\" or lab_dir)",
            fault.action.name()
        ))
    };
    let lab = match via {
        Via::Docker(stack, selection) if fault.needs_process() || fault.docker_only() => {
            return stack
                .inject(fault, selection)
                .await
                .map(Applied::Containers);
        }
        Via::Process(lab) => Some(lab),
        Via::Commands | Via::Docker(..) => None,
    };
    if fault.docker_only() {
        return Err(Error::Usage(format!(
            "fault `{}` on {} needs the docker backend (lab = \"docker\")",
            fault.action.name(),
            fault.target.name()
        )));
    }
    match fault.action {
        Action::Kill => process::kill(lab.ok_or_else(need_lab)?, node),
        Action::Stop => process::stop(lab.ok_or_else(need_lab)?, node).await,
        Action::Pause => process::pause(lab.ok_or_else(need_lab)?, node),
        Action::DebugSleep => Ok(redis::debug_sleep(node, fault.duration.unwrap_or_default())),
        Action::SentinelFailover => redis::sentinel_failover(sentinels, master).await,
        Action::Restart | Action::Disconnect | Action::Partition => Err(need_lab()),
    }
}

/// Reverts an applied fault. Always runs to the end; its error is reported, never swallowed.
pub async fn revert(applied: Applied, lab: Option<&mut Lab>) -> Result<()> {
    let no_lab = || Error::Usage("cannot revert a process fault without its lab".into());
    match applied {
        Applied::Down(node) => lab.ok_or_else(no_lab)?.restart(&node),
        Applied::Paused(node) => process::resume(lab.ok_or_else(no_lab)?, &node),
        Applied::Sleeping(task) => task
            .await
            .unwrap_or_else(|e| Err(Error::Usage(format!("DEBUG SLEEP task failed: {e}")))),
        Applied::Containers(applied) => applied.revert().await,
        Applied::Done => Ok(()),
    }
}
