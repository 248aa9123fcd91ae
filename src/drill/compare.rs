//! Pure: several workloads side by side. Each is judged on its own against the same targets;
//! the trial's figures are the first workload's, its verdict the worst of all, and every
//! workload gets a row ([`ClientRow`]).

use super::checker::{self, Figures, Observation, Verdict};
use super::clients::ClientRow;
use super::evidence::signed_ms;
use super::scenario::Targets;
use crate::workload::history::History;
use crate::workload::tally::LossTally;

/// One workload's record in a trial.
#[derive(Debug)]
pub(crate) struct Client<'a> {
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
pub(crate) fn judge(
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant, SystemTime};

    use super::*;
    use crate::addr::Addr;
    use crate::sentinel::event::parse;
    use crate::sentinel::timeline::Timeline;
    use crate::workload::history::{Ack, WriterHistory};

    /// µs since the epoch of `ms` after the fault (which is 10 s after the epoch).
    fn us(ms: i64) -> u32 {
        (10_000_000 + ms * 1000) as u32
    }

    /// One writer: acks at these ms from the fault on port 1 (the old primary), then port 2.
    fn history(epoch: Instant, on_old: &[i64], on_new: &[i64]) -> History {
        let mut w = WriterHistory::default();
        let mut seq = 0;
        for (port, times) in [(1, on_old), (2, on_new)] {
            w.begin_era(Addr::local(port));
            for &ms in times {
                w.acks.push(Ack {
                    seq,
                    invoke_us: us(ms),
                    at_us: us(ms),
                });
                seq += 1;
            }
        }
        History {
            epoch,
            writers: vec![w],
        }
    }

    fn loss(lost_at_ms: &[i64]) -> LossTally {
        let mut t = LossTally {
            checked: 10,
            ..LossTally::default()
        };
        for (seq, &ms) in lost_at_ms.iter().enumerate() {
            let ack = Ack {
                seq: seq as u32,
                invoke_us: us(ms),
                at_us: us(ms),
            };
            t.lost_one(|| format!("k:{seq}"), ack, &Addr::local(1));
        }
        t
    }

    fn judged(switch: bool) -> (Figures, Verdict, Vec<String>) {
        let epoch = Instant::now();
        let fault_at = epoch + Duration::from_secs(10);
        let mut timeline = Timeline::new(Duration::from_secs(15));
        if switch {
            let event = parse("+switch-master", "m 127.0.0.1 1 127.0.0.1 2");
            let at = fault_at + Duration::from_millis(2000);
            timeline.ingest(0, at, SystemTime::UNIX_EPOCH, event);
        }
        let (fast, slow) = (
            history(epoch, &[-10], &[2100, 2200]),
            history(epoch, &[-20, 5000], &[3000, 3100]),
        );
        let (fast_loss, slow_loss) = (loss(&[]), loss(&[5000]));
        let old = Addr::local(1);
        let base = Observation {
            fault_at,
            old_primary: &old,
            master: "m",
            timeline: &timeline,
            history: &fast,
            loss: None,
            rejoined_at: None,
            reverted_at: None,
            errors: &[],
            rounds: &[],
            sentinels: 1,
            down_after: None,
            end: &crate::drill::cluster::End::default(),
        };
        let client = |name: &str, history, loss| Client {
            name: name.into(),
            external: name == "slow",
            history,
            loss: Some(loss),
        };
        let clients = [
            client("fast", &fast, &fast_loss),
            client("slow", &slow, &slow_loss),
        ];
        let targets = Targets {
            rto_ms: Some(2500),
            ..Targets::default()
        };
        judge(&base, &clients, &targets)
    }

    #[test]
    fn every_client_is_judged_and_the_one_that_misses_is_named() {
        let (f, verdict, reasons) = judged(true);
        assert_eq!(verdict, Verdict::Missed);
        assert_eq!(reasons, ["slow: client RTO 3000 ms > target 2500 ms"]);
        // The trial's figures are the first client's; each has its row.
        assert_eq!(f.client_rto_ms, Some(2100.0));
        let rows: Vec<_> = f
            .clients
            .iter()
            .map(|c| (c.name.as_str(), c.client_rto_ms, c.lost, c.verdict))
            .collect();
        assert_eq!(
            rows,
            [
                ("fast", Some(2100.0), Some(0), Verdict::Met),
                ("slow", Some(3000.0), Some(1), Verdict::Missed),
            ]
        );
        // The slow client's silence ran from its last ack before the fault to its first after.
        let slow = &f.clients[1];
        assert_eq!(slow.unavailable_from_ms, Some(-20.0));
        assert_eq!(slow.unavailable_ms, Some(3020.0));
        assert_eq!(slow.lost_window_ms, Some(0.0));
        assert!(slow.external && !f.clients[0].external);
    }

    #[test]
    fn a_reason_every_client_shares_is_given_once() {
        let (_, verdict, reasons) = judged(false);
        assert_eq!(verdict, Verdict::Missed);
        assert_eq!(reasons[0], "no failover: no +switch-master was seen");
        assert_eq!(
            reasons.iter().filter(|r| r.contains("no failover")).count(),
            1,
            "{reasons:?}"
        );
    }
}
