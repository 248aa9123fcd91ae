//! `drill --history` and `warden check` through the real binary on a process lab: the history
//! marks as lost exactly what the report counted, its clocks agree with the report's UTC
//! anchors, and after known keys are deleted on the new primary `warden check` finds exactly
//! the earlier lost writes plus those; `--until-stable` stops once the client RTO's p95 holds.

mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::{TestLab, Warden};
use warden::client::{self, Timeouts};
use warden::sentinel::topology;

/// Two `SENTINEL FAILOVER` trials at most, on the lab's own Sentinels.
fn scenario(lab: &TestLab) -> String {
    let sentinels: Vec<String> = lab
        .lab
        .sentinels()
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect();
    format!(
        "name = \"history\"\ntrials = 3\n[target]\nsentinels = [{}]\nmaster = \"{}\"\n\
         [workload]\nwriters = 3\nrate = 600\n\
         [fault]\naction = \"sentinel-failover\"\n\
         [timing]\nwarmup = \"1s\"\nobserve = \"20s\"\nsettle = \"500ms\"\n",
        sentinels.join(", "),
        lab.lab.master()
    )
}

fn read_lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Keys of `trial` (0: all) whose `check` is `what`.
fn keys(lines: &[Value], trial: u64, what: &str) -> BTreeSet<String> {
    lines
        .iter()
        .filter(|l| trial == 0 || l["trial"] == trial)
        .filter(|l| l["check"] == what)
        .map(|l| l["key"].as_str().expect("key").to_string())
        .collect()
}

fn count(lines: &[Value], trial: u64, field: &str, value: &str) -> u64 {
    lines
        .iter()
        .filter(|l| l["trial"] == trial && l[field] == value)
        .count() as u64
}

fn ns(utc: &Value) -> i128 {
    let t: chrono::DateTime<chrono::Utc> = utc.as_str().expect("a time").parse().expect("RFC 3339");
    t.timestamp_nanos_opt().expect("in range") as i128
}

/// Each trial's lines hold exactly the report's counts, and their clocks agree.
fn history_matches_the_report(report: &Value, lines: &[Value]) {
    for t in report["trials"].as_array().expect("trials") {
        let n = t["trial"].as_u64().expect("trial");
        let w = &t["writes"];
        assert_eq!(count(lines, n, "outcome", "ok"), w["acked"], "trial {n}");
        assert_eq!(
            count(lines, n, "outcome", "unknown"),
            w["unknown"],
            "trial {n}"
        );
        assert_eq!(
            count(lines, n, "check", "recovered"),
            w["recovered"],
            "trial {n}"
        );
        let failed: u64 = w["failed"]
            .as_object()
            .expect("failed")
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(count(lines, n, "outcome", "error"), failed, "trial {n}");
        let lost = keys(lines, n, "lost");
        assert_eq!(lost.len() as u64, t["lost"]["count"]["value"], "trial {n}");
        for s in t["lost"]["sample"].as_array().expect("sample") {
            assert!(
                lost.contains(s["key"].as_str().unwrap()),
                "{s} not lost in the history"
            );
        }
        // The oldest lost write completed `oldest_ms` after the fault, on both clocks.
        if let Some(oldest_ms) = t["lost"]["oldest_ms"].as_f64() {
            let first = lines
                .iter()
                .filter(|l| l["trial"] == n && l["check"] == "lost")
                .map(|l| ns(&l["complete_utc"]))
                .min()
                .expect("a lost line");
            let want = ns(&t["fault_at"]) + (oldest_ms * 1e6).round() as i128;
            assert!((first - want).abs() <= 1_000, "{first} vs {want}");
        }
    }
    for l in lines {
        let mono = l["complete_mono_ns"].as_i64().unwrap() - l["invoke_mono_ns"].as_i64().unwrap();
        let utc = ns(&l["complete_utc"]) - ns(&l["invoke_utc"]);
        assert!(mono >= 0 && i128::from(mono) == utc, "{l}");
        assert!(
            l["node"]
                .as_str()
                .is_some_and(|n| n.starts_with("127.0.0.1:")),
            "{l}"
        );
    }
}

