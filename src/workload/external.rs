//! An external workload: any program (`[workload] command = [...]`) that writes the session
//! keys through the client library under test and reports every write on its stdout in the
//! line protocol ([`super::protocol`]). warden starts it in its own process group with the
//! drill's settings in environment variables, feeds its lines into the same ledger as the
//! built-in writer's, sends its stderr to a log file, and stops it (SIGTERM, then SIGKILL
//! after [`GRACE`]) when the trial ends or the drill is cancelled.
//!
//! The environment: `WARDEN_SENTINELS` (`host:port,…`), `WARDEN_MASTER`, `WARDEN_KEY_PREFIX`
//! (keys are `<prefix>:<seq>`), `WARDEN_RATE` (writes/s, 0 = as fast as possible),
//! `WARDEN_WRITERS`, `WARDEN_TTL_SECONDS`, `WARDEN_VALUE_SIZE` (bytes), and with credentials
//! only `WARDEN_REDIS_USER` / `WARDEN_REDIS_PASSWORD` and `WARDEN_SENTINEL_USER` /
//! `WARDEN_SENTINEL_PASSWORD` (never on the command line); with TLS `WARDEN_TLS` (`both`,
//! `nodes` or `sentinels`), `WARDEN_TLS_CA`, `WARDEN_TLS_CERT`, `WARDEN_TLS_KEY` (paths),
//! `WARDEN_TLS_SERVER_NAME`, `WARDEN_TLS_INSECURE=1`; with a hostname map `WARDEN_RESOLVE`
//! (`name=ip,…`). A stdout line longer than [`MAX_LINE`] ends the client with a reason.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::{mpsc, watch};

use super::Plan;
use super::history::{Ack, WriterHistory};
use super::protocol::{self, FORM, Outcome};
use super::writer::WriterEvent;
use crate::addr::Addr;
use crate::conn::{Role, TlsOn};

/// How long a client has to exit after SIGTERM before its process group is killed.
pub(crate) const GRACE: Duration = Duration::from_secs(3);

const PROGRESS_EVERY: u64 = 500;

/// The longest stdout line a client may print (64 KiB); a longer one ends the client.
pub(crate) const MAX_LINE: usize = 64 * 1024;

/// Whether `argv` names a program that can be started: its first word is an executable file,
/// as a path (with a `/`) or found on `PATH`. The error is a sentence.
pub(crate) fn check_program(argv: &[String]) -> Result<(), String> {
    let Some(prog) = argv.first().filter(|p| !p.is_empty()) else {
        return Err("`command` is empty: give the program and its arguments".into());
    };
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let found = match prog.contains('/') {
        true => executable(Path::new(prog)),
        false => std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|d| executable(&d.join(prog)))),
    };
    match found {
        true => Ok(()),
        false => Err(format!(
            "`command`: `{prog}` is not an executable file{}",
            if prog.contains('/') { "" } else { " on PATH" }
        )),
    }
}

/// Runs the program of `plan.config.command` until `stop` turns true; returns what it
/// reported. A program that cannot start, exits early or writes a line that is not a write
/// outcome is stopped and named in a [`WriterEvent::Failed`].
pub(crate) async fn run(
    workload: usize,
    plan: &Plan,
    mut stop: watch::Receiver<bool>,
    events: mpsc::UnboundedSender<WriterEvent>,
) -> WriterHistory {
    let name = plan.config.name();
    let log = log_path(plan, &name);
    let mut rec = Recorder::new(workload, plan, events.clone());
    let (mut child, pid) = match spawn(plan, &log) {
        Ok(c) => c,
        Err(why) => {
            let why = format!("client `{name}`: {why}");
            let _ = events.send(WriterEvent::Failed { workload, why });
            return rec.finish();
        }
    };
    let Some(stdout) = child.stdout.take() else {
        return rec.finish();
    };
    let mut lines = Lines::new(BufReader::new(stdout));
    let mut n: u64 = 0;
    let failure = loop {
        if *stop.borrow() {
            break None;
        }
        tokio::select! {
            line = lines.next_line() => match line {
                Ok(Some(l)) => {
                    n += 1;
                    if let Err(why) = rec.line(&l) {
                        break Some(format!(
                            "client `{name}`: stdout line {n} is not a write outcome ({why}; \
                             expected `{FORM}`): `{}`",
                            clip(&l)
                        ));
                    }
                }
                Ok(None) => break Some(exited(&name, &mut child, &log).await),
                Err(LineError::TooLong) => break Some(format!(
                    "client `{name}`: stdout line {} is longer than {} KiB (no newline)",
                    n + 1,
                    MAX_LINE / 1024
                )),
                Err(LineError::Io(e)) => {
                    break Some(format!("client `{name}`: stdout after line {n}: {e}"))
                }
            },
            changed = stop.changed() => if changed.is_err() { break None },
        }
    };
    match failure {
        Some(why) => {
            signal_group(pid, Signal::SIGKILL);
            let _ = child.wait().await;
            let _ = events.send(WriterEvent::Failed { workload, why });
        }
        None => wind_down(&mut child, pid, &mut lines, &mut rec).await,
    }
    rec.finish()
}

