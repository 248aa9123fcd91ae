//! The container backend: faults on the containers of one compose project (or docker lab)
//! through the Docker Engine API — kill, stop, pause, restart, network disconnect — and the
//! group partition, which drops traffic inside each container's network namespace (entered
//! from the host by the container's PID with `nsenter`, then `iptables`).
//!
//! Which containers are hit is decided by [`super::target::select`] (pure, guarded); this
//! module only lists, acts and reverts. Each revert carries on past a failure and reports it.

use std::time::Duration;

use bollard::Docker;
use bollard::models::{
    EndpointIpamConfig, EndpointSettings, NetworkConnectRequest, NetworkDisconnectRequest,
};
use bollard::query_parameters::{
    InspectContainerOptions, KillContainerOptionsBuilder, ListContainersOptionsBuilder,
    RestartContainerOptionsBuilder, StartContainerOptions, StopContainerOptionsBuilder,
};

use super::target::{self, Attachment, ContainerInfo, Selection};
use super::{Action, Fault};
use crate::addr::Addr;
use crate::error::{Error, Result, one_line};

/// Seconds a graceful stop or restart waits before the engine kills the container.
const STOP_TIMEOUT_S: i32 = 10;

/// The selected compose project on one engine: the only containers faults may touch.
#[derive(Clone)]
pub struct Stack {
    docker: Docker,
    project: String,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("project", &self.project)
            .finish_non_exhaustive()
    }
}

impl Stack {
    /// The stack of compose project `project` (a docker lab's is `warden-<id>`).
    pub fn new(docker: Docker, project: impl Into<String>) -> Stack {
        Stack {
            docker,
            project: project.into(),
        }
    }

