//! The command line (clap derive). Declarations only: no logic lives here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::addr::Addr;
use crate::lab::Backend;
use crate::telemetry::LogFormat;
use crate::telemetry::otlp::Protocol;

mod backup;
mod conn;

pub use backup::*;
pub use conn::ConnArgs;

/// Measure and trust Redis Sentinel high availability.
///
/// Exit codes: 0 = targets met (or the command succeeded), 1 = targets missed,
/// 2 = could not run (including a bad flag or value), 130 / 143 / 129 = cancelled by
/// SIGINT / SIGTERM / SIGHUP (faults reverted first; a drill writes its partial report).
#[derive(Debug, Parser)]
#[command(
    name = "warden",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 = targets met (or the command succeeded), 1 = targets missed, \
                  2 = could not run (including a bad flag or value), 130 / 143 / 129 = \
                  cancelled by SIGINT / SIGTERM / SIGHUP: injected faults are reverted first \
                  (further signals are ignored until they are), and a drill writes its partial \
                  report."
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug); WARDEN_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Log lines on stderr as text (human) or one JSON object per line (json).
    #[arg(
        long,
        global = true,
        value_enum,
        env = "WARDEN_LOG_FORMAT",
        default_value = "human"
    )]
    pub log_format: LogFormat,
    /// Export traces over OTLP to this endpoint, e.g. http://127.0.0.1:4317 (gRPC) or
    /// http://127.0.0.1:4318 (http/protobuf; /v1/traces is appended): one trace per failover
    /// that watch or drill observes, and warden's own spans (any command).
    /// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, used as it is, wins.
    #[arg(long, global = true, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// The OTLP transport [default: grpc]; OTEL_EXPORTER_OTLP_TRACES_PROTOCOL wins.
    #[arg(long, global = true, value_enum, env = "OTEL_EXPORTER_OTLP_PROTOCOL")]
    pub otlp_protocol: Option<Protocol>,
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
    /// Run the loss check again from a drill's --history file against a live cluster.
    Check(CheckArgs),
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
    /// Stored backups.
    #[command(subcommand)]
    Backups(BackupsCommand),
    /// Put a verified backup into a stopped node's data dir or a container (RDB + an AOF based on it).
    Restore(RestoreArgs),
    /// Audit a live deployment's HA configuration against known hazards (one shot).
    Doctor(DoctorArgs),
    /// Revert what killed drills left behind (recorded in the fault journal in
    /// $WARDEN_STATE_DIR): SIGCONT, restart a node, unpause / start / reconnect a container,
    /// delete tagged iptables rules, remove an orphaned ephemeral lab.
    Heal(HealArgs),
    /// Render a saved drill report (table, SVG timelines, HTML page), or the trend of many.
    Report(ReportArgs),
    /// Time a restore of the newest backup against restore_rto and backup_rpo targets.
    DrDrill(DrDrillArgs),
    /// Read a multi-part AOF: commands by type, keys, the last complete command, a torn tail.
    #[command(subcommand)]
    Aof(AofCommand),
}

/// `warden report`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["report", "trend"])))]
pub struct ReportArgs {
    /// A drill report saved with `drill --json` or `--save`.
    pub report: Option<PathBuf>,
    /// Write one SVG timeline per trial into this directory.
    #[arg(long, value_name = "DIR")]
    pub svg: Option<PathBuf>,
    /// Write one self-contained HTML page (the report, or with --trend the trend).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// The trend over the saved drill reports in a directory or an `s3://bucket/prefix`
    /// (exit 1 on a regression).
    #[arg(long, value_name = "DIR|URL", conflicts_with = "report")]
    pub trend: Option<String>,
    /// S3-compatible endpoint URL for an s3:// --trend.
    #[arg(long, env = "WARDEN_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// With --trend: compare the newest run with the median of this many runs before it.
    #[arg(long, default_value_t = 5)]
    pub window: usize,
    /// With --trend: a regression is a figure more than this much above its baseline.
    #[arg(long, default_value = "20%", value_parser = crate::render::trend::parse_threshold)]
    pub threshold: f64,
}

/// `warden doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// How to connect (auth, TLS, --resolve).
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Sentinel addresses (host:port, comma-separated); default: the lab's.
    #[arg(long, env = "WARDEN_SENTINELS", value_delimiter = ',')]
    pub sentinels: Vec<Addr>,
    /// Master name the Sentinels monitor; default: the lab's, else mymaster.
    #[arg(long, env = "WARDEN_MASTER")]
    pub master: Option<String>,
    /// The lab to audit when no --sentinels are given.
    #[arg(long, env = "WARDEN_LAB_DIR", default_value = ".warden/lab")]
    pub lab_dir: PathBuf,
    /// Client RTO target in ms: check down-after-milliseconds and failover-timeout against it.
    #[arg(long)]
    pub rto_ms: Option<u64>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value = "error")]
    pub fail_on: crate::doctor::report::Severity,
}