/// SIGTERM to the group, then the lines still to come (until EOF or [`GRACE`]), then SIGKILL
/// to whatever is left of the group.
async fn wind_down(
    child: &mut Child,
    pid: i32,
    lines: &mut Lines<BufReader<ChildStdout>>,
    rec: &mut Recorder<'_>,
) {
    signal_group(pid, Signal::SIGTERM);
    let deadline = tokio::time::Instant::now() + GRACE;
    while let Ok(Ok(Some(l))) = tokio::time::timeout_at(deadline, lines.next_line()).await {
        // The trial is over: a bad line now only loses itself.
        let _ = rec.line(&l);
    }
    signal_group(pid, Signal::SIGKILL);
    let _ = tokio::time::timeout(GRACE, child.wait()).await;
}

/// Why a line could not be read.
#[derive(Debug)]
enum LineError {
    /// More than [`MAX_LINE`] bytes without a newline.
    TooLong,
    /// The pipe failed.
    Io(std::io::Error),
}

/// A client's stdout, line by line, each at most [`MAX_LINE`] bytes. Reading a line is
/// cancel-safe: the bytes of a line cut short by `select!` stay in `buf`.
struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> Lines<R> {
    fn new(reader: R) -> Self {
        Lines {
            reader,
            buf: Vec::new(),
        }
    }

    /// The next line without its newline (invalid UTF-8 replaced), `None` at EOF.
    async fn next_line(&mut self) -> Result<Option<String>, LineError> {
        loop {
            let room = (MAX_LINE + 1).saturating_sub(self.buf.len()) as u64;
            let read = (&mut self.reader)
                .take(room)
                .read_until(b'\n', &mut self.buf)
                .await
                .map_err(LineError::Io)?;
            if self.buf.last() == Some(&b'\n') || (read == 0 && !self.buf.is_empty()) {
                let line = String::from_utf8_lossy(&self.buf).trim_end().to_string();
                self.buf.clear();
                return Ok(Some(line));
            }
            if self.buf.len() > MAX_LINE {
                return Err(LineError::TooLong);
            }
            if read == 0 {
                return Ok(None);
            }
        }
    }
}

fn signal_group(pid: i32, sig: Signal) {
    // The group may be gone already (ESRCH): nothing to stop.
    let _ = killpg(Pid::from_raw(pid), sig);
}

