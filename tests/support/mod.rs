//! Shared by the integration tests: an ephemeral lab kept alive with its temp dir, bounded
//! polls that dump every server log when they give up, hand-started `redis-server`s killed
//! on drop, and the real `warden` binary run in a fresh directory.
//!
//! Each test file uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::collections::HashSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio::sync::mpsc;
use warden::addr::Addr;
use warden::lab::{Lab, LabSpec, SentinelSettings};
use warden::sentinel::monitor::MonitorEvent;
use warden::sentinel::timeline::Timeline;

pub mod docker;
pub mod missing;
pub mod scenario;
pub mod schema;
pub mod valkey;
pub mod watch;

/// The server binary the tests start (data nodes and Sentinels alike), and that the
/// `warden` binary they run is pointed at:
/// - `WARDEN_TEST_SERVER=valkey`: the Valkey 8.1 that `scripts/setup.sh` caches
///   (`$WARDEN_VALKEY_DIR`, else `${XDG_CACHE_HOME:-~/.cache}/warden/valkey-8.1`);
/// - `WARDEN_TEST_SERVER=valkey9`: the Valkey 9.1 it caches (`$WARDEN_VALKEY9_DIR`, else
///   `…/warden/valkey-9.1`);
/// - `WARDEN_TEST_SERVER=PATH`: that binary;
/// - otherwise `$WARDEN_REDIS_SERVER`, else `redis-server` from `PATH`.
pub fn server_binary() -> PathBuf {
    match std::env::var_os("WARDEN_TEST_SERVER") {
        Some(v) if v == "valkey" => valkey::server().unwrap_or_else(|| {
            panic!(
                "WARDEN_TEST_SERVER=valkey but {} is missing: run scripts/setup.sh",
                valkey::dir().join("valkey-server").display()
            )
        }),
        Some(v) if v == "valkey9" => valkey::server9().unwrap_or_else(|| {
            panic!(
                "WARDEN_TEST_SERVER=valkey9 but {} is missing: run scripts/setup.sh",
                valkey::dir9().join("valkey-server").display()
            )
        }),
        Some(v) if !v.is_empty() && v != "redis" => PathBuf::from(v),
        _ => warden::lab::default_redis_server(),
    }
}

/// Whether the tests run against Valkey (by the server binary's name).
pub fn on_valkey() -> bool {
    server_binary()
        .file_name()
        .is_some_and(|n| n.to_string_lossy().contains("valkey"))
}

/// Generous: the machine may be loaded, and a poll ends as soon as its condition holds.
pub const WAIT: Duration = Duration::from_secs(60);

/// A lab from [`Lab::up`] and the temp dir that holds its state. Field order matters: the
/// lab (whose drop stops the processes) goes before the directory.
pub struct TestLab {
    pub lab: Lab,
    pub dir: TempDir,
}

impl TestLab {
    /// Starts a 3-node, 3-Sentinel lab on free ports with default settings.
    pub async fn up() -> TestLab {
        TestLab::up_with(SentinelSettings::default()).await
    }

    /// Starts a lab with `settings`.
    pub async fn up_with(settings: SentinelSettings) -> TestLab {
        TestLab::up_on(server_binary(), settings).await
    }

    /// Starts a lab of `binary` (whatever [`server_binary`] says) with `settings`.
    /// Periods the settings leave unset are the test suite's ([`QUICK_INFO`], [`QUICK_PUBLISH`]).
    pub async fn up_on(binary: PathBuf, mut settings: SentinelSettings) -> TestLab {
        settings.info_period.get_or_insert(QUICK_INFO);
        settings.publish_period.get_or_insert(QUICK_PUBLISH);
        let dir = tempfile::Builder::new()
            .prefix("warden-test-")
            .tempdir()
            .expect("temp dir");
        let state = dir.path().join("lab");
        let mut spec = LabSpec::ephemeral(state.clone(), settings).expect("free ports");
        spec.redis_server = binary;
        match Lab::up(spec).await {
            Ok(lab) => TestLab { lab, dir },
            Err(e) => {
                dump_logs_in(&state);
                panic!("lab did not come up: {e}");
            }
        }
    }

