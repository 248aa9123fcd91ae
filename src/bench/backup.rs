//! `warden bench backup`: on one lab dataset of session keys with random values, in one run,
//! (a) `warden verify` vs `redis-check-rdb` on the same RDB, and (b) `warden backup` from a
//! replica (both methods) vs the runbook's script (BGSAVE on the primary, cp, gzip) and vs
//! `redis-cli --rdb` against a replica followed by gzip: wall time, forks on the primary,
//! stored size, and warden's peak RSS (`VmHWM` of the backup process).
//!
//! Every tool runs as a separate process, as an operator would run it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use rand::RngCore;

use crate::addr::Addr;
use crate::backup::report::bytes;
use crate::client::{self, Timeouts};
use crate::conn::Conn;
use crate::error::{Error, Result};
use crate::lab::{Lab, LabSpec, SentinelSettings};

/// Benchmark settings.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// Session keys in the dataset.
    pub keys: u64,
    /// Value size in bytes (random, as encrypted sessions are).
    pub value_size: usize,
    /// Repetitions of each timing (the median is reported).
    pub rounds: u32,
}

const T: Timeouts = Timeouts {
    connect: Duration::from_secs(2),
    response: Duration::from_secs(120),
};

async fn info(addr: &Addr, section: &str, field: &str) -> Result<i64> {
    let mut con = Conn::default().node(addr, T).await?;
    let text: String = client::query(&mut con, addr, redis::cmd("INFO").arg(section)).await?;
    Ok(client::parse_info(&text)
        .get(field)
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1))
}

/// Fills `addr` with `n` `session:<i>` keys: random values, TTL 1–3 h, 1000 SETs a pipeline.
async fn fill(addr: &Addr, n: u64, value_size: usize) -> Result<()> {
    let mut con = Conn::default().node(addr, T).await?;
    let mut rng = rand::rng();
    let mut value = vec![0u8; value_size];
    let mut i = 0;
    while i < n {
        let mut pipe = redis::pipe();
        for _ in 0..1000.min(n - i) {
            rng.fill_bytes(&mut value);
            pipe.cmd("SET")
                .arg(format!("session:{i}"))
                .arg(&value)
                .arg("EX")
                .arg(3600 + i % 7200)
                .ignore();
            i += 1;
        }
        pipe.query_async::<()>(&mut con)
            .await
            .map_err(|source| Error::Command {
                addr: addr.clone(),
                command: "SET (pipelined)".into(),
                source,
            })?;
    }
    Ok(())
}

