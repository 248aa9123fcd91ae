//! What each node says about itself now (`INFO replication`, `INFO server`): its live role,
//! for a replica its link and how far it lags behind the primary, and which server family and
//! version it runs. For `lab status` on either backend, where a node's start-up role goes
//! stale after a failover.

use futures_util::future::join_all;

use crate::addr::Addr;
use crate::client::{self, Replication, Timeouts};
use crate::conn::Conn;
use crate::error::Result;
use crate::server::ServerVersion;

/// One node's live replication state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    /// The node.
    pub addr: Addr,
    /// `primary`, `replica`, or `down` when it did not answer.
    pub role: String,
    /// For a replica: `up` or `down` (its link to the primary it follows); else empty.
    pub link: String,
    /// For a replica: bytes behind the primary among `nodes` (`None` when unknown).
    pub lag: Option<i64>,
    /// For a node that did not answer: why.
    pub error: Option<String>,
    /// Its server family and version, when it answered `INFO server`.
    pub server: Option<ServerVersion>,
}

impl Row {
    /// Link and lag in words (`link up, lag 0 B`), the error of a node that did not
    /// answer, or `""` for a primary.
    pub(crate) fn detail(&self) -> String {
        match (&self.error, self.role.as_str()) {
            (Some(e), _) => e.clone(),
            (None, "replica") => match self.lag {
                Some(lag) => format!("link {}, lag {lag} B", self.link),
                None => format!("link {}, lag unknown", self.link),
            },
            _ => String::new(),
        }
    }
}

/// Asks every node of `nodes` at once (with control timeouts) for its replication state and
/// its server version.
pub(crate) async fn ask(conn: &Conn, nodes: &[Addr]) -> Vec<Row> {
    let answers = join_all(nodes.iter().map(|n| probe(conn, n))).await;
    let (replication, servers): (Vec<_>, Vec<_>) = answers.into_iter().unzip();
    let mut rows = rows(nodes.iter().cloned().zip(replication).collect());
    for (row, server) in rows.iter_mut().zip(servers) {
        row.server = server;
    }
    rows
}

async fn probe(conn: &Conn, addr: &Addr) -> (Result<Replication>, Option<ServerVersion>) {
    let mut con = match conn.node(addr, Timeouts::CONTROL).await {
        Ok(con) => con,
        Err(e) => return (Err(e), None),
    };
    let replication = client::replication(&mut con, addr).await;
    let server = client::server_version(&mut con, addr).await.ok();
    (replication, server)
}

/// The rows for the nodes' answers: a replica's lag is measured against the one node that
/// says it is the primary (with several or none, the lag is unknown).
pub(crate) fn rows(answers: Vec<(Addr, Result<Replication>)>) -> Vec<Row> {
    let primaries: Vec<i64> = answers
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().filter(|r| r.is_master()).map(|r| r.offset))
        .collect();
    let primary_offset = match primaries[..] {
        [offset] if offset >= 0 => Some(offset),
        _ => None,
    };
    answers
        .into_iter()
        .map(|(addr, r)| match r {
            Ok(r) if r.is_master() => Row {
                addr,
                role: "primary".into(),
                link: String::new(),
                lag: None,
                error: None,
                server: None,
            },
            Ok(r) => Row {
                addr,
                role: "replica".into(),
                link: if r.link_up { "up" } else { "down" }.into(),
                lag: primary_offset
                    .filter(|_| r.offset >= 0)
                    .map(|p| (p - r.offset).max(0)),
                error: None,
                server: None,
            },
            Err(e) => Row {
                addr,
                role: "down".into(),
                link: String::new(),
                lag: None,
                error: Some(e.to_string()),
                server: None,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn node(role: &str, link_up: bool, offset: i64) -> Result<Replication> {
        Ok(Replication {
            role: role.into(),
            link_up,
            master: None,
            offset,
        })
    }

    #[test]
    fn replicas_lag_behind_the_one_primary_and_a_silent_node_is_down() {
        let a = |p: u16| Addr::new("10.0.0.1", p);
        let got = rows(vec![
            (a(1), node("slave", true, 90)),
            (a(2), node("master", false, 100)),
            (a(3), node("slave", false, -1)),
            (a(4), Err(Error::Usage("refused".into()))),
        ]);
        let view: Vec<(String, String)> =
            got.iter().map(|r| (r.role.clone(), r.detail())).collect();
        assert_eq!(
            view,
            [
                ("replica".into(), "link up, lag 10 B".into()),
                ("primary".into(), String::new()),
                ("replica".into(), "link down, lag unknown".into()),
                ("down".into(), "refused".into()),
            ]
        );
        let two = rows(vec![
            (a(1), node("master", false, 5)),
            (a(2), node("master", false, 7)),
            (a(3), node("slave", true, 5)),
        ]);
        assert_eq!(two[2].lag, None, "two primaries: no lag to measure against");
    }
}
