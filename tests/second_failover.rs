//! Issue 23: a second failover after one fault is seen, counted, judged, named and drawn, and
//! the loss check reads the primary it left. A process lab from `lab up` with down-after
//! 1 s, its Sentinels' ping (and reconnect) period raised to 5 s (`SENTINEL DEBUG
//! ping-period`): a Sentinel that switched to the new primary judges it down before its new
//! link opens — the race behind the spontaneous second failover, made certain. Once the second
//! failover has started, the test puts the period back below down-after so the cluster settles. One kill
//! trial at a time (bounded) until one has two failovers; after every trial the test
//! re-checks every acknowledged key of the history on the primary the Sentinels name, on its
//! own connection, and the history must agree exactly.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use support::{Warden, free_ports};
use warden::addr::Addr;
use warden::client::{self, Timeouts};
use warden::conn::Conn;
use warden::sentinel::{topology, view};

/// Trials tried, one drill each, before the test gives up on seeing a second failover.
const TRIALS: usize = 3;

/// A lab from the real binary, taken down on drop.
struct UpLab {
    w: Warden,
    dir: PathBuf,
    sentinels: Vec<Addr>,
}

impl UpLab {
    fn up() -> UpLab {
        let w = Warden::new();
        let dir = w.path().join("lab");
        let p = free_ports(6);
        let list = |ps: &[u16]| ps.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
        let (nodes, sentinels) = (list(&p[..3]), list(&p[3..]));
        let server = support::server_binary();
        let run = w.run(&[
            "lab",
            "up",
            "--dir",
            dir.to_str().unwrap(),
            "--ports",
            &nodes,
            "--sentinel-ports",
            &sentinels,
            "--down-after",
            "1s",
            "--failover-timeout",
            "10s",
            "--redis-server",
            server.to_str().unwrap(),
        ]);
        assert_eq!(run.code, 0, "lab up: {run:#?}");
        UpLab {
            w,
            dir,
            sentinels: p[3..].iter().map(|p| Addr::local(*p)).collect(),
        }
    }

    fn scenario(&self) -> PathBuf {
        let text = format!(
            "name = \"second-failover\"\ntrials = 1\n[target]\nlab_dir = \"{}\"\n\
             [workload]\nwriters = 2\nrate = 400\nttl = \"30m\"\n\
             [fault]\naction = \"kill\"\n\
             [timing]\nwarmup = \"1s\"\nobserve = \"30s\"\nsettle = \"500ms\"\nrejoin = \"30s\"\n\
             [targets]\nfailovers = 1\n",
            self.dir.display()
        );
        self.w.write("second.toml", &text)
    }

    /// The primary most Sentinels name now.
    async fn primary(&self) -> Addr {
        let answers = topology::primary_per_sentinel(
            &Conn::default(),
            &self.sentinels,
            "mymaster",
            Timeouts::CONTROL,
        )
        .await;
        view::most_named(&answers).expect("a primary named")
    }
}

/// Sets every Sentinel's ping period.
fn ping_period(sentinels: &[Addr], ms: u64) {
    for s in sentinels {
        let client = redis::Client::open(format!("redis://{s}")).expect("client");
        let mut con = client.get_connection().expect("connect");
        let _: () = redis::cmd("SENTINEL")
            .arg("DEBUG")
            .arg("ping-period")
            .arg(ms)
            .query(&mut con)
            .expect("SENTINEL DEBUG ping-period");
    }
}

/// Raises the ping period, and puts it back once a second failover has begun — a second
/// `+new-epoch`, which every Sentinel that votes publishes — or `stop` is set: returns the
/// thread.
fn second_failover_once(
    sentinels: Vec<Addr>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    ping_period(&sentinels, 5000);
    std::thread::spawn(move || {
        let client = redis::Client::open(format!("redis://{}", sentinels[0])).expect("client");
        let mut con = client.get_connection().expect("connect");
        con.set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let mut pubsub = con.as_pubsub();
        pubsub.subscribe("+new-epoch").expect("subscribe");
        let mut tries = 0;
        while !stop.load(Ordering::Relaxed) && tries < 2 {
            if pubsub.get_message().is_ok() {
                tries += 1;
            }
        }
        drop(pubsub);
        ping_period(&sentinels, 250);
    })
}

impl Drop for UpLab {
    fn drop(&mut self) {
        self.w
            .run(&["lab", "down", "--dir", self.dir.to_str().unwrap()]);
    }
}

