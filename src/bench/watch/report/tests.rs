use super::*;

fn t(master: &str, old: &str, new: &str, triggered: bool) -> Transition {
    Transition {
        master: master.into(),
        old: old.into(),
        new: new.into(),
        triggered,
    }
}

fn r(master: &str, outcome: &str, old: Option<&str>, new: Option<&str>) -> Record {
    Record {
        master: master.into(),
        outcome: outcome.into(),
        old: old.map(Into::into),
        new: new.map(Into::into),
    }
}

#[test]
fn a_failover_line_is_read_and_other_lines_are_not() {
    let line = r#"{"type":"failover","master":"bench-01","outcome":"failed_over","old_primary":"127.0.0.1:7000","new_primary":"127.0.0.1:7002","observed":"live","epoch":3}"#;
    assert_eq!(
        parse_record(line),
        Some(r(
            "bench-01",
            "failed_over",
            Some("127.0.0.1:7000"),
            Some("127.0.0.1:7002")
        ))
    );
    let aborted = r#"{"type":"failover","master":"m","outcome":{"aborted":"-failover-abort-no-good-slave"},"old_primary":"127.0.0.1:1","new_primary":null}"#;
    let rec = parse_record(aborted).unwrap();
    assert_eq!(rec.outcome, "aborted");
    assert!(!rec.is_switch());
    for other in [
        r#"{"type":"event","event":"+switch-master"}"#,
        r#"{"type":"primary","master":"m"}"#,
        "not json",
        "",
    ] {
        assert_eq!(parse_record(other), None, "{other}");
    }
}

#[test]
fn counts_match_transitions_and_records_per_pair() {
    let masters = ["a".to_string(), "b".to_string(), "c".to_string()];
    let requests = [
        ("a".to_string(), true),
        ("b".to_string(), true),
        ("c".to_string(), true),
        ("a".to_string(), true),
        ("b".to_string(), false),
    ];
    let transitions = [
        t("a", "1", "2", true),
        t("b", "4", "5", true),
        t("c", "7", "8", true),
        t("a", "2", "3", true),
        t("c", "8", "9", false),
    ];
    let records = [
        r("a", "failed_over", Some("1"), Some("2")),
        r("a", "failed_over", Some("2"), Some("3")),
        // b: recorded twice (a double).
        r("b", "failed_over", Some("4"), Some("5")),
        r("b", "switched", Some("4"), Some("5")),
        // c: the first is missed; the spontaneous one is recorded; plus a recovery.
        r("c", "failed_over", Some("8"), Some("9")),
        r("c", "recovered", Some("8"), None),
    ];
    let (per, total) = count(&masters, &requests, &transitions, &records);
    assert_eq!(
        total,
        Counts {
            requested: 4,
            refused: 1,
            triggered: 4,
            spontaneous: 1,
            recorded: 5,
            missed: 1,
            doubled: 1,
            other: 1,
            other_outcomes: [("recovered".to_string(), 1)].into(),
        }
    );
    assert_eq!((per["a"].missed, per["a"].doubled), (0, 0));
    assert_eq!((per["b"].missed, per["b"].doubled), (0, 1));
    assert_eq!((per["c"].missed, per["c"].doubled), (1, 0));
}

#[test]
fn a_record_of_the_wrong_pair_is_a_miss_and_a_double() {
    let (_, total) = count(
        &["a".to_string()],
        &[],
        &[t("a", "1", "2", true)],
        &[r("a", "failed_over", Some("1"), Some("3"))],
    );
    assert_eq!((total.missed, total.doubled), (1, 1));
}

fn s(at_s: f64, rss_kib: u64, cpu_ticks: u64) -> Sample {
    Sample {
        at_s,
        rss_kib,
        cpu_ticks,
    }
}

#[test]
fn cpu_is_ticks_over_wall_time() {
    assert_eq!(cpu_pct(&s(0.0, 0, 0), &s(10.0, 0, 100), 100.0), 10.0);
    assert_eq!(cpu_pct(&s(5.0, 0, 10), &s(5.0, 0, 20), 100.0), 0.0);
    assert_eq!(cpu_pct(&s(0.0, 0, 0), &s(30.0, 0, 0), 100.0), 0.0);
}

#[test]
fn samples_fold_into_minutes_and_a_spread() {
    let samples = [
        s(0.0, 9000, 0),
        s(30.0, 9100, 30),
        s(59.0, 9050, 59),
        s(60.0, 9300, 60),
        s(119.0, 9200, 60),
        s(125.0, 9400, 120),
    ];
    let m = minutes(&samples, 100.0, &[40.0, 61.0, 80.0]);
    assert_eq!(m.len(), 3);
    assert_eq!(
        (m[0].rss_min_kib, m[0].rss_max_kib, m[0].failovers),
        (9000, 9100, 1)
    );
    assert!((m[0].cpu_pct - 1.0).abs() < 1e-9, "{}", m[0].cpu_pct);
    // Minute 1 counts from the last sample of minute 0.
    assert!((m[1].cpu_pct - 1.0 / 60.0).abs() < 1e-9, "{}", m[1].cpu_pct);
    assert_eq!(m[1].failovers, 2);
    assert_eq!(m[2].minute, 2);
    assert_eq!(
        rss_spread(&samples),
        Spread {
            min: 9000,
            median: 9200,
            max: 9400
        }
    );
    assert_eq!(rss_spread(&[]), Spread::default());
}

#[test]
fn the_table_names_every_figure() {
    let samples = vec![s(0.0, 10240, 0), s(60.0, 11264, 6)];
    let (per, total) = count(
        &["a".to_string()],
        &[("a".to_string(), true)],
        &[t("a", "1", "2", true)],
        &[],
    );
    let report = Report {
        masters: 1,
        replicas: 2,
        processes: 6,
        failover_every_s: 20.0,
        duration_s: 60.0,
        sample_s: 5.0,
        poll_s: 5.0,
        idle_window_s: 30.0,
        ready_s: 0.4,
        idle_cpu_pct: 0.0,
        failover_cpu_pct: 0.1,
        rss_kib: rss_spread(&samples),
        minutes: minutes(&samples, 100.0, &[30.0]),
        total,
        per_master: per,
        samples,
    };
    let text = table(&report);
    for needle in [
        "1 masters x 2 replicas",
        "RSS        min 10.0 MiB   median 11.0 MiB   max 11.0 MiB",
        "idle 0.00 %",
        "during failovers 0.10 %",
        "triggered 1",
        "recorded 0   missed 1   doubled 0",
        "masters with a miss or a double: a (missed 1, doubled 0)",
    ] {
        assert!(text.contains(needle), "{needle:?} in\n{text}");
    }
}
