//! The one edge to the Docker engine: every call warden makes to it goes through here, and
//! this is the only module that imports bollard (a tidy test checks it). It offers plain
//! data and plain verbs over the engine's API, never the `docker` CLI:
//!
//! - [`connect`] (`DOCKER_HOST`-aware, API version negotiated) → an [`Engine`];
//! - finding containers: [`Engine::list`] (all, or by label), [`Engine::by_name`],
//!   [`Engine::by_addr`], [`Engine::inspect`], [`Engine::ip_on`] — unguarded, for reading;
//! - the hostnames of a compose project's containers and their IPs ([`Engine::hosts`]), for
//!   the `--resolve` map of a drill against a stack that announces hostnames;
//! - the opt-in guard for faults: [`Project`] (compose project + `io.warden.chaos=allowed`,
//!   decided by the pure [`select`]);
//! - lifecycle: start, stop, kill, pause, unpause, restart, network disconnect/connect;
//! - [`Engine::exec`] with its output; copying in and out as tar ([`Engine::copy_private_in`],
//!   [`Engine::copy_tar_in`], [`Engine::copy_out`], streamed);
//! - creating and removing containers ([`NewContainer`]), networks and volumes, and
//!   [`Engine::remove_labelled`].
//!
//! Errors are [`Error::Docker`] with the call and its object, the engine's message on one
//! line; an unreachable engine is [`Error::DockerUnavailable`].

mod copy;
mod create;
mod exec;
mod guard;
pub(crate) mod select;

use std::net::IpAddr;

use bollard::Docker;
use bollard::models::NetworkDisconnectRequest;
use bollard::models::{EndpointIpamConfig, EndpointSettings, NetworkConnectRequest};
use bollard::query_parameters::{
    InspectContainerOptions, KillContainerOptionsBuilder, ListContainersOptionsBuilder,
    RestartContainerOptionsBuilder, StartContainerOptions, StopContainerOptionsBuilder,
};

pub(crate) use create::NewContainer;
pub use exec::Output;
pub use guard::Project;
pub(crate) use select::{Attachment, ContainerInfo, Inspected, LABEL_PROJECT, LABEL_SERVICE};
pub use select::{LABEL_CHAOS, LABEL_ROLE};

use crate::addr::Addr;
use crate::error::{Error, Result, one_line};

/// A connection to one Docker engine. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    api: Docker,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

/// Connects to the engine (`DOCKER_HOST`, else the default socket) and negotiates the API
/// version, so a 0.21 client talks to an older engine (e.g. 20.10, API 1.41).
pub async fn connect() -> Result<Engine> {
    let host =
        std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    let unavailable = |e: bollard::errors::Error| Error::DockerUnavailable {
        host: host.clone(),
        message: one_line(&e.to_string()),
    };
    let docker = Docker::connect_with_defaults().map_err(unavailable)?;
    let api = docker.negotiate_version().await.map_err(unavailable)?;
    Ok(Engine { api })
}

