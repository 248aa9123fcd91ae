//! Pure: the drill report — per-trial figures, the spread over trials (min / median / p95 /
//! max) — and its renderings as a table for people and JSON for machines.

use std::fmt::Write as _;

use serde::Serialize;

use super::checker::{Figures, Verdict};
use crate::sentinel::timeline::Phases;
use crate::server::ServerVersion;

/// One trial in the report.
#[derive(Debug, Clone, Serialize)]
pub struct TrialReport {
    /// 1-based trial number.
    pub trial: u32,
    /// The primary the fault hit (absent when the trial did not inject).
    pub old_primary: Option<String>,
    /// What was done.
    pub fault: String,
    /// Whether the fault was injected (false when the pre-flight failed).
    pub injected: bool,
    /// The figures (empty when not injected).
    #[serde(flatten)]
    pub figures: Figures,
    /// The trial's verdict.
    pub verdict: Verdict,
    /// Why the verdict is not `met`, or what went wrong.
    pub reasons: Vec<String>,
}

/// min / median / p95 / max of one figure over the trials that measured it.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
        })
    }
}

/// A whole drill.
#[derive(Debug, Clone, Serialize)]
pub struct DrillReport {
    /// Scenario name.
    pub scenario: String,
    /// What the drill ran against.
    pub target: String,
    /// The server family and version of the primary before the first trial (`INFO server`),
    /// when it answered.
    pub server: Option<ServerVersion>,
    /// Sentinel `down-after-milliseconds`, when warden knows it (its own lab).
    pub down_after_ms: Option<u64>,
    /// The trials.
    pub trials: Vec<TrialReport>,
    /// Figures over all trials, by name.
    pub summary: Vec<(String, Spread)>,
    /// The drill's verdict (the worst trial's).
    pub verdict: Verdict,
    /// The signal that cancelled the drill (`SIGTERM`, …): the report is partial.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<String>,
}

impl DrillReport {
    /// Builds the report and its summary from the trials.
    pub fn new(
        scenario: String,
        target: String,
        server: Option<ServerVersion>,
        down_after_ms: Option<u64>,
        trials: Vec<TrialReport>,
    ) -> DrillReport {
        let verdict = trials
            .iter()
            .map(|t| t.verdict)
            .max()
            .unwrap_or(Verdict::Unknown);
        let summary = summarize(&trials);
        DrillReport {
            scenario,
            target,
            server,
            down_after_ms,
            trials,
            summary,
            verdict,
            cancelled: None,
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serializes")
    }

    /// The report as a table for a terminal.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let _ = write!(out, "drill {} against {}", self.scenario, self.target);
        match &self.server {
            Some(server) => {
                let _ = writeln!(out, " ({server})");
            }
            None => out.push('\n'),
        }
        if let Some(sig) = &self.cancelled {
            let _ = writeln!(
                out,
                "cancelled by {sig}: a partial report (faults reverted, no further trial run)"
            );
        }
        for t in &self.trials {
            let _ = writeln!(out, "\ntrial {}: {}", t.trial, t.fault);
            if !t.injected {
                let _ = writeln!(out, "  not injected: {}", t.reasons.join("; "));
                continue;
            }
            let f = &t.figures;
            for (name, v) in &f.phases_ms {
                let _ = writeln!(out, "  {:<26} {}", Phases::channel(name), opt_ms(*v));
            }
            let _ = writeln!(
                out,
                "  {:<26} {}",
                "sentinel RTO",
                opt_ms(f.sentinel_rto_ms)
            );
            let _ = writeln!(out, "  {:<26} {}", "client RTO", opt_ms(f.client_rto_ms));
            let _ = writeln!(
                out,
                "  {:<26} {}",
                "writes unavailable",
                opt_ms(f.unavailable_ms)
            );
            let _ = writeln!(
                out,
                "  {:<26} {}",
                "old primary rejoined",
                opt_ms(f.rejoin_ms)
            );
            let w = &f.writes;
            let failed: u64 = w.failed.values().sum();
            let _ = writeln!(
                out,
                "  writes                     {} acked, {failed} failed, {} unknown ({} recovered)",
                w.acked, w.unknown, w.recovered
            );
            let _ = writeln!(
                out,
                "  lost acknowledged writes   {}{}",
                f.lost.count,
                lost_window(f)
            );
            if w.ttl_gone + w.ttl_off > 0 {
                let _ = writeln!(
                    out,
                    "  TTL anomalies              {} gone, {} off",
                    w.ttl_gone, w.ttl_off
                );
            }
            let l = &f.latency_us;
            let _ = writeln!(
                out,
                "  write latency (ms)         p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
                l.p50 as f64 / 1e3,
                l.p90 as f64 / 1e3,
                l.p99 as f64 / 1e3,
                l.p999 as f64 / 1e3,
                l.max as f64 / 1e3
            );
            if f.tilt {
                let _ = writeln!(out, "  a Sentinel entered TILT mode during the trial");
            }
            for (s, dur, why) in &f.sentinel_gaps {
                let _ = writeln!(
                    out,
                    "  sentinel #{s} unreachable for {} ({why})",
                    opt_ms(*dur)
                );
            }
            let _ = writeln!(
                out,
                "  verdict: {}{}",
                verdict_name(t.verdict),
                reasons(&t.reasons)
            );
        }
        if !self.summary.is_empty() {
            let head = format!("over {} (ms)", count(self.trials.len(), "trial"));
            let _ = writeln!(out, "\n{head:<27}min   median      p95      max");
            for (name, s) in &self.summary {
                let _ = writeln!(
                    out,
                    "  {:<20} {:>9.0} {:>8.0} {:>8.0} {:>8.0}",
                    name, s.min, s.median, s.p95, s.max
                );
            }
        }
        let _ = writeln!(out, "\nverdict: {}", verdict_name(self.verdict));
        out
    }
}

