//! The local backup directory: write an RDB stream to a temporary name (compressing, hashing
//! and verifying it in the same pass), fsync, rename; write the manifest last; list what is
//! stored.
//!
//! A crash at any point leaves either nothing, a `.warden-tmp-*` file, or a data file without
//! a manifest; never a file that looks like a complete backup.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::backup::compress::Compression;
use crate::backup::manifest::{Entry, MANIFEST_SUFFIX, Manifest};
use crate::backup::tee::{Digested, Hashing, Tee};
use crate::error::{Error, Result};
use crate::rdb::{self, Options, Summary};

/// Prefix of temporary files in a backup directory.
pub(crate) const TMP_PREFIX: &str = ".warden-tmp-";

/// The prefix of this process's temporary files: `.warden-tmp-<pid>-`, so a later run can
/// tell a file whose writer is gone ([`remove_stale`]).
pub(crate) fn tmp_prefix() -> String {
    format!("{TMP_PREFIX}{}-", std::process::id())
}

/// The PID a temporary file name carries (`.warden-tmp-<pid>-…`); `None` for other names.
fn tmp_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(TMP_PREFIX)?;
    rest.split_once('-')?.0.parse().ok()
}

/// Whether `pid` runs warden now.
fn runs_warden(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| String::from_utf8_lossy(&c).contains("warden"))
}

/// Removes the temporary files in `dir` that a backup which is gone left behind: named
/// `.warden-tmp-<pid>-…` with a PID that runs no warden now (or is this process's own from
/// an earlier life: never one this process has open), and older than now. Returns their
/// names; a file of another naming is left alone (and `backups list` keeps reporting it).
pub(crate) fn remove_stale(dir: &Path) -> Result<Vec<String>> {
    let me = std::process::id();
    let now = std::time::SystemTime::now();
    let mut removed = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(Error::io(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(Error::io(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = tmp_owner(&name) else {
            continue;
        };
        let older = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < now);
        if pid != me && !runs_warden(pid) && older {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(Error::io(&path))?;
            removed.push(name);
        }
    }
    removed.sort();
    Ok(removed)
}

/// A verified RDB written under a temporary name, ready to be renamed into place.
pub struct Staged {
    /// The temporary file (deleted if dropped before [`Staged::commit`]).
    pub tmp: tempfile::NamedTempFile,
    /// The verifier's summary of the raw RDB.
    pub summary: Summary,
    /// Digest of the raw RDB bytes.
    pub raw: Digested,
    /// Digest of the stored (compressed) bytes.
    pub stored: Digested,
}

/// Streams `source` into a temporary file in `dir`: raw bytes are hashed and verified,
/// compressed, then hashed again as stored; the file is fsynced. An invalid RDB or a failed
/// write removes the temporary file and returns the error. Blocking: run it off the runtime.
pub fn stage(
    source: impl Read,
    what: &str,
    dir: &Path,
    compression: Compression,
    opts: &Options,
) -> Result<Staged> {
    let tmp = tempfile::Builder::new()
        .prefix(&tmp_prefix())
        .tempfile_in(dir)
        .map_err(Error::io(dir))?;
    let tmp_path = tmp.path().to_path_buf();
    let io = Error::io(&tmp_path);
    let file = tmp.as_file().try_clone().map_err(Error::io(&tmp_path))?;
    let sink = Hashing::new(BufWriter::with_capacity(1 << 16, file));
    let encoder = compression.encoder(sink).map_err(Error::io(&tmp_path))?;
    let mut tee = Tee::new(source, encoder);
    let summary = rdb::verify(&mut tee, opts);
    if let Some(e) = tee.side_error() {
        return Err(Error::io(&tmp_path)(e));
    }
    if !summary.valid {
        let problem = summary
            .problem
            .as_ref()
            .map_or_else(|| "invalid".to_string(), ToString::to_string);
        return Err(Error::RdbInvalid {
            what: what.to_string(),
            problem,
        });
    }
    let (encoder, raw) = tee.finish().map_err(Error::io(&tmp_path))?;
    let sink = encoder.finish().map_err(Error::io(&tmp_path))?;
    let (buffered, stored) = sink.finish();
    let file = buffered
        .into_inner()
        .map_err(|e| Error::io(&tmp_path)(e.into_error()))?;
    file.sync_all().map_err(io)?;
    Ok(Staged {
        tmp,
        summary,
        raw,
        stored,
    })
}

impl Staged {
    /// Renames the data file to `dir/<file>` (never over an existing file), then writes the
    /// manifest under a temporary name, fsyncs and renames it, and fsyncs the directory.
    pub fn commit(self, dir: &Path, manifest: &Manifest) -> Result<PathBuf> {
        let data = dir.join(&manifest.file);
        self.tmp.persist_noclobber(&data).map_err(|e| Error::Io {
            path: data.clone(),
            source: e.error,
        })?;
        write_durably(dir, &manifest.name(), manifest.to_json().as_bytes())?;
        Ok(data)
    }
}

/// Writes `bytes` to `dir/name` through a fsynced temporary file and a rename, then fsyncs
/// the directory so the rename itself survives a crash.
pub(crate) fn write_durably(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let path = dir.join(name);
    let mut tmp = tempfile::Builder::new()
        .prefix(&tmp_prefix())
        .tempfile_in(dir)
        .map_err(Error::io(dir))?;
    tmp.write_all(bytes).map_err(Error::io(&path))?;
    tmp.as_file().sync_all().map_err(Error::io(&path))?;
    tmp.persist(&path).map_err(|e| Error::Io {
        path: path.clone(),
        source: e.error,
    })?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io(dir))
}

/// Every complete backup in `dir` (those with a readable manifest), oldest first. Manifests
/// that do not parse are errors: a backup directory should hold nothing ambiguous.
pub(crate) fn list(dir: &Path) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(Error::io(dir))? {
        let path = entry.map_err(Error::io(dir))?.path();
        let is_manifest = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(MANIFEST_SUFFIX) && !n.starts_with(TMP_PREFIX));
        if !is_manifest {
            continue;
        }
        let manifest = read_manifest(&path)?;
        out.push(Entry {
            path: dir.join(&manifest.file),
            manifest,
        });
    }
    out.sort_by(|a, b| {
        (a.manifest.created, &a.manifest.file).cmp(&(b.manifest.created, &b.manifest.file))
    });
    Ok(out)
}

