//! A Redis node in a container, through the Docker Engine API: its address, and its data
//! files moved in and out as tar streams (never held in memory whole). Used by
//! `restore --into docker:` ([`crate::restore::docker`]), the container scratch server of
//! `restore-test --backend docker` ([`crate::restore::scratch_docker`]), and
//! `backup --method bgsave --from-container`.

use std::io::Write;
use std::path::Path;

use futures_util::StreamExt;

use crate::addr::Addr;
use crate::backup::aof::Aof;
use crate::backup::store::tmp_prefix;
use crate::docker::Engine;
use crate::error::{Error, Result};
use crate::lab::stack::NODE_PORT;

/// The names of a node's data files (its `dbfilename`, `appenddirname`, `appendfilename`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Files {
    /// `dbfilename`.
    pub dbfilename: String,
    /// `appenddirname`.
    pub appenddirname: String,
    /// `appendfilename`.
    pub appendfilename: String,
}

/// The port of a node container: `--port N` in its command, else 6379.
pub(crate) fn port_of(cmd: &[String]) -> u16 {
    cmd.windows(2)
        .find(|w| w[0] == "--port")
        .and_then(|w| w[1].parse().ok())
        .unwrap_or(NODE_PORT)
}

/// The address of running container `id`: its first IP (by network name) and its port.
/// Not running is an error, which ends with `why` (what that means here).
pub(crate) async fn running_addr(docker: &Engine, id: &str, name: &str, why: &str) -> Result<Addr> {
    let info = docker.inspect(id, name).await?;
    if !info.running {
        return Err(Error::Docker {
            what: format!("container {name}"),
            message: format!("it is not running ({}): {why}", info.status),
        });
    }
    let ip = info.networks.into_iter().find(|n| !n.ip.is_empty());
    let ip = ip.ok_or_else(|| Error::Docker {
        what: format!("container {name}"),
        message: "it has no IP on any network (warden reaches nodes by their IP)".into(),
    })?;
    Ok(Addr::new(ip.ip, port_of(&info.cmd)))
}

/// Writes the upload: `dbfilename` (the RDB), then the AOF directory's name as an empty file
/// (which removes the old directory on extraction), then the directory with its base (a
/// hard link to the RDB), empty incr file and manifest. Blocking.
pub(crate) fn write_tar(rdb: &Path, out: &Path, cfg: &Files) -> Result<()> {
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
        h.set_mtime(crate::util::now_ms() / 1000);
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

/// Downloads `from` (a file or directory in container `id`) as a tar to `to`: temporary
/// name, fsync, rename. `false` when `from` does not exist.
pub(crate) async fn download(docker: &Engine, id: &str, from: &str, to: &Path) -> Result<bool> {
    let dir = to.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(&tmp_prefix())
        .tempfile_in(dir)
        .map_err(Error::io(dir))?;
    let mut s = std::pin::pin!(docker.copy_out(id, from));
    while let Some(chunk) = s.next().await {
        match chunk? {
            Some(bytes) => tmp.write_all(&bytes).map_err(Error::io(tmp.path()))?,
            None => return Ok(false),
        }
    }
    tmp.as_file().sync_all().map_err(Error::io(tmp.path()))?;
    tmp.persist_noclobber(to).map_err(|e| Error::Io {
        path: to.to_path_buf(),
        source: e.error,
    })?;
    Ok(true)
}

/// Streams `from` in container `id` as a tar into `tx`, a bounded channel read on a blocking
/// thread (see [`crate::backup::sync::ChannelReader`]). On failure the reader gets the error
/// too, so a cut stream is never taken for a whole one.
pub(crate) async fn stream_out(
    docker: &Engine,
    id: &str,
    from: &str,
    tx: tokio::sync::mpsc::Sender<crate::backup::sync::Chunk>,
) -> Result<()> {
    let mut s = std::pin::pin!(docker.copy_out(id, from));
    while let Some(chunk) = s.next().await {
        let failed = match chunk {
            Ok(Some(bytes)) => {
                if tx.send(Ok(bytes.to_vec())).await.is_err() {
                    return Ok(()); // the reader stopped and reports why
                }
                continue;
            }
            Ok(None) => Error::NoContainer {
                what: format!("file {from} in container {id} (did BGSAVE write there?)"),
            },
            Err(e) => e,
        };
        let _ = tx
            .send(Err(std::io::Error::other(failed.to_string())))
            .await;
        return Err(failed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_replaces_the_aof_dir_and_links_its_base_to_the_rdb() {
        let t = tempfile::tempdir().expect("tempdir");
        let (rdb, out) = (t.path().join("r.rdb"), t.path().join("u.tar"));
        std::fs::write(&rdb, b"REDIS0010").expect("write");
        let files = Files {
            dbfilename: "dump.rdb".into(),
            appenddirname: "aofdir".into(),
            appendfilename: "a.aof".into(),
        };
        write_tar(&rdb, &out, &files).expect("tar");
        let bytes = std::fs::read(&out).expect("read");
        let mut a = tar::Archive::new(&bytes[..]);
        let entries: Vec<(String, tar::EntryType, u64, Option<String>)> = a
            .entries()
            .expect("entries")
            .map(|e| {
                let e = e.expect("entry");
                let link = e
                    .link_name()
                    .ok()
                    .flatten()
                    .map(|l| l.display().to_string());
                let h = e.header();
                let path = e.path().expect("path").display().to_string();
                (path, h.entry_type(), h.size().expect("size"), link)
            })
            .collect();
        use tar::EntryType::{Directory, Link, Regular};
        assert_eq!(
            entries,
            [
                ("dump.rdb".into(), Regular, 9, None),
                ("aofdir".into(), Regular, 0, None),
                ("aofdir/".into(), Directory, 0, None),
                (
                    "aofdir/a.aof.1.base.rdb".into(),
                    Link,
                    0,
                    Some("dump.rdb".into())
                ),
                ("aofdir/a.aof.1.incr.aof".into(), Regular, 0, None),
                ("aofdir/a.aof.manifest".into(), Regular, 70, None),
            ]
        );
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
