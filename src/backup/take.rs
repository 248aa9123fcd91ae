//! `warden backup`: find the primary and a healthy replica through the Sentinels, get a fresh
//! RDB from the replica (`SYNC` stream or `BGSAVE` + copy), and store it verified with its
//! manifest, after waiting up to `--catch-up` for the replica to reach the primary's offset
//! ([`freshness`]). The primary is never asked to fork unless `--allow-primary` is given and no
//! replica is fit.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::mpsc;

use crate::addr::Addr;
use crate::backup::compress::Compression;
use crate::backup::manifest::{self, Counts, Manifest, Source};
use crate::backup::store::{self, Staged};
use crate::backup::{bgsave, container, freshness, replica, sync};
use crate::client::{self, Timeouts};
use crate::conn::Conn;

use crate::error::{Error, Result};
use crate::rdb::Options;
use crate::sentinel::topology;
use crate::util::blocking;

/// Timeouts on a data node (a `CONFIG GET` or `INFO` may wait behind a fork).
const NODE: Timeouts = Timeouts {
    connect: Duration::from_secs(2),
    response: Duration::from_secs(10),
};

/// How the RDB is obtained from the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// Replication protocol (`SYNC`), like `redis-cli --rdb`: needs no access to the node's disk.
    Stream,
    /// `BGSAVE` on the node, then copy its `dump.rdb` from `--data-dir` (or its `CONFIG GET dir`),
    /// or with `--from-container` out of its container through the Docker API.
    Bgsave,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Stream => "stream",
            Method::Bgsave => "bgsave",
        }
    }
}

/// Everything a backup run needs.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// Sentinels to ask.
    pub sentinels: Vec<Addr>,
    /// Master name.
    pub master: String,
    /// Local directory the backup is written to.
    pub dest: PathBuf,
    /// Stream or bgsave.
    pub method: Method,
    /// Where the node's `dump.rdb` is (bgsave), if not its `CONFIG GET dir`.
    pub data_dir: Option<PathBuf>,
    /// Compression of the stored file.
    pub compression: Compression,
    /// Fall back to the primary when no replica is healthy.
    pub allow_primary: bool,
    /// How to connect to the Sentinels and the nodes.
    pub conn: Conn,
    /// Glob counted into the manifest's `keys_matching`.
    pub pattern: String,
    /// Deadline for the snapshot (BGSAVE wait).
    pub timeout: Duration,
    /// File names already used at other destinations (a new name must avoid them too).
    pub taken: Vec<String>,
    /// Show a progress line on stderr during the transfer.
    pub progress: bool,
    /// bgsave: copy the RDB out of the node's container through the Docker API.
    pub from_container: bool,
    /// Longest wait for the replica to reach the primary's offset at the start
    /// ([`freshness`]); zero only measures the lag.
    pub catch_up: Duration,
}

/// The node a backup is taken from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The node.
    pub source: Addr,
    /// Whether it is a replica (else the primary, with `--allow-primary`).
    pub replica: bool,
    /// The primary per the Sentinels.
    pub primary: Addr,
}

/// Asks the Sentinels for the primary and its replicas and picks the source node.
pub(crate) async fn plan(spec: &Spec) -> Result<Plan> {
    let mut last = String::from("no Sentinel given");
    let mut view = None;
    for s in &spec.sentinels {
        let attempt = async {
            let mut con = spec.conn.sentinel(s, Timeouts::CONTROL).await?;
            let m = topology::master(&mut con, s, &spec.master).await?;
            let r = topology::replicas(&mut con, s, &spec.master).await?;
            Ok::<_, Error>((m, r))
        };
        match attempt.await {
            Ok(v) => {
                view = Some(v);
                break;
            }
            Err(
                e @ (Error::UnknownMaster { .. }
                | Error::Auth { .. }
                | Error::NoPerm { .. }
                | Error::Tls { .. }),
            ) => {
                return Err(e);
            }
            Err(e) => last = e.to_string(),
        }
    }
    let (master, replicas) = view.ok_or_else(|| Error::NoSentinel {
        sentinels: topology::join(&spec.sentinels),
        last,
    })?;
    let mut why = match replica::candidates(&replicas) {
        Ok(fit) => {
            let mut why = Vec::new();
            for r in fit {
                // The Sentinel's view can be seconds old: ask the replica itself.
                match confirm_replica(&spec.conn, &r.addr).await {
                    Ok(()) => {
                        return Ok(Plan {
                            source: r.addr.clone(),
                            replica: true,
                            primary: master.addr,
                        });
                    }
                    // Wrong credentials or a missing permission are not an unhealthy
                    // replica: --allow-primary would not help.
                    Err(e @ (Error::Auth { .. } | Error::NoPerm { .. } | Error::Tls { .. })) => {
                        return Err(e);
                    }
                    Err(e) => why.push(format!("{}: {e}", r.addr)),
                }
            }
            why.join("; ")
        }
        Err(why) => why,
    };
    if spec.allow_primary {
        return Ok(Plan {
            source: master.addr.clone(),
            replica: false,
            primary: master.addr,
        });
    }
    if why.is_empty() {
        why = "none".into();
    }
    Err(Error::NoHealthyReplica {
        master: spec.master.clone(),
        detail: why,
    })
}

