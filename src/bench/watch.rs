//! `warden bench watch`: the production watch at scale. On a fleet of 3 Sentinels
//! monitoring `--masters` masters (2 replicas each, [`lab`]), it runs this binary's own
//! `watch --sentinels … --json` (no `--master`: every master) as a child process, waits until
//! the watch has reported every master, keeps a quiet window, then asks for a failover
//! (`SENTINEL FAILOVER`) of the next master in round-robin every `--failover-every` for
//! `--duration`. Meanwhile it samples the watch's RSS and CPU from `/proc`, follows the
//! primaries the Sentinels name (`GET-MASTER-ADDR-BY-NAME`, a majority), and at the end
//! matches the transitions they confirmed against the watch's failover records
//! ([`report::count`]).
//!
//! Everything it starts — the fleet and the watch — is in one process group that the fleet's
//! Drop guard kills, on the normal end, an error, or a signal dropping this future.

pub(crate) mod lab;
pub(crate) mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};

use crate::addr::Addr;
use crate::client::{self, Timeouts};
use crate::conn::Conn;
use crate::error::{Error, Result};
use report::{Record, Report, Sample, Transition};

/// Benchmark settings.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// Masters the Sentinels monitor.
    pub masters: usize,
    /// Time between failover requests.
    pub failover_every: Duration,
    /// How long failovers are requested (after the quiet window).
    pub duration: Duration,
    /// Time between samples of the watch's RSS and CPU.
    pub sample: Duration,
    /// The watch's topology poll period (`watch --poll`).
    pub poll: Duration,
    /// The quiet window before the first failover (idle CPU); default: 30 s, at most a
    /// quarter of `duration`.
    pub idle: Option<Duration>,
    /// Where a progress line goes (the fleet's start, then at every sample: the phase,
    /// failovers requested and recorded, RSS); `None`: nowhere.
    pub progress: Option<fn(&str)>,
    /// A file that keeps every line the watch printed (its records, to look at the ones
    /// that name no new primary).
    pub keep: Option<PathBuf>,
}

impl Spec {
    /// The quiet window.
    pub(crate) fn idle_window(&self) -> Duration {
        self.idle
            .unwrap_or_else(|| Duration::from_secs(30).min(self.duration / 4))
    }
}

/// `/proc` reports CPU time in USER_HZ, 100 on Linux.
const TICKS_PER_S: f64 = 100.0;
/// How long the watch may take to report every master.
const READY: Duration = Duration::from_secs(90);
/// How long after the last request records and confirmations are waited for.
const SETTLE: Duration = Duration::from_secs(45);
/// How often the Sentinels are asked where each primary is.
const POLL: Duration = Duration::from_millis(500);

