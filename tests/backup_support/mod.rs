//! Helpers of the backup tests: filling a lab primary with session keys (random values,
//! TTLs), reading `INFO` fields, and waiting for the replicas to hold the same key count.
#![allow(dead_code)]

use std::path::PathBuf;

use rand::RngCore;
use warden::addr::Addr;
use warden::client::{self, Timeouts};
use warden::conn::{Con, Conn};

use crate::support::{TestLab, WAIT, wait_until};

const T: Timeouts = Timeouts {
    connect: std::time::Duration::from_secs(2),
    response: std::time::Duration::from_secs(30),
};

pub async fn con(addr: &Addr) -> Con {
    con_with(&Conn::default(), addr).await
}

/// A connection made with `conn` (a secured lab's settings).
pub async fn con_with(conn: &Conn, addr: &Addr) -> Con {
    conn.node(addr, T).await.expect("connect")
}

/// `sessions` keys `session:<i>` (random `value_size`-byte values, TTL 1–3 h) and `others`
/// keys `other:<i>` without TTL, in pipelines of 1000 SETs.
pub async fn fill(addr: &Addr, sessions: u64, others: u64, value_size: usize) {
    let mut c = con(addr).await;
    let mut rng = rand::rng();
    let mut value = vec![0u8; value_size];
    let mut i = 0;
    while i < sessions + others {
        let mut pipe = redis::pipe();
        for _ in 0..1000.min(sessions + others - i) {
            rng.fill_bytes(&mut value);
            if i < sessions {
                let ttl = 3600 + i % 7200;
                pipe.cmd("SET")
                    .arg(format!("session:{i}"))
                    .arg(&value)
                    .arg("EX")
                    .arg(ttl)
                    .ignore();
            } else {
                pipe.cmd("SET")
                    .arg(format!("other:{i}"))
                    .arg(&value)
                    .ignore();
            }
            i += 1;
        }
        let () = pipe.query_async(&mut c).await.expect("pipelined SET");
    }
}

/// A numeric field of `INFO <section>`.
pub async fn info(addr: &Addr, section: &str, field: &str) -> i64 {
    let mut c = con(addr).await;
    let text: String = redis::cmd("INFO")
        .arg(section)
        .query_async(&mut c)
        .await
        .expect("INFO");
    client::parse_info(&text)
        .get(field)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO {section} of {addr}"))
}

pub async fn dbsize(addr: &Addr) -> i64 {
    let mut c = con(addr).await;
    redis::cmd("DBSIZE")
        .query_async(&mut c)
        .await
        .expect("DBSIZE")
}

/// Waits until every node of the lab reports `keys` keys.
pub async fn wait_synced(lab: &TestLab, keys: i64) {
    let logs: Vec<PathBuf> = lab.logs();
    for node in lab.lab.nodes() {
        wait_until(WAIT, &format!("{node} to hold {keys} keys"), &logs, || {
            let node = node.clone();
            async move { dbsize(&node).await == keys }
        })
        .await;
    }
}

/// The `--sentinels` argument for the lab.
pub fn sentinels(lab: &TestLab) -> String {
    crate::support::watch::list(&lab.lab.sentinels())
}
