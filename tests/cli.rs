//! Bad input (flags, values, scenarios, a bad backup destination): each exits 2 (could not
//! run) with a one-line error, or, for a target that cannot fail over, says so in the report.
//! Help reads cleanly, and a closed stdout ends a command quietly. Runs the real binary in a
//! fresh dir.

mod support;

use std::process::{Command, Stdio};

use clap::CommandFactory;
use support::{RedisProc, TestLab, WAIT, Warden, free_ports, run, wait_until};
use warden::client::Timeouts;
use warden::sentinel::topology;

#[test]
fn unknown_scenario_field_names_the_field_and_line() {
    let w = Warden::new();
    let path = w.write(
        "bad.toml",
        "name = \"t\"\n[target]\nlab = \"process\"\n[fault]\naction = \"kill\"\n[workload]\nwriterz = 2\n",
    );
    let run = w.run(&["drill", path.to_str().expect("utf-8")]);
    let line = run.one_line_error();
    assert!(line.contains("bad.toml: line 7:"), "{line}");
    assert!(line.contains("unknown field `writerz`"), "{line}");
}

#[test]
fn missing_scenario_file_exits_2() {
    let w = Warden::new();
    let run = w.run(&["drill", "no-such-scenario.toml"]);
    let line = run.one_line_error();
    assert!(line.contains("no-such-scenario.toml"), "{line}");
}

