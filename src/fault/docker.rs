//! The container backend: faults on the containers of one compose project (or docker lab)
//! through the Docker edge ([`crate::docker`], whose [`Project`] holds the opt-in guard):
//! kill, stop, pause, restart, network disconnect, and the group partition, which drops
//! traffic inside each container's network namespace (entered from the host by the
//! container's PID with `nsenter`, then `iptables`).
//!
//! Which containers are hit is decided by [`super::target::select`] (pure, guarded); this
//! module only lists, acts and reverts. Each revert carries on past a failure and reports it.

use std::time::Duration;

use super::target::{self, Selection};
use super::{Action, Fault};
use crate::addr::Addr;
use crate::docker::{
    Attachment, ContainerInfo, Engine, LABEL_CHAOS, LABEL_ROLE, LABEL_SERVICE, NewContainer,
    Project,
};
use crate::error::{Error, Result, one_line};
use crate::journal::{Entry, Undo};

/// Seconds a graceful stop or restart waits before the engine kills the container.
const STOP_TIMEOUT_S: i32 = 10;

/// The selected compose project (through the edge's guard), with the faults that act on it.
#[derive(Debug, Clone)]
pub struct Stack {
    project: Project,
}

impl Stack {
    /// Faults on the containers of `project`.
    pub fn new(project: Project) -> Stack {
        Stack { project }
    }

    /// The selected project.
    pub fn project(&self) -> &Project {
        &self.project
    }

    fn engine(&self) -> &Engine {
        self.project.engine()
    }

    /// The containers `fault` would hit, given the primary the Sentinels report; refused
    /// (with the reason) if one lacks the opt-in label or is outside the project.
    pub async fn select(&self, fault: &Fault, primary: &Addr) -> Result<Selection> {
        let all = self.project.containers_for(&primary.host).await?;
        target::select(fault, primary, &all, self.project.name())
    }

    /// Carries out `fault` on the selected containers, journalling nothing (a caller that
    /// keeps its own books); see [`Stack::inject_recorded`].
    pub async fn inject(&self, fault: &Fault, sel: &Selection) -> Result<Applied> {
        self.inject_recorded(fault, sel, &mut Entry::off()).await
    }

    /// Carries out `fault` on the selected containers; each step is recorded in `journal`
    /// before it is taken. If one step fails, what was already done is reverted before the
    /// error is returned.
    pub(crate) async fn inject_recorded(
        &self,
        fault: &Fault,
        sel: &Selection,
        journal: &mut Entry,
    ) -> Result<Applied> {
        let mut applied = Applied {
            engine: self.engine().clone(),
            done: Vec::new(),
        };
        let step = match fault.action {
            Action::Partition => self.partition(sel, &mut applied, journal).await,
            Action::RestartAll => self.restart_all(sel).await,
            _ => {
                let mut r = Ok(());
                for c in &sel.hit {
                    r = self.act(fault.action, c, &mut applied, journal).await;
                    if r.is_err() {
                        break;
                    }
                }
                r
            }
        };
        match step {
            Ok(()) => Ok(applied),
            Err(e) => match applied.revert().await {
                Ok(()) => Err(e),
                Err(r) => Err({
                    journal.keep();
                    Error::Docker {
                        what: "inject, then undo".into(),
                        message: format!("{e}; undoing what was done also failed: {r}"),
                    }
                }),
            },
        }
    }

    /// Restarts every selected container at once; the first failure is the error.
    async fn restart_all(&self, sel: &Selection) -> Result<()> {
        let e = self.engine();
        let all = sel
            .hit
            .iter()
            .map(|c| e.restart(&c.id, &c.name, STOP_TIMEOUT_S));
        futures_util::future::join_all(all)
            .await
            .into_iter()
            .collect()
    }

