//! The drill runner: sets up the target, then runs each trial as a state machine — warm-up →
//! pre-flight → (inject) → observe → settle → stabilize — driven by one [`Input`] stream
//! (Sentinel events, writer reports, timers, the end of a timed fault, Ctrl-C). The decisions
//! are the pure [`super::machine`]'s; this module does the I/O they ask for. Every state
//! leaves through [`Ctx::finish`]: stop the workload, restart a downed primary that was not
//! replaced, check for loss on the primary the cluster settled on, revert every fault, wait
//! for the old primary to rejoin — and when a failover started after the loss check, settle
//! and check again — then hand the recorded history to the checker.
//!
//! Shutdown (SIGINT, SIGTERM or SIGHUP) is passed in; an injected fault is reverted on every
//! path, and recorded in the fault journal ([`crate::journal`]) while it is in effect, so a
//! drill killed outright leaves a record `warden heal` reverts.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, watch};

use super::machine::{self, Action, State};
use super::progress::Progress;
use super::report::{DrillReport, Header, TrialReport, UntilStable};
use super::roles::Sampler;
use super::scenario::Scenario;
use super::target::{Target, inject_one, set_up};
use super::trial::{InEffect, Input, Trial, plans};
use crate::addr::Addr;
use crate::client::{self, Timeouts};
use crate::error::{Error, Result};
use crate::sentinel::health::{self, Expect};
use crate::sentinel::monitor::{self, MonitorEvent};
use crate::sentinel::timeline::Timeline;
use crate::sentinel::topology;
use crate::shutdown::Signal;
use crate::workload::WriterEvent;
use crate::workload::history_file::HistoryFile;

/// Reports from two Sentinels of one occurrence merge when this close together.
const MERGE_WINDOW: Duration = Duration::from_secs(15);

pub(crate) use super::load::load;
use super::probe::{self, workload_allowed};
pub(crate) use super::target::dry_run;

/// What a drill does beyond its scenario.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Draw a status line on stderr.
    pub progress: bool,
    /// Write every write's outcome to this file (JSON lines, renamed into place at the end).
    pub history: Option<std::path::PathBuf>,
    /// Stop before `trials` once the client RTO's p95 is stable.
    pub until_stable: Option<UntilStable>,
    /// Where external clients' stderr logs go (the report's directory; `None`: the temp dir).
    pub client_logs: Option<std::path::PathBuf>,
}

/// Runs the drill; returns its report. `progress` draws a status line on stderr. When
/// `shutdown` resolves, the trial in progress ends (its faults reverted, its workload
/// stopped, its reasons saying which signal cancelled it), no further trial starts, and the
/// partial report is returned, marked as cancelled.
pub async fn run(
    scenario: &Scenario,
    given: &crate::conn::Spec,
    progress: bool,
    shutdown: impl Future<Output = Signal>,
) -> Result<DrillReport> {
    let opts = Options {
        progress,
        ..Options::default()
    };
    run_with(scenario, given, &opts, shutdown).await
}

/// [`run`], with a history file and the `--until-stable` rule.
pub(crate) async fn run_with(
    scenario: &Scenario,
    given: &crate::conn::Spec,
    opts: &Options,
    shutdown: impl Future<Output = Signal>,
) -> Result<DrillReport> {
    let (cancel_tx, cancel) = watch::channel(None);
    let watcher = async move {
        tokio::select! {
            s = shutdown => { let _ = cancel_tx.send(Some(s)); }
            _ = cancel_tx.closed() => {}
        }
    };
    let (report, ()) = tokio::join!(drill(scenario, given, opts, cancel), watcher);
    report
}

