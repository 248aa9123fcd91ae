//! Pure: the drill report — per-trial figures, the spread over trials (min / median / p95 /
//! max, and HdrHistogram p50 / p90 / p99 / max from 20 trials on) — and its renderings as a
//! table for people and JSON for machines.

pub(crate) mod doc;
mod stable;
mod table;

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::checker::{Figures, Verdict};
use super::scenario::Targets;
use crate::sentinel::timeline::Phases;
pub use doc::Document;
pub(crate) use doc::Judged;
pub(crate) use stable::{Stability, UntilStable};
pub(crate) use table::{figure_label, table, verdict_name};

/// One trial in the report.
#[derive(Debug, Clone, Serialize)]
pub struct TrialReport {
    /// 1-based trial number.
    pub trial: u32,
    /// The primary the fault hit (absent when the trial did not inject).
    pub old_primary: Option<String>,
    /// The wall-clock time of the fault (absent when the trial did not inject).
    pub fault_wall: Option<SystemTime>,
    /// What was done.
    pub fault: String,
    /// Whether the fault was injected (false when the pre-flight failed).
    pub injected: bool,
    /// A trial of the scenario's `versus` fault (compared with `fault`, not judged on it).
    pub versus: bool,
    /// The figures (empty when not injected).
    #[serde(flatten)]
    pub figures: Figures,
    /// The trial's verdict.
    pub verdict: Verdict,
    /// Why the verdict is not `met`, or what went wrong.
    pub reasons: Vec<String>,
}

/// From this many trials on, a figure's spread also carries HdrHistogram percentiles.
pub(crate) const PERCENTILES_FROM: usize = 20;

/// min / median / p95 / max of one figure over the trials that measured it, and from
/// [`PERCENTILES_FROM`] trials on its HdrHistogram percentiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Trials that measured it.
    pub n: usize,
    /// Smallest.
    pub min: f64,
    /// Median (nearest rank).
    pub median: f64,
    /// 95th percentile (nearest rank).
    pub p95: f64,
    /// Largest.
    pub max: f64,
    /// HdrHistogram percentiles, from [`PERCENTILES_FROM`] trials on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentiles: Option<Percentiles>,
}

/// Percentiles of a figure over many trials, from an HdrHistogram of 3 significant digits
/// (each the highest value equivalent to the order statistic: at most 0.1 % above it); `max`
/// is exact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// 50th percentile.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`, or `None` when there are none.
    pub fn of(mut values: Vec<f64>) -> Option<Spread> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let rank =
            |q: f64| values[((q * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1];
        Some(Spread {
            n: values.len(),
            min: values[0],
            median: rank(0.5),
            p95: rank(0.95),
            max: values[values.len() - 1],
            percentiles: (values.len() >= PERCENTILES_FROM)
                .then(|| Percentiles::of(&values))
                .flatten(),
        })
    }
}

impl Percentiles {
    /// The percentiles of `values` (ms or counts, recorded in thousandths); `None` when one
    /// is negative or not finite.
    fn of(values: &[f64]) -> Option<Percentiles> {
        let mut h = hdrhistogram::Histogram::<u64>::new(3).ok()?;
        for v in values {
            if !v.is_finite() || *v < 0.0 {
                return None;
            }
            h.record((v * 1000.0).round() as u64).ok()?;
        }
        let at = |q: f64| (h.value_at_quantile(q) as f64).round() / 1000.0;
        Some(Percentiles {
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: values.iter().copied().fold(f64::MIN, f64::max),
        })
    }
}

/// Who and what a drill ran against, beside its trials.
#[derive(Debug, Clone, Default)]
pub(crate) struct Header {
    /// Scenario name.
    pub scenario: String,
    /// What the drill ran against.
    pub target: String,
    /// Sentinel `down-after-milliseconds`, when warden knows it (its own lab).
    pub down_after_ms: Option<u64>,
    /// The server family and version (`Redis 7.0.15`), when known.
    pub server: Option<String>,
    /// When the drill started.
    pub started: Option<SystemTime>,
    /// The Sentinels followed, in the order the timeline's sources index.
    pub sentinels: Vec<String>,
    /// The targets the trials were judged against.
    pub targets: Targets,
    /// The signal that cut the drill short (`SIGTERM`), when one did.
    pub cancelled: Option<String>,
    /// How a `--until-stable` run ended, when it was one.
    pub until_stable: Option<Stability>,
}

/// A whole drill.
#[derive(Debug, Clone, Serialize)]
pub struct DrillReport {
    /// The version of warden that ran it.
    pub warden: String,
    /// The server family and version (`Redis 7.0.15`), when known.
    pub server: Option<String>,
    /// Scenario name.
    pub scenario: String,
    /// What the drill ran against.
    pub target: String,
    /// When the drill started.
    pub started: Option<SystemTime>,
    /// Sentinel `down-after-milliseconds`, when warden knows it (its own lab).
    pub down_after_ms: Option<u64>,
    /// The Sentinels followed.
    pub sentinels: Vec<String>,
    /// The targets.
    pub targets: Targets,
    /// The signal that cut the drill short (`SIGTERM`), when one did: a partial report.
    pub cancelled: Option<String>,
    /// How a `--until-stable` run ended, when it was one.
    pub until_stable: Option<Stability>,
    /// The trials.
    pub trials: Vec<TrialReport>,
    /// Figures over all trials, by name (a phase's channel, `client_rto_ms`, …).
    pub summary: Vec<(String, Spread)>,
    /// The drill's verdict (the worst trial's).
    pub verdict: Verdict,
}

