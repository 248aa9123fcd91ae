//! `warden restore FILE --into docker:CONTAINER`: put a verified backup into a running Redis
//! container through the Docker Engine API, restart it on the backup and check its counts.
//!
//! Order, so that bad input leaves the container untouched: find the container (name or id)
//! and refuse one without `io.warden.role=primary|replica`; read its `dir`, `dbfilename`,
//! `appendonly`, `appenddirname`, `appendfilename` with `CONFIG GET`; check the backup's
//! sha256 and unpack it locally while verifying it. Only then: stop the container (SIGTERM,
//! 10 s), download its `dump.rdb`, AOF directory and legacy AOF as tar files (the checkpoint,
//! unless `--no-checkpoint`), upload one tar holding the RDB and an AOF directory whose base
//! is that RDB (the layout of [`super::restore::Aof`], a hard link in the tar), start it,
//! poll until `loading:0`, and compare `DBSIZE` with the backup (keys that expired since are
//! allowed, as in restore-test).
//!
//! The tar first carries the AOF directory's name as an empty file, then as a directory: the
//! engine replaces an existing path whose type differs, so the old AOF directory (with any
//! later incr files) is removed rather than merged into.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::{
    DownloadFromContainerOptionsBuilder, InspectContainerOptions, StartContainerOptions,
    StopContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;
use serde::Serialize;

use crate::addr::Addr;
use crate::backup::checks::{self, Check};
use crate::backup::restore::{self, Aof, Spec};
use crate::backup::restore_test::{live_now, unpack};
use crate::backup::scratch::wait_loaded;
use crate::backup::store::TMP_PREFIX;
use crate::backup::take::blocking;
use crate::client::{self, Timeouts};
use crate::error::{Error, Result};
use crate::fault::docker::Stack;
use crate::fault::target::{self, ContainerInfo};
use crate::lab::docker::connect;
use crate::lab::stack::{LABEL_ROLE, NODE_PORT};

/// Seconds the engine waits after SIGTERM before it kills the container.
const STOP_TIMEOUT_S: i32 = 10;
/// Longest wait for the restarted node to load the backup.
const LOAD_TIMEOUT: Duration = Duration::from_secs(300);

/// What was done to the container, and what it serves now.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    /// The backup restored.
    pub file: String,
    /// Keys in it.
    pub keys: u64,
    /// The container's name.
    pub container: String,
    /// Where warden reached the node.
    pub addr: Addr,
    /// The RDB written, inside the container.
    pub rdb: String,
    /// The AOF directory written (its base is the RDB), inside the container.
    pub aof_dir: String,
    /// The node's `appendonly` setting (which of the two it loaded).
    pub appendonly: bool,
    /// Tar files of the previous RDB and AOF, on this host (empty with `--no-checkpoint`).
    pub checkpoints: Vec<PathBuf>,
    /// Start of the container to `loading:0`, in milliseconds.
    pub load_ms: u64,
    /// `DBSIZE` against the backup.
    pub check: Check,
    /// Things the operator should know (the AOF, a replica that may resync).
    pub notes: Vec<String>,
}

/// The restore guard: `Err(reason)` when `c` is not marked as a warden Redis data node.
/// The chaos opt-in is not enough: Sentinels carry it too, and a restore replaces data.
pub fn restorable(c: &ContainerInfo) -> Result<(), String> {
    match c.role() {
        "primary" | "replica" => Ok(()),
        "" => Err(format!(
            "it lacks the label {LABEL_ROLE}=primary|replica that marks a warden Redis node \
             (a restore replaces its data); nothing was done to it"
        )),
        other => Err(format!(
            "its label {LABEL_ROLE} is '{other}', not primary or replica; nothing was done to it"
        )),
    }
}

/// The port of a node container: `--port N` in its command, else 6379.
pub fn port_of(cmd: &[String]) -> u16 {
    cmd.windows(2)
        .find(|w| w[0] == "--port")
        .and_then(|w| w[1].parse().ok())
        .unwrap_or(NODE_PORT)
}

/// The node's persistence settings, from `CONFIG GET`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NodeConfig {
    dir: String,
    dbfilename: String,
    appendonly: bool,
    appenddirname: String,
    appendfilename: String,
    /// `INFO replication` role: `master` or `slave`.
    role: String,
}

