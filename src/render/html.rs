//! Pure: a drill report as one self-contained HTML page — inline CSS and SVG, no script, no
//! network: the scenario, the targets and versions, the judged figures per trial, the
//! pictures, the workloads, and the reasons for the verdict.

use std::fmt::Write as _;

use super::picture::{judged_text, trial_svg};
use super::svg::{escape, num};
use crate::drill::checker::Verdict;
use crate::drill::report::{Document, Judged, figure_label, verdict_name};

const STYLE: &str = "body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:24px;\
color:#1f2328;max-width:1240px}h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;\
margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}table{border-collapse:\
collapse;margin:8px 0}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:right}\
th{background:#f6f8fa}td.l,th.l{text-align:left}.met{color:#1a7f37}.missed{color:#cf222e;\
font-weight:bold}.unknown{color:#9a6700}.banner{padding:10px 14px;border-radius:6px;\
font-size:18px;font-weight:bold;margin:12px 0}.banner.met{background:#dafbe1}\
.banner.missed{background:#ffebe9}.banner.unknown{background:#fff8c5}dl{display:grid;\
grid-template-columns:max-content auto;gap:2px 14px;margin:8px 0}dt{color:#59636e}dd{margin:0}\
figure{margin:12px 0}svg{max-width:100%;height:auto;border:1px solid #d0d7de}\
pre{background:#f6f8fa;padding:10px;overflow-x:auto;font-size:12px}";

fn class(v: Verdict) -> &'static str {
    match v {
        Verdict::Met => "met",
        Verdict::Missed => "missed",
        Verdict::Unknown => "unknown",
    }
}

/// A judged figure in a cell: `2190 ms ≤ 5000 ✓`, coloured.
fn cell<T: Copy + Into<f64>>(j: &Judged<T>, unit: &str) -> String {
    let value = j
        .value
        .map_or_else(|| "—".into(), |v| format!("{}{unit}", num(v.into())));
    let (cls, mark) = match j.met {
        Some(true) => ("met", " ✓"),
        Some(false) => ("missed", " ✗"),
        None => ("", ""),
    };
    let target = j
        .target
        .map(|t| format!(" ≤ {t}{unit}"))
        .unwrap_or_default();
    format!(
        "<td class=\"{cls}\">{}</td>",
        escape(&format!("{value}{target}{mark}"))
    )
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{} ms", num(v)))
}

/// An SVG picture for inline use in HTML (no namespace URL: the page names no address).
pub(crate) fn inline(svg: &str) -> String {
    svg.replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
}

/// The page's head, with `title`.
pub(crate) fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(title)
    )
}

