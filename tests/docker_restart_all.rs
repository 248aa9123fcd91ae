//! Every data node of the docker lab restarted at once: exactly one primary emerges.
//! Fails without an engine unless `WARDEN_TEST_SKIP_MISSING=1`.

mod support;

use support::Warden;
use support::docker::engine;

const SCENARIO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scenarios/docker-restart-all.toml"
);

#[test]
fn restarting_every_data_node_at_once_leaves_exactly_one_primary() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    if rt.block_on(engine()).is_none() {
        return;
    }
    let w = Warden::new();
    let run = w.run(&["drill", SCENARIO, "--json", "report.json"]);
    eprintln!("{}", run.stdout);
    let text = std::fs::read_to_string(w.path().join("report.json"))
        .unwrap_or_else(|e| panic!("no report ({e}): {run:#?}"));
    let report: serde_json::Value = serde_json::from_str(&text).expect("json");
    let wrong = support::schema::violations(&support::schema::report_schema(), &report);
    assert!(wrong.is_empty(), "{wrong:#?}");
    let t = &report["trials"][0];
    assert_eq!(t["injected"], true, "{run:#?}");
    let fault = t["fault"].as_str().unwrap_or("");
    assert!(fault.starts_with("restart at once"), "{fault}");
    for node in ["redis-primary", "redis-replica"] {
        assert!(fault.contains(node), "{fault}");
    }
    // The three data nodes were sampled, and after the restart one of them is the primary.
    assert!(t["two_primaries"]["rounds"].as_u64() > Some(10), "{t:#}");
    let at_end = t["two_primaries"]["at_end"].as_array().expect("at_end");
    assert_eq!(at_end.len(), 1, "{t:#}");
    assert!(run.stdout.contains("masters at the end"), "{}", run.stdout);
}
