//! Pure: the drill report as a table for a terminal, from its [`Document`]: each judged figure
//! beside its target (`client RTO  2190.0 ms ≤ 5000 ✓`).

use std::fmt::Write as _;

use super::doc::{ClientDoc, Document, Judged, Trial};
use crate::drill::checker::Verdict;

/// The words for a summary figure: `client_rto_ms` → `client RTO`.
pub(crate) fn figure_label(figure: &str) -> &str {
    match figure {
        "sentinel_rto_ms" => "sentinel RTO",
        "client_rto_ms" => "client RTO",
        "unavailable_ms" => "writes unavailable",
        "lost_count" => "lost writes (count)",
        "versus_client_rto_ms" => "versus: client RTO",
        "versus_unavailable_ms" => "versus: unavailable",
        "versus_lost_count" => "versus: lost writes",
        other => other,
    }
}

/// `  2190.0 ms`, or a dash when not measured.
pub(super) fn opt_ms(v: Option<f64>) -> String {
    v.map(|v| format!("{v:>9.1} ms"))
        .unwrap_or_else(|| format!("{:>9}", "—"))
}

/// ` ≤ 5000 ✓` / ` ≤ 5000 MISSED` / `` (no target).
fn against<T>(j: &Judged<T>, unit: &str) -> String {
    match (j.target, j.met) {
        (Some(t), Some(true)) => format!("  ≤ {t}{unit} ✓"),
        (Some(t), Some(false)) => format!("  ≤ {t}{unit} MISSED"),
        (Some(t), None) => format!("  ≤ {t}{unit} (not judged)"),
        (None, _) => String::new(),
    }
}

/// The table.
pub(crate) fn table(d: &Document) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "drill {} against {}", d.scenario, d.target);
    let mut about = vec![format!("warden {}", d.warden)];
    if let Some(s) = &d.server {
        about.push(s.clone());
    }
    if let Some(at) = d.started {
        about.push(format!("started {}", at.format("%Y-%m-%d %H:%M:%S UTC")));
    }
    let _ = writeln!(out, "{}", about.join(", "));
    if let Some(sig) = &d.cancelled {
        let _ = writeln!(
            out,
            "cancelled by {sig}: a partial report (faults reverted, no further trial run)"
        );
    }
    for t in &d.trials {
        trial(&mut out, t);
    }
    if !d.summary.is_empty() {
        let head = format!("over {} (ms)", count(d.trials.len(), "trial"));
        let _ = writeln!(out, "\n{head:<27}min   median      p95      max  target");
        for r in &d.summary {
            let s = &r.spread;
            let target = r.target.map(|t| format!("  ≤ {t}")).unwrap_or_default();
            let _ = writeln!(
                out,
                "  {:<20} {:>9.0} {:>8.0} {:>8.0} {:>8.0}{target}",
                figure_label(&r.figure),
                s.min,
                s.median,
                s.p95,
                s.max
            );
        }
        percentiles(&mut out, d);
    }
    if let Some(u) = &d.until_stable {
        let moved = u
            .last_move
            .map_or("—".into(), |m| format!("{:.1} %", m * 100.0));
        let _ = writeln!(
            out,
            "\nuntil stable ({:.1} %, at least {} trials): client RTO p95 moved {moved} with \
             the last of {} trials that measured it: {}",
            u.fraction * 100.0,
            u.min_trials,
            u.measured,
            if u.stable { "stable" } else { "NOT stable" }
        );
    }
    let _ = writeln!(out, "\nverdict: {}", verdict_name(d.verdict));
    out
}

/// The HdrHistogram percentiles of the figures that have them (20 trials or more).
fn percentiles(out: &mut String, d: &Document) {
    let rows: Vec<_> = d
        .summary
        .iter()
        .filter_map(|r| Some((r, r.spread.percentiles.as_ref()?)))
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{:<27}  n      p50      p90      p99      max",
        "percentiles (HdrHistogram)"
    );
    for (r, p) in rows {
        let _ = writeln!(
            out,
            "  {:<20} {:>6} {:>8.0} {:>8.0} {:>8.0} {:>8.0}",
            figure_label(&r.figure),
            r.spread.n,
            p.p50,
            p.p90,
            p.p99,
            p.max
        );
    }
}

