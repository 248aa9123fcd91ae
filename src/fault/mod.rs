//! Faults injected on purpose, and how each is reverted: the [`Fault`] a scenario describes,
//! and [`inject`]/[`revert`] over three backends — local processes ([`process`]), plain
//! Redis commands ([`redis`]) and containers through the Docker edge ([`docker`], with the
//! pure target choice in [`target`]; the opt-in guard is the edge's [`crate::docker::Project`]).

pub mod docker;
pub(crate) mod heal;
pub(crate) mod process;
pub(crate) mod redis;
pub(crate) mod spec;
pub(crate) mod target;

use crate::addr::Addr;
use crate::error::{Error, Result};
use crate::journal::{Entry, Undo};
use crate::lab::Lab;
pub use spec::Fault;
pub(crate) use spec::{Action, Reach};

/// A fault in effect, holding what its revert needs.
#[derive(Debug)]
pub(crate) enum Applied {
    /// The process is down; revert restarts it.
    Down(Addr),
    /// The process is stopped with SIGSTOP; revert continues it.
    Paused(Addr),
    /// A Sentinel is down (the crashed failover leader); revert starts it again. The
    /// primary is not down.
    SentinelDown(Addr),
    /// `DEBUG SLEEP` is running; revert waits for it to return.
    Sleeping(tokio::task::JoinHandle<Result<()>>),
    /// A container fault; it holds its own API client, so revert needs no lab.
    Containers(docker::Applied),
    /// Several faults at once (the primary and its Sentinel); revert reverts each.
    Several(Vec<Applied>),
    /// Nothing to revert.
    Done,
}

