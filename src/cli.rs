//! The command line (clap derive). Declarations only: no logic lives here.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::addr::Addr;
use crate::lab::Backend;

/// Measure and trust Redis Sentinel high availability.
///
/// Exit codes: 0 = targets met (or the command succeeded), 1 = targets missed,
/// 2 = could not run.
#[derive(Debug, Parser)]
#[command(name = "warden", version, about, long_about = None)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug); WARDEN_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Export traces (every failover `watch` sees, and warden's own spans) over OTLP/gRPC to
    /// this endpoint, e.g. http://127.0.0.1:4317.
    #[arg(long, global = true, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start, inspect or stop a local 3-node, 3-Sentinel lab.
    #[command(subcommand)]
    Lab(LabCommand),
    /// Run a failover drill from a scenario file and report RTO and lost writes.
    Drill(DrillArgs),
    /// Follow every Sentinel's events live and time each failover of the master.
    Watch(WatchArgs),
    /// Benchmarks (tables, not pass/fail).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Check an RDB file (.rdb, .rdb.gz, .rdb.zst): structure, checksum, key counts, TTLs.
    Verify(VerifyArgs),
    /// Take a verified backup from a healthy replica (the primary never forks).
    Backup(BackupArgs),
    /// Prove a stored backup restores: checksum, load into a scratch redis-server, compare, sample.
    RestoreTest(RestoreTestArgs),
}

/// `warden restore-test`.
#[derive(Debug, Args)]
pub struct RestoreTestArgs {
    /// The stored backup file (its manifest beside it), or `latest` in `--dest`.
    pub target: String,
    /// Backup directory (where `latest` is looked up).
    #[arg(long, env = "WARDEN_BACKUP_DEST", default_value = ".")]
    pub dest: PathBuf,
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
    /// The redis-server binary.
    #[arg(long, env = "WARDEN_REDIS_SERVER", default_value = "redis-server")]
    pub redis_server: PathBuf,
}

/// `warden backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub sentinel: SentinelArgs,
    /// Directory the backup and its manifest are written to (created if missing).
    #[arg(long, env = "WARDEN_BACKUP_DEST")]
    pub dest: PathBuf,
    /// How to get the RDB from the replica.
    #[arg(long, value_enum, default_value = "stream")]
    pub method: crate::backup::take::Method,
    /// The node's data dir, where BGSAVE writes dump.rdb (bgsave; default: its CONFIG GET dir).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Compression of the stored file.
    #[arg(long, value_enum, default_value = "gzip")]
    pub compress: crate::backup::compress::Compression,
    /// Take it from the primary (which then forks) when no replica is healthy.
    #[arg(long)]
    pub allow_primary: bool,
    /// Password of the data nodes (AUTH).
    #[arg(long, env = "WARDEN_REDIS_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Count keys matching this glob into the manifest.
    #[arg(long, default_value = "session:*")]
    pub pattern: String,
    /// Longest wait for the node's snapshot.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10m")]
    pub timeout: Duration,
    /// Print the manifest as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `warden verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The RDB file; `.gz` and `.zst` are decompressed on the fly.
    pub file: PathBuf,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Count keys matching this glob (`*`, `?`, `\` escapes).
    #[arg(long, default_value = "session:*")]
    pub pattern: String,
}

/// `warden bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The session workload's acknowledged-SET throughput vs redis-benchmark, on one lab primary.
    Workload(BenchWorkload),
}

/// `warden bench workload`.
#[derive(Debug, Args)]
pub struct BenchWorkload {
    /// Connections (= writers; redis-benchmark -c).
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// Value size in bytes (redis-benchmark -d).
    #[arg(long, default_value_t = 512)]
    pub value_size: usize,
    /// How long warden's workload runs per round.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s")]
    pub duration: Duration,
    /// Rounds.
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
}

