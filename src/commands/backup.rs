//! The backup and restore commands (`verify`, `backup`, `backups list`, `backups verify`, `restore`,
//! `restore-test`, `bench backup`): arguments in, library spec out, report printed, exit code
//! out. The work lives in [`crate::backup`] and [`crate::restore`].

use serde::Serialize;

use crate::backup::fetch::verify_file;
use crate::backup::manifest::{Entry, Manifest};
use crate::backup::remote::{Dest, Remote};
use crate::backup::report;
use crate::backup::retention::Policy;
use crate::backup::{audit, store, take};
use crate::cli::{
    BackupArgs, BackupsListArgs, BackupsVerifyArgs, BenchBackup, DrDrillArgs, RestoreArgs,
    RestoreTestArgs, VerifyArgs,
};
use crate::error::{EXIT_MET, EXIT_MISSED, Error, Result};
use crate::rdb::compat::Verdict;
use crate::rdb::{Options, Summary};
use crate::restore::{self, checks, trial};
use crate::util::{blocking, now_ms};

/// `warden bench backup`.
pub(super) async fn bench(a: BenchBackup) -> Result<u8> {
    let spec = crate::bench::backup::Spec {
        keys: a.keys,
        value_size: a.value_size,
        rounds: a.rounds,
    };
    outp!("{}", crate::bench::backup::run(&spec).await?);
    Ok(EXIT_MET)
}

#[derive(Serialize)]
struct VerifyReport<'a> {
    file: &'a str,
    pattern: &'a str,
    #[serde(flatten)]
    summary: &'a Summary,
    /// `--for`: whether it loads on that server.
    #[serde(skip_serializing_if = "Option::is_none")]
    loads_on: Option<LoadsOn>,
}