fn trial(out: &mut String, t: &Trial) {
    let versus = if t.versus { " (versus)" } else { "" };
    let _ = writeln!(out, "\ntrial {}{versus}: {}", t.trial, t.fault);
    if !t.injected {
        let _ = writeln!(out, "  not injected: {}", t.reasons.join("; "));
        return;
    }
    for p in &t.phases {
        let _ = writeln!(out, "  {:<26} {}", p.phase, opt_ms(p.at_ms));
    }
    let row = |out: &mut String, name: &str, v: String| {
        let _ = writeln!(out, "  {name:<26} {v}");
    };
    row(out, "sentinel RTO", opt_ms(t.sentinel_rto_ms));
    let rto = &t.client_rto_ms;
    row(
        out,
        "client RTO",
        format!("{}{}", opt_ms(rto.value), against(rto, " ms")),
    );
    row(out, "writes unavailable", opt_ms(t.unavailable_ms));
    row(out, "old primary rejoined", opt_ms(t.rejoin_ms));
    let w = &t.writes;
    let failed: u64 = w.failed.values().sum();
    row(
        out,
        "writes",
        format!(
            "{} acked, {failed} failed, {} unknown ({} recovered)",
            w.acked, w.unknown, w.recovered
        ),
    );
    let l = &t.lost;
    let count = l
        .count
        .value
        .map_or_else(|| "— (no loss check)".to_string(), |c| c.to_string());
    row(
        out,
        "lost acknowledged writes",
        format!("{count}{}", against(&l.count, "")),
    );
    if l.window_ms.target.is_some() || l.window_ms.value.is_some() {
        let window = match (l.oldest_ms, l.newest_ms) {
            (Some(o), Some(n)) => format!(" (acked {o:.0} … {n:.0} ms from the fault)"),
            _ => String::new(),
        };
        row(
            out,
            "lost-write window",
            format!(
                "{}{}{window}",
                opt_ms(l.window_ms.value),
                against(&l.window_ms, " ms")
            ),
        );
    }
    let readonly = w.failed.get("READONLY").copied().unwrap_or(0);
    if w.stale_acked + readonly > 0 {
        row(
            out,
            "writes to a demoted node",
            format!(
                "{} acked after the switch by a node not the new primary, {readonly} READONLY",
                w.stale_acked
            ),
        );
    }
    if w.ttl_gone + w.ttl_off > 0 {
        row(
            out,
            "TTL anomalies",
            format!("{} gone, {} off", w.ttl_gone, w.ttl_off),
        );
    }
    let l = &t.latency_us;
    row(
        out,
        "write latency (ms)",
        format!(
            "p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
            l.p50 as f64 / 1e3,
            l.p90 as f64 / 1e3,
            l.p99 as f64 / 1e3,
            l.p999 as f64 / 1e3,
            l.max as f64 / 1e3
        ),
    );
    two_primaries(out, t);
    cluster(out, t);
    if t.tilt {
        let _ = writeln!(out, "  a Sentinel entered TILT mode during the trial");
    }
    for g in &t.sentinel_gaps {
        let _ = writeln!(
            out,
            "  sentinel #{} unreachable for {} ({})",
            g.sentinel,
            opt_ms(g.out_ms),
            g.reason
        );
    }
    if t.clients.len() > 1 {
        clients(out, &t.clients);
    }
    let reasons = match t.reasons.is_empty() {
        true => String::new(),
        false => format!(" — {}", t.reasons.join("; ")),
    };
    let _ = writeln!(out, "  verdict: {}{reasons}", verdict_name(t.verdict));
}

/// The workloads side by side, one row each.
fn clients(out: &mut String, rows: &[ClientDoc]) {
    let name = |c: &ClientDoc| match c.external {
        true => c.name.clone(),
        false => format!("{} (built-in)", c.name),
    };
    let width = rows
        .iter()
        .map(|c| name(c).chars().count())
        .max()
        .unwrap_or(0)
        .max(6);
    let _ = writeln!(
        out,
        "  {:<width$} {:>12} {:>12} {:>8} {:>7} {:>7} {:>6}  verdict",
        "client", "client RTO", "unavailable", "acked", "failed", "unknown", "lost"
    );
    let cell = |v: Option<f64>| v.map_or_else(|| "—".to_string(), |v| format!("{v:.1} ms"));
    for c in rows {
        let lost = c
            .lost
            .value
            .map_or_else(|| "—".to_string(), |n| n.to_string());
        let _ = writeln!(
            out,
            "  {:<width$} {:>12} {:>12} {:>8} {:>7} {:>7} {lost:>6}  {}",
            name(c),
            cell(c.client_rto_ms.value),
            cell(c.unavailable_ms),
            c.acked,
            c.failed,
            c.unknown,
            verdict_name(c.verdict)
        );
    }
}

