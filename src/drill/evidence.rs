//! Pure: what a trial's picture needs beyond its figures — the merged Sentinel timeline as
//! rows (who reported each occurrence and when, in ms from the fault) and the workload counted
//! in time buckets aligned on the fault.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::sentinel::event::{Detail, EventKind};
use crate::sentinel::timeline::{Entry, Timeline};
use crate::workload::history::History;

/// The width of a workload bucket.
pub(crate) const BUCKET: Duration = Duration::from_millis(100);

/// One Sentinel's report of an occurrence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arrival {
    /// Index of the Sentinel in the report's `sentinels`.
    pub sentinel: usize,
    /// When its message arrived, ms from the fault (negative: before it).
    pub at_ms: f64,
}

/// One occurrence of the merged timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineRow {
    /// The channel, e.g. `+switch-master`.
    pub channel: String,
    /// `master`, `slave` or `sentinel` when the event names an instance.
    pub instance: Option<String>,
    /// The instance's address (for `+switch-master`: the new primary's).
    pub address: Option<String>,
    /// The event as Sentinel wrote it.
    pub text: String,
    /// The first report, ms from the fault.
    pub first_ms: f64,
    /// The first report's UTC time: the fault's plus `first_ms` (set in the report document).
    #[serde(default)]
    pub first_at: Option<chrono::DateTime<chrono::Utc>>,
    /// From the first report to the last, ms.
    pub spread_ms: f64,
    /// Every Sentinel's report, in arrival order.
    pub reports: Vec<Arrival>,
}

/// The writes of a trial per time bucket: bucket `i` covers
/// `[from_ms + i·bucket_ms, from_ms + (i+1)·bucket_ms)` from the fault.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Buckets {
    /// The width of one bucket, ms.
    pub bucket_ms: u32,
    /// The start of the first bucket, ms from the fault (a multiple of `bucket_ms`).
    pub from_ms: f64,
    /// Acknowledged writes (by ack time).
    pub acked: Vec<u64>,
    /// Writes refused with an error reply (by invoke time).
    pub failed: Vec<u64>,
    /// Writes without a reply (by invoke time).
    pub unknown: Vec<u64>,
    /// Acknowledged writes the new primary did not have (by ack time).
    pub lost: Vec<u64>,
}

/// Signed ms from `origin` to `at`, rounded to µs.
pub(crate) fn signed_ms(at: Instant, origin: Instant) -> f64 {
    let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
    if at >= origin {
        ms(at - origin)
    } else {
        -ms(origin - at)
    }
}

/// Every entry of `timeline`, timed from `fault_at`.
pub(crate) fn timeline_rows(timeline: &Timeline, fault_at: Instant) -> Vec<TimelineRow> {
    rows(timeline.entries(), fault_at)
}

/// `entries` as rows timed from `origin`, in order of their first report.
pub(crate) fn rows<'e>(
    entries: impl IntoIterator<Item = &'e Entry>,
    origin: Instant,
) -> Vec<TimelineRow> {
    let mut rows: Vec<TimelineRow> = entries
        .into_iter()
        .map(|e| {
            let (instance, address) = match &e.event.detail {
                Detail::Instance { instance, .. } => (
                    Some(instance.role.as_str().to_string()),
                    Some(instance.addr.to_string()),
                ),
                Detail::SwitchMaster { new, .. } => (None, Some(new.to_string())),
                _ => (None, None),
            };
            TimelineRow {
                channel: e.event.kind.channel().to_string(),
                instance,
                address,
                text: e.event.to_string(),
                first_ms: signed_ms(e.first_at, origin),
                first_at: None,
                spread_ms: signed_ms(e.first_at + e.spread(), e.first_at),
                reports: e
                    .reports
                    .iter()
                    .map(|r| Arrival {
                        sentinel: r.source,
                        at_ms: signed_ms(r.at, origin),
                    })
                    .collect(),
            }
        })
        .collect();
    rows.sort_by(|a, b| a.first_ms.total_cmp(&b.first_ms));
    rows
}