#[test]
fn unreachable_sentinel_exits_2() {
    let w = Warden::new();
    let port = free_ports(1)[0];
    let path = w.write(
        "s.toml",
        &format!(
            "name = \"t\"\n[target]\nsentinels = [\"127.0.0.1:{port}\"]\n\
             [fault]\naction = \"sentinel-failover\"\n"
        ),
    );
    let run = w.run(&["drill", path.to_str().expect("utf-8")]);
    let line = run.one_line_error();
    assert!(line.contains(&format!("127.0.0.1:{port}")), "{line}");
    assert!(line.contains("no Sentinel answered"), "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_master_name_exits_2_naming_it() {
    let t = TestLab::up().await;
    let list: Vec<String> = t
        .lab
        .sentinels()
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect();
    let w = Warden::new();
    let path = w.write(
        "s.toml",
        &format!(
            "name = \"t\"\n[target]\nsentinels = [{}]\nmaster = \"nosuchmaster\"\n\
             [fault]\naction = \"sentinel-failover\"\n",
            list.join(", ")
        ),
    );
    let run = tokio::task::spawn_blocking(move || {
        let run = w.run(&["drill", path.to_str().expect("utf-8")]);
        drop(w);
        run
    })
    .await
    .expect("run");
    let line = run.one_line_error();
    assert!(line.contains("'nosuchmaster'"), "{line}");
}

/// One `redis-server` and one Sentinel (quorum 1) that monitors it: a master without any
/// replica. Nothing can be promoted, and warden must not report a measured failover.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_without_replicas_is_not_failed_over() {
    let w = Warden::new();
    let dir = w.path().to_path_buf();
    let ports = free_ports(2);
    let (node_port, sentinel_port) = (ports[0], ports[1]);
    let node = RedisProc::start(
        &dir,
        "node",
        node_port,
        &format!(
            "port {node_port}\nbind 127.0.0.1\ndir {d}\nsave \"\"\nappendonly no\n",
            d = dir.display()
        ),
        false,
    );
    let sentinel = RedisProc::start(
        &dir,
        "sentinel",
        sentinel_port,
        &format!(
            "port {sentinel_port}\nbind 127.0.0.1\ndir {d}\n\
             sentinel monitor mymaster 127.0.0.1 {node_port} 1\n\
             sentinel down-after-milliseconds mymaster 1000\n\
             sentinel failover-timeout mymaster 10000\n",
            d = dir.display()
        ),
        true,
    );
    let logs = vec![node.log.clone(), sentinel.log.clone()];
    let sentinels = vec![sentinel.addr()];
    wait_until(WAIT, "the Sentinel to report the master", &logs, || {
        let sentinels = sentinels.clone();
        async move {
            topology::ask_primary(
                &warden::conn::Conn::default(),
                &sentinels,
                "mymaster",
                Timeouts::CONTROL,
            )
            .await
            .is_ok()
        }
    })
    .await;

    let path = w.write(
        "s.toml",
        &format!(
            "name = \"no-replica\"\n[target]\nsentinels = [\"{}\"]\n\
             [workload]\nwriters = 1\nrate = 50\n\
             [fault]\naction = \"sentinel-failover\"\n\
             [timing]\nwarmup = \"500ms\"\npreflight = \"2s\"\nobserve = \"5s\"\nsettle = \"500ms\"\n",
            sentinel.addr()
        ),
    );
    let json = dir.join("out.json");
    // The temp dir goes to the blocking thread and comes back, so it outlives the checks.
    let (w, run) = tokio::task::spawn_blocking({
        let json = json.clone();
        move || {
            let run = support::run(w.command().arg("drill").arg(&path).arg("--json").arg(&json));
            (w, run)
        }
    })
    .await
    .expect("run");

    // What happens: the pre-flight requires at least one healthy replica, never passes, and
    // the trial is reported as not injected. Such a trial has verdict `unknown` ("could not
    // be measured"), so the drill exits 2 — with a report, not an error line. It does not
    // exit 1: no target was missed, the drill simply could not run its fault.
    assert_eq!(run.code, 2, "{run:#?}");
    let want = format!("sentinel {} sees 0 healthy of 0 replicas", sentinel.addr());
    assert!(
        run.stdout
            .contains("not injected: pre-flight failed, no fault injected:"),
        "{run:#?}"
    );
    assert!(run.stdout.contains(&want), "{run:#?}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("JSON");
    assert_eq!(report["verdict"], "unknown", "{report:#}");
    let trial = &report["trials"][0];
    assert_eq!(trial["injected"], false, "{report:#}");
    assert!(trial["client_rto_ms"]["value"].is_null(), "{report:#}");
    // Nothing was done to the master: it is still the primary.
    let primary = topology::ask_primary(
        &warden::conn::Conn::default(),
        &sentinels,
        "mymaster",
        Timeouts::CONTROL,
    )
    .await
    .expect("primary");
    assert_eq!(primary, node.addr());
    drop((sentinel, node, w));
}

#[test]
fn a_gcs_destination_with_a_missing_key_file_is_one_line() {
    let w = Warden::new();
    let run = run(w
        .command()
        .env(
            "GOOGLE_APPLICATION_CREDENTIALS",
            w.path().join("missing-key.json"),
        )
        .args([
            "backups",
            "list",
            "--dest",
            "gs://warden-no-such-bucket/redis",
        ]));
    let line = run.one_line_error();
    assert!(line.contains("gs://warden-no-such-bucket/redis"), "{line}");
    assert!(line.contains("missing-key.json"), "{line}");
}

/// Bad flags and values: one `warden:` line that names the problem and points to --help, exit 2.
#[test]
fn argument_errors_are_one_line_and_exit_2() {
    let table: &[(&[&str], &str)] = &[
        (
            &["lab", "up", "--down-after", "2"],
            "invalid value '2' for '--down-after",
        ),
        (
            &["lab", "up", "--ports", "7100,x"],
            "invalid value 'x' for '--ports",
        ),
        (
            &["lab", "up", "--quorum"],
            "a value is required for '--quorum",
        ),
        (
            &["lab", "up", "--backend", "vm"],
            "invalid value 'vm' for '--backend",
        ),
        (
            &["lab", "up", "--down-afterr", "2s"],
            "unexpected argument '--down-afterr'",
        ),
        (
            &["drill"],
            "the following required arguments were not provided: <SCENARIO> (see --help)",
        ),
        (&["frobnicate"], "unrecognized subcommand 'frobnicate'"),
        (
            &["watch", "--duration", "soon"],
            "invalid value 'soon' for '--duration",
        ),
    ];
    let w = Warden::new();
    for (args, want) in table {
        let run = w.run(args);
        let line = run.one_line_error();
        assert!(line.contains(want), "{args:?}: want {want:?} in {line}");
        assert!(line.ends_with("see --help)"), "{args:?}: {line}");
        assert!(!line.contains("error:"), "{args:?}: {line}");
    }
    // A near-miss flag keeps clap's suggestion on the same line.
    let run = w.run(&["lab", "up", "--down-afterr", "2s"]);
    assert!(run.one_line_error().contains("'--down-after'"), "{run:#?}");
}

#[test]
fn help_and_version_print_on_stdout_and_exit_0() {
    let w = Warden::new();
    for args in [
        &["--help"][..],
        &["lab", "up", "--help"],
        &["-h"],
        &["--version"],
    ] {
        let run = w.run(args);
        assert_eq!(run.code, 0, "{args:?}: {run:#?}");
        assert!(run.stderr.is_empty(), "{args:?}: {run:#?}");
        assert!(!run.stdout.is_empty(), "{args:?}: {run:#?}");
    }
}

/// Every command path (`lab`, `lab up`, …), from the CLI's own declaration.
fn command_paths(cmd: &clap::Command, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    for sub in cmd.get_subcommands() {
        let mut path = prefix.clone();
        path.push(sub.get_name().to_string());
        command_paths(sub, path.clone(), out);
        out.push(path);
    }
}

/// Help is derived from doc comments: no rustdoc link may leak into it.
#[test]
fn no_help_text_shows_rustdoc_links() {
    let mut paths = vec![Vec::new()];
    command_paths(&warden::cli::Cli::command(), Vec::new(), &mut paths);
    assert!(paths.len() > 10, "{paths:?}");
    let w = Warden::new();
    for path in paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let run = w.run(&args);
        assert_eq!(run.code, 0, "{args:?}: {run:#?}");
        assert!(!run.stdout.contains("[`"), "{args:?}:\n{}", run.stdout);
        assert!(!run.stdout.contains("`]"), "{args:?}:\n{}", run.stdout);
    }
    let top = w.run(&["--help"]).stdout;
    assert!(top.contains("watch or drill"), "{top}");
    let backup = w.run(&["backup", "--help"]).stdout;
    assert!(backup.contains("gs://"), "{backup}");
}

