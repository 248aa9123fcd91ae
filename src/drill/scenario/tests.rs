//! The scenario validation's one-line errors, and the `versus` trials.

use super::*;

const GOOD: &str = r#"
name = "t"
[target]
lab = "process"
[fault]
action = "kill"
"#;

fn check(text: &str, expect: &str) {
    match Scenario::parse(text) {
        Ok(_) => assert_eq!("ok", expect),
        Err(e) => assert_eq!(e, expect),
    }
}

#[test]
fn scenarios_are_validated_with_one_line_errors() {
    check(GOOD, "ok");
    check(
        &GOOD.replace("action = \"kill\"", "action = \"kill\"\nsignal = 9"),
        "line 7: unknown field `signal`, expected one of `action`, `target`, `duration`, `count`, `with_sentinels`, `when`",
    );
    check(
        &GOOD.replace("kill", "explode"),
        "line 6: unknown variant `explode`, expected one of `kill`, `stop`, `pause`, `debug-sleep`, `sentinel-failover`, `coordinated-failover`, `sentinel-failover-coordinated`, `sentinel-reset`, `primary-with-sentinel`, `sentinel-leader-crash`, `restart`, `restart-all`, `disconnect`, `new-ip`, `partition`",
    );
    check(
        &GOOD.replace("kill", "pause"),
        "[fault]: fault `pause` needs a `duration`",
    );
    check(
        &GOOD.replace("lab = \"process\"", "sentinels = [\"127.0.0.1:1\"]"),
        "[fault]: `kill` acts on a process or container: set target.lab, lab_dir or compose_project",
    );
    check(
        &GOOD.replace("lab = \"process\"", "sentinels = [\"nope\"]"),
        "line 4: address \"nope\" has no `:port`",
    );
    check(
        &format!("{GOOD}trials = 0"),
        "line 7: unknown field `trials`, expected one of `action`, `target`, `duration`, `count`, `with_sentinels`, `when`",
    );
    check(
        &GOOD.replace("name = \"t\"", "name = \"t\"\ntrials = 0"),
        "`trials` must be at least 1",
    );
    check(&format!("{GOOD}[targets]\nfailovers = 2"), "ok");
    check(
        &format!("{GOOD}[targets]\nfailovers = 0"),
        "[targets]: `failovers = 0` needs `expect_failover = false`",
    );
    check(
        &format!("{GOOD}[targets]\nexpect_failover = false\nfailovers = 1"),
        "[targets]: `failovers = 1` contradicts `expect_failover = false`",
    );
    check(
        &format!("{GOOD}[timing]\nstable = \"0s\""),
        "[timing]: `stable` must be above 0",
    );
    check(
        &GOOD.replace("\"kill\"", "\"partition\"\nduration = \"5s\""),
        "[fault]: `partition` on primary needs the docker backend: set target.lab = \"docker\"",
    );
    check(
        &GOOD
            .replace("process", "docker")
            .replace("kill", "partition"),
        "[fault]: fault `partition` needs a `duration`",
    );
    check(
        &GOOD
            .replace("process", "docker")
            .replace("kill\"", "kill\"\ntarget = \"sentinel\"\ncount = 2"),
        "ok",
    );
    check(
        &GOOD
            .replace("process", "docker")
            .replace("kill\"", "kill\"\ncount = 2"),
        "[fault]: there is one primary: `count` must be 1",
    );
    check(
        &GOOD.replace("\"kill\"", "\"sentinel-reset\""),
        "[fault]: `sentinel-reset` acts on Sentinels: set `target = \"sentinel\"`",
    );
    check(
        &GOOD.replace(
            "\"kill\"",
            "\"sentinel-reset\"\ntarget = \"sentinel\"\ncount = 3",
        ),
        "ok",
    );
    check(
        &format!("{GOOD}[before]\naction = \"sentinel-reset\"\ntarget = \"sentinel\"\n"),
        "ok",
    );
    check(
        &GOOD
            .replace("process", "docker")
            .replace("\"kill\"", "\"primary-with-sentinel\""),
        "[fault]: `primary-with-sentinel` runs on a process lab (lab = \"process\" or a process lab_dir)",
    );
    check(
        &format!("{GOOD}[versus]\naction = \"sentinel-failover\"\n"),
        "ok",
    );
    check(
        &format!("{GOOD}[versus]\naction = \"partition\"\nduration = \"1s\"\n"),
        "[versus]: `partition` on primary needs the docker backend: set target.lab = \"docker\"",
    );
}

