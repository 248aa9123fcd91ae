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

/// How far a drill's faults reach into the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Redis commands only (given Sentinels, no lab).
    Commands,
    /// The processes of a local lab.
    Process,
    /// Containers through the Docker API.
    Docker,
}

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

    /// Whether the fault can be carried out where `reach` goes; what to set when not.
    pub fn reaches(&self, reach: Reach) -> std::result::Result<(), String> {
        match reach {
            Reach::Commands if self.needs_process() || self.docker_only() => Err(format!(
                "`{}` acts on a process or container: set target.lab, lab_dir or compose_project",
                self.action.name()
            )),
            Reach::Process if self.docker_only() => Err(format!(
                "`{}` on {} needs the docker backend: set target.lab = \"docker\"",
                self.action.name(),
                self.target.name()
            )),
            _ => Ok(()),
        }
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

/// What the fault will do to `node` (the primary) by plain commands or a lab's processes, in
/// words (for `--dry-run` and reports).
fn describe(fault: &Fault, node: &Addr, lab: Option<&Lab>) -> String {
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

/// Where a drill's faults are carried out: the one place that decides the backend.
pub enum Via<'a> {
    /// Redis commands only (no lab).
    Commands,
    /// The processes of a local lab.
    Process(&'a mut Lab),
    /// Containers of a docker stack; faults that need no container use commands.
    Docker(&'a docker::Stack),
}

impl Via<'_> {
    /// How far this backend reaches.
    pub fn reach(&self) -> Reach {
        match self {
            Via::Commands => Reach::Commands,
            Via::Process(_) => Reach::Process,
            Via::Docker(_) => Reach::Docker,
        }
    }
}

/// Whether `fault` acts on containers when the backend is docker.
fn on_containers(fault: &Fault) -> bool {
    fault.needs_process() || fault.docker_only()
}

/// What `fault` would do to `node` (the primary) through `via`, resolved as far as it can be
/// without doing it (the containers it would hit are chosen).
pub async fn preview(fault: &Fault, node: &Addr, via: &Via<'_>) -> Result<String> {
    fault.reaches(via.reach()).map_err(Error::Usage)?;
    match via {
        Via::Docker(stack) if on_containers(fault) => {
            Ok(docker::describe(fault, &stack.select(fault, node).await?))
        }
        Via::Process(lab) => {
            if fault.needs_process() {
                lab.member(node)?;
            }
            Ok(describe(fault, node, Some(lab)))
        }
        Via::Commands | Via::Docker(_) => Ok(describe(fault, node, None)),
    }
}

/// Injects `fault` on `node` (the primary) through `via`; returns what it did, in words, and
/// the fault in effect.
pub async fn inject(
    fault: &Fault,
    node: &Addr,
    via: Via<'_>,
    sentinels: &[Addr],
    master: &str,
    conn: &crate::conn::Conn,
) -> (String, Result<Applied>) {
    if let Err(why) = fault.reaches(via.reach()) {
        return (fault.action.name().to_string(), Err(Error::Usage(why)));
    }
    let lab = match via {
        Via::Docker(stack) if on_containers(fault) => {
            let sel = match stack.select(fault, node).await {
                Ok(sel) => sel,
                Err(e) => return (fault.action.name().to_string(), Err(e)),
            };
            let result = stack.inject(fault, &sel).await.map(Applied::Containers);
            return (docker::describe(fault, &sel), result);
        }
        Via::Process(lab) => Some(lab),
        Via::Commands | Via::Docker(_) => None,
    };
    let description = describe(fault, node, lab.as_deref());
    let result = match (fault.action, lab) {
        (Action::Kill, Some(lab)) => process::kill(lab, node),
        (Action::Stop, Some(lab)) => process::stop(lab, node).await,
        (Action::Pause, Some(lab)) => process::pause(lab, node),
        (Action::DebugSleep, _) => Ok(redis::debug_sleep(
            conn,
            node,
            fault.duration.unwrap_or_default(),
        )),
        (Action::SentinelFailover, _) => redis::sentinel_failover(conn, sentinels, master).await,
        (action, _) => Err(Error::Usage(format!(
            "fault `{}` needs a lab (lab = \"process\", lab = \"docker\" or lab_dir)",
            action.name()
        ))),
    };
    (description, result)
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
