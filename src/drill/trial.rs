//! One trial's state: the states a trial moves through, the inputs that move it, and what it
//! holds while it runs — the workload, the faults in effect, the timeline and the problems met.
//!
//! Whatever state a trial ends in, [`Trial::stop`] stops its workload and [`Trial::revert_all`]
//! reverts its faults: the runner calls both on its one way out.

use std::time::{Instant, SystemTime};

use tokio::sync::mpsc;

use super::checker::Verdict;
use super::cluster::End;
use super::compare::Client;
use super::machine::{self, Facts, Stability, State};
use super::report::TrialReport;
use super::roles::Sampler;
use super::target::{Target, revert};
use crate::addr::Addr;
use crate::fault::Applied;
use crate::journal::Entry;
use crate::sentinel::event::EventKind;
use crate::sentinel::monitor::MonitorEvent;
use crate::sentinel::timeline::Timeline;
use crate::shutdown::Signal;
use crate::workload::history_file::HistoryFile;
use crate::workload::tally::LossTally;
use crate::workload::{History, Plan, Workload, WriterEvent};

/// The plans of trial `n`'s workloads, sharing one epoch: the first writes
/// `session:<run>-<n>:<seq>`, workload `i` `session:<run>-<n>.<i>:<seq>`.
pub(super) fn plans(
    s: &super::scenario::Scenario,
    run_id: &str,
    n: u32,
    target: &Target,
    log_dir: Option<&std::path::Path>,
) -> Vec<Plan> {
    let epoch = Instant::now();
    let prefix = |i: usize| match i {
        0 => format!("session:{run_id}-{n}"),
        i => format!("session:{run_id}-{n}.{i}"),
    };
    s.workloads
        .iter()
        .enumerate()
        .map(|(i, config)| Plan {
            config: config.clone(),
            prefix: prefix(i),
            sentinels: target.sentinels.clone(),
            master: target.master.clone(),
            conn: target.conn.clone(),
            epoch,
            log_dir: log_dir.map(std::path::Path::to_path_buf),
        })
        .collect()
}

/// What moves a trial forward (a closed set: nothing else wakes the runner).
#[derive(Debug)]
pub(super) enum Input {
    /// An event from a Sentinel, or a monitor connection change.
    Sentinel(MonitorEvent),
    /// A writer's report: its first ack on a newly connected primary, or progress.
    Write(WriterEvent),
    /// The current state's deadline passed.
    Timer,
    /// A timed fault (pause, disconnect, partition) has lasted its `duration`.
    FaultDone,
    /// The drill was cancelled by a signal (SIGINT, SIGTERM, SIGHUP).
    Cancel(Signal),
}

/// A fault in effect.
pub(super) struct InEffect {
    pub(super) applied: Applied,
    /// Its record in the fault journal, removed once it is reverted.
    pub(super) entry: Entry,
    /// When a timed fault is reverted.
    pub(super) until: Option<Instant>,
}

/// One trial in progress.
pub(super) struct Trial {
    pub(super) n: u32,
    /// One plan per workload (the first's epoch is every history's).
    pub(super) plans: Vec<Plan>,
    workloads: Vec<Workload>,
    /// Which workloads were acknowledged by a new primary after the fault.
    acked_new: Vec<bool>,
    /// Which workloads had a write acknowledged before the fault.
    writing: Vec<bool>,
    pub(super) writers: mpsc::UnboundedReceiver<WriterEvent>,
    pub(super) timeline: Timeline,
    /// The primary the fault hit, and the instant just before it (set once injected).
    pub(super) injected: Option<(Addr, Instant)>,
    /// The wall-clock time taken beside the fault's instant (the report's UTC origin).
    pub(super) fault_wall: Option<SystemTime>,
    /// When the fault was reverted (for the report's picture).
    pub(super) reverted_at: Option<Instant>,
    /// What was done, in words.
    pub(super) description: String,
    /// The `before` fault, then the fault.
    pub(super) before: Option<InEffect>,
    pub(super) fault: Option<InEffect>,
    /// Every workload was acknowledged by a primary other than the old one, after the fault.
    pub(super) new_primary_acked: bool,
    pub(super) cancelled: bool,
    pub(super) errors: Vec<String>,
    /// The two-primaries sampler, from the pre-flight that passed to the end of the trial.
    pub(super) roles: Option<Sampler>,
    /// The data nodes the pre-flight found (the primary first).
    pub(super) nodes: Vec<Addr>,
    /// What the trial's decisions depend on.
    pub(super) cfg: machine::Config,
    /// How long the cluster has been stable.
    pub(super) stability: Stability,
    /// How the trial ended: settled or not, the loss checks.
    pub(super) end: End,
}

impl Trial {
    /// Starts the workloads of trial `n`.
    pub(super) fn start(
        n: u32,
        plans: Vec<Plan>,
        timeline: Timeline,
        cfg: machine::Config,
    ) -> Trial {
        let (tx, writers) = mpsc::unbounded_channel();
        let workloads = plans
            .iter()
            .enumerate()
            .map(|(i, p)| Workload::start_as(i, p.clone(), tx.clone()))
            .collect();
        Trial {
            n,
            acked_new: vec![false; plans.len()],
            writing: vec![false; plans.len()],
            plans,
            workloads,
            writers,
            timeline,
            injected: None,
            fault_wall: None,
            reverted_at: None,
            description: String::new(),
            before: None,
            fault: None,
            new_primary_acked: false,
            cancelled: false,
            errors: Vec::new(),
            roles: None,
            nodes: Vec::new(),
            cfg,
            stability: Stability::default(),
            end: End::default(),
        }
    }

