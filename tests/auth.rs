//! `lab up --auth` on the process backend: a drill passes with the same targets as without
//! auth, `watch` sees the failover, stream and bgsave backups and a restore-test succeed, and
//! no secret shows in any output, JSON or `ps`; a wrong password is one line and exit 2; an
//! ACL user missing a permission is told which command it may not run.

mod secured;
mod support;

use secured::{SecuredLab, assert_no_leak, round};
use warden::addr::Addr;
use warden::client::{self, Timeouts};
use warden::conn::{Conn, Source, Spec};

#[test]
fn a_lab_with_auth_drills_watches_and_backs_up_without_leaking_a_secret() {
    let lab = SecuredLab::up(false);
    let outputs = round(&lab);
    assert_no_leak(&lab, &outputs);
}

#[test]
fn a_wrong_password_is_one_line_naming_user_and_address() {
    let lab = SecuredLab::up(false);
    let lab_dir = lab.dir.display().to_string();
    let mut cmd = lab.w.command();
    cmd.env("WARDEN_SENTINEL_PASSWORD", "not-the-password")
        .args(["watch", "--lab-dir", &lab_dir, "--duration", "1s"]);
    let run = support::run(&mut cmd);
    let line = run.one_line_error();
    assert!(
        line.contains("authentication failed for user default on 127.0.0.1:"),
        "{line}"
    );
    assert!(line.contains("WARDEN_SENTINEL_PASSWORD"), "{line}");
    assert!(
        !line.contains("allow-primary") && !line.contains("not-the-password"),
        "{line}"
    );

    let mut cmd = lab.w.command();
    cmd.env("WARDEN_REDIS_PASSWORD", "not-the-password").args([
        "backup",
        "--sentinels",
        &lab.sentinels,
        "--sentinel-password-file",
        &lab.file("secrets/sentinel.pass"),
        "--dest",
        "bk",
    ]);
    let run = support::run(&mut cmd);
    let line = run.one_line_error();
    assert!(
        line.contains("authentication failed for user default"),
        "{line}"
    );
    assert!(
        !line.contains("allow-primary") && !line.contains("not-the-password"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_missing_a_permission_is_told_which_command() {
    let lab = SecuredLab::up(false);
    let admin = Conn::build(&Spec {
        password: Some(Source::File(lab.dir.join("secrets/default.pass"))),
        ..Spec::default()
    })
    .expect("conn");
    let pass = lab.w.write("noinfo.pass", "noinfo-pw\n");
    let status = tokio::task::block_in_place(|| {
        lab.run(&["lab", "status", "--dir", &lab.dir.display().to_string()])
    });
    for line in status.stdout.lines().filter(|l| l.contains(" node ")) {
        let addr: Addr = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        let mut con = admin.node(&addr, Timeouts::CONTROL).await.expect("admin");
        // Everything warden's backup needs but INFO.
        let _: () = client::query(
            &mut con,
            &addr,
            redis::cmd("ACL")
                .arg("SETUSER")
                .arg("noinfo")
                .arg("on")
                .arg(">noinfo-pw")
                .arg("~*")
                .arg("+role")
                .arg("+replconf")
                .arg("+sync")
                .arg("+ping"),
        )
        .await
        .expect("ACL SETUSER");
    }
    let run = tokio::task::block_in_place(|| {
        lab.run(&[
            "backup",
            "--sentinels",
            &lab.sentinels,
            "--sentinel-password-file",
            &lab.file("secrets/sentinel.pass"),
            "--user",
            "noinfo",
            "--password-file",
            &pass.display().to_string(),
            "--dest",
            "bk",
        ])
    });
    let line = run.one_line_error();
    assert!(
        line.contains("user noinfo may not run INFO on 127.0.0.1:"),
        "{line}"
    );
}

/// Every command that authenticates, given a wrong password (for the nodes, then for the
/// Sentinels): it fails, and the wrong password appears nowhere in what it printed or wrote.
#[test]
fn a_wrong_password_never_shows_in_any_commands_output() {
    const WRONG: &str = "wrong-Pa55-zq81";
    let lab = SecuredLab::up(false);
    let lab_dir = lab.dir.display().to_string();
    let s = lab.w.write("wrong.toml", &secured::scenario(&lab));
    let scenario = s.display().to_string();
    let json = lab.w.path().join("out.json");
    let json_arg = json.display().to_string();
    let commands: &[&[&str]] = &[
        &["drill", &scenario, "--json", &json_arg, "-vv"],
        &["lab", "status", "--dir", &lab_dir, "-vv"],
        &["doctor", "--lab-dir", &lab_dir, "--json", "-vv"],
        &[
            "backup",
            "--sentinels",
            &lab.sentinels,
            "--dest",
            "bk",
            "-vv",
        ],
        &["watch", "--lab-dir", &lab_dir, "--duration", "2s", "-vv"],
    ];
    for var in ["WARDEN_REDIS_PASSWORD", "WARDEN_SENTINEL_PASSWORD"] {
        for args in commands {
            let _ = std::fs::remove_file(&json);
            let mut cmd = lab.w.command();
            cmd.env(var, WRONG).args(*args);
            let run = support::run(&mut cmd);
            let written = std::fs::read_to_string(&json).unwrap_or_default();
            for (what, text) in [
                ("stdout", &run.stdout),
                ("stderr", &run.stderr),
                ("json", &written),
            ] {
                assert!(
                    !text.contains(WRONG),
                    "{var} {args:?}: the password is in its {what}: {text}"
                );
            }
            assert!(!run.stderr.contains("panicked"), "{var} {args:?}: {run:#?}");
        }
    }
}
