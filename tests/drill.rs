//! Whole drills through the real binary, against warden's own process lab.

mod support;

use support::{Run, Warden};

fn drill_json(w: &Warden, scenario: &str) -> (Run, serde_json::Value) {
    let out = w.path().join("out.json");
    let run = w.run(&["drill", scenario, "--json", out.to_str().expect("utf-8")]);
    let text =
        std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("no out.json ({e}): {run:#?}"));
    let json = serde_json::from_str(&text).expect("out.json is JSON");
    // A real report holds to the shipped schema.
    let wrong = support::schema::violations(&support::schema::report_schema(), &json);
    assert!(wrong.is_empty(), "{wrong:#?}");
    (run, json)
}

/// `phases` as `(channel, Option<ms>)`.
fn phases(trial: &serde_json::Value) -> Vec<(String, Option<f64>)> {
    trial["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .map(|p| {
            (
                p["phase"].as_str().expect("phase name").to_string(),
                p["at_ms"].as_f64(),
            )
        })
        .collect()
}

#[test]
fn shipped_manual_failover_scenario_meets_its_targets_and_blames_the_old_primary() {
    let w = Warden::new();
    let shipped = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/manual-failover.toml"
    );
    let text = std::fs::read_to_string(shipped).expect("the shipped scenario");
    let scenario = w.write("manual-failover.toml", &support::quick_rejoin(&text));
    let (run, report) = drill_json(&w, scenario.to_str().expect("utf-8"));
    let family = if support::on_valkey() {
        "valkey"
    } else {
        "redis"
    };
    let server = report["server"].as_str().unwrap_or_default();
    assert!(server.starts_with(&format!("{family} ")), "{report:#}");
    let trials = report["trials"].as_array().expect("trials");
    assert_eq!(trials.len(), 2, "{report:#}");
    // The report's shape first, so a missed target below still proves the figures exist.
    for t in trials {
        assert_eq!(t["injected"], true, "{t:#}");
        let p = phases(t);
        let switch = p.iter().find(|(n, _)| n == "+switch-master");
        assert!(matches!(switch, Some((_, Some(ms))) if *ms >= 0.0), "{t:#}");
        assert!(t["client_rto_ms"]["value"].as_f64().is_some(), "{t:#}");
        assert_eq!(t["client_rto_ms"]["target"], 5000, "{t:#}");
        assert!(t["sentinel_rto_ms"].as_f64().is_some(), "{t:#}");
        assert!(
            t["latency_us"]["p99"].as_u64().is_some_and(|v| v > 0),
            "{t:#}"
        );
        assert_ne!(t["new_primary"], t["old_primary"], "{t:#}");
    }
    // After SENTINEL FAILOVER the old primary keeps accepting writes until the writers move at
    // +switch-master (~1 s after the promotion), so some writes are lost. Whatever the count,
    // every lost write must have been acknowledged by the old primary: the new one never loses
    // what it acknowledged.
    for t in trials {
        let count = t["lost"]["count"]["value"].as_u64().expect("lost.count");
        for lost in t["lost"]["sample"].as_array().expect("lost.sample") {
            assert_eq!(
                lost["node"], t["old_primary"],
                "trial {}: {lost}",
                t["trial"]
            );
        }
        assert!(
            count == 0 || t["lost"]["window_ms"]["value"].as_f64().is_some(),
            "{t:#}"
        );
    }
    assert_eq!(run.code, 0, "{run:#?}");
}