/// The whole page of report `d`; `table` is its terminal table, shown at the end.
pub(crate) fn report_page(d: &Document, table: &str) -> String {
    let mut h = head(&format!("warden drill {}", d.scenario));
    let e = escape;
    let _ = writeln!(h, "<h1>Drill <code>{}</code></h1>", e(&d.scenario));
    let _ = writeln!(
        h,
        "<div class=\"banner {}\">{}</div>",
        class(d.verdict),
        e(verdict_name(d.verdict))
    );
    h.push_str("<dl>\n");
    let mut about = |k: &str, v: String| {
        let _ = writeln!(h, "<dt>{}</dt><dd>{}</dd>", e(k), e(&v));
    };
    about("target", d.target.clone());
    about(
        "server",
        d.server.clone().unwrap_or_else(|| "not recorded".into()),
    );
    about("warden", d.warden.clone());
    if let Some(at) = d.started {
        about("started", at.format("%Y-%m-%d %H:%M:%S UTC").to_string());
    }
    about("Sentinels", d.sentinels.join(", "));
    if let Some(ms) = d.down_after_ms {
        about("down-after-milliseconds", ms.to_string());
    }
    let t = &d.targets;
    let mut targets = vec![match t.expect_failover {
        true => "a failover happens".to_string(),
        false => "no failover happens".to_string(),
    }];
    if let Some(v) = t.rto_ms {
        targets.push(format!("client RTO ≤ {v} ms"));
    }
    if let Some(v) = t.rpo_keys {
        targets.push(format!("lost writes ≤ {v}"));
    }
    if let Some(v) = t.rpo_ms {
        targets.push(format!("lost-write window ≤ {v} ms"));
    }
    about("targets", targets.join("; "));
    h.push_str("</dl>\n");

    h.push_str(
        "<h2>Trials</h2>\n<table>\n<tr><th>trial</th><th class=\"l\">fault</th>\
                <th>Sentinel RTO</th><th>client RTO</th><th>writes unavailable</th>\
                <th>lost writes</th><th>lost-write window</th><th>verdict</th></tr>\n",
    );
    for tr in &d.trials {
        let lost = Judged {
            value: tr.lost.count.value.map(|v| v as f64),
            target: tr.lost.count.target,
            met: tr.lost.count.met,
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"l\">{}</td><td>{}</td>{}<td>{}</td>{}{}\
             <td class=\"{}\">{}</td></tr>",
            tr.trial,
            e(&tr.fault),
            e(&opt(tr.sentinel_rto_ms)),
            cell(&tr.client_rto_ms, " ms"),
            e(&opt(tr.unavailable_ms)),
            cell(&lost, ""),
            cell(&tr.lost.window_ms, " ms"),
            class(tr.verdict),
            e(verdict_name(tr.verdict))
        );
    }
    h.push_str("</table>\n");
    if !d.summary.is_empty() {
        let _ = writeln!(
            h,
            "<h2>Over {} trial(s)</h2>\n<table>\n<tr><th class=\"l\">figure</th><th>n</th>\
             <th>min</th><th>median</th><th>p95</th><th>max</th><th>target</th></tr>",
            d.trials.len()
        );
        for r in &d.summary {
            let s = &r.spread;
            let _ = writeln!(
                h,
                "<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td></tr>",
                e(figure_label(&r.figure)),
                s.n,
                num(s.min),
                num(s.median),
                num(s.p95),
                num(s.max),
                r.target.map(|t| format!("≤ {t}")).unwrap_or_default()
            );
        }
        h.push_str("</table>\n");
        percentiles(&mut h, d);
    }

    h.push_str(
        "<h2>Workloads</h2>\n<table>\n<tr><th class=\"l\">workload</th><th>trial</th>\
                <th>acked</th><th>failed</th><th>unknown</th><th>recovered</th><th>lost</th>\
                <th>p50 ms</th><th>p99 ms</th><th>max ms</th></tr>\n",
    );
    for tr in d.trials.iter().filter(|t| t.injected) {
        let w = &tr.writes;
        let l = &tr.latency_us;
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">session writers</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td></tr>",
            tr.trial,
            w.acked,
            w.failed.values().sum::<u64>(),
            w.unknown,
            w.recovered,
            tr.lost
                .count
                .value
                .map_or_else(|| "—".into(), |v| v.to_string()),
            l.p50 as f64 / 1e3,
            l.p99 as f64 / 1e3,
            l.max as f64 / 1e3
        );
    }
    h.push_str("</table>\n");

    if d.trials.iter().any(|t| t.clients.len() > 1) {
        clients(&mut h, d);
    }

    for tr in &d.trials {
        let _ = writeln!(h, "<h2>Trial {}: {}</h2>", tr.trial, e(&tr.fault));
        if !tr.injected {
            let _ = writeln!(
                h,
                "<p class=\"unknown\">not injected: {}</p>",
                e(&tr.reasons.join("; "))
            );
            continue;
        }
        let _ = writeln!(h, "<figure>\n{}</figure>", inline(&trial_svg(d, tr)));
        let _ = writeln!(
            h,
            "<p class=\"{}\"><b>{}</b></p>\n<ul>",
            class(tr.verdict),
            e(verdict_name(tr.verdict))
        );
        let mut why = vec![judged_text("client RTO", &tr.client_rto_ms, " ms")];
        why.extend(tr.cluster.failovers.iter().enumerate().map(|(i, f)| {
            format!(
                "failover {} (epoch {}): {} → {}, from {} ms, {}",
                i + 1,
                f.epoch.map_or("?".into(), |e| e.to_string()),
                f.old_primary.as_deref().unwrap_or("?"),
                f.new_primary.as_deref().unwrap_or("no switch"),
                num(f.started_ms),
                f.outcome
            )
        }));
        if let (Some(p), Some(at)) = (&tr.cluster.stable.primary, tr.cluster.stable.at_ms) {
            why.push(format!(
                "settled on {p} at {} ms; the loss check read it",
                num(at)
            ));
        }
        why.extend(tr.reasons.iter().cloned());
        for r in why {
            let _ = writeln!(h, "<li>{}</li>", e(&r));
        }
        h.push_str("</ul>\n");
    }
    let _ = writeln!(h, "<h2>The table</h2>\n<pre>{}</pre>", e(table));
    h.push_str("</body>\n</html>\n");
    h
}