/// `warden heal`.
#[derive(Debug, Args)]
pub struct HealArgs {
    /// List the leftovers and what would be done, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `warden bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The session workload's acknowledged-SET throughput vs redis-benchmark, on one lab primary.
    Workload(BenchWorkload),
    /// Backup and verify timings vs redis-check-rdb, the runbook script and redis-cli --rdb.
    Backup(BenchBackup),
    /// The production watch at scale: RSS, CPU and missed or doubled failover records while
    /// 3 Sentinels fail N masters over in turn.
    Watch(BenchWatch),
    /// The drill's loss check over N acknowledged keys on a scratch redis-server.
    Loss(BenchLoss),
}

/// `warden bench loss`.
#[derive(Debug, Args)]
pub struct BenchLoss {
    /// Acknowledged keys to check.
    #[arg(long, default_value_t = 1_000_000)]
    pub keys: u32,
    /// Rounds (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
}

/// `warden bench watch`.
#[derive(Debug, Args)]
pub struct BenchWatch {
    /// Masters the 3 Sentinels monitor (each with 2 replicas).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u16).range(1..=400))]
    pub masters: u16,
    /// Time between failover requests (the next master in turn).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "20s")]
    pub failover_every: Duration,
    /// How long failovers are requested (after the quiet window).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10m")]
    pub duration: Duration,
    /// Time between samples of the watch's RSS and CPU.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s")]
    pub sample: Duration,
    /// The watch's topology poll period (its `--poll`).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s")]
    pub poll: Duration,
    /// The quiet window before the first failover, for idle CPU (default: 30s, at most a
    /// quarter of --duration).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub idle: Option<Duration>,
    /// Keep every line the watch printed (`watch --json`: its records) in this file.
    #[arg(long, value_name = "FILE")]
    pub keep_lines: Option<PathBuf>,
    /// The report as one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `warden bench backup`.
#[derive(Debug, Args)]
pub struct BenchBackup {
    /// Session keys in the dataset.
    #[arg(long, default_value_t = 1_000_000)]
    pub keys: u64,
    /// Value size in bytes (random bytes, as encrypted sessions are).
    #[arg(long, default_value_t = 200)]
    pub value_size: usize,
    /// Repetitions of each timing (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub rounds: u32,
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
    /// Also write one SVG timeline per trial into this directory.
    #[arg(long, value_name = "DIR")]
    pub svg: Option<PathBuf>,
    /// Also save the JSON report in this directory or `s3://bucket/prefix` under a timestamped
    /// name (for `report --trend`).
    #[arg(long, value_name = "DIR|URL")]
    pub save: Option<String>,
    /// S3-compatible endpoint URL for an s3:// --save.
    #[arg(long, env = "WARDEN_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// Print what would be done and exit without touching anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Also write every write as a JSON line to this file (key, node, times, outcome, what the
    /// loss check found); see docs/book/src/drill.md for the format.
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Run trials until the p95 of client RTO moves by less than this fraction (0.05 = 5 %)
    /// with a trial, once --min-trials measured it; the scenario's `trials` is the cap.
    #[arg(long, value_name = "FRACTION", value_parser = parse_fraction)]
    pub until_stable: Option<f64>,
    /// With --until-stable: trials that must measure a client RTO before it may stop.
    #[arg(long, default_value_t = 20, requires = "until_stable")]
    pub min_trials: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub conn: ConnArgs,
}

/// A fraction in (0, 1).
fn parse_fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if f > 0.0 && f < 1.0 => Ok(f),
        _ => Err(format!("not a fraction between 0 and 1: {s:?} (e.g. 0.05)")),
    }
}

/// `warden check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A history file written by `drill --history`.
    pub history: PathBuf,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub at: SentinelArgs,
    /// Also write the history again with what this check found.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print the counts as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub conn: ConnArgs,
}

/// `warden lab …`.
#[derive(Debug, Subcommand)]
pub enum LabCommand {
    /// Start the lab and wait until the Sentinels agree and the replicas are in sync.
    Up(LabUp),
    /// Show the lab's processes or containers, each node's live role, link and lag, and the
    /// primary per Sentinels.
    Status(LabStatus),
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
    /// Fail unless the recorded lab uses this backend (default: whatever lab.json records).
    #[arg(long, value_enum)]
    pub backend: Option<Backend>,
}

