//! The checker's figures and verdicts over hand-built trials.

use std::time::SystemTime;

use super::*;
use crate::sentinel::event::parse;
use crate::workload::history::{Ack, WriterHistory};

const OLD: u16 = 7000;
const NEW: u16 = 7001;

/// A hand-built trial: the fault 10 s after the history's epoch.
struct Trial {
    epoch: Instant,
    fault_at: Instant,
    timeline: Timeline,
    history: History,
}

impl Trial {
    fn new() -> Trial {
        let epoch = Instant::now();
        Trial {
            epoch,
            fault_at: epoch + Duration::from_secs(10),
            timeline: Timeline::new(Duration::from_secs(15)),
            history: History {
                epoch,
                writers: Vec::new(),
            },
        }
    }

    /// µs since the epoch of `ms` after the fault (negative: before it).
    fn us(ms: i64) -> u32 {
        (10_000_000 + ms * 1000) as u32
    }

    /// One writer: acks at these ms (relative to the fault) on `OLD`, then on `NEW`.
    fn writer(mut self, on_old: &[i64], on_new: &[i64], unknown: &[i64]) -> Trial {
        let mut w = WriterHistory::default();
        let mut seq = 0;
        for (port, times) in [(OLD, on_old), (NEW, on_new)] {
            if times.is_empty() {
                continue;
            }
            w.begin_era(Addr::local(port));
            for &ms in times {
                w.acked(seq, Self::us(ms) - 200, Self::us(ms));
                seq += 1;
            }
        }
        for &ms in unknown {
            w.unknown(seq, Self::us(ms), Self::us(ms) + 1000);
            seq += 1;
        }
        self.history.writers.push(w);
        self
    }

    /// `+switch-master` from `OLD` to `NEW`, reported `ms` after the fault.
    fn switch_at(mut self, ms: u64) -> Trial {
        let payload = format!("mymaster 127.0.0.1 {OLD} 127.0.0.1 {NEW}");
        let at = self.fault_at + Duration::from_millis(ms);
        let event = parse("+switch-master", &payload);
        self.timeline.ingest(0, at, SystemTime::UNIX_EPOCH, event);
        self
    }

    fn check(
        &self,
        loss: Option<&LossTally>,
        targets: &Targets,
    ) -> (Figures, Verdict, Vec<String>) {
        let old = Addr::local(OLD);
        let obs = Observation {
            fault_at: self.fault_at,
            old_primary: &old,
            master: "mymaster",
            timeline: &self.timeline,
            history: &self.history,
            loss,
            rejoined_at: None,
            reverted_at: None,
            errors: &[],
            rounds: &[],
            sentinels: 1,
            down_after: None,
            end: &End::default(),
        };
        assert!(self.epoch <= self.fault_at);
        check(&obs, targets)
    }
}

fn tally(lost: &[i64], recovered: u64) -> LossTally {
    let mut t = LossTally {
        checked: 100,
        recovered,
        ..LossTally::default()
    };
    for (seq, &ms) in lost.iter().enumerate() {
        let ack = Ack {
            seq: seq as u32,
            invoke_us: Trial::us(ms) - 200,
            at_us: Trial::us(ms),
        };
        t.lost_one(|| format!("session:t:{seq}"), ack, &Addr::local(OLD));
    }
    t
}

fn targets(rto_ms: Option<u64>, rpo_keys: Option<u64>, rpo_ms: Option<u64>) -> Targets {
    Targets {
        rto_ms,
        rpo_keys,
        rpo_ms,
        ..Targets::default()
    }
}

