//! `warden report` through the real binary, on a fixed saved report
//! (`testdata/reports/primary-kill.json`: a real one-trial drill with its addresses fixed):
//! the table, the JSON document, the SVG and the HTML as snapshots; the errors of bad inputs;
//! the trend over five saved reports; and the page as headless Chromium draws it.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::Warden;
use support::missing::missing;
use warden::drill::report::Document;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/reports/primary-kill.json"
);

/// The same drill as written by a warden of schema 1 (before the cluster's figures).
const SCHEMA_1: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/reports/primary-kill-schema1.json"
);

fn fixture() -> String {
    std::fs::read_to_string(FIXTURE).expect("fixture")
}

/// Renders the fixture into `w`'s directory; returns (table, svg, html).
fn render(w: &Warden) -> (String, String, String) {
    let run = w.run(&["report", FIXTURE, "--svg", "svg", "--html", "report.html"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let svg = std::fs::read_to_string(w.path().join("svg/primary-kill-trial-1.svg")).expect("svg");
    let html = std::fs::read_to_string(w.path().join("report.html")).expect("html");
    (run.stdout, svg, html)
}

#[test]
fn a_saved_report_renders_as_a_table_an_svg_and_a_page() {
    let w = Warden::new();
    let (table, svg, html) = render(&w);
    insta::assert_snapshot!("table", table);
    insta::assert_snapshot!("svg", svg);
    insta::assert_snapshot!("html", html);
    // The SVG is well-formed XML with one lane label per Sentinel, and the page inlines it.
    let doc = roxmltree::Document::parse(&svg).expect("the SVG parses as XML");
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    assert!(
        texts.iter().any(|t| t.starts_with("sentinel #2 ★ leader")),
        "{texts:?}"
    );
    assert!(
        texts.contains(&"client RTO 2267.7 ms ≤ 5000 ms ✓"),
        "{texts:?}"
    );
    assert!(html.contains("<svg "), "no inline picture");
    assert_no_external_resource(&html);
}

/// The page loads nothing: no address, and every `src=` is a data URI.
fn assert_no_external_resource(html: &str) {
    for scheme in ["http://", "https://"] {
        assert!(!html.contains(scheme), "the page names {scheme}");
    }
    for (i, _) in html.match_indices("src=") {
        let rest = &html[i + 4..];
        assert!(
            rest.trim_start_matches(['"', '\'']).starts_with("data:"),
            "external src: {}",
            &rest[..rest.len().min(80)]
        );
    }
}

#[test]
fn the_document_round_trips_and_holds_to_the_shipped_schema() {
    let text = fixture();
    let doc = Document::parse(&text).expect("schema 2");
    let again: Value = serde_json::from_str(&doc.to_json()).expect("JSON");
    let original: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(again, original, "reading and writing changes nothing");
    insta::assert_json_snapshot!("document", again);
    let wrong = support::schema::violations(&support::schema::report_schema(), &again);
    assert!(wrong.is_empty(), "{wrong:#?}");
    // The check does catch a wrong document.
    let mut broken = again.clone();
    broken["trials"][0]["client_rto_ms"] = Value::from(2190.0);
    broken["schema"] = Value::from(3);
    let wrong = support::schema::violations(&support::schema::report_schema(), &broken);
    assert_eq!(wrong.len(), 2, "{wrong:#?}");
}

/// A report of schema 1 is still read: the cluster's figures come back empty, the rest whole.
#[test]
fn a_schema_1_report_is_read_with_empty_cluster_figures() {
    let old = std::fs::read_to_string(SCHEMA_1).expect("fixture");
    let doc = Document::parse(&old).expect("schema 1 is read");
    let new = Document::parse(&fixture()).expect("schema 2");
    assert!(doc.trials[0].cluster.failovers.is_empty());
    assert_eq!(doc.trials[0].lost, new.trials[0].lost);
    assert_eq!(doc.trials[0].timeline, new.trials[0].timeline);
}

#[test]
fn bad_inputs_are_named() {
    let w = Warden::new();
    let missing = w.run(&["report", "missing.json"]);
    w.write("old.json", r#"{"scenario": "x", "trials": []}"#);
    let old = w.run(&["report", "old.json"]);
    w.write("future.json", r#"{"schema": 7}"#);
    let future = w.run(&["report", "future.json"]);
    let neither = w.run(&["report"]);
    for r in [&missing, &old, &future] {
        assert_eq!(r.code, 2, "{r:#?}");
    }
    assert_eq!(neither.code, 2, "{neither:#?}");
    let version = env!("CARGO_PKG_VERSION");
    let texts = [
        missing.stderr,
        old.stderr,
        future.stderr.replace(version, "VERSION"),
    ]
    .join("");
    insta::assert_snapshot!("errors", texts);
}

/// Five saved reports a day apart with these client RTO p95s (ms).
fn five_runs(w: &Warden, p95s: [f64; 5]) -> PathBuf {
    let dir = w.path().join("runs");
    std::fs::create_dir_all(&dir).expect("dir");
    let base: Value = serde_json::from_str(&fixture()).expect("JSON");
    for (i, p95) in p95s.into_iter().enumerate() {
        let mut d = base.clone();
        d["started"] = Value::from(format!("2026-03-0{}T10:00:00Z", i + 1));
        for row in d["summary"].as_array_mut().expect("summary") {
            if row["figure"] == "client_rto_ms" {
                row["median"] = Value::from(p95 - 100.0);
                row["p95"] = Value::from(p95);
            }
        }
        let name = format!("primary-kill-2026030{}T100000Z.json", i + 1);
        std::fs::write(dir.join(name), serde_json::to_string(&d).expect("JSON")).expect("write");
    }
    dir
}

#[test]
fn a_worse_rto_in_the_newest_run_is_a_regression_and_exits_1() {
    let w = Warden::new();
    let dir = five_runs(&w, [2200.0, 2300.0, 2250.0, 2280.0, 3400.0]);
    let dir = dir.to_str().expect("utf-8");
    let run = w.run(&[
        "report",
        "--trend",
        dir,
        "--window",
        "5",
        "--threshold",
        "20%",
        "--html",
        "trend.html",
    ]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stdout.contains("REGRESSION: client RTO p95 3400 ms in primary-kill-20260305T100000Z.json is more than 20% above the median of the 4 runs before it (2265 ms)"),
        "{run:#?}"
    );
    let html = std::fs::read_to_string(w.path().join("trend.html")).expect("trend page");
    roxmltree::Document::parse(
        &html[html.find("<svg").expect("svg")..html.find("</svg>").expect("end") + 6],
    )
    .expect("the trend chart parses as XML");
    assert_no_external_resource(&html);
    // Within the threshold of the previous run: no regression.
    let run = w.run(&[
        "report",
        "--trend",
        dir,
        "--window",
        "1",
        "--threshold",
        "0.6",
    ]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(run.stdout.contains("no regression"), "{run:#?}");
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join(name))
                    .find(|f| f.is_file())
            })
        })
}

