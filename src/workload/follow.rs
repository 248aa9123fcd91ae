//! The client side of `+switch-master`: what a Sentinel-aware client library (Jedis,
//! Lettuce) does besides re-asking on errors — it listens to every Sentinel and moves to the
//! announced primary at once, instead of writing on to an old primary that is still healthy
//! (a manual failover, a partition) until something fails.

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::addr::Addr;
use crate::conn::Conn;
use crate::sentinel::event::Detail;
use crate::sentinel::monitor::{self, MonitorEvent};

/// Listens for `+switch-master` of `master` on every Sentinel; the receiver holds the newest
/// announced primary. The listeners stop when the returned set is dropped.
///
/// The announced address is kept as announced; the connection settings' hostname map
/// (`--resolve`) applies when a writer connects to it.
pub(crate) fn spawn(
    conn: &Conn,
    sentinels: &[Addr],
    master: &str,
) -> (watch::Receiver<Option<Addr>>, JoinSet<()>) {
    let (tx, rx) = watch::channel(None);
    let (mtx, mut mrx) = mpsc::unbounded_channel();
    let mut tasks = monitor::spawn(conn, sentinels, monitor::Backoff::default(), mtx);
    let master = master.to_string();
    tasks.spawn(async move {
        while let Some(report) = mrx.recv().await {
            let MonitorEvent::Event { event, .. } = report else {
                continue;
            };
            if let Detail::SwitchMaster { master: m, new, .. } = event.detail
                && m == master
            {
                // Every Sentinel announces the switch; only a new address is news.
                tx.send_if_modified(|cur| {
                    let changed = cur.as_ref() != Some(&new);
                    *cur = Some(new);
                    changed
                });
            }
        }
    });
    (rx, tasks)
}