impl Applied {
    /// Whether the fault took its target down (killed or stopped): revert starts it again.
    pub(crate) fn is_down(&self) -> bool {
        match self {
            Applied::Down(_) => true,
            Applied::Containers(a) => a.is_down(),
            Applied::Several(all) => all.iter().any(Applied::is_down),
            Applied::Paused(_)
            | Applied::SentinelDown(_)
            | Applied::Sleeping(_)
            | Applied::Done => false,
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
        Action::SentinelFailoverCoordinated => {
            format!("SENTINEL FAILOVER COORDINATED (primary now {node})")
        }
        Action::CoordinatedFailover => format!(
            "CLIENT PAUSE WRITE on the primary {node}, replicas caught up, SENTINEL FAILOVER, \
             REPLICAOF the new primary, CLIENT UNPAUSE"
        ),
        Action::SentinelReset => format!(
            "SENTINEL RESET on {} Sentinel(s) (primary now {node})",
            fault.count.unwrap_or(1)
        ),
        Action::PrimaryWithSentinel => format!(
            "SIGKILL the primary {node}{pid} and {}, restart both after the loss check",
            lab.and_then(|l| process::colocated_sentinel(l, node).ok())
                .map_or("the Sentinel on its host".into(), |s| format!(
                    "the Sentinel on its host {s}"
                ))
        ),
        Action::SentinelLeaderCrash => format!(
            "SENTINEL SIMULATE-FAILURE {} on every Sentinel, SENTINEL FAILOVER (primary now \
             {node}) until its leader exits, the others disarmed; the leader restarted after \
             the loss check",
            fault.when.map_or("?", |w| w.mode())
        ),
        Action::Restart
        | Action::RestartAll
        | Action::Disconnect
        | Action::NewIp
        | Action::Partition => {
            format!("{} (docker only)", fault.action.name())
        }
    }
}

/// Where a drill's faults are carried out: the one place that decides the backend.
pub(crate) enum Via<'a> {
    /// Redis commands only (no lab).
    Commands,
    /// The processes of a local lab.
    Process(&'a mut Lab),
    /// Containers of a docker stack; faults that need no container use commands.
    Docker(&'a docker::Stack),
}

impl Via<'_> {
    /// How far this backend reaches.
    pub(crate) fn reach(&self) -> Reach {
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
pub(crate) async fn preview(fault: &Fault, node: &Addr, via: &Via<'_>) -> Result<String> {
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
/// the fault in effect. Each step that will need undoing is recorded in `journal` first.
pub(crate) async fn inject(
    fault: &Fault,
    node: &Addr,
    via: Via<'_>,
    sentinels: &[Addr],
    master: &str,
    journal: &mut Entry,
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
            let d = docker::describe(fault, &sel);
            journal.describe(&d);
            let result = stack.inject_recorded(fault, &sel, journal).await;
            return (d, result.map(Applied::Containers));
        }
        Via::Process(lab) => Some(lab),
        Via::Commands | Via::Docker(_) => None,
    };
    let description = describe(fault, node, lab.as_deref());
    journal.describe(&description);
    let result = match (fault.action, lab) {
        (Action::Kill | Action::Stop | Action::Pause, Some(lab)) => {
            match record(fault.action, lab, node, journal) {
                Err(e) => Err(e),
                Ok(()) if fault.action == Action::Kill => process::kill(lab, node),
                Ok(()) if fault.action == Action::Stop => process::stop(lab, node).await,
                Ok(()) => process::pause(lab, node),
            }
        }
        (Action::DebugSleep, _) => Ok(redis::debug_sleep(
            conn,
            node,
            fault.duration.unwrap_or_default(),
        )),
        (Action::SentinelFailover, _) => redis::sentinel_failover(conn, sentinels, master).await,
        (Action::SentinelFailoverCoordinated, _) => {
            redis::sentinel_failover_coordinated(conn, sentinels, master).await
        }
        (Action::SentinelReset, _) => {
            redis::sentinel_reset(conn, sentinels, master, fault.count.unwrap_or(1)).await
        }
        (Action::PrimaryWithSentinel, Some(lab)) => with_sentinel(lab, node, journal),
        (Action::SentinelLeaderCrash, Some(lab)) => match fault.when {
            Some(when) => process::leader_crash(lab, conn, master, when, journal).await,
            None => Err(Error::Usage("`sentinel-leader-crash` needs `when`".into())),
        },
        (Action::CoordinatedFailover, _) => {
            redis::coordinated_failover(conn, node, sentinels, master).await
        }
        (action, _) => Err(Error::Usage(format!(
            "fault `{}` needs a lab (lab = \"process\", lab = \"docker\" or lab_dir)",
            action.name()
        ))),
    };
    (description, result)
}

/// SIGKILLs `node` (the primary) and the Sentinel on its host, each recorded first.
fn with_sentinel(lab: &mut Lab, node: &Addr, journal: &mut Entry) -> Result<Applied> {
    let sentinel = process::colocated_sentinel(lab, node)?;
    let mut done = Vec::new();
    for addr in [node, &sentinel] {
        record(Action::Kill, lab, addr, journal)?;
        match process::kill(lab, addr) {
            Ok(a) => done.push(a),
            Err(e) if done.is_empty() => return Err(e),
            // The primary is down already: leave it to the revert, report the rest.
            Err(e) => {
                tracing::warn!(%sentinel, "could not kill the Sentinel beside the primary: {e}");
                break;
            }
        }
    }
    Ok(Applied::Several(done))
}

/// Records in `journal` how a process fault on `node` is undone, before it is done.
fn record(action: Action, lab: &Lab, node: &Addr, journal: &mut Entry) -> Result<()> {
    let m = lab.member(node)?;
    journal.will(match action {
        Action::Pause => Undo::Continue {
            pid: m.pid,
            port: m.port,
        },
        _ => Undo::Restart {
            lab_dir: lab.dir().to_path_buf(),
            addr: m.addr(),
        },
    })
}

/// Reverts an applied fault. Always runs to the end; its error is reported, never swallowed.
pub(crate) async fn revert(applied: Applied, lab: Option<&mut Lab>) -> Result<()> {
    let no_lab = || Error::internal("cannot revert a process fault without its lab");
    match applied {
        Applied::Down(node) => lab.ok_or_else(no_lab)?.restart(&node),
        Applied::Paused(node) => process::resume(lab.ok_or_else(no_lab)?, &node),
        Applied::SentinelDown(sentinel) => {
            let lab = lab.ok_or_else(no_lab)?;
            match lab.is_running(&sentinel)? {
                true => Ok(()),
                false => lab.restart(&sentinel),
            }
        }
        Applied::Sleeping(task) => task.await.unwrap_or_else(|e| {
            Err(Error::Task {
                what: "DEBUG SLEEP".into(),
                detail: e.to_string(),
            })
        }),
        Applied::Containers(applied) => applied.revert().await,
        Applied::Several(all) => {
            let lab = lab.ok_or_else(no_lab)?;
            let mut first = Ok(());
            for a in all {
                let r = Box::pin(revert(a, Some(&mut *lab))).await;
                if first.is_ok() {
                    first = r;
                }
            }
            first
        }
        Applied::Done => Ok(()),
    }
}
