//! A lab started by the real binary with `lab up --auth` (and `--tls`), and the whole round
//! the issue asks of a secured deployment: a drill, `watch` seeing its failover, a stream and
//! a bgsave backup, a restore-test — and no secret in any output, JSON or `ps`.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::support::scenario::PrimaryKill;
use crate::support::{Run, Warden, free_ports};

/// A secured lab (processes, or containers with [`SecuredLab::up_docker`]) in a fresh
/// working directory; taken down on drop.
pub struct SecuredLab {
    pub w: Warden,
    pub dir: PathBuf,
    /// The `--sentinels` list that reaches it.
    pub sentinels: String,
    pub tls: bool,
    /// The name its TLS certificates carry, when warden must be told it
    /// (`--tls-server-name`): the docker lab's.
    pub server_name: Option<&'static str>,
}

impl SecuredLab {
    pub fn up(tls: bool) -> SecuredLab {
        let w = Warden::new();
        let dir = w.path().join("lab");
        let p = free_ports(6);
        let list = |ps: &[u16]| ps.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
        let mut args = vec![
            "lab".to_string(),
            "up".into(),
            "--auth".into(),
            "--dir".into(),
            dir.display().to_string(),
            "--ports".into(),
            list(&p[..3]),
            "--sentinel-ports".into(),
            list(&p[3..]),
        ];
        if tls {
            args.push("--tls".into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = w.run(&args);
        assert_eq!(run.code, 0, "lab up: {run:#?}");
        SecuredLab {
            sentinels: format!("127.0.0.1:{}", p[3]),
            w,
            dir,
            tls,
            server_name: None,
        }
    }

    /// `lab up --backend docker --auth` (and `--tls`), and what it printed; its Sentinels are
    /// the `sentinels:` line of that.
    pub fn up_docker(tls: bool) -> (SecuredLab, Run) {
        let w = Warden::new();
        let dir = w.path().join("lab");
        let d = dir.display().to_string();
        let mut args = vec!["lab", "up", "--backend", "docker", "--auth", "--dir", &d];
        if tls {
            args.push("--tls");
        }
        let run = w.run(&args);
        let sentinels = run
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("sentinels: "))
            .unwrap_or_default()
            .trim()
            .to_string();
        let lab = SecuredLab {
            w,
            dir,
            sentinels,
            tls,
            server_name: Some("warden-lab"),
        };
        assert_eq!(run.code, 0, "lab up: {run:#?}");
        assert!(!lab.sentinels.is_empty(), "no sentinels line: {run:#?}");
        (lab, run)
    }

    /// The lab's id, from its `lab.json`.
    pub fn lab_id(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("lab.json")).expect("lab.json");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        v["lab_id"].as_str().expect("lab_id").to_string()
    }

    pub fn file(&self, rel: &str) -> String {
        self.dir.join(rel).display().to_string()
    }

    /// The lab's three secrets.
    pub fn secrets(&self) -> Vec<String> {
        ["warden", "default", "sentinel"]
            .iter()
            .map(|n| {
                let s = std::fs::read_to_string(self.dir.join(format!("secrets/{n}.pass")))
                    .expect("secret");
                s.trim().to_string()
            })
            .collect()
    }

    /// The flags that reach this lab without its `lab.json` (as against a real cluster).
    pub fn conn_flags(&self) -> Vec<String> {
        let mut f = vec![
            "--sentinels".to_string(),
            self.sentinels.clone(),
            "--user".into(),
            "warden".into(),
            "--password-file".into(),
            self.file("secrets/warden.pass"),
            "--sentinel-password-file".into(),
            self.file("secrets/sentinel.pass"),
        ];
        if self.tls {
            f.extend([
                "--tls".to_string(),
                "--tls-ca".into(),
                self.file("tls/ca.crt"),
                "--tls-cert".into(),
                self.file("tls/client.crt"),
                "--tls-key".into(),
                self.file("tls/client.key"),
            ]);
            if let Some(name) = self.server_name {
                f.extend(["--tls-server-name".to_string(), name.to_string()]);
            }
        }
        f
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.w.run(args)
    }

    pub fn run_with(&self, args: &[&str], extra: &[String]) -> Run {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(extra.iter().map(String::as_str));
        self.w.run(&all)
    }
}

