//! Container tests: whether they can run here, a docker lab removed on drop, and a single
//! Redis container removed on drop.
//!
//! Without a Docker engine a container test fails, naming the engine and the opt-out
//! (`super::missing`).

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, RemoveContainerOptionsBuilder,
    StartContainerOptions,
};
use tempfile::TempDir;
use warden::addr::Addr;
use warden::client::{self, Timeouts};
use warden::lab::SentinelSettings;
use warden::lab::docker::{self, DockerLab, DockerLabSpec};

/// The engine (a client of the tests' own, to check on warden from outside). Without an
/// engine, or without `$WARDEN_REDIS_IMAGE` on it, a panic saying so, or `None` when the run
/// opted out of missing tools (`super::missing`).
pub async fn engine() -> Option<Docker> {
    let why = match warden::docker::connect().await {
        Ok(_) => {
            let d = Docker::connect_with_defaults()
                .expect("client")
                .negotiate_version()
                .await
                .expect("negotiate the API version");
            let image = docker::default_image();
            match d.inspect_image(&image).await {
                Ok(_) => return Some(d),
                Err(e) => format!(
                    "image '{image}' is not on the engine ({e}); build it with \
                     compose/build-local-image.sh and set WARDEN_REDIS_IMAGE=warden-redis:local"
                ),
            }
        }
        Err(e) => format!("no Docker engine ({e})"),
    };
    super::missing::missing(&why);
    None
}

/// warden's edge to the engine (call after [`engine`] said there is one).
pub async fn edge() -> warden::docker::Engine {
    warden::docker::connect()
        .await
        .expect("connect to the engine")
}

/// The `filters` value selecting objects labelled `key=value`.
pub fn label_filter(key: &str, value: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![format!("{key}={value}")])])
}

/// A docker lab and the temp dir holding its state; the lab is removed on drop.
pub struct TestDockerLab {
    pub lab: DockerLab,
    pub dir: TempDir,
}

impl TestDockerLab {
    /// Starts the stack from `$WARDEN_REDIS_IMAGE` with `settings`.
    pub async fn up_with(settings: SentinelSettings) -> TestDockerLab {
        let dir = tempfile::Builder::new()
            .prefix("warden-docker-test-")
            .tempdir()
            .expect("temp dir");
        let spec = DockerLabSpec {
            dir: dir.path().join("lab"),
            image: docker::default_image(),
            sentinel: settings,
            ready_timeout: super::WAIT,
            auth: false,
            tls: false,
        };
        match DockerLab::up(spec).await {
            Ok(lab) => TestDockerLab { lab, dir },
            Err(e) => panic!("docker lab did not come up: {e}"),
        }
    }
}

/// One `redis-server --appendonly yes` container from `$WARDEN_REDIS_IMAGE` on the default
/// bridge network, with the given labels; removed (force, with its volumes) on drop.
pub struct TestContainer {
    pub docker: Docker,
    pub id: String,
    pub name: String,
    /// Its `requirepass`, if any.
    pub password: Option<String>,
}

impl TestContainer {
    /// Creates and starts it, and waits until it has loaded its data.
    pub async fn start(docker: &Docker, labels: &[(&str, &str)]) -> TestContainer {
        TestContainer::start_with(docker, labels, None).await
    }

    /// [`TestContainer::start`], with `requirepass` when `password` is given.
    pub async fn start_with(
        docker: &Docker,
        labels: &[(&str, &str)],
        password: Option<&str>,
    ) -> TestContainer {
        let name = format!("warden-test-{:08x}", rand::random::<u32>());
        let mut cmd: Vec<String> =
            "redis-server --port 6379 --protected-mode no --dir /data --appendonly yes"
                .split(' ')
                .map(String::from)
                .collect();
        if let Some(pw) = password {
            cmd.extend(["--requirepass".into(), pw.into()]);
        }
        let body = ContainerCreateBody {
            image: Some(docker::default_image()),
            cmd: Some(cmd),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<HashMap<_, _>>(),
            ),
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::default().name(&name).build();
        let created = docker
            .create_container(Some(opts), body)
            .await
            .expect("create container");
        let c = TestContainer {
            docker: docker.clone(),
            id: created.id,
            name,
            password: password.map(String::from),
        };
        docker
            .start_container(&c.id, None::<StartContainerOptions>)
            .await
            .expect("start container");
        c.wait_ready().await;
        c
    }

    /// Its address on the bridge network (it may change when it restarts).
    pub async fn addr(&self) -> Addr {
        let info = self.inspect().await;
        let ip = info
            .network_settings
            .and_then(|n| n.networks)
            .and_then(|n| n.into_values().find_map(|e| e.ip_address))
            .filter(|ip| !ip.is_empty())
            .expect("container IP");
        Addr::new(ip, 6379)
    }

    /// Inspect output now.
    pub async fn inspect(&self) -> bollard::models::ContainerInspectResponse {
        self.docker
            .inspect_container(&self.id, None::<InspectContainerOptions>)
            .await
            .expect("inspect container")
    }

    /// Polls until the node answers PING with its data loaded.
    pub async fn wait_ready(&self) {
        let what = format!("container {} to answer", self.name);
        super::wait_until(super::WAIT, &what, &[], || async {
            self.cmd(&["INFO", "persistence"])
                .await
                .is_some_and(|s| s.contains("loading:0"))
        })
        .await;
    }

    /// Runs a command on the node; `None` when it cannot be reached. Integer replies come
    /// back as their decimal text.
    pub async fn cmd(&self, args: &[&str]) -> Option<String> {
        let addr = self.addr().await;
        let spec = warden::conn::Spec {
            password: self
                .password
                .as_deref()
                .map(|p| warden::conn::Source::Value(warden::conn::Secret::new(p))),
            ..Default::default()
        };
        let conn = warden::conn::Conn::build(&spec).ok()?;
        let mut con = conn.node(&addr, Timeouts::CONTROL).await.ok()?;
        let mut c = redis::cmd(args[0]);
        for a in &args[1..] {
            c.arg(*a);
        }
        let v: redis::Value = client::query(&mut con, &addr, &c).await.ok()?;
        Some(match v {
            redis::Value::Int(i) => i.to_string(),
            other => redis::from_redis_value::<String>(other).unwrap_or_default(),
        })
    }
}

impl Drop for TestContainer {
    fn drop(&mut self) {
        let (docker, id) = (self.docker.clone(), self.id.clone());
        warden::docker::block_on_thread(async move {
            let opts = RemoveContainerOptionsBuilder::default()
                .force(true)
                .v(true)
                .build();
            let _ = docker.remove_container(&id, Some(opts)).await;
        });
    }
}
