//! `lab up --auth --tls` on the process backend: the same round as `tests/auth.rs` over TLS
//! only (`port 0`), with a client certificate; a missing CA file and a certificate for
//! another host are each one line and exit 2.

mod secured;
mod support;

use secured::{SecuredLab, assert_no_leak, round};

#[test]
fn a_lab_with_auth_and_tls_drills_watches_and_backs_up_without_leaking_a_secret() {
    let lab = SecuredLab::up(true);
    let outputs = round(&lab);
    assert_no_leak(&lab, &outputs);
}

#[test]
fn a_missing_ca_or_a_certificate_for_another_host_is_one_line() {
    let lab = SecuredLab::up(true);
    let lab_dir = lab.dir.display().to_string();
    let run = lab.run(&[
        "watch",
        "--lab-dir",
        &lab_dir,
        "--tls",
        "--tls-ca",
        "/nonexistent/ca.crt",
        "--duration",
        "1s",
    ]);
    let line = run.one_line_error();
    assert!(line.contains("--tls-ca /nonexistent/ca.crt"), "{line}");

    let run = lab.run(&[
        "watch",
        "--lab-dir",
        &lab_dir,
        "--tls",
        "--tls-ca",
        &lab.file("tls/ca.crt"),
        "--tls-server-name",
        "redis.elsewhere.example",
        "--duration",
        "1s",
    ]);
    let line = run.one_line_error();
    assert!(line.contains("TLS handshake with 127.0.0.1:"), "{line}");
    assert!(line.contains("--tls-server-name"), "{line}");

    // Plain TCP to a TLS-only Sentinel fails too, as one line.
    let run = lab.run(&["watch", "--sentinels", &lab.sentinels, "--duration", "1s"]);
    run.one_line_error();
}
