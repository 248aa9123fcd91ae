//! Pure: several workloads side by side. Each is judged on its own against the same targets;
//! the trial's figures are the first workload's, its verdict the worst of all, and every
//! workload gets a row ([`ClientRow`]).

use super::checker::{self, Figures, Observation, Verdict};
use super::clients::ClientRow;
use super::evidence::signed_ms;
use super::scenario::Targets;
use crate::workload::History;
use crate::workload::tally::LossTally;

/// One workload's record in a trial.
#[derive(Debug)]
pub struct Client<'a> {
    /// Its name.
    pub name: String,
    /// An external program.
    pub external: bool,
    /// What it did.
    pub history: &'a History,
    /// What its loss check found, if it ran.
    pub loss: Option<&'a LossTally>,
}

/// Judges every client of a trial; `base` holds what they share (its history and loss are
/// ignored). Returns the trial's figures (the first client's, with every client's row), the
/// verdict and its reasons: the trial's errors, then each client's own (named when there
/// are several, once when every client has it).
pub fn judge(
    base: &Observation<'_>,
    clients: &[Client<'_>],
    targets: &Targets,
) -> (Figures, Verdict, Vec<String>) {
    let skip = base.errors.len();
    let mut judged = Vec::new();
    for c in clients {
        let o = Observation {
            history: c.history,
            loss: c.loss,
            ..*base
        };
        let (f, v, reasons) = checker::check(&o, targets);
        judged.push((f, v, reasons.get(skip..).unwrap_or_default().to_vec()));
    }
    let mut reasons = base.errors.to_vec();
    let mut verdict = match reasons.is_empty() {
        true => Verdict::Met,
        false => Verdict::Unknown,
    };
    for (c, (_, v, own)) in clients.iter().zip(&judged) {
        verdict = verdict.max(*v);
        for r in own {
            let shared = judged.iter().all(|(_, _, o)| o.contains(r));
            let r = match clients.len() > 1 && !shared {
                true => format!("{}: {r}", c.name),
                false => r.clone(),
            };
            if !reasons.contains(&r) {
                reasons.push(r);
            }
        }
    }
    let rows = clients
        .iter()
        .zip(&judged)
        .map(|(c, (f, v, _))| row(base, c, f, *v))
        .collect();
    let mut figures = judged.into_iter().next().map(|j| j.0).unwrap_or_default();
    figures.clients = rows;
    (figures, verdict, reasons)
}

fn row(base: &Observation<'_>, c: &Client<'_>, f: &Figures, verdict: Verdict) -> ClientRow {
    let gap = checker::unavailable(c.history, base.fault_at);
    ClientRow {
        name: c.name.clone(),
        external: c.external,
        client_rto_ms: f.client_rto_ms,
        unavailable_ms: f.unavailable_ms,
        unavailable_from_ms: gap.map(|(from, _)| signed_ms(from, base.fault_at)),
        acked: f.writes.acked,
        failed: f.writes.failed.values().sum(),
        unknown: f.writes.unknown,
        lost: f.lost.checked.map(|_| f.lost.count),
        lost_oldest_ms: f.lost.oldest_ms,
        lost_newest_ms: f.lost.newest_ms,
        lost_window_ms: f.lost.window_ms,
        verdict,
    }
}
