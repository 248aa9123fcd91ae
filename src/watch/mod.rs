//! `warden watch`: follows every Sentinel, prints the merged timeline as it happens (each
//! event once, at its first report), sums up every failover episode of the master, and
//! reports each Sentinel's connection gaps.
//!
//! A daemon: it never gives up on a transient condition. It starts following at once and
//! waits (logging on stderr, with backoff) for the Sentinels to answer and to monitor the
//! master; after every (re)subscription it asks that Sentinel where the primary is, so a
//! switch made while it could not see it is recorded too (`"observed": "after_gap"`).

pub mod episode;

use std::future::Future;
use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;
use tokio::sync::mpsc;

use crate::addr::Addr;
use crate::error::{Error, Result};
use crate::sentinel::monitor::{self, MonitorEvent};
use crate::sentinel::timeline::{Entry, Timeline};
use episode::{Episodes, Failover};

/// Reports of one event from several Sentinels within this window are merged (the leader's
/// own `+switch-master` comes ~1 s after the observers').
const MERGE_WINDOW: Duration = Duration::from_secs(5);
/// With no episode open, a timeline longer than this is started afresh (a watch runs for days).
const MAX_IDLE_ENTRIES: usize = 1000;
/// How often a quiet episode is looked at ([`Episodes::tick`]).
const TICK: Duration = Duration::from_secs(1);

/// What to watch and for how long.
#[derive(Debug, Clone)]
pub struct WatchSpec {
    /// The Sentinels.
    pub sentinels: Vec<Addr>,
    /// The master name.
    pub master: String,
    /// JSON lines instead of text.
    pub json: bool,
    /// Stop after this many episodes have ended.
    pub episodes: Option<u32>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// How to connect to the Sentinels (credentials, TLS, hostname map).
    pub conn: crate::conn::Conn,
    /// The metrics the watch feeds (Sentinels up, TILT, primary, failovers, liveness).
    pub metrics: crate::metrics::Metrics,
}

