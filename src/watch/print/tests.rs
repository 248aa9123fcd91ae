//! The watch's lines as text and as JSON, from a real captured episode at fixed times
//! ([`crate::failover::episode::sample`]): each event once, the failover record, a hazard.

use std::time::{Duration, SystemTime};

use super::Printer;
use crate::failover::episode::sample::returning_old_master;
use crate::failover::hazard::{Hazard, HazardKind, State};

/// Every line the watch prints for the sample, as text or JSON.
fn lines(json: bool) -> String {
    let sample = returning_old_master();
    let mut out = Vec::new();
    let mut p = Printer {
        out: &mut out,
        json,
        sentinels: &sample.sentinels,
        groups: vec!["default".to_string(); sample.sentinels.len()],
    };
    for e in &sample.entries {
        p.event(e).expect("event");
    }
    for f in &sample.failovers {
        p.failover("default", f).expect("failover");
    }
    let hazard = Hazard {
        master: "m".into(),
        kind: HazardKind::RtoExceeded,
        subject: None,
        state: State::Raised,
        detail: "clients could not write for 2462 ms (target 2000 ms)".into(),
    };
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_772_359_204);
    p.hazard("default", at, &hazard).expect("hazard");
    String::from_utf8(out).expect("utf-8")
}

#[test]
fn the_text_lines() {
    insta::assert_snapshot!(lines(false));
}

#[test]
fn the_json_lines_name_the_record_as_the_drill_report_does() {
    let text = lines(true);
    let record: serde_json::Value = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .find(|v: &serde_json::Value| v["type"] == "failover")
        .expect("a failover line");
    assert_eq!(record["old_primary"], "127.0.0.1:17500", "{record:#}");
    assert_eq!(record["new_primary"], "127.0.0.1:17501", "{record:#}");
    assert_eq!(record["phases"][0]["phase"], "+sdown", "{record:#}");
    // The two observers and the leader, whose own +switch-master follows its +failover-end.
    assert_eq!(record["switch_master"]["sentinels"], 3, "{record:#}");
    insta::assert_snapshot!(text);
}
