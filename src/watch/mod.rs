//! `warden watch`: follows every Sentinel, prints the merged timeline as it happens (each
//! event once, at its first report), sums up every failover episode of the master, and
//! reports each Sentinel's connection gaps.

pub mod episode;

use std::future::Future;
use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

use serde_json::json;
use tokio::sync::mpsc;

use crate::addr::Addr;
use crate::client::Timeouts;
use crate::error::{Error, Result};
use crate::sentinel::monitor::{self, MonitorEvent};
use crate::sentinel::timeline::{Entry, Timeline};
use crate::sentinel::topology;
use episode::{Episodes, Failover};

/// Reports of one event from several Sentinels within this window are merged.
const MERGE_WINDOW: Duration = Duration::from_secs(5);
/// With no episode open, a timeline longer than this is started afresh (a watch runs for days).
const MAX_IDLE_ENTRIES: usize = 1000;

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
}

/// Watches until the spec's limits, `shutdown`, or a write error on `out`; returns the
/// episodes that ended. Fails at once if no Sentinel answers or none knows the master.
pub async fn run(
    spec: &WatchSpec,
    out: &mut (impl Write + Send),
    shutdown: impl Future<Output = ()>,
) -> Result<Vec<Failover>> {
    let primary =
        topology::ask_primary(&spec.conn, &spec.sentinels, &spec.master, Timeouts::CONTROL).await?;
    let mut w = Printer {
        out,
        json: spec.json,
        sentinels: &spec.sentinels,
    };
    w.note(&format!("{} is at {primary}", spec.master))?;

    let (tx, mut rx) = mpsc::unbounded_channel();
    let _monitor = monitor::spawn(&spec.conn, &spec.sentinels, monitor::Backoff::default(), tx);
    let mut timeline = Timeline::new(MERGE_WINDOW);
    let mut episodes = Episodes::new(spec.master.clone());
    let mut ended = Vec::new();
    let deadline = spec.duration.map(|d| tokio::time::Instant::now() + d);
    let mut down_since: Vec<Option<Instant>> = vec![None; spec.sentinels.len()];
    tokio::pin!(shutdown);

    loop {
        let report = tokio::select! {
            r = rx.recv() => r,
            _ = &mut shutdown => None,
            _ = sleep_until(deadline) => None,
        };
        let Some(report) = report else { break };
        match &report {
            MonitorEvent::Connected { source, at } => {
                let gap = down_since[*source].take().map(|from| *at - from);
                w.connection(*source, "connected", gap, None)?;
            }
            MonitorEvent::Disconnected { source, at, reason } => {
                down_since[*source].get_or_insert(*at);
                w.connection(*source, "disconnected", None, Some(reason))?;
            }
            MonitorEvent::Event { .. } => {
                if !episodes.is_open() && timeline.entries().len() > MAX_IDLE_ENTRIES {
                    timeline = Timeline::new(MERGE_WINDOW);
                }
            }
        }
        let Some(i) = report.apply(&mut timeline) else {
            continue;
        };
        let entry = &timeline.entries()[i];
        w.event(entry)?;
        if let Some(f) = episodes.observe(&timeline, entry) {
            w.failover(&f)?;
            crate::telemetry::failover::export(&f);
            ended.push(f);
            if spec.episodes.is_some_and(|n| ended.len() >= n as usize) {
                break;
            }
        }
    }
    Ok(ended)
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

    fn note(&mut self, text: &str) -> Result<()> {
        let line = if self.json {
            json!({"type": "note", "wall": wall(SystemTime::now()), "text": text}).to_string()
        } else {
            format!("{}  {text}", wall(SystemTime::now()))
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
