//! The docker lab: the stack defined in [`super::stack`] as containers on a user bridge
//! network, created, inspected and removed through the Docker Engine API (bollard, never the
//! `docker` CLI). warden on the host reaches every container by its IP on that network.
//!
//! Everything the lab creates (network, volumes, containers) carries `io.warden.lab=<id>`;
//! `down` removes exactly what carries its id, and `lab.json` records the id.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, ContainerSummary, EndpointSettings, HostConfig, NetworkCreateRequest,
    NetworkingConfig, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, ListContainersOptionsBuilder,
    ListNetworksOptionsBuilder, ListVolumesOptionsBuilder, RemoveContainerOptionsBuilder,
    RemoveVolumeOptionsBuilder, StartContainerOptions, UploadToContainerOptionsBuilder,
};
use serde::{Deserialize, Serialize};

use super::stack::{self, Role, SERVICES, Service};
use super::{Backend, STATE_FILE, SentinelSettings};
use crate::addr::Addr;
use crate::error::{Error, Result, one_line};
use crate::sentinel::health::{self, Expect, Health};

/// Connects to the engine (`DOCKER_HOST`, else the default socket) and negotiates the API
/// version, so a 0.21 client talks to an older engine (e.g. 20.10, API 1.41).
pub async fn connect() -> Result<Docker> {
    let host =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    let unavailable = |e: bollard::errors::Error| Error::DockerUnavailable {
        host: host.clone(),
        message: one_line(&e.to_string()),
    };
    let docker = Docker::connect_with_defaults().map_err(unavailable)?;
    docker.negotiate_version().await.map_err(unavailable)
}

/// The `filters` value selecting objects labelled `key=value`.
pub fn label_filter(key: &str, value: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![format!("{key}={value}")])])
}

/// Everything needed to start a docker lab.
#[derive(Debug, Clone)]
pub struct DockerLabSpec {
    /// State directory (holds `lab.json`).
    pub dir: PathBuf,
    /// The Redis image (must be present locally; nothing is pulled).
    pub image: String,
    /// Sentinel settings.
    pub sentinel: SentinelSettings,
    /// How long `up` waits for the cluster to agree and sync.
    pub ready_timeout: Duration,
}

/// `$WARDEN_REDIS_IMAGE`, else `redis:7.2` (what the compose file defaults to).
pub fn default_image() -> String {
    std::env::var("WARDEN_REDIS_IMAGE").unwrap_or_else(|_| "redis:7.2".into())
}

/// One container of the lab, as recorded in `lab.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
    /// Service name (also its network alias).
    pub service: String,
    /// What it is.
    pub role: Role,
    /// Container name.
    pub name: String,
    /// Container id.
    pub id: String,
    /// Its IP on the lab network and its port.
    pub addr: Addr,
}

/// The persisted part of a docker lab (`lab.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    backend: Backend,
    lab_id: String,
    image: String,
    network: String,
    sentinel: SentinelSettings,
    containers: Vec<Container>,
}

/// A running docker lab. One started with [`DockerLab::up`] is removed when dropped unless
/// [`DockerLab::detach`] was called; one [`DockerLab::load`]ed from disk never is.
pub struct DockerLab {
    dir: PathBuf,
    docker: Docker,
    state: State,
    owned: bool,
}

