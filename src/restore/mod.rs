//! Restoring backups: `warden restore` writes one into a stopped node's data dir ([`dir`]) or
//! a container through the Docker API ([`docker`]); `warden restore-test` ([`trial`]) proves
//! one restores by loading it into a throw-away server ([`scratch`] process or
//! [`scratch_docker`] container) and judging what it serves ([`checks`], pure). [`report`]
//! formats what a restore into a container did (pure). [`owner`] gives restored files the
//! owner and mode of the files they replace. [`loads`] refuses a backup the target server
//! would not load, before anything is touched.
//!
//! Finding, downloading and unpacking a stored backup is [`crate::backup::fetch`]; this module
//! only reads backups, it never takes them.

pub(crate) mod checks;
pub(crate) mod dir;
pub(crate) mod docker;
pub(crate) mod loads;
pub(crate) mod owner;
pub(crate) mod report;
pub(crate) mod scratch;
pub mod scratch_docker;
pub(crate) mod trial;

use std::path::{Path, PathBuf};

use crate::backup::fetch;
use crate::backup::manifest::Manifest;
use crate::error::{Error, Result};

/// What to restore, and how.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// The stored file, `s3://…/file`, or `latest` in `dest`.
    pub target: String,
    /// Backup directory or bucket URL (for `latest`).
    pub dest: String,
    /// S3-compatible endpoint.
    pub s3_endpoint: Option<String>,
    /// `dir:PATH` or `docker:CONTAINER`.
    pub into: String,
    /// Delete the previous files instead of keeping them as checkpoints.
    pub no_checkpoint: bool,
    /// The node's `dbfilename`.
    pub dbfilename: String,
    /// The node's `appenddirname`.
    pub appenddirname: String,
    /// The node's `appendfilename`.
    pub appendfilename: String,
    /// How to connect to a `docker:` node (to read its config and check it afterwards).
    pub conn: crate::conn::Conn,
    /// The server a `dir:` node runs, when given: a backup it would not load is refused.
    pub for_server: Option<crate::rdb::compat::Server>,
}

/// Where `--into` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// `dir:PATH`: the data directory of a stopped node.
    Dir(PathBuf),
    /// `docker:CONTAINER`: a container (name or id) warden stops, fills and starts.
    Docker(String),
}

/// Parses `--into`.
pub(crate) fn parse_into(into: &str) -> Result<Target> {
    match into.split_once(':') {
        Some(("dir", p)) if !p.is_empty() => Ok(Target::Dir(PathBuf::from(p))),
        Some(("docker", c)) if !c.is_empty() => Ok(Target::Docker(c.to_string())),
        _ => Err(Error::Usage(format!(
            "--into {into}: expected dir:PATH (the data dir of a stopped node) or docker:CONTAINER"
        ))),
    }
}

/// The stored file of `spec` with its manifest, downloaded into a fresh work directory when
/// it is in object storage (the directory is removed when the returned value is dropped).
pub(crate) async fn fetch(spec: &Spec) -> Result<(tempfile::TempDir, PathBuf, Manifest)> {
    let endpoint = spec.s3_endpoint.as_deref();
    fetch::fetch(&spec.target, &spec.dest, endpoint, "warden-restore-").await
}

/// The file name of a stored backup, for reports.
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
