//! The one way out of a trial, whatever state it ended in: stop the workload, restart a
//! downed primary nobody replaced, check for loss on the primary the cluster settled on,
//! revert every fault, wait for the old primary to rejoin, check again after a later
//! failover, and judge what the trial saw.

use std::future::Future;
use std::time::{Duration, Instant};

use super::checker::Observation;
use super::compare;
use super::machine::{self, State};
use super::probe::{rejoined, serving};
use super::report::TrialReport;
use super::runner::Ctx;
use super::target::Target;
use super::trial::{Input, Trial};
use crate::addr::Addr;
use crate::client::Timeouts;
use crate::failover::episode;
use crate::sentinel::topology;
use crate::workload::tally::LossTally;
use crate::workload::{self, History};

impl Ctx<'_> {
    /// The one way out of a trial, whatever state it ended in: stop the workload, restart a
    /// downed primary nobody replaced, check for loss, revert every fault, wait for the old
    /// primary to rejoin, and judge.
    pub(super) async fn finish(&mut self, mut t: Trial, target: &mut Target) -> TrialReport {
        let histories = t.stop().await;
        self.drain(&mut t);
        let Some((old, fault_at)) = t.injected.clone() else {
            t.revert_all(target).await;
            t.write_history(&mut self.history, &histories, &[]);
            let name = self.s.fault_of(t.n).0.action.name();
            return t.not_injected(name);
        };
        self.restart_unreplaced(&mut t, target, &old).await;
        if t.cancelled {
            // Told to stop: the faults go first (a supervisor's SIGKILL may follow soon).
            t.revert_all(target).await;
        }
        self.progress.step(t.n, "loss check");
        let mut losses = self.loss_check(&mut t, &histories, target).await;
        let rejoined_at = self.rejoin(&mut t, target, &old).await;
        if let Some(again) = self.recheck(&mut t, &histories, target).await {
            losses = again;
        }
        t.write_history(&mut self.history, &histories, &losses);
        if t.cancelled && !(t.switched() && t.new_primary_acked) {
            // Whatever it counted, it is not a verdict on a finished failover.
            t.errors
                .push("cancelled: loss check taken before the failover finished".into());
        }
        let ended = Ended {
            old,
            fault_at,
            rejoined_at,
        };
        self.judge(t, target, &histories, &losses, ended).await
    }

    /// Stops the `ROLE` sampler, exports the failovers as traces, and judges what the trial
    /// saw.
    async fn judge(
        &mut self,
        mut t: Trial,
        target: &Target,
        histories: &[History],
        losses: &[Option<LossTally>],
        ended: Ended,
    ) -> TrialReport {
        let Ended {
            old,
            fault_at,
            rejoined_at,
        } = ended;
        let rounds = match t.roles.take() {
            Some(sampler) => sampler.stop().await,
            None => Vec::new(),
        };
        self.drain(&mut t);
        for f in episode::replay(&t.timeline, &target.master) {
            crate::telemetry::failover::export(&f, &[]);
        }
        t.end.settled = t.stability.settled().cloned();
        let obs = Observation {
            fault_at,
            old_primary: &old,
            master: &target.master,
            timeline: &t.timeline,
            history: &histories[0],
            loss: None,
            rejoined_at,
            reverted_at: t.reverted_at,
            errors: &t.errors,
            rounds: &rounds,
            sentinels: target.sentinels.len(),
            down_after: target.down_after_ms.map(Duration::from_millis),
            end: &t.end,
        };
        let clients = t.clients(histories, losses);
        let targets = self.s.targets_of(t.n);
        let (figures, verdict, reasons) = compare::judge(&obs, &clients, &targets);
        TrialReport {
            trial: t.n,
            old_primary: Some(old.to_string()),
            fault_wall: t.fault_wall,
            fault: t.description,
            injected: true,
            versus: false,
            figures,
            verdict,
            reasons,
        }
    }

    /// Reverts every fault and, after a failover, waits for the old primary to rejoin as a
    /// replica; when it did.
    async fn rejoin(&mut self, t: &mut Trial, target: &mut Target, old: &Addr) -> Option<Instant> {
        t.revert_all(target).await;
        self.progress.step(t.n, "rejoin");
        let conn = target.conn.clone();
        let rejoined = |n| rejoined(conn.clone(), n);
        let back = t.switched() && !t.cancelled && self.wait_until(t, rejoined, old).await;
        back.then(Instant::now)
    }

    /// No failover, and the fault took the primary down: it is still the primary, so start it
    /// again first (unless the settle timer did), and wait until it serves: the loss check
    /// reads what it kept (instead of failing to reach it, or finding it still loading).
    async fn restart_unreplaced(&mut self, t: &mut Trial, target: &mut Target, old: &Addr) {
        let down = t.fault.as_ref().is_some_and(|f| f.applied.is_down());
        // Reverted already (restarted when the settle time ended), it may still be loading.
        if t.switched() || !(down || t.reverted_at.is_some()) {
            return;
        }
        if down {
            t.revert_fault(target).await;
            self.progress.step(t.n, "restart");
        }
        let conn = target.conn.clone();
        let serving = |n| serving(conn.clone(), n);
        if !self.wait_until(t, serving, old).await && !t.cancelled {
            t.errors.push(format!(
                "{old} did not serve again within {} of its restart",
                humantime::format_duration(self.s.timing.rejoin)
            ));
        }
    }

    /// Applies whatever is queued without waiting.
    pub(super) fn drain(&mut self, t: &mut Trial) {
        self.drain_into(&mut t.timeline);
        while let Ok(ev) = t.writers.try_recv() {
            t.record_write(ev);
        }
    }

    /// Looks each workload's writes up on the primary the cluster settled on, else the one
    /// most Sentinels name now (a Sentinel restarted after missing the failover names the
    /// old primary until it hears the others); records the check in the trial's end.
    async fn loss_check(
        &mut self,
        t: &mut Trial,
        histories: &[History],
        target: &Target,
    ) -> Vec<Option<LossTally>> {
        let (conn, sentinels, master) = (&target.conn, &target.sentinels, &target.master);
        let primary = match t.stability.settled() {
            Some((_, p)) => Ok(p.clone()),
            None => {
                let t = Timeouts::CONTROL;
                let answers = topology::primary_per_sentinel(conn, sentinels, master, t).await;
                match crate::sentinel::view::most_named(&answers) {
                    Some(primary) => Ok(primary),
                    None => topology::ask_primary(conn, sentinels, master, t).await,
                }
            }
        };
        let primary = match primary {
            Ok(p) => p,
            Err(e) => {
                t.errors.push(format!("loss check: {e}"));
                return vec![None; histories.len()];
            }
        };
        let mut out = Vec::new();
        let at = Instant::now();
        for (plan, history) in t.plans.iter().zip(histories) {
            let who = match t.plans.len() {
                1 => String::new(),
                _ => format!(" of `{}`", plan.config.name()),
            };
            match workload::loss::check(plan, history, &primary).await {
                Ok(l) => out.push(Some(l)),
                Err(e) => {
                    t.errors.push(format!("loss check{who}: {e}"));
                    out.push(None);
                }
            }
        }
        let lost = out.first().and_then(|l| l.as_ref().map(|l| l.lost));
        t.end.checks.push((at, primary, lost));
        out
    }

    /// When a failover started after the loss check, the primary it read was replaced: settle
    /// again, then check again; the new tallies (`None`: no failover started).
    async fn recheck(
        &mut self,
        t: &mut Trial,
        histories: &[History],
        target: &mut Target,
    ) -> Option<Vec<Option<LossTally>>> {
        let why = self.failover_after_check(t)?;
        self.progress.step(t.n, "stabilize again");
        t.stability.reset();
        let now = Instant::now();
        let again = State::Stabilize {
            next: now,
            until: now + t.cfg.stabilize_bound(),
        };
        self.run(again, t, target).await;
        t.end.rechecked = Some(why);
        Some(self.loss_check(t, histories, target).await)
    }

    /// Why the loss check must run again: a failover that started after the last check
    /// (`None`: none did, or the trial was cancelled).
    fn failover_after_check(&mut self, t: &mut Trial) -> Option<String> {
        self.drain(t);
        let (at, primary, _) = t.end.checks.last()?;
        let why = machine::failover_since(&t.timeline, &t.plans[0].master, *at)?;
        (!t.cancelled).then(|| format!("{why} after the check on {primary}"))
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
                    Input::Cancel(sig) => _ = t.cancel(sig),
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

/// Where an injected trial ended: the primary the fault hit, the fault's instant, and when
/// the old primary was back as a replica.
struct Ended {
    old: Addr,
    fault_at: Instant,
    rejoined_at: Option<Instant>,
}