impl std::fmt::Debug for DockerLab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerLab")
            .field("dir", &self.dir)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl DockerLab {
    /// Creates the network, volumes and containers, and waits until the Sentinels agree and
    /// the replicas are in sync. On failure, removes whatever it created.
    pub async fn up(spec: DockerLabSpec) -> Result<DockerLab> {
        if spec.dir.join(STATE_FILE).exists() {
            return Err(Error::LabState {
                dir: spec.dir.clone(),
                message: "a lab is already recorded here; run `warden lab down` first".into(),
            });
        }
        let docker = connect().await?;
        let lab_id = format!("{:08x}", rand::random::<u32>());
        std::fs::create_dir_all(&spec.dir).map_err(Error::io(&spec.dir))?;
        let dir = std::fs::canonicalize(&spec.dir).map_err(Error::io(&spec.dir))?;
        let mut lab = DockerLab {
            dir,
            docker,
            state: State {
                backend: Backend::Docker,
                network: stack::project(&lab_id),
                lab_id,
                image: spec.image.clone(),
                sentinel: spec.sentinel.clone(),
                containers: Vec::new(),
            },
            owned: true,
        };
        // Recorded first, so `lab down` can clean up after an interrupted `up`.
        lab.save()?;
        lab.create().await?;
        let expect = Expect {
            replicas: Some(2),
            other_sentinels: Some(2),
            max_lag_bytes: 0,
            quorum: true,
        };
        lab.wait_healthy(
            &expect,
            spec.ready_timeout,
            "the docker lab did not become ready",
        )
        .await?;
        Ok(lab)
    }

    async fn create(&mut self) -> Result<()> {
        let id = self.state.lab_id.clone();
        let net = self.state.network.clone();
        self.docker
            .create_network(NetworkCreateRequest {
                name: net.clone(),
                driver: Some("bridge".into()),
                labels: Some(stack::lab_labels(&id)),
                ..Default::default()
            })
            .await
            .map_err(Error::docker(format!("create network {net}")))?;
        let mut primary_ip = None;
        for service in &SERVICES {
            let c = self.start(service, primary_ip.as_deref()).await?;
            if service.role == Role::Primary {
                primary_ip = Some(c.addr.host.clone());
            }
            self.state.containers.push(c);
            self.save()?;
        }
        Ok(())
    }

    /// Creates and starts one service's volume and container; returns it with its IP.
    async fn start(&self, service: &Service, primary_ip: Option<&str>) -> Result<Container> {
        let id = &self.state.lab_id;
        let net = &self.state.network;
        let name = stack::container_name(id, service.name);
        let volume = stack::volume_name(id, service.name);
        self.docker
            .create_volume(VolumeCreateRequest {
                name: Some(volume.clone()),
                labels: Some(stack::lab_labels(id)),
                ..Default::default()
            })
            .await
            .map_err(Error::docker(format!("create volume {volume}")))?;
        let cmd = match (service.role, primary_ip) {
            (Role::Sentinel, _) => stack::sentinel_cmd(),
            (Role::Primary, _) => stack::node_cmd(None, &self.state.sentinel),
            (Role::Replica, ip) => stack::node_cmd(ip, &self.state.sentinel),
        };
        let body = ContainerCreateBody {
            image: Some(self.state.image.clone()),
            cmd: Some(cmd),
            labels: Some(stack::container_labels(id, service)),
            host_config: Some(HostConfig {
                network_mode: Some(net.clone()),
                binds: Some(vec![format!("{volume}:{}", stack::DATA_DIR)]),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    net.clone(),
                    EndpointSettings {
                        aliases: Some(vec![service.name.to_string()]),
                        ..Default::default()
                    },
                )])),
            }),
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::default().name(&name).build();
        let created = self
            .docker
            .create_container(Some(opts), body)
            .await
            .map_err(|e| self.create_error(&name, e))?;
        if service.role == Role::Sentinel {
            let ip =
                primary_ip.ok_or_else(|| Error::Usage("no primary before the Sentinels".into()))?;
            let conf = stack::sentinel_conf(ip, &self.state.sentinel);
            let tar = tar_one(stack::SENTINEL_CONF, conf.as_bytes())?;
            let opts = UploadToContainerOptionsBuilder::default()
                .path(stack::DATA_DIR)
                .build();
            self.docker
                .upload_to_container(&created.id, Some(opts), bollard::body_full(tar.into()))
                .await
                .map_err(Error::docker(format!("copy sentinel.conf into {name}")))?;
        }
        self.docker
            .start_container(&created.id, None::<StartContainerOptions>)
            .await
            .map_err(Error::docker(format!("start container {name}")))?;
        let ip = container_ip(&self.docker, &created.id, net).await?;
        Ok(Container {
            service: service.name.to_string(),
            role: service.role,
            name,
            id: created.id,
            addr: Addr::new(ip, service.role.port()),
        })
    }

    fn create_error(&self, name: &str, e: bollard::errors::Error) -> Error {
        create_error(&self.state.image, name, e)
    }

    /// Polls the health check until it passes or `timeout` ends; a container that stops
    /// meanwhile ends the wait at once.
    pub async fn wait_healthy(
        &self,
        expect: &Expect,
        timeout: Duration,
        what: &str,
    ) -> Result<Health> {
        let sentinels = self.sentinels();
        health::wait(
            &sentinels,
            self.master(),
            expect,
            timeout,
            what,
            async || self.check_running().await,
        )
        .await
    }

    async fn check_running(&self) -> Result<()> {
        for c in self.listed().await? {
            if c.state.as_ref().is_some_and(|s| s.to_string() == "exited") {
                let name = c.names.unwrap_or_default().join(",");
                return Err(Error::Docker {
                    what: format!("container {}", name.trim_start_matches('/')),
                    message: format!("exited during start-up ({})", c.status.unwrap_or_default()),
                });
            }
        }
        Ok(())
    }

    /// This lab's containers as the engine lists them now (running or not).
    pub async fn listed(&self) -> Result<Vec<ContainerSummary>> {
        let f = label_filter(stack::LABEL_LAB, &self.state.lab_id);
        let opts = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&f)
            .build();
        self.docker
            .list_containers(Some(opts))
            .await
            .map_err(Error::docker("list containers"))
    }

    /// Opens the docker lab recorded in `dir`.
    pub async fn load(dir: &Path) -> Result<DockerLab> {
        let text = super::read_state(dir)?;
        let state: State = serde_json::from_str(&text).map_err(|e| Error::LabState {
            dir: dir.to_path_buf(),
            message: format!("{STATE_FILE} is not a warden docker lab record: {e}"),
        })?;
        Ok(DockerLab {
            dir: dir.to_path_buf(),
            docker: connect().await?,
            state,
            owned: false,
        })
    }

    fn save(&self) -> Result<()> {
        let json = serde_json::to_string_pretty(&self.state).expect("lab state serializes");
        super::write_state(&self.dir, &json)
    }

    /// Keeps the containers after this value is dropped (for `warden lab up`).
    pub fn detach(mut self) {
        self.owned = false;
    }

    /// Removes every container, volume and network labelled with this lab's id, then the
    /// state directory.
    pub async fn down(mut self) -> Result<()> {
        self.owned = false;
        teardown(&self.docker, &self.state.lab_id).await?;
        std::fs::remove_dir_all(&self.dir).map_err(Error::io(&self.dir))
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The lab id (value of `io.warden.lab` on everything it created).
    pub fn lab_id(&self) -> &str {
        &self.state.lab_id
    }

    /// The compose project label value of the lab's containers.
    pub fn project(&self) -> String {
        stack::project(&self.state.lab_id)
    }

    /// The lab's network.
    pub fn network(&self) -> &str {
        &self.state.network
    }

    /// The API client.
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// The master name the Sentinels monitor.
    pub fn master(&self) -> &str {
        &self.state.sentinel.master
    }

    /// The Sentinel settings.
    pub fn settings(&self) -> &SentinelSettings {
        &self.state.sentinel
    }

    /// Every container, in start order.
    pub fn containers(&self) -> &[Container] {
        &self.state.containers
    }

    /// Sentinel addresses (container IPs).
    pub fn sentinels(&self) -> Vec<Addr> {
        self.of(|r| r == Role::Sentinel)
    }

    /// Node addresses (container IPs).
    pub fn nodes(&self) -> Vec<Addr> {
        self.of(|r| r != Role::Sentinel)
    }

    fn of(&self, keep: impl Fn(Role) -> bool) -> Vec<Addr> {
        let cs = self.state.containers.iter();
        cs.filter(|c| keep(c.role))
            .map(|c| c.addr.clone())
            .collect()
    }
}

