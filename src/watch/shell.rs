//! The watch's shell: does what the pure core ([`super::core`]) decides — prints each line,
//! moves the metrics, logs every hazard at WARN, exports each ended failover's trace, draws
//! its picture (`--svg`), and starts the check of each `+switch-master`
//! ([`super::poll::confirm_switch`]), whose result comes back through a channel.

use std::io::Write;
use std::time::SystemTime;

use tokio::sync::mpsc;

use super::WatchSpec;
use super::core::{Core, Ended, Metric, Out, Verified, Verify};
use super::print::Printer;
use super::{picture, poll};
use crate::conn::Role;
use crate::error::{Error, Result};
use crate::failover::episode::Failover;
use crate::failover::hazard::{Hazard, HazardKind, State};
use crate::metrics::Metrics;
use crate::sentinel::monitor::Rejected;

/// Whether the watch goes on after a batch of outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flow {
    Go,
    /// The `--episodes` limit is reached.
    Limit,
}

/// What the shell holds: the printer, the spec, each group's metrics, the channel the
/// checks answer on, the episodes ended.
pub(super) struct Shell<'a, W> {
    pub(super) p: Printer<'a, W>,
    pub(super) spec: &'a WatchSpec,
    /// The metrics, with each group's `group` label.
    pub(super) metrics: Vec<Metrics>,
    pub(super) verify_tx: mpsc::UnboundedSender<Verified>,
    pub(super) ended: Vec<Failover>,
}

impl<W: Write> Shell<'_, W> {
    /// Does `outs` in order (`core`: for what a picture draws); stops at a write error, a
    /// refusal at startup (the error) or the `--episodes` limit.
    pub(super) fn run(&mut self, core: &Core, outs: Vec<Out>) -> Result<Flow> {
        for o in outs {
            match o {
                Out::Connection {
                    source,
                    link,
                    gap,
                    reason,
                } => self
                    .p
                    .connection(source, link.as_str(), gap, reason.as_deref())?,
                Out::Primary {
                    source,
                    master,
                    addr,
                    config_epoch,
                    stale,
                } => self
                    .p
                    .primary(source, &master, &addr, config_epoch, stale)?,
                Out::Event(entry) => self.p.event(&entry)?,
                Out::Topology { group, snapshot } => {
                    let name = &self.spec.groups[group].name;
                    self.p.topology(name, &snapshot)?;
                }
                Out::Hazard {
                    group,
                    wall,
                    hazard,
                } => self.hazard(group, wall, &hazard)?,
                Out::Ended(e) => self.ended(core, *e)?,
                Out::Verify(v) => self.verify(v),
                Out::Metric { group, metric } => self.metric(group, metric),
                Out::Refused {
                    group,
                    source,
                    rejected,
                } => {
                    return Err(match rejected {
                        Rejected::Auth(detail) => {
                            let sentinel = &self.p.sentinels[source];
                            self.spec.conns[group].auth_failed(Role::Sentinel, sentinel, &detail)
                        }
                        Rejected::Tls(line) => Error::Tls { message: line },
                    });
                }
                Out::Limit => return Ok(Flow::Limit),
            }
        }
        Ok(Flow::Go)
    }

    /// The one place a hazard goes out: a WARN log line, the output, the count (the
    /// `warden_hazards_total` metric) and, for TILT, its gauge (a poll may raise or end
    /// TILT too: the gauge follows the hazard).
    fn hazard(&mut self, g: usize, wall: SystemTime, h: &Hazard) -> Result<()> {
        let group = &self.spec.groups[g].name;
        tracing::warn!(group = %group, "{h}");
        if h.state == State::Raised {
            self.metrics[g].hazard(&h.master, h.kind.as_str());
        }
        if let (HazardKind::Tilt, Some(s)) = (h.kind, &h.subject) {
            let on = h.state == State::Raised;
            self.metrics[g].set_tilt(&h.master, s, on);
        }
        self.p.hazard(group, wall, h)
    }

    /// Prints, counts and exports an ended episode with the hazards its record raises,
    /// draws it (`--svg`) and keeps it.
    fn ended(&mut self, core: &Core, e: Ended) -> Result<()> {
        let g = e.group;
        let group = &self.spec.groups[g].name;
        self.p.failover(group, &e.failover)?;
        self.metrics[g].record(&e.failover);
        for h in &e.hazards {
            self.hazard(g, e.wall, h)?;
        }
        let group = &self.spec.groups[g].name;
        crate::telemetry::failover::export_in(Some(group), &e.failover, &e.during);
        if let Some(dir) = &self.spec.svg {
            picture::write(dir, core.group(g), &e.failover, &e.nodes);
        }
        self.ended.push(e.failover);
        Ok(())
    }

    /// Checks a `+switch-master` in a task of its own; the result comes back as an input.
    fn verify(&self, v: Verify) {
        let tx = self.verify_tx.clone();
        let conn = self.spec.conns[v.group].clone();
        let sentinels = self.spec.groups[v.group].sentinels.clone();
        tokio::spawn(async move {
            let result = poll::confirm_switch(&conn, &sentinels, &v.master, &v.new, v.epoch).await;
            let _ = tx.send(Verified {
                group: v.group,
                master: v.master,
                entry: v.entry,
                result,
            });
        });
    }

    fn metric(&self, g: usize, metric: Metric) {
        let metrics = &self.metrics[g];
        match metric {
            Metric::Watching { master, up, tilted } => {
                metrics.watching(&master, &self.spec.groups[g].sentinels);
                for s in up {
                    metrics.set_sentinel_up(&master, &s, true);
                }
                for s in tilted {
                    metrics.set_tilt(&master, &s, true);
                }
            }
            Metric::Report {
                masters,
                report,
                gap,
            } => metrics.report(&masters, self.p.sentinels, &report, gap),
            Metric::Polled {
                master,
                snapshot,
                bytes_per_sec,
            } => metrics.polled(&master, &snapshot, bytes_per_sec),
        }
    }

    /// Every followed master's primary, as far as its episodes know, to the metrics.
    pub(super) fn publish_primaries(&self, core: &Core) {
        for (g, m, addr) in core.primaries() {
            self.metrics[g].set_primary(m, &addr.to_string());
        }
    }
}
