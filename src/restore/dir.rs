//! `warden restore FILE --into dir:PATH`: put a verified backup into the data directory of a
//! stopped node, so that it loads the backup on its next start whatever its `appendonly`
//! setting.
//!
//! The appendonly trap: with `appendonly yes`, Redis loads the AOF and ignores `dump.rdb`;
//! and with the AOF moved away, Redis 7 creates an *empty* AOF on start instead of loading
//! `dump.rdb` (checked on 7.0.15). So the restore writes both `dump.rdb` and a fresh
//! multi-part AOF directory whose base file is the same RDB (a hard link where possible). The
//! previous `dump.rdb` and AOF are kept beside them as `*.before-restore-<stamp>` unless
//! `--no-checkpoint`.
//!
//! `--into docker:CONTAINER` is [`super::restore_docker`]; it shares the fetch and the AOF
//! layout ([`fetch`], [`Aof`]) with this module.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::backup::manifest::Manifest;
use crate::backup::restore_test::{locate, unpack};
use crate::backup::store::TMP_PREFIX;
use crate::backup::take::blocking;
use crate::error::{Error, Result};

/// What to restore, and how.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The stored file, `s3://…/file`, or `latest` in `dest`.
    pub target: String,
    /// Backup directory or bucket URL (for `latest`).
    pub dest: String,
    /// S3-compatible endpoint.
    pub s3_endpoint: Option<String>,
    /// `dir:PATH` or `docker:CONTAINER`.
    pub into: String,
    /// Delete the previous files instead of keeping them as checkpoints.
    pub no_checkpoint: bool,
    /// The node's `dbfilename`.
    pub dbfilename: String,
    /// The node's `appenddirname`.
    pub appenddirname: String,
    /// The node's `appendfilename`.
    pub appendfilename: String,
    /// `AUTH` password of a `docker:` node.
    pub password: Option<String>,
}

/// What was done.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    /// The backup restored.
    pub file: String,
    /// Keys in it.
    pub keys: u64,
    /// The RDB written.
    pub rdb: PathBuf,
    /// The AOF directory written (its base is the RDB).
    pub aof_dir: PathBuf,
    /// Previous files kept (renamed) or, with `--no-checkpoint`, deleted.
    pub previous: Vec<PathBuf>,
    /// Whether `previous` were kept.
    pub checkpointed: bool,
}

/// Where `--into` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `dir:PATH`: the data directory of a stopped node.
    Dir(PathBuf),
    /// `docker:CONTAINER`: a container (name or id) warden stops, fills and starts.
    Docker(String),
}

/// Parses `--into`.
pub fn parse_into(into: &str) -> Result<Target> {
    match into.split_once(':') {
        Some(("dir", p)) if !p.is_empty() => Ok(Target::Dir(PathBuf::from(p))),
        Some(("docker", c)) if !c.is_empty() => Ok(Target::Docker(c.to_string())),
        _ => Err(Error::Usage(format!(
            "--into {into}: expected dir:PATH (the data dir of a stopped node) or docker:CONTAINER"
        ))),
    }
}

/// The stored file of `spec` with its manifest, downloaded into a fresh work directory when
/// it is in object storage (the directory is removed when the returned value is dropped).
pub async fn fetch(spec: &Spec) -> Result<(tempfile::TempDir, PathBuf, Manifest)> {
    let work = tempfile::Builder::new()
        .prefix("warden-restore-")
        .tempdir()
        .map_err(Error::io(std::env::temp_dir()))?;
    let (path, manifest) = locate(
        &spec.target,
        &spec.dest,
        spec.s3_endpoint.as_deref(),
        work.path(),
    )
    .await?;
    Ok((work, path, manifest))
}

/// The file name of a stored backup, for reports.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// PIDs of running `redis-server` processes whose working directory is `dir` (Redis changes
/// into its `dir`), from `/proc`.
fn servers_in(dir: &Path) -> Vec<u32> {
    let Ok(want) = fs::canonicalize(dir) else {
        return Vec::new();
    };
    let Ok(procs) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let base = PathBuf::from(format!("/proc/{pid}"));
            let comm = fs::read_to_string(base.join("comm")).unwrap_or_default();
            comm.trim() == "redis-server"
                && fs::read_link(base.join("cwd")).is_ok_and(|cwd| cwd == want)
        })
        .collect()
}