impl Drop for DockerLab {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let docker = self.docker.clone();
        let id = self.state.lab_id.clone();
        let dir = self.dir.clone();
        block_on_thread(async move {
            let _ = teardown(&docker, &id).await;
            let _ = std::fs::remove_dir_all(dir);
        });
    }
}

/// Runs `f` to completion on a new thread with its own runtime and waits for it: how a
/// `Drop` (which cannot await) removes containers, also from inside a runtime.
pub fn block_on_thread(f: impl std::future::Future<Output = ()> + Send + 'static) {
    let done = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        if let Ok(rt) = rt {
            rt.block_on(f);
        }
    });
    let _ = done.join();
}

/// The error of creating container `name` from `image`; a missing image gets a message that
/// says how to build one offline.
pub fn create_error(image: &str, name: &str, e: bollard::errors::Error) -> Error {
    if let bollard::errors::Error::DockerResponseServerError {
        status_code: 404, ..
    } = e
    {
        return Error::Docker {
            what: format!("create container {name}"),
            message: format!(
                "image '{image}' is not present and warden does not pull: run \
                 compose/build-local-image.sh and set WARDEN_REDIS_IMAGE=warden-redis:local"
            ),
        };
    }
    Error::docker(format!("create container {name}"))(e)
}

/// The IP of container `id` on `network`.
pub async fn container_ip(docker: &Docker, id: &str, network: &str) -> Result<String> {
    let info = docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
        .map_err(Error::docker(format!("inspect container {id}")))?;
    info.network_settings
        .and_then(|n| n.networks)
        .and_then(|mut n| n.remove(network))
        .and_then(|e| e.ip_address)
        .filter(|ip| !ip.is_empty())
        .ok_or_else(|| Error::Docker {
            what: format!("inspect container {id}"),
            message: format!("it has no IP on network {network}"),
        })
}