/// Runs the benchmark and returns what it measured.
pub(crate) async fn run(spec: &Spec) -> Result<Report> {
    let ready_timeout = Duration::from_secs(60) + Duration::from_secs(2) * spec.masters as u32;
    let say = |line: &str| {
        if let Some(p) = spec.progress {
            p(&format!("bench watch: {line}"));
        }
    };
    let started = Instant::now();
    say(&format!(
        "starting {} masters, {} replicas each, and {} Sentinels",
        spec.masters.max(1),
        lab::REPLICAS,
        lab::SENTINELS
    ));
    let kept = match &spec.keep {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(Error::io(path))?;
            Some((std::io::BufWriter::new(file), path.clone()))
        }
        None => None,
    };
    let mut fleet = lab::Fleet::up(spec.masters.max(1), ready_timeout).await?;
    say(&format!(
        "the fleet is up and monitored ({:.1} s); starting the watch",
        started.elapsed().as_secs_f64()
    ));
    let names: Vec<String> = fleet.masters().iter().map(|(n, _)| n.clone()).collect();
    let (tx, changes) = mpsc::unbounded_channel();
    let poller = Abort(tokio::spawn(follow(
        fleet.sentinels().to_vec(),
        names.clone(),
        tx,
    )));
    let mut watch = Watched::start(&mut fleet, spec.poll)?;
    let mut b = Bench {
        spec,
        names,
        sentinels: fleet.sentinels().to_vec(),
        t0: Instant::now(),
        pid: watch.pid,
        changes,
        pending: BTreeMap::new(),
        requests: Vec::new(),
        requests_at: Vec::new(),
        transitions: Vec::new(),
        records: Vec::new(),
        reported: BTreeSet::new(),
        samples: Vec::new(),
        phase: Phase::Start,
        kept,
    };
    let ready_by = b.t0 + READY;
    b.pump(&mut watch, ready_by, None, |b| b.follows_all())
        .await?;
    if !b.follows_all() {
        let missing: Vec<_> = b
            .names
            .iter()
            .filter(|n| !b.reported.contains(*n))
            .collect();
        return Err(Error::Timeout {
            what: "the watch did not report every master".into(),
            waited: READY,
            detail: format!(
                "no primary line for {missing:?}; its stderr: {}",
                watch.stderr_tail()
            ),
        });
    }
    let ready_s = b.t0.elapsed().as_secs_f64();
    // Samples start once the watch follows every master (before, it may not even have
    // exec'd yet).
    b.samples.clear();
    say(&format!("the watch follows every master ({ready_s:.1} s)"));
    b.phase = Phase::Idle;
    let idle = spec.idle_window();
    let idle_from = b.sample()?;
    b.pump(&mut watch, Instant::now() + idle, None, |_| false)
        .await?;
    let idle_to = b.sample()?;
    let failing_from = idle_to;
    let end = Instant::now() + spec.duration;
    b.phase = Phase::Failovers;
    b.pump(&mut watch, end, Some(spec.failover_every), |_| false)
        .await?;
    let failing_to = b.sample()?;
    b.phase = Phase::Settle;
    b.pump(&mut watch, Instant::now() + SETTLE, None, |b| b.settled())
        .await?;
    b.sample()?;
    watch.stop(&mut b).await?;
    drop(poller);
    if let Some((mut file, path)) = b.kept.take() {
        file.flush().map_err(Error::io(&path))?;
    }

    let (per_master, total) = report::count(&b.names, &b.requests, &b.transitions, &b.records);
    Ok(Report {
        masters: b.names.len(),
        replicas: lab::REPLICAS,
        processes: fleet.processes(),
        failover_every_s: spec.failover_every.as_secs_f64(),
        duration_s: spec.duration.as_secs_f64(),
        sample_s: spec.sample.as_secs_f64(),
        poll_s: spec.poll.as_secs_f64(),
        idle_window_s: idle_to.at_s - idle_from.at_s,
        ready_s,
        idle_cpu_pct: report::cpu_pct(&idle_from, &idle_to, TICKS_PER_S),
        failover_cpu_pct: report::cpu_pct(&failing_from, &failing_to, TICKS_PER_S),
        rss_kib: report::rss_spread(&b.samples),
        minutes: report::minutes(&b.samples, TICKS_PER_S, &b.requests_at),
        total,
        per_master,
        samples: b.samples,
    })
}

/// Aborts the task when dropped (on every path out of [`run`]).
struct Abort(tokio::task::JoinHandle<()>);

impl Drop for Abort {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What the bench has seen so far.
struct Bench<'a> {
    spec: &'a Spec,
    names: Vec<String>,
    sentinels: Vec<Addr>,
    t0: Instant,
    pid: u32,
    changes: mpsc::UnboundedReceiver<(String, String, String)>,
    /// Masters with a failover requested and not yet confirmed.
    pending: BTreeMap<String, Instant>,
    requests: Vec<(String, bool)>,
    requests_at: Vec<f64>,
    transitions: Vec<Transition>,
    records: Vec<Record>,
    /// Masters the watch has printed a `primary` line for.
    reported: BTreeSet<String>,
    samples: Vec<Sample>,
    /// Where the run is (for the progress lines).
    phase: Phase,
    /// [`Spec::keep`], open.
    kept: Option<(std::io::BufWriter<std::fs::File>, PathBuf)>,
}

/// The parts of a run, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the watch to follow every master.
    Start,
    /// The quiet window.
    Idle,
    /// Failovers are being requested.
    Failovers,
    /// Waiting for the last records and confirmations.
    Settle,
}

