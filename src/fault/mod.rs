//! Faults injected on purpose, and how each is reverted: the [`Fault`] a scenario describes,
//! and [`inject`]/[`revert`] over two backends — local processes ([`process`]) and plain
//! Redis commands ([`redis`]).

pub mod process;
pub mod redis;

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
}

/// Which instance the fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// The current primary, as the Sentinels report it just before the fault.
    Primary,
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
    /// For `pause` and `debug-sleep`: how long the node stays frozen.
    #[serde(default, with = "humantime_serde")]
    pub duration: Option<Duration>,
}

fn primary() -> Target {
    Target::Primary
}

impl Fault {
    /// Checks the settings fit together; returns what is wrong.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let needs_duration = matches!(self.action, Action::Pause | Action::DebugSleep);
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
    /// Nothing to revert.
    Done,
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
    }
}

/// Injects `fault` on `node` (the primary). Process faults need the `lab` that started it.
pub async fn inject(
    fault: &Fault,
    node: &Addr,
    lab: Option<&mut Lab>,
    sentinels: &[Addr],
    master: &str,
) -> Result<Applied> {
    let need_lab = || {
        Error::Usage(format!(
            "fault `{}` needs a lab (lab = \"process\" or lab_dir)",
            fault.action.name()
        ))
    };
    match fault.action {
        Action::Kill => process::kill(lab.ok_or_else(need_lab)?, node),
        Action::Stop => process::stop(lab.ok_or_else(need_lab)?, node).await,
        Action::Pause => process::pause(lab.ok_or_else(need_lab)?, node),
        Action::DebugSleep => Ok(redis::debug_sleep(node, fault.duration.unwrap_or_default())),
        Action::SentinelFailover => redis::sentinel_failover(sentinels, master).await,
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
        Applied::Done => Ok(()),
    }
}
