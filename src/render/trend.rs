//! Pure: the trend over saved drill reports — client and Sentinel RTO (p50, p95) and lost
//! writes per run, oldest first — and whether the newest run regressed against the median of
//! the runs before it (the previous one with a window of 1).

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::svg::{Svg, num};
use crate::drill::report::Document;

/// One saved drill.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Run {
    /// Where it was read from (a file name).
    pub name: String,
    /// When it started.
    pub started: Option<DateTime<Utc>>,
    /// Client RTO median and p95 over its trials, ms.
    pub client_rto: Option<(f64, f64)>,
    /// Sentinel RTO median and p95, ms.
    pub sentinel_rto: Option<(f64, f64)>,
    /// Lost acknowledged writes, summed over the trials.
    pub lost: u64,
}

impl Run {
    /// The figures of report `d`, read from `name`.
    pub(crate) fn of(name: &str, d: &Document) -> Run {
        let spread = |figure: &str| {
            d.summary
                .iter()
                .find(|r| r.figure == figure)
                .map(|r| (r.spread.median, r.spread.p95))
        };
        Run {
            name: name.to_string(),
            started: d
                .started
                .or_else(|| d.trials.iter().find_map(|t| t.fault_at)),
            client_rto: spread("client_rto_ms"),
            sentinel_rto: spread("sentinel_rto_ms"),
            lost: d.trials.iter().filter_map(|t| t.lost.count.value).sum(),
        }
    }
}

/// What counts as a regression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rule {
    /// Compare with the median of this many runs before the newest (1: the previous run).
    pub window: usize,
    /// A figure regressed when it exceeds the baseline by more than this fraction (0.2 = 20 %).
    pub threshold: f64,
}

/// A chart line: name, colour, dash pattern, the value of a run.
type Series = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Run) -> Option<f64>,
);

/// The runs, oldest first, and the regressions of the newest.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Trend {
    /// The runs in time order.
    pub runs: Vec<Run>,
    /// Each regression of the newest run, in words.
    pub regressions: Vec<String>,
}

/// Reads a threshold: `20%` or `0.2`.
pub(crate) fn parse_threshold(s: &str) -> Result<f64, String> {
    let (number, scale) = match s.trim().strip_suffix('%') {
        Some(p) => (p, 100.0),
        None => (s.trim(), 1.0),
    };
    number
        .trim()
        .parse::<f64>()
        .ok()
        .map(|v| v / scale)
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| format!("`{s}` is not a threshold like 20% or 0.2"))
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Orders `runs` by start time (then name) and judges the newest with `rule`.
pub(crate) fn trend(mut runs: Vec<Run>, rule: Rule) -> Trend {
    runs.sort_by(|a, b| a.started.cmp(&b.started).then(a.name.cmp(&b.name)));
    let mut regressions = Vec::new();
    if let Some((newest, before)) = runs.split_last() {
        let base: &[Run] = &before[before.len().saturating_sub(rule.window.max(1))..];
        let what = match base.len() {
            1 => "the previous run".to_string(),
            n => format!("the median of the {n} runs before it"),
        };
        let limit = 1.0 + rule.threshold;
        let mut check =
            |name: &str, now: Option<f64>, of: &dyn Fn(&Run) -> Option<f64>, unit: &str| {
                let (Some(now), Some(base)) = (now, median(base.iter().filter_map(of).collect()))
                else {
                    return;
                };
                if now > base * limit && now > base {
                    regressions.push(format!(
                        "{name} {}{unit} in {} is more than {:.0}% above {what} ({}{unit})",
                        num(now),
                        newest.name,
                        rule.threshold * 100.0,
                        num(base)
                    ));
                }
            };
        check(
            "client RTO p95",
            newest.client_rto.map(|r| r.1),
            &|r| r.client_rto.map(|c| c.1),
            " ms",
        );
        check(
            "client RTO p50",
            newest.client_rto.map(|r| r.0),
            &|r| r.client_rto.map(|c| c.0),
            " ms",
        );
        check(
            "Sentinel RTO p95",
            newest.sentinel_rto.map(|r| r.1),
            &|r| r.sentinel_rto.map(|c| c.1),
            " ms",
        );
        check(
            "lost writes",
            Some(newest.lost as f64),
            &|r| Some(r.lost as f64),
            "",
        );
    }
    Trend { runs, regressions }
}

fn pair(v: Option<(f64, f64)>) -> String {
    v.map_or_else(
        || format!("{:>9} {:>9}", "—", "—"),
        |(a, b)| format!("{a:>9.0} {b:>9.0}"),
    )
}

