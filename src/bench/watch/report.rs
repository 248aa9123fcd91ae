//! Pure: what `warden bench watch` measured, summed up — the watch's RSS and CPU over time,
//! and per master the transitions the Sentinels confirmed against the failover records the
//! watch printed (missed, doubled) — and its table.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

/// One reading of the watch process: `/proc/PID/status` `VmRSS`, `/proc/PID/stat` utime+stime.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Sample {
    /// Seconds since the watch started.
    pub at_s: f64,
    /// Resident set size, KiB.
    pub rss_kib: u64,
    /// utime + stime, clock ticks.
    pub cpu_ticks: u64,
}

/// CPU use between two samples, % of one core.
pub(crate) fn cpu_pct(from: &Sample, to: &Sample, ticks_per_s: f64) -> f64 {
    let wall = to.at_s - from.at_s;
    if wall <= 0.0 || ticks_per_s <= 0.0 {
        return 0.0;
    }
    to.cpu_ticks.saturating_sub(from.cpu_ticks) as f64 / ticks_per_s / wall * 100.0
}

/// A failover record the watch printed (`"type":"failover"`), as far as the count needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Record {
    /// Master name.
    pub master: String,
    /// `outcome`.
    pub outcome: String,
    /// `old`.
    pub old: Option<String>,
    /// `new`.
    pub new: Option<String>,
}

impl Record {
    /// Whether the record names a new primary (a transition), not e.g. a recovery.
    pub(crate) fn is_switch(&self) -> bool {
        self.new.is_some() && self.new != self.old
    }
}

/// The record on a watch `--json` line, if it is a failover line.
pub(crate) fn parse_record(line: &str) -> Option<Record> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    if v["type"] != "failover" {
        return None;
    }
    let s = |k: &str| v[k].as_str().map(str::to_string);
    let outcome = match &v["outcome"] {
        serde_json::Value::String(o) => o.clone(),
        // `{"aborted": "<channel>"}` and the like.
        serde_json::Value::Object(o) => o.keys().next().cloned().unwrap_or_default(),
        _ => String::new(),
    };
    Some(Record {
        master: s("master")?,
        outcome,
        old: s("old_primary"),
        new: s("new_primary"),
    })
}

/// A change of primary the Sentinels confirmed (a majority names `new` instead of `old`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Transition {
    /// Master name.
    pub master: String,
    /// Primary before.
    pub old: String,
    /// Primary after.
    pub new: String,
    /// Whether the bench asked for it (`SENTINEL FAILOVER`), else it happened on its own.
    pub triggered: bool,
}

/// Counts for one master, or summed over all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Counts {
    /// `SENTINEL FAILOVER` requests a Sentinel accepted.
    pub requested: usize,
    /// Requests a Sentinel refused (`INPROG`, `NOGOODSLAVE`, …).
    pub refused: usize,
    /// Transitions the Sentinels confirmed after a request.
    pub triggered: usize,
    /// Transitions nobody asked for (a Sentinel's own failover).
    pub spontaneous: usize,
    /// Failover records naming a new primary.
    pub recorded: usize,
    /// Confirmed transitions with no record.
    pub missed: usize,
    /// Records beyond one per confirmed transition.
    pub doubled: usize,
    /// Records naming no new primary (recovered, aborted, unfinished).
    pub other: usize,
    /// Those records by outcome.
    pub other_outcomes: BTreeMap<String, usize>,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.requested += o.requested;
        self.refused += o.refused;
        self.triggered += o.triggered;
        self.spontaneous += o.spontaneous;
        self.recorded += o.recorded;
        self.missed += o.missed;
        self.doubled += o.doubled;
        self.other += o.other;
        for (outcome, n) in &o.other_outcomes {
            *self.other_outcomes.entry(outcome.clone()).or_default() += n;
        }
    }
}

/// (master, old, new): what a transition and its record share.
type Pair = (String, Option<String>, Option<String>);

