//! `warden backups verify --all`: re-check every stored backup — the stored bytes against
//! the manifest (size and sha256, and in object storage the object's size as the store
//! reports it), the RDB's structure (the verifier, while decompressing), its raw sha256, and
//! its key count against the manifest — and name the newest good one. `latest-good` for
//! `restore` and `restore-test` is the newest backup that passes the same check
//! ([`crate::backup::fetch`]).
//!
//! A stored data file without a manifest is reported as damaged ("no manifest"): `backup`
//! writes the manifest last, so such a file is an interrupted or tampered backup, and
//! nothing can be checked against it.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::backup::compress::Compression;
use crate::backup::etag::Outcome;
use crate::backup::manifest::{MANIFEST_SUFFIX, Manifest, manifest_name};
use crate::backup::remote::Remote;
use crate::backup::store::{self, TMP_PREFIX};
use crate::backup::tee::{self, Tee};
use crate::error::{Error, Result};
use crate::rdb::{self, Options};
use crate::util::{blocking, now_ms};

/// The verdict on one stored backup.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// The data file's name (or, for a manifest without its data, the name it describes).
    pub file: String,
    /// When the manifest says the snapshot was taken (absent without a manifest).
    pub created: Option<chrono::DateTime<chrono::Utc>>,
    /// No problem found.
    pub good: bool,
    /// What is wrong, one line each (empty when good).
    pub problems: Vec<String>,
    /// Keys the verifier counted (absent when it could not read the RDB).
    pub keys: Option<u64>,
    /// Object storage only: the store's ETag against the bytes downloaded — `match`,
    /// `mismatch` (then also a problem), or why it could not be checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

/// Every backup's verdict, oldest first.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Audit {
    /// Where the backups are.
    pub dest: String,
    /// One verdict per data file or manifest.
    pub backups: Vec<Verdict>,
    /// The newest good backup's file, if any.
    pub newest_good: Option<String>,
}

impl Audit {
    fn new(dest: String, mut backups: Vec<Verdict>) -> Audit {
        backups.sort_by(|a, b| (a.created, &a.file).cmp(&(b.created, &b.file)));
        let newest_good = backups
            .iter()
            .rev()
            .find(|v| v.good && v.created.is_some())
            .map(|v| v.file.clone());
        Audit {
            dest,
            backups,
            newest_good,
        }
    }

    /// Backups found damaged.
    pub(crate) fn damaged(&self) -> usize {
        self.backups.iter().filter(|v| !v.good).count()
    }

    /// The table `warden backups verify` prints.
    pub(crate) fn table(&self) -> String {
        let mut s = format!("{:<44} {:<8} {:>9}  problem\n", "backup", "status", "keys");
        for v in &self.backups {
            let keys = v.keys.map(|k| k.to_string()).unwrap_or_else(|| "-".into());
            let status = if v.good { "good" } else { "DAMAGED" };
            s += &format!(
                "{:<44} {:<8} {:>9}  {}\n",
                v.file,
                status,
                keys,
                v.problems.join("; ")
            );
        }
        s += &format!(
            "{} backups: {} good, {} damaged; newest good: {}\n",
            self.backups.len(),
            self.backups.len() - self.damaged(),
            self.damaged(),
            self.newest_good.as_deref().unwrap_or("none")
        );
        s
    }
}

/// Checks the stored file `path` against its manifest `m`. Blocking; reads the file twice
/// (the stored digest first, so a damaged file is named for its checksum even when the
/// decompressor or verifier would fail first). Only an unreadable file is an error.
pub(crate) fn check(path: &Path, m: &Manifest) -> Result<Verdict> {
    let mut problems = Vec::new();
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let stored = tee::digest(BufReader::with_capacity(1 << 16, file)).map_err(Error::io(path))?;
    if stored.bytes != m.stored.bytes {
        problems.push(format!(
            "size {} bytes, the manifest says {}",
            stored.bytes, m.stored.bytes
        ));
    }
    if stored.sha256 != m.stored.sha256 {
        problems.push(format!(
            "sha256 {}…, the manifest says {}…",
            short(&stored.sha256),
            short(&m.stored.sha256)
        ));
    }
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let mut keys = None;
    match Compression::from_path(path).decoder(BufReader::with_capacity(1 << 16, file)) {
        Err(e) => problems.push(format!("cannot decompress: {e}")),
        Ok(reader) => {
            let mut t = Tee::new(reader, std::io::sink());
            let opts = Options {
                pattern: m.counts.pattern.clone(),
                now_ms: now_ms(),
            };
            let summary = rdb::verify(&mut t, &opts);
            if let Some(p) = &summary.problem {
                problems.push(format!("RDB: {p}"));
            } else {
                keys = Some(summary.keys);
                if summary.keys != m.counts.keys {
                    problems.push(format!(
                        "{} keys, the manifest says {}",
                        summary.keys, m.counts.keys
                    ));
                }
                match t.finish() {
                    Err(e) => problems.push(format!("after the RDB's end: {e}")),
                    Ok((_, raw)) if raw.sha256 != m.raw.sha256 => problems.push(format!(
                        "raw sha256 {}…, the manifest says {}…",
                        short(&raw.sha256),
                        short(&m.raw.sha256)
                    )),
                    Ok(_) => {}
                }
            }
        }
    }
    Ok(Verdict {
        file: m.file.clone(),
        created: Some(m.created),
        good: problems.is_empty(),
        problems,
        keys,
        etag: None,
    })
}

