//! Bring your own client: external workloads (`[workload] command = [...]`) beside the
//! built-in writer on a process lab — one report row per client, each client's figures
//! timed against the fault — and the clients that cannot run (exit early, print garbage,
//! cannot start) named in one error, without a hang.
//!
//! The redis-py tests fail when `import redis` fails, unless the run opted out of missing
//! tools (`tests/support/missing.rs`).

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Run, Warden};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Whether redis-py can be imported; panics when it cannot, unless the run opted out.
fn redis_py() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import redis"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        support::missing::missing("redis-py (`python3 -c 'import redis'` fails)");
    }
    ok
}

/// Runs the drill of `scenario` with `--json`; returns the run and the report, held to the
/// shipped schema.
fn drill(w: &Warden, scenario: &str) -> (Run, Value) {
    w.drill_report(&w.write("scenario.toml", scenario))
}

/// A one-trial primary kill with the built-in writer and `client` side by side.
fn side_by_side(client: &str) -> String {
    support::quick_rejoin(&format!(
        "name = \"byoc\"\ntrials = 1\n\
         [target]\nlab = \"process\"\n\
         [lab]\ndown_after = \"1s\"\n\
         [[workload]]\nwriters = 2\nrate = 400\n\
         [[workload]]\nname = \"py\"\ncommand = {client}\nrate = 400\n\
         [fault]\naction = \"kill\"\n\
         [timing]\nwarmup = \"3s\"\nobserve = \"30s\"\nsettle = \"1s\"\n"
    ))
}

/// The longest the kill may take after the fault's instant (a loaded machine's fsync).
const KILL_MS: f64 = 250.0;

#[test]
fn python_clients_beside_the_built_in_writer_get_their_own_rows_timed_against_the_fault() {
    if !redis_py() {
        return;
    }
    let w = Warden::new();
    let client = format!("[\"python3\", \"{ROOT}/clients/redis_py.py\"]");
    let tight = format!(
        "[[workload]]\nname = \"tight\"\ncommand = [\"python3\", \"{ROOT}/clients/redis_py_tight.py\"]\nrate = 300\n"
    );
    let scenario = side_by_side(&client).replace("[fault]", &format!("{tight}[fault]"));
    let (run, report) = drill(&w, &scenario);
    let t = &report["trials"][0];
    assert_eq!(t["injected"], true, "{t:#}");
    let rows = t["clients"].as_array().expect("clients");
    let names: Vec<&str> = rows.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["warden", "py", "tight"], "{t:#}");
    let external: Vec<bool> = rows
        .iter()
        .filter_map(|c| c["external"].as_bool())
        .collect();
    assert_eq!(external, [false, true, true], "{t:#}");
    for c in rows {
        assert!(c["acked"].as_u64().is_some_and(|n| n > 100), "{c:#}");
        // Each wrote under its own prefix: the loss check looked up its own keys.
        assert!(c["lost"]["value"].is_u64(), "{c:#}");
        // Nobody writes to a new primary before Sentinel waited down-after (1 s).
        let rto = c["client_rto_ms"]["value"].as_f64().expect("client RTO");
        assert!(rto > 1000.0, "{c:#}");
        // The longest silence is the failover: it begins at the kill (timed from the instant
        // just before it, then the journal's fsync and the signal: a few ms, KILL_MS at most)
        // and lasts past down-after.
        let from = c["unavailable_from_ms"]
            .as_f64()
            .expect("unavailable_from_ms");
        let len = c["unavailable_ms"].as_f64().expect("unavailable_ms");
        assert!(from <= KILL_MS && from + len > 1000.0, "{c:#}");
        // A killed primary acknowledges nothing after the kill: every lost write is older.
        let lost = c["lost"]["value"].as_u64().expect("a loss check");
        if lost > 0 {
            let newest = c["lost_newest_ms"].as_f64().expect("lost_newest_ms");
            assert!(newest <= KILL_MS, "{c:#}");
        }
    }
    // The trial's own figures are the first workload's.
    assert_eq!(t["client_rto_ms"], rows[0]["client_rto_ms"], "{t:#}");
    assert_eq!(run.code, 0, "{run:#?}");
    // Each external client's stderr log is kept beside the report (issue 21).
    let logs: Vec<String> = std::fs::read_dir(w.path())
        .expect("the report's directory")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("warden-session-") && n.ends_with(".log"))
        .collect();
    for name in ["py", "tight"] {
        assert!(
            logs.iter().any(|l| l.ends_with(&format!("-{name}.log"))),
            "no log of {name} beside out.json: {logs:?}"
        );
    }
}

