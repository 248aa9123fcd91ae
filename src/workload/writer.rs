//! One session writer: finds the primary through the Sentinels, checks its `ROLE`, writes
//! `SET key value EX ttl` at its share of the target rate, and records every outcome.

use std::time::{Duration, Instant};

use rand::RngCore;
use tokio::sync::{mpsc, watch};

use super::Plan;
use super::config::VALUE_POOL;
use super::history::WriterHistory;
use super::resp::{SetCon, SetError};
use crate::addr::Addr;
use crate::client::Timeouts;
use crate::sentinel::topology;

/// What a writer tells the runner while it runs.
#[derive(Debug, Clone)]
pub enum WriterEvent {
    /// The first write acknowledged on a newly connected primary.
    FirstAck {
        /// The workload's index in the scenario.
        workload: usize,
        /// Writer index.
        writer: usize,
        /// The primary that acknowledged it (port 0: a client that did not say).
        node: Addr,
        /// When the ack arrived.
        at: Instant,
    },
    /// More writes were acknowledged.
    Progress {
        /// How many since the last report.
        acked: u64,
    },
    /// An external workload cannot go on (it did not start, exited, or wrote garbage).
    Failed {
        /// The workload's index in the scenario.
        workload: usize,
        /// What happened, naming the client.
        why: String,
    },
}

const PROGRESS_EVERY: u64 = 500;

/// How a write ended when it did not succeed.
enum Failure {
    /// No reply: the write may or may not have landed.
    Unknown,
    /// The server refused it, with this error code.
    Refused(String),
}

/// What a writer listens to besides its replies.
pub(crate) struct Signals {
    /// The workload's index in the scenario.
    pub workload: usize,
    /// Turns true when the workload stops.
    pub stop: watch::Receiver<bool>,
    /// The newest primary announced by `+switch-master`, when the writer follows it.
    pub switched: Option<watch::Receiver<Option<Addr>>>,
}

/// Runs until `signals.stop` turns true; returns the writer's history.
pub(crate) async fn run(
    idx: usize,
    plan: &Plan,
    signals: Signals,
    events: mpsc::UnboundedSender<WriterEvent>,
) -> WriterHistory {
    let Signals {
        workload,
        mut stop,
        mut switched,
    } = signals;
    let cfg = &plan.config;
    let mut hist = WriterHistory::default();
    let values = random_values(cfg.value_size);
    let ttl_s = cfg.ttl.as_secs().max(1);
    let stride = cfg.writers as u32;
    let period =
        (cfg.rate > 0).then(|| Duration::from_secs_f64(cfg.writers as f64 / cfg.rate as f64));
    let mut seq = idx as u32;
    let mut next_at = Instant::now();
    let mut con: Option<(Addr, SetCon)> = None;
    let mut first_ack_pending = false;
    let mut failures: u32 = 0;
    let mut unreported: u64 = 0;
    let mut announced: Option<Addr> = None;

    while !*stop.borrow() {
        if let Some(new) = switched.as_mut().and_then(newly_announced) {
            if con.as_ref().is_some_and(|(node, _)| *node != new) {
                con = None;
            }
            announced = Some(new);
        }
        if con.is_none() {
            match connect_primary(plan, announced.take()).await {
                Some((node, c)) => {
                    hist.begin_era(node.clone());
                    con = Some((node, c));
                    first_ack_pending = true;
                }
                None => {
                    if pause(cfg.retry.delay(failures), &mut stop).await {
                        break;
                    }
                    failures = failures.saturating_add(1);
                    continue;
                }
            }
        }
        if let Some(p) = period {
            next_at += p;
            let now = Instant::now();
            if next_at > now {
                if pause(next_at - now, &mut stop).await {
                    break;
                }
            } else if now - next_at > Duration::from_millis(100) {
                next_at = now; // fell behind (an outage): do not burst to catch up
            }
        }
        let Some((node, c)) = con.as_mut() else {
            continue;
        };
        let value = &values[seq as usize % VALUE_POOL];
        let invoke = Instant::now();
        let reply = c.set(&plan.prefix, seq, value, ttl_s).await;
        let done = Instant::now();
        let (invoke_us, at_us) = (micros(invoke - plan.epoch), micros(done - plan.epoch));
        match reply {
            Ok(()) => {
                hist.acked(seq, invoke_us, at_us);
                failures = 0;
                if first_ack_pending {
                    first_ack_pending = false;
                    let _ = events.send(WriterEvent::FirstAck {
                        workload,
                        writer: idx,
                        node: node.clone(),
                        at: done,
                    });
                }
                unreported += 1;
                if unreported >= PROGRESS_EVERY {
                    let _ = events.send(WriterEvent::Progress { acked: unreported });
                    unreported = 0;
                }
            }
            Err(e) => {
                let (failure, reconnect) = classify(e);
                match failure {
                    Failure::Unknown => hist.unknown(seq, invoke_us, at_us),
                    Failure::Refused(code) => hist.refused(seq, &code, invoke_us, at_us),
                }
                if reconnect {
                    con = None;
                }
                if pause(cfg.retry.delay(failures), &mut stop).await {
                    break;
                }
                failures = failures.saturating_add(1);
            }
        }
        seq = seq.wrapping_add(stride);
    }
    if unreported > 0 {
        let _ = events.send(WriterEvent::Progress { acked: unreported });
    }
    hist
}

/// A pool of random values: session payloads are encrypted, so they do not compress.
fn random_values(size: usize) -> Vec<Vec<u8>> {
    let mut rng = rand::rng();
    (0..VALUE_POOL)
        .map(|_| {
            let mut v = vec![0u8; size];
            rng.fill_bytes(&mut v);
            v
        })
        .collect()
}

/// The address of a `+switch-master` not seen yet, if one came.
fn newly_announced(rx: &mut watch::Receiver<Option<Addr>>) -> Option<Addr> {
    if rx.has_changed().unwrap_or(false) {
        rx.borrow_and_update().clone()
    } else {
        None
    }
}

/// Connects to the primary `announced` by `+switch-master`, or else to the one the Sentinels
/// name, and confirms its `ROLE` is master (an event alone is never trusted).
async fn connect_primary(plan: &Plan, announced: Option<Addr>) -> Option<(Addr, SetCon)> {
    if let Some(node) = announced
        && let Some(con) = connect_master(plan, &node).await
    {
        return Some((node, con));
    }
    let ask = Timeouts {
        connect: Duration::from_millis(200),
        response: Duration::from_millis(500),
    };
    let node = topology::ask_primary(&plan.conn, &plan.sentinels, &plan.master, ask)
        .await
        .ok()?;
    let con = connect_master(plan, &node).await?;
    Some((node, con))
}

/// A connection to `node` if its `ROLE` is master.
async fn connect_master(plan: &Plan, node: &Addr) -> Option<SetCon> {
    let mut con = SetCon::connect(&plan.conn, node, plan.config.op_timeout)
        .await
        .ok()?;
    con.is_master().await.filter(|m| *m).map(|_| con)
}

/// Sorts a failed write: `(how it ended, whether to find the primary again)`.
fn classify(e: SetError) -> (Failure, bool) {
    match e {
        SetError::Refused(code) => {
            let reconnect = matches!(code.as_str(), "READONLY" | "MASTERDOWN" | "LOADING");
            (Failure::Refused(code), reconnect)
        }
        SetError::NoReply => (Failure::Unknown, true),
    }
}

/// Sleeps for `d` unless stopped first; returns whether the writer should stop.
async fn pause(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if d.is_zero() {
        return *stop.borrow();
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}
