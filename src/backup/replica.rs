//! Pure: which replica a backup is taken from, given what a Sentinel says about them.
//!
//! Healthy replicas only (link `ok`, no `s_down`/`o_down`/`disconnected` flag). Among them the
//! least lag (highest replication offset) wins; on a tie, the replica *least* likely to be
//! promoted (priority 0 = never, then the highest priority number), so a backup's fork lands
//! where a failover is least likely to need the node; then the address, for a stable choice.

use std::cmp::Reverse;

use crate::sentinel::view::ReplicaView;

/// Replicas fit to back up from, best first; `Err` explains why each one was rejected.
pub(crate) fn candidates(replicas: &[ReplicaView]) -> Result<Vec<&ReplicaView>, String> {
    if replicas.is_empty() {
        return Err("the Sentinel knows no replica".into());
    }
    let mut fit: Vec<&ReplicaView> = replicas.iter().filter(|r| r.healthy()).collect();
    if fit.is_empty() {
        let why: Vec<String> = replicas
            .iter()
            .map(|r| {
                let link = if r.link_ok { "ok" } else { "err" };
                format!("{}: flags {}, link {link}", r.addr, r.flags)
            })
            .collect();
        return Err(why.join("; "));
    }
    fit.sort_by_key(|r| {
        let promotion = if r.priority == 0 {
            i64::MIN
        } else {
            -r.priority
        };
        (Reverse(r.offset), promotion, r.addr.clone())
    });
    Ok(fit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::Addr;

    fn r(port: u16, flags: &str, link_ok: bool, offset: i64, priority: i64) -> ReplicaView {
        ReplicaView {
            addr: Addr::local(port),
            flags: flags.into(),
            link_ok,
            offset,
            priority,
        }
    }

    fn order(list: &[ReplicaView]) -> Vec<u16> {
        candidates(list)
            .unwrap()
            .iter()
            .map(|r| r.addr.port)
            .collect()
    }

    #[test]
    fn least_lag_wins() {
        let l = [r(1, "slave", true, 100, 100), r(2, "slave", true, 200, 100)];
        assert_eq!(order(&l), [2, 1]);
    }

    #[test]
    fn ties_prefer_the_replica_least_likely_to_be_promoted() {
        let l = [
            r(1, "slave", true, 200, 10),
            r(2, "slave", true, 200, 100),
            r(3, "slave", true, 200, 0),
            r(4, "slave", true, 200, 100),
        ];
        assert_eq!(order(&l), [3, 2, 4, 1]);
    }

    #[test]
    fn unhealthy_replicas_are_skipped_and_explained() {
        let l = [
            r(1, "s_down,slave,disconnected", false, 900, 100),
            r(2, "slave", false, 900, 100),
            r(3, "slave", true, 10, 100),
        ];
        assert_eq!(order(&l), [3]);
        let why = candidates(&l[..2]).unwrap_err();
        assert!(why.contains("127.0.0.1:1: flags s_down,slave,disconnected, link err"));
        assert!(why.contains("127.0.0.1:2: flags slave, link err"));
        assert!(candidates(&[]).unwrap_err().contains("no replica"));
    }
}
