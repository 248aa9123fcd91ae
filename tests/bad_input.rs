//! Issue "Never leave a fault behind": scenarios that would abort the process, hang it or make
//! no sense are refused up front — one `warden:` line, exit 2, no panic — and `--dry-run`
//! refuses exactly the same ones.

mod support;

use support::Warden;

const BASE: &str = "name = \"t\"\n[target]\nlab = \"process\"\n";

/// (what, scenario text after [target], expected words in the error)
const CASES: &[(&str, &str, &str)] = &[
    (
        "value_size above 512 MiB",
        "[fault]\naction = \"kill\"\n[workload]\nvalue_size = 600000000\n",
        "`value_size` must be between 1 and 536870912",
    ),
    (
        "value_size 10 GB",
        "[fault]\naction = \"kill\"\n[workload]\nvalue_size = 10000000000\n",
        "`value_size` must be between",
    ),
    (
        "value_size 0",
        "[fault]\naction = \"kill\"\n[workload]\nvalue_size = 0\n",
        "`value_size` must be between",
    ),
    (
        "writers × value_size beyond the machine's memory",
        "[fault]\naction = \"kill\"\n[workload]\nwriters = 1024\nvalue_size = 536870912\n",
        "more than half this machine's memory",
    ),
    (
        "writers 0",
        "[fault]\naction = \"kill\"\n[workload]\nwriters = 0\n",
        "`writers` must be between 1 and 1024",
    ),
    (
        "writers too many",
        "[fault]\naction = \"kill\"\n[workload]\nwriters = 100000\n",
        "`writers` must be between 1 and 1024",
    ),
    (
        "rate too high",
        "[fault]\naction = \"kill\"\n[workload]\nrate = 4000000000\n",
        "`rate` must be at most",
    ),
    (
        "op_timeout 0",
        "[fault]\naction = \"kill\"\n[workload]\nop_timeout = \"0s\"\n",
        "`op_timeout` must be above 0",
    ),
    (
        "pause of 0 s",
        "[fault]\naction = \"pause\"\nduration = \"0s\"\n",
        "needs a `duration` above 0",
    ),
    (
        "pause of a year",
        "[fault]\naction = \"pause\"\nduration = \"365days\"\n",
        "`duration` must be at most 1h",
    ),
    (
        "observe 0",
        "[fault]\naction = \"kill\"\n[timing]\nobserve = \"0s\"\n",
        "`observe` must be above 0",
    ),
    (
        "preflight 0",
        "[fault]\naction = \"kill\"\n[timing]\npreflight = \"0s\"\n",
        "`preflight` must be above 0",
    ),
    (
        "rejoin 0",
        "[fault]\naction = \"kill\"\n[timing]\nrejoin = \"0s\"\n",
        "`rejoin` must be above 0",
    ),
    (
        "exponential retry starting at 0",
        "[fault]\naction = \"kill\"\n[workload.retry]\npolicy = \"exponential\"\ninitial = \"0s\"\nmax = \"1s\"\n",
        "`initial` must be above 0",
    ),
    (
        "a docker-only fault on a process lab",
        "[fault]\naction = \"restart-all\"\n",
        "`restart-all` on primary needs the docker backend",
    ),
    (
        "sentinel-reset without target = sentinel",
        "[fault]\naction = \"sentinel-reset\"\n",
        "`sentinel-reset` acts on Sentinels",
    ),
    (
        "sentinel-leader-crash without `when` (issue 23)",
        "[fault]\naction = \"sentinel-leader-crash\"\n",
        "`sentinel-leader-crash` needs `when = \"after-election\"`",
    ),
    (
        "`when` on another fault",
        "[fault]\naction = \"kill\"\nwhen = \"after-election\"\n",
        "`when` goes only with `sentinel-leader-crash`",
    ),
    (
        "an unknown crash point",
        "[fault]\naction = \"sentinel-leader-crash\"\nwhen = \"after-lunch\"\n",
        "unknown variant `after-lunch`, expected `after-election` or `after-promotion`",
    ),
    (
        "a leader crash with a duration",
        "[fault]\naction = \"sentinel-leader-crash\"\nwhen = \"after-election\"\nduration = \"5s\"\n",
        "takes no `duration`",
    ),
    (
        "a leader crash aimed at a replica",
        "[fault]\naction = \"sentinel-leader-crash\"\nwhen = \"after-election\"\ntarget = \"replica\"\n",
        "fails the primary over (its leader crashes): no `target`",
    ),
    (
        "a versus fault missing its duration",
        "[fault]\naction = \"kill\"\n[versus]\naction = \"pause\"\n",
        "[versus]: fault `pause` needs a `duration`",
    ),
];

