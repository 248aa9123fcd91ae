//! The primary of a recorded docker lab comes back with a new IP: the drill fails over, the
//! container ends up on another address, and the Sentinels (which announce IPs) never see it
//! rejoin. Fails without an engine unless `WARDEN_TEST_SKIP_MISSING=1`.

mod support;

use bollard::query_parameters::InspectContainerOptions;
use support::Warden;
use support::docker::engine;

#[test]
fn the_primary_comes_back_on_another_ip() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(docker) = rt.block_on(engine()) else {
        return;
    };
    let w = Warden::new();
    let up = w.run(&["lab", "up", "--backend", "docker", "--dir", "lab"]);
    assert_eq!(up.code, 0, "{up:#?}");
    let lab: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(w.path().join("lab/lab.json")).expect("lab.json"),
    )
    .expect("json");
    let primary = &lab["containers"][0];
    let name = primary["name"].as_str().expect("name").to_string();
    let old_ip = primary["addr"]
        .as_str()
        .and_then(|a| a.rsplit_once(':'))
        .map(|(ip, _)| ip.to_string())
        .expect("addr");
    let shipped = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/docker-primary-new-ip.toml"
    );
    let text = std::fs::read_to_string(shipped)
        .expect("shipped scenario")
        .replace("lab = \"docker\"", "lab_dir = \"lab\"");
    let scenario = w.write("new-ip.toml", &text);
    let run = w.run(&[
        "drill",
        scenario.to_str().expect("utf-8"),
        "--json",
        "report.json",
    ]);
    let ips = rt.block_on(async {
        let info = docker
            .inspect_container(&name, None::<InspectContainerOptions>)
            .await
            .expect("inspect");
        let nets = info.network_settings.and_then(|n| n.networks);
        nets.unwrap_or_default()
            .into_values()
            .filter_map(|e| e.ip_address)
            .collect::<Vec<String>>()
    });
    let down = w.run(&["lab", "down", "--backend", "docker", "--dir", "lab"]);
    eprintln!("{}", run.stdout);
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(w.path().join("report.json"))
            .unwrap_or_else(|e| panic!("no report ({e}): {run:#?}")),
    )
    .expect("json");
    let wrong = support::schema::violations(&support::schema::report_schema(), &report);
    assert!(wrong.is_empty(), "{wrong:#?}");
    let t = &report["trials"][0];
    assert_eq!(t["injected"], true, "{run:#?}");
    assert!(
        t["fault"]
            .as_str()
            .unwrap_or("")
            .contains("reconnect with a new IP"),
        "{t:#}"
    );
    assert_eq!(t["old_primary"].as_str(), primary["addr"].as_str(), "{t:#}");
    assert_eq!(t["failover"]["happened"], true, "{t:#}");
    assert_eq!(ips.len(), 1, "{ips:?}");
    assert_ne!(ips[0], old_ip, "the container kept its IP");
    assert!(!ips[0].is_empty(), "{ips:?}");
    // Reverted without an error: the move is the fault, not a failed revert.
    let reasons = t["reasons"].as_array().expect("reasons");
    assert!(
        reasons
            .iter()
            .all(|r| !r.as_str().unwrap_or("").contains("revert failed")),
        "{t:#}"
    );
    assert_eq!(down.code, 0, "{down:#?}");
}