/// Restores the backup into `container`; see the module doc.
pub async fn run(spec: &Spec, container: &str) -> Result<Restored> {
    let docker = connect().await?;
    let all = Stack::new(docker.clone(), "").list().await?;
    let c = target::by_name(&all, container).ok_or_else(|| Error::NoContainer {
        what: format!("named '{container}'"),
    })?;
    restorable(c).map_err(|reason| Error::ContainerRefused {
        container: c.name.clone(),
        reason,
    })?;
    let (id, name) = (c.id.clone(), c.name.clone());
    let addr = running_addr(&docker, &id, &name).await?;
    let cfg = node_config(&addr).await?;
    let (work, path, manifest) = restore::fetch(spec).await?;
    let (rdb_local, tar_local) = (work.path().join("dump.rdb"), work.path().join("upload.tar"));
    let (p, m, r, t, c2) = (
        path.clone(),
        manifest.clone(),
        rdb_local.clone(),
        tar_local.clone(),
        cfg.clone(),
    );
    let summary = blocking("unpacking", move || {
        let s = unpack(&p, &m, &r)?;
        write_tar(&r, &t, &c2)?;
        Ok(s)
    })
    .await?;

    let opts = StopContainerOptionsBuilder::default()
        .t(STOP_TIMEOUT_S)
        .build();
    docker
        .stop_container(&id, Some(opts))
        .await
        .map_err(Error::docker(format!("stop container {name}")))?;
    let mut checkpoints = Vec::new();
    if !spec.no_checkpoint {
        let keep_in = match path.parent() {
            Some(d) if !path.starts_with(work.path()) => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string();
        for file in [&cfg.dbfilename, &cfg.appenddirname, &cfg.appendfilename] {
            let kept = keep_in.join(format!("{name}-{file}.before-restore-{stamp}.tar"));
            let from = format!("{}/{file}", cfg.dir);
            if download(&docker, &id, &from, &kept).await? {
                checkpoints.push(kept);
            }
        }
    }
    let after_stop = |e: Error| Error::Docker {
        what: format!("restore into container {name}"),
        message: format!(
            "{e}; the container is left stopped{}",
            match checkpoints.first() {
                Some(p) => format!(", its previous files are in {}", p.display()),
                None => String::new(),
            }
        ),
    };
    upload(&docker, &id, &cfg.dir, &tar_local)
        .await
        .map_err(after_stop)?;
    docker
        .start_container(&id, None::<StartContainerOptions>)
        .await
        .map_err(Error::docker(format!("start container {name}")))
        .map_err(after_stop)?;
    let started = Instant::now();
    // The engine may give the restarted container another IP.
    let addr = running_addr(&docker, &id, &name).await?;
    let alive = || async { running_addr(&docker, &id, &name).await.map(drop) };
    let what = format!("container {name} did not finish loading the backup");
    let hint = format!("see `docker logs {name}`");
    wait_loaded(&addr, LOAD_TIMEOUT, &what, &hint, alive).await?;
    let load_ms = started.elapsed().as_millis() as u64;
    let mut con = client::connect(&addr, timeouts()).await?;
    let dbsize: u64 = client::query(&mut con, &addr, &redis::cmd("DBSIZE")).await?;
    let live_before = summary.keys - summary.keys_expired;
    let live_after = if dbsize == live_before {
        live_before
    } else {
        live_now(rdb_local, manifest.counts.pattern.clone()).await?
    };
    let (rdb, aof_dir) = (
        format!("{}/{}", cfg.dir, cfg.dbfilename),
        format!("{}/{}", cfg.dir, cfg.appenddirname),
    );
    let mut notes = vec![if cfg.appendonly {
        format!(
            "appendonly yes: the node loaded {aof_dir}, whose base is the backup's RDB, not its old AOF"
        )
    } else {
        format!(
            "appendonly no: the node loaded {rdb}; {aof_dir} holds the same data should appendonly be turned on"
        )
    }];
    if cfg.role == "slave" {
        notes.push(
            "it was a replica: it resyncs from its primary, which may replace the restored data"
                .into(),
        );
    }
    Ok(Restored {
        file: restore::file_name(&path),
        keys: summary.keys,
        container: name,
        addr,
        rdb,
        aof_dir,
        appendonly: cfg.appendonly,
        checkpoints,
        load_ms,
        check: checks::key_count(summary.keys, live_before, live_after, dbsize),
        notes,
    })
}

fn timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(2),
        response: Duration::from_secs(30),
    }
}

