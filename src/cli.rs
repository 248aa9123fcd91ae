//! The command line (clap derive). Declarations only: no logic lives here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::addr::Addr;
use crate::lab::Backend;
use crate::telemetry::LogFormat;
use crate::telemetry::otlp::Protocol;

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
    /// The trend over a directory of saved drill reports (exit 1 on a regression).
    #[arg(long, value_name = "DIR", conflicts_with = "report")]
    pub trend: Option<PathBuf>,
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
    /// *.before-restore-<time>.
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
    /// The stored backup file (its manifest beside it), or "latest" in --dest.
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
    /// Compression of the stored file.
    #[arg(long, value_enum, default_value = "gzip")]
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
}

/// `warden bench watch`.
#[derive(Debug, Args)]
pub struct BenchWatch {
    /// Masters the 3 Sentinels monitor (each with 2 replicas).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u16).range(1..=200))]
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
    /// The quiet window before the first failover, for idle CPU (default: 30s, at most a
    /// quarter of --duration).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub idle: Option<Duration>,
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
    /// Also save the JSON report in this directory under a timestamped name (for `report --trend`).
    #[arg(long, value_name = "DIR")]
    pub save: Option<PathBuf>,
    /// Print what would be done and exit without touching anything.
    #[arg(long)]
    pub dry_run: bool,
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
    #[arg(long, env = "WARDEN_SENTINELS", value_delimiter = ',')]
    pub sentinels: Vec<Addr>,
    /// Master name the Sentinels monitor; default: the lab's, else mymaster.
    #[arg(long, env = "WARDEN_MASTER")]
    pub master: Option<String>,
    /// The lab to watch when no --sentinels are given.
    #[arg(long, env = "WARDEN_LAB_DIR", default_value = ".warden/lab")]
    pub lab_dir: PathBuf,
    /// One JSON object per line instead of text.
    #[arg(long)]
    pub json: bool,
    /// Stop after this many failover episodes have ended.
    #[arg(long)]
    pub episodes: Option<u32>,
    /// Stop after this long (default: until SIGINT or SIGTERM).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Serve /metrics (Prometheus), /healthz and /readyz on this address, e.g. 0.0.0.0:9121.
    #[arg(long, env = "WARDEN_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub conn: ConnArgs,
}

/// How to connect: credentials of the data nodes and of the Sentinels, TLS, and the hostname
/// map. Secrets come from a file or an environment variable; a `--password` value is
/// accepted but shows in `ps`.
#[derive(Debug, Clone, Default, Args)]
pub struct ConnArgs {
    /// ACL user on the data nodes (default: the `default` user).
    #[arg(long, env = "WARDEN_REDIS_USER")]
    pub user: Option<String>,
    /// Password of the data nodes. Prefer WARDEN_REDIS_PASSWORD or --password-file: a flag
    /// value shows in `ps`.
    #[arg(long, env = "WARDEN_REDIS_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// File holding the data nodes' password (wins over --password).
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// ACL user on the Sentinels (default: the `default` user).
    #[arg(long, env = "WARDEN_SENTINEL_USER")]
    pub sentinel_user: Option<String>,
    /// Password of the Sentinels (their own requirepass or ACL user). Prefer
    /// WARDEN_SENTINEL_PASSWORD or --sentinel-password-file.
    #[arg(long, env = "WARDEN_SENTINEL_PASSWORD", hide_env_values = true)]
    pub sentinel_password: Option<String>,
    /// File holding the Sentinels' password (wins over --sentinel-password).
    #[arg(long)]
    pub sentinel_password_file: Option<PathBuf>,
    /// TLS to the data nodes and the Sentinels.
    #[arg(long, conflicts_with_all = ["tls_nodes", "tls_sentinels"])]
    pub tls: bool,
    /// TLS to the data nodes only.
    #[arg(long, conflicts_with = "tls_sentinels")]
    pub tls_nodes: bool,
    /// TLS to the Sentinels only.
    #[arg(long)]
    pub tls_sentinels: bool,
    /// PEM file of the CA that signs the servers' certificates (default: the system's).
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
    /// PEM client certificate (for tls-auth-clients yes).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The name the servers' certificates must carry (default: the host connected to).
    #[arg(long)]
    pub tls_server_name: Option<String>,
    /// Accept any server certificate (throw-away test setups only).
    #[arg(long)]
    pub tls_insecure: bool,
    /// Connect to IP whenever NAME is given or announced by a Sentinel (repeatable, like
    /// curl's --resolve); reports and TLS keep the name.
    #[arg(long, value_name = "NAME=IP")]
    pub resolve: Vec<crate::conn::Resolve>,
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
