//! A stored backup, found and made usable: resolve `latest`, `latest-good` (the newest that
//! passes [`audit::check`]) or a path to the file and its
//! manifest, download it from object storage, check its sha256 and unpack it while verifying
//! the RDB. Shared by `restore` and `restore-test` ([`crate::restore`]), and `verify`.

use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::backup::audit;
use crate::backup::compress::Compression;
use crate::backup::manifest::{Manifest, manifest_name};
use crate::backup::remote::{Dest, Remote, split_object_url};
use crate::backup::store;
use crate::backup::tee::{self, Tee};
use crate::error::{Error, Result};
use crate::rdb::{self, Options, Summary};
use crate::util::{blocking, now_ms};

/// Verifies an RDB file, decompressing it on the fly by extension (`.gz`, `.zst`). Blocking.
///
/// A file that cannot be opened is an error; a damaged compressed stream or RDB is an
/// invalid [`Summary`] (the read error is its problem).
pub(crate) fn verify_file(path: &Path, opts: &Options) -> Result<Summary> {
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let reader = Compression::from_path(path)
        .decoder(BufReader::with_capacity(1 << 16, file))
        .map_err(Error::io(path))?;
    Ok(rdb::verify(reader, opts))
}

/// The stored file and its manifest for `target`.
pub(crate) fn resolve(target: &str, dest: &Path) -> Result<(PathBuf, Manifest)> {
    if target == "latest-good" {
        let (path, m, skipped) = audit::newest_good_local(dest)?;
        for v in skipped {
            tracing::warn!(file = %v.file, problems = %v.problems.join("; "), "latest-good: skipped a damaged backup");
        }
        return Ok((path, m));
    }
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
pub(crate) async fn locate(
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
        Dest::Bucket(url) if target == "latest-good" => {
            let r = Remote::open(&url, endpoint)?;
            let mut tried = Vec::new();
            for m in r.list().await?.into_iter().rev() {
                let local = r.download(&m.file, work).await?;
                let m2 = m.clone();
                let l2 = local.clone();
                let v = blocking("checking a backup", move || audit::check(&l2, &m2)).await?;
                if v.good {
                    return resolve(&local.display().to_string(), work);
                }
                tracing::warn!(file = %v.file, problems = %v.problems.join("; "), "latest-good: skipped a damaged backup");
                let _ = std::fs::remove_file(&local);
                tried.push(v);
            }
            Err(audit::no_good(url, &tried))
        }
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

/// The stored file `target` (see [`locate`]) with its manifest, in a fresh work directory
/// named `prefix…` that holds the download when it is in object storage and is removed when
/// the returned value is dropped.
pub(crate) async fn fetch(
    target: &str,
    dest: &str,
    endpoint: Option<&str>,
    prefix: &str,
) -> Result<(tempfile::TempDir, PathBuf, Manifest)> {
    let work = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(Error::io(std::env::temp_dir()))?;
    let (path, manifest) = locate(target, dest, endpoint, work.path()).await?;
    Ok((work, path, manifest))
}

/// Checks the stored sha256, then unpacks into `out_path` while verifying the RDB (as of
/// now) and its raw sha256. Blocking.
pub(crate) fn unpack(path: &Path, m: &Manifest, out_path: &Path) -> Result<Summary> {
    check_stored(path, m)?;
    unpack_checked(path, m, out_path)
}

/// Checks the stored file's sha256 against the manifest. Blocking.
pub(crate) fn check_stored(path: &Path, m: &Manifest) -> Result<()> {
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let stored = tee::digest(BufReader::with_capacity(1 << 16, file)).map_err(Error::io(path))?;
    if stored.sha256 != m.stored.sha256 {
        return Err(Error::ChecksumMismatch {
            path: path.to_path_buf(),
            expected: m.stored.sha256.clone(),
            actual: stored.sha256,
        });
    }
    Ok(())
}

/// [`unpack`] after [`check_stored`] passed: decompress into `out_path` while verifying
/// the RDB, its raw sha256 and its key count. Blocking.
pub(crate) fn unpack_checked(path: &Path, m: &Manifest, out_path: &Path) -> Result<Summary> {
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
pub(crate) async fn live_now(rdb: PathBuf, pattern: String) -> Result<u64> {
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
