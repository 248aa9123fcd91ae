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

pub mod config;
mod feed;
pub mod follow;
mod picture;
pub mod poll;
mod print;
pub mod startup;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::addr::Addr;
use crate::conn::Conn;
use crate::error::Result;
use crate::failover::episode::Failover;
use crate::failover::hazard::{Hazard, HazardKind};
use crate::metrics::Metrics;
use crate::sentinel::event::{Detail, EventKind};
use crate::sentinel::monitor::{self, MonitorEvent};
use crate::sentinel::timeline::{Entry, Timeline};
use config::Group;
use follow::{Followed, Settings};
use poll::Polled;
use print::Printer;
use startup::{Startup, Verdict};

/// Reports of one event from several Sentinels within this window are merged (the leader's
/// own `+switch-master` comes ~1 s after the observers').
const MERGE_WINDOW: Duration = Duration::from_secs(5);
/// With no episode open, a timeline longer than this is started afresh (a watch runs for days).
const MAX_IDLE_ENTRIES: usize = 1000;
/// How often a quiet episode is looked at ([`crate::failover::episode::Episodes::tick`]).
const TICK: Duration = Duration::from_secs(1);

/// What to watch and for how long.
#[derive(Debug, Clone)]
pub struct WatchSpec {
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
}

/// The watch loop's inputs: one closed set, one `select!`.
enum Input {
    Monitor(MonitorEvent),
    Polled(Polled),
    Verified(Verified),
    Tick,
    Stop,
}

/// The outcome of checking a `+switch-master` ([`poll::confirm_switch`]).
struct Verified {
    group: usize,
    master: String,
    entry: Entry,
    result: std::result::Result<(), String>,
}

/// One Sentinel group's live state.
struct GroupState {
    group: Group,
    /// The source id of its first Sentinel (its Sentinels are numbered on from there).
    first: usize,
    /// Polls that came before the group's start was settled (the latest per master).
    early: Vec<Polled>,
    timeline: Timeline,
    /// The group's latest `+new-epoch`.
    epoch: Option<u64>,
    masters: BTreeMap<String, Followed>,
    /// `+switch-master` entries being checked.
    verifying: usize,
    /// The metrics, with this group's `group` label.
    metrics: Metrics,
    /// Per master with a switch being checked: the entries that came meanwhile, fed to its
    /// episodes in order once the check is done.
    held: BTreeMap<String, Vec<Entry>>,
}

/// Watches until the spec's limits, `shutdown`, or a write error on `out`; returns the
/// episodes that ended. Unreachable Sentinels and unknown masters are waited for; every
/// Sentinel of a group rejecting the connection settings at startup is the error
/// ([`crate::error::Error::Auth`], [`crate::error::Error::Tls`]).
pub async fn run(
    spec: &WatchSpec,
    out: &mut (impl Write + Send),
    shutdown: impl Future<Output = ()>,
) -> Result<Vec<Failover>> {
    let r = watch(spec, out, shutdown).await;
    // Stopped (limit, signal, error): `/healthz` and `/readyz` say so from now on.
    spec.metrics.stopped();
    r
}

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
    let mut group_of = Vec::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (poll_tx, mut poll_rx) = mpsc::unbounded_channel();
    let (verify_tx, mut verify_rx) = mpsc::unbounded_channel::<Verified>();
    let mut tasks = JoinSet::new();
    let mut monitors = Vec::new();
    let mut groups = Vec::new();
    for (i, g) in spec.groups.iter().enumerate() {
        monitors.push(monitor::spawn_for_masters(
            &spec.conns[i],
            &g.sentinels,
            group_of.len(),
            g.masters.clone(),
            monitor::Backoff::default(),
            tx.clone(),
        ));
        groups.push(GroupState {
            group: g.clone(),
            first: group_of.len(),
            early: Vec::new(),
            timeline: Timeline::new(MERGE_WINDOW),
            epoch: None,
            masters: BTreeMap::new(),
            verifying: 0,
            metrics: spec.metrics.group(&g.name),
            held: BTreeMap::new(),
        });
        group_of.extend(std::iter::repeat_n(i, g.sentinels.len()));
        let conn = spec.conns[i].clone();
        tasks.spawn(poll::run(conn, i, g.clone(), spec.poll, poll_tx.clone()));
    }
    drop((tx, poll_tx));
    let mut w = Watch {
        p: Printer {
            out,
            json: spec.json,
            sentinels: &sentinels,
            groups: print::by_source(&spec.groups),
        },
        spec,
        groups,
        startup: Startup::new(spec.groups.iter().map(|g| g.sentinels.len())),
        down_since: vec![None; sentinels.len()],
        up: vec![false; sentinels.len()],
        tilted: vec![false; sentinels.len()],
        counts: HashMap::new(),
        ended: Vec::new(),
    };
    // Named masters are watched (and not ready) from the start.
    for (g, group) in spec.groups.iter().enumerate() {
        for m in &group.masters {
            w.followed(g, m);
        }
    }
    let deadline = spec.duration.map(|d| tokio::time::Instant::now() + d);
    let mut tick = tokio::time::interval(TICK);
    tokio::pin!(shutdown);

    loop {
        spec.metrics.heartbeat(Instant::now());
        let input = tokio::select! {
            r = rx.recv() => r.map_or(Input::Stop, Input::Monitor),
            Some(p) = poll_rx.recv() => Input::Polled(p),
            Some(v) = verify_rx.recv() => Input::Verified(v),
            _ = &mut shutdown => Input::Stop,
            _ = sleep_until(deadline) => Input::Stop,
            _ = tick.tick() => Input::Tick,
        };
        let done = match input {
            Input::Stop => break,
            Input::Tick => w.tick()?,
            Input::Polled(p) => w.polled(p)?,
            Input::Verified(v) => w.verified(v)?,
            Input::Monitor(report) => {
                let g = group_of[report.source()];
                w.monitor(g, report, &verify_tx)?
            }
        };
        w.publish_primaries();
        if done {
            return Ok(w.ended);
        }
    }
    // A transition whose end was not seen yet is recorded, not lost.
    for g in 0..w.groups.len() {
        let names: Vec<String> = w.groups[g].masters.keys().cloned().collect();
        for m in names {
            let gs = &mut w.groups[g];
            let last = gs
                .masters
                .get_mut(&m)
                .and_then(|f| f.episodes.finish(&gs.timeline));
            if w.record(g, &m, last)? {
                return Ok(w.ended);
            }
        }
    }
    Ok(w.ended)
}

