//! Pure: containers as plain data, and which one a name or an address names. Holds the
//! labels warden reads off a container and the opt-in guard: a fault may touch a container
//! only if it carries `io.warden.chaos=allowed` and belongs to the selected compose project.

use core::net::IpAddr;
use std::collections::HashMap;

use crate::error::{Error, Result};

/// Label saying what a container is: `primary`, `replica` or `sentinel`.
pub const LABEL_ROLE: &str = "io.warden.role";
/// Opt-in label: warden injects faults only into containers where it is `allowed`.
pub const LABEL_CHAOS: &str = "io.warden.chaos";
/// The value of [`LABEL_CHAOS`] that opts a container in.
pub(crate) const CHAOS_ALLOWED: &str = "allowed";
/// Compose's project label; a docker lab sets it too, so one guard covers both.
pub(crate) const LABEL_PROJECT: &str = "com.docker.compose.project";
/// Compose's service label (the service name is also the container's network alias).
pub(crate) const LABEL_SERVICE: &str = "com.docker.compose.service";

/// A container as the engine lists it, reduced to what warden needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerInfo {
    /// Container id.
    pub id: String,
    /// Container name, without Docker's leading `/`.
    pub name: String,
    /// Its labels.
    pub labels: HashMap<String, String>,
    /// Its network attachments.
    pub networks: Vec<Attachment>,
    /// Its state in one word (`running`, `exited`, `paused`, …).
    pub state: String,
    /// Its status as `docker ps` shows it (`Up 3 minutes`).
    pub status: String,
}

/// One network a container is attached to.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    /// Network name.
    pub network: String,
    /// The container's IPv4 address on it (empty when stopped).
    pub ip: String,
    /// Its DNS aliases on it (compose service names).
    pub aliases: Vec<String>,
}

/// What inspecting a container tells: whether it runs, its PID, networks and command.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inspected {
    /// Whether it is running.
    pub running: bool,
    /// Its state in one word (`running`, `exited`, …).
    pub status: String,
    /// The PID of its main process on the host (0 when not running).
    pub pid: i64,
    /// Its networks, with IPs and aliases, sorted by network name.
    pub networks: Vec<Attachment>,
    /// Its command (`Config.Cmd`).
    pub cmd: Vec<String>,
    /// Its image (`Config.Image`).
    pub image: String,
}

impl ContainerInfo {
    /// The value of label `key`, or `""`.
    pub fn label(&self, key: &str) -> &str {
        self.labels.get(key).map_or("", String::as_str)
    }

    /// Its role label (`primary`, `replica`, `sentinel`), or `""`.
    pub fn role(&self) -> &str {
        self.label(LABEL_ROLE)
    }

    /// Whether `host` (an IP or a hostname, as Sentinel reports it) names this container:
    /// an IP on any of its networks, a network alias, its name, or its compose service.
    pub(crate) fn answers_to(&self, host: &str) -> bool {
        !host.is_empty()
            && (self.name == host
                || self.label(LABEL_SERVICE) == host
                || self
                    .networks
                    .iter()
                    .any(|n| n.ip == host || n.aliases.iter().any(|a| a == host)))
    }
}

/// The container `host` names, preferring one in `project` (a hostname such as
/// `redis-primary` can name a container in several compose projects). `None`: no container.
pub(crate) fn by_host<'a>(
    containers: &'a [ContainerInfo],
    host: &str,
    project: &str,
) -> Option<&'a ContainerInfo> {
    let all: Vec<_> = containers.iter().filter(|c| c.answers_to(host)).collect();
    all.iter()
        .find(|c| c.label(LABEL_PROJECT) == project)
        .or(all.first())
        .copied()
}

/// Every hostname the containers of `project` answer to on their network — container name,
/// compose service and network aliases — with that IP: what a Sentinel announcing hostnames
/// names, mapped to where the host reaches it. A container without an IP (stopped) adds
/// nothing; the first network (by name) with an IP gives its name's and service's IP.
pub(crate) fn hosts(containers: &[ContainerInfo], project: &str) -> Vec<(String, IpAddr)> {
    let mut out: Vec<(String, IpAddr)> = Vec::new();
    let mut add = |name: &str, ip: IpAddr| {
        if !name.is_empty() && !out.iter().any(|(n, _)| n == name) {
            out.push((name.to_string(), ip));
        }
    };
    for c in containers
        .iter()
        .filter(|c| c.label(LABEL_PROJECT) == project)
    {
        let attached = c
            .networks
            .iter()
            .filter_map(|n| Some((n, n.ip.parse::<IpAddr>().ok()?)));
        for (i, (n, ip)) in attached.enumerate() {
            if i == 0 {
                add(&c.name, ip);
                add(c.label(LABEL_SERVICE), ip);
            }
            for a in &n.aliases {
                add(a, ip);
            }
        }
    }
    out
}

/// The container called `name` (or whose id starts with `name`, at least 12 characters).
pub(crate) fn by_name<'a>(
    containers: &'a [ContainerInfo],
    name: &str,
) -> Option<&'a ContainerInfo> {
    let name = name.trim_start_matches('/');
    containers
        .iter()
        .find(|c| c.name == name || (name.len() >= 12 && c.id.starts_with(name)))
}