impl Trend {
    /// The runs as a table, then the verdict.
    pub(crate) fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<20} {:<28} {:>19} {:>19} {:>6}",
            "started (UTC)", "report", "client RTO p50/p95", "sentinel p50/p95", "lost"
        );
        for r in &self.runs {
            let when = r
                .started
                .map_or_else(|| "—".into(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string());
            let _ = writeln!(
                out,
                "{when:<20} {:<28} {} {} {:>6}",
                r.name,
                pair(r.client_rto),
                pair(r.sentinel_rto),
                r.lost
            );
        }
        if self.regressions.is_empty() {
            let _ = writeln!(out, "\nno regression");
        } else {
            for r in &self.regressions {
                let _ = writeln!(out, "\nREGRESSION: {r}");
            }
        }
        out
    }

    /// Client and Sentinel RTO (p50, p95) and lost writes per run, as an SVG chart.
    pub(crate) fn svg(&self) -> String {
        let (w, h) = (1000.0, 420.0);
        let (x0, x1, y0, y1) = (80.0, 960.0, 50.0, 260.0);
        let (ly0, ly1) = (300.0, 380.0);
        let mut s = Svg::new(w, h, "warden drill trend");
        s.text(
            20.0,
            26.0,
            &[("font-size", "16".into()), ("font-weight", "bold".into())],
            "RTO and lost writes per run",
        );
        let n = self.runs.len().max(1);
        let x = |i: usize| {
            if n == 1 {
                (x0 + x1) / 2.0
            } else {
                x0 + (x1 - x0) * i as f64 / (n - 1) as f64
            }
        };
        let max_rto = self
            .runs
            .iter()
            .flat_map(|r| [r.client_rto.map(|c| c.1), r.sentinel_rto.map(|c| c.1)])
            .flatten()
            .fold(1.0, f64::max)
            * 1.1;
        let y = |v: f64| y1 - (y1 - y0) * v / max_rto;
        for k in 0..=4 {
            let v = max_rto * k as f64 / 4.0;
            s.line((x0, y(v)), (x1, y(v)), &[("stroke", "#e4e4e4".into())]);
            s.text(
                x0 - 6.0,
                y(v) + 4.0,
                &[("text-anchor", "end".into()), ("fill", "#555".into())],
                &format!("{} ms", num(v)),
            );
        }
        let series: [Series; 4] = [
            ("client RTO p95", "#0072b2", "0", |r| {
                r.client_rto.map(|c| c.1)
            }),
            ("client RTO p50", "#56b4e9", "4 3", |r| {
                r.client_rto.map(|c| c.0)
            }),
            ("Sentinel RTO p95", "#009e73", "0", |r| {
                r.sentinel_rto.map(|c| c.1)
            }),
            ("Sentinel RTO p50", "#7fd1b9", "4 3", |r| {
                r.sentinel_rto.map(|c| c.0)
            }),
        ];
        for (k, (name, colour, dash, of)) in series.iter().enumerate() {
            let points: Vec<String> = self
                .runs
                .iter()
                .enumerate()
                .filter_map(|(i, r)| of(r).map(|v| format!("{},{}", num(x(i)), num(y(v)))))
                .collect();
            s.empty(
                "polyline",
                &[
                    ("points", points.join(" ")),
                    ("fill", "none".into()),
                    ("stroke", (*colour).into()),
                    ("stroke-width", "2".into()),
                    ("stroke-dasharray", (*dash).into()),
                ],
            );
            for (i, r) in self.runs.iter().enumerate() {
                if let Some(v) = of(r) {
                    s.rect(
                        x(i) - 3.0,
                        y(v) - 3.0,
                        6.0,
                        6.0,
                        &[("fill", (*colour).into())],
                        Some(&format!("{}: {name} {} ms", r.name, num(v))),
                    );
                }
            }
            s.line(
                (x0 + k as f64 * 200.0, 40.0),
                (x0 + k as f64 * 200.0 + 20.0, 40.0),
                &[
                    ("stroke", (*colour).into()),
                    ("stroke-width", "2".into()),
                    ("stroke-dasharray", (*dash).into()),
                ],
            );
            s.text(
                x0 + k as f64 * 200.0 + 24.0,
                44.0,
                &[("font-size", "11".into())],
                name,
            );
        }
        let max_lost = self.runs.iter().map(|r| r.lost).max().unwrap_or(0).max(1) as f64;
        s.text(
            20.0,
            ly0 - 8.0,
            &[("fill", "#555".into())],
            &format!("lost writes (max {})", max_lost as u64),
        );
        s.line((x0, ly1), (x1, ly1), &[("stroke", "#888".into())]);
        for (i, r) in self.runs.iter().enumerate() {
            let hh = (ly1 - ly0) * r.lost as f64 / max_lost;
            s.rect(
                x(i) - 8.0,
                ly1 - hh,
                16.0,
                hh,
                &[("fill", "#cf222e".into())],
                Some(&format!("{}: {} lost", r.name, r.lost)),
            );
            let when = r
                .started
                .map_or_else(|| r.name.clone(), |t| t.format("%m-%d %H:%M").to_string());
            s.text(
                x(i),
                ly1 + 16.0,
                &[("text-anchor", "middle".into()), ("font-size", "10".into())],
                &when,
            );
        }
        s.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(i: i64, p95: f64, lost: u64) -> Run {
        Run {
            name: format!("r{i}.json"),
            started: DateTime::from_timestamp(1_700_000_000 + i * 86_400, 0),
            client_rto: Some((p95 * 0.9, p95)),
            sentinel_rto: Some((p95 * 0.8, p95 * 0.85)),
            lost,
        }
    }

    #[test]
    fn the_newest_run_is_judged_against_the_median_of_its_window() {
        let rule = Rule {
            window: 5,
            threshold: 0.2,
        };
        let steady = vec![
            run(3, 2100.0, 0),
            run(1, 2000.0, 0),
            run(2, 2200.0, 0),
            run(4, 2050.0, 0),
        ];
        let t = trend(steady.clone(), rule);
        assert_eq!(t.runs[0].name, "r1.json");
        assert!(t.regressions.is_empty(), "{:?}", t.regressions);
        let mut worse = steady;
        worse.push(run(5, 3000.0, 0));
        let t = trend(worse, rule);
        assert_eq!(t.regressions.len(), 3, "{:?}", t.regressions);
        assert!(
            t.regressions[0].starts_with("client RTO p95 3000 ms in r5.json"),
            "{:?}",
            t.regressions
        );
    }
}