/// The loop's state: the printer, every group, each Sentinel's connection, the hazard
/// counts, the ended episodes.
struct Watch<'a, W> {
    p: Printer<'a, W>,
    spec: &'a WatchSpec,
    groups: Vec<GroupState>,
    startup: Startup,
    /// Per Sentinel (source id): out of reach since, subscribed now, in TILT now.
    down_since: Vec<Option<Instant>>,
    up: Vec<bool>,
    tilted: Vec<bool>,
    /// Hazards raised so far, by master and kind.
    counts: HashMap<(String, HazardKind), u64>,
    ended: Vec<Failover>,
}

impl<W: Write> Watch<'_, W> {
    /// The followed master `m` of group `g` (created on first sight), if the group follows it.
    fn followed(&mut self, g: usize, m: &str) -> Option<&mut Followed> {
        let gs = &mut self.groups[g];
        if m.is_empty() || !gs.group.follows(m) {
            return None;
        }
        if !gs.masters.contains_key(m) {
            feed::watching(gs, &self.up, &self.tilted, m);
        }
        let rto = gs.group.rto_for(m);
        let (settings, n) = (&self.spec.settings, gs.group.sentinels.len());
        Some(
            gs.masters
                .entry(m.to_string())
                .or_insert_with(|| Followed::new(m, n, rto, settings)),
        )
    }

    /// The one place a hazard goes out: a WARN log line, the output, the count (and the
    /// `warden_hazards_total` metric), and the trace of the failover in progress.
    fn emit(&mut self, g: usize, hazards: Vec<Hazard>) -> Result<()> {
        for h in hazards {
            let wall = SystemTime::now();
            tracing::warn!(group = %self.groups[g].group.name, "{h}");
            if h.state == crate::failover::hazard::State::Raised {
                *self.counts.entry((h.master.clone(), h.kind)).or_default() += 1;
                self.groups[g].metrics.hazard(&h.master, h.kind.as_str());
            }
            // A poll may raise or end TILT too: the gauge follows the hazard.
            if let (HazardKind::Tilt, Some(s)) = (h.kind, &h.subject) {
                let on = h.state == crate::failover::hazard::State::Raised;
                self.groups[g].metrics.set_tilt(&h.master, s, on);
            }
            if let Some(f) = self.groups[g].masters.get_mut(&h.master) {
                f.keep(wall, &h);
            }
            self.p.hazard(&self.groups[g].group.name, wall, &h)?;
        }
        Ok(())
    }

    fn tick(&mut self) -> Result<bool> {
        let now = Instant::now();
        for g in 0..self.groups.len() {
            let names: Vec<String> = self.groups[g].masters.keys().cloned().collect();
            for m in names {
                let gs = &mut self.groups[g];
                let Some(f) = gs.masters.get_mut(&m) else {
                    continue;
                };
                let quiet = f.episodes.tick(&gs.timeline, now);
                let hz = f.tick(now);
                self.emit(g, hz)?;
                if self.record(g, &m, quiet)? {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    fn polled(&mut self, p: Polled) -> Result<bool> {
        let g = p.group;
        if !self.startup.settled(g) {
            let early = &mut self.groups[g].early;
            early.retain(|e| e.snapshot.master != p.snapshot.master);
            early.push(p);
            return Ok(false);
        }
        let spec = self.spec;
        let Some(f) = self.followed(g, &p.snapshot.master) else {
            return Ok(false);
        };
        let hz = f.polled(
            p.began,
            p.at,
            &p.snapshot,
            &spec.settings.limits,
            p.bytes_per_sec,
        );
        let line = print::topology_key(&p.snapshot);
        let changed = f.topology_changed(line);
        self.groups[g]
            .metrics
            .polled(&p.snapshot.master, &p.snapshot, p.bytes_per_sec);
        self.emit(g, hz)?;
        if changed {
            let name = self.groups[g].group.name.clone();
            self.p.topology(&name, &p.snapshot)?;
        }
        Ok(false)
    }

    fn verified(&mut self, v: Verified) -> Result<bool> {
        let g = v.group;
        self.groups[g].verifying -= 1;
        let held = self.groups[g].held.remove(&v.master).unwrap_or_default();
        let at = v.entry.first_at;
        let Some(f) = self.followed(g, &v.master) else {
            return Ok(false);
        };
        match v.result {
            Ok(()) => {
                let hz = f.switched(at);
                self.emit(g, hz)?;
                let gs = &mut self.groups[g];
                let Some(f) = gs.masters.get_mut(&v.master) else {
                    return Ok(false);
                };
                let closed = f.episodes.observe(&gs.timeline, &v.entry);
                for c in closed {
                    if self.record(g, &v.master, Some(c))? {
                        return Ok(true);
                    }
                }
            }
            Err(why) => {
                let hz = f.stale_switch(at, &v.entry.event.to_string(), &why);
                self.emit(g, hz)?;
            }
        }
        for e in held {
            let gs = &mut self.groups[g];
            let Some(f) = gs.masters.get_mut(&v.master) else {
                break;
            };
            for c in f.episodes.observe(&gs.timeline, &e) {
                if self.record(g, &v.master, Some(c))? {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    fn monitor(
        &mut self,
        g: usize,
        report: MonitorEvent,
        verify_tx: &mpsc::UnboundedSender<Verified>,
    ) -> Result<bool> {
        let verdict = self.startup_check(g, &report)?;
        self.feed(g, &report);
        let mut closed: Vec<(String, Failover)> = Vec::new();
        match &report {
            MonitorEvent::Connected { source, at } => {
                self.up[*source] = true;
                let gap = self.down_since[*source].take().map(|from| *at - from);
                if gap.is_some() {
                    for f in self.groups[g].masters.values_mut() {
                        f.episodes.resumed(*source, *at);
                    }
                }
                self.p.connection(*source, "connected", gap, None)?;
            }
            MonitorEvent::Disconnected {
                source, at, reason, ..
            } => {
                self.up[*source] = false;
                self.down_since[*source].get_or_insert(*at);
                self.p
                    .connection(*source, "disconnected", None, Some(reason))?;
            }
            MonitorEvent::Unanswered { source, reason, .. } => {
                self.p.connection(*source, "waiting", None, Some(reason))?;
            }
            MonitorEvent::Primary {
                source,
                master,
                at,
                wall,
                addr,
                config_epoch,
            } => {
                let Some(f) = self.followed(g, master) else {
                    return Ok(false);
                };
                let (known, epoch) = f.episodes.primary();
                let stale =
                    known.is_some_and(|k| k != addr) && epoch.is_some_and(|e| *config_epoch <= e);
                self.p
                    .primary(*source, master, addr, *config_epoch, stale)?;
                let gs = &mut self.groups[g];
                let Some(f) = gs.masters.get_mut(master) else {
                    return Ok(false);
                };
                let at2 = (*at, *wall);
                match f
                    .episodes
                    .reconcile(&gs.timeline, *source, at2, addr, *config_epoch)
                {
                    Ok(ended) => closed.extend(ended.into_iter().map(|e| (master.clone(), e))),
                    Err(outvoted) => {
                        let sentinel = self.p.sentinels[*source].to_string();
                        let hz = f.outvoted(&sentinel, &outvoted);
                        self.emit(g, hz)?;
                    }
                }
            }
            MonitorEvent::Event {
                source, at, event, ..
            } => {
                // What each Sentinel names, from every report (the first or not).
                if let Detail::SwitchMaster { master, new, .. } = &event.detail
                    && let Some(f) = self.groups[g].masters.get_mut(master)
                {
                    f.episodes.announced(*source, new);
                }
                let idle = self.groups[g]
                    .masters
                    .values()
                    .all(|f| !f.episodes.is_open())
                    && self.groups[g].verifying == 0;
                if idle && self.groups[g].timeline.entries().len() > MAX_IDLE_ENTRIES {
                    self.groups[g].timeline = Timeline::new(MERGE_WINDOW);
                }
                // TILT is per Sentinel: taken from each Sentinel's own report, not the merge.
                if matches!(event.kind, EventKind::Tilt | EventKind::TiltExited) {
                    self.tilted[*source] = event.kind == EventKind::Tilt;
                    let sentinel = self.p.sentinels[*source].to_string();
                    let names: Vec<String> = self.groups[g].masters.keys().cloned().collect();
                    for m in names {
                        let entered = event.kind == EventKind::Tilt;
                        let hz = self
                            .followed(g, &m)
                            .map(|f| f.tilt(*at, &sentinel, entered))
                            .unwrap_or_default();
                        self.emit(g, hz)?;
                    }
                }
            }
        }
        let gs = &mut self.groups[g];
        if let Some(i) = report.apply(&mut gs.timeline) {
            let entry = gs.timeline.entries()[i].clone();
            self.p.event(&entry)?;
            closed.extend(self.entry(g, &entry, verify_tx)?);
        }
        for (m, f) in closed {
            if self.record(g, &m, Some(f))? {
                return Ok(true);
            }
        }
        if verdict == Verdict::Settled {
            for p in std::mem::take(&mut self.groups[g].early) {
                if self.polled(p)? {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// A new timeline entry: to every followed master's episodes, except a `+switch-master`
    /// to a new address, which is checked first ([`poll::confirm_switch`]).
    fn entry(
        &mut self,
        g: usize,
        entry: &Entry,
        verify_tx: &mpsc::UnboundedSender<Verified>,
    ) -> Result<Vec<(String, Failover)>> {
        if let Detail::NewEpoch { epoch } | Detail::VoteForLeader { epoch, .. } = entry.event.detail
        {
            self.groups[g].epoch = self.groups[g].epoch.max(Some(epoch));
        }
        if let Some(m) = entry.event.master_name() {
            let epoch = self.groups[g].epoch;
            let sender = self.p.sentinels[entry.reports[0].source].to_string();
            let hz = self
                .followed(g, m)
                .map(|f| f.entry(entry, &sender, epoch))
                .unwrap_or_default();
            self.emit(g, hz)?;
        }
        let mut closed = Vec::new();
        let gs = &mut self.groups[g];
        for (name, f) in gs.masters.iter_mut() {
            if let Detail::SwitchMaster { master, new, .. } = &entry.event.detail
                && master == name
            {
                let (known, epoch) = f.episodes.primary();
                if known != Some(new) && !gs.held.contains_key(name) {
                    gs.verifying += 1;
                    gs.held.insert(name.clone(), Vec::new());
                    let (tx, sentinels) = (verify_tx.clone(), gs.group.sentinels.clone());
                    let (master, new, entry) = (master.clone(), new.clone(), entry.clone());
                    let conn = self.spec.conns[g].clone();
                    tokio::spawn(async move {
                        let result =
                            poll::confirm_switch(&conn, &sentinels, &master, &new, epoch).await;
                        let _ = tx.send(Verified {
                            group: g,
                            master,
                            entry,
                            result,
                        });
                    });
                    continue;
                }
            }
            if let Some(held) = gs.held.get_mut(name) {
                held.push(entry.clone());
                continue;
            }
            let ended = f.episodes.observe(&gs.timeline, entry);
            closed.extend(ended.into_iter().map(|e| (name.clone(), e)));
        }
        Ok(closed)
    }

    /// Prints, exports and keeps an ended episode, with the hazards it raises; true when the
    /// `--episodes` limit is reached.
    fn record(&mut self, g: usize, m: &str, f: Option<Failover>) -> Result<bool> {
        let Some(f) = f else { return Ok(false) };
        self.p.failover(&self.groups[g].group.name, &f)?;
        self.groups[g].metrics.record(&f);
        let hz = self
            .followed(g, m)
            .map(|x| x.failover(Instant::now(), &f))
            .unwrap_or_default();
        self.emit(g, hz)?;
        let during = self.groups[g]
            .masters
            .get(m)
            .map(|x| x.during(&f))
            .unwrap_or_default();
        crate::telemetry::failover::export_in(Some(&self.groups[g].group.name), &f, &during);
        if let Some(dir) = &self.spec.svg {
            picture::write(dir, &self.groups[g], &f);
        }
        self.ended.push(f);
        Ok(self
            .spec
            .episodes
            .is_some_and(|n| self.ended.len() >= n as usize))
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