/// The address of running container `id`: its first IP (by network name) and its port.
/// Not running (or exited while warden waits for it) is an error.
async fn running_addr(docker: &Docker, id: &str, name: &str) -> Result<Addr> {
    let info: ContainerInspectResponse = docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
        .map_err(Error::docker(format!("inspect container {name}")))?;
    let state = info.state.unwrap_or_default();
    if state.running != Some(true) {
        return Err(Error::Docker {
            what: format!("container {name}"),
            message: format!(
                "it is not running ({}): warden reads the node's data dir and AOF settings \
                 with CONFIG GET and checks it after the restore; start it first",
                state.status.map(|s| s.to_string()).unwrap_or_default()
            ),
        });
    }
    let mut nets: Vec<_> = info
        .network_settings
        .and_then(|n| n.networks)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(n, e)| Some((n, e.ip_address.filter(|ip| !ip.is_empty())?)))
        .collect();
    nets.sort();
    let cmd = info.config.and_then(|c| c.cmd).unwrap_or_default();
    let (_, ip) = nets.into_iter().next().ok_or_else(|| Error::Docker {
        what: format!("container {name}"),
        message: "it has no IP on any network (warden reaches nodes by their IP)".into(),
    })?;
    Ok(Addr::new(ip, port_of(&cmd)))
}

async fn node_config(addr: &Addr) -> Result<NodeConfig> {
    let mut con = client::connect(addr, timeouts()).await?;
    let mut get = async |key: &str| -> Result<String> {
        let kv: Vec<String> =
            client::query(&mut con, addr, redis::cmd("CONFIG").arg("GET").arg(key)).await?;
        Ok(kv.into_iter().nth(1).unwrap_or_default())
    };
    let dir = get("dir").await?;
    let dbfilename = get("dbfilename").await?;
    let appendonly = get("appendonly").await? == "yes";
    let appenddirname = get("appenddirname").await?;
    let appendfilename = get("appendfilename").await?;
    let info: String = client::query(&mut con, addr, redis::cmd("INFO").arg("replication")).await?;
    let role = client::parse_info(&info).remove("role").unwrap_or_default();
    if dir.is_empty() || dbfilename.is_empty() || appenddirname.is_empty() {
        return Err(Error::Docker {
            what: format!("CONFIG GET on {addr}"),
            message: "dir, dbfilename or appenddirname is empty (Redis < 7?)".into(),
        });
    }
    Ok(NodeConfig {
        dir,
        dbfilename,
        appendonly,
        appenddirname,
        appendfilename,
        role,
    })
}

/// Writes the upload: `dbfilename` (the RDB), then the AOF directory's name as an empty file
/// (which removes the old directory on extraction), then the directory with its base (a
/// hard link to the RDB), empty incr file and manifest. Blocking.
fn write_tar(rdb: &Path, out: &Path, cfg: &NodeConfig) -> Result<()> {
    let file = std::fs::File::create(out).map_err(Error::io(out))?;
    let mut b = tar::Builder::new(std::io::BufWriter::with_capacity(1 << 16, file));
    let aof = Aof::new(&cfg.appendfilename);
    let dir = &cfg.appenddirname;
    let io = Error::io(out);
    let header = |kind: tar::EntryType, mode: u32, size: u64| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_mtime(crate::backup::cmd::now_ms() / 1000);
        h
    };
    let r = (|| -> std::io::Result<()> {
        let mut src = std::fs::File::open(rdb)?;
        let len = src.metadata()?.len();
        let mut h = header(tar::EntryType::Regular, 0o644, len);
        b.append_data(&mut h, &cfg.dbfilename, &mut src)?;
        let mut h = header(tar::EntryType::Regular, 0o644, 0);
        b.append_data(&mut h, dir, std::io::empty())?;
        let mut h = header(tar::EntryType::Directory, 0o755, 0);
        b.append_data(&mut h, format!("{dir}/"), std::io::empty())?;
        let mut h = header(tar::EntryType::Link, 0o644, 0);
        b.append_link(&mut h, format!("{dir}/{}", aof.base), &cfg.dbfilename)?;
        let mut h = header(tar::EntryType::Regular, 0o644, 0);
        b.append_data(&mut h, format!("{dir}/{}", aof.incr), std::io::empty())?;
        let text = aof.manifest_text.as_bytes();
        let mut h = header(tar::EntryType::Regular, 0o644, text.len() as u64);
        b.append_data(&mut h, format!("{dir}/{}", aof.manifest), text)?;
        b.into_inner()?.flush()
    })();
    r.map_err(io)
}

