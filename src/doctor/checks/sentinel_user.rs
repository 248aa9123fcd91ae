//! Pure: what Sentinel's own user on a data node (`sentinel auth-user`) may not run, as the
//! node's `ACL DRYRUN` answered.

use super::push;
use crate::doctor::facts::{NodeAnswer, Probe, SentinelUser};
use crate::doctor::report::{Finding, Severity};

/// A refusal of what every failover needs is an error; of what only a coordinated failover
/// needs, a warning (Valkey 9.1 answers `OK` to `SENTINEL FAILOVER … COORDINATED` and then
/// does nothing); a node where it could not be asked, an info.
pub(super) fn sentinel_users(a: &NodeAnswer, place: &str, out: &mut Vec<Finding>) {
    let users = match &a.sentinel_users {
        Ok(users) => users,
        Err(why) => {
            push(
                out,
                Severity::Info,
                "sentinel-user-unchecked",
                place,
                format!("Sentinel's own user was not checked: {why}"),
                "allow the doctor's user +client|list +acl|dryrun, or check Sentinel's auth-user rules (docs/book/src/acls.md) by hand",
            );
            return;
        }
    };
    for u in users {
        let (coordinated, plain): (Vec<_>, Vec<_>) = u
            .refused
            .iter()
            .map(|(p, _)| *p)
            .partition(|p| p.coordinated);
        if !plain.is_empty() {
            push(
                out,
                Severity::Error,
                "sentinel-user-refused",
                place,
                refusal(u, &plain, "a failover needs"),
                &grant(u, &plain),
            );
        }
        if !coordinated.is_empty() {
            push(
                out,
                Severity::Warn,
                "sentinel-user-no-coordinated",
                place,
                refusal(
                    u,
                    &coordinated,
                    "SENTINEL FAILOVER … COORDINATED answers OK and does nothing without",
                ),
                &grant(u, &coordinated),
            );
        }
    }
}

/// `Sentinel's user 'U' may not run A, B (what): <the server's first reason>`.
fn refusal(u: &SentinelUser, probes: &[&Probe], what: &str) -> String {
    let commands: Vec<String> = probes.iter().map(|p| p.command()).collect();
    let reason = u
        .refused
        .iter()
        .find(|(p, _)| p == &probes[0])
        .map_or("", |(_, why)| why.as_str());
    format!(
        "Sentinel's user '{}' may not run {} ({what} them): {reason}",
        u.user,
        commands.join(", "),
    )
}

fn grant(u: &SentinelUser, probes: &[&Probe]) -> String {
    let rules: Vec<&str> = probes.iter().map(|p| p.rule).collect();
    format!(
        "ACL SETUSER {} {} on every data node, and persist it (docs/book/src/acls.md)",
        u.user,
        rules.join(" ")
    )
}