    async fn act(
        &self,
        action: Action,
        c: &ContainerInfo,
        applied: &mut Applied,
        journal: &mut Entry,
    ) -> Result<()> {
        let e = self.engine();
        let (id, name) = (c.id.as_str(), c.name.as_str());
        let (sid, sname) = (id.to_string(), name.to_string());
        match action {
            Action::Kill => {
                journal.will(Undo::Start {
                    id: sid,
                    name: sname,
                })?;
                e.kill(id, name).await?;
                applied.done.push(Done::Down(c.clone()));
            }
            Action::Stop => {
                journal.will(Undo::Start {
                    id: sid,
                    name: sname,
                })?;
                e.stop(id, name, STOP_TIMEOUT_S).await?;
                applied.done.push(Done::Down(c.clone()));
            }
            Action::Pause => {
                journal.will(Undo::Unpause {
                    id: sid,
                    name: sname,
                })?;
                e.pause(id, name).await?;
                applied.done.push(Done::Paused(c.clone()));
            }
            Action::Restart => e.restart(id, name, STOP_TIMEOUT_S).await?,
            Action::Disconnect => {
                // The list API leaves aliases out (API 1.41): take them from inspect, or the
                // reconnect would lose the service name.
                for n in e.inspect(id, name).await?.networks {
                    journal.will(Undo::reconnect(id, name, &n))?;
                    e.disconnect(id, name, &n.network).await?;
                    applied.done.push(Done::Disconnected(c.clone(), n));
                }
            }
            Action::NewIp => {
                for n in e.inspect(id, name).await?.networks {
                    // Healed without its old IP: any address will do.
                    let anywhere = Attachment {
                        ip: String::new(),
                        ..n.clone()
                    };
                    journal.will(Undo::reconnect(id, name, &anywhere))?;
                    e.disconnect(id, name, &n.network).await?;
                    applied.done.push(Done::Moved(c.clone(), n));
                }
            }
            Action::Partition
            | Action::RestartAll
            | Action::DebugSleep
            | Action::SentinelFailover
            | Action::SentinelFailoverCoordinated
            | Action::CoordinatedFailover
            | Action::SentinelReset
            | Action::PrimaryWithSentinel
            | Action::SentinelLeaderCrash => {
                return Err(Error::Usage(format!(
                    "`{}` is not a per-container docker action",
                    action.name()
                )));
            }
        }
        Ok(())
    }

    /// Drops traffic between the two sides: in each container's namespace, packets from and
    /// to every IP of the other side. Every rule carries the drill's tag as an iptables
    /// comment, so a leftover is found even without the journal.
    async fn partition(
        &self,
        sel: &Selection,
        applied: &mut Applied,
        journal: &mut Entry,
    ) -> Result<()> {
        let tag = journal.tag();
        let ips = |cs: &[ContainerInfo]| -> Vec<String> {
            cs.iter()
                .flat_map(|c| c.networks.iter().map(|n| n.ip.clone()))
                .filter(|ip| !ip.is_empty())
                .collect()
        };
        let (left, right) = (ips(&sel.hit), ips(&sel.other_side));
        let sides = sel.hit.iter().map(|c| (c, &right));
        let sides = sides.chain(sel.other_side.iter().map(|c| (c, &left)));
        for (c, peers) in sides {
            let pid = self.pid(c).await?;
            journal.will(Undo::DropRules {
                id: c.id.clone(),
                name: c.name.clone(),
                tag: tag.clone(),
            })?;
            for ip in peers {
                let rule = Rule {
                    container: c.name.clone(),
                    pid,
                    peer: ip.clone(),
                    tag: tag.clone(),
                };
                rule.apply("-I").await?;
                applied.done.push(Done::Dropping(rule));
            }
        }
        Ok(())
    }

    /// The PID of the container's main process (its network namespace is entered by it).
    async fn pid(&self, c: &ContainerInfo) -> Result<i64> {
        let info = self.engine().inspect(&c.id, &c.name).await?;
        match info.pid {
            pid if pid > 0 => Ok(pid),
            _ => Err(Error::Docker {
                what: format!("inspect container {}", c.name),
                message: "it is not running (no PID), so its network cannot be entered".into(),
            }),
        }
    }
}

/// One pair of DROP rules (in and out) for one peer IP, inside one container's namespace,
/// tagged with the drill's `warden:<id>` comment.
#[derive(Debug, Clone)]
struct Rule {
    container: String,
    pid: i64,
    peer: String,
    tag: String,
}

impl Rule {
    /// `-I` inserts the rules, `-D` deletes them.
    async fn apply(&self, op: &str) -> Result<()> {
        for (chain, dir) in [("INPUT", "-s"), ("OUTPUT", "-d")] {
            let args = [
                op,
                chain,
                dir,
                &self.peer,
                "-m",
                "comment",
                "--comment",
                &self.tag,
                "-j",
                "DROP",
            ];
            iptables(self.pid, &self.container, &args).await?;
        }
        Ok(())
    }
}