fn short(hex: &str) -> &str {
    &hex[..hex.len().min(12)]
}

fn is_data(name: &str) -> bool {
    [".rdb", ".rdb.gz", ".rdb.zst"]
        .iter()
        .any(|s| name.ends_with(s))
}

/// Every backup in the directory `dir`: each manifest with its data file, and each data file
/// without a manifest. Blocking.
pub(crate) fn local(dir: &Path) -> Result<Audit> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(Error::io(dir))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(TMP_PREFIX))
        .collect();
    names.sort();
    let mut out = Vec::new();
    let mut described = Vec::new();
    for name in names.iter().filter(|n| n.ends_with(MANIFEST_SUFFIX)) {
        let mpath = dir.join(name);
        let m = match store::read_manifest(&mpath) {
            Ok(m) => m,
            Err(e) => {
                out.push(damaged(name, None, format!("manifest unreadable: {e}")));
                continue;
            }
        };
        described.push(m.file.clone());
        let data = dir.join(&m.file);
        if !data.is_file() {
            out.push(damaged(&m.file, Some(&m), "data file missing".into()));
            continue;
        }
        out.push(check(&data, &m)?);
    }
    for name in names.iter().filter(|n| is_data(n)) {
        if !described.contains(name) {
            let why = format!("no manifest ({} missing)", manifest_name(name));
            out.push(damaged(name, None, why));
        }
    }
    Ok(Audit::new(dir.display().to_string(), out))
}

fn damaged(file: &str, m: Option<&Manifest>, problem: String) -> Verdict {
    Verdict {
        file: file.to_string(),
        created: m.map(|m| m.created),
        good: false,
        problems: vec![problem],
        keys: None,
        etag: None,
    }
}

/// Every backup under an object-storage prefix: each is downloaded into a temporary
/// directory (one at a time) and checked like a local one; the object's size as the store
/// lists it is compared with the manifest first, and its ETag with the bytes downloaded
/// ([`crate::backup::etag`]): a mismatch means the store holds or sent other bytes than it
/// received.
pub(crate) async fn remote(r: &Remote) -> Result<Audit> {
    let names = r.names().await?;
    let manifests = r.list().await?;
    let sizes = r.sizes().await?;
    let mut out = Vec::new();
    for m in &manifests {
        let Some(size) = sizes.iter().find(|(n, _)| *n == m.file).map(|(_, s)| *s) else {
            out.push(damaged(&m.file, Some(m), "data object missing".into()));
            continue;
        };
        let work = tempfile::Builder::new()
            .prefix("warden-audit-")
            .tempdir()
            .map_err(Error::io(std::env::temp_dir()))?;
        let (local, etag) = r.download_checked(&m.file, work.path()).await?;
        let m2 = m.clone();
        let mut v = blocking("checking a backup", move || check(&local, &m2)).await?;
        v.etag = Some(match etag {
            Outcome::Match(_) => "match".into(),
            Outcome::Mismatch { store, computed } => {
                v.problems.insert(
                    0,
                    format!("ETag {store}, the downloaded bytes give {computed}"),
                );
                v.good = false;
                "mismatch".into()
            }
            Outcome::Unchecked(why) => why,
        });
        if size != m.stored.bytes {
            v.problems.insert(
                0,
                format!(
                    "object size {size} bytes, the manifest says {}",
                    m.stored.bytes
                ),
            );
            v.good = false;
        }
        out.push(v);
    }
    for name in names.iter().filter(|n| is_data(n)) {
        if !manifests.iter().any(|m| &m.file == name) {
            let why = format!("no manifest ({} missing)", manifest_name(name));
            out.push(damaged(name, None, why));
        }
    }
    Ok(Audit::new(r.url.clone(), out))
}

/// The newest backup in `dir` that passes [`check`], with its manifest and the verdicts on
/// the newer ones it passed over. Blocking.
pub(crate) fn newest_good_local(dir: &Path) -> Result<(PathBuf, Manifest, Vec<Verdict>)> {
    let mut skipped = Vec::new();
    for e in store::list(dir)?.into_iter().rev() {
        if !e.path.is_file() {
            skipped.push(damaged(
                &e.manifest.file,
                Some(&e.manifest),
                "data file missing".into(),
            ));
            continue;
        }
        let v = check(&e.path, &e.manifest)?;
        if v.good {
            return Ok((e.path, e.manifest, skipped));
        }
        skipped.push(v);
    }
    Err(no_good(dir.display().to_string(), &skipped))
}

/// The error when no backup is good: every one tried, with its first problem.
pub(crate) fn no_good(dest: String, tried: &[Verdict]) -> Error {
    let why: Vec<String> = tried
        .iter()
        .map(|v| {
            format!(
                "{}: {}",
                v.file,
                v.problems.first().cloned().unwrap_or_default()
            )
        })
        .collect();
    Error::Manifest {
        path: PathBuf::from(dest),
        message: if why.is_empty() {
            "no backup with a manifest there".into()
        } else {
            format!("no good backup ({})", why.join("; "))
        },
    }
}
