//! `warden dr-drill SCENARIO.toml`: a timed restore drill. Find the newest stored backup
//! (local or object storage), judge its age against `backup_rpo`, then time each step of a
//! restore — download, checksum, verify (decompress + RDB walk + raw sha256 + key count),
//! load into a fresh node (a process or a container) or into a process lab's primary after
//! killing it, and the first `PING`/`GET` served — and check keys and TTLs against the
//! manifest. The restore RTO is the sum of the steps ([`report`], pure); the scenario is
//! [`scenario`] (pure).
//!
//! **Architecture Invariant:** every step is timed with a monotonic clock around exactly
//! the work it names, and nothing else runs between two steps, so the reported RTO is the
//! sum of the reported steps.

pub(crate) mod report;
pub(crate) mod scenario;

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::addr::Addr;
use crate::backup::fetch::{check_stored, locate, unpack_checked};
use crate::backup::manifest::Manifest;
use crate::client::{self, Timeouts};
use crate::conn::Conn;
use crate::error::{Error, Result};
use crate::lab::Lab;
use crate::lab::docker::default_image;
use crate::rdb::{self, Options, Summary};
use crate::restore::scratch::{Scratch, connect, wait_loaded};
use crate::restore::scratch_docker::ScratchContainer;
use crate::util::{blocking, now_ms};
use report::{Check, Measured, Report, Step};
use scenario::{DrScenario, RestoreInto, ScratchBackend};

/// Reads and validates a scenario file.
pub(crate) fn load(path: &Path) -> Result<DrScenario> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    DrScenario::parse(&text).map_err(|message| Error::Scenario {
        path: path.to_path_buf(),
        message,
    })
}

/// The node the backup was loaded into; a scratch node is removed on drop.
enum Node {
    Process(Scratch),
    Container(ScratchContainer),
    Lab(Addr),
}

impl Node {
    fn addr(&self) -> &Addr {
        match self {
            Node::Process(s) => &s.addr,
            Node::Container(c) => &c.addr,
            Node::Lab(a) => a,
        }
    }
}

/// Times `f`, pushing the step.
fn timed(steps: &mut Vec<Step>, name: &str, scales: bool, started: Instant) {
    steps.push(Step {
        name: name.into(),
        ms: started.elapsed().as_secs_f64() * 1000.0,
        scales,
    });
}