async fn drill(
    s: &Scenario,
    given: &crate::conn::Spec,
    opts: &Options,
    cancel: watch::Receiver<Option<Signal>>,
) -> Result<DrillReport> {
    let started = SystemTime::now();
    let history = opts
        .history
        .as_deref()
        .map(HistoryFile::create)
        .transpose()?;
    let run_id = format!("{:08x}", rand::random::<u32>());
    let mut target = set_up(s, given, &run_id).await?;
    if target.down_after_ms.is_none() {
        target.down_after_ms = probe::down_after_ms(&target).await;
    }
    let server = server_of(&target).await;
    if let Some(why) = server.as_ref().and_then(|v| unsupported(s, v)) {
        target.tear_down().await?;
        return Err(Error::Usage(why));
    }
    let (tx, monitor_rx) = mpsc::unbounded_channel();
    let monitor = monitor::spawn(
        &target.conn,
        &target.sentinels,
        monitor::Backoff::default(),
        tx,
    );
    let mut ctx = Ctx {
        s,
        monitor_rx,
        cancel,
        progress: Progress::new(opts.progress, s.trials),
        run_id,
        history,
        client_logs: opts.client_logs.clone(),
    };
    let trials = ctx.trials(&mut target, opts.until_stable).await;
    ctx.progress.clear();
    drop(monitor);
    let cancelled = *ctx.cancel.borrow();
    let header = Header {
        scenario: s.name.clone(),
        target: target.description.clone(),
        down_after_ms: target.down_after_ms,
        server: server.map(|v| v.to_string()),
        started: Some(started),
        sentinels: target.sentinels.iter().map(|a| a.to_string()).collect(),
        targets: s.targets.clone(),
        cancelled: cancelled.map(|s| s.name().to_string()),
        until_stable: opts.until_stable.map(|u| u.outcome(&client_rtos(&trials))),
    };
    target.tear_down().await?;
    if let Some(h) = ctx.history.take() {
        h.commit()?;
    }
    Ok(DrillReport::new(header, trials))
}

/// The client RTOs the trials measured, in trial order.
fn client_rtos(trials: &[TrialReport]) -> Vec<f64> {
    trials
        .iter()
        .filter_map(|t| t.figures.client_rto_ms)
        .collect()
}

/// The primary's server family and version, for the report; `None` when it cannot be asked.
async fn server_of(target: &Target) -> Option<crate::server::ServerVersion> {
    let t = Timeouts::CONTROL;
    let primary = topology::ask_primary(&target.conn, &target.sentinels, &target.master, t)
        .await
        .ok()?;
    let mut con = target.conn.node(&primary, t).await.ok()?;
    client::server_version(&mut con, &primary).await.ok()
}

/// Why the primary's server cannot carry out one of the scenario's faults, if it cannot.
fn unsupported(s: &Scenario, server: &crate::server::ServerVersion) -> Option<String> {
    s.faults()
        .find_map(|(table, f)| Some(format!("[{table}]: {}", f.runs_on(server).err()?)))
}

/// What every trial of a drill shares: the scenario, the Sentinels' events, cancellation,
/// the progress line, the history file.
pub(super) struct Ctx<'a> {
    pub(super) s: &'a Scenario,
    monitor_rx: mpsc::UnboundedReceiver<MonitorEvent>,
    cancel: watch::Receiver<Option<Signal>>,
    pub(super) progress: Progress,
    run_id: String,
    /// The history file being written (`None`: not asked for, or its writing failed).
    pub(super) history: Option<HistoryFile>,
    /// Where external clients' stderr logs go.
    client_logs: Option<std::path::PathBuf>,
}

