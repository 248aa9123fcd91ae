//! A running `warden watch --json` read line by line, for the watch, hazard and metrics
//! tests: wait for a line with a deadline, count hazard reports, wait for the exit, stop on
//! drop; and a Sentinel killed and reaped.

use std::io::{BufRead, BufReader, Read};
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
    /// Its stderr lines, when captured ([`Watch::captured`]; otherwise inherited).
    err: Option<mpsc::Receiver<String>>,
    /// Every line read so far.
    pub seen: Vec<Value>,
    logs: Vec<PathBuf>,
}

/// How long a stopped watch may take to exit (its exporter flush is capped at 5 s).
pub const PROMPT: Duration = Duration::from_secs(10);

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
        Watch::launch(w, args, &[], logs, false)
    }

    /// Starts `warden watch --json ARGS` with `env` set and its stderr kept ([`Watch::stderr`]).
    pub fn captured(w: &Warden, args: &[&str], env: &[(&str, &str)]) -> Watch {
        Watch::launch(w, args, env, Vec::new(), true)
    }

    fn launch(
        w: &Warden,
        args: &[&str],
        env: &[(&str, &str)],
        logs: Vec<PathBuf>,
        capture: bool,
    ) -> Watch {
        let mut cmd = w.command();
        // Only what a test sets reaches the exporter.
        for var in [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_SERVICE_NAME",
            "OTEL_RESOURCE_ATTRIBUTES",
        ] {
            cmd.env_remove(var);
        }
        let mut child = cmd
            .args(["watch", "--json"])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if capture {
                Stdio::piped()
            } else {
                Stdio::inherit()
            })
            .spawn()
            .expect("spawn warden watch");
        let rx = lines(child.stdout.take().expect("stdout"));
        let err = child.stderr.take().map(lines);
        Watch {
            child,
            rx,
            err,
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

impl Watch {
    /// Sends SIGTERM and waits (at most [`PROMPT`]) for the exit; the status and how long.
    pub fn terminate(&mut self) -> (ExitStatus, Duration) {
        let start = Instant::now();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            Signal::SIGTERM,
        )
        .expect("SIGTERM");
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return (status, start.elapsed());
            }
            assert!(
                start.elapsed() < PROMPT,
                "watch still running {PROMPT:?} after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Reads the stdout lines left (after the exit: all of them) into `seen`.
    pub fn drain(&mut self) {
        while let Ok(line) = self.rx.recv_timeout(Duration::from_millis(200)) {
            let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            self.seen.push(v);
        }
    }

    /// Every stderr line written so far (after the exit: all of them), when captured.
    pub fn stderr(&self) -> Vec<String> {
        let err = self
            .err
            .as_ref()
            .expect("stderr captured: start with Watch::captured");
        let mut all = Vec::new();
        while let Ok(l) = err.recv_timeout(Duration::from_millis(200)) {
            all.push(l);
        }
        all
    }
}

/// A reader's lines, sent as they come by a thread of their own.
fn lines(r: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
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
