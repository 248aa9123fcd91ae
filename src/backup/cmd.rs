//! Dispatch of the backup commands (`verify`, `backup`, `restore-test`, `backups list`):
//! arguments in, report printed, exit code out. The work lives in the sibling modules.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use serde::Serialize;

use crate::backup::compress::Compression;
use crate::backup::rdb::{self, Options, Summary};
use crate::backup::report;
use crate::backup::{checks, restore_test, take};
use crate::cli::{BackupArgs, RestoreTestArgs, VerifyArgs};
use crate::error::{EXIT_MET, EXIT_MISSED, Error, Result};

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
    let spec = take::Spec {
        sentinels: args.sentinel.sentinels,
        master: args.sentinel.master,
        dest: args.dest,
        method: args.method,
        data_dir: args.data_dir,
        compression: args.compress,
        allow_primary: args.allow_primary,
        password: args.password,
        pattern: args.pattern,
        timeout: args.timeout,
    };
    let (manifest, path) = take::run(&spec).await?;
    if args.json {
        println!("{}", manifest.to_json());
    } else {
        print!(
            "{}",
            report::backup_table(&path.display().to_string(), &manifest)
        );
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
        sample: args.sample,
        check_cmd: args.check_cmd,
        redis_server: args.redis_server,
        timeout: args.timeout,
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