/// Watches until the spec's limits, `shutdown`, or a write error on `out`; returns the
/// episodes that ended. Unreachable Sentinels and an unknown master are waited for.
pub async fn run(
    spec: &WatchSpec,
    out: &mut (impl Write + Send),
    shutdown: impl Future<Output = ()>,
) -> Result<Vec<Failover>> {
    let mut w = Printer {
        out,
        json: spec.json,
        sentinels: &spec.sentinels,
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _monitor = monitor::spawn_for(
        &spec.conn,
        &spec.sentinels,
        &spec.master,
        monitor::Backoff::default(),
        tx,
    );
    let mut timeline = Timeline::new(MERGE_WINDOW);
    let mut episodes = Episodes::new(spec.master.clone());
    let mut ended = Vec::new();
    let deadline = spec.duration.map(|d| tokio::time::Instant::now() + d);
    let mut down_since: Vec<Option<Instant>> = vec![None; spec.sentinels.len()];
    let mut tick = tokio::time::interval(TICK);
    tokio::pin!(shutdown);
    let metrics = &spec.metrics;
    metrics.watching(&spec.master, &spec.sentinels);

    loop {
        metrics.heartbeat(Instant::now());
        let report = tokio::select! {
            r = rx.recv() => r,
            _ = &mut shutdown => None,
            _ = sleep_until(deadline) => None,
            _ = tick.tick() => {
                let quiet = episodes.tick(&timeline, Instant::now());
                if record(&mut w, spec, quiet, &mut ended)? {
                    return Ok(ended);
                }
                continue;
            }
        };
        let Some(report) = report else { break };
        let gap = match &report {
            MonitorEvent::Connected { source, at } => down_since[*source].map(|from| *at - from),
            _ => None,
        };
        metrics.report(&spec.master, &spec.sentinels, &report, gap);
        let mut closed = Vec::new();
        match &report {
            MonitorEvent::Connected { source, at } => {
                let gap = down_since[*source].take().map(|from| *at - from);
                if gap.is_some() {
                    episodes.resumed(*source, *at);
                }
                w.connection(*source, "connected", gap, None)?;
            }
            MonitorEvent::Disconnected { source, at, reason } => {
                down_since[*source].get_or_insert(*at);
                w.connection(*source, "disconnected", None, Some(reason))?;
            }
            MonitorEvent::Unanswered { source, reason, .. } => {
                w.connection(*source, "waiting", None, Some(reason))?;
            }
            MonitorEvent::Primary {
                source,
                at,
                wall,
                addr,
                config_epoch,
            } => {
                let (known, epoch) = episodes.primary();
                let stale =
                    known.is_some_and(|k| k != addr) && epoch.is_some_and(|e| *config_epoch <= e);
                w.primary(*source, &spec.master, addr, *config_epoch, stale)?;
                closed = episodes.reconcile(&timeline, (*at, *wall), addr, *config_epoch);
            }
            MonitorEvent::Event { .. } => {
                if !episodes.is_open() && timeline.entries().len() > MAX_IDLE_ENTRIES {
                    timeline = Timeline::new(MERGE_WINDOW);
                }
            }
        }
        if let Some(i) = report.apply(&mut timeline) {
            let entry = &timeline.entries()[i];
            w.event(entry)?;
            closed.extend(episodes.observe(&timeline, entry));
        }
        for f in closed {
            if record(&mut w, spec, Some(f), &mut ended)? {
                return Ok(ended);
            }
        }
        if let Some(addr) = episodes.primary().0 {
            metrics.set_primary(&spec.master, &addr.to_string());
        }
    }
    // Stopped (limit, SIGTERM/SIGINT): a transition whose end was not seen yet is recorded,
    // not lost.
    metrics.stopped();
    let last = episodes.finish(&timeline);
    record(&mut w, spec, last, &mut ended)?;
    Ok(ended)
}

/// Prints, exports and keeps an ended episode; true when the `--episodes` limit is reached.
fn record<W: Write>(
    w: &mut Printer<'_, W>,
    spec: &WatchSpec,
    f: Option<Failover>,
    ended: &mut Vec<Failover>,
) -> Result<bool> {
    let Some(f) = f else { return Ok(false) };
    w.failover(&f)?;
    spec.metrics.record(&f);
    crate::telemetry::failover::export(&f);
    ended.push(f);
    Ok(spec.episodes.is_some_and(|n| ended.len() >= n as usize))
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Renders the watch's lines, as text or JSON.
struct Printer<'a, W> {
    out: &'a mut W,
    json: bool,
    sentinels: &'a [Addr],
}

impl<W: Write> Printer<'_, W> {
    fn line(&mut self, text: &str) -> Result<()> {
        writeln!(self.out, "{text}")
            .and_then(|_| self.out.flush())
            .map_err(|source| Error::Io {
                path: "<stdout>".into(),
                source,
            })
    }

    fn primary(
        &mut self,
        source: usize,
        master: &str,
        addr: &Addr,
        config_epoch: u64,
        stale: bool,
    ) -> Result<()> {
        let sentinel = &self.sentinels[source];
        let line = if self.json {
            json!({"type": "primary", "wall": wall(SystemTime::now()),
                   "sentinel": sentinel.to_string(), "master": master,
                   "addr": addr.to_string(), "config_epoch": config_epoch, "stale": stale})
            .to_string()
        } else {
            let behind = if stale { " (behind: not believed)" } else { "" };
            format!(
                "{}  sentinel {sentinel} says {master} is at {addr}, config epoch {config_epoch}{behind}",
                wall(SystemTime::now())
            )
        };
        self.line(&line)
    }

    fn connection(
        &mut self,
        source: usize,
        state: &str,
        gap: Option<Duration>,
        reason: Option<&str>,
    ) -> Result<()> {
        let sentinel = &self.sentinels[source];
        let gap_ms = gap.map(|g| g.as_secs_f64() * 1000.0);
        let line = if self.json {
            json!({"type": state, "wall": wall(SystemTime::now()), "sentinel": sentinel.to_string(),
                   "gap_ms": gap_ms, "reason": reason})
            .to_string()
        } else {
            let mut text = format!("{}  sentinel {sentinel} {state}", wall(SystemTime::now()));
            if let Some(ms) = gap_ms {
                text += &format!(" after a gap of {ms:.0} ms");
            }
            if let Some(r) = reason {
                text += &format!(": {r}");
            }
            text
        };
        self.line(&line)
    }

    fn event(&mut self, entry: &Entry) -> Result<()> {
        let sentinel = &self.sentinels[entry.reports[0].source];
        let at = entry.first_wall;
        let line = if self.json {
            json!({"type": "event", "wall": wall(at), "sentinel": sentinel.to_string(),
                   "event": entry.event.kind.channel(), "detail": entry.event.detail,
                   "text": entry.event.to_string()})
            .to_string()
        } else {
            format!("{}  {}  (first from {sentinel})", wall(at), entry.event)
        };
        self.line(&line)
    }

    fn failover(&mut self, f: &Failover) -> Result<()> {
        let text = if self.json {
            let mut v = serde_json::to_value(f).unwrap_or_default();
            v["type"] = "failover".into();
            v.to_string()
        } else {
            f.to_string().trim_end().to_string()
        };
        self.line(&text)
    }
}

fn wall(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}
