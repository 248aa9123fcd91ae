//! `warden restore-test`: prove a stored backup restores. Check the stored sha256 against
//! the manifest first, unpack (verifying the RDB and its raw sha256 in the same pass), load it
//! into a scratch `redis-server` (process or container), compare counts, spot-check sampled session keys, optionally
//! hand each sampled value to a check command, tear down.

use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::io::AsyncWriteExt;

use crate::addr::Addr;
use crate::backup::checks::Observed;
use crate::backup::cmd::now_ms;
use crate::backup::compress::Compression;
use crate::backup::manifest::{Manifest, manifest_name};
use crate::backup::rdb::{self, Options, Summary};
use crate::backup::remote::{Dest, Remote, split_object_url};
use crate::backup::scratch::{Scratch, connect};
use crate::backup::scratch_docker::ScratchContainer;
use crate::backup::store;
use crate::backup::take::blocking;
use crate::backup::tee::{self, Tee};
use crate::error::{Error, Result};
use crate::lab::Backend;

/// What to test and how.
#[derive(Debug, Clone)]
pub struct Spec {
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

/// The stored file and its manifest for `target`.
pub fn resolve(target: &str, dest: &Path) -> Result<(PathBuf, Manifest)> {
    if target == "latest" {
        let entry = store::list(dest)?.pop().ok_or_else(|| Error::Manifest {
            path: dest.to_path_buf(),
            message: "no backup with a manifest in this directory".into(),
        })?;
        return Ok((entry.path, entry.manifest));
    }
    let path = PathBuf::from(target);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::Usage(format!("{target}: not a file name")))?;
    let mpath = path.with_file_name(manifest_name(name));
    if !path.is_file() {
        return Err(Error::Io {
            path,
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    let manifest = store::read_manifest(&mpath)?;
    if manifest.file != name {
        return Err(Error::Manifest {
            path: mpath,
            message: format!("describes {}, not {name}", manifest.file),
        });
    }
    Ok((path, manifest))
}

/// The stored file `target` (a path, `s3://…/file`, `gs://…/file`, or `latest` in `dest`), downloaded into
/// `work` when it is in object storage, and its manifest.
pub async fn locate(
    target: &str,
    dest: &str,
    endpoint: Option<&str>,
    work: &Path,
) -> Result<(PathBuf, Manifest)> {
    if let Some((dir, file)) = split_object_url(target) {
        let r = Remote::open(&dir, endpoint)?;
        let local = r.download(file, work).await?;
        return resolve(&local.display().to_string(), work);
    }
    match Dest::parse(dest) {
        Dest::Bucket(url) if target == "latest" => {
            let r = Remote::open(&url, endpoint)?;
            let newest = r.list().await?.pop().ok_or_else(|| Error::Manifest {
                path: PathBuf::from(&url),
                message: "no backup with a manifest there".into(),
            })?;
            let local = r.download(&newest.file, work).await?;
            resolve(&local.display().to_string(), work)
        }
        Dest::Bucket(_) | Dest::Local(_) => resolve(target, Path::new(dest)),
    }
}

/// Checks the stored sha256, then unpacks into `out_path` while verifying the RDB (as of
/// now) and its raw sha256. Blocking.
pub fn unpack(path: &Path, m: &Manifest, out_path: &Path) -> Result<Summary> {
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let stored = tee::digest(BufReader::with_capacity(1 << 16, file)).map_err(Error::io(path))?;
    if stored.sha256 != m.stored.sha256 {
        return Err(Error::ChecksumMismatch {
            path: path.to_path_buf(),
            expected: m.stored.sha256.clone(),
            actual: stored.sha256,
        });
    }
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let reader = Compression::from_path(path)
        .decoder(BufReader::with_capacity(1 << 16, file))
        .map_err(Error::io(path))?;
    let out = std::fs::File::create(out_path).map_err(Error::io(out_path))?;
    let mut t = Tee::new(reader, BufWriter::with_capacity(1 << 16, out));
    let opts = Options {
        pattern: m.counts.pattern.clone(),
        now_ms: now_ms(),
    };
    let summary = rdb::verify(&mut t, &opts);
    if let Some(e) = t.side_error() {
        return Err(Error::io(out_path)(e));
    }
    if let Some(p) = &summary.problem {
        return Err(Error::RdbInvalid {
            what: path.display().to_string(),
            problem: p.to_string(),
        });
    }
    let (mut out, raw) = t.finish().map_err(|e| Error::RdbInvalid {
        what: path.display().to_string(),
        problem: format!("after the RDB's end: {e}"),
    })?;
    out.flush().map_err(Error::io(out_path))?;
    if raw.sha256 != m.raw.sha256 {
        return Err(Error::ChecksumMismatch {
            path: path.to_path_buf(),
            expected: format!("raw {}", m.raw.sha256),
            actual: format!("raw {}", raw.sha256),
        });
    }
    if summary.keys != m.counts.keys {
        return Err(Error::Manifest {
            path: path.to_path_buf(),
            message: format!(
                "the RDB holds {} keys, the manifest says {}",
                summary.keys, m.counts.keys
            ),
        });
    }
    Ok(summary)
}

/// Keys of the unpacked RDB at `rdb` not expired as of now: keys whose TTL ran out since
/// the load began are not a failure.
pub async fn live_now(rdb: PathBuf, pattern: String) -> Result<u64> {
    let after = blocking("recounting", move || {
        let f = std::fs::File::open(&rdb).map_err(Error::io(&rdb))?;
        let opts = Options {
            pattern,
            now_ms: now_ms(),
        };
        Ok(rdb::verify(BufReader::new(f), &opts))
    })
    .await?;
    Ok(after.keys - after.keys_expired)
}

/// Runs the whole test; the caller turns the observations into checks.
pub async fn run(spec: &Spec) -> Result<Observed> {
    let work = tempfile::Builder::new()
        .prefix("warden-restore-test-")
        .tempdir()
        .map_err(Error::io(std::env::temp_dir()))?;
    let dir = work.path().to_path_buf();
    let (path, manifest) =
        locate(&spec.target, &spec.dest, spec.s3_endpoint.as_deref(), &dir).await?;
    let (p, m, d) = (path.clone(), manifest.clone(), dir.clone());
    let before = blocking("unpacking", move || unpack(&p, &m, &d.join("dump.rdb"))).await?;
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
    con: &mut redis::aio::MultiplexedConnection,
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
