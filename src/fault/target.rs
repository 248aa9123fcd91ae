//! Pure: which containers a fault hits — the primary the Sentinels report, replicas or
//! Sentinels of the selected project, and a partition's two sides — over plain data listed
//! from the engine. Every container chosen must pass the edge's opt-in guard
//! ([`crate::docker::select::guard`]), or the whole choice is refused with the reason.

use super::spec::{Action, Fault, Target};
use crate::addr::Addr;
use crate::docker::select::{ContainerInfo, LABEL_PROJECT, allowed, by_host};
use crate::error::{Error, Result};

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
pub(crate) fn select(
    fault: &Fault,
    primary: &Addr,
    containers: &[ContainerInfo],
    project: &str,
) -> Result<Selection> {
    let count = match fault.action {
        Action::RestartAll => usize::MAX,
        _ => fault.count.unwrap_or(1) as usize,
    };
    let primary_container = || {
        by_host(containers, &primary.host, project).ok_or_else(|| Error::NoContainer {
            what: format!("has the address {primary} that the Sentinels report for the primary"),
        })
    };
    let (hit, why): (Vec<&ContainerInfo>, String) = match fault.target {
        Target::Primary if fault.action == Action::RestartAll => {
            let all = of_roles(containers, project, &["primary", "replica"], "");
            let n = all.len();
            (all, format!("every data node of the project ({n})"))
        }
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
    if hit.len() < count && fault.action != Action::RestartAll {
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
    if fault.action == Action::Partition && other_side.is_empty() {
        return Err(Error::Usage(format!(
            "a partition needs two sides: [{}] would be cut off from nothing in project '{project}'",
            hit.iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(Selection {
        hit,
        other_side,
        why,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::docker::select::{Attachment, CHAOS_ALLOWED, LABEL_CHAOS, LABEL_ROLE};

    fn container(name: &str, project: &str, role: &str, ip: &str) -> ContainerInfo {
        let labels = [
            (LABEL_PROJECT, project),
            (LABEL_ROLE, role),
            (LABEL_CHAOS, CHAOS_ALLOWED),
        ];
        ContainerInfo {
            id: format!("{name:0>64}"),
            name: name.into(),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<HashMap<_, _>>(),
            networks: vec![Attachment {
                network: format!("{project}_default"),
                ip: ip.into(),
                aliases: vec![],
            }],
            ..Default::default()
        }
    }

    fn fault(action: Action, target: Target, count: Option<u32>) -> Fault {
        Fault {
            action,
            target,
            duration: None,
            count,
            with_sentinels: Some(1),
            when: None,
        }
    }

    #[test]
    fn faults_hit_the_reported_primary_other_nodes_or_a_partition_and_pass_the_guard() {
        let cs = vec![
            container("p", "a", "primary", "10.0.0.2"),
            container("r1", "a", "replica", "10.0.0.3"),
            container("r2", "a", "replica", "10.0.0.4"),
            container("s1", "a", "sentinel", "10.0.0.5"),
            container("s2", "a", "sentinel", "10.0.0.6"),
        ];
        let names = |v: &[ContainerInfo]| v.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        let after_failover = Addr::new("10.0.0.3", 6379);
        let check = |f: Fault| select(&f, &after_failover, &cs, "a").map(|s| names(&s.hit));
        let hit = check(fault(Action::Kill, Target::Primary, None));
        assert_eq!(hit.expect("primary"), ["r1"]);
        let hit = check(fault(Action::Pause, Target::Replica, Some(2)));
        assert_eq!(hit.expect("replicas"), ["p", "r2"]);
        let e = check(fault(Action::Stop, Target::Sentinel, Some(3))).expect_err("too few");
        assert!(e.to_string().contains("found 2"), "{e}");
        let split = fault(Action::Partition, Target::Primary, None);
        let sel = select(&split, &after_failover, &cs, "a").expect("partition");
        assert_eq!(
            (names(&sel.hit), names(&sel.other_side)),
            (
                vec!["r1".into(), "s1".into()],
                vec!["p".into(), "r2".into(), "s2".into()]
            )
        );
        let e = select(&split, &after_failover, &cs, "b").expect_err("other project");
        assert!(matches!(e, Error::ContainerRefused { .. }), "{e}");
        let mut everyone = split.clone();
        everyone.with_sentinels = Some(2);
        let alone = [cs[1].clone(), cs[3].clone(), cs[4].clone()];
        let e = select(&everyone, &after_failover, &alone, "a").expect_err("an empty side");
        assert!(e.to_string().contains("needs two sides"), "{e}");
    }
}