/// Draws `page` with headless Chromium into `png`.
fn screenshot(chromium: &Path, page: &Path, png: &Path) {
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,900")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(png.is_file(), "no screenshot: {out:#?}");
}

#[test]
fn headless_chromium_draws_the_page() {
    let Some(chromium) = chromium() else {
        missing("no chromium on PATH");
        return;
    };
    let w = Warden::new();
    render(&w);
    let png = w.path().join("page.png");
    screenshot(&chromium, &w.path().join("report.html"), &png);
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png).expect("png"),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let pixels = &buf[..info.buffer_size()];
    let px = info.color_type.samples();
    let first = &pixels[..px];
    let differ = pixels.chunks(px).filter(|p| *p != first).count();
    assert!(
        differ > pixels.len() / px / 100,
        "the page is blank ({differ} pixels differ from the first)"
    );
}

/// Two workloads side by side: the table and the page each give one row per client.
#[test]
fn clients_side_by_side_are_one_row_each_in_the_table_and_the_page() {
    let w = Warden::new();
    let mut doc: Value = serde_json::from_str(&fixture()).expect("fixture parses");
    let client = |name: &str, external: bool, rto: f64, lost: u64| {
        serde_json::json!({
            "name": name, "external": external,
            "client_rto_ms": {"value": rto, "target": 5000, "met": rto <= 5000.0},
            "unavailable_ms": rto, "unavailable_from_ms": 0.0,
            "acked": 9000, "failed": 3, "unknown": 1,
            "lost": {"value": lost, "target": 100, "met": lost <= 100},
            "lost_oldest_ms": null, "lost_newest_ms": null,
            "lost_window_ms": {"value": null, "target": 1000, "met": true},
            "verdict": if rto <= 5000.0 && lost <= 100 { "met" } else { "missed" },
        })
    };
    doc["trials"][0]["clients"] = serde_json::json!([
        client("warden", false, 1157.0, 0),
        client("redis_py.py", true, 11283.0, 5190),
    ]);
    let path = w.write("two-clients.json", &doc.to_string());
    let run = w.run(&["report", path.to_str().unwrap(), "--html", "page.html"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let rows: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("warden (built-in)") || l.contains("redis_py.py"))
        .collect();
    assert_eq!(rows.len(), 2, "{}", run.stdout);
    assert!(
        rows[1].contains("11283.0 ms") && rows[1].contains("5190"),
        "{rows:?}"
    );
    let html = std::fs::read_to_string(w.path().join("page.html")).expect("page");
    let side = &html[html
        .find("Clients side by side")
        .expect("the side-by-side table")..];
    let side = &side[..side.find("</table>").expect("its end")];
    assert_eq!(side.matches("<tr><td>").count(), 2, "{side}");
    assert!(side.contains("redis_py.py (program)") && side.contains("warden (built-in)"));
}