impl Ctx<'_> {
    fn cancelled(&self) -> bool {
        self.cancel.borrow().is_some()
    }

    /// The signal that cancelled the drill (SIGINT when told to stop without one).
    fn signal(&self) -> Signal {
        self.cancel.borrow().unwrap_or(Signal::Int)
    }

    /// Runs the trials until the scenario's count, a cancellation, or (`until`) a stable p95.
    async fn trials(
        &mut self,
        target: &mut Target,
        until: Option<UntilStable>,
    ) -> Vec<TrialReport> {
        let mut trials = Vec::new();
        for n in 1..=self.s.trials {
            let stable = until.is_some_and(|u| u.outcome(&client_rtos(&trials)).stable);
            if self.cancelled() || stable {
                break;
            }
            trials.push(self.trial(n, target).await);
        }
        trials
    }

    /// Runs trial `n` from warm-up to its report.
    async fn trial(&mut self, n: u32, target: &mut Target) -> TrialReport {
        let mut timeline = Timeline::new(MERGE_WINDOW);
        self.drain_into(&mut timeline);
        let plans = plans(self.s, &self.run_id, n, target, self.client_logs.as_deref());
        let timing = &self.s.timing;
        let cfg = machine::Config {
            expect_failover: self.s.targets_of(n).expect_failover,
            observe: timing.observe,
            settle: timing.settle,
            stable_for: (timing.stable)
                .unwrap_or_else(|| machine::Config::default_window(target.down_after_ms)),
        };
        let mut t = Trial::start(n, plans, timeline, cfg);
        self.progress.step(n, "warm-up");
        let warm_up = State::WarmUp {
            until: Instant::now() + timing.warmup,
        };
        self.run(warm_up, &mut t, target).await;
        let mut report = self.finish(t, target).await;
        report.versus = self.s.fault_of(n).1;
        report
    }

    /// Applies the Sentinel events queued so far to `timeline`, without waiting.
    pub(super) fn drain_into(&mut self, timeline: &mut Timeline) {
        while let Ok(ev) = self.monitor_rx.try_recv() {
            ev.apply(timeline);
        }
    }

    /// Runs the trial's states from `state` until it is finished.
    pub(super) async fn run(&mut self, mut state: State, t: &mut Trial, target: &mut Target) {
        while let Some(deadline) = state.deadline() {
            let input = self.next(t, deadline).await;
            state = self.on(state, input, t, target).await;
        }
    }

    /// Waits for the next input: whichever comes first of a Sentinel event, a writer report,
    /// `deadline`, the end of a timed fault, or cancellation.
    pub(super) async fn next(&mut self, t: &mut Trial, deadline: Instant) -> Input {
        if self.cancelled() && !t.cancelled {
            return Input::Cancel(self.signal());
        }
        let resume = t.resume_at();
        tokio::select! {
            Some(ev) = self.monitor_rx.recv() => Input::Sentinel(ev),
            Some(ev) = t.writers.recv() => Input::Write(ev),
            _ = tokio::time::sleep_until(deadline.into()) => Input::Timer,
            _ = tokio::time::sleep_until(resume.unwrap_or(deadline).into()), if resume.is_some() => {
                Input::FaultDone
            }
            Ok(()) = self.cancel.changed(), if !t.cancelled => Input::Cancel(self.signal()),
        }
    }

    /// Applies `input` in `state`; returns the next state.
    async fn on(
        &mut self,
        state: State,
        input: Input,
        t: &mut Trial,
        target: &mut Target,
    ) -> State {
        match input {
            Input::Sentinel(ev) => self.record_sentinel(ev, t),
            // No fault goes in while a client is missing; once it is in, the others go on.
            Input::Write(WriterEvent::Failed { why, .. }) if t.injected.is_none() => {
                return t.fail(why);
            }
            Input::Write(ev) => self.progress.acked(t.record_write(ev)),
            Input::FaultDone => t.revert_fault(target).await,
            Input::Cancel(sig) => return t.cancel(sig),
            Input::Timer => return self.on_timer(state, t, target).await,
        }
        machine::on_progress(state, &t.facts(), &t.cfg, Instant::now())
    }

    fn record_sentinel(&mut self, ev: MonitorEvent, t: &mut Trial) {
        if let MonitorEvent::Event { event, .. } = &ev {
            self.progress.event(&event.kind);
        }
        ev.apply(&mut t.timeline);
    }

    /// The state's deadline passed: the machine decides, this does what it asks.
    async fn on_timer(&mut self, state: State, t: &mut Trial, target: &mut Target) -> State {
        let preflight = self.s.timing.preflight;
        let (next, action) =
            machine::on_timer(state, &t.facts(), &t.cfg, preflight, Instant::now());
        let next = match action {
            Action::Wait => next,
            Action::Preflight { until } => return self.preflight(t, target, until).await,
            Action::RevertFault => {
                t.revert_fault(target).await;
                next
            }
            Action::Probe => {
                let seen = probe::cluster(target, &t.nodes).await;
                t.stability.observe(next, &seen, &t.cfg, Instant::now())
            }
        };
        match (state, next) {
            (State::Stabilize { .. }, State::Finished) if t.stability.settled().is_none() => {
                t.end.unstable = Some(format!(
                    "not stable within {}: {}",
                    humantime::format_duration(t.cfg.stabilize_bound()),
                    t.stability.why_not(Instant::now())
                ));
            }
            (State::Settle { .. }, State::Stabilize { .. }) => self.progress.step(t.n, "stabilize"),
            _ => {}
        }
        next
    }

    /// Runs the health check, then waits for every workload to write; injects once both
    /// pass.
    async fn preflight(&mut self, t: &mut Trial, target: &mut Target, until: Instant) -> State {
        let expect = Expect {
            replicas: None,
            other_sentinels: None,
            max_lag_bytes: self.s.timing.max_lag_bytes,
            quorum: true,
        };
        let why =
            match health::check(&target.conn, &target.sentinels, &target.master, &expect).await {
                Ok(h) => match h.primary.clone().filter(|_| h.ok()) {
                    Some(primary) => match workload_allowed(target, &primary, until).await {
                        // A client still starting holds the fault back: its figures would
                        // measure nothing.
                        Ok(true) => match t.silent() {
                            Some(_) if Instant::now() < until => return preflight_again(until),
                            Some(name) => format!(
                                "workload `{name}` had no write acknowledged within {} (warm-up \
                             and pre-flight)",
                                humantime::format_duration(
                                    self.s.timing.warmup + self.s.timing.preflight
                                )
                            ),
                            None => {
                                let nodes = std::iter::once(primary.clone()).chain(h.replicas);
                                t.nodes = nodes.collect();
                                t.roles = Some(Sampler::start(&target.conn, t.nodes.clone()));
                                return self.inject(t, target, primary).await;
                            }
                        },
                        Ok(false) => return preflight_again(until),
                        Err(why) => why,
                    },
                    None if Instant::now() >= until => format!(
                        "the cluster was not healthy within {}: {}",
                        humantime::format_duration(self.s.timing.preflight),
                        h.problems.join("; ")
                    ),
                    None => return preflight_again(until),
                },
                Err(e) => e.to_string(),
            };
        let mut message = format!("pre-flight failed, no fault injected: {why}");
        for hint in target.preflight_hints(&why) {
            message += &format!("; {hint}");
        }
        t.fail(message)
    }

    /// Injects `before` (if any), then the fault, on `old`, the primary.
    async fn inject(&mut self, t: &mut Trial, target: &mut Target, old: Addr) -> State {
        let s = self.s;
        let fault = s.fault_of(t.n).0;
        let mut prefix = String::new();
        if let Some(b) = &s.before {
            let (d, result) = inject_one(b, &old, target, &self.run_id).await;
            match result {
                Ok((applied, entry)) => {
                    t.before = Some(InEffect {
                        applied,
                        entry,
                        until: None,
                    })
                }
                Err(e) => {
                    t.description = d;
                    return t.fail(format!("could not inject `before`: {e}"));
                }
            }
            prefix = format!("before: {d}; then: ");
        }
        self.progress.step(t.n, "fault");
        let fault_at = Instant::now();
        t.fault_wall = Some(SystemTime::now());
        let (d, result) = inject_one(fault, &old, target, &self.run_id).await;
        t.description = format!("{prefix}{d}");
        match result {
            Ok((applied, entry)) => {
                let until = fault
                    .timed()
                    .then(|| fault_at + fault.duration.unwrap_or_default());
                t.fault = Some(InEffect {
                    applied,
                    entry,
                    until,
                });
                t.injected = Some((old, fault_at));
                State::Observe {
                    until: fault_at + s.timing.observe,
                }
            }
            Err(e) => t.fail(format!("could not inject: {e}")),
        }
    }
}

/// The pre-flight, asked again in 200 ms.
fn preflight_again(until: Instant) -> State {
    State::Preflight {
        next: Instant::now() + Duration::from_millis(200),
        until,
    }
}