/// The two-primaries line, when the roles were sampled.
fn two_primaries(out: &mut String, t: &Trial) {
    let p = &t.two_primaries;
    if p.rounds == 0 {
        return;
    }
    let what = match p.spans.len() {
        0 => format!("none ({} ROLE rounds)", p.rounds),
        n => {
            let mut nodes: Vec<&str> = p
                .spans
                .iter()
                .flat_map(|s| &s.nodes)
                .map(String::as_str)
                .collect();
            nodes.sort_unstable();
            nodes.dedup();
            let open = if p.spans.iter().any(|s| s.open) {
                ", still at the end"
            } else {
                ""
            };
            format!(
                "{} in {} ({}){open}",
                opt_ms(Some(p.total_ms)).trim_start(),
                count(n, "span"),
                nodes.join(", ")
            )
        }
    };
    let _ = writeln!(out, "  {:<26} {what}", "two primaries");
    let end = match p.at_end.len() {
        1 => "1 (one primary emerged)".to_string(),
        n => format!("{n} — not exactly one"),
    };
    let _ = writeln!(
        out,
        "  {:<26} {end} {}",
        "masters at the end",
        p.at_end.join(", ")
    );
}

/// Every failover, whether the cluster settled and on what, the loss checks, split brain and
/// the returning old primary (schema 2; absent from older reports).
fn cluster(out: &mut String, t: &Trial) {
    let c = &t.cluster;
    let row = |out: &mut String, name: &str, v: String| {
        let _ = writeln!(out, "  {name:<26} {v}");
    };
    if !c.failovers.is_empty() {
        let switched = c.failovers.iter().filter(|f| f.switched()).count();
        let attempts = c.failovers.len() - switched;
        let v = match attempts {
            0 => switched.to_string(),
            n => format!(
                "{switched} (and {} that named no new primary)",
                count(n, "attempt")
            ),
        };
        row(out, "failovers", v);
    }
    for (i, f) in c.failovers.iter().enumerate() {
        let epoch = f.epoch.map_or("?".into(), |e| e.to_string());
        let switch = f.phases.iter().find(|p| p.phase == "+switch-master");
        let mut about = vec![format!("from {:.0} ms", f.started_ms)];
        if let Some(s) = switch {
            about.push(format!("+switch-master {:.0} ms", s.at_ms));
        }
        if let Some(l) = f.leader {
            about.push(format!("led by sentinel #{l}"));
        }
        if let Some(g) = f.after_own_switch_ms {
            about.push(format!("{g:.0} ms after its leader's own +switch-master"));
        }
        about.push(f.outcome.clone());
        let _ = writeln!(
            out,
            "    {}. epoch {epoch}: {} → {} ({})",
            i + 1,
            f.old_primary.as_deref().unwrap_or("?"),
            f.new_primary.as_deref().unwrap_or("no switch"),
            about.join(", ")
        );
    }
    match (&c.stable.primary, c.stable.at_ms, &c.stable.not_stable) {
        (Some(p), Some(at), _) => row(out, "settled", format!("on {p}, stable at {at:.0} ms")),
        (_, _, Some(why)) => row(out, "settled", format!("NO — {why}")),
        _ => {}
    }
    for (i, l) in c.loss_checks.iter().enumerate() {
        let lost = l.lost.map_or("failed".into(), |n| format!("{n} lost"));
        let name = if i == 0 {
            "loss check"
        } else {
            "loss check again"
        };
        row(
            out,
            name,
            format!("on {} at {:.0} ms: {lost}", l.primary, l.at_ms),
        );
    }
    if !c.split_brain.is_empty() {
        row(
            out,
            "split brain",
            format!(
                "{:.0} ms in {} ({})",
                c.split_brain.total_ms,
                count(c.split_brain.spans.len(), "span"),
                nodes(&c.split_brain)
            ),
        );
    }
    if !c.returning.is_empty() {
        row(
            out,
            "old primary back as master",
            format!(
                "{:.0} ms before it was converted ({})",
                c.returning.total_ms,
                nodes(&c.returning)
            ),
        );
    }
}

/// Every node named in `s`'s stretches, once.
fn nodes(s: &crate::drill::split::Stretches) -> String {
    let mut all: Vec<&str> = s
        .spans
        .iter()
        .flat_map(|s| &s.nodes)
        .map(String::as_str)
        .collect();
    all.sort_unstable();
    all.dedup();
    all.join(", ")
}

/// `1 trial`, `3 trials`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The verdict in words.
pub(crate) fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Met => "targets met",
        Verdict::Missed => "targets MISSED",
        Verdict::Unknown => "could not measure",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_pluralized() {
        assert_eq!(count(1, "trial"), "1 trial");
        assert_eq!(count(0, "trial"), "0 trials");
        assert_eq!(count(3, "trial"), "3 trials");
    }
}
