//! Pure: the workload's settings (a scenario's `[workload]` table, or each of its
//! `[[workload]]` tables): how many writers, how fast, what they write, how the client retries
//! and follows a failover (set one by one or by a client library's `preset`), or the external
//! program that writes instead of the built-in writer.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Random values each writer keeps and cycles through (so `writers × VALUE_POOL ×
/// value_size` bytes are held in memory).
pub(crate) const VALUE_POOL: usize = 64;

/// Largest `value_size`: 512 MiB, the largest string Redis accepts (`proto-max-bulk-len`).
pub(crate) const MAX_VALUE_SIZE: usize = 512 << 20;
/// Largest `rate` (acknowledged writes per second over all writers).
pub(crate) const MAX_RATE: u32 = 1_000_000;
/// Longest timeout or retry delay.
const MAX_STEP: Duration = Duration::from_secs(3600);

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
    /// Grow the delay by `step` after each consecutive failure, up to `max`.
    Linear {
        /// The first delay, and what each failure adds.
        #[serde(with = "humantime_serde")]
        step: Duration,
        /// The cap.
        #[serde(with = "humantime_serde")]
        max: Duration,
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
            RetryPolicy::Linear { step, max } => {
                step.saturating_mul(attempt.saturating_add(1)).min(max)
            }
            RetryPolicy::Exponential { initial, max } => {
                initial.saturating_mul(1u32 << attempt.min(20)).min(max)
            }
        }
    }
}

/// The workload's settings (a scenario's `[workload]` table, or one `[[workload]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Table")]
pub struct WorkloadConfig {
    /// The name in the report (default: [`WorkloadConfig::name`]).
    pub name: Option<String>,
    /// An external program that writes instead of the built-in writer (argv; see
    /// `workload::external`).
    pub command: Option<Vec<String>>,
    /// The client library whose documented defaults set `retry`, `follow` and `op_timeout`.
    pub preset: Option<Preset>,
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
        Table::default().into()
    }
}

impl WorkloadConfig {
    /// What is wrong with the table, in one line (the caller names the table).
    pub fn validate(&self) -> Result<(), String> {
        if let Some(argv) = &self.command {
            if argv.first().is_none_or(|p| p.is_empty()) {
                return Err("`command` is empty: give the program and its arguments".into());
            }
            if self.preset.is_some() {
                return Err(
                    "`preset` sets the built-in writer's policy; an external `command` has its own"
                        .into(),
                );
            }
        }
        if self.name.as_deref().is_some_and(|n| {
            n.is_empty() || n.len() > 64 || n.chars().any(|c| c.is_whitespace() || c.is_control())
        }) {
            return Err("`name` must be 1 to 64 characters without spaces".into());
        }
        if self.writers == 0 || self.writers > 1024 {
            return Err("`writers` must be between 1 and 1024".into());
        }
        if self.ttl < Duration::from_secs(1) {
            return Err("`ttl` must be at least 1s".into());
        }
        if self.value_size == 0 || self.value_size > MAX_VALUE_SIZE {
            return Err(format!(
                "`value_size` must be between 1 and {MAX_VALUE_SIZE} (512 MiB, the largest Redis string), not {}",
                self.value_size
            ));
        }
        if self.rate > MAX_RATE {
            return Err(format!(
                "`rate` must be at most {MAX_RATE} writes/s (0 = as fast as possible)"
            ));
        }
        let positive = |d: Duration, what: &str| match d {
            Duration::ZERO => Err(format!("{what} must be above 0")),
            d if d > MAX_STEP => Err(format!("{what} must be at most 1h")),
            _ => Ok(()),
        };
        positive(self.op_timeout, "`op_timeout`")?;
        let (first, max) = match self.retry {
            RetryPolicy::Immediate => return Ok(()),
            RetryPolicy::Fixed { delay } if delay > MAX_STEP => {
                return Err("`retry`: `delay` must be at most 1h".into());
            }
            RetryPolicy::Fixed { .. } => return Ok(()),
            RetryPolicy::Linear { step, max } => (("step", step), max),
            RetryPolicy::Exponential { initial, max } => (("initial", initial), max),
        };
        positive(first.1, &format!("`retry`: `{}`", first.0))?;
        positive(max, "`retry`: `max`")?;
        if max < first.1 {
            return Err(format!("`retry`: `max` must be at least `{}`", first.0));
        }
        Ok(())
    }

