//! The book's minimal ACLs (docs/book/src/acls.md), tested per command on a process lab with `--auth`: for each
//! command, a data-node user with exactly the rules of its table ("Minimal ACLs",
//! read from that page itself) runs it successfully (`--user`, `WARDEN_REDIS_PASSWORD`),
//! and a user missing one of those permissions is told, in one line, which command it may not
//! run on which node. A Sentinel ACL user (`--sentinel-user`) with the page's Sentinel rules
//! runs `watch`. On Valkey 9.1, Sentinel's own user on the data nodes (`sentinel auth-user`)
//! with the page's rules carries out a coordinated failover, and one short of a permission
//! does not.

mod secured;
mod support;

use secured::SecuredLab;
use support::scenario::PrimaryKill;
use warden::addr::Addr;
use warden::client::{self, Timeouts};
use warden::conn::{Conn, Source, Spec};

/// The book's "Minimal ACLs" page.
const README: &str = include_str!("../docs/book/src/acls.md");

/// The data-node rules the README documents for `command` (its "Minimal ACLs" table; `none`
/// gives no rules).
fn documented(command: &str) -> Vec<String> {
    let section = README
        .split("# Minimal ACLs")
        .nth(1)
        .expect("the book has a Minimal ACLs page");
    let row = section
        .lines()
        .find(|l| l.starts_with(&format!("| `{command}` |")))
        .unwrap_or_else(|| panic!("no row for {command} in the README's ACL table"));
    let cell = row.split(" | ").nth(1).expect("rules cell");
    match cell.split('`').nth(1) {
        Some(rules) => rules
            .replace("\\|", "|")
            .split_whitespace()
            .map(String::from)
            .collect(),
        None => {
            assert!(cell.starts_with("none"), "{row}");
            Vec::new()
        }
    }
}

/// `rules` without the one naming `drop`.
fn without(rules: &[String], drop: &str) -> Vec<String> {
    assert!(
        rules.iter().any(|r| r == drop),
        "{drop} is not in {rules:?}"
    );
    rules.iter().filter(|r| *r != drop).cloned().collect()
}

fn admin(lab: &SecuredLab, file: &str) -> Conn {
    Conn::build(&Spec {
        password: Some(Source::File(lab.dir.join(file))),
        sentinel_password: Some(Source::File(lab.dir.join(file))),
        ..Spec::default()
    })
    .expect("admin conn")
}

/// The lab's nodes and Sentinels, as `lab status` lists them.
fn members(lab: &SecuredLab) -> (Vec<Addr>, Vec<Addr>) {
    let status = lab.run(&["lab", "status", "--dir", &lab.dir.display().to_string()]);
    assert_eq!(status.code, 0, "{status:#?}");
    let addrs = |kind: &str| -> Vec<Addr> {
        status
            .stdout
            .lines()
            .filter(|l| l.trim_start().starts_with(kind))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
            .collect()
    };
    let (nodes, sentinels) = (addrs("node"), addrs("sentinel"));
    assert_eq!((nodes.len(), sentinels.len()), (3, 3), "{}", status.stdout);
    (nodes, sentinels)
}

/// Creates ACL user `user` (password `<user>-pw`) with `rules` on every address of `on`,
/// persisted with `CONFIG REWRITE` on data nodes, so a node killed by a drill and started
/// again still has it.
async fn set_user(conn: &Conn, on: &[Addr], sentinel: bool, user: &str, rules: &[String]) {
    for addr in on {
        let mut con = match sentinel {
            true => conn.sentinel(addr, Timeouts::CONTROL).await,
            false => conn.node(addr, Timeouts::CONTROL).await,
        }
        .expect("admin connection");
        let mut cmd = redis::cmd("ACL");
        cmd.arg("SETUSER")
            .arg(user)
            .arg("reset")
            .arg("on")
            .arg(format!(">{user}-pw"));
        for r in rules {
            cmd.arg(r.as_str());
        }
        let _: () = client::query(&mut con, addr, &cmd)
            .await
            .expect("ACL SETUSER");
        if !sentinel {
            let _: () = client::query(&mut con, addr, redis::cmd("CONFIG").arg("REWRITE"))
                .await
                .expect("CONFIG REWRITE");
        }
    }
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f))
}

fn drill_scenario(lab: &SecuredLab) -> String {
    PrimaryKill::on_lab_dir("acl-primary-kill", &lab.dir)
        .load(2, 300)
        .warmup("1s")
        .toml()
}