#[test]
fn a_primary_kill_reports_phases_in_order_and_rto_above_down_after() {
    let w = Warden::new();
    let path = w.write(
        "kill.toml",
        &support::quick_rejoin(
            "name = \"kill-short\"\ntrials = 1\n\
             [target]\nlab = \"process\"\n\
             [lab]\ndown_after = \"1s\"\n\
             [workload]\nwriters = 2\nrate = 500\n\
             [fault]\naction = \"kill\"\n\
             [timing]\nwarmup = \"1s\"\nobserve = \"30s\"\nsettle = \"1s\"\n",
        ),
    );
    let (run, report) = drill_json(&w, path.to_str().expect("utf-8"));
    // No RTO/RPO target is set, so the only judged target is that a failover happens.
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(report["down_after_ms"], 1000, "{report:#}");
    let t = &report["trials"][0];
    assert_eq!(t["injected"], true, "{t:#}");

    let p = phases(t);
    let names: Vec<&str> = p.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "+sdown",
            "+odown",
            "+try-failover",
            "+elected-leader",
            "+selected-slave",
            "+promoted-slave",
            "+switch-master",
            "+failover-end"
        ]
    );
    let ms: Vec<f64> = p
        .iter()
        .map(|(n, v)| v.unwrap_or_else(|| panic!("phase {n} missing: {t:#}")))
        .collect();
    // sdown … switch_master: each is preceded, in some Sentinel, by the one before it.
    for i in 1..7 {
        assert!(
            ms[i - 1] <= ms[i],
            "{} after {}: {p:?}",
            names[i - 1],
            names[i]
        );
    }
    // The leader publishes +failover-end *before* its own +switch-master; only an observer's
    // earlier report makes switch ≤ end, and the JSON does not say whose report came first
    // (tests/failover.rs checks that with sources), so here only promoted ≤ end.
    assert!(ms[5] <= ms[7], "failover_end before promoted_slave: {p:?}");

    // Nobody can declare the primary down before down-after of silence.
    let rto = t["client_rto_ms"]["value"].as_f64().expect("client_rto_ms");
    assert!(rto > 1000.0, "client RTO {rto} ms ≤ down-after: {t:#}");
    assert!(ms[0] >= 1000.0, "sdown {} ms < down-after", ms[0]);
    assert_ne!(t["new_primary"], t["old_primary"], "{t:#}");
}

#[test]
fn a_pause_shorter_than_down_after_is_resumed_and_no_failover_happens() {
    let w = Warden::new();
    let scenario = w.write(
        "pause.toml",
        "name = \"short-pause\"\n[target]\nlab = \"process\"\n[lab]\ndown_after = \"5s\"\n\
         [workload]\nwriters = 2\nrate = 500\n[fault]\naction = \"pause\"\nduration = \"600ms\"\n\
         [timing]\nwarmup = \"1s\"\nobserve = \"2s\"\nsettle = \"500ms\"\n\
         [targets]\nexpect_failover = false\nrpo_keys = 0\n",
    );
    let (run, report) = drill_json(&w, scenario.to_str().expect("utf-8"));
    assert_eq!(run.code, 0, "{run:#?}");
    let t = &report["trials"][0];
    assert_eq!(t["injected"], true, "{t:#}");
    assert!(
        t["fault"].as_str().is_some_and(|f| f.contains("SIGCONT")),
        "{t:#}"
    );
    // Writes stopped while the primary was stopped, and came back on the same primary.
    let gap = t["unavailable_ms"].as_f64().expect("unavailable_ms");
    assert!(gap >= 500.0, "the pause left no gap in the acks: {t:#}");
    assert!(t["client_rto_ms"]["value"].is_null(), "{t:#}");
    assert_eq!(t["lost"]["count"]["value"], 0, "{t:#}");
}

#[test]
fn a_dry_run_of_an_ephemeral_lab_names_the_server_and_starts_nothing() {
    let w = Warden::new();
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/primary-kill.toml");
    let run = w.run(&["drill", scenario, "--dry-run"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let server = support::server_binary();
    let server_name = server.file_name().expect("a file name").to_string_lossy();
    assert!(
        run.stdout
            .contains("would start an ephemeral process lab (/")
            && run.stdout.contains(&*server_name)
            && run
                .stdout
                .contains("3 trials of: kill on the lab's primary"),
        "{run:#?}"
    );
    assert!(
        !run.stdout.contains(":0"),
        "an unresolved address leaked: {run:#?}"
    );
}