/// Removes every container (with its anonymous volumes), volume and network labelled
/// `io.warden.lab=<lab_id>`. Carries on past failures and returns the first.
pub async fn teardown(docker: &Docker, lab_id: &str) -> Result<()> {
    let f = label_filter(stack::LABEL_LAB, lab_id);
    let mut first: Option<Error> = None;
    let mut keep = |r: Result<()>| {
        if let Err(e) = r {
            first.get_or_insert(e);
        }
    };
    let opts = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&f)
        .build();
    let containers = docker.list_containers(Some(opts)).await;
    for c in containers.map_err(Error::docker("list containers"))? {
        let id = c.id.unwrap_or_default();
        let opts = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        let r = docker.remove_container(&id, Some(opts)).await;
        keep(r.map_err(Error::docker(format!("remove container {id}"))));
    }
    let opts = ListVolumesOptionsBuilder::default().filters(&f).build();
    let volumes = docker.list_volumes(Some(opts)).await;
    let volumes = volumes.map_err(Error::docker("list volumes"))?;
    for v in volumes.volumes.unwrap_or_default() {
        let opts = RemoveVolumeOptionsBuilder::default().force(true).build();
        let r = docker.remove_volume(&v.name, Some(opts)).await;
        keep(r.map_err(Error::docker(format!("remove volume {}", v.name))));
    }
    let opts = ListNetworksOptionsBuilder::default().filters(&f).build();
    let networks = docker.list_networks(Some(opts)).await;
    for n in networks.map_err(Error::docker("list networks"))? {
        let name = n.name.unwrap_or_default();
        let r = docker.remove_network(&name).await;
        keep(r.map_err(Error::docker(format!("remove network {name}"))));
    }
    first.map_or(Ok(()), Err)
}

/// A tar archive holding one file `name` with `body` (what the upload API takes).
fn tar_one(name: &str, body: &[u8]) -> Result<Vec<u8>> {
    let mut header = tar::Header::new_gnu();
    header.set_size(body.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    let mut b = tar::Builder::new(Vec::new());
    b.append_data(&mut header, name, body)
        .and_then(|()| b.into_inner())
        .map_err(Error::io(name))
}
