//! Dispatch of the backup commands (`verify`, `backup`, `restore-test`, `backups list`,
//! `restore`):
//! arguments in, report printed, exit code out. The work lives in the sibling modules.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use serde::Serialize;

use crate::backup::compress::Compression;
use crate::backup::manifest::Manifest;
use crate::backup::rdb::{self, Options, Summary};
use crate::backup::remote::{Dest, Remote};
use crate::backup::report;
use crate::backup::retention::Policy;
use crate::backup::{checks, restore, restore_docker, restore_test, store, take};
use crate::cli::{
    BackupArgs, BackupsCommand, BackupsListArgs, BenchCommand, Command, RestoreArgs,
    RestoreTestArgs, VerifyArgs,
};
use crate::error::{EXIT_MET, EXIT_MISSED, Error, Result};

/// Runs one of the backup commands; any other command is a programming error reported as
/// a usage error.
pub async fn dispatch(command: Command) -> Result<u8> {
    match command {
        Command::Verify(a) => verify(a).await,
        Command::Backup(a) => backup(a).await,
        Command::RestoreTest(a) => restore_test(a).await,
        Command::Backups(BackupsCommand::List(a)) => list(a).await,
        Command::Restore(a) => restore(a).await,
        Command::Bench(BenchCommand::Backup(a)) => {
            let spec = crate::backup::bench::Spec {
                keys: a.keys,
                value_size: a.value_size,
                rounds: a.rounds,
            };
            print!("{}", crate::backup::bench::run(&spec).await?);
            Ok(EXIT_MET)
        }
        _ => Err(Error::Usage("not a backup command".into())),
    }
}

/// Unix time now, in milliseconds (what "already expired" is judged against).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Verifies an RDB file, decompressing it on the fly by extension (`.gz`, `.zst`).
///
/// A file that cannot be opened is an error; a damaged compressed stream or RDB is an
/// invalid [`Summary`] (the read error is its problem).
pub fn verify_file(path: &Path, opts: &Options) -> Result<Summary> {
    let file = File::open(path).map_err(Error::io(path))?;
    let reader = Compression::from_path(path)
        .decoder(BufReader::with_capacity(1 << 16, file))
        .map_err(Error::io(path))?;
    Ok(rdb::verify(reader, opts))
}

#[derive(Serialize)]
struct VerifyReport<'a> {
    file: &'a str,
    pattern: &'a str,
    #[serde(flatten)]
    summary: &'a Summary,
}

/// `warden verify`: exit 0 valid, 1 invalid, 2 unreadable.
pub async fn verify(args: VerifyArgs) -> Result<u8> {
    let opts = Options {
        pattern: args.pattern.clone(),
        now_ms: now_ms(),
    };
    let path = args.file.clone();
    let summary = tokio::task::spawn_blocking(move || verify_file(&path, &opts))
        .await
        .map_err(|e| Error::Task {
            what: "the verifier".into(),
            detail: e.to_string(),
        })??;
    let file = args.file.display().to_string();
    if args.json {
        let r = VerifyReport {
            file: &file,
            pattern: &args.pattern,
            summary: &summary,
        };
        println!("{}", json(&r));
    } else {
        print!("{}", report::verify_table(&file, &args.pattern, &summary));
    }
    Ok(if summary.valid { EXIT_MET } else { EXIT_MISSED })
}

/// Pretty JSON of a report made only of plain fields (cannot fail).
pub fn json(value: &impl Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// `warden backup`: exit 0 stored and verified, 1 the RDB failed verification, 2 could not run.
pub async fn backup(args: BackupArgs) -> Result<u8> {
    let dests: Vec<Dest> = args.dest.iter().map(|d| Dest::parse(d)).collect();
    let mut locals = Vec::new();
    let mut remotes = Vec::new();
    for d in dests {
        match d {
            Dest::Local(p) => locals.push(p),
            Dest::Bucket(url) => remotes.push(Remote::open(&url, args.s3_endpoint.as_deref())?),
        }
    }
    let mut taken = Vec::new();
    for r in &remotes {
        r.check().await?;
        taken.extend(r.names().await?);
    }
    for dir in locals.iter().skip(1) {
        if let Ok(rd) = std::fs::read_dir(dir) {
            taken.extend(
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned()),
            );
        }
    }
    // The first local directory stages the backup; with none, a temporary one does.
    let staging = match locals.first() {
        Some(_) => None,
        None => Some(tempfile::tempdir().map_err(Error::io(std::env::temp_dir()))?),
    };
    let stage_dir = match (&staging, locals.first()) {
        (Some(t), _) => t.path().to_path_buf(),
        (None, Some(d)) => d.clone(),
        (None, None) => return Err(Error::Usage("--dest is required".into())),
    };
    let spec = take::Spec {
        sentinels: args.sentinel.sentinels,
        master: args.sentinel.master,
        dest: stage_dir,
        method: args.method,
        data_dir: args.data_dir,
        from_container: args.from_container,
        compression: args.compress,
        allow_primary: args.allow_primary,
        password: args.password,
        pattern: args.pattern,
        timeout: args.timeout,
        taken,
        progress: !args.json && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let policy = Policy {
        keep_last: args.keep_last,
        keep_days: args.keep_days,
    };
    let (manifest, path) = take::run(&spec).await?;
    let mut stored = Vec::new();
    if staging.is_none() {
        stored.push(path.display().to_string());
    }
    for dir in locals.iter().skip(1) {
        let (p, d, m) = (path.clone(), dir.clone(), manifest.clone());
        let to = take::blocking("copying the backup", move || store::copy_into(&p, &d, &m)).await?;
        stored.push(to.display().to_string());
    }
    for r in &remotes {
        r.upload(&path, &manifest).await?;
        stored.push(format!("{}/{}", r.url, manifest.file));
    }
    let now = chrono::Utc::now();
    let mut deleted = Vec::new();
    for dir in &locals {
        deleted.extend(store::prune(dir, policy, now, &manifest.file)?);
    }
    for r in &remotes {
        let gone = r.prune(policy, now, &manifest.file).await?;
        deleted.extend(gone.into_iter().map(|f| format!("{}/{f}", r.url)));
    }
    if args.json {
        let r = BackupReport {
            manifest: &manifest,
            locations: &stored,
            deleted: &deleted,
            peak_rss_kib: peak_rss_kib(),
        };
        println!("{}", json(&r));
    } else {
        print!("{}", report::backup_table(&stored.join(", "), &manifest));
        if let Some(kib) = peak_rss_kib() {
            println!("{:<20} {}", "peak rss", report::bytes(kib * 1024));
        }
        for f in &deleted {
            println!("{:<20} {f}", "deleted (retention)");
        }
    }
    Ok(EXIT_MET)
}

#[derive(Serialize)]
struct BackupReport<'a> {
    #[serde(flatten)]
    manifest: &'a Manifest,
    locations: &'a [String],
    deleted: &'a [String],
    peak_rss_kib: Option<u64>,
}

