//! The session workload: writers that store `session:<run>:<seq>` keys with a TTL through a
//! Sentinel-aware client, the history of what they did, and the loss check against the new
//! primary.

pub mod follow;
pub mod history;
pub mod loss;
pub mod tally;
pub mod writer;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::addr::Addr;
pub use history::History;
pub use writer::WriterEvent;

/// How a client waits before asking the Sentinels again after a failed write or connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RetryPolicy {
    /// Ask again at once (hammers the Sentinels while the primary is down).
    Immediate,
    /// Wait the same delay every time.
    Fixed {
        /// The delay.
        #[serde(with = "humantime_serde")]
        delay: Duration,
    },
    /// Double the delay after each consecutive failure, up to `max`.
    Exponential {
        /// The first delay.
        #[serde(with = "humantime_serde")]
        initial: Duration,
        /// The cap.
        #[serde(with = "humantime_serde")]
        max: Duration,
    },
}

impl RetryPolicy {
    /// The delay before retry number `attempt` (0 = the first retry).
    pub fn delay(&self, attempt: u32) -> Duration {
        match *self {
            RetryPolicy::Immediate => Duration::ZERO,
            RetryPolicy::Fixed { delay } => delay,
            RetryPolicy::Exponential { initial, max } => {
                initial.saturating_mul(1u32 << attempt.min(20)).min(max)
            }
        }
    }
}

/// The workload's settings (a scenario's `[workload]` table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkloadConfig {
    /// Concurrent writers, each with its own connection and one request in flight.
    pub writers: usize,
    /// Target acknowledged writes per second over all writers; 0 = as fast as possible.
    pub rate: u32,
    /// TTL of each session key.
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
    /// Bytes of random value per key (a stand-in for an encrypted session).
    pub value_size: usize,
    /// Reply timeout of a write; a write that times out has an unknown outcome.
    #[serde(with = "humantime_serde")]
    pub op_timeout: Duration,
    /// What the client does after a failure.
    pub retry: RetryPolicy,
    /// When the client moves to a new primary.
    pub follow: Follow,
}

/// When a writer leaves the primary it is connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Follow {
    /// On an error, and as soon as any Sentinel announces `+switch-master` (what Jedis and
    /// Lettuce do).
    SwitchMaster,
    /// Only on an error (a client that never listens to Sentinel events): it writes on to
    /// an old primary that stays healthy until Sentinel demotes it.
    Errors,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            writers: 4,
            rate: 2000,
            ttl: Duration::from_secs(1800),
            value_size: 512,
            op_timeout: Duration::from_millis(500),
            retry: RetryPolicy::Fixed {
                delay: Duration::from_millis(10),
            },
            follow: Follow::SwitchMaster,
        }
    }
}

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
        let (stop, stop_rx) = watch::channel(false);
        let epoch = plan.epoch;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_follow_the_policy() {
        let ms = Duration::from_millis;
        let exp = RetryPolicy::Exponential {
            initial: ms(100),
            max: ms(1000),
        };
        let got: Vec<_> = (0..6).map(|a| exp.delay(a).as_millis()).collect();
        assert_eq!(got, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(exp.delay(u32::MAX), ms(1000));
        assert_eq!(RetryPolicy::Immediate.delay(3), Duration::ZERO);
        assert_eq!(RetryPolicy::Fixed { delay: ms(7) }.delay(9), ms(7));
    }
}