    /// What the trial's decisions need to know now.
    pub(super) fn facts(&self) -> Facts {
        Facts {
            switched: self.switched(),
            new_primary_acked: self.new_primary_acked,
            resume_at: self.resume_at(),
        }
    }

    /// Ends the trial with a problem.
    pub(super) fn fail(&mut self, why: String) -> State {
        self.errors.push(why);
        State::Finished
    }

    /// Ends the trial because the drill was cancelled by `sig`.
    pub(super) fn cancel(&mut self, sig: Signal) -> State {
        self.cancelled = true;
        self.fail(format!("cancelled by {}", sig.name()))
    }

    /// When the timed fault in effect is due to be reverted.
    pub(super) fn resume_at(&self) -> Option<Instant> {
        self.fault.as_ref().and_then(|f| f.until)
    }

    /// Records a writer's report; returns how many writes it acknowledged.
    pub(super) fn record_write(&mut self, ev: WriterEvent) -> u64 {
        match ev {
            WriterEvent::FirstAck {
                workload, node, at, ..
            } => {
                if self.injected.is_none()
                    && let Some(writing) = self.writing.get_mut(workload)
                {
                    *writing = true;
                }
                if let Some((old, fault_at)) = &self.injected
                    && node != *old
                    && node.port != 0
                    && at >= *fault_at
                    && let Some(acked) = self.acked_new.get_mut(workload)
                {
                    *acked = true;
                    self.new_primary_acked = self.acked_new.iter().all(|a| *a);
                }
                0
            }
            WriterEvent::Progress { acked } => acked,
            WriterEvent::Failed { workload, why } => {
                self.errors.push(why);
                // Nothing more to wait for from it.
                if let Some(done) = self.acked_new.get_mut(workload) {
                    *done = true;
                    self.new_primary_acked = self.acked_new.iter().all(|a| *a);
                }
                0
            }
        }
    }

    /// The first workload with no write acknowledged yet (a client still starting): no
    /// fault goes in before every workload writes, or its figures would measure nothing.
    pub(super) fn silent(&self) -> Option<String> {
        let i = self.writing.iter().position(|w| !w)?;
        Some(self.plans[i].config.name())
    }

    /// Whether any Sentinel announced `+switch-master` since the fault.
    pub(super) fn switched(&self) -> bool {
        self.injected.as_ref().is_some_and(|(_, fault_at)| {
            self.timeline
                .first(&EventKind::SwitchMaster, &self.plans[0].master, *fault_at)
                .is_some()
        })
    }

    /// Stops the workloads (together, once) and returns what each did, in scenario order.
    pub(super) async fn stop(&mut self) -> Vec<History> {
        let mut stopping = tokio::task::JoinSet::new();
        for (i, w) in self.workloads.drain(..).enumerate() {
            stopping.spawn(async move { (i, w.stop().await) });
        }
        let epoch = self.plans[0].epoch;
        let mut out: Vec<History> = (0..self.plans.len())
            .map(|_| History {
                epoch,
                writers: Vec::new(),
            })
            .collect();
        while let Some(res) = stopping.join_next().await {
            if let Ok((i, h)) = res {
                out[i] = h;
            }
        }
        out
    }

    /// Each workload's record, for the side-by-side judgement.
    pub(super) fn clients<'a>(
        &self,
        histories: &'a [History],
        losses: &'a [Option<LossTally>],
    ) -> Vec<Client<'a>> {
        let rows = self.plans.iter().zip(histories).zip(losses);
        rows.map(|((plan, history), loss)| Client {
            name: plan.config.name(),
            external: plan.config.command.is_some(),
            history,
            loss: loss.as_ref(),
        })
        .collect()
    }

    /// Appends every workload's writes to the history `file`, if one is written, with what
    /// the loss check found (`losses` empty: none ran); a failure is the trial's error, and no history file is written.
    pub(super) fn write_history(
        &mut self,
        file: &mut Option<HistoryFile>,
        histories: &[History],
        losses: &[Option<LossTally>],
    ) {
        let Some(f) = file.as_mut() else { return };
        let anchor = match (&self.injected, self.fault_wall) {
            (Some((_, at)), Some(wall)) => (*at, wall),
            _ => (Instant::now(), SystemTime::now()),
        };
        let each = self.plans.iter().zip(histories).enumerate();
        let written = each.map(|(i, (plan, history))| {
            let loss = losses.get(i).and_then(Option::as_ref);
            f.trial(self.n, plan, history, loss, anchor)
        });
        if let Err(e) = written.collect::<crate::error::Result<Vec<()>>>() {
            self.errors.push(format!("history not written: {e}"));
            *file = None;
        }
    }

    /// Reverts the fault, if it is still in effect.
    pub(super) async fn revert_fault(&mut self, target: &mut Target) {
        if let Some(f) = self.fault.take() {
            revert(f.applied, f.entry, target, &mut self.errors).await;
            self.reverted_at = Some(Instant::now());
        }
    }

    /// Reverts every fault still in effect, the newest first.
    pub(super) async fn revert_all(&mut self, target: &mut Target) {
        self.revert_fault(target).await;
        if let Some(b) = self.before.take() {
            revert(b.applied, b.entry, target, &mut self.errors).await;
        }
    }

    /// The report of a trial whose fault never went in.
    pub(super) fn not_injected(self, fault: &str) -> TrialReport {
        TrialReport {
            trial: self.n,
            old_primary: None,
            fault_wall: None,
            fault: match self.description.is_empty() {
                true => fault.to_string(),
                false => self.description,
            },
            injected: false,
            versus: false,
            figures: Default::default(),
            verdict: Verdict::Unknown,
            reasons: self.errors,
        }
    }
}