#[test]
fn the_shipped_comparison_puts_redis_py_behind_a_writer_that_follows_switch_master() {
    if !redis_py() {
        return;
    }
    let w = Warden::new();
    let out = w.path().join("out.json");
    let scenario = format!("{ROOT}/scenarios/client-compare.toml");
    // The scenario names `clients/redis_py.py` relative to the repository root.
    let run = support::run(w.command().current_dir(ROOT).args([
        "drill",
        &scenario,
        "--json",
        out.to_str().expect("utf-8"),
    ]));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("out.json")).expect("JSON");
    let rows = report["trials"][0]["clients"].as_array().expect("clients");
    let rto = |i: usize| rows[i]["client_rto_ms"]["value"].as_f64();
    let (warden, redis_py) = (rto(0).expect("warden's RTO"), rto(1).expect("redis-py's"));
    // redis-py only moves when the demoted primary answers READONLY (~10 s later).
    assert!(redis_py > warden + 2000.0, "{rows:#?}");
    assert!(run.stdout.contains("redis-py: client RTO"), "{run:#?}");
}

/// Runs a drill whose external client misbehaves; returns the run, its report and how long
/// it took.
fn misbehaving(client: &str) -> (Run, Value, Duration) {
    let w = Warden::new();
    let started = Instant::now();
    let (run, report) = drill(&w, &side_by_side(client));
    (run, report, started.elapsed())
}

#[test]
fn a_client_that_exits_early_ends_the_trial_with_its_name_and_stderr() {
    let (run, report, took) = misbehaving(
        "[\"python3\", \"-c\", \"import sys; print('no sentinel for me', file=sys.stderr); sys.exit(3)\"]",
    );
    let t = &report["trials"][0];
    let reasons = t["reasons"].to_string();
    assert!(
        reasons.contains("client `py` stopped before the trial ended (exit status: 3)")
            && reasons.contains("no sentinel for me"),
        "{t:#}"
    );
    assert_eq!(
        t["injected"], false,
        "no fault while a client is missing: {t:#}"
    );
    assert_eq!(report["verdict"], "unknown");
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
}

#[test]
fn a_client_that_stops_after_the_fault_leaves_the_others_measured() {
    if !redis_py() {
        return;
    }
    // A real client, ended ~5 s after the fault (warm-up 3 s, pre-flight).
    let (run, report, _) = misbehaving(&format!(
        "[\"timeout\", \"8\", \"python3\", \"{ROOT}/clients/redis_py.py\"]"
    ));
    let t = &report["trials"][0];
    assert_eq!(t["injected"], true, "{t:#}");
    let reasons = t["reasons"].to_string();
    assert!(
        reasons.contains("client `py` stopped before the trial ended (exit status: 124)"),
        "{t:#}"
    );
    let rows = t["clients"].as_array().expect("clients");
    assert!(
        rows[0]["client_rto_ms"]["value"].as_f64().is_some(),
        "{t:#}"
    );
    assert!(rows[1]["acked"].as_u64().is_some_and(|n| n > 0), "{t:#}");
    assert_eq!(report["verdict"], "unknown");
    assert_eq!(run.code, 2, "{run:#?}");
}

#[test]
fn a_client_printing_garbage_is_named_and_killed() {
    let marker = format!("warden-garbage-{}", std::process::id());
    let client = format!(
        "[\"python3\", \"-c\", \"import time; print('hello world', flush=True); time.sleep(600)\", \"{marker}\"]"
    );
    let (run, report, took) = misbehaving(&client);
    let reasons = report["trials"][0]["reasons"].to_string();
    assert!(
        reasons.contains("client `py`: stdout line 1 is not a write outcome")
            && reasons.contains("hello world"),
        "{report:#}"
    );
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    // The sleeping client was killed with its process group, not left behind.
    assert!(gone(&marker), "the client outlived the drill");
}