async fn confirm_replica(conn: &Conn, addr: &Addr) -> Result<()> {
    let mut con = conn.node(addr, NODE).await?;
    let rep = client::replication(&mut con, addr).await?;
    if rep.is_master() {
        return Err(Error::Usage("it says it is a master".into()));
    }
    if !rep.link_up {
        return Err(Error::Usage("its link to the master is down".into()));
    }
    Ok(())
}

/// Takes one backup into `spec.dest`; returns its manifest and the stored file's path.
pub(crate) async fn run(spec: &Spec) -> Result<(Manifest, PathBuf)> {
    let plan = plan(spec).await?;
    std::fs::create_dir_all(&spec.dest).map_err(Error::io(&spec.dest))?;
    let started = Instant::now();
    let created = Utc::now();
    let fresh = if plan.replica {
        Some(freshness::catch_up(&spec.conn, &plan.source, &plan.primary, spec.catch_up).await?)
    } else {
        None
    };
    let mut con = spec.conn.node(&plan.source, NODE).await?;
    let offset = client::replication(&mut con, &plan.source).await?.offset;
    let opts = Options {
        pattern: spec.pattern.clone(),
        now_ms: u64::try_from(created.timestamp_millis()).unwrap_or(0),
    };
    let staged = match spec.method {
        Method::Stream => stream(&plan.source, spec, opts).await?,
        Method::Bgsave => {
            bgsave::bgsave(&mut con, &plan.source, spec.timeout, spec.progress).await?;
            let path = bgsave::dump_path(&mut con, &plan.source, spec.data_dir.clone()).await?;
            if spec.from_container {
                out_of_container(&plan.source, &path, spec, opts).await?
            } else {
                let (dest, c) = (spec.dest.clone(), spec.compression);
                blocking("staging the backup", move || {
                    let file = std::fs::File::open(&path).map_err(Error::io(&path))?;
                    let what = path.display().to_string();
                    store::stage(std::io::BufReader::new(file), &what, &dest, c, &opts)
                })
                .await?
            }
        }
    };
    let file = free_name(spec, created);
    let manifest = Manifest {
        file,
        master: spec.master.clone(),
        created,
        compression: spec.compression,
        stored: staged.stored.clone(),
        raw: staged.raw.clone(),
        counts: Counts::from_summary(&staged.summary, &spec.pattern),
        source: Source {
            addr: plan.source.clone(),
            role: if plan.replica { "replica" } else { "primary" }.into(),
            primary: plan.primary.clone(),
            method: spec.method.name().into(),
            master_repl_offset: offset,
            freshness: fresh,
        },
        duration_ms: started.elapsed().as_millis() as u64,
        warden_version: env!("CARGO_PKG_VERSION").into(),
    };
    let path = staged.commit(&spec.dest, &manifest)?;
    Ok((manifest, path))
}

/// Streams the `dump.rdb` at `path` out of the container `addr` names, through the Docker
/// API (a tar of one file), into the stager.
async fn out_of_container(addr: &Addr, path: &Path, spec: &Spec, opts: Options) -> Result<Staged> {
    let docker = crate::docker::connect().await?;
    let c = docker.by_addr(addr).await?;
    let from = path.display().to_string();
    let (tx, rx) = mpsc::channel(sync::DEPTH);
    let what = format!("{from} in container {}", c.name);
    let (dest, comp) = (spec.dest.clone(), spec.compression);
    let consumer = tokio::task::spawn_blocking(move || {
        let mut tar = tar::Archive::new(sync::ChannelReader::new(rx));
        let bad =
            |e: std::io::Error| Error::internal(format!("{what}: not a tar of one file: {e}"));
        let mut entries = tar.entries().map_err(bad)?;
        let rdb = entries
            .next()
            .ok_or_else(|| bad(std::io::ErrorKind::UnexpectedEof.into()))?
            .map_err(bad)?;
        store::stage(rdb, &what, &dest, comp, &opts)
    });
    let sent = container::stream_out(&docker, &c.id, &from, tx).await;
    let staged = consumer.await.map_err(|e| Error::Task {
        what: "staging the backup".into(),
        detail: e.to_string(),
    })?;
    sent?;
    staged
}

/// `redis-<master>-<stamp>[-n]<suffix>` not yet used in `spec.dest` nor in `spec.taken`.
fn free_name(spec: &Spec, created: chrono::DateTime<Utc>) -> String {
    let used = |f: &str| {
        let m = manifest::manifest_name(f);
        spec.dest.join(f).exists()
            || spec.dest.join(&m).exists()
            || spec.taken.iter().any(|t| *t == f || *t == m)
    };
    (1..)
        .map(|n| {
            let base = manifest::base_name(&spec.master, created, n);
            format!("{base}{}", spec.compression.suffix())
        })
        .find(|f| !used(f))
        .unwrap_or_default()
}

async fn stream(addr: &Addr, spec: &Spec, opts: Options) -> Result<Staged> {
    let (tx, rx) = mpsc::channel(sync::DEPTH);
    let what = format!("SYNC from {addr}");
    let (dest, c) = (spec.dest.clone(), spec.compression);
    let consumer = tokio::task::spawn_blocking(move || {
        store::stage(sync::ChannelReader::new(rx), &what, &dest, c, &opts)
    });
    let fetched = sync::fetch(&spec.conn, addr, Duration::from_secs(2), tx, spec.progress).await;
    let staged = consumer.await.map_err(|e| Error::Task {
        what: "staging the backup".into(),
        detail: e.to_string(),
    })?;
    fetched?;
    staged
}
