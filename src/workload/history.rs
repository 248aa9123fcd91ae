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

/// One acknowledged write: its sequence number, when it was sent and when its ack arrived,
/// in µs since the history's epoch (12 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    /// Global sequence number; the key is `<prefix>:<seq>`.
    pub seq: u32,
    /// When the write was sent, µs since the epoch.
    pub invoke_us: u32,
    /// When its ack arrived, µs since the epoch.
    pub at_us: u32,
}

/// A write without an ack: sent at `invoke_us`, ended at `at_us` (its error reply, or the
/// timeout or broken connection), on the node of era `era`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// Global sequence number; the key is `<prefix>:<seq>`.
    pub seq: u32,
    /// When the write was sent, µs since the epoch.
    pub invoke_us: u32,
    /// When it ended, µs since the epoch.
    pub at_us: u32,
    /// Index in the writer's `eras` of the node it was sent to.
    pub era: u32,
}

/// A write the server refused: the attempt and its error code's index in
/// [`WriterHistory::codes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// The attempt.
    pub attempt: Attempt,
    /// Index of its error code (`READONLY`, …) in the writer's `codes`.
    pub code: u16,
}

const CHUNK: usize = 4096;

/// Append-only list of acks stored in fixed-size chunks: 12 bytes per write, and no
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
    pub(crate) fn heap_bytes(&self) -> usize {
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
    /// Writes whose outcome is unknown.
    pub unknown: Vec<Attempt>,
    /// Writes the server refused with an error reply.
    pub refused: Vec<Refused>,
    /// The error codes of `refused` (`READONLY`, …), each once.
    pub codes: Vec<String>,
    /// Latency of acknowledged writes, µs.
    pub latency: Histogram<u64>,
}

impl Default for WriterHistory {
    fn default() -> Self {
        WriterHistory {
            acks: Ledger::default(),
            eras: Vec::new(),
            unknown: Vec::new(),
            refused: Vec::new(),
            codes: Vec::new(),
            latency: new_latency_histogram(),
        }
    }
}

/// A histogram for latencies in µs from 1 µs to 10 min, 3 significant digits.
pub(crate) fn new_latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

impl WriterHistory {
    /// Starts a new era on `node`.
    pub(crate) fn begin_era(&mut self, node: Addr) {
        self.eras.push(Era {
            start: self.acks.len(),
            node,
        });
    }

    /// Records an acknowledged write (and its latency).
    pub fn acked(&mut self, seq: u32, invoke_us: u32, at_us: u32) {
        self.acks.push(Ack {
            seq,
            invoke_us,
            at_us,
        });
        let _ = self
            .latency
            .record(u64::from(at_us.saturating_sub(invoke_us)).max(1));
    }

    /// Records a write without a reply.
    pub fn unknown(&mut self, seq: u32, invoke_us: u32, at_us: u32) {
        let attempt = self.attempt(seq, invoke_us, at_us);
        self.unknown.push(attempt);
    }

    /// Records a write refused with error `code`.
    pub fn refused(&mut self, seq: u32, code: &str, invoke_us: u32, at_us: u32) {
        let attempt = self.attempt(seq, invoke_us, at_us);
        let code = match self.codes.iter().position(|c| c == code) {
            Some(i) => i,
            None => {
                self.codes.push(code.to_string());
                self.codes.len() - 1
            }
        };
        self.refused.push(Refused {
            attempt,
            code: u16::try_from(code).unwrap_or(u16::MAX),
        });
    }

    fn attempt(&self, seq: u32, invoke_us: u32, at_us: u32) -> Attempt {
        Attempt {
            seq,
            invoke_us,
            at_us,
            era: self.eras.len().saturating_sub(1) as u32,
        }
    }

    /// The node of era `era`, if there is one.
    pub(crate) fn node_of(&self, era: u32) -> Option<&Addr> {
        self.eras.get(era as usize).map(|e| &e.node)
    }

    /// The error code of a refused write.
    pub fn code(&self, r: &Refused) -> &str {
        self.codes
            .get(r.code as usize)
            .map_or("ERR", String::as_str)
    }

    /// Heap bytes held by the ledger, the unknown and the refused writes.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.acks.heap_bytes()
            + self.unknown.capacity() * std::mem::size_of::<Attempt>()
            + self.refused.capacity() * std::mem::size_of::<Refused>()
    }

    /// Acks with the node that acknowledged each.
    pub(crate) fn acks_with_node(&self) -> impl Iterator<Item = (Ack, &Addr)> + '_ {
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

    /// Failed writes by error code, over all writers.
    pub fn failed(&self) -> BTreeMap<String, u64> {
        let mut all = BTreeMap::new();
        for w in &self.writers {
            for r in &w.refused {
                *all.entry(w.code(r).to_string()).or_insert(0) += 1;
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

    /// Heap bytes held by the ledgers (acks, unknown and refused writes).
    pub(crate) fn ledger_bytes(&self) -> usize {
        self.writers.iter().map(WriterHistory::heap_bytes).sum()
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
pub(crate) fn classify(pttl: i64, ttl_ms: u64, age_ms: u64) -> Found {
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
        w.acked(0, 0, 1);
        w.acked(2, 1, 2);
        w.begin_era(Addr::local(2));
        w.unknown(3, 2, 3);
        w.begin_era(Addr::local(3));
        w.acked(4, 3, 4);
        w.refused(5, "READONLY", 5, 6);
        let nodes: Vec<u16> = w.acks_with_node().map(|(_, n)| n.port).collect();
        assert_eq!(nodes, [1, 1, 3]);
        assert_eq!(w.node_of(w.unknown[0].era), Some(&Addr::local(2)));
        assert_eq!(w.node_of(w.refused[0].attempt.era), Some(&Addr::local(3)));
        assert_eq!(w.code(&w.refused[0]), "READONLY");
        assert_eq!(w.latency.len(), 3);
    }

    #[test]
    fn refused_writes_are_counted_by_code() {
        let mut w = WriterHistory::default();
        w.begin_era(Addr::local(1));
        for (seq, code) in [(0, "READONLY"), (1, "LOADING"), (2, "READONLY")] {
            w.refused(seq, code, seq, seq + 1);
        }
        assert_eq!(w.codes, ["READONLY", "LOADING"]);
        let h = History {
            epoch: std::time::Instant::now(),
            writers: vec![w],
        };
        let failed: Vec<(String, u64)> = h.failed().into_iter().collect();
        assert_eq!(failed, [("LOADING".into(), 1), ("READONLY".into(), 2)]);
    }

    #[test]
    fn ledger_costs_twelve_bytes_per_write_plus_one_chunk() {
        let mut l = Ledger::default();
        for seq in 0..1_000_000 {
            l.push(Ack {
                seq,
                invoke_us: seq,
                at_us: seq + 1,
            });
        }
        assert_eq!(std::mem::size_of::<Ack>(), 12);
        assert_eq!(l.len(), 1_000_000);
        assert!(
            l.heap_bytes() <= 12 * 1_000_000 + 12 * CHUNK + 64 * 1024,
            "{}",
            l.heap_bytes()
        );
        assert_eq!(
            l.iter().nth(123_456),
            Some(Ack {
                seq: 123_456,
                invoke_us: 123_456,
                at_us: 123_457
            })
        );
    }
}