/// Runs the drill.
pub(crate) async fn run(s: &DrScenario) -> Result<Report> {
    let endpoint = s
        .backup
        .s3_endpoint
        .clone()
        .or_else(|| std::env::var("WARDEN_S3_ENDPOINT").ok());
    // lab-primary: open the lab and find its primary before anything is timed
    let lab = match s.restore.into {
        RestoreInto::LabPrimary => {
            let dir = s.restore.lab_dir.clone().unwrap_or_default();
            let lab = Lab::load(&dir)?;
            let conn = Conn::build(&crate::lab::recorded_conn(&dir)?)?;
            let primary = lab_primary(&lab, &conn).await?;
            Some((lab, primary, conn))
        }
        RestoreInto::Scratch => None,
    };
    let work = tempfile::Builder::new()
        .prefix("warden-dr-drill-")
        .tempdir()
        .map_err(Error::io(std::env::temp_dir()))?;
    let mut steps = Vec::new();

    let t = Instant::now();
    let (path, manifest) = locate(
        &s.backup.target,
        &s.backup.dest,
        endpoint.as_deref(),
        work.path(),
    )
    .await?;
    timed(&mut steps, "download", true, t);
    let age_ms =
        u64::try_from(chrono::Utc::now().timestamp_millis() - manifest.created.timestamp_millis())
            .unwrap_or(0);

    let t = Instant::now();
    let (p, m) = (path.clone(), manifest.clone());
    blocking("checking the checksum", move || check_stored(&p, &m)).await?;
    timed(&mut steps, "checksum", true, t);

    let t = Instant::now();
    let rdb_dir = work.path().join("node");
    std::fs::create_dir_all(&rdb_dir).map_err(Error::io(&rdb_dir))?;
    let rdb_path = rdb_dir.join("dump.rdb");
    let (p, m, out) = (path.clone(), manifest.clone(), rdb_path.clone());
    let summary = blocking("verifying", move || unpack_checked(&p, &m, &out)).await?;
    timed(&mut steps, "verify", true, t);

    let t = Instant::now();
    let (node, into) = match lab {
        Some((mut lab, primary, conn)) => {
            let into = format!("lab primary {primary}");
            load_lab_primary(
                &conn,
                &mut lab,
                &primary,
                &rdb_path,
                &path,
                &summary,
                s.restore.timeout,
            )
            .await?;
            (Node::Lab(primary), into)
        }
        None => match s.restore.backend {
            ScratchBackend::Process => {
                let sc =
                    Scratch::start(&s.restore.redis_server, &rdb_dir, s.restore.timeout).await?;
                let into = format!("scratch process {}", sc.addr);
                (Node::Process(sc), into)
            }
            ScratchBackend::Docker => {
                let image = s.restore.image.clone().unwrap_or_else(default_image);
                let sc = ScratchContainer::start(&image, &rdb_dir, s.restore.timeout).await?;
                let into = format!("scratch container {}", sc.addr);
                (Node::Container(sc), into)
            }
        },
    };
    timed(&mut steps, "load", true, t);

    let t = Instant::now();
    first_served(node.addr(), s.restore.timeout).await?;
    timed(&mut steps, "first_served", false, t);

    let checks = check_keys(node.addr(), &rdb_path, &manifest, &summary).await?;
    drop(node);
    let measured = Measured {
        scenario: s.name.clone(),
        file: crate::restore::file_name(&path),
        into,
        backup_age_ms: age_ms,
        raw_bytes: manifest.raw.bytes,
        stored_bytes: manifest.stored.bytes,
        steps,
        checks,
    };
    let ms = |d: Duration| d.as_millis() as u64;
    Ok(report::judge(
        measured,
        ms(s.targets.restore_rto),
        ms(s.targets.backup_rpo),
        s.expect_bytes(),
    ))
}

/// The lab node whose `INFO replication` says master.
async fn lab_primary(lab: &Lab, conn: &Conn) -> Result<Addr> {
    for n in lab.nodes() {
        let Ok(mut c) = conn.node(&n, Timeouts::CONTROL).await else {
            continue;
        };
        if client::replication(&mut c, &n)
            .await
            .is_ok_and(|r| r.is_master())
        {
            return Ok(n);
        }
    }
    Err(Error::LabState {
        dir: lab.dir().to_path_buf(),
        message: "no node of the lab says it is the primary".into(),
    })
}

/// The `dir` line of a node's config file.
fn data_dir(conf: &Path) -> Result<PathBuf> {
    let text = std::fs::read_to_string(conf).map_err(Error::io(conf))?;
    text.lines()
        .find_map(|l| l.strip_prefix("dir "))
        .map(|d| PathBuf::from(d.trim().trim_matches('"')))
        .ok_or_else(|| Error::Usage(format!("{}: no `dir` line", conf.display())))
}