    /// Every member's log file.
    pub fn logs(&self) -> Vec<PathBuf> {
        self.lab.members().iter().map(|m| m.log.clone()).collect()
    }
}

/// The test suite's Sentinel periods (`[lab] info_period`, `publish_period`): a returning old
/// primary is converted in ~2 s instead of Sentinel's ~11 s, so a kill trial does not wait
/// out the server's own periods (the drill's figures stay what they are; the book's
/// measurements use the server's own).
pub const QUICK_INFO: Duration = Duration::from_millis(1000);
pub const QUICK_PUBLISH: Duration = Duration::from_millis(500);

/// `scenario`'s text with the test suite's Sentinel periods in its `[lab]` table (added when
/// it has none); a scenario that sets either period itself is left as it is.
pub fn quick_rejoin(scenario: &str) -> String {
    let keys = format!(
        "info_period = \"{}ms\"\npublish_period = \"{}ms\"\n",
        QUICK_INFO.as_millis(),
        QUICK_PUBLISH.as_millis()
    );
    if scenario.contains("info_period") || scenario.contains("publish_period") {
        return scenario.to_string();
    }
    match scenario.find("[lab]\n") {
        Some(i) => {
            let at = i + "[lab]\n".len();
            format!("{}{keys}{}", &scenario[..at], &scenario[at..])
        }
        None => format!("{scenario}\n[lab]\n{keys}"),
    }
}

/// The last `n` lines of `path` (or why it cannot be read).
pub fn tail(path: &Path, n: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        Err(e) => format!("<cannot read: {e}>"),
    }
}

/// Prints the tail of each log to stderr (captured by the test harness, shown on failure).
pub fn dump_logs(logs: &[PathBuf]) {
    for log in logs {
        eprintln!("----- {} (last 40 lines) -----", log.display());
        eprintln!("{}", tail(log, 40));
    }
}

/// Dumps every `*.log` in `dir` (for a lab that failed before it could be returned).
fn dump_logs_in(dir: &Path) {
    let logs: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    dump_logs(&logs);
}

/// Polls `pred` every 100 ms until it holds; after `timeout`, panics naming `what` and
/// printing the tail of every log in `logs`.
pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, logs: &[PathBuf], mut pred: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if pred().await {
            return;
        }
        if Instant::now() >= deadline {
            dump_logs(logs);
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Receives monitor reports, handing each to `seen`, until `seen` returns true; panics (with
/// the logs) when `timeout` passes first or the monitor's channel closes.
pub async fn recv_until(
    rx: &mut mpsc::UnboundedReceiver<MonitorEvent>,
    timeout: Duration,
    what: &str,
    logs: &[PathBuf],
    mut seen: impl FnMut(MonitorEvent) -> bool,
) {
    let deadline = Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline.into(), rx.recv()).await {
            Ok(Some(ev)) => {
                if seen(ev) {
                    return;
                }
            }
            Ok(None) => {
                dump_logs(logs);
                panic!("monitor channel closed while waiting for {what}");
            }
            Err(_) => {
                dump_logs(logs);
                panic!("timed out after {timeout:?} waiting for {what}");
            }
        }
    }
}

/// Receives reports into `timeline` until the monitor is subscribed to all `n` Sentinels.
pub async fn until_subscribed(
    rx: &mut mpsc::UnboundedReceiver<MonitorEvent>,
    n: usize,
    timeline: &mut Timeline,
    logs: &[PathBuf],
) {
    let mut connected = HashSet::new();
    recv_until(rx, WAIT, "the monitor to connect", logs, |ev| {
        if let MonitorEvent::Connected { source, .. } = &ev {
            connected.insert(*source);
        }
        ev.apply(timeline);
        connected.len() == n
    })
    .await;
}

