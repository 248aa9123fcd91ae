//! Starting, signalling and stopping the lab's `redis-server` processes by PID.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::error::{Error, Result};

/// Finds the `redis-server` binary: an explicit path, or one on `PATH`.
pub(crate) fn find_redis_server(configured: &Path) -> Result<PathBuf> {
    let missing = || Error::RedisServerMissing {
        binary: configured.display().to_string(),
    };
    if configured.components().count() > 1 {
        return configured
            .is_file()
            .then(|| configured.to_path_buf())
            .ok_or_else(missing);
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(configured))
        .find(|p| p.is_file())
        .ok_or_else(missing)
}

/// Starts `redis-server CONF [--sentinel]` in its own process group (so a terminal's Ctrl-C
/// reaches warden, which then stops the lab in order), with output appended to `log`.
pub(crate) fn spawn(binary: &Path, conf: &Path, sentinel: bool, log: &Path) -> Result<Child> {
    let what = format!("{} {}", binary.display(), conf.display());
    let out = File::options()
        .create(true)
        .append(true)
        .open(log)
        .map_err(Error::io(log))?;
    let err = out.try_clone().map_err(Error::io(log))?;
    let mut cmd = Command::new(binary);
    cmd.arg(conf);
    if sentinel {
        cmd.arg("--sentinel");
    }
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|source| Error::Spawn { what, source })
}

/// Whether `pid` is a live (not zombie) `redis-server` (or `valkey-server`, whose process
/// title names no "redis") listening on `port`: guards against signalling a PID the system
/// reused for something else.
pub fn is_ours(pid: u32, port: u16) -> bool {
    let proc = PathBuf::from(format!("/proc/{pid}"));
    let stat = std::fs::read_to_string(proc.join("stat")).unwrap_or_default();
    let zombie = stat
        .rsplit_once(')')
        .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
    let cmdline = std::fs::read(proc.join("cmdline")).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline);
    let server = cmdline.contains("redis") || cmdline.contains("valkey");
    !zombie && server && cmdline.contains(&format!(":{port}"))
}

/// Sends `sig` to `pid`.
pub(crate) fn signal(pid: u32, sig: Signal) -> Result<()> {
    let raw = i32::try_from(pid).map_err(|_| Error::Internal {
        what: format!("pid {pid} is out of range for a process id"),
    })?;
    kill(Pid::from_raw(raw), sig).map_err(|e| Error::Io {
        path: PathBuf::from(format!("/proc/{pid}")),
        source: std::io::Error::from(e),
    })
}

/// Stops processes `(pid, port)`: SIGTERM (a node then stops its own AOF-rewrite or BGSAVE
/// child), SIGKILL for any still alive after `grace`, and finally SIGKILL to each process group
/// (every lab process leads its own), so no forked child outlives its parent.
/// PIDs that are no longer ours are left alone.
pub(crate) fn stop_all(procs: &[(u32, u16)], grace: Duration) {
    let alive = |&(pid, port): &(u32, u16)| is_ours(pid, port);
    let targets: Vec<_> = procs.iter().copied().filter(alive).collect();
    for &(pid, _) in &targets {
        let _ = signal(pid, Signal::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while targets.iter().any(alive) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    for &(pid, _) in &targets {
        if let Ok(raw) = i32::try_from(pid) {
            // Fails with ESRCH once the group is empty, which is the goal.
            let _ = nix::sys::signal::killpg(Pid::from_raw(raw), Signal::SIGKILL);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while targets.iter().any(alive) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether a TCP port on 127.0.0.1 can be bound right now.
pub(crate) fn port_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// `n` distinct ports that were free a moment ago (bound together, then released).
pub(crate) fn free_ports(n: usize) -> Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| std::net::TcpListener::bind(("127.0.0.1", 0)))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(Error::io("127.0.0.1:0"))?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(Error::io("127.0.0.1:0"))
}
