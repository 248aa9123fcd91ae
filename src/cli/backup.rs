//! The backup wing's arguments: `backup`, `backups`, `verify`, `restore-test`, `restore`,
//! `aof` and `dr-drill`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::*;

/// `warden aof …`.
#[derive(Debug, Subcommand)]
pub enum AofCommand {
    /// Report what an AOF directory (or manifest, or lone .aof file) holds; exit 1 if damaged.
    Inspect(AofInspectArgs),
    /// Copy an AOF into a new directory, cut at its last complete command (never in place).
    Trim(AofTrimArgs),
}

/// `warden aof inspect`.
#[derive(Debug, Args)]
pub struct AofInspectArgs {
    /// The AOF directory (appendonlydir), its manifest, or a lone .aof file.
    pub path: PathBuf,
    /// Look for a torn tail only: exit 1 and name it when the input ends inside a command.
    #[arg(long)]
    pub truncated: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `warden aof trim`.
#[derive(Debug, Args)]
pub struct AofTrimArgs {
    /// The AOF directory (appendonlydir) or its manifest.
    pub path: PathBuf,
    /// The new directory to write (must not exist).
    #[arg(long)]
    pub to: PathBuf,
    /// Print what was done as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `warden dr-drill`.
#[derive(Debug, Args)]
pub struct DrDrillArgs {
    /// The restore-drill scenario file (TOML).
    pub scenario: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `warden restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The stored backup: a file, s3://bucket/prefix/file, gs://bucket/prefix/file, or
    /// "latest" in --dest.
    pub target: String,
    /// Where to restore: dir:PATH, the data dir of a stopped node, or docker:CONTAINER, a
    /// running container labelled io.warden.role=primary|replica (stopped, filled, started).
    #[arg(long)]
    pub into: String,
    /// Backup directory, s3://bucket/prefix or gs://bucket/prefix (where "latest" is looked
    /// up).
    #[arg(long, env = "WARDEN_BACKUP_DEST", default_value = ".")]
    pub dest: String,
    /// S3-compatible endpoint URL for s3:// locations.
    #[arg(long, env = "WARDEN_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Delete the node's previous dump.rdb and AOF instead of keeping them as
    /// `*.before-restore-<time>`.
    #[arg(long)]
    pub no_checkpoint: bool,
    /// The node's dbfilename.
    #[arg(long, default_value = "dump.rdb")]
    pub dbfilename: String,
    /// The node's appenddirname.
    #[arg(long, default_value = "appendonlydir")]
    pub appenddirname: String,
    /// The node's appendfilename.
    #[arg(long, default_value = "appendonly.aof")]
    pub appendfilename: String,
    /// dir: the server the stopped node runs (redis-7.0, valkey-9.1, …): a backup it would
    /// not load is refused before anything is written. A docker: node is asked instead.
    #[arg(long = "for", value_name = "SERVER")]
    pub for_server: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub conn: ConnArgs,
    /// Print what was done as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `warden backups …`.
#[derive(Debug, Subcommand)]
pub enum BackupsCommand {
    /// List the backups in a directory, oldest first, and any interrupted ones.
    List(BackupsListArgs),
    /// Re-check every stored backup (checksum, RDB structure, key counts vs the manifest);
    /// exit 1 if any is damaged.
    Verify(BackupsVerifyArgs),
}

/// `warden backups verify --all`.
#[derive(Debug, Args)]
pub struct BackupsVerifyArgs {
    /// Check every backup in --dest (required: the command checks a whole store).
    #[arg(long, required = true)]
    pub all: bool,
    /// Backup directory, s3://bucket/prefix or gs://bucket/prefix.
    #[arg(long, env = "WARDEN_BACKUP_DEST")]
    pub dest: String,
    /// S3-compatible endpoint URL for s3:// locations.
    #[arg(long, env = "WARDEN_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Print the verdicts as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `warden backups list`.
#[derive(Debug, Args)]
pub struct BackupsListArgs {
    /// Backup directory, s3://bucket/prefix or gs://bucket/prefix.
    #[arg(long, env = "WARDEN_BACKUP_DEST")]
    pub dest: String,
    /// S3-compatible endpoint URL for s3:// locations.
    #[arg(long, env = "WARDEN_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Print the manifests as a JSON array.
    #[arg(long)]
    pub json: bool,
}

/// `warden restore-test`.
#[derive(Debug, Args)]
pub struct RestoreTestArgs {
    /// The stored backup file (its manifest beside it), "latest" in --dest, or "latest-good"
    /// (the newest that passes `backups verify`).
    pub target: String,
    /// Backup directory, s3://bucket/prefix or gs://bucket/prefix (where "latest" is looked
    /// up).
    #[arg(long, env = "WARDEN_BACKUP_DEST", default_value = ".")]
    pub dest: String,
    /// S3-compatible endpoint URL for s3:// locations.
    #[arg(long, env = "WARDEN_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Session keys to spot-check (GET readable, PTTL > 0).
    #[arg(long, default_value_t = 100)]
    pub sample: usize,
    /// Shell command fed each sampled value on stdin; a non-zero exit counts as a failure.
    #[arg(long)]
    pub check_cmd: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Longest wait for the scratch server to load the RDB.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5m")]
    pub timeout: Duration,
    /// The redis-server binary (process backend).
    #[arg(long, env = "WARDEN_REDIS_SERVER", default_value = "redis-server")]
    pub redis_server: PathBuf,
    /// Where the scratch server runs: a local process, or a container through the Docker API.
    #[arg(long, value_enum, default_value = "process")]
    pub backend: Backend,
    /// The Redis image of the scratch container (docker backend; never pulled).
    #[arg(long, env = "WARDEN_REDIS_IMAGE", default_value = "redis:7.2")]
    pub image: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub conn: ConnArgs,
}

/// `warden backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub sentinel: SentinelArgs,
    /// Where the backup and its manifest go: a directory (created if missing),
    /// s3://bucket/prefix or gs://bucket/prefix (credentials from
    /// GOOGLE_APPLICATION_CREDENTIALS); repeat for several destinations.
    #[arg(long, env = "WARDEN_BACKUP_DEST", required = true)]
    pub dest: Vec<String>,
    /// S3-compatible endpoint URL for s3:// destinations (credentials from AWS_* variables).
    #[arg(long, env = "WARDEN_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// How to get the RDB from the replica.
    #[arg(long, value_enum, default_value = "stream")]
    pub method: crate::backup::take::Method,
    /// The node's data dir, where BGSAVE writes dump.rdb (bgsave; default: its CONFIG GET dir).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// bgsave: copy dump.rdb out of the node's container through the Docker API (the
    /// container is the one the node's address names: IP, alias, name or compose service).
    #[arg(long, requires = "method")]
    pub from_container: bool,
    /// Compression of the stored file. zstd (the default) backs up in about half gzip's
    /// time at the same or a smaller size (the book, `bench backup`); gzip for tools that
    /// only read .gz.
    #[arg(long, value_enum, default_value = "zstd")]
    pub compress: crate::backup::compress::Compression,
    /// Take it from the primary (which then forks) when no replica is healthy.
    #[arg(long)]
    pub allow_primary: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub conn: ConnArgs,
    /// Count keys matching this glob into the manifest.
    #[arg(long, default_value = "session:*")]
    pub pattern: String,
    /// Longest wait for the node's snapshot.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10m")]
    pub timeout: Duration,
    /// Copy the replica's multi-part AOF directory instead of taking an RDB (BGREWRITEAOF,
    /// then the files its manifest names; the replica's data dir must be on this host, or
    /// mounted at --data-dir). Stored as `DEST/redis-<master>-<time>.aof/`.
    #[arg(long)]
    pub aof: bool,
    /// Before the snapshot, wait up to this long for the replica to reach the primary's
    /// master_repl_offset read at the start; then go ahead and record the lag in the
    /// manifest (source.freshness: lag_bytes, caught_up). 0 measures without waiting.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s")]
    pub catch_up: Duration,
    /// After a successful backup, keep the N newest backups of this master (and any kept by
    /// --keep-days); the newest is never deleted.
    #[arg(long)]
    pub keep_last: Option<usize>,
    /// After a successful backup, keep backups younger than N days (and any kept by
    /// --keep-last); the newest is never deleted.
    #[arg(long)]
    pub keep_days: Option<u64>,
    /// Print the manifest as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `warden verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The RDB file; .gz and .zst are decompressed on the fly.
    pub file: PathBuf,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Count keys matching this glob (* and ? wildcards, \ escapes).
    #[arg(long, default_value = "session:*")]
    pub pattern: String,
    /// Also say whether the file loads on this server: redis-7.0, redis-7.2, redis-7.4,
    /// redis-8.2, valkey-8.1, valkey-9.1 (any FAMILY-MAJOR.MINOR), or HOST:PORT of a live
    /// node (asked with INFO server). Exit 1 when it does not load.
    #[arg(long = "for", value_name = "SERVER")]
    pub for_server: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub conn: ConnArgs,
}
