//! Pure: the lab's settings and the `redis.conf` / `sentinel.conf` text they produce.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Sentinel settings for a lab, all overridable (defaults tuned for fast, repeatable drills).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SentinelSettings {
    /// Master name the Sentinels monitor.
    pub master: String,
    /// Sentinels that must agree the master is down.
    pub quorum: u32,
    /// `down-after-milliseconds`: silence before a Sentinel flags an instance down.
    #[serde(with = "humantime_serde")]
    pub down_after: Duration,
    /// `failover-timeout`.
    #[serde(with = "humantime_serde")]
    pub failover_timeout: Duration,
    /// `parallel-syncs`: replicas reconfigured at once after a failover.
    pub parallel_syncs: u32,
    /// Nodes' `min-replicas-to-write`: a primary with fewer replicas acking within
    /// `min_replicas_max_lag` refuses writes (0: off, the Redis default).
    pub min_replicas_to_write: u32,
    /// Nodes' `min-replicas-max-lag` (whole seconds, at least 1).
    #[serde(with = "humantime_serde")]
    pub min_replicas_max_lag: Duration,
}

impl Default for SentinelSettings {
    fn default() -> Self {
        SentinelSettings {
            master: "mymaster".into(),
            quorum: 2,
            down_after: Duration::from_millis(1000),
            failover_timeout: Duration::from_millis(10_000),
            parallel_syncs: 1,
            min_replicas_to_write: 0,
            min_replicas_max_lag: Duration::from_secs(10),
        }
    }
}

/// `redis.conf` for a lab node; `primary` is `None` for the primary itself.
pub fn node_conf(port: u16, dir: &Path, primary: Option<u16>) -> String {
    let mut c = format!(
        "port {port}\n\
         bind 127.0.0.1\n\
         dir {dir}\n\
         daemonize no\n\
         appendonly yes\n\
         appendfsync everysec\n\
         save \"\"\n\
         repl-diskless-sync-delay 0\n\
         enable-debug-command yes\n",
        dir = dir.display()
    );
    if let Some(p) = primary {
        c.push_str(&format!("replicaof 127.0.0.1 {p}\n"));
    }
    c
}

/// The nodes' write-safety settings as `(name, value)` config pairs.
pub fn write_limits(s: &SentinelSettings) -> [(&'static str, String); 2] {
    [
        ("min-replicas-to-write", s.min_replicas_to_write.to_string()),
        (
            "min-replicas-max-lag",
            s.min_replicas_max_lag.as_secs().max(1).to_string(),
        ),
    ]
}

/// `sentinel.conf` for a lab Sentinel watching the primary on `primary_port`.
pub fn sentinel_conf(port: u16, dir: &Path, primary_port: u16, s: &SentinelSettings) -> String {
    format!(
        "port {port}\n\
         bind 127.0.0.1\n\
         dir {dir}\n\
         daemonize no\n{monitor}",
        dir = dir.display(),
        monitor = monitor_lines("127.0.0.1", primary_port, s),
    )
}

/// The `sentinel monitor` line for the primary at `host:port` and the master's settings
/// (shared by the process lab and the docker stack).
pub fn monitor_lines(host: &str, port: u16, s: &SentinelSettings) -> String {
    let m = &s.master;
    format!(
        "sentinel monitor {m} {host} {port} {quorum}\n\
         sentinel down-after-milliseconds {m} {down}\n\
         sentinel failover-timeout {m} {fo}\n\
         sentinel parallel-syncs {m} {ps}\n",
        quorum = s.quorum,
        down = s.down_after.as_millis(),
        fo = s.failover_timeout.as_millis(),
        ps = s.parallel_syncs,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_follow_the_primary_and_sentinels_use_the_settings() {
        let dir = Path::new("/tmp/lab/n");
        assert!(!node_conf(7100, dir, None).contains("replicaof"));
        let r = node_conf(7101, dir, Some(7100));
        assert!(r.contains("replicaof 127.0.0.1 7100\n"));
        assert!(r.contains("repl-diskless-sync-delay 0\n"));
        let s = sentinel_conf(7110, dir, 7100, &SentinelSettings::default());
        assert!(s.contains("sentinel monitor mymaster 127.0.0.1 7100 2\n"));
        assert!(s.contains("sentinel down-after-milliseconds mymaster 1000\n"));
        assert!(s.contains("sentinel failover-timeout mymaster 10000\n"));
    }
}
