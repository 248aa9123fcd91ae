//! What each lab node says about itself right now: its role, its link to its master and how
//! many bytes of the replication stream it is behind (`INFO replication` on every node).

use futures_util::future::join_all;

use crate::addr::Addr;
use crate::client::{self, Replication, Timeouts};

/// One node's live replication state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeState {
    /// The node.
    pub addr: Addr,
    /// `master`, `replica`, or `unreachable` (no answer within the control timeouts).
    pub role: String,
    /// For a replica: whether its link to its master is up (`master_link_status`).
    pub link_up: Option<bool>,
    /// For a replica: its master's replication offset minus its own, when its master is one
    /// of the probed nodes and answered.
    pub lag_bytes: Option<u64>,
}

/// Asks every node at once; a node that does not answer is `unreachable`.
pub async fn probe(nodes: &[Addr]) -> Vec<NodeState> {
    let answers = join_all(nodes.iter().map(ask)).await;
    states(nodes, &answers)
}

async fn ask(addr: &Addr) -> Option<Replication> {
    let mut con = client::connect(addr, Timeouts::CONTROL).await.ok()?;
    client::replication(&mut con, addr).await.ok()
}

/// Rows from each node's answer (`answers[i]` is `nodes[i]`'s); a replica's lag is measured
/// against the answer of the master it names.
fn states(nodes: &[Addr], answers: &[Option<Replication>]) -> Vec<NodeState> {
    let offset_of = |master: &Addr| {
        let i = nodes.iter().position(|n| n == master)?;
        let r = answers.get(i)?.as_ref()?;
        (r.is_master() && r.offset >= 0).then_some(r.offset)
    };
    nodes
        .iter()
        .zip(answers)
        .map(|(addr, answer)| {
            let Some(r) = answer else {
                return NodeState {
                    addr: addr.clone(),
                    role: "unreachable".into(),
                    link_up: None,
                    lag_bytes: None,
                };
            };
            if r.is_master() {
                return NodeState {
                    addr: addr.clone(),
                    role: "master".into(),
                    link_up: None,
                    lag_bytes: None,
                };
            }
            let lag = match (r.master.as_ref().and_then(offset_of), r.offset) {
                (Some(m), own) if own >= 0 => Some(m.saturating_sub(own).max(0) as u64),
                _ => None,
            };
            NodeState {
                addr: addr.clone(),
                role: if r.role == "slave" {
                    "replica"
                } else {
                    &r.role
                }
                .to_string(),
                link_up: Some(r.link_up),
                lag_bytes: lag,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(role: &str, master: Option<u16>, link_up: bool, offset: i64) -> Option<Replication> {
        Some(Replication {
            role: role.into(),
            link_up,
            master: master.map(Addr::local),
            offset,
        })
    }

    #[test]
    fn replicas_lag_behind_the_master_they_name() {
        let nodes = [
            Addr::local(1),
            Addr::local(2),
            Addr::local(3),
            Addr::local(4),
        ];
        let answers = [
            node("master", None, false, 1000),
            node("slave", Some(1), true, 900),
            node("slave", Some(9), false, 900),
            None,
        ];
        let rows = states(&nodes, &answers);
        let got: Vec<_> = rows
            .iter()
            .map(|r| (r.role.as_str(), r.link_up, r.lag_bytes))
            .collect();
        assert_eq!(
            got,
            [
                ("master", None, None),
                ("replica", Some(true), Some(100)),
                ("replica", Some(false), None),
                ("unreachable", None, None),
            ]
        );
        assert_eq!(rows[3].addr, Addr::local(4));
    }
}
