//! `warden bench watch` end to end on a small fleet: 3 masters (9 nodes, 3 Sentinels), a
//! failover every 5 s for 30 s. Takes ~40-60 s (fleet start, a quiet window, 30 s of
//! failovers, the settle wait). Checks the table parses, the watch's RSS was sampled, no
//! failover the Sentinels confirmed was missed or recorded twice, and progress was printed
//! on stderr while it ran.

mod support;

use support::Warden;

/// The number after `label` on the table's line starting with `row`.
fn figure(table: &str, row: &str, label: &str) -> f64 {
    let line = table
        .lines()
        .find(|l| l.starts_with(row))
        .unwrap_or_else(|| panic!("no {row:?} line in\n{table}"));
    let rest = &line[line
        .find(label)
        .unwrap_or_else(|| panic!("{label:?} in {line}"))
        + label.len()..];
    rest.split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a number after {label:?} in {line}"))
}

#[test]
fn three_masters_fail_over_and_none_is_missed() {
    let w = Warden::new();
    let run = w.run(&[
        "bench",
        "watch",
        "--masters",
        "3",
        "--failover-every",
        "2s",
        "--duration",
        "12s",
        "--sample",
        "1s",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    let t = &run.stdout;
    assert!(t.starts_with("watch bench: 3 masters x 2 replicas"), "{t}");
    let rss = figure(t, "RSS", "median");
    assert!(rss > 1.0 && rss < 100.0, "median RSS {rss} MiB in\n{t}");
    let idle = figure(t, "CPU", "idle");
    assert!((0.0..100.0).contains(&idle), "{t}");
    let triggered = figure(t, "failovers", "triggered");
    assert!(triggered >= 3.0, "at least one failover per master in\n{t}");
    assert_eq!(figure(t, "failovers", "missed"), 0.0, "{t}");
    assert_eq!(figure(t, "failovers", "doubled"), 0.0, "{t}");
    assert!(figure(t, "failovers", "recorded") >= triggered, "{t}");
    // Failovers of different masters 2 s apart can overlap: none may cut another in two (an
    // `unfinished` attempt ended by the other's epoch, then a `switched` rest). Overlap is
    // likely, not certain, here; `failover::episode`'s table test pins the case itself.
    let line = t
        .lines()
        .find(|l| l.starts_with("failovers"))
        .expect("a failovers line");
    assert!(
        !line.contains("unfinished") && !line.contains("switched"),
        "{t}"
    );
    assert!(
        t.lines().any(|l| l.trim_start().starts_with("0 ")),
        "a row for minute 0 in\n{t}"
    );
    // Progress while it ran, on stderr: the fleet's start, then failovers so far and RSS.
    let e = &run.stderr;
    for want in [
        "bench watch: starting 3 masters",
        "bench watch: the fleet is up",
        "bench watch: the watch follows every master",
        "failovers requested",
        "MiB",
    ] {
        assert!(e.contains(want), "{want:?} in the progress:\n{e}");
    }
}
