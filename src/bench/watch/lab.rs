//! The fleet `warden bench watch` runs against: 3 Sentinels monitoring N masters, each with 2
//! replicas, as local `redis-server` processes with small configs, all in **one process
//! group** so that one `killpg` ends every one of them (the watch child joins it too).
//!
//! [`Fleet`] is the Drop guard: dropped on any path (the end, an error, a cancelling signal
//! dropping the bench future), it SIGKILLs the group, reaps its children and removes the
//! temp directory. Nothing here is persisted: the fleet lives only as long as the bench.

use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::addr::Addr;
use crate::conn::Conn;
use crate::error::{Error, Result};
use crate::lab::SentinelSettings;
use crate::lab::config::monitor_lines;
use crate::lab::process::{find_redis_server, free_ports};
use crate::sentinel::health::{self, Expect};

/// Replicas per master.
pub(crate) const REPLICAS: usize = 2;
/// Sentinels in the fleet.
pub(crate) const SENTINELS: usize = 3;

/// The Sentinels' settings for every master: quick detection, a failover-timeout that suits
/// back-to-back manual failovers.
pub(crate) fn settings(master: &str) -> SentinelSettings {
    SentinelSettings {
        master: master.into(),
        quorum: 2,
        down_after: Duration::from_millis(2000),
        failover_timeout: Duration::from_millis(10_000),
        parallel_syncs: 1,
        ..SentinelSettings::default()
    }
}

/// The name of master `i` (0-based): `bench-01`, `bench-02`, …
pub(crate) fn master_name(i: usize) -> String {
    format!("bench-{:02}", i + 1)
}

/// A small data node: no persistence, few clients.
fn node_conf(port: u16, dir: &Path, primary: Option<u16>) -> String {
    let mut c = format!(
        "port {port}\nbind 127.0.0.1\ndir {}\ndaemonize no\nsave \"\"\nappendonly no\n\
         maxclients 64\nrepl-diskless-sync-delay 0\nlatency-tracking no\n",
        dir.display()
    );
    if let Some(p) = primary {
        let _ = writeln!(c, "replicaof 127.0.0.1 {p}");
    }
    c
}

/// A Sentinel monitoring every master (name, primary port).
fn sentinel_conf(port: u16, dir: &Path, masters: &[(String, u16)]) -> String {
    let mut c = format!(
        "port {port}\nbind 127.0.0.1\ndir {}\ndaemonize no\n",
        dir.display()
    );
    for (name, primary) in masters {
        c.push_str(&monitor_lines("127.0.0.1", *primary, &settings(name)));
    }
    c
}

/// A running fleet; stopped (the whole process group) and removed when dropped.
#[derive(Debug)]
pub(crate) struct Fleet {
    dir: tempfile::TempDir,
    binary: PathBuf,
    pgid: Option<i32>,
    /// Each process with its log file.
    children: Vec<(Child, PathBuf)>,
    masters: Vec<(String, u16)>,
    sentinels: Vec<Addr>,
}

impl Fleet {
    /// Starts `masters` masters with their replicas and 3 Sentinels on free ports, and
    /// waits (with `timeout`) until every master is monitored by every Sentinel with both
    /// replicas linked and caught up.
    pub(crate) async fn up(masters: usize, timeout: Duration) -> Result<Fleet> {
        let binary = find_redis_server(&crate::lab::default_redis_server())?;
        let dir = tempfile::Builder::new()
            .prefix("warden-bench-watch-")
            .tempdir()
            .map_err(Error::io(std::env::temp_dir()))?;
        let ports = free_ports(masters * (1 + REPLICAS) + SENTINELS)?;
        let mut fleet = Fleet {
            dir,
            binary,
            pgid: None,
            children: Vec::new(),
            masters: Vec::new(),
            sentinels: Vec::new(),
        };
        for (i, group) in ports[SENTINELS..].chunks(1 + REPLICAS).enumerate() {
            let primary = group[0];
            fleet.masters.push((master_name(i), primary));
            for &port in group {
                let of = (port != primary).then_some(primary);
                fleet.start(&format!("node-{port}"), false, |d| node_conf(port, d, of))?;
            }
        }
        for &port in &ports[..SENTINELS] {
            let masters = fleet.masters.clone();
            fleet.start(&format!("sentinel-{port}"), true, |d| {
                sentinel_conf(port, d, &masters)
            })?;
            fleet.sentinels.push(Addr::local(port));
        }
        fleet.wait_ready(timeout).await?;
        Ok(fleet)
    }