fn summarize(trials: &[TrialReport]) -> Vec<(String, Spread)> {
    let done: Vec<&Figures> = trials
        .iter()
        .filter(|t| t.injected)
        .map(|t| &t.figures)
        .collect();
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
        "sentinel RTO".into(),
        done.iter().filter_map(|f| f.sentinel_rto_ms).collect(),
    ));
    rows.push((
        "client RTO".into(),
        done.iter().filter_map(|f| f.client_rto_ms).collect(),
    ));
    rows.push((
        "writes unavailable".into(),
        done.iter().filter_map(|f| f.unavailable_ms).collect(),
    ));
    rows.push((
        "lost writes (count)".into(),
        done.iter().map(|f| f.lost.count as f64).collect(),
    ));
    rows.into_iter()
        .filter_map(|(n, v)| Some((n, Spread::of(v)?)))
        .collect()
}

fn opt_ms(v: Option<f64>) -> String {
    v.map(|v| format!("{v:>9.1} ms"))
        .unwrap_or_else(|| format!("{:>9}", "—"))
}

fn lost_window(f: &Figures) -> String {
    match (f.lost.oldest_ms, f.lost.newest_ms, f.lost.window_ms) {
        (Some(o), Some(n), Some(w)) => {
            format!(" (acked {o:.0} … {n:.0} ms from the fault; window {w:.0} ms)")
        }
        _ => String::new(),
    }
}

/// `1 trial`, `3 trials`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Met => "targets met",
        Verdict::Missed => "targets MISSED",
        Verdict::Unknown => "could not measure",
    }
}

fn reasons(r: &[String]) -> String {
    if r.is_empty() {
        String::new()
    } else {
        format!(" — {}", r.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_the_server_family_and_version() {
        let valkey = ServerVersion {
            family: crate::server::Family::Valkey,
            version: "8.1.8".into(),
        };
        let r = DrillReport::new("kill".into(), "lab".into(), Some(valkey), None, vec![]);
        insta::assert_snapshot!(r.to_table(), @r"
        drill kill against lab (valkey 8.1.8)

        verdict: could not measure
        ");
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(
            json["server"],
            serde_json::json!({"family": "valkey", "version": "8.1.8"})
        );
        let unknown = DrillReport::new("kill".into(), "lab".into(), None, None, vec![]);
        assert!(unknown.to_table().starts_with("drill kill against lab\n"));
        assert!(unknown.to_json().contains("\"server\": null"));
    }

    #[test]
    fn counts_are_pluralized() {
        assert_eq!(count(1, "trial"), "1 trial");
        assert_eq!(count(0, "trial"), "0 trials");
        assert_eq!(count(3, "trial"), "3 trials");
    }

    #[test]
    fn spread_uses_nearest_rank() {
        let s = Spread::of(vec![5.0, 1.0, 3.0, 2.0, 4.0]).unwrap();
        assert_eq!((s.min, s.median, s.p95, s.max), (1.0, 3.0, 5.0, 5.0));
        assert_eq!(Spread::of(vec![7.0]).unwrap().median, 7.0);
        assert!(Spread::of(vec![]).is_none());
    }
}