/// Starts the program in its own process group, stdout piped, stderr into `log`.
fn spawn(plan: &Plan, log: &Path) -> Result<(Child, i32), String> {
    let argv = plan.config.command.as_deref().unwrap_or_default();
    let (prog, args) = argv
        .split_first()
        .ok_or("`command` is empty: give the program and its arguments")?;
    let stderr = std::fs::File::create(log)
        .map_err(|e| format!("cannot create its log {}: {e}", log.display()))?;
    let cfg = &plan.config;
    let sentinels: Vec<String> = plan.sentinels.iter().map(ToString::to_string).collect();
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr))
        .process_group(0)
        .kill_on_drop(true)
        .env("WARDEN_SENTINELS", sentinels.join(","))
        .env("WARDEN_MASTER", &plan.master)
        .env("WARDEN_KEY_PREFIX", &plan.prefix)
        .env("WARDEN_RATE", cfg.rate.to_string())
        .env("WARDEN_WRITERS", cfg.writers.to_string())
        .env("WARDEN_TTL_SECONDS", cfg.ttl.as_secs().max(1).to_string())
        .env("WARDEN_VALUE_SIZE", cfg.value_size.to_string());
    for (role, user, password) in [
        (Role::Node, "WARDEN_REDIS_USER", "WARDEN_REDIS_PASSWORD"),
        (
            Role::Sentinel,
            "WARDEN_SENTINEL_USER",
            "WARDEN_SENTINEL_PASSWORD",
        ),
    ] {
        match plan.conn.password(role) {
            Some(pw) => cmd
                .env(user, plan.conn.user(role))
                .env(password, pw.expose()),
            None => cmd.env_remove(user).env_remove(password),
        };
    }
    if let Some(tls) = plan.conn.tls_settings() {
        let on = match tls.on {
            TlsOn::Both => "both",
            TlsOn::Nodes => "nodes",
            TlsOn::Sentinels => "sentinels",
        };
        cmd.env("WARDEN_TLS", on);
        for (var, path) in [
            ("WARDEN_TLS_CA", &tls.ca),
            ("WARDEN_TLS_CERT", &tls.cert),
            ("WARDEN_TLS_KEY", &tls.key),
        ] {
            match path {
                Some(p) => cmd.env(var, absolute(p)),
                None => cmd.env_remove(var),
            };
        }
        match &tls.server_name {
            Some(n) => cmd.env("WARDEN_TLS_SERVER_NAME", n),
            None => cmd.env_remove("WARDEN_TLS_SERVER_NAME"),
        };
        match tls.insecure {
            true => cmd.env("WARDEN_TLS_INSECURE", "1"),
            false => cmd.env_remove("WARDEN_TLS_INSECURE"),
        };
    }
    let resolve: Vec<String> = plan
        .conn
        .resolve_map()
        .iter()
        .map(|(name, ip)| format!("{name}={ip}"))
        .collect();
    match resolve.is_empty() {
        true => cmd.env_remove("WARDEN_RESOLVE"),
        false => cmd.env("WARDEN_RESOLVE", resolve.join(",")),
    };
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start `{prog}`: {e}"))?;
    let pid = child
        .id()
        .and_then(|p| i32::try_from(p).ok())
        .ok_or_else(|| format!("`{prog}` exited at once"))?;
    Ok((child, pid))
}

/// `path` made absolute against the current directory (the client may change its own).
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Where the client's stderr goes: `warden-<prefix>-<name>.log` in the plan's log dir (the
/// report's directory), else in `$TMPDIR`.
fn log_path(plan: &Plan, name: &str) -> PathBuf {
    let safe = |s: &str| -> String {
        s.chars()
            .map(
                |c| match c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    true => c,
                    false => '-',
                },
            )
            .collect()
    };
    let dir = plan.log_dir.clone().unwrap_or_else(std::env::temp_dir);
    dir.join(format!("warden-{}-{}.log", safe(&plan.prefix), safe(name)))
}

/// Why the client's stdout ended before the trial did, with the end of its stderr.
async fn exited(name: &str, child: &mut Child, log: &Path) -> String {
    let status = match tokio::time::timeout(GRACE, child.wait()).await {
        Ok(Ok(s)) => s.to_string(),
        _ => "closed its stdout".to_string(),
    };
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let last = text.lines().rev().find(|l| !l.trim().is_empty());
    let said = last.map_or(String::new(), |l| {
        format!("; its stderr ends `{}`", clip(l))
    });
    format!(
        "client `{name}` stopped before the trial ended ({status}){said} (log: {})",
        log.display()
    )
}

/// At most 120 characters of `s`.
fn clip(s: &str) -> String {
    match s.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// `CLOCK_MONOTONIC` now, ns (the clock `Instant` reads on Linux, and a client's
/// `time.monotonic_ns()`).
fn monotonic_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
        .unwrap_or(0)
}