    /// The name in the report: `name`, else the external program's file stem
    /// (`clients/redis_py.py` → `redis_py`), else `warden` (the built-in writer).
    pub fn name(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        let Some(argv) = &self.command else {
            return "warden".into();
        };
        let last = argv.last().map(String::as_str).unwrap_or_default();
        let file = last.rsplit('/').next().unwrap_or(last);
        let stem = file.split('.').next().unwrap_or(file);
        match stem.is_empty() {
            true => "client".into(),
            false => stem.into(),
        }
    }
}

/// A client library whose documented defaults the built-in writer takes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// redis-py's `Sentinel(...).master_for(...)`.
    RedisPy,
    /// go-redis's `NewFailoverClient`.
    GoRedis,
    /// ioredis with `sentinels`.
    Ioredis,
    /// Jedis's `JedisSentinelPool`.
    Jedis,
    /// Lettuce's Sentinel-aware `RedisClient`.
    Lettuce,
}

impl Preset {
    /// `(retry, follow, op_timeout)` as each library documents its defaults.
    pub(crate) fn defaults(self) -> (RetryPolicy, Follow, Duration) {
        let ms = Duration::from_millis;
        match self {
            // Checked against the source (file:line at the commit or release named):
            // redis-py 8.2.0 (installed wheel): redis/_defaults.py:37-39 `DEFAULT_RETRY_COUNT
            // = 10`, `DEFAULT_RETRY_BASE = 0.01`, `DEFAULT_RETRY_CAP = 1`, used by
            // redis/client.py:346-350 `Retry(ExponentialWithJitterBackoff(base, cap), 10)`;
            // redis/_defaults.py:7 `DEFAULT_SOCKET_TIMEOUT = 5`. redis/sentinel.py: a
            // `SentinelManagedConnection` asks the Sentinels again when it (re)connects and
            // turns READONLY into a reconnect; nothing subscribes to `+switch-master`.
            Preset::RedisPy => (
                RetryPolicy::Exponential {
                    initial: ms(10),
                    max: ms(1000),
                },
                Follow::Errors,
                ms(5000),
            ),
            // go-redis v9.22.0 (216593cc): options.go:551 `MaxRetries = 3`, :557
            // `MinRetryBackoff = 10 * time.Millisecond`, :563 `MaxRetryBackoff = time.Second`,
            // :524 `ReadTimeout = 5 * time.Second` (8 ms, 512 ms and 3 s until 5c82f57a,
            // 2026-07-23); sentinel.go:1208 the failover client subscribes to
            // `+switch-master` and :1247 moves its pool on it.
            Preset::GoRedis => (
                RetryPolicy::Exponential {
                    initial: ms(10),
                    max: ms(1000),
                },
                Follow::SwitchMaster,
                ms(5000),
            ),
            // ioredis v6.0.0 (dfd5428): lib/redis/RedisOptions.ts:291-296 `retryStrategy`:
            // `min(2^(times-1) * 50, 5000)` ms plus 0-199 ms of jitter (the jitter is not
            // imitated; `min(times * 50, 2000)` until 6d0716e, v5), :320 `failoverDetector:
            // false` (no `+switch-master`), :289 `connectTimeout: 10000`; no `commandTimeout`
            // by default (:28), so the connect timeout stands in for one.
            Preset::Ioredis => (
                RetryPolicy::Exponential {
                    initial: ms(50),
                    max: ms(5000),
                },
                Follow::Errors,
                ms(10_000),
            ),
            // Jedis 8.0.0-beta1 (9bcb5c602): src/main/java/redis/clients/jedis/Protocol.java:25
            // `DEFAULT_TIMEOUT = 2000`; JedisSentinelPool.java:415 its `MasterListener`
            // subscribes to `+switch-master` (:348 waits 5000 ms before resubscribing); a
            // failed command is not retried, the next one borrows a new connection at once.
            Preset::Jedis => (RetryPolicy::Immediate, Follow::SwitchMaster, ms(2000)),
            // Lettuce 7.7.0 (b0bcdd814): src/main/java/io/lettuce/core/RedisURI.java:225
            // `DEFAULT_TIMEOUT = 60` s; resource/DefaultClientResources.java:112
            // `DEFAULT_RECONNECT_DELAY = Delay::exponential`, resource/Delay.java:44-48 from 0
            // (the first delay 1 ms) doubling to 30 s. Sentinel-aware connections follow
            // `+switch-master` (not re-read here: taken from the Lettuce docs).
            Preset::Lettuce => (
                RetryPolicy::Exponential {
                    initial: ms(1),
                    max: ms(30_000),
                },
                Follow::SwitchMaster,
                ms(60_000),
            ),
        }
    }
}