/// Per master: requests `(master, accepted)`, confirmed transitions and records, matched on
/// (old, new): a transition with no record of the same pair is missed, each record beyond the
/// transitions of its pair is doubled. Returns the per-master counts and their sum.
pub(crate) fn count(
    masters: &[String],
    requests: &[(String, bool)],
    transitions: &[Transition],
    records: &[Record],
) -> (BTreeMap<String, Counts>, Counts) {
    let mut per: BTreeMap<String, Counts> = masters
        .iter()
        .map(|m| (m.clone(), Counts::default()))
        .collect();
    for (m, accepted) in requests {
        let c = per.entry(m.clone()).or_default();
        if *accepted {
            c.requested += 1;
        } else {
            c.refused += 1;
        }
    }
    let mut pairs: BTreeMap<Pair, (usize, usize)> = BTreeMap::new();
    for t in transitions {
        let c = per.entry(t.master.clone()).or_default();
        if t.triggered {
            c.triggered += 1;
        } else {
            c.spontaneous += 1;
        }
        let key = (t.master.clone(), Some(t.old.clone()), Some(t.new.clone()));
        pairs.entry(key).or_default().0 += 1;
    }
    for r in records {
        let c = per.entry(r.master.clone()).or_default();
        if !r.is_switch() {
            c.other += 1;
            *c.other_outcomes.entry(r.outcome.clone()).or_default() += 1;
            continue;
        }
        c.recorded += 1;
        let key = (r.master.clone(), r.old.clone(), r.new.clone());
        pairs.entry(key).or_default().1 += 1;
    }
    for ((master, ..), (t, r)) in pairs {
        let c = per.entry(master).or_default();
        c.missed += t.saturating_sub(r);
        c.doubled += r.saturating_sub(t);
    }
    let mut total = Counts::default();
    for c in per.values() {
        total.add(c);
    }
    (per, total)
}

/// One minute of the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Minute {
    /// Minute since the watch started (0-based).
    pub minute: usize,
    /// Smallest RSS sampled in it, KiB.
    pub rss_min_kib: u64,
    /// Largest, KiB.
    pub rss_max_kib: u64,
    /// CPU over the minute, % of one core.
    pub cpu_pct: f64,
    /// Failovers requested in it.
    pub failovers: usize,
}

/// The samples grouped by minute (each minute's CPU from its first to its last sample, and
/// the sample before it when there is one).
pub(crate) fn minutes(samples: &[Sample], ticks_per_s: f64, requests_at_s: &[f64]) -> Vec<Minute> {
    let mut out: Vec<Minute> = Vec::new();
    let mut start = 0;
    while start < samples.len() {
        let minute = (samples[start].at_s / 60.0) as usize;
        let end = samples[start..]
            .iter()
            .position(|s| (s.at_s / 60.0) as usize != minute)
            .map_or(samples.len(), |n| start + n);
        let group = &samples[start..end];
        let from = if start > 0 {
            &samples[start - 1]
        } else {
            &group[0]
        };
        out.push(Minute {
            minute,
            rss_min_kib: group.iter().map(|s| s.rss_kib).min().unwrap_or(0),
            rss_max_kib: group.iter().map(|s| s.rss_kib).max().unwrap_or(0),
            cpu_pct: cpu_pct(from, &group[group.len() - 1], ticks_per_s),
            failovers: requests_at_s
                .iter()
                .filter(|&&t| (t / 60.0) as usize == minute)
                .count(),
        });
        start = end;
    }
    out
}

/// min / median / max, KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Spread {
    /// Smallest.
    pub min: u64,
    /// Median.
    pub median: u64,
    /// Largest.
    pub max: u64,
}

/// The spread of the samples' RSS.
pub(crate) fn rss_spread(samples: &[Sample]) -> Spread {
    let mut v: Vec<u64> = samples.iter().map(|s| s.rss_kib).collect();
    v.sort_unstable();
    Spread {
        min: v.first().copied().unwrap_or(0),
        median: v.get(v.len() / 2).copied().unwrap_or(0),
        max: v.last().copied().unwrap_or(0),
    }
}