/// The Sentinel that led the failover: the first to report `+elected-leader` (or, failing
/// that, `+try-failover`) after the fault.
pub(crate) fn leader(timeline: &Timeline, master: &str, fault_at: Instant) -> Option<usize> {
    [EventKind::ElectedLeader, EventKind::TryFailover]
        .iter()
        .find_map(|k| timeline.first(k, master, fault_at))
        .map(|e| {
            e.reports
                .iter()
                .min_by_key(|r| r.at)
                .map_or(0, |r| r.source)
        })
}

/// The writes of `history` per [`BUCKET`], aligned on `fault_at`; `lost_at_us` are the ack
/// times of the lost writes (µs since the history's epoch).
pub(crate) fn buckets(history: &History, lost_at_us: &[u32], fault_at: Instant) -> Buckets {
    let bucket_us = BUCKET.as_micros() as i64;
    let fault_us = fault_at
        .saturating_duration_since(history.epoch)
        .as_micros() as i64;
    let index = |at_us: u32| (at_us as i64 - fault_us).div_euclid(bucket_us);
    let mut counts: BTreeMap<i64, [u64; 4]> = BTreeMap::new();
    let mut add = |at_us: u32, what: usize| counts.entry(index(at_us)).or_default()[what] += 1;
    for (ack, _) in history.acks() {
        add(ack.at_us, 0);
    }
    for w in &history.writers {
        w.refused.iter().for_each(|r| add(r.attempt.invoke_us, 1));
        w.unknown.iter().for_each(|u| add(u.invoke_us, 2));
    }
    lost_at_us.iter().for_each(|&t| add(t, 3));
    let (Some(&first), Some(&last)) = (counts.keys().next(), counts.keys().next_back()) else {
        return Buckets {
            bucket_ms: BUCKET.as_millis() as u32,
            ..Buckets::default()
        };
    };
    let column = |what: usize| -> Vec<u64> {
        (first..=last)
            .map(|i| counts.get(&i).map_or(0, |c| c[what]))
            .collect()
    };
    Buckets {
        bucket_ms: BUCKET.as_millis() as u32,
        from_ms: (first * bucket_us) as f64 / 1000.0,
        acked: column(0),
        failed: column(1),
        unknown: column(2),
        lost: column(3),
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::addr::Addr;
    use crate::sentinel::event::parse;
    use crate::workload::history::WriterHistory;

    #[test]
    fn buckets_are_aligned_on_the_fault() {
        let epoch = Instant::now();
        let fault_at = epoch + Duration::from_millis(1050);
        let mut w = WriterHistory::default();
        w.begin_era(Addr::local(1));
        for (seq, ms) in [(0, 960), (1, 1049), (2, 1051), (3, 1300)] {
            w.acked(seq, ms * 1000 - 500, ms * 1000);
        }
        w.refused(5, "READONLY", 1_200_000, 1_400_000);
        w.unknown(4, 1_210_000, 1_410_000);
        let h = History {
            epoch,
            writers: vec![w],
        };
        let b = buckets(&h, &[1_049_000], fault_at);
        assert_eq!(b.from_ms, -100.0);
        assert_eq!(b.acked, [2, 1, 0, 1]);
        assert_eq!(b.failed, [0, 0, 1, 0]);
        assert_eq!(b.unknown, [0, 0, 1, 0]);
        assert_eq!(b.lost, [1, 0, 0, 0]);
    }

    #[test]
    fn rows_name_every_report_from_the_fault() {
        let t0 = Instant::now();
        let mut tl = Timeline::new(Duration::from_secs(5));
        let sdown = "master mymaster 127.0.0.1 7000";
        for (source, ms) in [(1, 1010), (0, 1000), (2, 1040)] {
            let at = t0 + Duration::from_millis(ms);
            tl.ingest(source, at, SystemTime::UNIX_EPOCH, parse("+sdown", sdown));
        }
        let rows = timeline_rows(&tl, t0);
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!((r.first_ms, r.spread_ms), (1000.0, 40.0));
        assert_eq!(r.instance.as_deref(), Some("master"));
        assert_eq!(r.address.as_deref(), Some("127.0.0.1:7000"));
        assert_eq!(r.reports.len(), 3);
    }
}
