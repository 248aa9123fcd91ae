//! The drill runner: sets up the target, then for each trial runs workload → pre-flight →
//! fault → observe → settle → loss check → revert → rejoin, feeding every Sentinel and writer
//! event into one [`pump`] loop, and hands the observations to the checker.
//!
//! Shutdown (Ctrl-C) is passed in; an injected fault is reverted on every path.

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::checker::{self, Observation, Verdict};
use super::progress::Progress;
use super::report::{DrillReport, TrialReport};
use super::scenario::Scenario;
use super::target::{Target, inject_one, revert, set_up};
use crate::addr::Addr;
use crate::client::{self, Timeouts};
use crate::error::{Error, Result};
use crate::fault::Applied;
use crate::sentinel::event::EventKind;
use crate::sentinel::health::{self, Expect, Health};
use crate::sentinel::monitor::{self, MonitorEvent};
use crate::sentinel::timeline::Timeline;
use crate::sentinel::topology;
use crate::watch::episode;
use crate::workload::{self, Plan, Workload, WriterEvent};

/// Reports from two Sentinels of one occurrence merge when this close together.
const MERGE_WINDOW: Duration = Duration::from_secs(15);

pub use super::target::dry_run;

/// Reads a scenario file and validates it ([`Scenario::parse`]).
pub fn load(path: &Path) -> Result<Scenario> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    Scenario::parse(&text).map_err(|message| Error::Scenario {
        path: path.to_path_buf(),
        message,
    })
}

/// Runs the drill; returns its report. `progress` draws a status line on stderr.
pub async fn run(
    scenario: &Scenario,
    progress: bool,
    shutdown: impl Future<Output = ()>,
) -> Result<DrillReport> {
    let (cancel_tx, cancel) = watch::channel(false);
    let watcher = async move {
        tokio::select! {
            _ = shutdown => { let _ = cancel_tx.send(true); }
            _ = cancel_tx.closed() => {}
        }
    };
    let (report, ()) = tokio::join!(drill(scenario, progress, cancel), watcher);
    report
}

async fn drill(s: &Scenario, progress: bool, cancel: watch::Receiver<bool>) -> Result<DrillReport> {
    let mut target = set_up(s).await?;
    let (tx, monitor_rx) = mpsc::unbounded_channel();
    let monitor = monitor::spawn(&target.sentinels, monitor::Backoff::default(), tx);
    let run_id = format!("{:08x}", rand::random::<u32>());
    let mut ctx = Ctx {
        s,
        monitor_rx,
        cancel,
        progress: Progress::new(progress, s.trials),
        run_id,
    };
    let mut trials = Vec::new();
    for n in 1..=s.trials {
        if ctx.cancelled() {
            break;
        }
        trials.push(ctx.trial(n, &mut target).await);
    }
    ctx.progress.clear();
    drop(monitor);
    if let Some(lab) = target.lab.take().filter(|_| s.target.lab.is_some()) {
        lab.down()?;
    }
    if let Some(lab) = target.docker.take().filter(|_| s.target.lab.is_some()) {
        lab.down().await?;
    }
    Ok(DrillReport::new(
        s.name.clone(),
        target.description,
        target.down_after_ms,
        trials,
    ))
}

/// Why a [`Ctx::pump`] returned.
#[derive(Debug, PartialEq, Eq)]
enum Stop {
    Reached,
    Deadline,
    Cancelled,
}

/// What a trial accumulates from the event streams.
struct Seen {
    timeline: Timeline,
    first_acks: Vec<(Addr, Instant)>,
    writers: mpsc::UnboundedReceiver<WriterEvent>,
}

struct Ctx<'a> {
    s: &'a Scenario,
    monitor_rx: mpsc::UnboundedReceiver<MonitorEvent>,
    cancel: watch::Receiver<bool>,
    progress: Progress,
    run_id: String,
}