impl DrillReport {
    /// Builds the report and its summary from the trials.
    pub(crate) fn new(header: Header, trials: Vec<TrialReport>) -> DrillReport {
        let verdict = trials
            .iter()
            .map(|t| t.verdict)
            .max()
            .unwrap_or(Verdict::Unknown);
        let summary = summarize(&trials);
        DrillReport {
            warden: env!("CARGO_PKG_VERSION").to_string(),
            server: header.server,
            scenario: header.scenario,
            target: header.target,
            started: header.started,
            down_after_ms: header.down_after_ms,
            sentinels: header.sentinels,
            targets: header.targets,
            cancelled: header.cancelled,
            until_stable: header.until_stable,
            trials,
            summary,
            verdict,
        }
    }

    /// The report as a versioned document (`"schema": 1`).
    pub fn document(&self) -> Document {
        Document::of(self)
    }
}

fn summarize(trials: &[TrialReport]) -> Vec<(String, Spread)> {
    let mut rows = summary_of(trials.iter().filter(|t| !t.versus));
    let versus = summary_of(trials.iter().filter(|t| t.versus));
    rows.extend(
        versus
            .into_iter()
            .filter(|(n, _)| VERSUS_FIGURES.contains(&n.as_str()))
            .map(|(n, s)| (format!("versus_{n}"), s)),
    );
    rows
}

/// The figures the summary repeats for a scenario's `versus` trials (as `versus_<figure>`).
const VERSUS_FIGURES: [&str; 3] = ["client_rto_ms", "unavailable_ms", "lost_count"];

fn summary_of<'a>(trials: impl Iterator<Item = &'a TrialReport>) -> Vec<(String, Spread)> {
    let done: Vec<&Figures> = trials.filter(|t| t.injected).map(|t| &t.figures).collect();
    let mut rows: Vec<(String, Vec<f64>)> = Vec::new();
    if let Some(first) = done.first() {
        for (i, (name, _)) in first.phases_ms.iter().enumerate() {
            rows.push((
                Phases::channel(name),
                done.iter().filter_map(|f| f.phases_ms.get(i)?.1).collect(),
            ));
        }
    }
    rows.push((
        "sentinel_rto_ms".into(),
        done.iter().filter_map(|f| f.sentinel_rto_ms).collect(),
    ));
    rows.push((
        "client_rto_ms".into(),
        done.iter().filter_map(|f| f.client_rto_ms).collect(),
    ));
    rows.push((
        "unavailable_ms".into(),
        done.iter().filter_map(|f| f.unavailable_ms).collect(),
    ));
    rows.push((
        "lost_count".into(),
        done.iter()
            .filter(|f| f.lost.checked.is_some())
            .map(|f| f.lost.count as f64)
            .collect(),
    ));
    rows.into_iter()
        .filter_map(|(n, v)| Some((n, Spread::of(v)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_uses_nearest_rank() {
        let s = Spread::of(vec![5.0, 1.0, 3.0, 2.0, 4.0]).unwrap();
        assert_eq!((s.min, s.median, s.p95, s.max), (1.0, 3.0, 5.0, 5.0));
        assert_eq!(Spread::of(vec![7.0]).unwrap().median, 7.0);
        assert!(Spread::of(vec![]).is_none());
        assert!(
            Spread::of(vec![1.0; PERCENTILES_FROM - 1])
                .unwrap()
                .percentiles
                .is_none()
        );
    }

    #[test]
    fn from_twenty_trials_on_the_spread_has_hdr_percentiles() {
        // 1..=100 ms in a shuffled order: p50 50, p90 90, p99 99 (each rounded up by at most
        // 0.1 %), max 100 exactly.
        let close = |got: f64, want: f64| got >= want && got <= want * 1.001;
        let values: Vec<f64> = (0..100).map(|i| ((i * 37) % 100 + 1) as f64).collect();
        let p = Spread::of(values).unwrap().percentiles.unwrap();
        assert!(
            close(p.p50, 50.0) && close(p.p90, 90.0) && close(p.p99, 99.0),
            "{p:?}"
        );
        assert_eq!(p.max, 100.0);
        // ms with fractions: the 18th of 20 values is the p90.
        let rtos: Vec<f64> = (0..20).map(|i| 2000.0 + i as f64 * 10.5).collect();
        let p = Spread::of(rtos).unwrap().percentiles.unwrap();
        assert!(close(p.p90, 2178.5), "{p:?}");
        assert_eq!(p.max, 2199.5);
        let zeros = Spread::of(vec![0.0; 25]).unwrap().percentiles.unwrap();
        assert_eq!((zeros.p50, zeros.p99, zeros.max), (0.0, 0.0, 0.0));
        assert!(Spread::of(vec![-1.0; 25]).unwrap().percentiles.is_none());
    }
}