/// Each phase and timeline row carries its UTC time: the fault's plus its offset.
fn anchors_are_in_the_report(report: &Value) {
    for t in report["trials"].as_array().expect("trials") {
        let fault = ns(&t["fault_at"]);
        for p in t["phases"].as_array().expect("phases") {
            if let Some(ms) = p["at_ms"].as_f64() {
                assert_eq!(
                    ns(&p["at"]),
                    fault + (ms * 1e3).round() as i128 * 1000,
                    "{p}"
                );
            }
        }
        let rows = t["timeline"].as_array().expect("timeline");
        let switch = rows
            .iter()
            .find(|r| r["channel"] == "+switch-master")
            .unwrap_or_else(|| panic!("no +switch-master row: {t:#}"));
        assert_eq!(switch["address"], t["new_primary"], "{switch}");
        assert!(
            !switch["reports"].as_array().unwrap().is_empty(),
            "{switch}"
        );
        let first_ms = switch["first_ms"].as_f64().unwrap();
        assert_eq!(
            ns(&switch["first_at"]),
            fault + (first_ms * 1e3).round() as i128 * 1000
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_rechecks_to_what_the_drill_counted_plus_what_was_deleted() {
    let lab = TestLab::up().await;
    let w = Warden::new();
    let s = w.write("s.toml", &scenario(&lab));
    let drill = tokio::task::block_in_place(|| {
        w.run(&[
            "drill",
            s.to_str().unwrap(),
            "--json",
            "report.json",
            "--history",
            "history.jsonl",
            "--until-stable",
            "0.9",
            "--min-trials",
            "2",
        ])
    });
    let text = std::fs::read_to_string(w.path().join("report.json"))
        .unwrap_or_else(|e| panic!("no report ({e}): {drill:#?}"));
    let report: Value = serde_json::from_str(&text).expect("JSON");
    let wrong = support::schema::violations(&support::schema::report_schema(), &report);
    assert!(wrong.is_empty(), "{wrong:#?}");
    // Two trials measured a client RTO; a second within 90 % of the first's p95 is stable.
    let u = &report["until_stable"];
    assert_eq!(
        (u["measured"].as_u64(), u["stable"].as_bool()),
        (Some(2), Some(true)),
        "{report:#}"
    );
    assert_eq!(report["trials"].as_array().unwrap().len(), 2, "{drill:#?}");
    assert!(
        drill
            .stdout
            .contains("until stable (90.0 %, at least 2 trials)"),
        "{drill:#?}"
    );

    let lines = read_lines(&w.path().join("history.jsonl"));
    history_matches_the_report(&report, &lines);
    anchors_are_in_the_report(&report);
    let lost_before = keys(&lines, 0, "lost");
    eprintln!(
        "{} lines, {} lost: {}",
        lines.len(),
        lost_before.len(),
        drill.stdout
    );

    // Delete three present keys of each trial on the primary the Sentinels name now.
    let primary = topology::ask_primary(
        lab.lab.conn(),
        &lab.lab.sentinels(),
        lab.lab.master(),
        Timeouts::CONTROL,
    )
    .await
    .expect("primary");
    let mut deleted = BTreeSet::new();
    for trial in [1, 2] {
        deleted.extend(
            keys(&lines, trial, "present")
                .into_iter()
                .step_by(97)
                .take(3),
        );
    }
    assert_eq!(deleted.len(), 6);
    let mut con = lab
        .lab
        .conn()
        .node(&primary, Timeouts::CONTROL)
        .await
        .expect("connect");
    let mut del = redis::cmd("DEL");
    for k in &deleted {
        del.arg(k);
    }
    let n: u64 = client::query(&mut con, &primary, &del).await.expect("DEL");
    assert_eq!(n, 6);

    let sentinels = support::watch::list(&lab.lab.sentinels());
    let check = tokio::task::block_in_place(|| {
        w.run(&[
            "check",
            "history.jsonl",
            "--sentinels",
            &sentinels,
            "--master",
            lab.lab.master(),
            "--out",
            "rechecked.jsonl",
            "--json",
        ])
    });
    assert_eq!(check.code, 0, "{check:#?}");
    let counts: Value = serde_json::from_str(&check.stdout).expect("JSON");
    assert_eq!(counts["primary"], primary.to_string(), "{counts:#}");
    let lost: u64 = counts["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["lost"].as_u64().unwrap())
        .sum();
    let changed: u64 = counts["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["changed"].as_u64().unwrap())
        .sum();
    assert_eq!(lost, lost_before.len() as u64 + 6, "{counts:#}");
    assert_eq!(changed, 6, "{counts:#}");
    let after = read_lines(&w.path().join("rechecked.jsonl"));
    assert_eq!(after.len(), lines.len());
    let want: BTreeSet<String> = lost_before.union(&deleted).cloned().collect();
    assert_eq!(keys(&after, 0, "lost"), want);

    // A history that is not one is named, with its line.
    w.write("bad.jsonl", "{\"trial\": 1}\n");
    let bad =
        tokio::task::block_in_place(|| w.run(&["check", "bad.jsonl", "--sentinels", &sentinels]));
    let line = bad.one_line_error();
    assert!(
        line.contains("bad.jsonl: line 1: not a history line"),
        "{line}"
    );
}

#[test]
fn bad_flags_and_files_are_one_line_errors() {
    let w = Warden::new();
    let s = w.write(
        "s.toml",
        "name = \"t\"\n[target]\nlab = \"process\"\n[fault]\naction = \"kill\"\n",
    );
    let fraction = w.run(&["drill", s.to_str().unwrap(), "--until-stable", "5"]);
    assert!(
        fraction
            .one_line_error()
            .contains("not a fraction between 0 and 1"),
        "{fraction:#?}"
    );
    let cap = w.run(&["drill", s.to_str().unwrap(), "--until-stable", "0.05"]);
    let line = cap.one_line_error();
    assert!(
        line.contains("trials (the cap, here 1) to be at least --min-trials (20)"),
        "{line}"
    );
    let missing = w.run(&["check", "missing.jsonl", "--sentinels", "127.0.0.1:1"]);
    assert!(
        missing.one_line_error().contains("missing.jsonl"),
        "{missing:#?}"
    );
    let dir = w.run(&[
        "drill",
        s.to_str().unwrap(),
        "--history",
        "no/such/dir/h.jsonl",
    ]);
    assert!(dir.one_line_error().contains("no/such/dir"), "{dir:#?}");
    assert!(!w.path().join("no").exists());
}