/// `warden lab status`: the lab, and connection settings over the ones `lab.json` records.
#[derive(Debug, Args)]
pub struct LabStatus {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub at: LabAt,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub conn: ConnArgs,
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
    /// The 3 node ports, comma-separated; the first starts as the primary (process backend).
    #[arg(long, value_delimiter = ',', default_value = "7100,7101,7102")]
    pub ports: Vec<u16>,
    /// The 3 Sentinel ports, comma-separated (process backend).
    #[arg(long, value_delimiter = ',', default_value = "7110,7111,7112")]
    pub sentinel_ports: Vec<u16>,
    /// Master name the Sentinels monitor.
    #[arg(long, default_value = "mymaster")]
    pub master: String,
    /// Sentinels that must agree the master is down.
    #[arg(long, default_value_t = 2)]
    pub quorum: u32,
    /// Sentinel down-after-milliseconds, as a duration (1s, 500ms).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "1s")]
    pub down_after: Duration,
    /// Sentinel failover-timeout, as a duration (10s, 1m).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    pub failover_timeout: Duration,
    /// Sentinel parallel-syncs.
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
    /// Secure the lab with passwords: nodes with requirepass and an ACL user `warden` (whose
    /// credentials warden then uses), Sentinels with their own requirepass; random secrets
    /// written 0600 into the lab directory.
    #[arg(long)]
    pub auth: bool,
    /// TLS only (port 0, tls-port) on nodes and Sentinels, with a throw-away CA and
    /// certificates generated into the lab directory.
    #[arg(long)]
    pub tls: bool,
}

/// `warden watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Sentinel addresses (host:port, comma-separated); default: the lab's.
    #[arg(
        long,
        env = "WARDEN_SENTINELS",
        value_delimiter = ',',
        conflicts_with = "config"
    )]
    pub sentinels: Vec<Addr>,
    /// A master to follow (repeatable); default: every master the Sentinels monitor.
    #[arg(long, env = "WARDEN_MASTER", value_delimiter = ',')]
    pub master: Vec<String>,
    /// Several Sentinel groups from a TOML file (`[[group]]` tables; see docs/book/src/watch.md).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The lab to watch when neither --sentinels nor --config is given.
    #[arg(long, env = "WARDEN_LAB_DIR", default_value = ".warden/lab")]
    pub lab_dir: PathBuf,
    /// One JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
    /// Stop after this many failover episodes have ended.
    #[arg(long)]
    pub episodes: Option<u32>,
    /// Also write one SVG timeline per failover episode into this directory
    /// (`<master>-<epoch>.svg`).
    #[arg(long, value_name = "DIR")]
    pub svg: Option<PathBuf>,
    /// Stop after this long (default: until SIGINT or SIGTERM).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Serve /metrics (Prometheus), /healthz and /readyz on this address, e.g. 0.0.0.0:9121.
    #[arg(long, env = "WARDEN_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// How often each master's topology is polled.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub poll: Duration,
    /// RTO target, ms: a failover whose clients could not write for longer is a hazard.
    #[arg(long)]
    pub rto_ms: Option<u64>,
    /// Flapping: --flap-count failovers of one master within this window.
    #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
    pub flap_window: Duration,
    /// Failovers within --flap-window that make flapping.
    #[arg(long, default_value_t = 2)]
    pub flap_count: usize,
    /// Replica lag above this is a hazard (bytes; K/KB/M/MB/G/GB suffixes, powers of 1024).
    #[arg(long, default_value = "1MB", value_parser = parse_bytes)]
    pub max_lag: u64,
    /// Replica lag above this (seconds since its last acknowledgement) is a hazard.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub max_lag_time: Duration,
    /// Exposure above this many writes (what a failover now would lose) is a hazard.
    #[arg(long, default_value_t = 1000.0)]
    pub max_exposure: f64,
    /// Exposure above this much time of writes is a hazard.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub max_exposure_time: Duration,
    /// Run `warden doctor`'s audit over every watched master this often and export the
    /// findings as warden_doctor_findings{severity}; 0 turns it off.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub doctor_every: Duration,
    /// Where backups are kept (a directory, s3:// or gs://; repeatable): the newest manifest
    /// of each master there is read every --backup-every into the backup metrics. A
    /// --config group's `backups` replace these.
    #[arg(long = "backup-dest", value_name = "DEST")]
    pub backup_dest: Vec<String>,
    /// The newest backup of a master may be this old; older is a `backup-stale` hazard. A
    /// --config group's `backup_rpo` replaces it.
    #[arg(long, default_value = "26h", value_parser = humantime::parse_duration)]
    pub backup_rpo: Duration,
    /// How often the backup destinations are read.
    #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
    pub backup_every: Duration,
    /// S3-compatible endpoint URL for s3:// backup destinations (credentials from AWS_*).
    #[arg(long, env = "WARDEN_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub conn: ConnArgs,
}

/// `1048576`, `512K`, `1MB`, `2G`: bytes, with binary suffixes.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().map_err(|_| format!("not a size: {s:?}"))?;
    let mult: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" => 1 << 10,
        "M" | "MB" => 1 << 20,
        "G" | "GB" => 1 << 30,
        _ => return Err(format!("unknown size unit in {s:?} (B, KB, MB, GB)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("too large: {s:?}"))
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
