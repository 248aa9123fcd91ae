//! The crate's error type and the exit-code policy of the `warden` binary.

use std::path::PathBuf;
use std::time::Duration;

use crate::addr::Addr;

/// Exit code: the run completed and every target was met.
pub const EXIT_MET: u8 = 0;
/// Exit code: the run completed and at least one target was missed.
pub const EXIT_MISSED: u8 = 1;
/// Exit code: the run could not be carried out or measured (bad input, unreachable cluster, …).
pub const EXIT_ERROR: u8 = 2;
// A command cancelled by a signal exits 128 + its number: 130 (SIGINT), 143 (SIGTERM),
// 129 (SIGHUP); see `shutdown::Signal::exit_code`. A drill writes its partial report first.

/// The path an [`Error::Io`] names when writing to standard output failed.
pub const STDOUT: &str = "<stdout>";

/// Everything that stops warden from doing what it was asked.
///
/// Each variant carries the context a reader needs to act on it; the message is one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The `redis-server` binary is not installed or not executable.
    #[error(
        "'{binary}' not found: install Redis (apt-get install redis-server) or set WARDEN_REDIS_SERVER"
    )]
    RedisServerMissing {
        /// The binary that was looked for.
        binary: String,
    },
    /// A port the lab needs is already bound by another process.
    #[error("port {port} ({what}) is already in use: stop what holds it or choose other ports")]
    PortInUse {
        /// The port.
        port: u16,
        /// What warden wanted to run there.
        what: String,
    },
    /// A process could not be started.
    #[error("cannot start {what}: {source}")]
    Spawn {
        /// What was being started.
        what: String,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// A process warden started exited while warden waited for it.
    #[error("{what} exited during start-up; see its log {log}")]
    ProcessExited {
        /// The process.
        what: String,
        /// Its log file.
        log: PathBuf,
    },
    /// A Redis node or Sentinel could not be reached.
    #[error("cannot reach {addr}: {source}")]
    Connect {
        /// The address.
        addr: Addr,
        /// What the client saw.
        #[source]
        source: redis::RedisError,
    },
    /// A command failed on a reachable node or Sentinel.
    #[error("{command} on {addr} failed: {source}")]
    Command {
        /// The address.
        addr: Addr,
        /// The command, e.g. `SENTINEL MASTER`.
        command: String,
        /// What the server or client said.
        #[source]
        source: redis::RedisError,
    },
    /// A node or Sentinel refused the credentials (or needs some and none were given).
    #[error("authentication failed for user {user} on {addr} ({detail}); {hint}")]
    Auth {
        /// The user warden authenticated as (`default` when none was set).
        user: String,
        /// The address.
        addr: Addr,
        /// What the server said (never the password).
        detail: String,
        /// Which flags or variables give the password.
        hint: String,
    },
    /// An ACL user lacks a permission warden needs.
    #[error("user {user} may not run {command} on {addr}: grant it (docs/book/src/acls.md)")]
    NoPerm {
        /// The user.
        user: String,
        /// The refused command, e.g. `ROLE` or `CONFIG GET`.
        command: String,
        /// The address.
        addr: Addr,
    },
    /// TLS could not be set up (a CA or key file) or the handshake failed.
    #[error("{message}")]
    Tls {
        /// What went wrong, naming the file or the address.
        message: String,
    },
    /// No Sentinel answered at all.
    #[error("no Sentinel answered ({sentinels}): {last}")]
    NoSentinel {
        /// The Sentinels that were asked.
        sentinels: String,
        /// The last failure.
        last: String,
    },
    /// The Sentinels answered but none monitors this master name.
    #[error("no Sentinel of {sentinels} monitors a master named '{master}'")]
    UnknownMaster {
        /// The master name asked for.
        master: String,
        /// The Sentinels that were asked.
        sentinels: String,
    },
    /// Something awaited did not happen before its deadline.
    #[error("{what} within {}: {detail}", humantime::format_duration(*waited))]
    Timeout {
        /// What was awaited, phrased as a failure ("the lab did not become ready").
        what: String,
        /// How long warden waited.
        waited: Duration,
        /// The last thing observed.
        detail: String,
    },
    /// A scenario file is invalid.
    #[error("{path}: {message}")]
    Scenario {
        /// The scenario file.
        path: PathBuf,
        /// What is wrong, with line and field where known.
        message: String,
    },
    /// A saved drill report that cannot be read (not JSON, an unknown schema).
    #[error("{path}: {message}")]
    Report {
        /// The report file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The lab's state directory is missing or unusable.
    #[error("lab state in {dir}: {message}")]
    LabState {
        /// The state directory.
        dir: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// A command-line value is invalid (the message says which and why).
    #[error("{0}")]
    Usage(String),
    /// A signal (SIGINT, SIGTERM, SIGHUP) cancelled the command; what it had started was
    /// undone. Exits 128 + the signal number.
    #[error("cancelled by {}", signal.name())]
    Cancelled {
        /// The signal.
        signal: crate::shutdown::Signal,
    },
    /// warden broke one of its own assumptions: not the user's input, not the cluster.
    #[error("internal error: {what}")]
    Internal {
        /// What went wrong, with the values involved.
        what: String,
    },

    // ---- backups (verify, backup, restore-test, restore) ----
    /// An AOF cannot be used as it is (damaged, not just torn; or changed while copied).
    #[error("{what}: {problem}")]
    AofInvalid {
        /// The AOF directory or file.
        what: String,
        /// What is wrong.
        problem: String,
    },
    /// An RDB snapshot failed verification.
    #[error("{what} is not a valid RDB: {problem}")]
    RdbInvalid {
        /// The file or stream (e.g. `SYNC from 127.0.0.1:7101`).
        what: String,
        /// The verifier's first problem (offset and expectation).
        problem: String,
    },
    /// An RDB that the server it is meant for would not load (`verify --for`, and `restore`
    /// and `restore-test` before they touch anything).
    #[error("{what} does not load on {server}: {reason}")]
    WontLoad {
        /// The file.
        what: String,
        /// The server (`Valkey 8.1`).
        server: String,
        /// Why (`rdb::compat`).
        reason: String,
    },
    /// A stored backup's bytes do not match the sha256 its manifest records.
    #[error("checksum error: {path} has sha256 {actual}, its manifest says {expected}")]
    ChecksumMismatch {
        /// The stored file.
        path: PathBuf,
        /// sha256 from the manifest.
        expected: String,
        /// sha256 of the file as read now.
        actual: String,
    },
    /// A backup manifest is missing, unreadable or inconsistent.
    #[error("manifest {path}: {message}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// No replica is fit to take a backup from.
    #[error(
        "no healthy replica of '{master}' to back up from ({detail}); fix the replicas or pass --allow-primary to fork the primary"
    )]
    NoHealthyReplica {
        /// The master name.
        master: String,
        /// Why each replica was rejected.
        detail: String,
    },
    /// The replication stream (`SYNC`) from a node broke or was refused.
    #[error("SYNC from {addr}: {message}")]
    Sync {
        /// The node.
        addr: Addr,
        /// What went wrong.
        message: String,
    },
    /// An object-store operation failed (bucket missing, credentials, network).
    #[error("{url}: {}", store_one_line(source))]
    ObjectStore {
        /// The destination URL.
        url: String,
        /// What the store said.
        #[source]
        source: object_store::Error,
    },
    /// A background task failed (it panicked or was cancelled).
    #[error("{what} stopped unexpectedly: {detail}")]
    Task {
        /// The task.
        what: String,
        /// The join error.
        detail: String,
    },
    // Docker backend (docker lab and container faults).
    /// The Docker engine cannot be reached.
    #[error("cannot reach the Docker engine at {host}: {message}; start Docker or set DOCKER_HOST")]
    DockerUnavailable {
        /// Where warden looked (`DOCKER_HOST` or the default socket).
        host: String,
        /// What the client saw.
        message: String,
    },
    /// A Docker API call failed.
    #[error("docker: {what}: {message}")]
    Docker {
        /// The call, with its object ("start container warden-ab12-sentinel-1").
        what: String,
        /// What the engine said, on one line.
        message: String,
    },
    /// A container does not qualify for a fault; nothing was done to it.
    #[error("refusing container {container}: {reason}")]
    ContainerRefused {
        /// The container name.
        container: String,
        /// Why (missing opt-in label, other project).
        reason: String,
    },
    /// Nothing matches a container name or address.
    #[error("no container {what}")]
    NoContainer {
        /// What was looked for, phrased to follow "no container".
        what: String,
    },
}