#[test]
fn figures_come_from_the_recorded_history() {
    struct Case {
        name: &'static str,
        trial: Trial,
        loss: Option<LossTally>,
        targets: Targets,
        client_rto_ms: Option<f64>,
        lost: (u64, Option<f64>, Option<f64>, Option<f64>),
        recovered: u64,
        unknown: u64,
        verdict: Verdict,
    }
    let cases = [
        Case {
            name: "no loss: the first ack on the new primary is the client RTO",
            trial: Trial::new()
                .writer(&[-20, -10], &[2500, 2600], &[])
                .writer(&[-5], &[2100], &[])
                .switch_at(2000),
            loss: Some(tally(&[], 0)),
            targets: targets(Some(5000), Some(0), Some(0)),
            client_rto_ms: Some(2100.0),
            lost: (0, None, None, None),
            recovered: 0,
            unknown: 0,
            verdict: Verdict::Met,
        },
        Case {
            name: "acks on the old primary after the fault are not a recovery",
            trial: Trial::new()
                .writer(&[-10, 500, 1500], &[3000], &[])
                .switch_at(2000),
            loss: Some(tally(&[500, 1500], 0)),
            targets: targets(Some(2500), None, None),
            client_rto_ms: Some(3000.0),
            lost: (2, Some(500.0), Some(1500.0), Some(1000.0)),
            recovered: 0,
            unknown: 0,
            verdict: Verdict::Missed,
        },
        Case {
            name: "a loss window spanning the fault",
            trial: Trial::new()
                .writer(&[-300, 100], &[2100], &[])
                .switch_at(2000),
            loss: Some(tally(&[-300, -50, 100], 0)),
            targets: targets(None, Some(2), None),
            client_rto_ms: Some(2100.0),
            lost: (3, Some(-300.0), Some(100.0), Some(400.0)),
            recovered: 0,
            unknown: 0,
            verdict: Verdict::Missed,
        },
        Case {
            name: "a loss wholly before the fault counts up to the fault",
            trial: Trial::new().writer(&[-300], &[2100], &[]).switch_at(2000),
            loss: Some(tally(&[-300, -200], 0)),
            targets: targets(None, Some(5), Some(250)),
            client_rto_ms: Some(2100.0),
            lost: (2, Some(-300.0), Some(-200.0), Some(300.0)),
            recovered: 0,
            unknown: 0,
            verdict: Verdict::Missed,
        },
        Case {
            name: "unknown writes that turn out present are recovered, not lost",
            trial: Trial::new()
                .writer(&[-10], &[2200], &[1, 2, 3])
                .switch_at(2000),
            loss: Some(tally(&[], 3)),
            targets: targets(Some(5000), Some(0), None),
            client_rto_ms: Some(2200.0),
            lost: (0, None, None, None),
            recovered: 3,
            unknown: 3,
            verdict: Verdict::Met,
        },
        Case {
            name: "no failover when one is expected",
            trial: Trial::new().writer(&[-10, 10], &[], &[]),
            loss: Some(tally(&[], 0)),
            targets: targets(Some(5000), None, None),
            client_rto_ms: None,
            lost: (0, None, None, None),
            recovered: 0,
            unknown: 0,
            verdict: Verdict::Missed,
        },
        Case {
            name: "no loss check: unknown, never a clean pass",
            trial: Trial::new().writer(&[-10], &[2100], &[]).switch_at(2000),
            loss: None,
            targets: targets(Some(5000), None, None),
            client_rto_ms: Some(2100.0),
            lost: (0, None, None, None),
            recovered: 0,
            unknown: 0,
            verdict: Verdict::Unknown,
        },
    ];
    for c in cases {
        let (f, verdict, reasons) = c.trial.check(c.loss.as_ref(), &c.targets);
        assert_eq!(f.client_rto_ms, c.client_rto_ms, "{}", c.name);
        let lost = (
            f.lost.count,
            f.lost.oldest_ms,
            f.lost.newest_ms,
            f.lost.window_ms,
        );
        assert_eq!(lost, c.lost, "{}", c.name);
        assert_eq!(f.writes.recovered, c.recovered, "{}", c.name);
        assert_eq!(f.writes.unknown, c.unknown, "{}", c.name);
        assert_eq!(verdict, c.verdict, "{}: {reasons:?}", c.name);
        assert_eq!(verdict == Verdict::Met, reasons.is_empty(), "{}", c.name);
    }
}

#[test]
fn unavailability_is_the_longest_silence_after_the_fault() {
    let t = Trial::new()
        .writer(&[-10], &[2100, 2200], &[])
        .writer(&[-40], &[2150], &[])
        .switch_at(2000);
    let (f, _, _) = t.check(Some(&tally(&[], 0)), &targets(None, None, None));
    assert_eq!(f.unavailable_ms, Some(2110.0));
    assert_eq!(f.sentinel_rto_ms, Some(2000.0));
    assert_eq!(f.new_primary, Some(Addr::local(NEW)));
    assert_eq!(f.switch_master_reports, Some((1, 0.0)));
    assert_eq!(f.writes.stale_acked, 0);
}

#[test]
fn acks_by_the_old_primary_after_the_switch_are_stale() {
    let t = Trial::new()
        .writer(&[-10, 1900, 2050, 2100], &[2200], &[])
        .switch_at(2000);
    let (f, _, _) = t.check(Some(&tally(&[], 0)), &targets(None, None, None));
    assert_eq!(f.writes.stale_acked, 2);
}