    fn start(
        &mut self,
        name: &str,
        sentinel: bool,
        conf: impl FnOnce(&Path) -> String,
    ) -> Result<()> {
        let data = self.dir.path().join(name);
        std::fs::create_dir_all(&data).map_err(Error::io(&data))?;
        let conf_path = self.dir.path().join(format!("{name}.conf"));
        std::fs::write(&conf_path, conf(&data)).map_err(Error::io(&conf_path))?;
        let log = self.dir.path().join(format!("{name}.log"));
        let out = File::create(&log).map_err(Error::io(&log))?;
        let err = out.try_clone().map_err(Error::io(&log))?;
        let mut cmd = Command::new(&self.binary);
        cmd.arg(&conf_path);
        if sentinel {
            cmd.arg("--sentinel");
        }
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = self.spawn_in_group(cmd, name)?;
        self.children.push((child, log));
        Ok(())
    }

    /// Spawns `cmd` in the fleet's process group (the first process founds it).
    pub(crate) fn spawn_in_group(&mut self, mut cmd: Command, what: &str) -> Result<Child> {
        std::os::unix::process::CommandExt::process_group(&mut cmd, self.pgid.unwrap_or(0));
        let child = cmd.spawn().map_err(|source| Error::Spawn {
            what: what.into(),
            source,
        })?;
        self.pgid.get_or_insert(child.id() as i32);
        Ok(child)
    }

    /// The process group every fleet process (and the watch) runs in.
    pub(crate) fn pgid(&self) -> Option<i32> {
        self.pgid
    }

    async fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let expect = Expect {
            replicas: Some(REPLICAS as u32),
            other_sentinels: Some(SENTINELS as u32 - 1),
            max_lag_bytes: 0,
            quorum: true,
        };
        let deadline = tokio::time::Instant::now() + timeout;
        let conn = Conn::default();
        for (name, _) in self.masters.clone() {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let what = format!("master {name} of the bench fleet did not become healthy");
            let sentinels = self.sentinels.clone();
            health::wait(&conn, &sentinels, &name, &expect, left, &what, async || {
                self.check_alive()
            })
            .await?;
        }
        Ok(())
    }

    /// Errors if a fleet process has exited (naming its log).
    fn check_alive(&mut self) -> Result<()> {
        for (child, log) in &mut self.children {
            if let Ok(Some(_)) = child.try_wait() {
                return Err(Error::ProcessExited {
                    what: format!("a bench fleet process (pid {})", child.id()),
                    log: log.clone(),
                });
            }
        }
        Ok(())
    }

    /// The masters: (name, port of the first primary).
    pub(crate) fn masters(&self) -> &[(String, u16)] {
        &self.masters
    }

    /// The Sentinels.
    pub(crate) fn sentinels(&self) -> &[Addr] {
        &self.sentinels
    }

    /// The fleet's temp directory (configs, data dirs, logs).
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Processes started (nodes and Sentinels).
    pub(crate) fn processes(&self) -> usize {
        self.children.len()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid {
            // ESRCH once the group is empty, which is the goal.
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
        for (child, _) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_are_small_and_every_master_is_monitored() {
        let d = Path::new("/tmp/f/n");
        let n = node_conf(7001, d, Some(7000));
        for line in [
            "save \"\"\n",
            "appendonly no\n",
            "maxclients 64\n",
            "replicaof 127.0.0.1 7000\n",
        ] {
            assert!(n.contains(line), "{line:?} in {n}");
        }
        assert!(!node_conf(7000, d, None).contains("replicaof"));
        let masters = [(master_name(0), 7000), (master_name(1), 7003)];
        let s = sentinel_conf(26379, d, &masters);
        assert!(s.contains("sentinel monitor bench-01 127.0.0.1 7000 2\n"));
        assert!(s.contains("sentinel monitor bench-02 127.0.0.1 7003 2\n"));
        assert!(s.contains("sentinel down-after-milliseconds bench-02 2000\n"));
        assert!(s.contains("sentinel failover-timeout bench-01 10000\n"));
    }
}