/// `warden drill`.
#[derive(Debug, Args)]
pub struct DrillArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Also write the report as JSON to this file (the terminal then gets no progress line).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Print what would be done and exit without touching anything.
    #[arg(long)]
    pub dry_run: bool,
}

/// `warden lab …`.
#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Start the lab and wait until the Sentinels agree and the replicas are in sync.
    Up(LabUp),
    /// Show the lab's processes or containers and what the Sentinels say.
    Status(LabAt),
    /// Stop the processes (or remove the containers, volumes and network) the lab started,
    /// and remove its state directory.
    Down(LabAt),
}

/// An existing lab: its directory, and optionally the backend it is expected to use.
#[derive(Debug, Args)]
pub struct LabAt {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub dir: LabDir,
    /// Fail unless the recorded lab uses this backend (default: whatever `lab.json` records).
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
}

/// Where a lab keeps its state.
#[derive(Debug, Args)]
pub struct LabDir {
    /// State directory of the lab.
    #[arg(long, env = "WARDEN_LAB_DIR", default_value = ".warden/lab")]
    pub dir: PathBuf,
}

/// `warden lab up`.
#[derive(Debug, Args)]
pub struct LabUp {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub dir: LabDir,
    /// Node ports; the first starts as the primary.
    #[arg(long, value_delimiter = ',', default_value = "7100,7101,7102")]
    pub ports: Vec<u16>,
    /// Sentinel ports.
    #[arg(long, value_delimiter = ',', default_value = "7110,7111,7112")]
    pub sentinel_ports: Vec<u16>,
    /// Master name the Sentinels monitor.
    #[arg(long, default_value = "mymaster")]
    pub master: String,
    /// Sentinels that must agree the master is down.
    #[arg(long, default_value_t = 2)]
    pub quorum: u32,
    /// Sentinel `down-after-milliseconds`.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "1s")]
    pub down_after: Duration,
    /// Sentinel `failover-timeout`.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    pub failover_timeout: Duration,
    /// Sentinel `parallel-syncs`.
    #[arg(long, default_value_t = 1)]
    pub parallel_syncs: u32,
    /// How long to wait for the lab to become ready.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "30s")]
    pub timeout: Duration,
    /// The redis-server binary (process backend).
    #[arg(long, env = "WARDEN_REDIS_SERVER", default_value = "redis-server")]
    pub redis_server: PathBuf,
    /// Where the lab runs: local processes, or containers through the Docker API.
    #[arg(long, value_enum, default_value = "process")]
    pub backend: Backend,
    /// The Redis image (docker backend; never pulled: build one offline with
    /// compose/build-local-image.sh).
    #[arg(long, env = "WARDEN_REDIS_IMAGE", default_value = "redis:7.2")]
    pub image: String,
}

/// `warden watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Sentinel addresses (host:port, comma-separated); default: the lab's.
    #[arg(long, env = "WARDEN_SENTINELS", value_delimiter = ',')]
    pub sentinels: Vec<Addr>,
    /// Master name the Sentinels monitor; default: the lab's, else mymaster.
    #[arg(long, env = "WARDEN_MASTER")]
    pub master: Option<String>,
    /// The lab to watch when no `--sentinels` are given.
    #[arg(long, env = "WARDEN_LAB_DIR", default_value = ".warden/lab")]
    pub lab_dir: PathBuf,
    /// One JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
    /// Stop after this many failover episodes have ended.
    #[arg(long)]
    pub episodes: Option<u32>,
    /// Stop after this long (default: until Ctrl-C).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
}

/// How to find the Sentinels of an existing deployment.
#[derive(Debug, Args)]
pub struct SentinelArgs {
    /// Sentinel addresses (host:port, comma-separated).
    #[arg(long, env = "WARDEN_SENTINELS", value_delimiter = ',', required = true)]
    pub sentinels: Vec<Addr>,
    /// Master name the Sentinels monitor.
    #[arg(long, env = "WARDEN_MASTER", default_value = "mymaster")]
    pub master: String,
}
