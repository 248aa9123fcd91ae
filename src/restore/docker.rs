//! `warden restore FILE --into docker:CONTAINER`: put a verified backup into a running Redis
//! container through the Docker Engine API, restart it on the backup and check its counts.
//!
//! Order, so that bad input leaves the container untouched: find the container (name or id)
//! and refuse one without `io.warden.role=primary|replica`; read its `dir`, `dbfilename`,
//! `appendonly`, `appenddirname`, `appendfilename` with `CONFIG GET`; check the backup's
//! sha256 and unpack it locally while verifying it. Only then: stop the container (SIGTERM,
//! 60 s), download its `dump.rdb`, AOF directory and legacy AOF as tar files (the checkpoint,
//! unless `--no-checkpoint`), upload one tar holding the RDB and an AOF directory whose base
//! is that RDB (the layout of [`crate::backup::aof::Aof`], a hard link in the tar; see
//! [`crate::backup::container`]), start it, poll until `loading:0`, and compare `DBSIZE` with the
//! backup (keys that expired since are allowed, as in restore-test).
//!
//! The tar first carries the AOF directory's name as an empty file, then as a directory: the
//! engine replaces an existing path whose type differs, so the old AOF directory (with any
//! later incr files) is removed rather than merged into.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::addr::Addr;
use crate::backup::container::{Files, download, running_addr, write_tar};
use crate::backup::fetch::{live_now, unpack};
use crate::client::{self, Timeouts};
use crate::conn::Conn;

use crate::docker::{self, ContainerInfo, LABEL_ROLE};
use crate::error::{Error, Result};
use crate::restore::checks;
use crate::restore::report::Restored;
use crate::restore::scratch::wait_loaded;
use crate::restore::{self, Spec, loads};
use crate::util::blocking;

/// Timeouts on the restored node.
const NODE: Timeouts = Timeouts {
    connect: Duration::from_secs(2),
    response: Duration::from_secs(10),
};

/// Seconds the engine waits after SIGTERM before it kills the container: long enough for the
/// final save of a large node, so the checkpoint is complete.
const STOP_TIMEOUT_S: i32 = 60;
/// Longest wait for the restarted node to load the backup.
const LOAD_TIMEOUT: Duration = Duration::from_secs(300);

/// The restore guard: `Err(reason)` when `c` is not marked as a warden Redis data node.
/// The chaos opt-in is not enough: Sentinels carry it too, and a restore replaces data.
pub(crate) fn restorable(c: &ContainerInfo) -> Result<(), String> {
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

/// The node's persistence settings, from `CONFIG GET`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NodeConfig {
    dir: String,
    files: Files,
    appendonly: bool,
    /// The primary it replicates from (`INFO replication`), if it is a replica.
    primary: Option<String>,
}

/// Restores the backup into `container`; see the module doc.
pub(crate) async fn run(spec: &Spec, container: &str) -> Result<Restored> {
    let docker = docker::connect().await?;
    // No chaos guard here: the restore guard below is the one that applies.
    let c = docker.by_name(container).await?;
    restorable(&c).map_err(|reason| Error::ContainerRefused {
        container: c.name.clone(),
        reason,
    })?;
    let (id, name) = (c.id.clone(), c.name.clone());
    let why = "warden reads the node's data dir and AOF settings with CONFIG GET and checks \
               it after the restore; start it first";
    let addr = running_addr(&docker, &id, &name, why).await?;
    let cfg = node_config(&spec.conn, &addr)
        .await
        .map_err(|e| Error::Docker {
            what: format!("read the config of container {name}"),
            message: format!(
                "{e}; warden reaches the node over the network: it needs protected-mode no, \
                 and --password-file or WARDEN_REDIS_PASSWORD if it has requirepass"
            ),
        })?;
    let server = loads::asked(&spec.conn, &addr).await?;
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
        write_tar(&r, &t, &c2.files)?;
        Ok(s)
    })
    .await?;

    loads::require(&path.display().to_string(), &summary, server)?;
    docker.stop(&id, &name, STOP_TIMEOUT_S).await?;
    let mut checkpoints = Vec::new();
    if !spec.no_checkpoint {
        let keep_in = match path.parent() {
            Some(d) if !path.starts_with(work.path()) => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S").to_string();
        let f = &cfg.files;
        for file in [&f.dbfilename, &f.appenddirname, &f.appendfilename] {
            let kept = keep_in.join(format!("{name}-{file}.before-restore-{stamp}.tar"));
            let from = format!("{}/{file}", cfg.dir);
            match download(&docker, &id, &from, &kept).await {
                Ok(true) => checkpoints.push(kept),
                Ok(false) => {}
                Err(e) => {
                    // Nothing in the container has changed yet: start it again as it was.
                    let again = docker.start(&id, &name).await;
                    let state = match again {
                        Ok(()) => "started again with its previous data".to_string(),
                        Err(s) => format!("left stopped (starting it failed: {s})"),
                    };
                    return Err(Error::Docker {
                        what: format!("checkpoint of container {name}"),
                        message: format!("{e}; nothing was restored, the container was {state}"),
                    });
                }
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
    docker
        .copy_tar_in(&id, &name, &cfg.dir, &tar_local)
        .await
        .map_err(after_stop)?;
    docker.start(&id, &name).await.map_err(after_stop)?;
    let started = Instant::now();
    // The engine may give the restarted container another IP.
    let hint = format!("see `docker logs {name}`");
    let why = format!("it stopped while loading the backup; {hint}");
    let addr = running_addr(&docker, &id, &name, &why).await?;
    let alive = || async { running_addr(&docker, &id, &name, &why).await.map(drop) };
    let what = format!("container {name} did not finish loading the backup");
    wait_loaded(&spec.conn, &addr, LOAD_TIMEOUT, &what, &hint, alive).await?;
    let load_ms = started.elapsed().as_millis() as u64;
    let mut con = spec.conn.node(&addr, NODE).await?;
    let dbsize: u64 = client::query(&mut con, &addr, &redis::cmd("DBSIZE")).await?;
    let live_before = summary.keys - summary.keys_expired;
    let live_after = if dbsize == live_before {
        live_before
    } else {
        live_now(rdb_local, manifest.counts.pattern.clone()).await?
    };
    let (rdb, aof_dir) = (
        format!("{}/{}", cfg.dir, cfg.files.dbfilename),
        format!("{}/{}", cfg.dir, cfg.files.appenddirname),
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
    if let Some(p) = &cfg.primary {
        notes.push(format!(
            "it is a replica of {p}: its resync from the primary replaces the restored data \
             (restore the primary, or run REPLICAOF NO ONE first, to keep it)"
        ));
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

async fn node_config(conn: &Conn, addr: &Addr) -> Result<NodeConfig> {
    let mut con = conn.node(addr, NODE).await?;
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
    let info = client::parse_info(&info);
    let primary = (info.get("role").map(String::as_str) == Some("slave")).then(|| {
        let field = |k: &str| info.get(k).cloned().unwrap_or_default();
        format!("{}:{}", field("master_host"), field("master_port"))
    });
    if dir.is_empty() || dbfilename.is_empty() || appenddirname.is_empty() {
        return Err(Error::Docker {
            what: format!("CONFIG GET on {addr}"),
            message: "dir, dbfilename or appenddirname is empty (Redis < 7?)".into(),
        });
    }
    Ok(NodeConfig {
        dir,
        files: Files {
            dbfilename,
            appenddirname,
            appendfilename,
        },
        appendonly,
        primary,
    })
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
}