/// Runs a program to completion; errors when it cannot start or exits non-zero.
async fn exec(program: &Path, args: &[&str]) -> Result<std::process::Output> {
    let what = format!("{} {}", program.display(), args.join(" "));
    let out = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|source| Error::Spawn {
            what: what.clone(),
            source,
        })?;
    if !out.status.success() {
        return Err(Error::Usage(format!(
            "`{what}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out)
}

async fn timed(program: &Path, args: &[&str]) -> Result<(f64, std::process::Output)> {
    let t = Instant::now();
    let out = exec(program, args).await?;
    Ok((t.elapsed().as_secs_f64(), out))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// One contender's row.
struct Row {
    name: &'static str,
    secs: f64,
    primary_forks: i64,
    stored: u64,
}

/// Runs the benchmark on an ephemeral lab and returns the table.
pub(crate) async fn run(spec: &Spec) -> Result<String> {
    let work = tempfile::Builder::new()
        .prefix("warden-bench-backup-")
        .tempdir()
        .map_err(Error::io(std::env::temp_dir()))?;
    let lab = Lab::up(LabSpec::ephemeral(
        work.path().join("lab"),
        SentinelSettings::default(),
    )?)
    .await?;
    let primary = lab.nodes()[0].clone();
    let replica = lab.nodes()[1].clone();
    let t = Instant::now();
    fill(&primary, spec.keys, spec.value_size).await?;
    let fill_secs = t.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(600);
    for node in &lab.nodes()[1..] {
        loop {
            let mut con = Conn::default().node(node, T).await?;
            let n: u64 = client::query(&mut con, node, &redis::cmd("DBSIZE")).await?;
            if n >= spec.keys {
                break;
            }
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: format!("replica {node} did not catch up"),
                    waited: Duration::from_secs(600),
                    detail: format!("{n} of {} keys", spec.keys),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let me = std::env::current_exe().map_err(Error::io("/proc/self/exe"))?;
    let sentinels = lab
        .sentinels()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let dir = |name: &str| work.path().join(name).display().to_string();
    let rounds = spec.rounds.max(1);

    // The raw RDB both verifiers read.
    let raw_dir = dir("raw");
    let (_, out) = timed(
        &me,
        &[
            "backup",
            "--sentinels",
            &sentinels,
            "--dest",
            &raw_dir,
            "--compress",
            "none",
            "--json",
        ],
    )
    .await?;
    let m: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| Error::internal(format!("warden backup --json: {e}")))?;
    let raw_bytes = m["raw"]["bytes"].as_u64().unwrap_or(0);
    let raw = PathBuf::from(&raw_dir).join(m["file"].as_str().unwrap_or(""));
    let raw_s = raw.display().to_string();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        ours.push(timed(&me, &["verify", &raw_s]).await?.0);
        theirs.push(timed(Path::new("redis-check-rdb"), &[&raw_s]).await?.0);
    }
    let (ours, theirs) = (median(ours), median(theirs));

    let mut rows = Vec::new();
    let mut peak_kib = 0u64;
    for (name, method, compress) in [
        (
            "warden backup stream --compress gzip (replica)",
            "stream",
            "gzip",
        ),
        (
            "warden backup bgsave --compress gzip (replica)",
            "bgsave",
            "gzip",
        ),
        (
            "warden backup stream --compress zstd (default)",
            "stream",
            "zstd",
        ),
    ] {
        let mut secs = Vec::new();
        let (mut forks, mut stored) = (0, 0);
        for r in 0..rounds {
            let before = info(&primary, "stats", "total_forks").await?;
            let d = dir(&format!("{method}-{compress}-{r}"));
            let (s, out) = timed(
                &me,
                &[
                    "backup",
                    "--sentinels",
                    &sentinels,
                    "--dest",
                    &d,
                    "--method",
                    method,
                    "--compress",
                    compress,
                    "--json",
                ],
            )
            .await?;
            forks += info(&primary, "stats", "total_forks").await? - before;
            let m: serde_json::Value = serde_json::from_slice(&out.stdout)
                .map_err(|e| Error::internal(format!("warden backup --json: {e}")))?;
            stored = m["stored"]["bytes"].as_u64().unwrap_or(0);
            peak_kib = peak_kib.max(m["peak_rss_kib"].as_u64().unwrap_or(0));
            secs.push(s);
        }
        rows.push(Row {
            name,
            secs: median(secs),
            primary_forks: forks,
            stored,
        });
    }
    rows.push(runbook(&primary, &work.path().join("runbook"), rounds).await?);
    rows.push(cli_rdb(&primary, &replica, &work.path().join("cli"), rounds).await?);
    lab.down()?;

    let mut t = String::new();
    let _ = writeln!(
        t,
        "backup bench: {} session keys, {} B random values, RDB {} ({raw_bytes} bytes); fill {fill_secs:.1} s; median of {rounds}",
        spec.keys,
        spec.value_size,
        bytes(raw_bytes)
    );
    let _ = writeln!(
        t,
        "verify       warden {ours:.2} s   redis-check-rdb {theirs:.2} s   redis-check-rdb / warden = {:.2}x",
        theirs / ours.max(1e-9)
    );
    let _ = writeln!(
        t,
        "{:<44} {:>8} {:>8} {:>14} {:>12}",
        "backup", "time s", "vs ours", "primary forks", "stored"
    );
    let base = rows.first().map_or(1.0, |r| r.secs.max(1e-9));
    for r in &rows {
        let _ = writeln!(
            t,
            "{:<44} {:>8.2} {:>8.2} {:>14} {:>12}",
            r.name,
            r.secs,
            r.secs / base,
            format!("{} in {rounds}", r.primary_forks),
            bytes(r.stored)
        );
    }
    let _ = writeln!(
        t,
        "warden peak RSS (VmHWM of the backup process, max over runs): {}",
        bytes(peak_kib * 1024)
    );
    let _ = writeln!(
        t,
        "lab: repl-diskless-sync-delay 0 (redis-cli --rdb would wait 5 s more on a default server)"
    );
    Ok(t)
}

/// The runbook: BGSAVE on the primary, wait, cp dump.rdb, gzip.
async fn runbook(primary: &Addr, dir: &Path, rounds: u32) -> Result<Row> {
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let mut con = Conn::default().node(primary, T).await?;
    let data = crate::backup::bgsave::dump_path(&mut con, primary, None).await?;
    let (mut secs, mut forks, mut stored) = (Vec::new(), 0, 0);
    for r in 0..rounds {
        let before = info(primary, "stats", "total_forks").await?;
        let copy = dir.join(format!("dump-{r}.rdb"));
        let t = Instant::now();
        crate::backup::bgsave::bgsave(&mut con, primary, Duration::from_secs(600), false).await?;
        let (d, c) = (data.display().to_string(), copy.display().to_string());
        exec(Path::new("cp"), &[&d, &c]).await?;
        exec(Path::new("gzip"), &["-f", &c]).await?;
        secs.push(t.elapsed().as_secs_f64());
        forks += info(primary, "stats", "total_forks").await? - before;
        stored = std::fs::metadata(format!("{c}.gz")).map_or(0, |m| m.len());
    }
    Ok(Row {
        name: "runbook: BGSAVE on primary + cp + gzip",
        secs: median(secs),
        primary_forks: forks,
        stored,
    })
}

/// `redis-cli --rdb` against a replica, then gzip.
async fn cli_rdb(primary: &Addr, replica: &Addr, dir: &Path, rounds: u32) -> Result<Row> {
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let (mut secs, mut forks, mut stored) = (Vec::new(), 0, 0);
    for r in 0..rounds {
        let before = info(primary, "stats", "total_forks").await?;
        let f = dir.join(format!("cli-{r}.rdb")).display().to_string();
        let port = replica.port.to_string();
        let t = Instant::now();
        exec(
            Path::new("redis-cli"),
            &["-h", &replica.host, "-p", &port, "--rdb", &f],
        )
        .await?;
        exec(Path::new("gzip"), &["-f", &f]).await?;
        secs.push(t.elapsed().as_secs_f64());
        forks += info(primary, "stats", "total_forks").await? - before;
        stored = std::fs::metadata(format!("{f}.gz")).map_or(0, |m| m.len());
    }
    Ok(Row {
        name: "redis-cli --rdb (replica) + gzip",
        secs: median(secs),
        primary_forks: forks,
        stored,
    })
}