/// Runs `cmd` with stdout a pipe whose reader is already gone (the harshest `| head -1`:
/// every write fails with EPIPE); returns the exit code and stderr.
fn with_closed_stdout(cmd: &mut Command) -> (Option<i32>, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn warden");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for warden");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Commands that print quickly (through the command layer, through clap, and through a
/// `println!` elsewhere) exit 0 without a panic when nobody reads their output.
#[test]
fn a_closed_stdout_ends_quick_commands_quietly() {
    let w = Warden::new();
    let scenario = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/primary-kill.toml");
    std::fs::create_dir(w.path().join("empty")).expect("mkdir");
    let cases: &[&[&str]] = &[
        &["drill", scenario, "--dry-run"],
        &["--help"],
        &["lab", "up", "--help"],
        &["backups", "list", "--dest", "empty"],
    ];
    for args in cases {
        let (code, stderr) = with_closed_stdout(w.command().args(*args));
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

/// The report: `warden drill scenarios/primary-kill.toml | head -1` panicked when the
/// report met the closed pipe. A real drill of the shipped scenario, one trial of its three
/// (CI time); its reader is gone before the report.
#[test]
fn drill_primary_kill_into_a_closed_pipe_exits_0_without_a_panic() {
    let w = Warden::new();
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/primary-kill.toml");
    let text = std::fs::read_to_string(shipped).expect("the shipped scenario");
    assert!(text.contains("\ntrials = 3\n"), "{text}");
    let scenario = w.write(
        "primary-kill.toml",
        &support::quick_rejoin(&text.replace("\ntrials = 3\n", "\ntrials = 1\n")),
    );
    let json = w.path().join("report.json");
    let (code, stderr) = with_closed_stdout(
        w.command()
            .arg("drill")
            .arg(&scenario)
            .arg("--json")
            .arg(&json),
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(code, Some(0), "{stderr}");
    // The drill itself ran to its report.
    let report = std::fs::read_to_string(&json).expect("the JSON report");
    assert!(report.contains("\"verdict\""), "{report}");
}