/// Runbook §5.2 on a process lab: kill the primary, put the verified RDB into its data dir
/// (as `restore --into dir:` does: RDB + an AOF based on it), start it, wait until loaded.
async fn load_lab_primary(
    conn: &Conn,
    lab: &mut Lab,
    primary: &Addr,
    rdb: &Path,
    stored: &Path,
    summary: &Summary,
    timeout: Duration,
) -> Result<()> {
    let member = lab.member(primary)?.clone();
    let dir = data_dir(&member.conf)?;
    lab.signal(primary, Signal::SIGKILL)?;
    let deadline = Instant::now() + timeout;
    while lab.is_running(primary)? || !crate::restore::dir::servers_gone(&dir) {
        if Instant::now() > deadline {
            return Err(Error::Timeout {
                what: format!("the lab primary {primary} to exit after SIGKILL"),
                waited: timeout,
                detail: String::new(),
            });
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let spec = crate::restore::Spec {
        target: stored.display().to_string(),
        dest: String::new(),
        s3_endpoint: None,
        into: format!("dir:{}", dir.display()),
        no_checkpoint: false,
        dbfilename: "dump.rdb".into(),
        appenddirname: "appendonlydir".into(),
        appendfilename: "appendonly.aof".into(),
        conn: conn.clone(),
        for_server: None,
    };
    let (rdb, file, keys) = (
        rdb.to_path_buf(),
        crate::restore::file_name(stored),
        summary.keys,
    );
    let d = dir.clone();
    blocking("restoring into the lab primary", move || {
        crate::restore::dir::install_unpacked(&d, &rdb, &spec, file, keys)
    })
    .await?;
    lab.restart(primary)?;
    let what = format!("the lab primary {primary} did not finish loading");
    let hint = format!("see {}", member.log.display());
    wait_loaded(conn, primary, timeout, &what, &hint, || {
        std::future::ready(Ok(()))
    })
    .await
}

/// Waits for the first `PING` and `GET` answered without an error (a node still loading
/// answers `-LOADING`).
async fn first_served(addr: &Addr, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match serve_once(addr).await {
            Ok(()) => return Ok(()),
            Err(e) => e.to_string(),
        };
        if Instant::now() > deadline {
            return Err(Error::Timeout {
                what: format!("{addr} to serve PING and GET"),
                waited: timeout,
                detail: last,
            });
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn serve_once(addr: &Addr) -> Result<()> {
    let mut con = connect(addr).await?;
    let _: String = client::query(&mut con, addr, &redis::cmd("PING")).await?;
    let key: Option<Vec<u8>> = client::query(&mut con, addr, &redis::cmd("RANDOMKEY")).await?;
    let key = key.unwrap_or_else(|| b"warden:dr-drill".to_vec());
    // a key of another type answers WRONGTYPE: still an answer from a loaded node
    let r: redis::RedisResult<redis::Value> =
        redis::cmd("GET").arg(&key).query_async(&mut con).await;
    match r {
        Err(e) if e.code() == Some("LOADING") || e.is_io_error() => {
            Err(Error::Usage(e.to_string()))
        }
        _ => Ok(()),
    }
}

/// `DBSIZE` and the keys with a TTL (`INFO keyspace` `expires=`) against the manifest and
/// the RDB: equal, or short by no more than the keys whose TTL ran out since the backup
/// was verified (recounted now from the unpacked RDB).
async fn check_keys(
    addr: &Addr,
    rdb_path: &Path,
    m: &Manifest,
    at_verify: &Summary,
) -> Result<Vec<Check>> {
    let mut con = connect(addr).await?;
    let dbsize: u64 = client::query(&mut con, addr, &redis::cmd("DBSIZE")).await?;
    let text: String = client::query(&mut con, addr, redis::cmd("INFO").arg("keyspace")).await?;
    let expires: u64 = text
        .lines()
        .filter(|l| l.starts_with("db"))
        .filter_map(|l| l.split(',').find_map(|f| f.strip_prefix("expires=")))
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    let path = rdb_path.to_path_buf();
    let pattern = m.counts.pattern.clone();
    let now = blocking("recounting", move || {
        let f = std::fs::File::open(&path).map_err(Error::io(&path))?;
        Ok(rdb::verify(
            BufReader::new(f),
            &Options {
                pattern,
                now_ms: now_ms(),
            },
        ))
    })
    .await?;
    let (live_then, live_now) = (
        at_verify.keys - at_verify.keys_expired,
        now.keys - now.keys_expired,
    );
    let ttl_then = at_verify.keys_with_expiry - at_verify.keys_expired;
    let ttl_now = now.keys_with_expiry - now.keys_expired;
    Ok(vec![
        Check {
            name: "keys".into(),
            ok: (live_now..=live_then).contains(&dbsize) && at_verify.keys == m.counts.keys,
            detail: format!(
                "DBSIZE {dbsize}; manifest {} keys ({} live at verify, {} now)",
                m.counts.keys, live_then, live_now
            ),
        },
        Check {
            name: "ttls".into(),
            ok: (ttl_now..=ttl_then).contains(&expires)
                && at_verify.keys_with_expiry == m.counts.keys_with_expiry,
            detail: format!(
                "{expires} keys with a TTL served; manifest {} ({} live at verify, {} now)",
                m.counts.keys_with_expiry, ttl_then, ttl_now
            ),
        },
    ])
}
