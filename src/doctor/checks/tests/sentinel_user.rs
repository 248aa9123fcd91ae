//! Sentinel's own user on the data nodes: what `ACL DRYRUN` refused it, as findings.

use super::*;
use crate::doctor::facts::PROBES;

/// Sentinel's user on node `node` is refused the probes whose rule is one of `rules`.
fn refuse(f: &mut Facts, node: usize, rules: &[&str]) {
    let a = f.nodes[node].answer.as_mut().unwrap();
    let users = a.sentinel_users.as_mut().unwrap();
    users[0].refused = PROBES
        .iter()
        .filter(|p| rules.contains(&p.rule))
        .map(|p| {
            (
                p,
                format!("no permissions to run the '{}' command", p.args[0]),
            )
        })
        .collect();
}

#[test]
fn sentinel_user_rules() {
    use Severity::*;
    check_cases(
        Targets::default(),
        vec![
            (
                "a replica Sentinel may not promote",
                |f| refuse(f, 1, &["+slaveof", "+config|rewrite"]),
                vec![(Error, "sentinel-user-refused", "10.0.1.2:6379")],
            ),
            (
                "a primary that cannot hand over in a coordinated failover",
                |f| refuse(f, 0, &["+failover", "+client|pause"]),
                vec![(Warn, "sentinel-user-no-coordinated", "10.0.1.1:6379")],
            ),
            (
                "both at once",
                |f| refuse(f, 0, &["+failover", "+slaveof"]),
                vec![
                    (Error, "sentinel-user-refused", "10.0.1.1:6379"),
                    (Warn, "sentinel-user-no-coordinated", "10.0.1.1:6379"),
                ],
            ),
            (
                "not asked",
                |f| {
                    let a = f.nodes[2].answer.as_mut().unwrap();
                    a.sentinel_users = Err("user warden may not run CLIENT LIST".into());
                },
                vec![(Info, "sentinel-user-unchecked", "10.0.1.3:6379")],
            ),
            (
                "no Sentinel link seen",
                |f| f.nodes[2].answer.as_mut().unwrap().sentinel_users = Ok(vec![]),
                vec![],
            ),
        ],
    );
    let mut f = healthy();
    refuse(&mut f, 1, &["+slaveof", "+config|rewrite"]);
    let found = check(&f, &Targets::default());
    let refused = found
        .iter()
        .find(|x| x.id == "sentinel-user-refused")
        .unwrap();
    assert_eq!(
        refused.evidence,
        "Sentinel's user 'sentinel-node' may not run SLAVEOF NO ONE, CONFIG REWRITE \
         (a failover needs them): no permissions to run the 'SLAVEOF' command"
    );
    assert_eq!(
        refused.fix,
        "ACL SETUSER sentinel-node +slaveof +config|rewrite on every data node, and persist \
         it (docs/book/src/acls.md)"
    );
}