impl Drop for SecuredLab {
    fn drop(&mut self) {
        let _ = self
            .w
            .run(&["lab", "down", "--dir", &self.dir.display().to_string()]);
    }
}

/// The drill scenario on the recorded lab (its connection settings come from `lab.json`).
pub fn scenario(lab: &SecuredLab) -> String {
    PrimaryKill::on_lab_dir("secured-primary-kill", &lab.dir).toml()
}

/// Runs the whole round on `lab`; returns every output it captured (for the leak check).
pub fn round(lab: &SecuredLab) -> Vec<String> {
    let mut seen = Vec::new();
    let lab_dir = lab.dir.display().to_string();
    // watch follows the lab's Sentinels (settings from lab.json) while the drill runs.
    let watch_out = lab.w.path().join("watch.out");
    let watch = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args([
            "watch",
            "--lab-dir",
            &lab_dir,
            "--json",
            "--episodes",
            "1",
            "--duration",
            "90s",
            "-vv",
        ])
        .current_dir(lab.w.path())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&watch_out).expect("watch.out"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn watch");
    // The drill starts once watch has subscribed to all three Sentinels (a poll with a
    // deadline on its own output, not a fixed pause).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::fs::read_to_string(&watch_out)
        .unwrap_or_default()
        .matches("\"connected\"")
        .count()
        < 3
    {
        assert!(
            std::time::Instant::now() < deadline,
            "watch did not subscribe"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    let s = lab.w.write("secured.toml", &scenario(lab));
    let json = lab.w.path().join("drill.json");
    let run = lab.run(&[
        "drill",
        &s.display().to_string(),
        "--json",
        &json.display().to_string(),
        "-vv",
    ]);
    assert_eq!(run.code, 0, "drill: {run:#?}");
    let report = std::fs::read_to_string(&json).expect("drill json");
    let v: serde_json::Value = serde_json::from_str(&report).expect("json");
    assert_eq!(v["verdict"], "met", "{report}");
    seen.extend([run.stdout, run.stderr, report]);

    let out = watch.wait_with_output().expect("watch");
    let (stdout, stderr) = (
        std::fs::read_to_string(&watch_out).expect("watch.out"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert_eq!(out.status.code(), Some(0), "watch: {stdout}\n{stderr}");
    assert!(
        stdout.contains("switch-master"),
        "watch saw no failover: {stdout}"
    );
    seen.extend([stdout, stderr]);

    let dest = lab.w.path().join("backups").display().to_string();
    for method in ["stream", "bgsave"] {
        // Right after the drill's failover the Sentinels may still list a replica's link as
        // down (they refresh a replica's INFO every 10 s): poll until one is healthy.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let run = loop {
            let run = lab.run_with(
                &[
                    "backup", "--dest", &dest, "--method", method, "--json", "-vv",
                ],
                &lab.conn_flags(),
            );
            if run.code == 0
                || !run.stderr.contains("no healthy replica")
                || std::time::Instant::now() >= deadline
            {
                break run;
            }
            seen.extend([run.stdout, run.stderr]);
            std::thread::sleep(std::time::Duration::from_millis(500));
        };
        assert_eq!(run.code, 0, "backup {method}: {run:#?}");
        seen.extend([run.stdout, run.stderr]);
    }
    let run = lab.run(&["restore-test", "latest", "--dest", &dest, "--json", "-vv"]);
    assert_eq!(run.code, 0, "restore-test: {run:#?}");
    seen.extend([run.stdout, run.stderr]);

    let run = lab.run(&["lab", "status", "--dir", &lab_dir, "-vv"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout.contains("primary (per Sentinels): 127.0.0.1:"),
        "{run:#?}"
    );
    seen.extend([run.stdout, run.stderr]);
    seen
}

/// No secret appears in `outputs`, nor in the arguments of any process (`ps -eo args`).
pub fn assert_no_leak(lab: &SecuredLab, outputs: &[String]) {
    let ps = Command::new("ps")
        .args(["-eo", "args"])
        .output()
        .expect("ps");
    let ps = String::from_utf8_lossy(&ps.stdout).into_owned();
    for secret in lab.secrets() {
        assert!(secret.len() >= 32, "secrets are long and random");
        for o in outputs.iter().chain([&ps]) {
            assert!(!o.contains(&secret), "a secret leaked into: {o}");
        }
    }
}
