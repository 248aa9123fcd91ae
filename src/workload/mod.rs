//! The session workload: writers that store `session:<run>:<seq>` keys with a TTL through a
//! Sentinel-aware client (the built-in writer, or an external program speaking the line
//! protocol), the history of what they did, and the loss check against the new primary.

pub(crate) mod config;
pub(crate) mod external;
pub(crate) mod follow;
pub(crate) mod history;
pub(crate) mod history_file;
pub mod loss;
pub(crate) mod protocol;
pub(crate) mod recheck;
pub(crate) mod record;
pub(crate) mod resp;
pub mod tally;
pub(crate) mod writer;

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::addr::Addr;
pub use config::WorkloadConfig;
pub(crate) use config::{Follow, RetryPolicy};
pub(crate) use history::History;
pub(crate) use writer::WriterEvent;

/// What every writer needs to know.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The settings.
    pub config: WorkloadConfig,
    /// Key prefix, `session:<run>`.
    pub prefix: String,
    /// Sentinels to ask for the primary.
    pub sentinels: Vec<Addr>,
    /// Master name.
    pub master: String,
    /// How to connect (credentials, TLS, hostname map).
    pub conn: crate::conn::Conn,
    /// Time zero of the history.
    pub epoch: Instant,
    /// Where an external client's stderr log goes (`None`: the temp dir).
    pub log_dir: Option<std::path::PathBuf>,
}

impl Plan {
    /// The key of write `seq`.
    pub fn key(&self, seq: u32) -> String {
        format!("{}:{seq}", self.prefix)
    }
}

/// Running writers: stop them to get the history.
pub struct Workload {
    stop: watch::Sender<bool>,
    tasks: JoinSet<(usize, history::WriterHistory)>,
    epoch: Instant,
    _listeners: JoinSet<()>,
}

impl Workload {
    /// Starts `plan.config.writers` writers; they report first acks and progress on `events`.
    pub fn start(plan: Plan, events: mpsc::UnboundedSender<WriterEvent>) -> Workload {
        Workload::start_as(0, plan, events)
    }

    /// Starts workload number `workload` of a scenario: the built-in writers, or the
    /// external program of `plan.config.command`.
    pub(crate) fn start_as(
        workload: usize,
        plan: Plan,
        events: mpsc::UnboundedSender<WriterEvent>,
    ) -> Workload {
        let (stop, stop_rx) = watch::channel(false);
        let epoch = plan.epoch;
        if plan.config.command.is_some() {
            let mut tasks = JoinSet::new();
            tasks.spawn(async move { (0, external::run(workload, &plan, stop_rx, events).await) });
            return Workload {
                stop,
                tasks,
                epoch,
                _listeners: JoinSet::new(),
            };
        }
        let (switched, listeners) = match plan.config.follow {
            Follow::SwitchMaster => {
                let (rx, set) = follow::spawn(&plan.conn, &plan.sentinels, &plan.master);
                (Some(rx), set)
            }
            Follow::Errors => (None, JoinSet::new()),
        };
        let plan = Arc::new(plan);
        let mut tasks = JoinSet::new();
        for idx in 0..plan.config.writers {
            let (plan, events) = (plan.clone(), events.clone());
            let signals = writer::Signals {
                workload,
                stop: stop_rx.clone(),
                switched: switched.clone(),
            };
            tasks.spawn(async move { (idx, writer::run(idx, &plan, signals, events).await) });
        }
        Workload {
            stop,
            tasks,
            epoch,
            _listeners: listeners,
        }
    }

    /// Stops the writers (each finishes its write in flight) and returns their history.
    pub async fn stop(mut self) -> History {
        let _ = self.stop.send(true);
        let mut writers = Vec::new();
        while let Some(res) = self.tasks.join_next().await {
            if let Ok(w) = res {
                writers.push(w);
            }
        }
        writers.sort_by_key(|(idx, _)| *idx);
        History {
            epoch: self.epoch,
            writers: writers.into_iter().map(|(_, w)| w).collect(),
        }
    }
}