/// The table as written: `retry`, `follow` and `op_timeout` left out take the preset's
/// value, or the built-in default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    command: Option<Vec<String>>,
    #[serde(default)]
    preset: Option<Preset>,
    #[serde(default = "writers")]
    writers: usize,
    #[serde(default = "rate")]
    rate: u32,
    #[serde(default = "ttl", with = "humantime_serde")]
    ttl: Duration,
    #[serde(default = "value_size")]
    value_size: usize,
    #[serde(default, with = "humantime_serde")]
    op_timeout: Option<Duration>,
    #[serde(default)]
    retry: Option<RetryPolicy>,
    #[serde(default)]
    follow: Option<Follow>,
}

impl Default for Table {
    fn default() -> Self {
        Table {
            name: None,
            command: None,
            preset: None,
            writers: writers(),
            rate: rate(),
            ttl: ttl(),
            value_size: value_size(),
            op_timeout: None,
            retry: None,
            follow: None,
        }
    }
}

fn writers() -> usize {
    4
}
fn rate() -> u32 {
    2000
}
fn ttl() -> Duration {
    Duration::from_secs(1800)
}
fn value_size() -> usize {
    512
}

impl From<Table> for WorkloadConfig {
    fn from(t: Table) -> Self {
        let (retry, follow, op_timeout) = t.preset.map(Preset::defaults).unwrap_or((
            RetryPolicy::Fixed {
                delay: Duration::from_millis(10),
            },
            Follow::SwitchMaster,
            Duration::from_millis(500),
        ));
        WorkloadConfig {
            name: t.name,
            command: t.command,
            preset: t.preset,
            writers: t.writers,
            rate: t.rate,
            ttl: t.ttl,
            value_size: t.value_size,
            op_timeout: t.op_timeout.unwrap_or(op_timeout),
            retry: t.retry.unwrap_or(retry),
            follow: t.follow.unwrap_or(follow),
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
        let lin = RetryPolicy::Linear {
            step: ms(50),
            max: ms(120),
        };
        let got: Vec<_> = (0..4).map(|a| lin.delay(a).as_millis()).collect();
        assert_eq!(got, [50, 100, 120, 120]);
    }

    fn parse(text: &str) -> WorkloadConfig {
        toml::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn a_preset_sets_the_policy_and_explicit_fields_override_it() {
        let ms = Duration::from_millis;
        let go = parse("preset = \"go-redis\"");
        assert_eq!(go.follow, Follow::SwitchMaster);
        assert_eq!(go.op_timeout, ms(5000));
        assert_eq!(go.retry.delay(0), ms(10));
        assert_eq!(go.retry.delay(9), ms(1000));
        let mine = parse("preset = \"go-redis\"\nop_timeout = \"1s\"\nfollow = \"errors\"");
        assert_eq!((mine.op_timeout, mine.follow), (ms(1000), Follow::Errors));
        assert_eq!(mine.retry, go.retry);
        assert_eq!(parse("preset = \"redis-py\"").follow, Follow::Errors);
        assert_eq!(parse("preset = \"jedis\"").retry, RetryPolicy::Immediate);
        assert_eq!(parse(""), WorkloadConfig::default());
        assert_eq!(WorkloadConfig::default().op_timeout, ms(500));
    }

    #[test]
    fn a_workload_is_named_by_its_program_unless_named() {
        let ext = parse("command = [\"python3\", \"clients/redis_py.py\"]");
        assert_eq!(ext.name(), "redis_py");
        assert_eq!(WorkloadConfig::default().name(), "warden");
        assert_eq!(parse("name = \"mine\"").name(), "mine");
    }
}