#[test]
fn versus_trials_alternate_and_are_judged_only_on_the_failover() {
    let s = Scenario::parse(&format!(
        "{}[versus]\naction = \"sentinel-failover\"\n[targets]\nrpo_keys = 0\n",
        GOOD.replace("\"kill\"", "\"coordinated-failover\"")
    ))
    .unwrap();
    let actions: Vec<_> = (1..=4).map(|n| s.fault_of(n).0.action.name()).collect();
    assert_eq!(
        actions,
        [
            "coordinated-failover",
            "sentinel-failover",
            "coordinated-failover",
            "sentinel-failover"
        ]
    );
    assert_eq!(s.targets_of(1).rpo_keys, Some(0));
    assert_eq!(s.targets_of(2).rpo_keys, None);
    assert!(s.targets_of(2).expect_failover);
}

/// Three ways in one drill: `[fault]` then each `[[versus]]` in turn, trial `n` running
/// fault `(n - 1) mod 3`; each versus trial judged only on the failover.
#[test]
fn several_versus_faults_take_turns_after_the_fault() {
    let three = GOOD.replace("\"kill\"", "\"sentinel-failover-coordinated\"")
        + "[[versus]]\naction = \"coordinated-failover\"\n\
           [[versus]]\naction = \"sentinel-failover\"\n[targets]\nrpo_keys = 0\n";
    let s = Scenario::parse(&three).unwrap();
    let turns: Vec<_> = (1..=6)
        .map(|n| (s.fault_of(n).0.action.name(), s.fault_of(n).1))
        .collect();
    assert_eq!(
        turns,
        [
            ("sentinel-failover-coordinated", false),
            ("coordinated-failover", true),
            ("sentinel-failover", true),
            ("sentinel-failover-coordinated", false),
            ("coordinated-failover", true),
            ("sentinel-failover", true),
        ]
    );
    assert_eq!(s.targets_of(4).rpo_keys, Some(0));
    assert_eq!(s.targets_of(3).rpo_keys, None);
    let tables: Vec<_> = s.faults().map(|(t, f)| (t, f.action.name())).collect();
    assert_eq!(
        tables,
        [
            ("fault", "sentinel-failover-coordinated"),
            ("versus", "coordinated-failover"),
            ("versus", "sentinel-failover"),
        ]
    );
    check(
        &format!(
            "{GOOD}[[versus]]\naction = \"sentinel-failover\"\n[[versus]]\naction = \"pause\"\n"
        ),
        "[[versus]] 2: fault `pause` needs a `duration`",
    );
    let four = "[[versus]]\naction = \"sentinel-failover\"\n".repeat(4);
    check(
        &format!("{GOOD}{four}"),
        "[[versus]]: at most 3 faults to compare with [fault], found 4",
    );
}

#[test]
fn one_workload_table_or_several_side_by_side() {
    let one = Scenario::parse(&format!("{GOOD}[workload]\nrate = 7\n")).unwrap();
    assert_eq!(one.workloads.len(), 1);
    assert_eq!(one.workloads[0].rate, 7);
    assert_eq!(Scenario::parse(GOOD).unwrap().workloads.len(), 1);
    let two = format!(
        "{GOOD}[[workload]]\nrate = 7\n[[workload]]\nname = \"py\"\ncommand = [\"python3\", \"c.py\"]\n"
    );
    let two = Scenario::parse(&two).unwrap();
    let names: Vec<String> = two.workloads.iter().map(|w| w.name()).collect();
    assert_eq!(names, ["warden", "py"]);
    check(
        &format!("{GOOD}[[workload]]\n[[workload]]\nrate = 5\n"),
        "[[workload]] `warden`: two workloads are named `warden`: give each its own `name`",
    );
    check(
        &format!("{GOOD}[workload]\ncommand = []\n"),
        "[workload]: `command` is empty: give the program and its arguments",
    );
    check(
        &format!("{GOOD}[workload]\ncommand = [\"x\"]\npreset = \"jedis\"\n"),
        "[workload]: `preset` sets the built-in writer's policy; an external `command` has its own",
    );
    check(
        &format!("{GOOD}[[workload]]\nname = \"a\"\n[[workload]]\nwriterz = 1\n"),
        "line 10: unknown field `writerz`, expected one of `name`, `command`, `preset`, `writers`, `rate`, `ttl`, `value_size`, `op_timeout`, `retry`, `follow`",
    );
    check(
        &format!("{GOOD}[workload]\npreset = \"hiredis\"\n"),
        "line 8: unknown variant `hiredis`, expected one of `redis-py`, `go-redis`, `ioredis`, `jedis`, `lettuce`",
    );
}