/// Every acknowledged key of `history` looked up on `primary` with `EXISTS`: key → present.
async fn recheck(history: &Path, primary: &Addr) -> BTreeMap<String, (bool, String)> {
    let text = std::fs::read_to_string(history).expect("history");
    let mut con = Conn::default()
        .node(primary, Timeouts::CONTROL)
        .await
        .expect("connect");
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let l: Value = serde_json::from_str(line).expect("a JSON line");
        if l["outcome"] != "ok" {
            continue;
        }
        let key = l["key"].as_str().expect("key").to_string();
        let n: i64 = client::query(&mut con, primary, redis::cmd("EXISTS").arg(&key))
            .await
            .expect("EXISTS");
        let check = l["check"].as_str().expect("check").to_string();
        out.insert(key, (n == 1, check));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_failover_is_counted_judged_named_drawn_and_the_check_reads_the_last_primary() {
    let lab = UpLab::up();
    let scenario = lab.scenario();
    let mut seen = Vec::new();
    for n in 1..=TRIALS {
        let (json, svg, hist) = (
            format!("r{n}.json"),
            format!("svg{n}"),
            format!("h{n}.jsonl"),
        );
        let stop = Arc::new(AtomicBool::new(false));
        let race = second_failover_once(lab.sentinels.clone(), stop.clone());
        let run = tokio::task::block_in_place(|| {
            lab.w.run(&[
                "drill",
                scenario.to_str().unwrap(),
                "--json",
                &json,
                "--svg",
                &svg,
                "--history",
                &hist,
            ])
        });
        stop.store(true, Ordering::Relaxed);
        race.join().expect("the race thread");
        let text = std::fs::read_to_string(lab.w.path().join(&json))
            .unwrap_or_else(|e| panic!("no report ({e}): {run:#?}"));
        let report: Value = serde_json::from_str(&text).expect("JSON");
        let wrong = support::schema::violations(&support::schema::report_schema(), &report);
        assert!(wrong.is_empty(), "{wrong:#?}");
        let t = &report["trials"][0];

        // The history agrees exactly with an independent re-check on the final primary.
        let primary = lab.primary().await;
        let found = recheck(&lab.w.path().join(&hist), &primary).await;
        assert!(!found.is_empty(), "no acknowledged write in trial {n}");
        for (key, (present, check)) in &found {
            let lost = check == "lost";
            assert_eq!(
                !present, lost,
                "{key}: on {primary} present={present}, history {check}"
            );
        }
        let checks = t["loss_checks"].as_array().expect("loss_checks");
        let last = checks.last().expect("a loss check");
        assert_eq!(last["primary"], primary.to_string(), "{t:#}");
        assert_eq!(t["stable"]["primary"], primary.to_string(), "{t:#}");

        let switched: Vec<&Value> = t["failovers"]
            .as_array()
            .expect("failovers")
            .iter()
            .filter(|f| !f["new_primary"].is_null())
            .collect();
        eprintln!(
            "trial {n}: {} failovers, verdict {}",
            switched.len(),
            t["verdict"]
        );
        if switched.len() < 2 {
            assert_eq!(run.code, 0, "one failover meets its targets: {run:#?}");
            continue;
        }
        // Counted and judged: the drill misses, and says why.
        assert_eq!(run.code, 1, "{run:#?}");
        assert_eq!(t["verdict"], "missed");
        let reasons: Vec<&str> = t["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        let count = format!("{} failovers", switched.len());
        assert!(
            reasons.iter().any(|r| r.starts_with(&count)),
            "{reasons:#?}"
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("likely caused by that switch")),
            "{reasons:#?}"
        );
        assert!(
            run.stdout
                .contains(&format!("failovers                  {}", switched.len())),
            "{}",
            run.stdout
        );
        // The last failover's new primary is where the trial settled and the check read.
        let last_new = switched.last().unwrap()["new_primary"].clone();
        assert_eq!(t["stable"]["primary"], last_new, "{t:#}");
        // Drawn: a mark per failover, lanes from ROLE answers, to the last event.
        let picture =
            std::fs::read_to_string(lab.w.path().join(&svg).join("second-failover-trial-1.svg"))
                .expect("svg");
        for i in 1..=switched.len() {
            assert!(
                picture.contains(&format!("failover {i} · epoch")),
                "mark {i}"
            );
        }
        assert!(picture.contains("ROLE master"), "sampled lanes' legend");
        seen.push(n);
        break;
    }
    assert!(
        !seen.is_empty(),
        "no trial of {TRIALS} had a second failover"
    );
}
