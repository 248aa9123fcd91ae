//! Multi-part AOF directories on disk: open one (its manifest), inspect it with the pure
//! reader ([`crate::aof`]), trim a torn tail into a new directory (never in place), and copy
//! a replica's AOF consistently for `warden backup --aof`: `BGREWRITEAOF`, wait for it, copy
//! the files the manifest names, check the manifest did not change meanwhile (else copy
//! again), and cut the copy of the incr file — appended to while it was copied — at its last
//! complete command.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::addr::Addr;
use crate::aof::inspect::{Inspector, Report};
use crate::aof::manifest::{self, Entry, Kind};
use crate::backup::store::TMP_PREFIX;
use crate::client::{self, Timeouts};
use crate::conn::{Con, Conn};
use crate::error::{Error, Result};
use crate::util::now_ms;

/// An AOF directory (or a lone AOF file).
#[derive(Debug, Clone)]
pub(crate) struct AofDir {
    /// The directory.
    pub dir: PathBuf,
    /// The manifest's file name (`None` for a lone file).
    pub manifest: Option<String>,
    /// Its entries.
    pub entries: Vec<Entry>,
}

impl AofDir {
    /// Opens `path`: an AOF directory (with exactly one `*.manifest`), a manifest file, or a
    /// lone RESP file (read as one incr file).
    pub(crate) fn open(path: &Path) -> Result<AofDir> {
        let invalid = |problem: String| Error::AofInvalid {
            what: path.display().to_string(),
            problem,
        };
        let (dir, mname) = if path.is_dir() {
            let names: Vec<String> = fs::read_dir(path)
                .map_err(Error::io(path))?
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".manifest"))
                .collect();
            match names.as_slice() {
                [one] => (path.to_path_buf(), one.clone()),
                [] => return Err(invalid("no *.manifest in this directory".into())),
                _ => return Err(invalid(format!("several manifests: {}", names.join(", ")))),
            }
        } else if path.to_string_lossy().ends_with(".manifest") {
            let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            (dir, name.unwrap_or_default())
        } else {
            fs::metadata(path).map_err(Error::io(path))?;
            let file = path.file_name().map(|n| n.to_string_lossy().into_owned());
            return Ok(AofDir {
                dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
                manifest: None,
                entries: vec![Entry {
                    file: file.unwrap_or_default(),
                    seq: 1,
                    kind: Kind::Incr,
                }],
            });
        };
        let mpath = dir.join(&mname);
        let text = fs::read_to_string(&mpath).map_err(Error::io(&mpath))?;
        let entries = manifest::parse(&text).map_err(|e| invalid(format!("{mname}: {e}")))?;
        Ok(AofDir {
            dir,
            manifest: Some(mname),
            entries,
        })
    }

    /// Reads every file Redis would load, in order. Blocking.
    pub(crate) fn inspect(&self) -> Result<Report> {
        let mut i = Inspector::new();
        let loaded = manifest::loaded(&self.entries);
        for (n, e) in loaded.iter().enumerate() {
            let p = self.dir.join(&e.file);
            let f = fs::File::open(&p).map_err(Error::io(&p))?;
            i.file(&e.file, f, n + 1 == loaded.len(), now_ms());
        }
        Ok(i.finish())
    }
}

/// What `aof trim` did.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Trimmed {
    /// The new directory.
    pub to: PathBuf,
    /// The file cut, where, and how many bytes were dropped (none when nothing was torn).
    pub cut: Option<(String, u64, u64)>,
    /// The copy's report.
    pub report: Report,
}