/// Turns protocol lines into the client's ledger.
struct Recorder<'a> {
    workload: usize,
    plan: &'a Plan,
    events: mpsc::UnboundedSender<WriterEvent>,
    hist: WriterHistory,
    /// warden's `CLOCK_MONOTONIC` at the history's epoch.
    epoch_ns: u64,
    unreported: u64,
}

impl<'a> Recorder<'a> {
    fn new(workload: usize, plan: &'a Plan, events: mpsc::UnboundedSender<WriterEvent>) -> Self {
        let now_ns = monotonic_ns();
        let since = plan.epoch.elapsed().as_nanos() as u64;
        Recorder {
            workload,
            plan,
            events,
            hist: WriterHistory::default(),
            epoch_ns: now_ns.saturating_sub(since),
            unreported: 0,
        }
    }

    /// Records one line; the error says why it is not a write outcome.
    fn line(&mut self, text: &str) -> Result<(), String> {
        let Some(line) = protocol::parse(text, &self.plan.prefix)? else {
            return Ok(());
        };
        let at_us = match line.monotonic_ns {
            Some(ns) => protocol::since_epoch_us(ns, self.epoch_ns),
            None => u32::try_from(self.plan.epoch.elapsed().as_micros()).unwrap_or(u32::MAX),
        };
        // A line carries one time, its outcome's: the invoke time is not known.
        let ack = Ack {
            seq: line.seq,
            invoke_us: at_us,
            at_us,
        };
        match line.outcome {
            Outcome::Ok => self.acked(ack, line.node),
            Outcome::Unknown => self.hist.unknown(line.seq, at_us, at_us),
            Outcome::Failed(kind) => self.hist.refused(line.seq, &kind, at_us, at_us),
        }
        Ok(())
    }

    /// An acknowledged write; a new node starts an era (and is reported as a first ack).
    fn acked(&mut self, ack: Ack, node: Option<Addr>) {
        let current = self.hist.eras.last().map(|e| &e.node);
        let node = node
            .or_else(|| current.cloned())
            .unwrap_or_else(|| Addr::new("unknown", 0));
        if current != Some(&node) {
            self.hist.begin_era(node.clone());
            let at = self.plan.epoch + Duration::from_micros(u64::from(ack.at_us));
            let _ = self.events.send(WriterEvent::FirstAck {
                workload: self.workload,
                writer: 0,
                node,
                at: at.min(Instant::now()),
            });
        }
        self.hist.acks.push(ack);
        self.unreported += 1;
        if self.unreported >= PROGRESS_EVERY {
            let _ = self.events.send(WriterEvent::Progress {
                acked: self.unreported,
            });
            self.unreported = 0;
        }
    }

    fn finish(self) -> WriterHistory {
        if self.unreported > 0 {
            let _ = self.events.send(WriterEvent::Progress {
                acked: self.unreported,
            });
        }
        self.hist
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_all(input: &[u8]) -> Vec<Result<String, String>> {
        let mut lines = Lines::new(BufReader::with_capacity(1024, input));
        let mut out = Vec::new();
        loop {
            match lines.next_line().await {
                Ok(Some(l)) => out.push(Ok(l)),
                Ok(None) => return out,
                Err(e) => {
                    out.push(Err(format!("{e:?}")));
                    return out;
                }
            }
        }
    }

    #[tokio::test]
    async fn lines_are_bounded() {
        let ok = |s: &str| Ok(s.to_string());
        assert_eq!(
            read_all(b"a 1\nb 2\r\nlast").await,
            [ok("a 1"), ok("b 2"), ok("last")]
        );
        let mut long = vec![b'x'; MAX_LINE];
        long.push(b'\n');
        assert_eq!(read_all(&long).await, [ok(&"x".repeat(MAX_LINE))]);
        let mut endless = b"first\n".to_vec();
        endless.extend(vec![b'y'; 3 * MAX_LINE]);
        assert_eq!(
            read_all(&endless).await,
            [ok("first"), Err("TooLong".to_string())]
        );
    }
}
