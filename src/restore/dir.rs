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
//! The restored files get the owner and mode of the files they replace, or else of the data
//! dir ([`Plan`]): a restore run as root leaves files the node's own user can open.
//!
//! `--into docker:CONTAINER` is [`super::docker`]; it shares the fetch ([`super::fetch()`]) and
//! the AOF layout ([`Aof`]) with this module.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::backup::aof::Aof;
use crate::backup::fetch::unpack;
use crate::backup::store::tmp_prefix;
use crate::error::{Error, Result};
use crate::restore::loads;
use crate::restore::owner::Plan;
use crate::restore::{Spec, fetch, file_name};
use crate::util::blocking;

/// What was done.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Restored {
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
pub(crate) async fn run(spec: &Spec, dir: PathBuf) -> Result<Restored> {
    check_stopped(&dir)?;
    let (_work, path, manifest) = fetch(spec).await?;
    let spec = spec.clone();
    blocking("restoring", move || {
        let tmp = tempfile::Builder::new()
            .prefix(&tmp_prefix())
            .tempfile_in(&dir)
            .map_err(Error::io(&dir))?;
        let summary = unpack(&path, &manifest, tmp.path())?;
        if let Some(server) = spec.for_server {
            loads::require(&path.display().to_string(), &summary, server)?;
        }
        install(&dir, tmp, &spec, file_name(&path), summary.keys)
    })
    .await
}

/// Whether no running `redis-server` works in `dir` any more.
pub(crate) fn servers_gone(dir: &Path) -> bool {
    servers_in(dir).is_empty()
}

/// Fails unless `dir` is a directory no running `redis-server` works in.
pub(crate) fn check_stopped(dir: &Path) -> Result<()> {
    if !dir.is_dir() {
        return Err(Error::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    if let Some(pid) = servers_in(dir).first() {
        return Err(Error::Usage(format!(
            "a redis-server (pid {pid}) is running in {}: stop the node before restoring into its data dir",
            dir.display()
        )));
    }
    Ok(())
}

/// Installs an RDB already unpacked and verified (at `rdb`, e.g. by `dr-drill`) into the
/// stopped node's data dir `dir`: copied in under a temporary name, then placed like
/// [`run`] does. Blocking.
pub(crate) fn install_unpacked(
    dir: &Path,
    rdb: &Path,
    spec: &Spec,
    file: String,
    keys: u64,
) -> Result<Restored> {
    check_stopped(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&tmp_prefix())
        .tempfile_in(dir)
        .map_err(Error::io(dir))?;
    let mut src = fs::File::open(rdb).map_err(Error::io(rdb))?;
    std::io::copy(&mut src, tmp.as_file_mut()).map_err(Error::io(tmp.path()))?;
    install(dir, tmp, spec, file, keys)
}

/// Puts the verified RDB `tmp` (a temporary file in `dir`) in place as the node's RDB and
/// the base of a fresh AOF directory, keeping or deleting the previous files. Blocking.
fn install(
    dir: &Path,
    tmp: tempfile::NamedTempFile,
    spec: &Spec,
    file: String,
    keys: u64,
) -> Result<Restored> {
    tmp.as_file().sync_all().map_err(Error::io(tmp.path()))?;
    let rdb = dir.join(&spec.dbfilename);
    let aof_dir = dir.join(&spec.appenddirname);
    let aof = Aof::new(&spec.appendfilename);
    let owners = Plan::look(dir, &rdb, &aof_dir, Path::new(&aof.manifest))?;
    owners.rdb.apply(tmp.path())?;
    let aof_tmp = build_aof(dir, tmp.path(), &aof, &owners)?;
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string();
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
            let name = name.unwrap_or_default();
            // a second restore within the same second must not meet the first's checkpoint
            let kept = (1..)
                .map(|n| match n {
                    1 => dir.join(format!("{name}.before-restore-{stamp}")),
                    n => dir.join(format!("{name}.before-restore-{stamp}-{n}")),
                })
                .find(|p| fs::symlink_metadata(p).is_err())
                .unwrap_or_default();
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
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io(dir))?;
    Ok(Restored {
        file,
        keys,
        rdb,
        aof_dir,
        previous,
        checkpointed: !spec.no_checkpoint,
    })
}

fn remove(p: &Path) -> Result<()> {
    let r = if p.is_dir() {
        fs::remove_dir_all(p)
    } else {
        fs::remove_file(p)
    };
    r.map_err(Error::io(p))
}

/// A multi-part AOF directory (under a temporary name in `dir`) whose base is `rdb`: base
/// file, empty incr file, manifest; each fsynced and given its owner from `owners`.
fn build_aof(dir: &Path, rdb: &Path, aof: &Aof, owners: &Plan) -> Result<tempfile::TempDir> {
    let t = tempfile::Builder::new()
        .prefix(&tmp_prefix())
        .tempdir_in(dir)
        .map_err(Error::io(dir))?;
    let base_path = t.path().join(&aof.base);
    // a hard link shares the RDB's owner and mode: only when the AOF files want the same
    let linked = owners.aof_files == owners.rdb && fs::hard_link(rdb, &base_path).is_ok();
    if !linked {
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
        owners.aof_files.apply(&p)?;
        fs::File::open(&p)
            .and_then(|f| f.sync_all())
            .map_err(Error::io(&p))?;
    }
    owners.aof_dir.apply(t.path())?;
    Ok(t)
}