/// Copies the AOF `src` into the new directory `to` (which must not exist), cutting a torn
/// tail of its last file at the last complete command. Refuses a damaged AOF (bytes that
/// are not RESP, a broken base, or a torn command in a file other than the last). Blocking.
pub(crate) fn trim(src: &AofDir, to: &Path) -> Result<Trimmed> {
    let what = src.dir.display().to_string();
    let report = src.inspect()?;
    if let Some(bad) = &report.bad {
        return Err(Error::AofInvalid {
            what,
            problem: format!("damaged, not just torn: {bad}"),
        });
    }
    if let Some(t) = report.torn.as_ref().filter(|t| !t.in_last_file) {
        return Err(Error::AofInvalid {
            what,
            problem: format!("torn inside {}, which is not the last file", t.file),
        });
    }
    if to.exists() {
        return Err(Error::Usage(format!(
            "{} exists: aof trim writes a new directory, never in place",
            to.display()
        )));
    }
    let cut = report
        .torn
        .as_ref()
        .map(|t| (t.file.clone(), t.offset, t.bytes));
    write_copy(src, to, |name| match &cut {
        Some((f, offset, _)) if f == name => Some(*offset),
        _ => None,
    })?;
    let report = AofDir::open(to)?.inspect()?;
    Ok(Trimmed {
        to: to.to_path_buf(),
        cut,
        report,
    })
}

/// Copies the manifest and the loaded files of `src` into a temporary directory beside `to`,
/// each file cut at `limit(name)` bytes when given, fsyncs them, and renames it to `to`.
fn write_copy(src: &AofDir, to: &Path, limit: impl Fn(&str) -> Option<u64>) -> Result<()> {
    let parent = to
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(Error::io(parent))?;
    let tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .tempdir_in(parent)
        .map_err(Error::io(parent))?;
    let mut names: Vec<String> = manifest::loaded(&src.entries)
        .iter()
        .map(|e| e.file.clone())
        .collect();
    names.extend(src.manifest.clone());
    for name in &names {
        let from = src.dir.join(name);
        let dest = tmp.path().join(name);
        let mut r = fs::File::open(&from).map_err(Error::io(&from))?;
        let mut w = fs::File::create(&dest).map_err(Error::io(&dest))?;
        match limit(name) {
            Some(n) => std::io::copy(&mut (&mut r).take(n), &mut w),
            None => std::io::copy(&mut r, &mut w),
        }
        .map_err(Error::io(&dest))?;
        w.flush()
            .and_then(|()| w.sync_all())
            .map_err(Error::io(&dest))?;
    }
    let kept = tmp.keep();
    fs::rename(&kept, to).map_err(Error::io(to))?;
    fs::File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(Error::io(parent))?;
    Ok(())
}

/// What `backup --aof` copied.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Copied {
    /// The node copied from.
    pub source: Addr,
    /// Its AOF directory (on this host).
    pub from: PathBuf,
    /// The copy.
    pub to: PathBuf,
    /// Copies needed until the manifest held still (a rewrite during a copy restarts it).
    pub attempts: u32,
    /// Bytes dropped from the end of the copied incr file (a command being appended).
    pub cut_bytes: u64,
    /// Milliseconds from `BGREWRITEAOF` to the renamed copy.
    pub duration_ms: u64,
    /// What the copy holds.
    pub report: Report,
}

async fn config_get(con: &mut Con, addr: &Addr, key: &str) -> Result<String> {
    let kv: Vec<String> =
        client::query(con, addr, redis::cmd("CONFIG").arg("GET").arg(key)).await?;
    kv.get(1)
        .cloned()
        .ok_or_else(|| Error::Usage(format!("{addr}: CONFIG GET {key} returned nothing")))
}

async fn persistence(
    con: &mut Con,
    addr: &Addr,
) -> Result<std::collections::HashMap<String, String>> {
    let text: String = client::query(con, addr, redis::cmd("INFO").arg("persistence")).await?;
    Ok(client::parse_info(&text))
}