impl Bench<'_> {
    /// Reads lines, confirmations and samples until `until` or `done`; with `every`, asks for
    /// a failover at once and then every `every`.
    async fn pump(
        &mut self,
        watch: &mut Watched,
        until: Instant,
        every: Option<Duration>,
        done: impl Fn(&Self) -> bool,
    ) -> Result<()> {
        let mut sample =
            tokio::time::interval_at(Instant::now() + self.spec.sample, self.spec.sample);
        sample.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut failover = tokio::time::interval(every.unwrap_or(Duration::from_secs(3600)));
        failover.set_missed_tick_behavior(MissedTickBehavior::Delay);
        while !done(self) {
            tokio::select! {
                line = watch.lines.next_line() => match line {
                    Ok(Some(line)) => self.line(&line),
                    _ => return Err(Error::internal(format!(
                        "the watch exited early; its stderr: {}", watch.stderr_tail()))),
                },
                Some((master, old, new)) = self.changes.recv() => {
                    let triggered = self.pending.remove(&master).is_some();
                    self.transitions.push(Transition { master, old, new, triggered });
                }
                _ = sample.tick() => { self.sample()?; }
                _ = failover.tick(), if every.is_some() => self.request().await,
                _ = tokio::time::sleep_until(until) => break,
            }
        }
        Ok(())
    }

    fn line(&mut self, line: &str) {
        if let Some((file, _)) = &mut self.kept {
            // Best effort: the file is a look inside, the report does not depend on it.
            let _ = writeln!(file, "{line}");
        }
        if let Some(r) = report::parse_record(line) {
            self.records.push(r);
        } else if let Ok(v) = serde_json::from_str::<serde_json::Value>(line)
            && matches!(v["type"].as_str(), Some("primary" | "topology"))
            && let Some(m) = v["master"].as_str()
        {
            self.reported.insert(m.to_string());
        }
    }

    /// Asks for a failover of the next master, on the next Sentinel in turn.
    async fn request(&mut self) {
        let n = self.requests.len();
        let master = self.names[n % self.names.len()].clone();
        let mut sentinels = self.sentinels.clone();
        let turn = n % sentinels.len().max(1);
        sentinels.rotate_left(turn);
        self.pending.insert(master.clone(), Instant::now());
        let ok = crate::fault::redis::sentinel_failover(&Conn::default(), &sentinels, &master)
            .await
            .is_ok();
        if !ok {
            self.pending.remove(&master);
        }
        self.requests_at.push(self.t0.elapsed().as_secs_f64());
        self.requests.push((master, ok));
    }

    /// Whether the watch has printed a `primary` (or `topology`) line for every master.
    fn follows_all(&self) -> bool {
        self.names.iter().all(|n| self.reported.contains(n))
    }

    /// Whether every request was confirmed (or is older than a failover can take) and every
    /// transition has a record.
    fn settled(&self) -> bool {
        let stale = Duration::from_secs(30);
        let open = self.pending.values().any(|at| at.elapsed() < stale);
        let switches = self.records.iter().filter(|r| r.is_switch()).count();
        !open && switches >= self.transitions.len()
    }

    /// Reads the watch's RSS and CPU now, and keeps the sample.
    fn sample(&mut self) -> Result<Sample> {
        let s = read_proc(self.pid, self.t0.elapsed().as_secs_f64())?;
        self.samples.push(s);
        self.progress(&s);
        Ok(s)
    }

    /// One progress line: where the run is, the failovers so far, the watch's RSS.
    fn progress(&self, s: &Sample) {
        let Some(p) = self.spec.progress else { return };
        let what = match self.phase {
            Phase::Start => format!(
                "the watch follows {} of {} masters",
                self.reported.len(),
                self.names.len()
            ),
            Phase::Idle => "quiet window".to_string(),
            Phase::Failovers | Phase::Settle => {
                let asked = self.requests.iter().filter(|(_, ok)| *ok).count();
                let recorded = self.records.iter().filter(|r| r.is_switch()).count();
                let settling = if self.phase == Phase::Settle {
                    ", settling"
                } else {
                    ""
                };
                format!(
                    "{asked} failovers requested, {} confirmed, {recorded} recorded{settling}",
                    self.transitions.len()
                )
            }
        };
        p(&format!(
            "bench watch: {:>6.1} s  {what}; RSS {:.1} MiB",
            s.at_s,
            s.rss_kib as f64 / 1024.0
        ));
    }
}

/// `VmRSS` from `/proc/PID/status` and utime + stime from `/proc/PID/stat`.
fn read_proc(pid: u32, at_s: f64) -> Result<Sample> {
    let dir = Path::new("/proc").join(pid.to_string());
    let status =
        std::fs::read_to_string(dir.join("status")).map_err(Error::io(dir.join("status")))?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(dir.join("stat")).map_err(Error::io(dir.join("stat")))?;
    // After the `(comm)`: state is field 3, utime 14, stime 15.
    let rest: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    let field = |i: usize| rest.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Ok(Sample {
        at_s,
        rss_kib,
        cpu_ticks: field(11) + field(12),
    })
}