/// `n` ports that were free a moment ago.
pub fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<_> = (0..n)
        .map(|_| std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind port 0"))
        .collect();
    held.iter()
        .map(|l| l.local_addr().expect("local addr").port())
        .collect()
}

/// A `redis-server` (or Sentinel; [`server_binary`]) started by hand from a config text;
/// killed on drop.
pub struct RedisProc {
    pub port: u16,
    pub log: PathBuf,
    pub child: Child,
}

impl RedisProc {
    /// Writes `conf` to `dir/<name>.conf` and starts the [`server_binary`] on it.
    pub fn start(dir: &Path, name: &str, port: u16, conf: &str, sentinel: bool) -> RedisProc {
        let conf_path = dir.join(format!("{name}.conf"));
        std::fs::write(&conf_path, conf).expect("write conf");
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("create log");
        let err = out.try_clone().expect("clone log");
        let mut cmd = Command::new(server_binary());
        cmd.arg(&conf_path);
        if sentinel {
            cmd.arg("--sentinel");
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn redis-server");
        RedisProc { port, log, child }
    }

    pub fn addr(&self) -> Addr {
        Addr::local(self.port)
    }
}

impl Drop for RedisProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the error contract: exit 2 and exactly one stderr line starting `warden: `;
    /// returns that line.
    pub fn one_line_error(&self) -> &str {
        assert_eq!(self.code, 2, "want exit 2, got {self:#?}");
        let lines: Vec<&str> = self.stderr.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 1, "want one stderr line, got {self:#?}");
        assert!(lines[0].starts_with("warden: "), "{self:#?}");
        lines[0]
    }
}

/// A fresh working directory for the `warden` binary.
pub struct Warden {
    pub dir: TempDir,
}

impl Warden {
    pub fn new() -> Warden {
        Warden {
            dir: tempfile::Builder::new()
                .prefix("warden-cli-")
                .tempdir()
                .expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// This warden's state directory (its fault journal).
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// The binary with the working dir set and warden's environment variables cleared, but
    /// for `WARDEN_REDIS_SERVER`, set to the [`server_binary`] the tests run on, and
    /// `WARDEN_STATE_DIR`, this directory's own: a fault journal shared between tests would
    /// show one test's leftover (a drill it killed on purpose) in another's stderr.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_warden"));
        cmd.current_dir(self.dir.path());
        cmd.env("WARDEN_STATE_DIR", self.state_dir());
        for var in [
            "WARDEN_LAB_DIR",
            "WARDEN_REDIS_SERVER",
            "WARDEN_SENTINELS",
            "WARDEN_MASTER",
            "WARDEN_LOG",
            "WARDEN_REDIS_PASSWORD",
            "WARDEN_REDIS_USER",
            "WARDEN_SENTINEL_USER",
            "WARDEN_SENTINEL_PASSWORD",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("WARDEN_REDIS_SERVER", server_binary());
        cmd
    }

    /// Runs `warden ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Run {
        run(self.command().args(args))
    }

    /// Runs `warden drill SCENARIO --json`; returns the run and its report, held to the
    /// shipped schema.
    pub fn drill_report(&self, scenario: &Path) -> (Run, serde_json::Value) {
        let out = self.path().join("out.json");
        let run = run(self
            .command()
            .arg("drill")
            .arg(scenario)
            .arg("--json")
            .arg(&out));
        let text =
            std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("no out.json ({e}): {run:#?}"));
        let json: serde_json::Value = serde_json::from_str(&text).expect("out.json is JSON");
        let wrong = schema::violations(&schema::report_schema(), &json);
        assert!(wrong.is_empty(), "{wrong:#?}");
        (run, json)
    }

    /// Writes `text` to `name` in the working dir; returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write file");
        path
    }
}

/// Runs `cmd` to completion and captures its output.
pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.stdin(Stdio::null()).output().expect("run warden");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