#[test]
fn a_client_printing_an_endless_line_is_stopped_at_64_kib() {
    let marker = format!("warden-endless-{}", std::process::id());
    let client = format!(
        "[\"python3\", \"-c\", \"import sys, time; sys.stdout.write('x' * 200000); sys.stdout.flush(); time.sleep(600)\", \"{marker}\"]"
    );
    let (run, report, took) = misbehaving(&client);
    let reasons = report["trials"][0]["reasons"].to_string();
    assert!(
        reasons.contains("client `py`: stdout line 1 is longer than 64 KiB"),
        "{report:#}"
    );
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(gone(&marker), "the client outlived the drill");
}

#[test]
fn a_client_that_hangs_and_ignores_sigterm_is_killed_at_the_trials_end() {
    // Silent (no writes, no exit) and deaf to SIGTERM: the trial runs to its end, then the
    // client's group gets SIGTERM and, 3 s later, SIGKILL.
    let marker = format!("warden-hung-{}", std::process::id());
    let client = format!(
        "[\"python3\", \"-c\", \"import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)\", \"{marker}\"]"
    );
    let w = Warden::new();
    let scenario = side_by_side(&client).replace("observe = \"30s\"", "preflight = \"4s\"");
    let (run, report) = drill(&w, &scenario);
    // No fault goes in while a workload has not written: its figures would measure nothing.
    let t = &report["trials"][0];
    assert_eq!(t["injected"], false, "{report:#}");
    let reasons = t["reasons"].to_string();
    assert!(
        reasons.contains("pre-flight failed, no fault injected: workload `py` had no write acknowledged within 7s"),
        "{reasons}"
    );
    assert_eq!(report["verdict"], "unknown", "{report:#}");
    assert_eq!(run.code, 2, "{run:#?}");
    assert!(gone(&marker), "the hung client outlived the drill");
}

#[test]
fn the_fault_waits_for_a_client_that_starts_slowly() {
    if !redis_py() {
        return;
    }
    // Writing only 4 s after it starts, past the 1 s warm-up: the fault waits for it, so it
    // has writes on the old primary before the kill and on the new one after.
    let client = format!("[\"sh\", \"-c\", \"sleep 4; exec python3 {ROOT}/clients/redis_py.py\"]");
    let w = Warden::new();
    let text = side_by_side(&client).replace("warmup = \"3s\"", "warmup = \"1s\"");
    let (run, report, lines) = with_history(&w, &w.write("slow.toml", &text));
    let t = &report["trials"][0];
    assert_eq!(t["injected"], true, "{report:#}");
    let (old, new) = (t["old_primary"].as_str(), t["new_primary"].as_str());
    assert!(
        acked_on(&lines, "py", old) > 0,
        "py never wrote to the old primary: {t:#}"
    );
    assert!(
        acked_on(&lines, "py", new) > 0,
        "py never wrote to the new primary: {t:#}"
    );
    assert_eq!(run.code, 0, "{run:#?}");
}

