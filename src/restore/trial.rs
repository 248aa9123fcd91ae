//! `warden restore-test`: prove a stored backup restores. Check the stored sha256 against
//! the manifest first, unpack (verifying the RDB and its raw sha256 in the same pass), refuse
//! a file the scratch binary would not load (`restore::loads`), load it
//! into a scratch `redis-server` (process or container), compare counts, spot-check sampled session keys, optionally
//! hand each sampled value to a check command, tear down.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::io::AsyncWriteExt;

use crate::addr::Addr;
use crate::backup::fetch::{fetch, live_now, unpack};
use crate::error::{Error, Result};
use crate::lab::Backend;
use crate::restore::checks::Observed;
use crate::restore::loads;
use crate::restore::scratch::{Scratch, connect};
use crate::restore::scratch_docker::ScratchContainer;
use crate::util::blocking;

/// What to test and how.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// The stored file (its manifest beside it), or `latest` in `dest`.
    pub target: String,
    /// Backup directory or `s3://bucket/prefix` (for `latest`).
    pub dest: String,
    /// S3-compatible endpoint for `s3://` locations.
    pub s3_endpoint: Option<String>,
    /// Session keys to spot-check.
    pub sample: usize,
    /// Shell command each sampled value is fed to on stdin; non-zero exit = failure.
    pub check_cmd: Option<String>,
    /// The `redis-server` binary.
    pub redis_server: PathBuf,
    /// Longest wait for the scratch server to load.
    pub timeout: Duration,
    /// A scratch `redis-server` process, or a container from `image`.
    pub backend: Backend,
    /// The Redis image (docker backend; never pulled).
    pub image: String,
}

/// The scratch server a restore test loads the backup into; removed on drop.
enum Server {
    Process(Scratch),
    Container(ScratchContainer),
}

impl Server {
    fn addr(&self) -> &Addr {
        match self {
            Server::Process(s) => &s.addr,
            Server::Container(c) => &c.addr,
        }
    }
}

/// Runs the whole test; the caller turns the observations into checks.
pub(crate) async fn run(spec: &Spec) -> Result<Observed> {
    let endpoint = spec.s3_endpoint.as_deref();
    let prefix = "warden-restore-test-";
    let (work, path, manifest) = fetch(&spec.target, &spec.dest, endpoint, prefix).await?;
    let dir = work.path().to_path_buf();
    let (p, m, d) = (path.clone(), manifest.clone(), dir.clone());
    let before = blocking("unpacking", move || unpack(&p, &m, &d.join("dump.rdb"))).await?;
    // A scratch process is refused a file its binary would not load (a scratch container's
    // image says its version only once it runs: its load is the test).
    if spec.backend == Backend::Process {
        let binary = crate::lab::process::find_redis_server(&spec.redis_server)?;
        let server = loads::of_binary(&binary).await?;
        loads::require(&path.display().to_string(), &before, server)?;
    }
    let started = Instant::now();
    let server = match spec.backend {
        Backend::Process => {
            Server::Process(Scratch::start(&spec.redis_server, &dir, spec.timeout).await?)
        }
        Backend::Docker => {
            Server::Container(ScratchContainer::start(&spec.image, &dir, spec.timeout).await?)
        }
    };
    let load_ms = started.elapsed().as_millis() as u64;
    let addr = server.addr().clone();
    let mut con = connect(&addr).await?;
    let dbsize: u64 = crate::client::query(&mut con, &addr, &redis::cmd("DBSIZE")).await?;
    let live_before = before.keys - before.keys_expired;
    let live_after = if dbsize == live_before {
        live_before
    } else {
        live_now(dir.join("dump.rdb"), manifest.counts.pattern.clone()).await?
    };
    let pattern = manifest.counts.pattern.clone();
    let (found, sample) = scan(&mut con, &addr, &pattern, spec.sample).await?;
    let mut failures = Vec::new();
    let mut rejected = spec.check_cmd.as_ref().map(|_| 0u64);
    for key in &sample {
        let value: Option<Vec<u8>> =
            crate::client::query(&mut con, &addr, redis::cmd("GET").arg(key)).await?;
        let pttl: i64 = crate::client::query(&mut con, &addr, redis::cmd("PTTL").arg(key)).await?;
        let name = String::from_utf8_lossy(key);
        let Some(value) = value else {
            failures.push(format!("{name}: GET returned nothing"));
            continue;
        };
        if pttl <= 0 {
            failures.push(format!("{name}: PTTL {pttl}"));
        }
        if let (Some(cmd), Some(n)) = (&spec.check_cmd, rejected.as_mut())
            && !check_value(cmd, &value).await?
        {
            *n += 1;
        }
    }
    drop(con);
    drop(server);
    Ok(Observed {
        file: path.display().to_string(),
        keys_in_backup: before.keys,
        live_before,
        live_after,
        dbsize,
        pattern,
        sessions_in_backup: manifest.counts.keys_matching,
        sessions_found: found,
        sampled: sample.len() as u64,
        sample_failures: failures,
        check_cmd_failures: rejected,
        load_ms,
    })
}

/// `SCAN … MATCH pattern` over the whole keyspace: the count, and a uniform reservoir sample
/// of `n` keys. Never `KEYS`.
async fn scan(
    con: &mut crate::conn::Con,
    addr: &Addr,
    pattern: &str,
    n: usize,
) -> Result<(u64, Vec<Vec<u8>>)> {
    let mut rng = rand::rng();
    let mut cursor = 0u64;
    let mut seen = 0u64;
    let mut sample = Vec::with_capacity(n);
    loop {
        let (next, keys): (u64, Vec<Vec<u8>>) = crate::client::query(
            con,
            addr,
            redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(1000),
        )
        .await?;
        for k in keys {
            seen += 1;
            if sample.len() < n {
                sample.push(k);
            } else {
                let j = rng.random_range(0..seen);
                if (j as usize) < n {
                    sample[j as usize] = k;
                }
            }
        }
        if next == 0 {
            return Ok((seen, sample));
        }
        cursor = next;
    }
}

/// Feeds `value` to `sh -c cmd` on stdin; true when it exits 0 within 30 s.
async fn check_value(cmd: &str, value: &[u8]) -> Result<bool> {
    let spawn_err = |source| Error::Spawn {
        what: format!("check command `{cmd}`"),
        source,
    };
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(spawn_err)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its input closes the pipe: not an error here.
        let _ = stdin.write_all(value).await;
    }
    match tokio::time::timeout(Duration::from_secs(30), child.wait()).await {
        Ok(status) => Ok(status.map_err(spawn_err)?.success()),
        Err(_) => Ok(false),
    }
}