/// `verify --for`'s answer.
#[derive(Serialize)]
struct LoadsOn {
    /// The server (`Valkey 9.1`).
    server: String,
    /// Whether the file loads there.
    loads: bool,
    /// Why not.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// `warden verify`: exit 0 valid (and, with `--for`, it loads there), 1 invalid or it does
/// not load, 2 unreadable.
pub(super) async fn verify(args: VerifyArgs) -> Result<u8> {
    let server = match &args.for_server {
        Some(text) => {
            let conn = crate::conn::Conn::build(&super::conn_spec(&args.conn)?)?;
            Some(restore::loads::server_for(text, &conn).await?)
        }
        None => None,
    };
    let opts = Options {
        pattern: args.pattern.clone(),
        now_ms: now_ms(),
    };
    let path = args.file.clone();
    if path.is_dir() {
        return Err(Error::Usage(format!(
            "{}: is a directory; give an RDB file (.rdb, .rdb.gz, .rdb.zst)",
            path.display()
        )));
    }
    let summary = blocking("the verifier", move || verify_file(&path, &opts)).await?;
    let file = args.file.display().to_string();
    let verdict = server.map(|s| (s, crate::rdb::compat::check(&summary, s)));
    let loads = !matches!(verdict, Some((_, Verdict::DoesNotLoad(_))));
    if args.json {
        let r = VerifyReport {
            file: &file,
            pattern: &args.pattern,
            summary: &summary,
            loads_on: verdict.as_ref().map(|(s, v)| LoadsOn {
                server: s.to_string(),
                loads: *v == Verdict::Loads,
                reason: match v {
                    Verdict::Loads => None,
                    Verdict::DoesNotLoad(why) => Some(why.clone()),
                },
            }),
        };
        outln!("{}", json(&r));
    } else {
        outp!("{}", report::verify_table(&file, &args.pattern, &summary));
        if let Some((s, v)) = &verdict {
            outln!("{:<20} {}", format!("on {s}"), v.line());
        }
    }
    Ok(if summary.valid && loads {
        EXIT_MET
    } else {
        EXIT_MISSED
    })
}

/// Pretty JSON of a report made only of plain fields (cannot fail).
fn json(value: &impl Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// `warden backup`: exit 0 stored and verified, 1 the RDB failed verification, 2 could not run.
pub(super) async fn backup(args: BackupArgs) -> Result<u8> {
    if args.aof {
        return super::aof::backup_aof(args).await;
    }
    let dests: Vec<Dest> = args.dest.iter().map(|d| Dest::parse(d)).collect();
    let mut locals = Vec::new();
    let mut remotes = Vec::new();
    for d in dests {
        match d {
            Dest::Local(p) => locals.push(p),
            Dest::Bucket(url) => remotes.push(Remote::open(&url, args.s3_endpoint.as_deref())?),
        }
    }
    for dir in &locals {
        for name in store::remove_stale(dir)? {
            eprintln!(
                "warden: removed {name} in {}: the temporary file of a backup that is gone",
                dir.display()
            );
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
        conn: crate::conn::Conn::build(&super::conn_spec(&args.conn)?)?,
        pattern: args.pattern,
        timeout: args.timeout,
        catch_up: args.catch_up,
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
        let to = blocking("copying the backup", move || store::copy_into(&p, &d, &m)).await?;
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
        outln!("{}", json(&r));
    } else {
        outp!("{}", report::backup_table(&stored.join(", "), &manifest));
        if let Some(kib) = peak_rss_kib() {
            outln!("{:<20} {}", "peak rss", report::bytes(kib * 1024));
        }
        for f in &deleted {
            outln!("{:<20} {f}", "deleted (retention)");
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
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// `warden backups list`.
pub(super) async fn list(args: BackupsListArgs) -> Result<u8> {
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
                .map(|manifest| Entry {
                    path: format!("{url}/{}", manifest.file).into(),
                    manifest,
                })
                .collect();
            (entries, Vec::new())
        }
    };
    if args.json {
        let manifests: Vec<&Manifest> = entries.iter().map(|e| &e.manifest).collect();
        outln!("{}", json(&manifests));
    } else {
        outp!("{}", report::list_table(&entries, &incomplete));
    }
    Ok(EXIT_MET)
}

/// `warden dr-drill`: exit 0 every target and check met, 1 one missed, 2 could not run.
pub(super) async fn dr_drill(args: DrDrillArgs) -> Result<u8> {
    let scenario = crate::dr::load(&args.scenario)?;
    let report = crate::dr::run(&scenario).await?;
    if args.json {
        outln!("{}", json(&report));
    } else {
        outp!("{}", report.table());
    }
    Ok(if report.ok { EXIT_MET } else { EXIT_MISSED })
}

/// `warden backups verify --all`: exit 0 every backup is good, 1 one is damaged, 2 could
/// not run.
pub(super) async fn verify_all(args: BackupsVerifyArgs) -> Result<u8> {
    let audit = match Dest::parse(&args.dest) {
        Dest::Local(dir) => blocking("checking backups", move || audit::local(&dir)).await?,
        Dest::Bucket(url) => {
            let r = Remote::open(&url, args.s3_endpoint.as_deref())?;
            audit::remote(&r).await?
        }
    };
    if args.json {
        outln!("{}", json(&audit));
    } else {
        outp!("{}", audit.table());
    }
    Ok(if audit.damaged() == 0 {
        EXIT_MET
    } else {
        EXIT_MISSED
    })
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
pub(super) async fn restore_test(args: RestoreTestArgs) -> Result<u8> {
    let spec = trial::Spec {
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
    let observed = trial::run(&spec).await?;
    let checks = checks::evaluate(&observed);
    let ok = checks.iter().all(|c| c.ok);
    if args.json {
        let r = RestoreTestReport {
            ok,
            observed: &observed,
            checks: &checks,
        };
        outln!("{}", json(&r));
    } else {
        outp!("{}", checks::table(&observed, &checks));
    }
    Ok(if ok { EXIT_MET } else { EXIT_MISSED })
}

/// `warden restore`: exit 0 restored, 1 the backup failed its checksum or verification (or,
/// into a container, the node's key count disagrees with it), 2 could not run.
pub(super) async fn restore(args: RestoreArgs) -> Result<u8> {
    let mut spec = restore::Spec {
        target: args.target,
        dest: args.dest,
        s3_endpoint: args.s3_endpoint,
        into: args.into,
        no_checkpoint: args.no_checkpoint,
        dbfilename: args.dbfilename,
        appenddirname: args.appenddirname,
        appendfilename: args.appendfilename,
        conn: crate::conn::Conn::build(&super::conn_spec(&args.conn)?)?,
        for_server: None,
    };
    if let Some(text) = &args.for_server {
        spec.for_server = Some(restore::loads::server_for(text, &spec.conn).await?);
    }
    let dir = match restore::parse_into(&spec.into)? {
        restore::Target::Dir(dir) => dir,
        restore::Target::Docker(container) => {
            let r = restore::docker::run(&spec, &container).await?;
            if args.json {
                outln!("{}", json(&r));
            } else {
                outp!("{}", restore::report::restored_docker(&r));
            }
            return Ok(if r.check.ok { EXIT_MET } else { EXIT_MISSED });
        }
    };
    let r = restore::dir::run(&spec, dir).await?;
    if args.json {
        outln!("{}", json(&r));
        return Ok(EXIT_MET);
    }
    outln!("{:<20} {} ({} keys)", "restored", r.file, r.keys);
    outln!("{:<20} {}", "rdb", r.rdb.display());
    outln!(
        "{:<20} {} (base = the same RDB)",
        "aof",
        r.aof_dir.display()
    );
    let what = if r.checkpointed { "kept" } else { "deleted" };
    for p in &r.previous {
        outln!("{:<20} {}", format!("previous ({what})"), p.display());
    }
    outln!(
        "{:<20} start the node: with appendonly yes it loads {}, with appendonly no {}",
        "next",
        r.aof_dir.display(),
        r.rdb.display()
    );
    Ok(EXIT_MET)
}