/// Partitions whose sides are empty or overlap (on the docker lab).
const DOCKER_CASES: &[(&str, &str, &str)] = &[
    (
        "a partition of Sentinels with Sentinels on their side",
        "[fault]\naction = \"partition\"\ntarget = \"sentinel\"\ncount = 2\nwith_sentinels = 1\nduration = \"5s\"\n",
        "takes no `with_sentinels`",
    ),
    (
        "more replicas than the lab has",
        "[fault]\naction = \"partition\"\ntarget = \"replica\"\ncount = 3\nduration = \"5s\"\n",
        "the lab has 2 replicas",
    ),
    (
        "more Sentinels on the side than the lab has",
        "[fault]\naction = \"partition\"\nwith_sentinels = 4\nduration = \"5s\"\n",
        "the lab has 3 Sentinels",
    ),
    (
        "primary-with-sentinel on the docker lab",
        "[fault]\naction = \"primary-with-sentinel\"\n",
        "`primary-with-sentinel` runs on a process lab",
    ),
    (
        "sentinel-leader-crash on the docker lab",
        "[fault]\naction = \"sentinel-leader-crash\"\nwhen = \"after-promotion\"\n",
        "`sentinel-leader-crash` runs on a process lab",
    ),
    (
        "sentinel-reset on more Sentinels than the lab has",
        "[fault]\naction = \"sentinel-reset\"\ntarget = \"sentinel\"\ncount = 4\n",
        "the lab has 3 Sentinels",
    ),
];

#[test]
fn bad_scenarios_are_one_line_exit_2_and_dry_run_refuses_them_too() {
    let w = Warden::new();
    let docker = BASE.replace("process", "docker");
    let all = CASES
        .iter()
        .map(|c| (BASE, c))
        .chain(DOCKER_CASES.iter().map(|c| (docker.as_str(), c)));
    for (n, (base, (what, text, expect))) in all.enumerate() {
        let path = w.write(&format!("bad-{n}.toml"), &format!("{base}{text}"));
        let path = path.to_str().expect("utf-8");
        for args in [vec!["drill", path], vec!["drill", path, "--dry-run"]] {
            let run = w.run(&args);
            let line = run.one_line_error();
            assert!(line.contains(expect), "{what} ({args:?}): {line}");
            assert!(!run.stderr.contains("panicked"), "{what}: {run:#?}");
        }
    }
}

/// A drill that fails while setting up its ephemeral lab (a password it cannot read, a server
/// binary that does not exist) is one line, and leaves no journal record and no lab directory
/// behind: a record left there would be every later command's "leftover fault" line.
#[test]
fn a_drill_failing_to_set_up_its_lab_leaves_no_record_and_no_directory() {
    let w = Warden::new();
    let tmp = w.path().join("tmp");
    std::fs::create_dir(&tmp).expect("tmp");
    let kill = "[fault]\naction = \"kill\"\n";
    let cases = [
        (
            "password_env = \"WARDEN_TEST_NO_SUCH_VARIABLE\"\n",
            None,
            "WARDEN_TEST_NO_SUCH_VARIABLE",
        ),
        ("password_file = \"no-such-file\"\n", None, "no-such-file"),
        ("", Some("/nonexistent/redis-server"), "redis-server"),
    ];
    for (n, (target, server, expect)) in cases.into_iter().enumerate() {
        let path = w.write(&format!("setup-{n}.toml"), &format!("{BASE}{target}{kill}"));
        let mut cmd = w.command();
        cmd.env("TMPDIR", &tmp).arg("drill").arg(&path);
        if let Some(server) = server {
            cmd.env("WARDEN_REDIS_SERVER", server);
        }
        let run = support::run(&mut cmd);
        let line = run.one_line_error();
        assert!(line.contains(expect), "{target}: {line}");
        let records = std::fs::read_dir(w.state_dir().join("faults")).map_or(0, |d| d.count());
        assert_eq!(records, 0, "{target}: a journal record is left");
        let dirs: Vec<_> = std::fs::read_dir(&tmp).expect("tmp").collect();
        assert!(dirs.is_empty(), "{target}: left {dirs:?}");
    }
}