/// An [`Error::Docker`] for the API call `what`, with the engine's message on one line.
fn api_error(what: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> Error {
    let what = what.into();
    move |e| Error::Docker {
        what,
        message: one_line(&e.to_string()),
    }
}

/// The `filters` value selecting objects labelled `key=value`.
fn label_filter(key: &str, value: &str) -> std::collections::HashMap<String, Vec<String>> {
    [("label".to_string(), vec![format!("{key}={value}")])].into()
}

fn attachments(
    nets: Option<std::collections::HashMap<String, EndpointSettings>>,
) -> Vec<Attachment> {
    let mut v: Vec<Attachment> = nets
        .unwrap_or_default()
        .into_iter()
        .map(|(network, e)| Attachment {
            network,
            ip: e.ip_address.unwrap_or_default(),
            aliases: e.aliases.unwrap_or_default(),
        })
        .collect();
    v.sort_by(|a, b| a.network.cmp(&b.network));
    v
}

impl Engine {
    /// Every container on the engine (running or not), or those labelled `key=value`, as
    /// plain data. Engine 20.10's list API reports no network aliases (see [`Engine::inspect`]).
    pub async fn list(&self, label: Option<(&str, &str)>) -> Result<Vec<ContainerInfo>> {
        let filter = label.map(|(k, v)| label_filter(k, v)).unwrap_or_default();
        let opts = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filter)
            .build();
        let listed = self.api.list_containers(Some(opts)).await;
        let listed = listed.map_err(api_error("list containers"))?;
        Ok(listed
            .into_iter()
            .map(|c| ContainerInfo {
                id: c.id.unwrap_or_default(),
                name: c
                    .names
                    .and_then(|n| n.into_iter().next())
                    .unwrap_or_default()
                    .trim_start_matches('/')
                    .to_string(),
                labels: c.labels.unwrap_or_default(),
                networks: attachments(c.network_settings.and_then(|n| n.networks)),
                state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                status: c.status.unwrap_or_default(),
            })
            .collect())
    }

    /// [`Engine::list`], with aliases filled in from inspect when nothing answers to `host`
    /// (a network alias is then the only way it can name a container).
    async fn list_for(&self, host: &str, project: &str) -> Result<Vec<ContainerInfo>> {
        let mut all = self.list(None).await?;
        if select::by_host(&all, host, project).is_none() {
            for c in &mut all {
                c.networks = self.inspect(&c.id, &c.name).await?.networks;
            }
        }
        Ok(all)
    }

    /// Every hostname the containers of compose project `project` answer to (container
    /// name, service, network aliases) with their IP on its network, as inspect reports
    /// them (the list API of engine 20.10 reports no aliases): the names a Sentinel with
    /// `announce-hostnames` hands out, for the connection model's `--resolve` map.
    pub async fn hosts(&self, project: &str) -> Result<Vec<(String, IpAddr)>> {
        let mut all = self.list(Some((LABEL_PROJECT, project))).await?;
        for c in &mut all {
            c.networks = self.inspect(&c.id, &c.name).await?.networks;
        }
        Ok(select::hosts(&all, project))
    }

    /// The container called `name` (or with that id), whatever its labels: for reading it or
    /// for a caller with its own guard (restore checks `io.warden.role`), never for a fault.
    pub async fn by_name(&self, name: &str) -> Result<ContainerInfo> {
        let all = self.list(None).await?;
        select::by_name(&all, name)
            .cloned()
            .ok_or_else(|| Error::NoContainer {
                what: format!("named '{name}'"),
            })
    }

    /// The container `addr` (IP or hostname) names, whatever its labels: for reading it
    /// (copying a file out), never for a fault.
    pub async fn by_addr(&self, addr: &Addr) -> Result<ContainerInfo> {
        self.named_by(addr, "").await
    }

    /// The container `addr` names, preferring one in `project`.
    async fn named_by(&self, addr: &Addr, project: &str) -> Result<ContainerInfo> {
        let all = self.list_for(&addr.host, project).await?;
        select::by_host(&all, &addr.host, project)
            .cloned()
            .ok_or_else(|| Error::NoContainer {
                what: format!("has the address {addr}"),
            })
    }

    /// Container `id` as inspect reports it (`name` is for the error message).
    pub async fn inspect(&self, id: &str, name: &str) -> Result<Inspected> {
        let info = self
            .api
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(api_error(format!("inspect container {name}")))?;
        let state = info.state.unwrap_or_default();
        Ok(Inspected {
            running: state.running == Some(true),
            status: state.status.map(|s| s.to_string()).unwrap_or_default(),
            pid: state.pid.unwrap_or_default(),
            networks: attachments(info.network_settings.and_then(|n| n.networks)),
            image: info
                .config
                .as_ref()
                .and_then(|c| c.image.clone())
                .unwrap_or_default(),
            cmd: info.config.and_then(|c| c.cmd).unwrap_or_default(),
        })
    }

    /// The IP of container `id` on `network`.
    pub async fn ip_on(&self, id: &str, network: &str) -> Result<String> {
        let nets = self.inspect(id, id).await?.networks;
        nets.into_iter()
            .find(|n| n.network == network && !n.ip.is_empty())
            .map(|n| n.ip)
            .ok_or_else(|| Error::Docker {
                what: format!("inspect container {id}"),
                message: format!("it has no IP on network {network}"),
            })
    }

    /// Starts container `id` (`name` is for the error message, as for every verb below).
    pub async fn start(&self, id: &str, name: &str) -> Result<()> {
        let r = self.api.start_container(id, None::<StartContainerOptions>);
        r.await
            .map_err(api_error(format!("start container {name}")))
    }

    /// Stops it: SIGTERM, then SIGKILL after `timeout_s` seconds.
    pub async fn stop(&self, id: &str, name: &str, timeout_s: i32) -> Result<()> {
        let opts = StopContainerOptionsBuilder::default().t(timeout_s).build();
        let r = self.api.stop_container(id, Some(opts));
        r.await.map_err(api_error(format!("stop container {name}")))
    }

    /// Sends it SIGKILL.
    pub async fn kill(&self, id: &str, name: &str) -> Result<()> {
        let opts = KillContainerOptionsBuilder::default()
            .signal("SIGKILL")
            .build();
        let r = self.api.kill_container(id, Some(opts));
        r.await.map_err(api_error(format!("kill container {name}")))
    }

    /// Freezes it (cgroup freezer: peers see silence, not a reset).
    pub async fn pause(&self, id: &str, name: &str) -> Result<()> {
        let r = self.api.pause_container(id);
        r.await
            .map_err(api_error(format!("pause container {name}")))
    }

    /// Thaws it.
    pub async fn unpause(&self, id: &str, name: &str) -> Result<()> {
        let r = self.api.unpause_container(id);
        r.await
            .map_err(api_error(format!("unpause container {name}")))
    }

    /// Restarts it: a stop (SIGKILL after `timeout_s`), then a start.
    pub async fn restart(&self, id: &str, name: &str, timeout_s: i32) -> Result<()> {
        let opts = RestartContainerOptionsBuilder::default()
            .t(timeout_s)
            .build();
        let r = self.api.restart_container(id, Some(opts));
        r.await
            .map_err(api_error(format!("restart container {name}")))
    }

    /// Disconnects it from `network` (forced).
    pub async fn disconnect(&self, id: &str, name: &str, network: &str) -> Result<()> {
        let req = NetworkDisconnectRequest {
            container: id.into(),
            force: Some(true),
        };
        let r = self.api.disconnect_network(network, req);
        r.await
            .map_err(api_error(format!("disconnect {name} from {network}")))
    }

    /// Connects it to `network` with `aliases`, at `ip` if given (a network without a
    /// user-configured subnet refuses a pinned IP).
    pub(crate) async fn connect_network(
        &self,
        id: &str,
        name: &str,
        network: &str,
        aliases: &[String],
        ip: Option<&str>,
    ) -> Result<()> {
        let req = NetworkConnectRequest {
            container: id.into(),
            endpoint_config: Some(EndpointSettings {
                aliases: Some(aliases.to_vec()),
                ipam_config: ip.map(|ip| EndpointIpamConfig {
                    ipv4_address: Some(ip.into()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        };
        let r = self.api.connect_network(network, req);
        r.await
            .map_err(api_error(format!("connect {name} to {network}")))
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
