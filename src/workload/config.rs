//! Pure: the workload's settings (a scenario's `[workload]` table): how many writers, how
//! fast, what they write, and how the client retries and follows a failover.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Random values each writer keeps and cycles through (so `writers × VALUE_POOL ×
/// value_size` bytes are held in memory).
pub const VALUE_POOL: usize = 64;

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