/// Restores the backup into the data dir `dir`; see the module doc.
pub async fn run(spec: &Spec, dir: PathBuf) -> Result<Restored> {
    if !dir.is_dir() {
        return Err(Error::Io {
            path: dir,
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    if let Some(pid) = servers_in(&dir).first() {
        return Err(Error::Usage(format!(
            "a redis-server (pid {pid}) is running in {}: stop the node before restoring into its data dir",
            dir.display()
        )));
    }
    let (_work, path, manifest) = fetch(spec).await?;
    let spec = spec.clone();
    blocking("restoring", move || {
        let tmp = tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .tempfile_in(&dir)
            .map_err(Error::io(&dir))?;
        let summary = unpack(&path, &manifest, tmp.path())?;
        tmp.as_file().sync_all().map_err(Error::io(tmp.path()))?;
        let aof_tmp = build_aof(&dir, tmp.path(), &spec.appendfilename)?;
        let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string();
        let rdb = dir.join(&spec.dbfilename);
        let aof_dir = dir.join(&spec.appenddirname);
        let legacy_aof = dir.join(&spec.appendfilename);
        let mut previous = Vec::new();
        for old in [&rdb, &aof_dir, &legacy_aof] {
            if fs::symlink_metadata(old).is_err() {
                continue;
            }
            if spec.no_checkpoint {
                remove(old)?;
                previous.push(old.clone());
            } else {
                let name = old.file_name().map(|n| n.to_string_lossy().into_owned());
                let kept = dir.join(format!(
                    "{}.before-restore-{stamp}",
                    name.unwrap_or_default()
                ));
                fs::rename(old, &kept).map_err(Error::io(old))?;
                previous.push(kept);
            }
        }
        tmp.persist(&rdb).map_err(|e| Error::Io {
            path: rdb.clone(),
            source: e.error,
        })?;
        let aof_built = aof_tmp.keep();
        fs::rename(&aof_built, &aof_dir).map_err(Error::io(&aof_dir))?;
        fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(Error::io(&dir))?;
        Ok(Restored {
            file: file_name(&path),
            keys: summary.keys,
            rdb,
            aof_dir,
            previous,
            checkpointed: !spec.no_checkpoint,
        })
    })
    .await
}

fn remove(p: &Path) -> Result<()> {
    let r = if p.is_dir() {
        fs::remove_dir_all(p)
    } else {
        fs::remove_file(p)
    };
    r.map_err(Error::io(p))
}

/// The files of a multi-part AOF directory whose base is an RDB: what Redis 7 loads at
/// start with `appendonly yes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aof {
    /// The base file (the RDB itself).
    pub base: String,
    /// The empty incr file.
    pub incr: String,
    /// The manifest's file name.
    pub manifest: String,
    /// The manifest's text: the base, then the incr file, both sequence 1.
    pub manifest_text: String,
}

impl Aof {
    /// The layout for the node's `appendfilename`.
    pub fn new(appendfilename: &str) -> Aof {
        let base = format!("{appendfilename}.1.base.rdb");
        let incr = format!("{appendfilename}.1.incr.aof");
        Aof {
            manifest_text: format!("file {base} seq 1 type b\nfile {incr} seq 1 type i\n"),
            manifest: format!("{appendfilename}.manifest"),
            base,
            incr,
        }
    }
}

/// A multi-part AOF directory (under a temporary name in `dir`) whose base is `rdb`: base
/// file, empty incr file, manifest; each fsynced.
fn build_aof(dir: &Path, rdb: &Path, appendfilename: &str) -> Result<tempfile::TempDir> {
    let t = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .tempdir_in(dir)
        .map_err(Error::io(dir))?;
    let aof = Aof::new(appendfilename);
    let base_path = t.path().join(&aof.base);
    if fs::hard_link(rdb, &base_path).is_err() {
        fs::copy(rdb, &base_path).map_err(Error::io(&base_path))?;
    }
    for (name, bytes) in [
        (&aof.incr, &b""[..]),
        (&aof.manifest, aof.manifest_text.as_bytes()),
    ] {
        let p = t.path().join(name);
        fs::write(&p, bytes).map_err(Error::io(&p))?;
    }
    for entry in fs::read_dir(t.path()).map_err(Error::io(t.path()))? {
        let p = entry.map_err(Error::io(t.path()))?.path();
        fs::File::open(&p)
            .and_then(|f| f.sync_all())
            .map_err(Error::io(&p))?;
    }
    Ok(t)
}