/// Runs `warden ARGS` as data-node user `user` (`--user`, `WARDEN_REDIS_PASSWORD`).
fn run_as(lab: &SecuredLab, user: &str, args: &[&str]) -> support::Run {
    let mut cmd = lab.w.command();
    cmd.env("WARDEN_REDIS_PASSWORD", format!("{user}-pw"))
        .args(args)
        .args(["--user", user]);
    support::run(&mut cmd)
}

/// `run` could not run (exit 2), saying `user` was refused `command` on a lab node: a
/// one-line error, or (drill) the pre-flight's reason in the report.
fn refused(run: &support::Run, user: &str, command: &str) {
    let words = format!("user {user} may not run {command} on 127.0.0.1:");
    if run.stdout.is_empty() {
        let line = run.one_line_error();
        assert!(line.contains(&words), "{line}");
    } else {
        assert_eq!(run.code, 2, "{run:#?}");
        assert!(
            run.stdout
                .contains(&format!("pre-flight failed, no fault injected: {words}")),
            "{run:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drill_runs_with_exactly_its_documented_acl() {
    let lab = SecuredLab::up(false);
    let conn = admin(&lab, "secrets/default.pass");
    let (nodes, _) = members(&lab);
    let rules = documented("drill");
    block(set_user(&conn, &nodes, false, "drill", &rules));
    block(set_user(
        &conn,
        &nodes,
        false,
        "drill-norole",
        &without(&rules, "+role"),
    ));
    let s = lab.w.write("acl.toml", &drill_scenario(&lab));
    let s = s.display().to_string();

    let run = tokio::task::block_in_place(|| run_as(&lab, "drill-norole", &["drill", &s]));
    refused(&run, "drill-norole", "ROLE");

    let run = tokio::task::block_in_place(|| run_as(&lab, "drill", &["drill", &s]));
    assert_eq!(
        run.code, 0,
        "drill as a user with the README's rules: {run:#?}"
    );
    assert!(run.stdout.contains("verdict: targets met"), "{run:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_and_restore_test_run_with_exactly_their_documented_acls() {
    let lab = SecuredLab::up(false);
    let conn = admin(&lab, "secrets/default.pass");
    let (nodes, _) = members(&lab);
    let dest = lab.w.path().join("backups").display().to_string();
    for (method, drop, missing) in [("stream", "+sync", "SYNC"), ("bgsave", "+bgsave", "BGSAVE")] {
        let rules = documented(&format!("backup --method {method}"));
        let (user, short) = (format!("bk-{method}"), format!("bk-{method}-short"));
        block(set_user(&conn, &nodes, false, &user, &rules));
        block(set_user(
            &conn,
            &nodes,
            false,
            &short,
            &without(&rules, drop),
        ));
        let sentinel_pass = lab.file("secrets/sentinel.pass");
        let args = [
            "backup",
            "--sentinels",
            &lab.sentinels,
            "--sentinel-password-file",
            &sentinel_pass,
            "--dest",
            &dest,
            "--method",
            method,
        ];
        let run = tokio::task::block_in_place(|| run_as(&lab, &short, &args));
        refused(&run, &short, missing);
        let run = tokio::task::block_in_place(|| run_as(&lab, &user, &args));
        assert_eq!(run.code, 0, "backup --method {method} as {user}: {run:#?}");
    }

    // restore-test loads into its own scratch server: a user with no rules at all will do.
    assert!(documented("restore-test").is_empty());
    block(set_user(&conn, &nodes, false, "rt", &[]));
    let run = tokio::task::block_in_place(|| {
        run_as(&lab, "rt", &["restore-test", "latest", "--dest", &dest])
    });
    assert_eq!(
        run.code, 0,
        "restore-test as a user without rules: {run:#?}"
    );
}

/// The README's Sentinel rules for `watch` (and `drill`): every command that asks the
/// Sentinels, plus Pub/Sub.
const SENTINEL_RULES: &str = "+sentinel|get-master-addr-by-name +sentinel|master \
     +sentinel|masters +sentinel|replicas +sentinel|ckquorum +info +ping";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_runs_as_a_sentinel_acl_user_with_the_documented_rules() {
    let readme: String = README.split_whitespace().collect::<Vec<_>>().join(" ");
    let doc = format!("`{SENTINEL_RULES}`")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        readme.contains(&doc),
        "the README documents {SENTINEL_RULES}"
    );
    assert!(readme.contains("`drill` and `watch` also `+psubscribe &*`"));
    let lab = SecuredLab::up(false);
    let conn = admin(&lab, "secrets/sentinel.pass");
    let (_, sentinels) = members(&lab);
    let mut rules: Vec<String> = SENTINEL_RULES
        .split_whitespace()
        .map(String::from)
        .collect();
    rules.extend(["+psubscribe".into(), "&*".into()]);
    block(set_user(&conn, &sentinels, true, "watcher", &rules));
    block(set_user(
        &conn,
        &sentinels,
        true,
        "watcher-nomaster",
        &without(&rules, "+sentinel|master"),
    ));
    let watch = |user: &str| {
        let mut cmd = lab.w.command();
        cmd.env("WARDEN_SENTINEL_PASSWORD", format!("{user}-pw"))
            .args([
                "watch",
                "--lab-dir",
                &lab.dir.display().to_string(),
                "--sentinel-user",
                user,
                "--duration",
                "3s",
                // The doctor's audit needs the doctor's rules (README); this is watch alone.
                "--doctor-every",
                "0",
            ]);
        tokio::task::block_in_place(|| support::run(&mut cmd))
    };
    let run = watch("watcher");
    assert_eq!(run.code, 0, "watch as a Sentinel ACL user: {run:#?}");
    assert!(!run.stderr.contains("may not run"), "{run:#?}");
    // watch waits out a refusal like any Sentinel it cannot use (it exits only on bad input
    // or its limits); the monitor names the refusal as a missing permission and its command
    // (issue 19: it said "authentication failed").
    let run = watch("watcher-nomaster");
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout
            .contains("waiting: missing permission on 127.0.0.1:")
            && run.stdout.contains("may not run SENTINEL MASTER (NOPERM)"),
        "{run:#?}"
    );
    assert!(!run.stdout.contains("authentication failed"), "{run:#?}");
}

/// `args` on `addr` (a node, or a Sentinel) of an unsecured lab.
async fn ask<T: redis::FromRedisValue>(addr: &Addr, sentinel: bool, args: &[&str]) -> T {
    let c = Conn::default();
    let mut con = match sentinel {
        true => c.sentinel(addr, Timeouts::CONTROL).await,
        false => c.node(addr, Timeouts::CONTROL).await,
    }
    .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    redis::cmd(args[0])
        .arg(&args[1..])
        .query_async(&mut con)
        .await
        .unwrap_or_else(|e| panic!("{args:?} on {addr}: {e}"))
}

/// The primary the first Sentinel names.
async fn primary_port(sentinel: &Addr) -> String {
    let a: Vec<String> = ask(
        sentinel,
        true,
        &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"],
    )
    .await;
    a.get(1).cloned().unwrap_or_default()
}

/// `warden doctor` on the lab, once Sentinel's links on every node are logged in as
/// `sentinel-node`: with `refused` (an ACL rule, `failover` or `client|pause`) a
/// `sentinel-user-no-coordinated` warning on every node naming that command; without, no
/// finding about Sentinel's user.
async fn doctor_names(t: &support::TestLab, refused: Option<&str>) {
    let w = support::Warden::new();
    let dir = t.lab.dir().display().to_string();
    let command = refused.map(|r| r.replace('|', " ").to_uppercase());
    let deadline = std::time::Instant::now() + support::WAIT;
    loop {
        let mut logged_in = true;
        for n in t.lab.nodes() {
            let list: String = ask(&n, false, &["CLIENT", "LIST"]).await;
            let users: Vec<&str> = sentinel_links(&list).collect();
            logged_in &= !users.is_empty() && users.iter().all(|u| *u == "sentinel-node");
        }
        let run = tokio::task::block_in_place(|| w.run(&["doctor", "--lab-dir", &dir, "--json"]));
        let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("doctor --json");
        let about: Vec<&serde_json::Value> = v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| {
                f["id"]
                    .as_str()
                    .is_some_and(|i| i.starts_with("sentinel-user"))
            })
            .collect();
        let named = |f: &&serde_json::Value| {
            let evidence = f["evidence"].as_str().unwrap_or_default();
            f["id"] == "sentinel-user-no-coordinated"
                && command
                    .as_ref()
                    .is_some_and(|c| evidence.contains(&format!("may not run {c}")))
        };
        let done = match refused {
            Some(_) => about.len() == 3 && about.iter().all(named),
            None => logged_in && about.is_empty(),
        };
        if done && logged_in {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "doctor with Sentinel's user short of {refused:?}: {about:#?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The users of Sentinel's command links in a `CLIENT LIST` reply.
fn sentinel_links(list: &str) -> impl Iterator<Item = &str> {
    list.lines()
        .filter(|l| l.contains(" name=sentinel-") && l.contains("-cmd "))
        .filter_map(|l| l.split(' ').find_map(|f| f.strip_prefix("user=")))
}

/// Sentinel's own user on the data nodes (`sentinel auth-user`) on Valkey 9.1, with the
/// README's rules for a coordinated failover: `SENTINEL FAILOVER … COORDINATED` switches the
/// primary; one short of `+failover` or `+client|pause` and it does not, the old primary's
/// `ACL LOG` names the command refused, and `warden doctor` names it beforehand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinels_own_user_on_valkey_9_needs_failover_and_client_pause_to_coordinate() {
    let test = "sentinels_own_user_on_valkey_9_needs_failover_and_client_pause_to_coordinate";
    let Some(v9) = support::valkey::server9_or_skip(test) else {
        return;
    };
    let settings = warden::lab::SentinelSettings {
        // An aborted attempt blocks the next for 2 × failover-timeout.
        failover_timeout: std::time::Duration::from_secs(3),
        ..Default::default()
    };
    let t = support::TestLab::up_on(v9, settings).await;
    let (nodes, sentinels) = (t.lab.nodes(), t.lab.sentinels());
    let rules = documented("sentinel auth-user, Valkey 9");
    assert_eq!(rules, {
        let mut r = documented("sentinel auth-user");
        r.extend(["+failover", "+client|pause", "+client|unpause"].map(String::from));
        r
    });
    let tries = [
        (without(&rules, "+failover"), Some("failover")),
        (without(&rules, "+client|pause"), Some("client|pause")),
        (rules.clone(), None),
    ];
    for (rules, refused) in tries {
        set_user(&Conn::default(), &nodes, false, "sentinel-node", &rules).await;
        for s in &sentinels {
            for (k, v) in [
                ("auth-user", "sentinel-node"),
                ("auth-pass", "sentinel-node-pw"),
            ] {
                let _: () = ask(s, true, &["SENTINEL", "SET", "mymaster", k, v]).await;
            }
        }
        doctor_names(&t, refused).await;
        let before = primary_port(&sentinels[0]).await;
        let old = nodes
            .iter()
            .find(|n| n.to_string().ends_with(&format!(":{before}")))
            .expect("the primary is a lab node")
            .clone();
        let _: () = ask(&old, false, &["ACL", "LOG", "RESET"]).await;
        // Sentinel's links reconnect as the new user; an earlier aborted attempt may still
        // hold the next (INPROG) for a few seconds.
        let started = std::time::Instant::now();
        loop {
            let c = Conn::default();
            let mut con = c
                .sentinel(&sentinels[0], Timeouts::CONTROL)
                .await
                .expect("sentinel");
            let cmd = redis::cmd("SENTINEL")
                .arg(&["FAILOVER", "mymaster", "COORDINATED"])
                .to_owned();
            match client::query::<()>(&mut con, &sentinels[0], &cmd).await {
                Ok(()) => break,
                Err(e) if started.elapsed() < support::WAIT => {
                    eprintln!("retrying: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
                Err(e) => panic!("SENTINEL FAILOVER COORDINATED: {e}"),
            }
        }
        // A failover takes about 1.2 s here: 10 s without a switch is none.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut after = before.clone();
        while after == before && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            after = primary_port(&sentinels[0]).await;
        }
        let log: Vec<Vec<redis::Value>> = ask(&old, false, &["ACL", "LOG"]).await;
        let text =
            |v: &redis::Value| redis::from_redis_value::<String>(v.clone()).unwrap_or_default();
        let log: Vec<String> = log.iter().flatten().map(text).collect();
        let log = log.join(" ");
        match refused {
            Some(command) => {
                assert_eq!(after, before, "a switch without {command}: {log}");
                assert!(log.contains(command), "ACL LOG names {command}: {log}");
            }
            None => {
                assert_ne!(after, before, "no switch with the README's rules: {log}");
                assert!(!log.contains("sentinel-node"), "{log}");
            }
        }
    }
}
