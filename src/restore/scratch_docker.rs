//! A throw-away Redis container that loads one RDB (AOF off, saving off), for
//! `restore-test --backend docker`: created from the image (never pulled), the RDB uploaded
//! into `/data` through the Docker API before it starts, reached by its IP on the default
//! bridge network, removed (with its volumes) on drop.

use std::path::Path;
use std::time::Duration;

use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, StartContainerOptions,
};

use crate::addr::Addr;
use crate::backup::container::{Files, running_addr, upload, write_tar};
use crate::error::{Error, Result};
use crate::lab::docker::{block_on_thread, connect, create_error};
use crate::lab::stack::DATA_DIR;
use crate::restore::scratch::wait_loaded;
use crate::util::blocking;

/// Label on every scratch container (value `restore-test`), so a leftover is recognisable.
pub const LABEL_SCRATCH: &str = "io.warden.scratch";

/// A running scratch container.
pub struct ScratchContainer {
    docker: Docker,
    id: String,
    /// Its name.
    pub name: String,
    /// Where it listens.
    pub addr: Addr,
}

impl ScratchContainer {
    /// Creates a container from `image`, uploads `dir/dump.rdb` (through a tar in `dir`),
    /// starts it and waits (up to `timeout`) until it has loaded the RDB.
    pub async fn start(image: &str, dir: &Path, timeout: Duration) -> Result<ScratchContainer> {
        let docker = connect().await?;
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
        let body = ContainerCreateBody {
            image: Some(image.into()),
            cmd: Some(cmd.iter().map(ToString::to_string).collect()),
            labels: Some([(LABEL_SCRATCH.into(), "restore-test".into())].into()),
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::default().name(&name).build();
        let created = docker
            .create_container(Some(opts), body)
            .await
            .map_err(|e| create_error(image, &name, e))?;
        // From here on, dropping `s` removes the container.
        let mut s = ScratchContainer {
            docker,
            id: created.id,
            name,
            addr: Addr::local(0),
        };
        upload(&s.docker, &s.id, DATA_DIR, &tar).await?;
        s.docker
            .start_container(&s.id, None::<StartContainerOptions>)
            .await
            .map_err(Error::docker(format!("start container {}", s.name)))?;
        let why = "it stopped while loading the RDB";
        s.addr = running_addr(&s.docker, &s.id, &s.name, why).await?;
        let alive = || async { running_addr(&s.docker, &s.id, &s.name, why).await.map(drop) };
        let what = format!("the scratch container {} did not finish loading", s.name);
        let hint = format!("image {image}");
        wait_loaded(&s.addr, None, timeout, &what, &hint, alive).await?;
        Ok(s)
    }
}

impl Drop for ScratchContainer {
    fn drop(&mut self) {
        let (docker, id) = (self.docker.clone(), self.id.clone());
        block_on_thread(async move {
            let opts = RemoveContainerOptionsBuilder::default()
                .force(true)
                .v(true)
                .build();
            let _ = docker.remove_container(&id, Some(opts)).await;
        });
    }
}
