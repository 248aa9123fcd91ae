//! Pure: the record of what the session writers did — a compact ledger of acknowledged writes
//! per writer, the primary "eras" they wrote in, unknown and failed ops, and latencies — and
//! the classification of a key found (or not) on the new primary.
//!
//! A write is *acknowledged* when the server replied OK, *failed* when it replied with an error,
//! and *unknown* when no reply came (timeout, connection lost): an unknown write is never
//! counted as lost, but it is checked, and one that landed is *recovered*.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::addr::Addr;

/// One acknowledged (or unknown) write: its sequence number and a time in µs since the
/// history's epoch (the ack time for acks, the invoke time for unknown writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    /// Global sequence number; the key is `<prefix>:<seq>`.
    pub seq: u32,
    /// Microseconds since the epoch.
    pub at_us: u32,
}

const CHUNK: usize = 4096;

/// Append-only list of acks stored in fixed-size chunks: 8 bytes per write, and no
/// doubling-growth slack beyond one chunk.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    chunks: Vec<Vec<Ack>>,
    len: usize,
}

impl Ledger {
    /// Appends an ack.
    pub fn push(&mut self, ack: Ack) {
        match self.chunks.last_mut() {
            Some(c) if c.len() < CHUNK => c.push(ack),
            _ => {
                let mut c = Vec::with_capacity(CHUNK);
                c.push(ack);
                self.chunks.push(c);
            }
        }
        self.len += 1;
    }

    /// Number of acks.
    pub fn len(&self) -> usize {
        self.len
    }

    /// No acks.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Acks in the order they were appended.
    pub fn iter(&self) -> impl Iterator<Item = Ack> + '_ {
        self.chunks.iter().flatten().copied()
    }

    /// Heap bytes held (allocated capacity, not just length).
    pub fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Vec<Ack>>()
            + self
                .chunks
                .iter()
                .map(|c| c.capacity() * std::mem::size_of::<Ack>())
                .sum::<usize>()
    }
}

/// A stretch of one writer's acks on one primary, from one (re)connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Era {
    /// Index in the writer's ledger of the era's first ack.
    pub start: usize,
    /// The node the writer was connected to (its `ROLE` was master when it connected).
    pub node: Addr,
}

/// Everything one writer did.
#[derive(Debug, Clone)]
pub struct WriterHistory {
    /// Acknowledged writes, in ack order.
    pub acks: Ledger,
    /// Primary eras; `eras[i]` covers acks from `eras[i].start` to the next era's start.
    pub eras: Vec<Era>,
    /// Writes whose outcome is unknown, with their invoke time.
    pub unknown: Vec<Ack>,
    /// Failed writes by error kind (e.g. `READONLY`).
    pub failed: BTreeMap<String, u64>,
    /// When each failed write was invoked, µs since the epoch (for the report's picture).
    pub failed_at_us: Vec<u32>,
    /// Latency of acknowledged writes, µs.
    pub latency: Histogram<u64>,
}

impl Default for WriterHistory {
    fn default() -> Self {
        WriterHistory {
            acks: Ledger::default(),
            eras: Vec::new(),
            unknown: Vec::new(),
            failed: BTreeMap::new(),
            failed_at_us: Vec::new(),
            latency: new_latency_histogram(),
        }
    }
}

/// A histogram for latencies in µs from 1 µs to 10 min, 3 significant digits.
pub fn new_latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

impl WriterHistory {
    /// Starts a new era on `node`.
    pub fn begin_era(&mut self, node: Addr) {
        self.eras.push(Era {
            start: self.acks.len(),
            node,
        });
    }

    /// Acks with the node that acknowledged each.
    pub fn acks_with_node(&self) -> impl Iterator<Item = (Ack, &Addr)> + '_ {
        let mut era = 0;
        self.acks.iter().enumerate().map(move |(i, ack)| {
            while era + 1 < self.eras.len() && self.eras[era + 1].start <= i {
                era += 1;
            }
            (ack, &self.eras[era].node)
        })
    }
}

/// The writers' histories, with the instant their `at_us` times count from.
#[derive(Debug, Clone)]
pub struct History {
    /// Time zero of every `at_us`.
    pub epoch: std::time::Instant,
    /// One entry per writer.
    pub writers: Vec<WriterHistory>,
}

