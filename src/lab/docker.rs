//! The docker lab: the stack defined in [`super::stack`] as containers on a user bridge
//! network, created, inspected and removed through the Docker edge ([`crate::docker`]).
//! warden on the host reaches every container by its IP on that network.
//!
//! Everything the lab creates (network, volumes, containers) carries `io.warden.lab=<id>`;
//! `down` removes exactly what carries its id, and `lab.json` records the id.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::config::{self, Secrets};
use super::stack::{self, Role, SERVICES, Service};
use super::{Backend, STATE_FILE, Security, SentinelSettings, secure};
use crate::addr::Addr;
use crate::docker::{self, ContainerInfo, Engine, NewContainer};
use crate::error::{Error, Result};
use crate::sentinel::health::{self, Expect, Health};

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
    /// `--auth`: `requirepass`, `masterauth`, the ACL user `warden`, the Sentinels' own
    /// password.
    pub auth: bool,
    /// `--tls`: TLS only, with a throw-away CA.
    pub tls: bool,
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
    #[serde(default)]
    security: super::Security,
}

/// A running docker lab. One started with [`DockerLab::up`] is removed when dropped unless
/// [`DockerLab::detach`] was called; one [`DockerLab::load`]ed from disk never is.
pub struct DockerLab {
    dir: PathBuf,
    docker: Engine,
    state: State,
    owned: bool,
    conn: crate::conn::Conn,
    /// The secrets of a lab with `--auth`, while `up` writes them into config files.
    secrets: Option<Secrets>,
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
        let docker = docker::connect().await?;
        let lab_id = format!("{:08x}", rand::random::<u32>());
        std::fs::create_dir_all(&spec.dir).map_err(Error::io(&spec.dir))?;
        let dir = std::fs::canonicalize(&spec.dir).map_err(Error::io(&spec.dir))?;
        let security = if spec.auth || spec.tls {
            let hosts: Vec<String> = SERVICES.iter().map(|s| s.name.to_string()).collect();
            let mut security = secure::create(&dir, spec.auth, spec.tls, &hosts)?;
            // warden reaches the containers by IP, which the certificate cannot name.
            if let Some(t) = &mut security.tls {
                t.server_name = Some(secure::SERVER_NAME.into());
            }
            security
        } else {
            Security::default()
        };
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
                security: security.clone(),
            },
            owned: true,
            conn: crate::conn::Conn::build(&security.conn_spec())?,
            secrets: secure::secrets(&security)?,
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
        super::periods::set(&lab.conn, &lab.sentinels(), &lab.state.sentinel).await?;
        Ok(lab)
    }

    async fn create(&mut self) -> Result<()> {
        let id = &self.state.lab_id;
        let net = &self.state.network;
        self.docker
            .create_network(net, stack::lab_labels(id))
            .await?;
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
            .create_volume(&volume, stack::lab_labels(id))
            .await?;
        let secured = self.state.security != Security::default();
        let node_cmd = match (service.role, primary_ip) {
            (Role::Primary, _) => stack::node_cmd(None, &self.state.sentinel),
            (_, ip) => stack::node_cmd(ip, &self.state.sentinel),
        };
        let cmd = match service.role {
            Role::Sentinel => stack::sentinel_cmd(),
            _ if secured => stack::node_conf_cmd(),
            _ => node_cmd.clone(),
        };
        let created = self
            .docker
            .create_container(&NewContainer {
                name: name.clone(),
                image: self.state.image.clone(),
                cmd,
                labels: stack::container_labels(id, service),
                network: Some((net.clone(), vec![service.name.to_string()])),
                binds: vec![format!("{volume}:{}", stack::DATA_DIR)],
            })
            .await?;
        let port = service.role.port();
        if service.role == Role::Sentinel {
            let ip =
                primary_ip.ok_or_else(|| Error::internal("no primary before the Sentinels"))?;
            let mut conf = stack::sentinel_conf(ip, &self.state.sentinel);
            conf.push_str(&self.security_lines(service.role, port));
            let file = [(stack::SENTINEL_CONF, conf.as_bytes())];
            self.docker
                .copy_private_in(&created, &name, stack::DATA_DIR, &file)
                .await?;
        } else if secured {
            let mut conf = stack::as_conf(&node_cmd);
            conf.push_str(&self.security_lines(service.role, port));
            let path = secure_path(stack::NODE_CONF);
            self.docker
                .copy_private_in(&created, &name, "/", &[(&path, conf.as_bytes())])
                .await?;
        }
        if let Some(t) = &self.state.security.tls {
            let read = |p: &Path| std::fs::read(p).map_err(Error::io(p));
            let (ca, cert, key) = (read(&t.ca)?, read(&t.server_cert)?, read(&t.server_key)?);
            let paths = ["tls/ca.crt", "tls/server.crt", "tls/server.key"].map(secure_path);
            let files = [
                (paths[0].as_str(), ca.as_slice()),
                (paths[1].as_str(), cert.as_slice()),
                (paths[2].as_str(), key.as_slice()),
            ];
            // Unpacked at the root: the image has no /etc/warden to unpack into.
            self.docker
                .copy_private_in(&created, &name, "/", &files)
                .await?;
        }
        self.docker.start(&created, &name).await?;
        let ip = self.docker.ip_on(&created, net).await?;
        Ok(Container {
            service: service.name.to_string(),
            role: service.role,
            name,
            id: created,
            addr: Addr::new(ip, service.role.port()),
        })
    }

    /// The `--auth` and `--tls` config lines of a container of `role` listening on `port`.
    fn security_lines(&self, role: Role, port: u16) -> String {
        let mut c = String::new();
        if let Some(s) = &self.secrets {
            c.push_str(&match role {
                Role::Sentinel => config::sentinel_auth_lines(&self.state.sentinel.master, s),
                _ => config::node_auth_lines(s),
            });
        }
        if let Some(t) = &self.state.security.tls {
            c.push_str(&config::tls_lines(port, &stack::container_tls(t)));
        }
        c
    }

    /// Polls the health check until it passes or `timeout` ends; a container that stops
    /// meanwhile ends the wait at once.
    pub(crate) async fn wait_healthy(
        &self,
        expect: &Expect,
        timeout: Duration,
        what: &str,
    ) -> Result<Health> {
        let sentinels = self.sentinels();
        health::wait(
            &self.conn,
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
            if c.state == "exited" {
                return Err(Error::Docker {
                    what: format!("container {}", c.name),
                    message: format!("exited during start-up ({})", c.status),
                });
            }
        }
        Ok(())
    }

    /// This lab's containers as the engine lists them now (running or not).
    pub async fn listed(&self) -> Result<Vec<ContainerInfo>> {
        let label = (stack::LABEL_LAB, self.state.lab_id.as_str());
        self.docker.list(Some(label)).await
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
            docker: docker::connect().await?,
            conn: crate::conn::Conn::build(&state.security.conn_spec())?,
            state,
            owned: false,
            secrets: None,
        })
    }

    fn save(&self) -> Result<()> {
        let json = serde_json::to_string_pretty(&self.state).expect("lab state serializes");
        super::write_state(&self.dir, &json)
    }

    /// Keeps the containers after this value is dropped (for `warden lab up`).
    pub(crate) fn detach(mut self) {
        self.owned = false;
    }

    /// Removes every container, volume and network labelled with this lab's id, then the
    /// state directory.
    pub async fn down(mut self) -> Result<()> {
        self.owned = false;
        self.docker
            .remove_labelled(stack::LABEL_LAB, &self.state.lab_id)
            .await?;
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

    /// The engine it runs on.
    pub fn docker(&self) -> &Engine {
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

/// `file` under [`stack::SECURE_DIR`], relative to the container's root.
fn secure_path(file: &str) -> String {
    format!("{}/{file}", stack::SECURE_DIR.trim_start_matches('/'))
}

impl Drop for DockerLab {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let engine = self.docker.clone();
        let id = self.state.lab_id.clone();
        let dir = self.dir.clone();
        docker::block_on_thread(async move {
            let _ = engine.remove_labelled(stack::LABEL_LAB, &id).await;
            let _ = std::fs::remove_dir_all(dir);
        });
    }
}
