//! Pure: which container a fault may touch. Maps an address Sentinel reports (IP or
//! hostname) or a name to a container, over plain data listed from the engine, and decides
//! the opt-in guard: a container must carry `io.warden.chaos=allowed` and belong to the
//! selected compose project, or it is refused with the reason.

use std::collections::HashMap;

use super::{Action, Fault, Target};
use crate::addr::Addr;
use crate::error::{Error, Result};
use crate::lab::stack::{CHAOS_ALLOWED, LABEL_CHAOS, LABEL_PROJECT, LABEL_ROLE, LABEL_SERVICE};

/// A container as the engine lists it, reduced to what targeting needs.
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
}

/// One network a container is attached to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attachment {
    /// Network name.
    pub network: String,
    /// The container's IPv4 address on it (empty when stopped).
    pub ip: String,
    /// Its DNS aliases on it (compose service names).
    pub aliases: Vec<String>,
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
    pub fn answers_to(&self, host: &str) -> bool {
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
pub fn by_host<'a>(
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

/// The container called `name` (or whose id starts with `name`, at least 12 characters).
pub fn by_name<'a>(containers: &'a [ContainerInfo], name: &str) -> Option<&'a ContainerInfo> {
    let name = name.trim_start_matches('/');
    containers
        .iter()
        .find(|c| c.name == name || (name.len() >= 12 && c.id.starts_with(name)))
}

/// The opt-in guard: `Err(reason)` when a fault must not touch `c`.
pub fn guard(c: &ContainerInfo, project: &str) -> Result<(), String> {
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

/// The containers a fault hits, and for a partition the other side, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The containers the action is applied to (for a partition: the isolated side).
    pub hit: Vec<ContainerInfo>,
    /// For a partition: the side `hit` is cut off from. Empty otherwise.
    pub other_side: Vec<ContainerInfo>,
    /// Why these containers, in words.
    pub why: String,
}

/// The guard as an [`Error`].
fn allowed(c: &ContainerInfo, project: &str) -> Result<()> {
    guard(c, project).map_err(|reason| Error::ContainerRefused {
        container: c.name.clone(),
        reason,
    })
}

/// The first `count` containers of `project` with a role in `roles`, by name, leaving out
/// any `host` answers to.
fn of_roles<'a>(
    containers: &'a [ContainerInfo],
    project: &str,
    roles: &[&str],
    except: &str,
) -> Vec<&'a ContainerInfo> {
    let mut v: Vec<_> = containers
        .iter()
        .filter(|c| c.label(LABEL_PROJECT) == project && roles.contains(&c.role()))
        .filter(|c| !c.answers_to(except))
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// Chooses the containers `fault` hits, given the `primary` the Sentinels report and every
/// container the engine lists; applies the guard to each (a partition's other side too,
/// since its network namespace is changed as well).
pub fn select(
    fault: &Fault,
    primary: &Addr,
    containers: &[ContainerInfo],
    project: &str,
) -> Result<Selection> {
    let count = fault.count.unwrap_or(1) as usize;
    let primary_container = || {
        by_host(containers, &primary.host, project).ok_or_else(|| Error::NoContainer {
            what: format!("has the address {primary} that the Sentinels report for the primary"),
        })
    };
    let (hit, why): (Vec<&ContainerInfo>, String) = match fault.target {
        Target::Primary => (
            vec![primary_container()?],
            format!("it is the primary the Sentinels report ({primary})"),
        ),
        Target::Replica => (
            of_roles(containers, project, &["primary", "replica"], &primary.host),
            format!("a data node that is not the primary {primary}"),
        ),
        Target::Sentinel => (
            of_roles(containers, project, &["sentinel"], ""),
            "a Sentinel of the selected project".into(),
        ),
    };
    let mut hit: Vec<ContainerInfo> = hit.into_iter().take(count).cloned().collect();
    if hit.len() < count {
        return Err(Error::NoContainer {
            what: format!(
                "enough: the fault wants {count} {} container(s) in project '{project}', found {}",
                fault.target.name(),
                hit.len()
            ),
        });
    }
    let mut other_side = Vec::new();
    let mut why = why;
    if fault.action == Action::Partition {
        let sentinels = of_roles(containers, project, &["sentinel"], "");
        let with = fault.with_sentinels.unwrap_or(0) as usize;
        hit.extend(sentinels.iter().take(with).map(|c| (*c).clone()));
        other_side = containers
            .iter()
            .filter(|c| c.label(LABEL_PROJECT) == project && !c.role().is_empty())
            .filter(|c| !hit.iter().any(|h| h.id == c.id))
            .cloned()
            .collect();
        why = format!("{why}, with {with} Sentinel(s), cut off from the rest of the stack");
    }
    for c in hit.iter().chain(&other_side) {
        allowed(c, project)?;
    }
    Ok(Selection {
        hit,
        other_side,
        why,
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
}