/// Streams the tar at `tar` into `dir` of container `id`, 64 KiB at a time, owned by the
/// container's user (`copyUIDGID`).
async fn upload(docker: &Docker, id: &str, dir: &str, tar: &Path) -> Result<()> {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(8);
    let path = tar.to_path_buf();
    let reader = tokio::task::spawn_blocking(move || {
        let mut f = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => return drop(tx.blocking_send(Err(e))),
        };
        loop {
            let mut buf = vec![0u8; 1 << 16];
            match std::io::Read::read(&mut f, &mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.blocking_send(Ok(buf)).is_err() {
                        return;
                    }
                }
                Err(e) => return drop(tx.blocking_send(Err(e))),
            }
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk.map(Into::into), rx))
    });
    let opts = UploadToContainerOptionsBuilder::default()
        .path(dir)
        .copy_uidgid("1")
        .build();
    let r = docker
        .upload_to_container(id, Some(opts), bollard::body_try_stream(body))
        .await
        .map_err(Error::docker(format!("upload the backup into {dir}")));
    reader.await.map_err(|e| Error::Task {
        what: "reading the upload".into(),
        detail: e.to_string(),
    })?;
    r
}

/// Downloads `from` (a file or directory in container `id`) as a tar to `to`: temporary
/// name, fsync, rename. `false` when `from` does not exist.
async fn download(docker: &Docker, id: &str, from: &str, to: &Path) -> Result<bool> {
    let dir = to.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(TMP_PREFIX)
        .tempfile_in(dir)
        .map_err(Error::io(dir))?;
    let opts = DownloadFromContainerOptionsBuilder::default()
        .path(from)
        .build();
    let mut s = docker.download_from_container(id, Some(opts));
    while let Some(chunk) = s.next().await {
        match chunk {
            Ok(bytes) => tmp.write_all(&bytes).map_err(Error::io(tmp.path()))?,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => return Ok(false),
            Err(e) => return Err(Error::docker(format!("download {from}"))(e)),
        }
    }
    tmp.as_file().sync_all().map_err(Error::io(tmp.path()))?;
    tmp.persist_noclobber(to).map_err(|e| Error::Io {
        path: to.to_path_buf(),
        source: e.error,
    })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn only_nodes_labelled_primary_or_replica_are_restorable() {
        let with = |role: Option<&str>| ContainerInfo {
            name: "c".into(),
            labels: role
                .map(|r| HashMap::from([(LABEL_ROLE.to_string(), r.to_string())]))
                .unwrap_or_default(),
            ..Default::default()
        };
        assert_eq!(restorable(&with(Some("primary"))), Ok(()));
        assert_eq!(restorable(&with(Some("replica"))), Ok(()));
        let no = restorable(&with(None)).unwrap_err();
        assert!(no.contains("lacks the label io.warden.role"), "{no}");
        let sentinel = restorable(&with(Some("sentinel"))).unwrap_err();
        assert!(sentinel.contains("'sentinel'"), "{sentinel}");
    }

    #[test]
    fn the_port_comes_from_the_command_line() {
        let cmd = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            port_of(&cmd("redis-server --port 7000 --appendonly yes")),
            7000
        );
        assert_eq!(port_of(&cmd("redis-server /etc/redis.conf")), 6379);
        assert_eq!(port_of(&[]), 6379);
    }
}