/// This process's peak resident set size (`VmHWM` in `/proc/self/status`), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// `warden backups list`.
pub async fn list(args: BackupsListArgs) -> Result<u8> {
    let (entries, incomplete) = match Dest::parse(&args.dest) {
        Dest::Local(dir) => {
            let entries = store::list(&dir)?;
            let incomplete = store::incomplete(&dir, &entries)?;
            (entries, incomplete)
        }
        Dest::Bucket(url) => {
            let r = Remote::open(&url, args.s3_endpoint.as_deref())?;
            let entries = r
                .list()
                .await?
                .into_iter()
                .map(|manifest| store::Entry {
                    path: format!("{url}/{}", manifest.file).into(),
                    manifest,
                })
                .collect();
            (entries, Vec::new())
        }
    };
    if args.json {
        let manifests: Vec<&Manifest> = entries.iter().map(|e| &e.manifest).collect();
        println!("{}", json(&manifests));
    } else {
        print!("{}", report::list_table(&entries, &incomplete));
    }
    Ok(EXIT_MET)
}

#[derive(Serialize)]
struct RestoreTestReport<'a> {
    ok: bool,
    #[serde(flatten)]
    observed: &'a checks::Observed,
    checks: &'a [checks::Check],
}

/// `warden restore-test`: exit 0 the backup restores, 1 a check or the checksum failed,
/// 2 could not run.
pub async fn restore_test(args: RestoreTestArgs) -> Result<u8> {
    let spec = restore_test::Spec {
        target: args.target,
        dest: args.dest,
        s3_endpoint: args.s3_endpoint,
        sample: args.sample,
        check_cmd: args.check_cmd,
        redis_server: args.redis_server,
        timeout: args.timeout,
        backend: args.backend,
        image: args.image,
    };
    let observed = restore_test::run(&spec).await?;
    let checks = checks::evaluate(&observed);
    let ok = checks.iter().all(|c| c.ok);
    if args.json {
        let r = RestoreTestReport {
            ok,
            observed: &observed,
            checks: &checks,
        };
        println!("{}", json(&r));
    } else {
        print!("{}", checks::table(&observed, &checks));
    }
    Ok(if ok { EXIT_MET } else { EXIT_MISSED })
}

/// `warden restore`: exit 0 restored, 1 the backup failed its checksum or verification (or,
/// into a container, the node's key count disagrees with it), 2 could not run.
pub async fn restore(args: RestoreArgs) -> Result<u8> {
    let spec = restore::Spec {
        target: args.target,
        dest: args.dest,
        s3_endpoint: args.s3_endpoint,
        into: args.into,
        no_checkpoint: args.no_checkpoint,
        dbfilename: args.dbfilename,
        appenddirname: args.appenddirname,
        appendfilename: args.appendfilename,
        password: args.password,
    };
    let dir = match restore::parse_into(&spec.into)? {
        restore::Target::Dir(dir) => dir,
        restore::Target::Docker(container) => {
            let r = restore_docker::run(&spec, &container).await?;
            if args.json {
                println!("{}", json(&r));
            } else {
                print!("{}", report::restored_docker(&r));
            }
            return Ok(if r.check.ok { EXIT_MET } else { EXIT_MISSED });
        }
    };
    let r = restore::run(&spec, dir).await?;
    if args.json {
        println!("{}", json(&r));
        return Ok(EXIT_MET);
    }
    println!("{:<20} {} ({} keys)", "restored", r.file, r.keys);
    println!("{:<20} {}", "rdb", r.rdb.display());
    println!(
        "{:<20} {} (base = the same RDB)",
        "aof",
        r.aof_dir.display()
    );
    let what = if r.checkpointed { "kept" } else { "deleted" };
    for p in &r.previous {
        println!("{:<20} {}", format!("previous ({what})"), p.display());
    }
    println!(
        "{:<20} start the node: with appendonly yes it loads {}, with appendonly no {}",
        "next",
        r.aof_dir.display(),
        r.rdb.display()
    );
    Ok(EXIT_MET)
}