/// Reads and parses a manifest file.
pub(crate) fn read_manifest(path: &Path) -> Result<Manifest> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    Manifest::parse(&text).map_err(|message| Error::Manifest {
        path: path.to_path_buf(),
        message,
    })
}

/// Deletes a stored backup: the manifest first (so a crash leaves an orphan data file, never
/// a manifest pointing at nothing), then the data file.
pub(crate) fn delete(dir: &Path, manifest: &Manifest) -> Result<()> {
    let mpath = dir.join(manifest.name());
    std::fs::remove_file(&mpath).map_err(Error::io(&mpath))?;
    let data = dir.join(&manifest.file);
    match std::fs::remove_file(&data) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(&data)(e)),
        _ => Ok(()),
    }
}

/// Applies a retention policy to `dir`, never deleting `keep` (the backup just written);
/// returns the deleted file names.
pub(crate) fn prune(
    dir: &Path,
    policy: crate::backup::retention::Policy,
    now: chrono::DateTime<chrono::Utc>,
    keep: &str,
) -> Result<Vec<String>> {
    use crate::backup::retention::{Item, to_delete};
    let entries = list(dir)?;
    let items: Vec<Item<'_>> = entries
        .iter()
        .map(|e| Item {
            master: &e.manifest.master,
            created: e.manifest.created,
            file: &e.manifest.file,
        })
        .collect();
    let mut deleted = Vec::new();
    for i in to_delete(&items, policy, now) {
        let m = &entries[i].manifest;
        if m.file != keep {
            delete(dir, m)?;
            deleted.push(m.file.clone());
        }
    }
    Ok(deleted)
}

/// Files in `dir` that are not part of a complete backup: temporary files and data files
/// without a manifest (interrupted runs).
pub(crate) fn incomplete(dir: &Path, complete: &[Entry]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(Error::io(dir))? {
        let name = entry.map_err(Error::io(dir))?.file_name();
        let name = name.to_string_lossy();
        let data = [".rdb", ".rdb.gz", ".rdb.zst"]
            .iter()
            .any(|s| name.ends_with(s));
        let known = complete.iter().any(|e| e.manifest.file == name);
        if name.starts_with(TMP_PREFIX) || (data && !known) {
            out.push(name.into_owned());
        }
    }
    out.sort();
    Ok(out)
}

/// Copies the committed backup `data` (described by `manifest`) into another directory: temp
/// name, fsync, rename, then the manifest. Blocking.
pub(crate) fn copy_into(data: &Path, dir: &Path, manifest: &Manifest) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&tmp_prefix())
        .tempfile_in(dir)
        .map_err(Error::io(dir))?;
    let mut src = File::open(data).map_err(Error::io(data))?;
    std::io::copy(&mut src, tmp.as_file_mut()).map_err(Error::io(tmp.path()))?;
    tmp.as_file().sync_all().map_err(Error::io(tmp.path()))?;
    let to = dir.join(&manifest.file);
    tmp.persist_noclobber(&to).map_err(|e| Error::Io {
        path: to.clone(),
        source: e.error,
    })?;
    write_durably(dir, &manifest.name(), manifest.to_json().as_bytes())?;
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_temp_files_of_a_gone_writer_are_removed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let gone = format!("{TMP_PREFIX}{}-abc", u32::MAX - 7);
        let mine = format!("{}abc", tmp_prefix());
        let unnamed = format!("{TMP_PREFIX}abcdef");
        for name in [&gone, &mine, &unnamed, &"x.rdb.gz".to_string()] {
            std::fs::write(dir.path().join(name), b"x").expect("write");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(remove_stale(dir.path()).expect("sweep"), vec![gone.clone()]);
        assert!(!dir.path().join(&gone).exists());
        for kept in [&mine, &unnamed] {
            assert!(dir.path().join(kept).exists(), "{kept}");
        }
        assert_eq!(tmp_owner(&format!("{TMP_PREFIX}42-x")), Some(42));
        assert_eq!(tmp_owner(&unnamed), None);
    }
}