/// Whether no process whose command line contains `marker` runs within 5 s (a killed
/// process leaves `/proc` when it is reaped, not at the signal).
fn gone(marker: &str) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while running(marker) {
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// Whether a process whose command line contains `marker` runs.
fn running(marker: &str) -> bool {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .any(|c| String::from_utf8_lossy(&c).contains(marker))
}

#[test]
fn a_cancelled_drill_kills_a_client_that_ignores_sigterm() {
    let marker = format!("warden-stubborn-{}", std::process::id());
    let client = format!(
        "[\"python3\", \"-c\", \"import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)\", \"{marker}\"]"
    );
    let w = Warden::new();
    let path = w.write("scenario.toml", &side_by_side(&client));
    let mut child = w
        .command()
        .args(["drill", path.to_str().expect("utf-8")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start warden");
    let deadline = Instant::now() + support::WAIT;
    while !running(&marker) {
        assert!(Instant::now() < deadline, "the client never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("signal warden");
    let deadline = Instant::now() + support::WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            panic!("warden did not exit after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(143), "SIGTERM exits 128 + 15");
    // SIGTERM was ignored; SIGKILL to its group followed after the grace period.
    assert!(gone(&marker), "the client outlived the drill");
    let left = std::fs::read_dir(w.state_dir().join("faults")).map_or(0, |d| d.count());
    assert_eq!(left, 0, "a cancelled drill leaves no fault record");
}

#[test]
fn a_client_that_cannot_start_is_one_warden_line() {
    let w = Warden::new();
    let path = w.write(
        "scenario.toml",
        &side_by_side("[\"/nonexistent/warden-client\", \"--go\"]"),
    );
    let run = w.run(&["drill", path.to_str().expect("utf-8")]);
    let line = run.one_line_error();
    assert!(
        line.contains(
            "[workload] `py`: `command`: `/nonexistent/warden-client` is not an executable file"
        ),
        "{line}"
    );
    let run = w.run(&["drill", path.to_str().expect("utf-8"), "--dry-run"]);
    run.one_line_error();
}

/// The adapters of the client matrix: name, interpreter (none: the file is the program), the
/// file, and the check that the library is installed.
type Adapter = (
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static [&'static str],
);

const ADAPTERS: [Adapter; 6] = [
    (
        "redis-py",
        Some("python3"),
        "clients/redis_py.py",
        &["python3", "-c", "import redis"],
    ),
    (
        "valkey-py",
        Some("python3"),
        "clients/valkey_py.py",
        &["python3", "-c", "import valkey"],
    ),
    (
        "redis-rb",
        Some("ruby"),
        "clients/redis_rb.rb",
        &["ruby", "-e", "require 'redis'"],
    ),
    (
        "phpredis",
        Some("php"),
        "clients/phpredis.php",
        &["php", "-r", "exit(class_exists('RedisSentinel') ? 0 : 1);"],
    ),
    (
        "redis-py-tight",
        Some("python3"),
        "clients/redis_py_tight.py",
        &["python3", "-c", "import redis"],
    ),
    (
        "redis-rs",
        None,
        "clients/redis_rs/target/release/warden-client-redis-rs",
        &["test", "-x", REDIS_RS],
    ),
];

/// The redis-rs adapter, built by scripts/setup.sh.
const REDIS_RS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/clients/redis_rs/target/release/warden-client-redis-rs"
);

/// Whether every adapter's library is installed; panics when one is not, unless the run
/// opted out of missing tools.
fn adapters_installed() -> bool {
    let missing: Vec<&str> = ADAPTERS
        .iter()
        .filter(|(_, _, _, check)| {
            !std::process::Command::new(check[0])
                .args(&check[1..])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(|(name, ..)| *name)
        .collect();
    if missing.is_empty() {
        return true;
    }
    support::missing::missing(&format!("client libraries {missing:?} are not installed"));
    false
}

#[test]
fn every_adapter_names_a_wrong_password_in_one_line_without_it() {
    if !adapters_installed() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let ports = support::free_ports(2);
    let node = support::RedisProc::start(
        dir.path(),
        "node",
        ports[0],
        &format!(
            "port {}\nbind 127.0.0.1\nrequirepass right-one\ndir {}\n",
            ports[0],
            dir.path().display()
        ),
        false,
    );
    let sentinel = support::RedisProc::start(
        dir.path(),
        "sentinel",
        ports[1],
        &format!(
            "port {}\nbind 127.0.0.1\ndir {}\nsentinel monitor mymaster 127.0.0.1 {} 1\n\
             sentinel auth-pass mymaster right-one\n",
            ports[1],
            dir.path().display(),
            ports[0]
        ),
        true,
    );
    std::thread::sleep(Duration::from_millis(500));
    let secret = "wrong-Pa55-6d1f";
    for (name, prog, script, _) in ADAPTERS {
        let file = format!("{ROOT}/{script}");
        let mut cmd = std::process::Command::new(prog.unwrap_or(&file));
        if prog.is_some() {
            cmd.arg(&file);
        }
        let out = cmd
            .env("WARDEN_SENTINELS", sentinel.addr().to_string())
            .env("WARDEN_MASTER", "mymaster")
            .env("WARDEN_KEY_PREFIX", "pw:1")
            .env("WARDEN_RATE", "20")
            .env("WARDEN_REDIS_PASSWORD", secret)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run the adapter");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert_eq!(lines.len(), 1, "{name}: {stderr}");
        assert!(
            lines[0].contains("authentication failed")
                && lines[0].starts_with(name.trim_end_matches("-tight")),
            "{name}: {stderr}"
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !format!("{stdout}{stderr}").contains(secret),
            "{name} printed the password"
        );
    }
    drop(node);
}

/// Runs the drill of `scenario` from the repository's root (scenarios name their adapters
/// relative to it) with `--json` and `--history`; returns the run, the report and the
/// history's lines.
fn with_history(w: &Warden, scenario: &std::path::Path) -> (Run, Value, Vec<Value>) {
    let (json, history) = (w.path().join("out.json"), w.path().join("h.jsonl"));
    let run = support::run(w.command().current_dir(ROOT).args([
        "drill".as_ref(),
        scenario.as_os_str(),
        "--json".as_ref(),
        json.as_os_str(),
        "--history".as_ref(),
        history.as_os_str(),
    ]));
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("report"))
        .unwrap_or_else(|e| panic!("{e}: {run:#?}"));
    let lines = std::fs::read_to_string(&history)
        .expect("history")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    (run, report, lines)
}

/// How many of `client`'s writes in the history `node` acknowledged.
fn acked_on(lines: &[Value], client: &str, node: Option<&str>) -> usize {
    lines
        .iter()
        .filter(|l| l["client"] == client && l["outcome"] == "ok" && l["node"].as_str() == node)
        .count()
}

/// Runs the shipped matrix scenario `file` short and slow (one trial, 50 writes/s each, a
/// 20 s observe), with `--json` and `--history`; checks every client wrote on the old primary
/// before the fault and on the new one after it, and that its lost writes are the history's.
fn matrix(file: &str) {
    if !adapters_installed() {
        return;
    }
    let w = Warden::new();
    let text = std::fs::read_to_string(format!("{ROOT}/scenarios/{file}"))
        .expect("scenario")
        .replace("rate = 200", "rate = 50")
        .replace("observe = \"30s\"", "observe = \"20s\"")
        .replace("warmup = \"3s\"", "warmup = \"2s\"");
    let scenario = w.write("matrix.toml", &support::quick_rejoin(&text));
    let (run, report, lines) = with_history(&w, &scenario);
    let t = &report["trials"][0];
    assert_eq!(t["injected"], true, "{run:#?}");
    let (old, new) = (t["old_primary"].as_str(), t["new_primary"].as_str());
    assert!(old.is_some() && new.is_some() && old != new, "{t:#}");
    let rows = t["clients"].as_array().expect("clients");
    assert_eq!(rows.len(), 11, "{t:#}");
    for c in rows {
        let name = c["name"].as_str().expect("name");
        assert!(
            acked_on(&lines, name, old) > 0,
            "{name} never wrote to the old primary: {c:#}"
        );
        assert!(
            acked_on(&lines, name, new) > 0,
            "{name} never wrote to the new primary: {c:#}"
        );
        let mine = lines.iter().filter(|l| l["client"] == name);
        let lost = mine.filter(|l| l["check"] == "lost").count() as u64;
        assert_eq!(Some(lost), c["lost"]["value"].as_u64(), "{name}: {c:#}");
    }
    assert!(matches!(run.code, 0 | 1), "{run:#?}");
}

#[test]
fn the_client_matrix_follows_a_sentinel_failover() {
    matrix("client-matrix.toml");
}

#[test]
fn the_client_matrix_follows_a_primary_kill() {
    matrix("client-matrix-kill.toml");
}

#[test]
fn the_client_matrix_follows_a_frozen_primary() {
    matrix("client-matrix-pause.toml");
}