/// The opt-in guard: `Err(reason)` when a fault must not touch `c`.
pub(crate) fn guard(c: &ContainerInfo, project: &str) -> Result<(), String> {
    let chaos = c.label(LABEL_CHAOS);
    if chaos != CHAOS_ALLOWED {
        return Err(if chaos.is_empty() {
            format!("it lacks the opt-in label {LABEL_CHAOS}={CHAOS_ALLOWED}")
        } else {
            format!("its label {LABEL_CHAOS} is '{chaos}', not '{CHAOS_ALLOWED}'")
        });
    }
    match c.label(LABEL_PROJECT) {
        p if p == project => Ok(()),
        "" => Err(format!(
            "it belongs to no compose project, not to the selected project '{project}'"
        )),
        other => Err(format!(
            "it belongs to project '{other}', not to the selected project '{project}'"
        )),
    }
}

/// The guard as an [`Error`]: a refusal naming the container and the reason.
pub(crate) fn allowed(c: &ContainerInfo, project: &str) -> Result<()> {
    guard(c, project).map_err(|reason| Error::ContainerRefused {
        container: c.name.clone(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(name: &str, project: &str, chaos: &str, ip: &str, alias: &str) -> ContainerInfo {
        let mut labels = HashMap::new();
        if !project.is_empty() {
            labels.insert(LABEL_PROJECT.to_string(), project.to_string());
            labels.insert(LABEL_SERVICE.to_string(), alias.to_string());
        }
        if !chaos.is_empty() {
            labels.insert(LABEL_CHAOS.to_string(), chaos.to_string());
        }
        ContainerInfo {
            id: format!("{name:0>64}"),
            name: name.into(),
            labels,
            networks: vec![Attachment {
                network: format!("{project}_default"),
                ip: ip.into(),
                aliases: vec![alias.into()],
            }],
            ..Default::default()
        }
    }

    fn stack() -> Vec<ContainerInfo> {
        vec![
            container("a-primary", "a", "allowed", "172.20.0.2", "redis-primary"),
            container("b-primary", "b", "allowed", "172.21.0.2", "redis-primary"),
            container("stray", "", "", "172.17.0.5", "stray"),
        ]
    }

    #[test]
    fn addresses_map_to_containers_by_ip_alias_name_or_service() {
        let cs = stack();
        let name = |host: &str, project: &str| by_host(&cs, host, project).map(|c| c.name.clone());
        assert_eq!(name("172.21.0.2", "a").as_deref(), Some("b-primary"));
        assert_eq!(name("redis-primary", "a").as_deref(), Some("a-primary"));
        assert_eq!(name("redis-primary", "b").as_deref(), Some("b-primary"));
        assert_eq!(name("redis-primary", "c").as_deref(), Some("a-primary"));
        assert_eq!(name("stray", "a").as_deref(), Some("stray"));
        assert_eq!(name("10.9.9.9", "a"), None);
        assert_eq!(name("", "a"), None);
        assert_eq!(
            by_name(&cs, "/stray").map(|c| c.name.as_str()),
            Some("stray")
        );
        assert_eq!(by_name(&cs, "nope"), None);
    }

    #[test]
    fn the_guard_needs_the_opt_in_label_and_the_selected_project() {
        let cs = stack();
        let check = |i: usize, project: &str| guard(&cs[i], project);
        assert_eq!(check(0, "a"), Ok(()));
        assert_eq!(
            check(1, "a"),
            Err("it belongs to project 'b', not to the selected project 'a'".into())
        );
        assert_eq!(
            check(2, "a"),
            Err("it lacks the opt-in label io.warden.chaos=allowed".into())
        );
        let mut no = cs[0].clone();
        no.labels.insert(LABEL_CHAOS.into(), "denied".into());
        assert_eq!(
            guard(&no, "a"),
            Err("its label io.warden.chaos is 'denied', not 'allowed'".into())
        );
        let mut loose = cs[2].clone();
        loose
            .labels
            .insert(LABEL_CHAOS.into(), CHAOS_ALLOWED.into());
        assert_eq!(
            guard(&loose, "a"),
            Err("it belongs to no compose project, not to the selected project 'a'".into())
        );
    }

    #[test]
    fn a_projects_hostnames_map_to_its_containers_ips() {
        let mut cs = stack();
        cs[0].networks[0].aliases.push("4f2a9c1b7e3d".into());
        let mut stopped = container("a-gone", "a", "allowed", "", "redis-gone");
        stopped.networks[0].ip.clear();
        cs.push(stopped);
        let got: Vec<String> = hosts(&cs, "a")
            .iter()
            .map(|(n, ip)| format!("{n}={ip}"))
            .collect();
        assert_eq!(
            got,
            [
                "a-primary=172.20.0.2",
                "redis-primary=172.20.0.2",
                "4f2a9c1b7e3d=172.20.0.2"
            ]
        );
        assert!(hosts(&cs, "c").is_empty());
    }
}