/// Copies the AOF of `addr` (whose data dir is `data_dir`, else its `CONFIG GET dir`, and
/// must be on this host) into the new directory `to`; see the module doc.
pub(crate) async fn copy_from_replica(
    conn: &Conn,
    addr: &Addr,
    data_dir: Option<PathBuf>,
    to: &Path,
    timeout: Duration,
) -> Result<Copied> {
    let started = Instant::now();
    let mut con = conn.node(addr, Timeouts::CONTROL).await?;
    if config_get(&mut con, addr, "appendonly").await? != "yes" {
        return Err(Error::Usage(format!(
            "{addr} has appendonly no: it has no AOF to copy"
        )));
    }
    let dir = match data_dir {
        Some(d) => d,
        None => PathBuf::from(config_get(&mut con, addr, "dir").await?),
    };
    let from = dir.join(config_get(&mut con, addr, "appenddirname").await?);
    if !from.is_dir() {
        return Err(Error::Usage(format!(
            "the AOF directory of {addr} ({}) is not on this host: run `warden backup --aof` \
             on the replica's host, or give --data-dir where its data dir is mounted",
            from.display()
        )));
    }
    // a rewrite makes the base current and starts a fresh, short incr file
    let get = |i: &std::collections::HashMap<String, String>, k: &str| {
        i.get(k).cloned().unwrap_or_default()
    };
    let before = persistence(&mut con, addr).await?;
    let rewrites =
        |i: &std::collections::HashMap<String, String>| get(i, "aof_rewrites").parse::<u64>().ok();
    let r: redis::RedisResult<redis::Value> =
        redis::cmd("BGREWRITEAOF").query_async(&mut con).await;
    if let Err(e) = r
        && !e.to_string().contains("already in progress")
    {
        return Err(Error::Command {
            addr: addr.clone(),
            command: "BGREWRITEAOF".into(),
            source: e,
        });
    }
    let deadline = Instant::now() + timeout;
    loop {
        let now = persistence(&mut con, addr).await?;
        let idle = get(&now, "aof_rewrite_in_progress") == "0"
            && get(&now, "aof_rewrite_scheduled") == "0";
        let advanced = match (rewrites(&before), rewrites(&now)) {
            (Some(b), Some(n)) => n > b,
            _ => true,
        };
        if idle && advanced {
            if get(&now, "aof_last_bgrewrite_status") != "ok" {
                return Err(Error::Usage(format!(
                    "BGREWRITEAOF on {addr} failed; see its log"
                )));
            }
            break;
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: format!("BGREWRITEAOF on {addr} did not finish"),
                waited: timeout,
                detail: "aof_rewrite_in_progress stayed 1".into(),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (from2, to2) = (from.clone(), to.to_path_buf());
    let (attempts, cut_bytes, report) =
        crate::util::blocking("copying the AOF", move || copy_consistent(&from2, &to2)).await?;
    Ok(Copied {
        source: addr.clone(),
        from,
        to: to.to_path_buf(),
        attempts,
        cut_bytes,
        duration_ms: started.elapsed().as_millis() as u64,
        report,
    })
}

/// Copies until the manifest is the same before and after; then cuts the copied last
/// file at its last complete command. Blocking.
fn copy_consistent(from: &Path, to: &Path) -> Result<(u32, u64, Report)> {
    for attempt in 1..=5 {
        let src = AofDir::open(from)?;
        let mpath = from.join(src.manifest.as_deref().unwrap_or_default());
        let before = fs::read(&mpath).map_err(Error::io(&mpath))?;
        let tmp = to.with_file_name(format!(
            "{TMP_PREFIX}{}",
            to.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(Error::io(&tmp))?;
        }
        write_copy(&src, &tmp, |_| None)?;
        let after = fs::read(&mpath).map_err(Error::io(&mpath))?;
        if before != after {
            fs::remove_dir_all(&tmp).map_err(Error::io(&tmp))?;
            continue;
        }
        let copy = AofDir::open(&tmp)?;
        let trimmed = trim(&copy, to);
        fs::remove_dir_all(&tmp).map_err(Error::io(&tmp))?;
        let t = trimmed?;
        return Ok((attempt, t.cut.map(|c| c.2).unwrap_or(0), t.report));
    }
    Err(Error::AofInvalid {
        what: from.display().to_string(),
        problem: "its manifest changed during each of 5 copies (rewrites keep running)".into(),
    })
}