    /// The selected project.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// Every container on the engine (running or not), as plain data. Engine 20.10's list
    /// API reports no network aliases (see `list_for`).
    pub async fn list(&self) -> Result<Vec<ContainerInfo>> {
        let opts = ListContainersOptionsBuilder::default().all(true).build();
        let listed = self.docker.list_containers(Some(opts)).await;
        let listed = listed.map_err(Error::docker("list containers"))?;
        Ok(listed
            .into_iter()
            .map(|c| ContainerInfo {
                id: c.id.unwrap_or_default(),
                name: c
                    .names
                    .and_then(|n| n.into_iter().next())
                    .unwrap_or_default()
                    .trim_start_matches('/')
                    .to_string(),
                labels: c.labels.unwrap_or_default(),
                networks: c
                    .network_settings
                    .and_then(|n| n.networks)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(network, e)| Attachment {
                        network,
                        ip: e.ip_address.unwrap_or_default(),
                        aliases: e.aliases.unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect())
    }

    /// The containers `fault` would hit, given the primary the Sentinels report; refused
    /// (with the reason) if one lacks the opt-in label or is outside the project.
    pub async fn select(&self, fault: &Fault, primary: &Addr) -> Result<Selection> {
        let all = self.list_for(&primary.host).await?;
        target::select(fault, primary, &all, &self.project)
    }

    /// [`Stack::list`], with aliases filled in from inspect when nothing else answers to
    /// `host` (a network alias is then the only way it can name a container).
    async fn list_for(&self, host: &str) -> Result<Vec<ContainerInfo>> {
        let mut all = self.list().await?;
        if target::by_host(&all, host, &self.project).is_none() {
            for c in &mut all {
                c.networks = self.attachments(c).await?;
            }
        }
        Ok(all)
    }

    /// The container called `name`, if the guard allows faults on it.
    pub async fn by_name(&self, name: &str) -> Result<ContainerInfo> {
        let all = self.list().await?;
        let c = target::by_name(&all, name).ok_or_else(|| Error::NoContainer {
            what: format!("named '{name}'"),
        })?;
        guarded(c, &self.project)
    }

    /// The container `addr` (IP or hostname) names, if the guard allows faults on it.
    pub async fn by_addr(&self, addr: &Addr) -> Result<ContainerInfo> {
        guarded(&self.named_by(addr).await?, &self.project)
    }

    /// The container `addr` (IP or hostname) names, whatever its labels: for read-only use
    /// (copying a file out), never for a fault.
    pub async fn named_by(&self, addr: &Addr) -> Result<ContainerInfo> {
        let all = self.list_for(&addr.host).await?;
        target::by_host(&all, &addr.host, &self.project)
            .cloned()
            .ok_or_else(|| Error::NoContainer {
                what: format!("has the address {addr}"),
            })
    }

    /// Carries out `fault` on the selected containers. If one step fails, what was already
    /// done is reverted before the error is returned.
    pub async fn inject(&self, fault: &Fault, sel: &Selection) -> Result<Applied> {
        let mut applied = Applied {
            docker: self.docker.clone(),
            done: Vec::new(),
        };
        let step = match fault.action {
            Action::Partition => self.partition(sel, &mut applied).await,
            _ => {
                let mut r = Ok(());
                for c in &sel.hit {
                    r = self.act(fault.action, c, &mut applied).await;
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
                Err(r) => Err(Error::Docker {
                    what: "inject, then undo".into(),
                    message: format!("{e}; undoing what was done also failed: {r}"),
                }),
            },
        }
    }

    async fn act(&self, action: Action, c: &ContainerInfo, applied: &mut Applied) -> Result<()> {
        let d = &self.docker;
        let name = c.name.clone();
        let what = |verb: &str| format!("{verb} container {name}");
        match action {
            Action::Kill => {
                let opts = KillContainerOptionsBuilder::default()
                    .signal("SIGKILL")
                    .build();
                d.kill_container(&c.id, Some(opts))
                    .await
                    .map_err(Error::docker(what("kill")))?;
                applied.done.push(Done::Down(c.clone()));
            }
            Action::Stop => {
                let opts = StopContainerOptionsBuilder::default()
                    .t(STOP_TIMEOUT_S)
                    .build();
                d.stop_container(&c.id, Some(opts))
                    .await
                    .map_err(Error::docker(what("stop")))?;
                applied.done.push(Done::Down(c.clone()));
            }
            Action::Pause => {
                d.pause_container(&c.id)
                    .await
                    .map_err(Error::docker(what("pause")))?;
                applied.done.push(Done::Paused(c.clone()));
            }
            Action::Restart => {
                let opts = RestartContainerOptionsBuilder::default()
                    .t(STOP_TIMEOUT_S)
                    .build();
                let r = d.restart_container(&c.id, Some(opts)).await;
                r.map_err(Error::docker(what("restart")))?;
            }
            Action::Disconnect => {
                // The list API leaves aliases out (API 1.41): take them from inspect, or the
                // reconnect would lose the service name.
                for n in &self.attachments(c).await? {
                    let req = NetworkDisconnectRequest {
                        container: c.id.clone(),
                        force: Some(true),
                    };
                    let r = d.disconnect_network(&n.network, req).await;
                    r.map_err(Error::docker(format!(
                        "disconnect {name} from {}",
                        n.network
                    )))?;
                    applied.done.push(Done::Disconnected(c.clone(), n.clone()));
                }
            }
            Action::Partition | Action::DebugSleep | Action::SentinelFailover => {
                return Err(Error::Usage(format!(
                    "`{}` is not a per-container docker action",
                    action.name()
                )));
            }
        }
        Ok(())
    }

    /// Drops traffic between the two sides: in each container's namespace, packets from and
    /// to every IP of the other side.
    async fn partition(&self, sel: &Selection, applied: &mut Applied) -> Result<()> {
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
            for ip in peers {
                let rule = Rule {
                    container: c.name.clone(),
                    pid,
                    peer: ip.clone(),
                };
                rule.apply("-I").await?;
                applied.done.push(Done::Dropping(rule));
            }
        }
        Ok(())
    }

    /// The container's networks with their IPs and aliases, as inspect reports them.
    async fn attachments(&self, c: &ContainerInfo) -> Result<Vec<Attachment>> {
        let info = self
            .docker
            .inspect_container(&c.id, None::<InspectContainerOptions>)
            .await
            .map_err(Error::docker(format!("inspect container {}", c.name)))?;
        let nets = info.network_settings.and_then(|n| n.networks);
        Ok(nets
            .unwrap_or_default()
            .into_iter()
            .map(|(network, e)| Attachment {
                network,
                ip: e.ip_address.unwrap_or_default(),
                aliases: e.aliases.unwrap_or_default(),
            })
            .collect())
    }

    /// The PID of the container's main process (its network namespace is entered by it).
    async fn pid(&self, c: &ContainerInfo) -> Result<i64> {
        let info = self
            .docker
            .inspect_container(&c.id, None::<InspectContainerOptions>)
            .await
            .map_err(Error::docker(format!("inspect container {}", c.name)))?;
        info.state
            .and_then(|s| s.pid)
            .filter(|pid| *pid > 0)
            .ok_or_else(|| Error::Docker {
                what: format!("inspect container {}", c.name),
                message: "it is not running (no PID), so its network cannot be entered".into(),
            })
    }
}

fn guarded(c: &ContainerInfo, project: &str) -> Result<ContainerInfo> {
    target::guard(c, project).map_err(|reason| Error::ContainerRefused {
        container: c.name.clone(),
        reason,
    })?;
    Ok(c.clone())
}

/// One pair of DROP rules (in and out) for one peer IP, inside one container's namespace.
#[derive(Debug, Clone)]
struct Rule {
    container: String,
    pid: i64,
    peer: String,
}

impl Rule {
    /// `-I` inserts the rules, `-D` deletes them.
    async fn apply(&self, op: &str) -> Result<()> {
        let pid = self.pid.to_string();
        for (chain, dir) in [("INPUT", "-s"), ("OUTPUT", "-d")] {
            let args = [
                "-t", &pid, "-n", "iptables", "-w", op, chain, dir, &self.peer, "-j", "DROP",
            ];
            let out = tokio::process::Command::new("nsenter")
                .args(args)
                .output()
                .await
                .map_err(|e| Error::Spawn {
                    what: "nsenter (util-linux) with iptables".into(),
                    source: e,
                })?;
            if !out.status.success() {
                return Err(Error::Docker {
                    what: format!(
                        "iptables {op} {chain} {dir} {} in {}",
                        self.peer, self.container
                    ),
                    message: one_line(&String::from_utf8_lossy(&out.stderr)),
                });
            }
        }
        Ok(())
    }
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
    /// DROP rules in a namespace: delete them.
    Dropping(Rule),
}

/// Container faults in effect; [`Applied::revert`] undoes them in reverse order.
pub struct Applied {
    docker: Docker,
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
    pub fn is_down(&self) -> bool {
        !self.done.is_empty() && self.done.iter().all(|d| matches!(d, Done::Down(_)))
    }

    /// Undoes every step, last first; carries on past failures and reports them all.
    pub async fn revert(self) -> Result<()> {
        let mut failed = Vec::new();
        for step in self.done.into_iter().rev() {
            if let Err(e) = undo(&self.docker, step).await {
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

async fn undo(d: &Docker, step: Done) -> Result<()> {
    match step {
        Done::Down(c) => d
            .start_container(&c.id, None::<StartContainerOptions>)
            .await
            .map_err(Error::docker(format!("start container {}", c.name))),
        Done::Paused(c) => d
            .unpause_container(&c.id)
            .await
            .map_err(Error::docker(format!("unpause container {}", c.name))),
        Done::Disconnected(c, n) => reconnect(d, &c, &n).await,
        Done::Dropping(rule) => rule.apply("-D").await,
    }
}

/// Reconnects `c` to `n.network` with its aliases, pinning its old IP. A network without a
/// user-configured subnet refuses a pinned IP: then it reconnects without one and checks the
/// IP it got; a different IP is an error (Sentinels that knew the old one will not find it).
async fn reconnect(d: &Docker, c: &ContainerInfo, n: &Attachment) -> Result<()> {
    let short = c.id.get(..12).unwrap_or(&c.id);
    let aliases: Vec<String> = n.aliases.iter().filter(|a| *a != short).cloned().collect();
    let request = |ip: Option<String>| NetworkConnectRequest {
        container: c.id.clone(),
        endpoint_config: Some(EndpointSettings {
            aliases: Some(aliases.clone()),
            ipam_config: ip.map(|ip| EndpointIpamConfig {
                ipv4_address: Some(ip),
                ..Default::default()
            }),
            ..Default::default()
        }),
    };
    let what = format!("reconnect {} to {}", c.name, n.network);
    let pinned = (!n.ip.is_empty()).then(|| n.ip.clone());
    if d.connect_network(&n.network, request(pinned)).await.is_ok() {
        return Ok(());
    }
    d.connect_network(&n.network, request(None))
        .await
        .map_err(Error::docker(what.clone()))?;
    let now = crate::lab::docker::container_ip(d, &c.id, &n.network).await?;
    if n.ip.is_empty() || now == n.ip {
        return Ok(());
    }
    Err(Error::Docker {
        what,
        message: format!(
            "reconnected with a new IP {now} (was {}): the network has no user-configured subnet to pin it",
            n.ip
        ),
    })
}

/// What a docker fault does, in words: action, containers, reason (for `--dry-run` and the
/// report).
pub fn describe(fault: &Fault, sel: &Selection) -> String {
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
        Action::Disconnect => format!("disconnect from the network for {}:", human(fault.duration)),
        Action::Partition => format!(
            "partition for {}: [{}] cut off from [{}]; reason:",
            human(fault.duration),
            names(&sel.hit),
            names(&sel.other_side)
        ),
        Action::DebugSleep | Action::SentinelFailover => fault.action.name().into(),
    };
    if fault.action == Action::Partition {
        return format!("{how} {}", sel.why);
    }
    format!("{how} {}; reason: {}", names(&sel.hit), sel.why)
}

fn human(d: Option<Duration>) -> String {
    humantime::format_duration(d.unwrap_or_default()).to_string()
}