impl Error {
    /// The exit code this error ends the process with.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::RedisServerMissing { .. }
            | Error::PortInUse { .. }
            | Error::Spawn { .. }
            | Error::ProcessExited { .. }
            | Error::Connect { .. }
            | Error::Command { .. }
            | Error::Auth { .. }
            | Error::NoPerm { .. }
            | Error::Tls { .. }
            | Error::NoSentinel { .. }
            | Error::UnknownMaster { .. }
            | Error::Timeout { .. }
            | Error::Scenario { .. }
            | Error::Report { .. }
            | Error::LabState { .. }
            | Error::Io { .. }
            | Error::Usage(_)
            | Error::Internal { .. }
            | Error::DockerUnavailable { .. }
            | Error::Docker { .. }
            | Error::ContainerRefused { .. }
            | Error::NoContainer { .. } => EXIT_ERROR,
            Error::RdbInvalid { .. }
            | Error::WontLoad { .. }
            | Error::ChecksumMismatch { .. }
            | Error::AofInvalid { .. } => EXIT_MISSED,
            Error::Cancelled { signal } => signal.exit_code(),
            Error::Manifest { .. }
            | Error::NoHealthyReplica { .. }
            | Error::Sync { .. }
            | Error::ObjectStore { .. }
            | Error::Task { .. } => EXIT_ERROR,
        }
    }

    /// An [`Error::Internal`]: warden broke one of its own assumptions.
    pub fn internal(what: impl Into<String>) -> Error {
        Error::Internal { what: what.into() }
    }

    /// Whether this is a write to a closed standard output (`warden … | head -1`): the
    /// reader is gone, so warden ends quietly instead of reporting it.
    pub fn is_closed_stdout(&self) -> bool {
        matches!(self, Error::Io { path, source }
            if path.as_os_str() == STDOUT && source.kind() == std::io::ErrorKind::BrokenPipe)
    }

    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

/// `text` with line breaks folded into spaces, so an error stays one line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An object-store error as one line: S3's `<Code>`/`<Message>` when the reply carries them
/// (the XML body would otherwise span lines), else the message with line breaks flattened.
fn store_one_line(e: &object_store::Error) -> String {
    let text = e.to_string();
    let tag = |t: &str| {
        let open = format!("<{t}>");
        let start = text.find(&open)? + open.len();
        let len = text[start..].find(&format!("</{t}>"))?;
        Some(text[start..start + len].to_string())
    };
    match (tag("Code"), tag("Message")) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        _ => one_line(&text),
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