/// The watch child: this executable's `watch --sentinels … --json`, in the fleet's group.
struct Watched {
    child: Child,
    pid: u32,
    lines: Lines<BufReader<ChildStdout>>,
    stderr: std::path::PathBuf,
}

impl Watched {
    fn start(fleet: &mut lab::Fleet, poll: Duration) -> Result<Watched> {
        let me = std::env::current_exe().map_err(Error::io("/proc/self/exe"))?;
        let sentinels: Vec<String> = fleet.sentinels().iter().map(Addr::to_string).collect();
        let stderr = fleet.dir().join("watch.stderr");
        let err = std::fs::File::create(&stderr).map_err(Error::io(&stderr))?;
        let mut cmd = tokio::process::Command::new(&me);
        let poll = humantime::format_duration(poll).to_string();
        cmd.args(["watch", "--sentinels", &sentinels.join(","), "--json"])
            .args(["--poll", &poll])
            // Not a lab or master of the caller's environment: every master of these Sentinels.
            .current_dir(fleet.dir())
            .env_remove("WARDEN_MASTER")
            .env_remove("WARDEN_SENTINELS")
            .env_remove("WARDEN_LAB_DIR")
            .env_remove("WARDEN_LISTEN")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err)
            .kill_on_drop(true)
            .process_group(fleet.pgid().unwrap_or(0));
        let mut child = cmd.spawn().map_err(|source| Error::Spawn {
            what: format!("{} watch", me.display()),
            source,
        })?;
        let pid = child
            .id()
            .ok_or_else(|| Error::internal("the watch exited at once"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| Error::internal("the watch's stdout is not piped"))?;
        Ok(Watched {
            child,
            pid,
            lines: BufReader::new(stdout).lines(),
            stderr,
        })
    }

    fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = text.lines().rev().take(5).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
    }

    /// SIGTERM (the watch records an open episode and exits 0), then reads what it printed
    /// until end of file.
    async fn stop(&mut self, b: &mut Bench<'_>) -> Result<()> {
        let _ = kill(Pid::from_raw(self.pid as i32), Signal::SIGTERM);
        let drain = async {
            while let Ok(Some(line)) = self.lines.next_line().await {
                b.line(&line);
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(10), drain).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        Ok(())
    }
}

/// Asks every Sentinel where each master's primary is, every [`POLL`]; sends
/// `(master, old, new)` when the address a majority names changes.
async fn follow(
    sentinels: Vec<Addr>,
    masters: Vec<String>,
    tx: mpsc::UnboundedSender<(String, String, String)>,
) {
    let t = Timeouts {
        connect: Duration::from_secs(1),
        response: Duration::from_secs(2),
    };
    let conn = Conn::default();
    let mut cons = Vec::new();
    let mut known: BTreeMap<String, String> = BTreeMap::new();
    loop {
        if cons.len() != sentinels.len() {
            cons.clear();
            for s in &sentinels {
                match conn.sentinel(s, t).await {
                    Ok(c) => cons.push(c),
                    Err(_) => break,
                }
            }
        }
        let mut broken = false;
        for m in &masters {
            let mut votes: BTreeMap<String, usize> = BTreeMap::new();
            for (s, con) in sentinels.iter().zip(cons.iter_mut()) {
                let cmd = redis::cmd("SENTINEL")
                    .arg("GET-MASTER-ADDR-BY-NAME")
                    .arg(m)
                    .to_owned();
                match client::query::<Option<(String, u16)>>(con, s, &cmd).await {
                    Ok(Some((h, p))) => *votes.entry(format!("{h}:{p}")).or_default() += 1,
                    Ok(None) => {}
                    Err(_) => broken = true,
                }
            }
            let majority = votes
                .into_iter()
                .find(|(_, n)| *n > sentinels.len() / 2)
                .map(|(a, _)| a);
            if let Some(addr) = majority {
                let before = known.insert(m.clone(), addr.clone());
                if let Some(old) = before.filter(|o| *o != addr)
                    && tx.send((m.clone(), old, addr)).is_err()
                {
                    return;
                }
            }
        }
        if broken {
            cons.clear();
        }
        tokio::time::sleep(POLL).await;
    }
}