/// HdrHistogram percentiles of the figures (from 20 trials), and how `--until-stable` ended.
fn percentiles(h: &mut String, d: &Document) {
    let rows: Vec<_> = d
        .summary
        .iter()
        .filter_map(|r| r.spread.percentiles.as_ref().map(|p| (r, p)))
        .collect();
    if !rows.is_empty() {
        h.push_str(
            "<h3>Percentiles</h3>\n<table>\n<tr><th class=\"l\">figure</th><th>n</th>\
             <th>p50</th><th>p90</th><th>p99</th><th>max</th></tr>\n",
        );
        for (r, p) in rows {
            let _ = writeln!(
                h,
                "<tr><td class=\"l\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td></tr>",
                escape(figure_label(&r.figure)),
                r.spread.n,
                num(p.p50),
                num(p.p90),
                num(p.p99),
                num(p.max)
            );
        }
        h.push_str("</table>\n");
    }
    if let Some(u) = &d.until_stable {
        let moved = u
            .last_move
            .map_or_else(|| "—".into(), |m| format!("{:.1} %", m * 100.0));
        let _ = writeln!(
            h,
            "<p>--until-stable {:.1} %: {} after {} measured trial(s) (minimum {}), the p95 of \
             client RTO last moved {}.</p>",
            u.fraction * 100.0,
            if u.stable { "stable" } else { "not stable" },
            u.measured,
            u.min_trials,
            moved
        );
    }
}

/// The workloads that ran side by side, one row per client and trial, each judged.
fn clients(h: &mut String, d: &Document) {
    let e = escape;
    h.push_str(
        "<h2>Clients side by side</h2>\n<table>\n<tr><th>trial</th><th class=\"l\">client</th>\
         <th>client RTO</th><th>writes unavailable</th><th>acked</th><th>failed</th>\
         <th>unknown</th><th>lost writes</th><th>lost-write window</th><th>verdict</th></tr>\n",
    );
    for tr in d.trials.iter().filter(|t| t.clients.len() > 1) {
        for c in &tr.clients {
            let lost = Judged {
                value: c.lost.value.map(|v| v as f64),
                target: c.lost.target,
                met: c.lost.met,
            };
            let kind = if c.external {
                " (program)"
            } else {
                " (built-in)"
            };
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"l\">{}{}</td>{}<td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td>{}{}<td class=\"{}\">{}</td></tr>",
                tr.trial,
                e(&c.name),
                kind,
                cell(&c.client_rto_ms, " ms"),
                e(&opt(c.unavailable_ms)),
                c.acked,
                c.failed,
                c.unknown,
                cell(&lost, ""),
                cell(&c.lost_window_ms, " ms"),
                class(c.verdict),
                e(verdict_name(c.verdict))
            );
        }
    }
    h.push_str("</table>\n");
}

/// The page of a trend: the chart, then the table and the regressions.
pub(crate) fn trend_page(t: &super::trend::Trend, table: &str) -> String {
    let mut h = head("warden drill trend");
    h.push_str("<h1>Drill trend</h1>\n");
    let (cls, words) = match t.regressions.is_empty() {
        true => ("met", "no regression".to_string()),
        false => ("missed", format!("{} regression(s)", t.regressions.len())),
    };
    let _ = writeln!(
        h,
        "<div class=\"banner {cls}\">{}</div>\n<ul>",
        escape(&words)
    );
    for r in &t.regressions {
        let _ = writeln!(h, "<li class=\"missed\">{}</li>", escape(r));
    }
    let _ = writeln!(h, "</ul>\n<figure>\n{}</figure>", inline(&t.svg()));
    let _ = writeln!(h, "<pre>{}</pre>\n</body>\n</html>", escape(table));
    h
}