impl History {
    /// Total acknowledged writes.
    pub fn acked(&self) -> u64 {
        self.writers.iter().map(|w| w.acks.len() as u64).sum()
    }

    /// Total writes with unknown outcome.
    pub fn unknown(&self) -> u64 {
        self.writers.iter().map(|w| w.unknown.len() as u64).sum()
    }

    /// Failed writes by error kind, over all writers.
    pub fn failed(&self) -> BTreeMap<String, u64> {
        let mut all = BTreeMap::new();
        for w in &self.writers {
            for (k, n) in &w.failed {
                *all.entry(k.clone()).or_insert(0) += n;
            }
        }
        all
    }

    /// All writers' latencies merged.
    pub fn latency(&self) -> Histogram<u64> {
        let mut h = new_latency_histogram();
        for w in &self.writers {
            h.add(&w.latency).expect("histograms share bounds");
        }
        h
    }

    /// Every ack with its node, writer by writer.
    pub fn acks(&self) -> impl Iterator<Item = (Ack, &Addr)> + '_ {
        self.writers.iter().flat_map(WriterHistory::acks_with_node)
    }

    /// Heap bytes held by the ledgers.
    pub fn ledger_bytes(&self) -> usize {
        self.writers.iter().map(|w| w.acks.heap_bytes()).sum()
    }
}

/// What the new primary holds for an acknowledged key, from its `PTTL` reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// Present with a plausible TTL.
    Present,
    /// Absent: the write is lost.
    Lost,
    /// Present with no TTL (`PTTL` = -1): the expiry was lost.
    TtlGone,
    /// Present, but its TTL is off by more than the time since the write.
    TtlOff,
}

/// Classifies a `PTTL` reply for a key written with `ttl_ms` and acknowledged `age_ms` before
/// the check. The remaining TTL must lie in `[ttl − age − slack, ttl]`.
pub fn classify(pttl: i64, ttl_ms: u64, age_ms: u64) -> Found {
    const SLACK_MS: u64 = 1000;
    match pttl {
        -2 => Found::Lost,
        -1 => Found::TtlGone,
        n if n < 0 => Found::TtlOff,
        n => {
            let n = n as u64;
            let low = ttl_ms.saturating_sub(age_ms + SLACK_MS);
            if n > ttl_ms || n < low {
                Found::TtlOff
            } else {
                Found::Present
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pttl_replies_are_classified() {
        let ttl = 1_800_000;
        let cases = [
            (-2, 5_000, Found::Lost),
            (-1, 5_000, Found::TtlGone),
            (ttl as i64 - 5_000, 5_000, Found::Present),
            (ttl as i64 - 5_900, 5_000, Found::Present),
            (ttl as i64 - 20_000, 5_000, Found::TtlOff),
            (ttl as i64 + 1, 0, Found::TtlOff),
        ];
        for (pttl, age, want) in cases {
            assert_eq!(classify(pttl, ttl, age), want, "pttl {pttl} age {age}");
        }
    }

    #[test]
    fn acks_carry_the_node_of_their_era() {
        let mut w = WriterHistory::default();
        w.begin_era(Addr::local(1));
        w.acks.push(Ack { seq: 0, at_us: 1 });
        w.acks.push(Ack { seq: 2, at_us: 2 });
        w.begin_era(Addr::local(2));
        w.begin_era(Addr::local(3));
        w.acks.push(Ack { seq: 4, at_us: 3 });
        let nodes: Vec<u16> = w.acks_with_node().map(|(_, n)| n.port).collect();
        assert_eq!(nodes, [1, 1, 3]);
    }

    #[test]
    fn ledger_costs_eight_bytes_per_write_plus_one_chunk() {
        let mut l = Ledger::default();
        for seq in 0..1_000_000 {
            l.push(Ack { seq, at_us: seq });
        }
        assert_eq!(l.len(), 1_000_000);
        assert!(
            l.heap_bytes() <= 8 * 1_000_000 + 8 * CHUNK + 64 * 1024,
            "{}",
            l.heap_bytes()
        );
        assert_eq!(
            l.iter().nth(123_456),
            Some(Ack {
                seq: 123_456,
                at_us: 123_456
            })
        );
    }
}
