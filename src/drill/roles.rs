//! The two-primaries sampler: a task that asks `ROLE` of every data node, all at once, every
//! [`PERIOD`], through the drill's [`Conn`], off the trial's state machine. It shares
//! nothing: it hands its rounds back when stopped (judged by the pure [`super::primaries`]).

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::primaries::Round;
use crate::addr::Addr;
use crate::client::{self, Timeouts};
use crate::conn::{Con, Conn};

/// Time between two rounds.
pub(super) const PERIOD: Duration = Duration::from_millis(200);

/// A node that does not answer within this is left out of the round.
const ASK: Timeouts = Timeouts {
    connect: Duration::from_millis(150),
    response: Duration::from_millis(150),
};

/// The running sampler; dropping it stops the task.
pub(super) struct Sampler {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<Vec<Round>>>,
}

impl Sampler {
    /// Starts sampling `nodes`.
    pub(super) fn start(conn: &Conn, nodes: Vec<Addr>) -> Sampler {
        let (stop, mut stopped) = watch::channel(false);
        let conn = conn.clone();
        let task = tokio::spawn(async move {
            let mut cons: Vec<Option<Con>> = nodes.iter().map(|_| None).collect();
            let mut rounds = Vec::new();
            let mut tick = tokio::time::interval(PERIOD);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                // Told to stop, it takes one last round: the last round is after the stop.
                let last = tokio::select! {
                    _ = tick.tick() => false,
                    _ = stopped.changed() => true,
                };
                let at = Instant::now();
                let asked = nodes
                    .iter()
                    .zip(cons.iter_mut())
                    .map(|(node, con)| is_master(&conn, node, con));
                let answers = join_all(asked).await;
                let answered = |want: bool| {
                    let each = nodes.iter().zip(&answers);
                    each.filter(|(_, m)| **m == Some(want))
                        .map(|(n, _)| n.clone())
                        .collect()
                };
                let (masters, replicas) = (answered(true), answered(false));
                rounds.push(Round {
                    at,
                    masters,
                    replicas,
                });
                if last {
                    break;
                }
            }
            rounds
        });
        Sampler {
            stop,
            task: Some(task),
        }
    }

    /// Stops sampling after one last round; returns the rounds taken.
    pub(super) async fn stop(mut self) -> Vec<Round> {
        let _ = self.stop.send(true);
        match self.task.take() {
            Some(task) => task.await.unwrap_or_default(),
            None => Vec::new(),
        }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Whether `node` answers `ROLE` with master, on its kept connection (opened again after a
/// failure); `None` when it does not answer in time.
async fn is_master(conn: &Conn, node: &Addr, con: &mut Option<Con>) -> Option<bool> {
    if con.is_none() {
        *con = conn.node(node, ASK).await.ok();
    }
    let answer = client::is_master(con.as_mut()?, node).await;
    if answer.is_err() {
        *con = None;
    }
    answer.ok()
}
