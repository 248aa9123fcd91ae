//! A running `warden watch --json` read line by line, for the watch, hazard and metrics
//! tests: wait for a line with a deadline, count hazard reports, wait for the exit, stop on
//! drop; and a Sentinel killed and reaped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::Value;
use warden::addr::Addr;
use warden::client::Timeouts;
use warden::conn::Conn;
use warden::lab::Lab;

use super::{WAIT, Warden, dump_logs};

/// A running `warden watch --json`; killed on drop.
pub struct Watch {
    child: Child,
    rx: mpsc::Receiver<String>,
    /// Every line read so far.
    pub seen: Vec<Value>,
    logs: Vec<PathBuf>,
}

impl Watch {
    /// Starts `warden watch --json --poll 500ms ARGS`; `logs` are dumped when a wait fails.
    pub fn start(w: &Warden, args: &[&str], logs: Vec<PathBuf>) -> Watch {
        Watch::spawn(w, &[&["--poll", "500ms"][..], args].concat(), logs)
    }

    /// Starts `warden watch --json --episodes 1 ARGS`: it exits after one failover.
    pub fn one_episode(w: &Warden, args: &[&str], logs: Vec<PathBuf>) -> Watch {
        Watch::spawn(w, &[&["--episodes", "1"][..], args].concat(), logs)
    }

    /// Starts `warden watch --json ARGS`; `logs` are dumped when a wait fails.
    pub fn spawn(w: &Warden, args: &[&str], logs: Vec<PathBuf>) -> Watch {
        let mut child = w
            .command()
            .args(["watch", "--json"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn warden watch");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watch {
            child,
            rx,
            seen: Vec::new(),
            logs,
        }
    }

    /// Reads lines until `pred` matches one; panics with what was read after [`WAIT`].
    pub fn until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    let v: Value =
                        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
                    self.seen.push(v.clone());
                    if pred(&v) {
                        return v;
                    }
                }
                Err(e) => {
                    dump_logs(&self.logs);
                    panic!("no line for {what} ({e}); read so far: {:#?}", self.seen);
                }
            }
        }
    }

    /// Reads whatever arrives within `d`.
    pub fn drain_for(&mut self, d: Duration) {
        let deadline = Instant::now() + d;
        while let Ok(line) = self
            .rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            if let Ok(v) = serde_json::from_str(&line) {
                self.seen.push(v);
            }
        }
    }

    /// Waits for the watch to exit (after its `--episodes` or `--duration`); its status.
    pub fn wait(&mut self) -> ExitStatus {
        self.child.wait().expect("wait for warden watch")
    }

    /// Whether the watch is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// How many `hazard` lines of `kind` in `state` were read (for `subject`, if given).
    pub fn count(&self, kind: &str, state: &str, subject: Option<&str>) -> usize {
        self.seen
            .iter()
            .filter(|v| v["type"] == "hazard" && v["kind"] == kind && v["state"] == state)
            .filter(|v| subject.is_none_or(|s| v["subject"] == s))
            .count()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kills the lab member at `addr` (a Sentinel) and waits until it is gone.
pub fn kill_and_reap(lab: &mut Lab, addr: &Addr) {
    lab.signal(addr, Signal::SIGKILL).expect("kill sentinel");
    let deadline = Instant::now() + WAIT;
    while lab.is_running(addr).unwrap_or(true) {
        assert!(Instant::now() < deadline, "{addr} still running");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Matches a `hazard` line of `kind` in `state` (`raised` or `cleared`).
pub fn hazard(kind: &'static str, state: &'static str) -> impl Fn(&Value) -> bool {
    move |v| v["type"] == "hazard" && v["kind"] == kind && v["state"] == state
}

/// `addrs` as a `--sentinels` list.
pub fn list(addrs: &[Addr]) -> String {
    addrs
        .iter()
        .map(Addr::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// `SENTINEL FAILOVER master` on `via`, retried while a previous failover is in progress.
pub async fn manual_failover(via: &Addr, master: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let mut con = Conn::default()
            .sentinel(via, Timeouts::CONTROL)
            .await
            .expect("sentinel");
        let r: redis::RedisResult<String> = redis::cmd("SENTINEL")
            .arg("FAILOVER")
            .arg(master)
            .query_async(&mut con)
            .await;
        match r {
            Ok(_) => return,
            Err(e) if Instant::now() < deadline => eprintln!("SENTINEL FAILOVER: {e}; again"),
            Err(e) => panic!("SENTINEL FAILOVER {master}: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