impl Ctx<'_> {
    fn cancelled(&self) -> bool {
        *self.cancel.borrow()
    }

    /// Feeds Sentinel and writer events into `seen` until `done(seen)` holds, `deadline`
    /// passes, or the drill is cancelled.
    async fn pump(
        &mut self,
        seen: &mut Seen,
        deadline: Instant,
        done: impl Fn(&Seen) -> bool,
    ) -> Stop {
        loop {
            if done(seen) {
                return Stop::Reached;
            }
            if self.cancelled() {
                return Stop::Cancelled;
            }
            tokio::select! {
                Some(ev) = self.monitor_rx.recv() => {
                    if let MonitorEvent::Event { event, .. } = &ev {
                        self.progress.event(&event.kind);
                    }
                    ev.apply(&mut seen.timeline);
                }
                Some(ev) = seen.writers.recv() => match ev {
                    WriterEvent::FirstAck { node, at, .. } => seen.first_acks.push((node, at)),
                    WriterEvent::Progress { acked } => self.progress.acked(acked),
                },
                _ = tokio::time::sleep_until(deadline.into()) => return Stop::Deadline,
                _ = self.cancel.changed() => return Stop::Cancelled,
            }
        }
    }

    /// Applies whatever is queued without waiting.
    fn drain(&mut self, seen: &mut Seen) {
        while let Ok(ev) = self.monitor_rx.try_recv() {
            ev.apply(&mut seen.timeline);
        }
        while let Ok(ev) = seen.writers.try_recv() {
            if let WriterEvent::FirstAck { node, at, .. } = ev {
                seen.first_acks.push((node, at));
            }
        }
    }

    /// Polls the health check until it passes, the pre-flight time ends, or the drill is cancelled.
    async fn preflight(&mut self, target: &Target, seen: &mut Seen) -> Result<Health> {
        let t = &self.s.timing;
        let expect = Expect {
            replicas: None,
            other_sentinels: None,
            max_lag_bytes: t.max_lag_bytes,
            quorum: true,
        };
        let deadline = Instant::now() + t.preflight;
        loop {
            let h = health::check(&target.sentinels, &target.master, &expect).await?;
            if h.ok() || Instant::now() >= deadline {
                return Ok(h);
            }
            let next = Instant::now() + Duration::from_millis(200);
            if self.pump(seen, next, |_| false).await == Stop::Cancelled {
                return Ok(h);
            }
        }
    }

    async fn trial(&mut self, n: u32, target: &mut Target) -> TrialReport {
        let s = self.s;
        let mut seen = Seen {
            timeline: Timeline::new(MERGE_WINDOW),
            first_acks: Vec::new(),
            writers: mpsc::unbounded_channel().1,
        };
        self.drain(&mut seen);
        let not_injected = |reasons: Vec<String>| TrialReport {
            trial: n,
            old_primary: None,
            fault: s.fault.action.name().to_string(),
            injected: false,
            figures: Default::default(),
            verdict: Verdict::Unknown,
            reasons,
        };
        let plan = Plan {
            config: s.workload.clone(),
            prefix: format!("session:{}-{n}", self.run_id),
            sentinels: target.sentinels.clone(),
            master: target.master.clone(),
            epoch: Instant::now(),
        };
        let (wtx, wrx) = mpsc::unbounded_channel();
        seen.writers = wrx;
        let workload = Workload::start(plan.clone(), wtx);

        self.progress.step(n, "warm-up");
        let warm = self
            .pump(&mut seen, Instant::now() + s.timing.warmup, |_| false)
            .await;
        self.progress.step(n, "pre-flight");
        let health = match warm {
            Stop::Cancelled => Err("cancelled".to_string()),
            _ => match self.preflight(target, &mut seen).await {
                Ok(h) if h.ok() => Ok(h),
                Ok(h) => Err(format!("pre-flight failed: {}", h.problems.join("; "))),
                Err(e) => Err(format!("pre-flight failed: {e}")),
            },
        };
        let old = match health.map(|h| h.primary) {
            Ok(Some(p)) => p,
            Ok(None) => unreachable!("a healthy cluster has a primary"),
            Err(why) => {
                workload.stop().await;
                return not_injected(vec![why]);
            }
        };
        let mut errors = Vec::new();
        let mut before = None;
        let mut prefix = String::new();
        if let Some(b) = &s.before {
            match inject_one(b, &old, target).await {
                (d, Ok(a)) => {
                    before = Some(a);
                    prefix = format!("before: {d}; then: ");
                }
                (d, Err(e)) => {
                    workload.stop().await;
                    let mut r = not_injected(vec![format!("could not inject `before`: {e}")]);
                    r.fault = d;
                    return r;
                }
            }
        }

        self.progress.step(n, "fault");
        let fault_at = Instant::now();
        let (description, result) = inject_one(&s.fault, &old, target).await;
        let description = format!("{prefix}{description}");
        let mut applied = match result {
            Ok(a) => Some(a),
            Err(e) => {
                if let Some(b) = before.take() {
                    revert(b, target, &mut errors).await;
                }
                workload.stop().await;
                errors.insert(0, format!("could not inject: {e}"));
                let mut r = not_injected(errors);
                r.fault = description;
                return r;
            }
        };
        let cancelled = self
            .observe(fault_at, &old, &mut seen, &mut applied, target, &mut errors)
            .await;

        let history = workload.stop().await;
        self.drain(&mut seen);
        let switched = seen
            .timeline
            .first(&EventKind::SwitchMaster, &target.master, fault_at)
            .is_some();
        if !switched && applied.as_ref().is_some_and(Applied::is_down) {
            // No failover: the primary is still the node that was taken down. Start it again
            // first, so the loss check reads what it kept (instead of failing to reach it).
            if let Some(a) = applied.take() {
                revert(a, target, &mut errors).await;
            }
            self.progress.step(n, "restart");
            if !self.wait_serving(&old, &mut seen).await {
                errors.push(format!(
                    "{old} did not serve again within {} of its restart",
                    humantime::format_duration(s.timing.rejoin)
                ));
            }
        }
        self.progress.step(n, "loss check");
        let loss =
            match topology::ask_primary(&target.sentinels, &target.master, Timeouts::CONTROL).await
            {
                Ok(primary) => workload::loss::check(&plan, &history, &primary).await,
                Err(e) => Err(e),
            }
            .map_err(|e| errors.push(format!("loss check: {e}")))
            .ok();
        if let Some(a) = applied.take() {
            revert(a, target, &mut errors).await;
        }
        if let Some(b) = before.take() {
            revert(b, target, &mut errors).await;
        }
        self.progress.step(n, "rejoin");
        let failed_over = seen
            .timeline
            .first(&EventKind::SwitchMaster, &target.master, fault_at)
            .is_some();
        let rejoined_at = if failed_over && !cancelled {
            self.wait_rejoin(&old, &mut seen).await
        } else {
            None
        };
        if cancelled {
            errors.push("cancelled".into());
        }
        self.drain(&mut seen);
        for f in episode::replay(&seen.timeline, &target.master) {
            crate::telemetry::failover::export(&f);
        }
        let obs = Observation {
            fault_at,
            old_primary: &old,
            master: &target.master,
            timeline: &seen.timeline,
            history: &history,
            first_acks: &seen.first_acks,
            loss: loss.as_ref(),
            rejoined_at,
            errors: &errors,
        };
        let (figures, verdict, reasons) = checker::check(&obs, &s.targets);
        TrialReport {
            trial: n,
            old_primary: Some(old.to_string()),
            fault: description,
            injected: true,
            figures,
            verdict,
            reasons,
        }
    }

    /// Follows the failover until `+switch-master` and a write on the new primary (or, when no
    /// failover is expected, for the whole observe window), reverting a pause when its time
    /// comes; then lets the workload settle. Returns whether the drill was cancelled.
    async fn observe(
        &mut self,
        fault_at: Instant,
        old: &Addr,
        seen: &mut Seen,
        applied: &mut Option<Applied>,
        target: &mut Target,
        errors: &mut Vec<String>,
    ) -> bool {
        let s = self.s;
        let master = target.master.clone();
        let expect = s.targets.expect_failover;
        let observe_end = fault_at + s.timing.observe;
        let resume_at = s
            .fault
            .timed()
            .then(|| fault_at + s.fault.duration.unwrap_or_default());
        let failed_over = |seen: &Seen| {
            expect
                && seen
                    .timeline
                    .first(&EventKind::SwitchMaster, &master, fault_at)
                    .is_some()
                && seen
                    .first_acks
                    .iter()
                    .any(|(n, at)| n != old && *at >= fault_at)
        };
        let mut settle_end = None;
        loop {
            let resume_due = resume_at.filter(|_| applied.is_some());
            let goal = settle_end.unwrap_or(observe_end);
            let deadline = resume_due.map_or(goal, |r| r.min(goal));
            let stop = match settle_end {
                None => self.pump(seen, deadline, failed_over).await,
                Some(_) => self.pump(seen, deadline, |_| false).await,
            };
            if resume_due.is_some_and(|r| Instant::now() >= r)
                && let Some(a) = applied.take()
            {
                revert(a, target, errors).await;
            }
            match (stop, settle_end) {
                (Stop::Cancelled, _) => {
                    if let Some(a) = applied.take() {
                        revert(a, target, errors).await;
                    }
                    return true;
                }
                (Stop::Reached, None) => settle_end = Some(Instant::now() + s.timing.settle),
                (Stop::Deadline, None) if Instant::now() >= observe_end => {
                    settle_end = Some(Instant::now() + s.timing.settle)
                }
                (Stop::Deadline, Some(end)) if Instant::now() >= end && resume_due.is_none() => {
                    return false;
                }
                _ => {}
            }
        }
    }

    /// Waits (up to `timing.rejoin`) until `node` answers PING (not LOADING).
    async fn wait_serving(&mut self, node: &Addr, seen: &mut Seen) -> bool {
        let deadline = Instant::now() + self.s.timing.rejoin;
        while Instant::now() < deadline {
            if let Ok(mut con) = client::connect(node, Timeouts::CONTROL).await
                && client::query::<String>(&mut con, node, &redis::cmd("PING"))
                    .await
                    .is_ok()
            {
                return true;
            }
            let next = Instant::now() + Duration::from_millis(100);
            if self.pump(seen, next, |_| false).await == Stop::Cancelled {
                return false;
            }
        }
        false
    }

    /// Waits (up to `timing.rejoin`) until the old primary is a replica with its link up.
    async fn wait_rejoin(&mut self, old: &Addr, seen: &mut Seen) -> Option<Instant> {
        let deadline = Instant::now() + self.s.timing.rejoin;
        while Instant::now() < deadline {
            if let Ok(mut con) = client::connect(old, Timeouts::CONTROL).await
                && let Ok(r) = client::replication(&mut con, old).await
                && !r.is_master()
                && r.link_up
            {
                return Some(Instant::now());
            }
            let next = Instant::now() + Duration::from_millis(100);
            if self.pump(seen, next, |_| false).await == Stop::Cancelled {
                return None;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_scenarios_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                load(&path).unwrap_or_else(|e| panic!("{e}"));
                n += 1;
            }
        }
        assert!(n >= 2);
    }
}
