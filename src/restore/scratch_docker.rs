//! A throw-away Redis container that loads one RDB (AOF off, saving off), for
//! `restore-test --backend docker`: created from the image (never pulled), the RDB uploaded
//! into `/data` through the Docker API before it starts, reached by its IP on the default
//! bridge network, removed (with its volumes) on drop.

use std::path::Path;
use std::time::Duration;

use crate::addr::Addr;
use crate::backup::container::{Files, running_addr, write_tar};
use crate::conn::Conn;
use crate::docker::{self, Engine, NewContainer};
use crate::error::Result;
use crate::lab::stack::DATA_DIR;
use crate::restore::scratch::wait_loaded;
use crate::util::blocking;

/// Label on every scratch container (value `restore-test`), so a leftover is recognisable.
pub const LABEL_SCRATCH: &str = "io.warden.scratch";

/// A running scratch container.
pub(crate) struct ScratchContainer {
    docker: Engine,
    id: String,
    /// Its name.
    pub name: String,
    /// Where it listens.
    pub addr: Addr,
}

impl ScratchContainer {
    /// Creates a container from `image`, uploads `dir/dump.rdb` (through a tar in `dir`),
    /// starts it and waits (up to `timeout`) until it has loaded the RDB.
    pub(crate) async fn start(
        image: &str,
        dir: &Path,
        timeout: Duration,
    ) -> Result<ScratchContainer> {
        let docker = docker::connect().await?;
        let files = Files {
            dbfilename: "dump.rdb".into(),
            appenddirname: "appendonlydir".into(),
            appendfilename: "appendonly.aof".into(),
        };
        let (rdb, tar) = (dir.join(&files.dbfilename), dir.join("upload.tar"));
        let t = tar.clone();
        blocking("packing the RDB", move || write_tar(&rdb, &t, &files)).await?;
        let name = format!("warden-scratch-{:08x}", rand::random::<u32>());
        let cmd = [
            "redis-server",
            "--port",
            "6379",
            "--protected-mode",
            "no",
            "--dir",
            DATA_DIR,
            "--dbfilename",
            "dump.rdb",
            "--appendonly",
            "no",
            "--save",
            "",
        ];
        let created = docker
            .create_container(&NewContainer {
                name: name.clone(),
                image: image.into(),
                cmd: cmd.iter().map(ToString::to_string).collect(),
                labels: [(LABEL_SCRATCH.into(), "restore-test".into())].into(),
                ..Default::default()
            })
            .await?;
        // From here on, dropping `s` removes the container.
        let mut s = ScratchContainer {
            docker,
            id: created,
            name,
            addr: Addr::local(0),
        };
        s.docker.copy_tar_in(&s.id, &s.name, DATA_DIR, &tar).await?;
        s.docker.start(&s.id, &s.name).await?;
        let why = "it stopped while loading the RDB";
        s.addr = running_addr(&s.docker, &s.id, &s.name, why).await?;
        let alive = || async { running_addr(&s.docker, &s.id, &s.name, why).await.map(drop) };
        let what = format!("the scratch container {} did not finish loading", s.name);
        let hint = format!("image {image}");
        wait_loaded(&Conn::default(), &s.addr, timeout, &what, &hint, alive).await?;
        Ok(s)
    }
}

impl Drop for ScratchContainer {
    fn drop(&mut self) {
        let (engine, id) = (self.docker.clone(), self.id.clone());
        docker::block_on_thread(async move {
            let _ = engine.remove_container(&id).await;
        });
    }
}
