//! The drill runner: sets up the target, then runs each trial as a state machine — warm-up →
//! pre-flight → (inject) → observe → settle — driven by one [`Input`] stream (Sentinel events,
//! writer reports, timers, the end of a timed fault, Ctrl-C). Every state leaves through
//! [`Ctx::finish`]: stop the workload, restart a downed primary that was not replaced, check
//! for loss, revert every fault, wait for the old primary to rejoin, and hand the recorded
//! history to the checker.
//!
//! Shutdown (Ctrl-C) is passed in; an injected fault is reverted on every path.

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::checker::{self, Observation};
use super::progress::Progress;
use super::report::{DrillReport, TrialReport};
use super::scenario::Scenario;
use super::target::{Target, inject_one, set_up};
use super::trial::{InEffect, Input, State, Trial};
use crate::addr::Addr;
use crate::client::{self, Timeouts};
use crate::error::{Error, Result};
use crate::sentinel::health::{self, Expect};
use crate::sentinel::monitor::{self, MonitorEvent};
use crate::sentinel::timeline::Timeline;
use crate::sentinel::topology;
use crate::watch::episode;
use crate::workload::tally::LossTally;
use crate::workload::{self, History, Plan};

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
    let (description, down_after_ms) = (target.description.clone(), target.down_after_ms);
    target.tear_down().await?;
    Ok(DrillReport::new(
        s.name.clone(),
        description,
        down_after_ms,
        trials,
    ))
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

    /// Runs trial `n` from warm-up to its report.
    async fn trial(&mut self, n: u32, target: &mut Target) -> TrialReport {
        let mut timeline = Timeline::new(MERGE_WINDOW);
        while let Ok(ev) = self.monitor_rx.try_recv() {
            ev.apply(&mut timeline);
        }
        let plan = Plan {
            config: self.s.workload.clone(),
            prefix: format!("session:{}-{n}", self.run_id),
            sentinels: target.sentinels.clone(),
            master: target.master.clone(),
            epoch: Instant::now(),
        };
        let mut t = Trial::start(n, plan, timeline);
        self.progress.step(n, "warm-up");
        let mut state = State::WarmUp {
            until: Instant::now() + self.s.timing.warmup,
        };
        while let Some(deadline) = state.deadline() {
            let input = self.next(&mut t, deadline).await;
            state = self.on(state, input, &mut t, target).await;
        }
        self.finish(t, target).await
    }

    /// Waits for the next input: whichever comes first of a Sentinel event, a writer report,
    /// `deadline`, the end of a timed fault, or cancellation.
    async fn next(&mut self, t: &mut Trial, deadline: Instant) -> Input {
        if self.cancelled() && !t.cancelled {
            return Input::Cancel;
        }
        let resume = t.resume_at();
        tokio::select! {
            Some(ev) = self.monitor_rx.recv() => Input::Sentinel(ev),
            Some(ev) = t.writers.recv() => Input::Write(ev),
            _ = tokio::time::sleep_until(deadline.into()) => Input::Timer,
            _ = tokio::time::sleep_until(resume.unwrap_or(deadline).into()), if resume.is_some() => {
                Input::FaultDone
            }
            Ok(()) = self.cancel.changed(), if !t.cancelled => Input::Cancel,
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
            Input::Write(ev) => self.progress.acked(t.record_write(ev)),
            Input::FaultDone => t.revert_fault(target).await,
            Input::Cancel => return t.cancel(),
            Input::Timer => return self.on_timer(state, t, target).await,
        }
        match state {
            State::Observe { .. }
                if self.s.targets.expect_failover && t.switched() && t.new_primary_acked =>
            {
                self.settle(t)
            }
            other => other,
        }
    }

    fn record_sentinel(&mut self, ev: MonitorEvent, t: &mut Trial) {
        if let MonitorEvent::Event { event, .. } = &ev {
            self.progress.event(&event.kind);
        }
        ev.apply(&mut t.timeline);
    }

    /// The state's deadline passed.
    async fn on_timer(&mut self, state: State, t: &mut Trial, target: &mut Target) -> State {
        match state {
            State::WarmUp { .. } => {
                self.progress.step(t.n, "pre-flight");
                let now = Instant::now();
                State::Preflight {
                    next: now,
                    until: now + self.s.timing.preflight,
                }
            }
            State::Preflight { until, .. } => self.preflight(t, target, until).await,
            State::Observe { .. } => self.settle(t),
            State::Settle { .. } | State::Finished => {
                t.revert_fault(target).await;
                State::Finished
            }
        }
    }

    /// The failover is over (or the observe window): settle until the later of the settle
    /// time and the end of a timed fault.
    fn settle(&mut self, t: &Trial) -> State {
        let until = Instant::now() + self.s.timing.settle;
        State::Settle {
            until: t.resume_at().map_or(until, |r| r.max(until)),
        }
    }

    /// Runs the health check; injects once it passes.
    async fn preflight(&mut self, t: &mut Trial, target: &mut Target, until: Instant) -> State {
        let expect = Expect {
            replicas: None,
            other_sentinels: None,
            max_lag_bytes: self.s.timing.max_lag_bytes,
            quorum: true,
        };
        match health::check(&target.sentinels, &target.master, &expect).await {
            Ok(h) => match h.primary.clone().filter(|_| h.ok()) {
                Some(primary) => self.inject(t, target, primary).await,
                None if Instant::now() >= until => {
                    t.fail(format!("pre-flight failed: {}", h.problems.join("; ")))
                }
                None => State::Preflight {
                    next: Instant::now() + Duration::from_millis(200),
                    until,
                },
            },
            Err(e) => t.fail(format!("pre-flight failed: {e}")),
        }
    }

    /// Injects `before` (if any), then the fault, on `old`, the primary.
    async fn inject(&mut self, t: &mut Trial, target: &mut Target, old: Addr) -> State {
        let s = self.s;
        let mut prefix = String::new();
        if let Some(b) = &s.before {
            let (d, result) = inject_one(b, &old, target).await;
            match result {
                Ok(applied) => {
                    t.before = Some(InEffect {
                        applied,
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
        let (d, result) = inject_one(&s.fault, &old, target).await;
        t.description = format!("{prefix}{d}");
        match result {
            Ok(applied) => {
                let until = s
                    .fault
                    .timed()
                    .then(|| fault_at + s.fault.duration.unwrap_or_default());
                t.fault = Some(InEffect { applied, until });
                t.injected = Some((old, fault_at));
                State::Observe {
                    until: fault_at + s.timing.observe,
                }
            }
            Err(e) => t.fail(format!("could not inject: {e}")),
        }
    }

    /// The one way out of a trial, whatever state it ended in: stop the workload, restart a
    /// downed primary nobody replaced, check for loss, revert every fault, wait for the old
    /// primary to rejoin, and judge.
    async fn finish(&mut self, mut t: Trial, target: &mut Target) -> TrialReport {
        let history = t.stop().await;
        self.drain(&mut t);
        let Some((old, fault_at)) = t.injected.clone() else {
            t.revert_all(target).await;
            return t.not_injected(self.s.fault.action.name());
        };
        if !t.switched() && t.fault.as_ref().is_some_and(|f| f.applied.is_down()) {
            // No failover: the primary is still the node that was taken down. Start it again
            // first, so the loss check reads what it kept (instead of failing to reach it).
            t.revert_fault(target).await;
            self.progress.step(t.n, "restart");
            if !self.wait_until(&mut t, serving, &old).await && !t.cancelled {
                t.errors.push(format!(
                    "{old} did not serve again within {} of its restart",
                    humantime::format_duration(self.s.timing.rejoin)
                ));
            }
        }
        self.progress.step(t.n, "loss check");
        let loss = self.loss_check(&mut t, &history, target).await;
        t.revert_all(target).await;
        self.progress.step(t.n, "rejoin");
        let back = t.switched() && !t.cancelled && self.wait_until(&mut t, rejoined, &old).await;
        let rejoined_at = back.then(Instant::now);
        self.drain(&mut t);
        for f in episode::replay(&t.timeline, &target.master) {
            crate::telemetry::failover::export(&f, &[]);
        }
        let obs = Observation {
            fault_at,
            old_primary: &old,
            master: &t.plan.master,
            timeline: &t.timeline,
            history: &history,
            loss: loss.as_ref(),
            rejoined_at,
            errors: &t.errors,
        };
        let (figures, verdict, reasons) = checker::check(&obs, &self.s.targets);
        TrialReport {
            trial: t.n,
            old_primary: Some(old.to_string()),
            fault: t.description,
            injected: true,
            figures,
            verdict,
            reasons,
        }
    }

    /// Applies whatever is queued without waiting.
    fn drain(&mut self, t: &mut Trial) {
        while let Ok(ev) = self.monitor_rx.try_recv() {
            ev.apply(&mut t.timeline);
        }
        while let Ok(ev) = t.writers.try_recv() {
            t.record_write(ev);
        }
    }

    /// Looks the trial's writes up on the primary the Sentinels name now.
    async fn loss_check(
        &mut self,
        t: &mut Trial,
        history: &History,
        target: &Target,
    ) -> Option<LossTally> {
        let primary =
            topology::ask_primary(&target.sentinels, &target.master, Timeouts::CONTROL).await;
        let loss = match primary {
            Ok(primary) => workload::loss::check(&t.plan, history, &primary).await,
            Err(e) => Err(e),
        };
        loss.map_err(|e| t.errors.push(format!("loss check: {e}")))
            .ok()
    }

    /// Polls `probe(node)` every 100 ms (up to `timing.rejoin`) until it holds; keeps taking
    /// inputs in between. False on timeout or cancellation.
    async fn wait_until<F, Fut>(&mut self, t: &mut Trial, probe: F, node: &Addr) -> bool
    where
        F: Fn(Addr) -> Fut,
        Fut: Future<Output = bool>,
    {
        let deadline = Instant::now() + self.s.timing.rejoin;
        while Instant::now() < deadline && !t.cancelled {
            if probe(node.clone()).await {
                return true;
            }
            let next = Instant::now() + Duration::from_millis(100);
            loop {
                match self.next(t, next).await {
                    Input::Timer => break,
                    Input::Cancel => _ = t.cancel(),
                    Input::Sentinel(ev) => _ = ev.apply(&mut t.timeline),
                    Input::Write(ev) => _ = t.record_write(ev),
                    Input::FaultDone => {}
                }
                if t.cancelled {
                    return false;
                }
            }
        }
        false
    }
}

/// Whether `node` answers PING (not LOADING).
async fn serving(node: Addr) -> bool {
    match client::connect(&node, Timeouts::CONTROL).await {
        Ok(mut con) => client::query::<String>(&mut con, &node, &redis::cmd("PING"))
            .await
            .is_ok(),
        Err(_) => false,
    }
}

/// Whether `node` is a replica with its link to the primary up.
async fn rejoined(node: Addr) -> bool {
    match client::connect(&node, Timeouts::CONTROL).await {
        Ok(mut con) => client::replication(&mut con, &node)
            .await
            .is_ok_and(|r| !r.is_master() && r.link_up),
        Err(_) => false,
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