/// Everything the bench reports (`--json` prints it as is).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    /// Masters in the fleet.
    pub masters: usize,
    /// Replicas per master.
    pub replicas: usize,
    /// `redis-server` processes (nodes and Sentinels).
    pub processes: usize,
    /// Seconds between failover requests.
    pub failover_every_s: f64,
    /// Seconds the failover phase lasted.
    pub duration_s: f64,
    /// Seconds between samples.
    pub sample_s: f64,
    /// The watch's topology poll period.
    pub poll_s: f64,
    /// The quiet window before the first failover, seconds.
    pub idle_window_s: f64,
    /// Seconds from the watch's start until it had reported every master.
    pub ready_s: f64,
    /// The watch's CPU in the quiet window, % of one core.
    pub idle_cpu_pct: f64,
    /// The watch's CPU from the first failover request to the end, % of one core.
    pub failover_cpu_pct: f64,
    /// RSS over every sample, KiB.
    pub rss_kib: Spread,
    /// One row per minute.
    pub minutes: Vec<Minute>,
    /// Counts summed over the masters.
    pub total: Counts,
    /// Counts per master.
    pub per_master: BTreeMap<String, Counts>,
    /// Every sample.
    pub samples: Vec<Sample>,
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// The table.
pub(crate) fn table(r: &Report) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "watch bench: {} masters x {} replicas, 3 Sentinels ({} redis-server processes); a failover every {:.0} s for {:.0} s, a sample every {:.0} s; the watch polls every {} s",
        r.masters, r.replicas, r.processes, r.failover_every_s, r.duration_s, r.sample_s, r.poll_s
    );
    let _ = writeln!(
        t,
        "RSS        min {}   median {}   max {}",
        mib(r.rss_kib.min),
        mib(r.rss_kib.median),
        mib(r.rss_kib.max)
    );
    let _ = writeln!(
        t,
        "CPU        idle {:.2} % ({:.0} s quiet window)   during failovers {:.2} %   (% of one core)",
        r.idle_cpu_pct, r.idle_window_s, r.failover_cpu_pct
    );
    let c = &r.total;
    let _ = writeln!(
        t,
        "failovers  requested {}   refused {}   triggered {}   spontaneous {}   recorded {}   missed {}   doubled {}   other records {}{}",
        c.requested,
        c.refused,
        c.triggered,
        c.spontaneous,
        c.recorded,
        c.missed,
        c.doubled,
        c.other,
        outcomes(&c.other_outcomes)
    );
    let _ = writeln!(
        t,
        "{:>6} {:>12} {:>12} {:>8} {:>10}",
        "minute", "RSS min", "RSS max", "CPU %", "failovers"
    );
    for m in &r.minutes {
        let _ = writeln!(
            t,
            "{:>6} {:>12} {:>12} {:>8.2} {:>10}",
            m.minute,
            mib(m.rss_min_kib),
            mib(m.rss_max_kib),
            m.cpu_pct,
            m.failovers
        );
    }
    let bad: Vec<_> = r
        .per_master
        .iter()
        .filter(|(_, c)| c.missed > 0 || c.doubled > 0)
        .map(|(m, c)| format!("{m} (missed {}, doubled {})", c.missed, c.doubled))
        .collect();
    if !bad.is_empty() {
        let _ = writeln!(t, "masters with a miss or a double: {}", bad.join(", "));
    }
    t
}

#[cfg(test)]
mod tests;

/// ` (recovered 3, aborted 1)`, or nothing.
fn outcomes(by: &BTreeMap<String, usize>) -> String {
    if by.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = by.iter().map(|(o, n)| format!("{o} {n}")).collect();
    format!(" ({})", parts.join(", "))
}
