//! `warden watch`: follows every Sentinel of one or more groups, prints the merged timeline
//! as it happens (each event once, at its first report), sums up every failover episode of
//! each followed master, reports each Sentinel's connection gaps and every hazard, and feeds
//! the metrics per master.
//!
//! A daemon: it never gives up on a transient condition. It starts following at once and
//! waits (logging on stderr, with backoff) for the Sentinels to answer and to monitor the
//! masters; after every (re)subscription it asks that Sentinel where each primary is, so a
//! switch made while it could not see it is recorded too (`"observed": "after_gap"`). The one
//! exception is at startup: when every Sentinel of a group rejects the credentials or the TLS
//! settings before any was subscribed, it exits with that rejection ([`startup`]).

pub(crate) mod config;
mod core;
pub(crate) mod follow;
mod picture;
pub(crate) mod poll;
mod print;
mod shell;
pub(crate) mod startup;

use std::future::Future;
use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use self::core::{Core, Now, Verified};
use crate::addr::Addr;
use crate::backup::newest::{self, Freshness};
use crate::conn::Conn;
use crate::error::Result;
use crate::failover::episode::Failover;
use crate::failover::hazard::BackupAge;
use crate::metrics::Metrics;
use crate::sentinel::monitor::{self, MonitorEvent};
use config::Group;
use follow::Settings;
use poll::Polled;
use print::Printer;
use shell::{Flow, Shell};

/// How often a quiet episode is looked at ([`crate::failover::episode::Episodes::tick`]).
const TICK: Duration = Duration::from_secs(1);

/// What to watch and for how long.
#[derive(Debug, Clone)]
pub(crate) struct WatchSpec {
    /// The Sentinel groups (one from `--sentinels`, or the `--config` file's).
    pub groups: Vec<Group>,
    /// JSON lines instead of text.
    pub json: bool,
    /// Stop after this many episodes have ended.
    pub episodes: Option<u32>,
    /// Write one SVG timeline per episode into this directory (`watch::picture`).
    pub svg: Option<std::path::PathBuf>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// How often the topology is polled.
    pub poll: Duration,
    /// Hazard thresholds and the flap window.
    pub settings: Settings,
    /// Each group's connection settings (credentials, TLS, hostname map), in `groups`' order.
    pub conns: Vec<Conn>,
    /// The metrics the watch feeds, per master (Sentinels up, TILT, primary, failovers,
    /// hazards, quorum, replica lag, exposure, liveness).
    pub metrics: Metrics,
    /// Backup freshness: where each group's backups are kept, read by a task of the watch
    /// into the backup gauges and, through a channel into the loop, the `backup-stale`
    /// hazard. `None`: no destination given.
    pub backups: Option<Freshness>,
}

/// The watch loop's inputs: one closed set, one `select!`.
enum Input {
    Monitor(MonitorEvent),
    Polled(Polled),
    Verified(Verified),
    Backup(BackupAge),
    Tick,
    Stop,
}

/// Watches until the spec's limits, `shutdown`, or a write error on `out`; returns the
/// episodes that ended. Unreachable Sentinels and unknown masters are waited for; every
/// Sentinel of a group rejecting the connection settings at startup is the error
/// ([`crate::error::Error::Auth`], [`crate::error::Error::Tls`]).
pub(crate) async fn run(
    spec: &WatchSpec,
    out: &mut (impl Write + Send),
    shutdown: impl Future<Output = ()>,
) -> Result<Vec<Failover>> {
    let r = watch(spec, out, shutdown).await;
    // Stopped (limit, signal, error): `/healthz` and `/readyz` say so from now on.
    spec.metrics.stopped();
    r
}

/// The loop: the tasks feed one `select!`; each input goes to the pure [`Core`], and the
/// [`Shell`] does what it returns.
async fn watch(
    spec: &WatchSpec,
    out: &mut (impl Write + Send),
    shutdown: impl Future<Output = ()>,
) -> Result<Vec<Failover>> {
    let sentinels: Vec<Addr> = spec
        .groups
        .iter()
        .flat_map(|g| g.sentinels.clone())
        .collect();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (poll_tx, mut poll_rx) = mpsc::unbounded_channel();
    let (verify_tx, mut verify_rx) = mpsc::unbounded_channel::<Verified>();
    let mut tasks = JoinSet::new();
    let mut monitors = Vec::new();
    let mut first = 0;
    for (i, g) in spec.groups.iter().enumerate() {
        monitors.push(monitor::spawn_for_masters(
            &spec.conns[i],
            &g.sentinels,
            first,
            g.masters.clone(),
            monitor::Backoff::default(),
            tx.clone(),
        ));
        first += g.sentinels.len();
        let conn = spec.conns[i].clone();
        tasks.spawn(poll::run(conn, i, g.clone(), spec.poll, poll_tx.clone()));
    }
    let (backup_tx, mut backup_rx) = mpsc::unbounded_channel();
    if let Some(f) = &spec.backups {
        let metrics = spec.metrics.clone();
        tasks.spawn(newest::every(f.clone(), metrics, backup_tx));
    } else {
        drop(backup_tx);
    }
    drop((tx, poll_tx));
    let mut core = Core::new(&spec.groups, spec.settings, spec.episodes);
    let mut sh = Shell {
        p: Printer {
            out,
            json: spec.json,
            sentinels: &sentinels,
            groups: print::by_source(&spec.groups),
        },
        spec,
        metrics: spec
            .groups
            .iter()
            .map(|g| spec.metrics.group(&g.name))
            .collect(),
        verify_tx,
        ended: Vec::new(),
    };
    let outs = core.start();
    sh.run(&core, outs)?;
    let deadline = spec.duration.map(|d| tokio::time::Instant::now() + d);
    let mut tick = tokio::time::interval(TICK);
    tokio::pin!(shutdown);

    loop {
        spec.metrics.heartbeat(Instant::now());
        let input = tokio::select! {
            r = rx.recv() => r.map_or(Input::Stop, Input::Monitor),
            Some(p) = poll_rx.recv() => Input::Polled(p),
            Some(v) = verify_rx.recv() => Input::Verified(v),
            Some(b) = backup_rx.recv() => Input::Backup(b),
            _ = &mut shutdown => Input::Stop,
            _ = sleep_until(deadline) => Input::Stop,
            _ = tick.tick() => Input::Tick,
        };
        let now = || Now {
            at: Instant::now(),
            wall: SystemTime::now(),
        };
        let outs = match input {
            Input::Stop => break,
            Input::Tick => core.tick(now()),
            Input::Polled(p) => core.polled(p, now()),
            Input::Verified(v) => core.verified(v, now()),
            Input::Backup(b) => core.backup(b, now()),
            Input::Monitor(report) => core.monitor(report, now()),
        };
        if sh.run(&core, outs)? == Flow::Limit {
            return Ok(sh.ended);
        }
        sh.publish_primaries(&core);
    }
    let outs = core.stop(Now {
        at: Instant::now(),
        wall: SystemTime::now(),
    });
    sh.run(&core, outs)?;
    Ok(sh.ended)
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