/// Runs `iptables -w ARGS` in the network namespace of `pid` (the main process of
/// container `container`, named in errors); returns what it printed.
pub(crate) async fn iptables(pid: i64, container: &str, args: &[&str]) -> Result<String> {
    let out = tokio::process::Command::new("nsenter")
        .args(["-t", &pid.to_string(), "-n", "iptables", "-w"])
        .args(args)
        .output()
        .await
        .map_err(|e| Error::Spawn {
            what: "nsenter (util-linux) with iptables".into(),
            source: e,
        })?;
    if !out.status.success() {
        return Err(Error::Docker {
            what: format!("iptables {} in {container}", args.join(" ")),
            message: one_line(&String::from_utf8_lossy(&out.stderr)),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The rules in `iptables -S` output that carry the comment `tag` (or, with `tag` ending
/// in `:`, any tag starting so), each as the arguments that delete it (`-D …`).
pub(crate) fn tagged_rules(listing: &str, tag: &str) -> Vec<Vec<String>> {
    listing
        .lines()
        .filter_map(|line| {
            let args: Vec<String> = line
                .split_whitespace()
                .map(|a| a.trim_matches('"').to_string())
                .collect();
            let at = args.iter().position(|a| a == "--comment")?;
            let comment = args.get(at + 1)?;
            let hit = match tag.strip_suffix(':') {
                Some(_) => comment.starts_with(tag),
                None => comment == tag,
            };
            (args.first()? == "-A" && hit).then(|| {
                let mut del = args.clone();
                del[0] = "-D".into();
                del
            })
        })
        .collect()
}

/// What one step did, so it can be undone.
#[derive(Debug, Clone)]
enum Done {
    /// Killed or stopped: start it again.
    Down(ContainerInfo),
    /// Paused: unpause.
    Paused(ContainerInfo),
    /// Disconnected from one network: reconnect with the same aliases (and IP if possible).
    Disconnected(ContainerInfo, Attachment),
    /// Disconnected from one network for a new IP: reconnect with the same aliases and an IP
    /// other than the old one.
    Moved(ContainerInfo, Attachment),
    /// DROP rules in a namespace: delete them.
    Dropping(Rule),
}

/// Container faults in effect; [`Applied::revert`] undoes them in reverse order.
pub struct Applied {
    engine: Engine,
    done: Vec<Done>,
}

impl std::fmt::Debug for Applied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Applied")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Applied {
    /// Whether every step took a container down (kill or stop).
    pub(crate) fn is_down(&self) -> bool {
        !self.done.is_empty() && self.done.iter().all(|d| matches!(d, Done::Down(_)))
    }

    /// Undoes every step, last first; carries on past failures and reports them all.
    pub async fn revert(self) -> Result<()> {
        let mut failed = Vec::new();
        for step in self.done.into_iter().rev() {
            if let Err(e) = undo(&self.engine, step).await {
                let e = e.to_string();
                failed.push(e.strip_prefix("docker: ").unwrap_or(&e).to_string());
            }
        }
        match failed.is_empty() {
            true => Ok(()),
            false => Err(Error::Docker {
                what: "revert".into(),
                message: failed.join("; "),
            }),
        }
    }
}

async fn undo(e: &Engine, step: Done) -> Result<()> {
    match step {
        Done::Down(c) => e.start(&c.id, &c.name).await,
        Done::Paused(c) => e.unpause(&c.id, &c.name).await,
        Done::Disconnected(c, n) => reconnect(e, &c, &n).await,
        Done::Moved(c, n) => reconnect_elsewhere(e, &c, &n).await,
        Done::Dropping(rule) => rule.apply("-D").await,
    }
}

/// Reconnects `c` to `n.network` with its aliases, pinning its old IP. A network without a
/// user-configured subnet refuses a pinned IP: then it reconnects without one and checks the
/// IP it got; a different IP is an error (Sentinels that knew the old one will not find it).
pub(crate) async fn reconnect(e: &Engine, c: &ContainerInfo, n: &Attachment) -> Result<()> {
    let short = c.id.get(..12).unwrap_or(&c.id);
    let aliases: Vec<String> = n.aliases.iter().filter(|a| *a != short).cloned().collect();
    let (id, name, net) = (c.id.as_str(), c.name.as_str(), n.network.as_str());
    let pinned = (!n.ip.is_empty()).then_some(n.ip.as_str());
    if e.connect_network(id, name, net, &aliases, pinned)
        .await
        .is_ok()
    {
        return Ok(());
    }
    e.connect_network(id, name, net, &aliases, None).await?;
    let now = e.ip_on(id, net).await?;
    if n.ip.is_empty() || now == n.ip {
        return Ok(());
    }
    Err(Error::Docker {
        what: format!("reconnect {name} to {net}"),
        message: format!(
            "reconnected with a new IP {now} (was {}): the network has no user-configured subnet to pin it",
            n.ip
        ),
    })
}

/// Reconnects `c` to `n.network` with its aliases and a new IP: the engine's address
/// management hands out addresses in turn, so a released one is not given back at once; if
/// it is, the container is moved again (up to 3 times).
async fn reconnect_elsewhere(e: &Engine, c: &ContainerInfo, n: &Attachment) -> Result<()> {
    let short = c.id.get(..12).unwrap_or(&c.id);
    let aliases: Vec<String> = n.aliases.iter().filter(|a| *a != short).cloned().collect();
    let (id, name, net) = (c.id.as_str(), c.name.as_str(), n.network.as_str());
    e.connect_network(id, name, net, &aliases, None).await?;
    if e.ip_on(id, net).await? != n.ip {
        return Ok(());
    }
    // Given back its old IP: hold that one with a stand-in container, then move again.
    e.disconnect(id, name, net).await?;
    let holder = hold_ip(e, c, net).await;
    let moved = match &holder {
        Ok(_) => e.connect_network(id, name, net, &aliases, None).await,
        Err(_) => Ok(()),
    };
    if let Ok(h) = &holder {
        e.remove_container(h).await?;
    }
    holder?;
    moved?;
    let now = e.ip_on(id, net).await?;
    match now != n.ip {
        true => Ok(()),
        false => Err(Error::Docker {
            what: format!("reconnect {name} to {net}"),
            message: format!("the engine gave back its old IP {} again", n.ip),
        }),
    }
}

/// Starts a stand-in for `c` on `net` (its image, an idle `redis-server` on no TCP port,
/// its labels but role, opt-in and service, so it is torn down with the lab and never
/// chosen), which takes the next free IP; returns its id.
async fn hold_ip(e: &Engine, c: &ContainerInfo, net: &str) -> Result<String> {
    let image = e.inspect(&c.id, &c.name).await?.image;
    let mut labels = c.labels.clone();
    for k in [LABEL_ROLE, LABEL_CHAOS, LABEL_SERVICE] {
        labels.remove(k);
    }
    let stand_in = NewContainer {
        name: format!("{}-ip-holder", c.name),
        image,
        cmd: [
            "redis-server",
            "--port",
            "0",
            "--save",
            "",
            "--unixsocket",
            "/tmp/r.sock",
        ]
        .map(String::from)
        .to_vec(),
        labels,
        network: Some((net.to_string(), Vec::new())),
        binds: Vec::new(),
    };
    let id = e.create_container(&stand_in).await?;
    if let Err(err) = e.start(&id, &stand_in.name).await {
        let _ = e.remove_container(&id).await;
        return Err(err);
    }
    Ok(id)
}

/// What a docker fault does, in words: action, containers, reason (for `--dry-run` and the
/// report).
pub(crate) fn describe(fault: &Fault, sel: &Selection) -> String {
    let names = |cs: &[ContainerInfo]| {
        cs.iter()
            .map(|c| {
                let ip = c.networks.first().map(|n| n.ip.as_str()).unwrap_or("");
                format!("{} ({}, {ip})", c.name, c.role())
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let how = match fault.action {
        Action::Kill => "SIGKILL container(s), started again after the loss check:".to_string(),
        Action::Stop => format!(
            "stop (timeout {STOP_TIMEOUT_S}s) container(s), started again after the loss check:"
        ),
        Action::Pause => format!("pause for {}:", human(fault.duration)),
        Action::Restart => "restart:".into(),
        Action::RestartAll => format!("restart at once (stop timeout {STOP_TIMEOUT_S}s):"),
        Action::Disconnect => format!("disconnect from the network for {}:", human(fault.duration)),
        Action::NewIp => format!(
            "disconnect from the network for {}, then reconnect with a new IP:",
            human(fault.duration)
        ),
        Action::Partition => format!(
            "partition for {}: [{}] cut off from [{}]; reason:",
            human(fault.duration),
            names(&sel.hit),
            names(&sel.other_side)
        ),
        Action::DebugSleep
        | Action::SentinelFailover
        | Action::SentinelFailoverCoordinated
        | Action::CoordinatedFailover
        | Action::SentinelReset
        | Action::PrimaryWithSentinel
        | Action::SentinelLeaderCrash => fault.action.name().into(),
    };
    if fault.action == Action::Partition {
        return format!("{how} {}", sel.why);
    }
    format!("{how} {}; reason: {}", names(&sel.hit), sel.why)
}

fn human(d: Option<Duration>) -> String {
    humantime::format_duration(d.unwrap_or_default()).to_string()
}

#[cfg(test)]
mod tests {
    use super::tagged_rules;

    #[test]
    fn tagged_rules_are_found_by_their_comment_and_turned_into_deletes() {
        let listing = "-P INPUT ACCEPT\n\
            -A INPUT -s 172.18.0.3/32 -m comment --comment \"warden:ab12\" -j DROP\n\
            -A OUTPUT -d 172.18.0.3/32 -m comment --comment warden:ab12 -j DROP\n\
            -A INPUT -s 172.18.0.4/32 -m comment --comment warden:cd34 -j DROP\n\
            -A INPUT -s 10.0.0.1/32 -j DROP\n";
        let ours = tagged_rules(listing, "warden:ab12");
        assert_eq!(ours.len(), 2, "{ours:?}");
        assert_eq!(
            ours[0].join(" "),
            "-D INPUT -s 172.18.0.3/32 -m comment --comment warden:ab12 -j DROP"
        );
        assert_eq!(tagged_rules(listing, "warden:").len(), 3, "any drill's tag");
    }
}
