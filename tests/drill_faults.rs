//! The operator faults through the real binary, each by its shipped scenario, on warden's
//! own process lab: a coordinated failover against a forced one, Valkey 9's own coordinated
//! failover against both (refused elsewhere), `SENTINEL RESET` just
//! before a kill, the primary killed with the Sentinel on its host — and the two-primaries
//! sampler that runs in every drill.

mod support;

use serde_json::Value;
use support::{Run, Warden};

/// Runs the shipped scenario `name` (with `trials` trials) and returns the run and its
/// report, checked against the shipped schema.
fn drill(w: &Warden, name: &str, trials: u32) -> (Run, Value) {
    drill_with(w, name, trials, |text| text)
}

/// [`drill`] of the shipped scenario's text as `edit` leaves it.
fn drill_with(
    w: &Warden,
    name: &str,
    trials: u32,
    edit: impl FnOnce(String) -> String,
) -> (Run, Value) {
    let shipped = format!("{}/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&shipped).expect("shipped scenario");
    let text = text
        .lines()
        .map(|l| match l.starts_with("trials = ") {
            true => format!("trials = {trials}"),
            false => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let text = support::quick_rejoin(&edit(text));
    w.drill_report(&w.write(&format!("{name}.toml"), &text))
}

fn trials(report: &Value) -> &Vec<Value> {
    report["trials"].as_array().expect("trials")
}

/// The Sentinels (indexes) that reported `channel` in a trial's timeline.
fn reporters(t: &Value, channel: &str) -> Vec<u64> {
    let mut out: Vec<u64> = t["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|r| r["channel"] == channel)
        .flat_map(|r| r["reports"].as_array().expect("reports").clone())
        .map(|a| a["sentinel"].as_u64().expect("sentinel index"))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[test]
fn a_coordinated_failover_loses_no_write_and_the_forced_one_is_reported_beside_it() {
    let w = Warden::new();
    let (run, report) = drill(&w, "coordinated-failover", 2);
    eprintln!("{}", run.stdout);
    let t = trials(&report);
    assert_eq!(t.len(), 2, "{run:#?}");
    let (coordinated, forced) = (&t[0], &t[1]);
    for trial in t {
        assert_eq!(trial["injected"], true, "{trial:#}");
        assert_eq!(trial["failover"]["happened"], true, "{trial:#}");
        assert_ne!(trial["new_primary"], trial["old_primary"], "{trial:#}");
        assert!(
            trial["two_primaries"]["rounds"].as_u64() > Some(10),
            "{trial:#}"
        );
    }
    assert!(
        coordinated["fault"]
            .as_str()
            .unwrap()
            .contains("CLIENT PAUSE WRITE"),
        "{coordinated:#}"
    );
    assert_eq!(coordinated.get("versus"), None, "{coordinated:#}");
    assert!(
        coordinated["writes"]["acked"].as_u64() > Some(1000),
        "{coordinated:#}"
    );
    assert_eq!(coordinated["lost"]["count"]["value"], 0, "{coordinated:#}");
    assert_eq!(coordinated["lost"]["count"]["met"], true, "{coordinated:#}");
    // `stale_acked` is left out when 0.
    assert_eq!(
        coordinated["writes"].get("stale_acked"),
        None,
        "{coordinated:#}"
    );

    assert_eq!(forced["versus"], true, "{forced:#}");
    assert!(
        forced["fault"]
            .as_str()
            .unwrap()
            .contains("SENTINEL FAILOVER")
    );
    // Reported, not judged: the versus trial has no RPO target.
    assert!(
        forced["lost"]["count"]["value"].as_u64().is_some(),
        "{forced:#}"
    );
    assert_eq!(forced["lost"]["count"]["target"], Value::Null, "{forced:#}");
    let summary: Vec<&str> = report["summary"]
        .as_array()
        .expect("summary")
        .iter()
        .map(|r| r["figure"].as_str().expect("figure"))
        .collect();
    assert!(summary.contains(&"lost_count"), "{summary:?}");
    assert!(summary.contains(&"versus_lost_count"), "{summary:?}");
    assert!(run.stdout.contains("trial 2 (versus)"), "{}", run.stdout);
    assert!(run.stdout.contains("versus: lost writes"), "{}", run.stdout);
    assert!(run.stdout.contains("two primaries"), "{}", run.stdout);
}

/// Whether the tests' server is Valkey 9 or later (by its `--version`).
fn on_valkey_9() -> bool {
    let out = std::process::Command::new(support::server_binary())
        .arg("--version")
        .output()
        .expect("server --version");
    let line = String::from_utf8_lossy(&out.stdout);
    let v = line.split_whitespace().find_map(|w| w.strip_prefix("v="));
    let major = v.and_then(|v| v.split('.').next()?.parse::<u32>().ok());
    line.starts_with("Valkey") && major.is_some_and(|m| m >= 9)
}

/// The shipped three-way scenario: on Valkey ≥ 9 the native `SENTINEL FAILOVER …
/// COORDINATED` (trial 1, judged) loses no acknowledged write, and warden's paused switchover
/// and the plain `SENTINEL FAILOVER` (trials 2 and 3, versus) are judged alike, on the
/// failover only, their losses reported; elsewhere the drill is refused before any fault.
#[test]
fn sentinels_own_coordinated_failover_against_warden_s_and_the_plain_one() {
    let w = Warden::new();
    if !on_valkey_9() {
        let shipped = format!(
            "{}/scenarios/coordinated-three-ways.toml",
            env!("CARGO_MANIFEST_DIR")
        );
        let run = w.run(&["drill", &shipped]);
        assert_eq!(run.code, 2, "{run:#?}");
        assert_eq!(run.stdout, "", "{run:#?}");
        let want = "warden: [fault]: `sentinel-failover-coordinated` needs Valkey 9.0 or later \
                    (`SENTINEL FAILOVER … COORDINATED`); the primary runs ";
        assert!(run.stderr.starts_with(want), "{run:#?}");
        assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
        return;
    }
    let (run, report) = drill(&w, "coordinated-three-ways", 3);
    eprintln!("{}", run.stdout);
    assert_eq!(run.code, 0, "{run:#?}");
    let t = trials(&report);
    assert_eq!(t.len(), 3, "{run:#?}");
    for trial in t {
        assert_eq!(trial["injected"], true, "{trial:#}");
        assert_eq!(trial["failover"]["happened"], true, "{trial:#}");
        assert_ne!(trial["new_primary"], trial["old_primary"], "{trial:#}");
    }
    let (native, warden, plain) = (&t[0], &t[1], &t[2]);
    let fault = |t: &Value| t["fault"].as_str().unwrap_or_default().to_string();
    assert!(
        fault(native).starts_with("SENTINEL FAILOVER COORDINATED"),
        "{native:#}"
    );
    assert!(
        fault(warden).starts_with("CLIENT PAUSE WRITE"),
        "{warden:#}"
    );
    assert!(
        fault(plain).starts_with("SENTINEL FAILOVER (primary"),
        "{plain:#}"
    );

    assert_eq!(native.get("versus"), None, "{native:#}");
    assert!(
        native["writes"]["acked"].as_u64() > Some(1000),
        "{native:#}"
    );
    assert_eq!(native["lost"]["count"]["value"], 0, "{native:#}");
    assert_eq!(native["lost"]["count"]["target"], 0, "{native:#}");
    assert_eq!(native["lost"]["count"]["met"], true, "{native:#}");

    // The two others: the same (failover-only) targets, their losses measured beside.
    for versus in [warden, plain] {
        assert_eq!(versus["versus"], true, "{versus:#}");
        assert_eq!(versus["lost"]["count"]["target"], Value::Null, "{versus:#}");
        assert!(
            versus["lost"]["count"]["value"].as_u64().is_some(),
            "{versus:#}"
        );
        assert_eq!(versus["client_rto_ms"]["target"], Value::Null, "{versus:#}");
    }
    assert_eq!(warden["lost"]["count"]["value"], 0, "{warden:#}");
    assert!(
        run.stdout.contains("trial 3 (versus): SENTINEL FAILOVER"),
        "{}",
        run.stdout
    );
}

#[test]
fn sentinel_reset_just_before_a_kill_is_seen_by_every_sentinel() {
    let w = Warden::new();
    // A reset may leave the Sentinels without a replica to promote: then the trial observes
    // to its end; 12 s is enough to see the resets and the loss check.
    let (run, report) = drill_with(&w, "sentinel-reset", 1, |t| {
        t.replace("observe = \"30s\"", "observe = \"12s\"")
    });
    let t = &trials(&report)[0];
    assert_eq!(t["injected"], true, "{run:#?}");
    let fault = t["fault"].as_str().unwrap();
    assert!(
        fault.starts_with("before: SENTINEL RESET on 3 Sentinel(s)") && fault.contains("SIGKILL"),
        "{fault}"
    );
    assert_eq!(reporters(t, "+reset-master"), [0, 1, 2], "{t:#}");
    // Whether or not a failover follows, the loss check reads the restarted primary once it
    // serves (not while it loads).
    assert!(t["lost"]["checked"].as_u64().is_some(), "{t:#}");
}

#[test]
fn the_primary_dies_with_the_sentinel_on_its_host() {
    let w = Warden::new();
    let (run, report) = drill(&w, "primary-with-sentinel", 1);
    let t = &trials(&report)[0];
    assert_eq!(t["injected"], true, "{run:#?}");
    assert!(
        t["fault"]
            .as_str()
            .unwrap()
            .contains("and the Sentinel on its host"),
        "{t:#}"
    );
    // The lab's first node is the first primary; Sentinel #0 shares its host.
    let sentinels = report["sentinels"].as_array().expect("sentinels");
    let gone: Vec<u64> = t["sentinel_gaps"]
        .as_array()
        .expect("gaps")
        .iter()
        .map(|g| g["sentinel"].as_u64().expect("index"))
        .collect();
    assert_eq!(gone, [0], "{t:#}");
    assert!(
        t["fault"]
            .as_str()
            .unwrap()
            .contains(sentinels[0].as_str().unwrap()),
        "{t:#}"
    );
    // The two other Sentinels still hold a majority: the failover happens without it.
    assert_eq!(t["failover"]["happened"], true, "{t:#}");
    // Sentinel #0 can announce the switch only once restarted, when it hears the others.
    let switch = t["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .find(|r| r["channel"] == "+switch-master")
        .expect("a +switch-master row");
    let back_ms = t["sentinel_gaps"][0]["out_ms"].as_f64().unwrap_or(f64::MAX);
    for r in switch["reports"].as_array().expect("reports") {
        if r["sentinel"] == 0 {
            assert!(r["at_ms"].as_f64() > Some(back_ms), "{t:#}");
        }
    }
    // The built-in writer listens to every Sentinel: no write reaches a demoted node
    // (`stale_acked`, left out when 0).
    assert_eq!(t["writes"].get("stale_acked"), None, "{t:#}");
}
