//! Creating and removing what a lab or a scratch server needs: containers (from a local
//! image, never pulled), networks and volumes, and removing everything that carries a label.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkCreateRequest, NetworkingConfig,
    VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder,
};

use super::{Engine, api_error, label_filter};
use crate::error::{Error, Result};

/// A container to create.
#[derive(Debug, Clone, Default)]
pub struct NewContainer {
    /// Its name.
    pub name: String,
    /// The image (must be present on the engine: nothing is pulled).
    pub image: String,
    /// Its command.
    pub cmd: Vec<String>,
    /// Its labels.
    pub labels: HashMap<String, String>,
    /// The network it joins, with its aliases there (`None`: the default bridge).
    pub network: Option<(String, Vec<String>)>,
    /// Volume binds, `volume:/path`.
    pub binds: Vec<String>,
}

impl Engine {
    /// Creates (does not start) the container; returns its id. A missing image gets a
    /// message that says how to build one offline.
    pub async fn create_container(&self, c: &NewContainer) -> Result<String> {
        let (network_mode, endpoints) = match &c.network {
            Some((net, aliases)) => (
                Some(net.clone()),
                Some(NetworkingConfig {
                    endpoints_config: Some(HashMap::from([(
                        net.clone(),
                        EndpointSettings {
                            aliases: Some(aliases.clone()),
                            ..Default::default()
                        },
                    )])),
                }),
            ),
            None => (None, None),
        };
        let body = ContainerCreateBody {
            image: Some(c.image.clone()),
            cmd: Some(c.cmd.clone()),
            labels: Some(c.labels.clone()),
            host_config: Some(HostConfig {
                network_mode,
                binds: (!c.binds.is_empty()).then(|| c.binds.clone()),
                ..Default::default()
            }),
            networking_config: endpoints,
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::default()
            .name(&c.name)
            .build();
        let what = format!("create container {}", c.name);
        match self.api.create_container(Some(opts), body).await {
            Ok(created) => Ok(created.id),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Err(Error::Docker {
                what,
                message: format!(
                    "image '{}' is not present and warden does not pull: run \
                     compose/build-local-image.sh and set WARDEN_REDIS_IMAGE=warden-redis:local",
                    c.image
                ),
            }),
            Err(e) => Err(api_error(what)(e)),
        }
    }

    /// Refuses an image the engine does not have (warden never pulls), naming the fix.
    pub(crate) async fn require_image(&self, image: &str) -> Result<()> {
        match self.api.inspect_image(image).await {
            Ok(_) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Err(Error::Docker {
                what: format!("find image {image}"),
                message: format!(
                    "image '{image}' is not present and warden does not pull: run \
                     compose/build-local-image.sh and set WARDEN_REDIS_IMAGE=warden-redis:local"
                ),
            }),
            Err(e) => Err(api_error(format!("inspect image {image}"))(e)),
        }
    }

    /// Removes container `id` by force, with its anonymous volumes.
    pub async fn remove_container(&self, id: &str) -> Result<()> {
        let opts = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        let r = self.api.remove_container(id, Some(opts)).await;
        r.map_err(api_error(format!("remove container {id}")))
    }

    /// Creates a bridge network `name` with `labels`.
    pub async fn create_network(&self, name: &str, labels: HashMap<String, String>) -> Result<()> {
        let req = NetworkCreateRequest {
            name: name.into(),
            driver: Some("bridge".into()),
            labels: Some(labels),
            ..Default::default()
        };
        let r = self.api.create_network(req).await;
        r.map(drop)
            .map_err(api_error(format!("create network {name}")))
    }

    /// Creates a named volume `name` with `labels`.
    pub(crate) async fn create_volume(
        &self,
        name: &str,
        labels: HashMap<String, String>,
    ) -> Result<()> {
        let req = VolumeCreateRequest {
            name: Some(name.into()),
            labels: Some(labels),
            ..Default::default()
        };
        let r = self.api.create_volume(req).await;
        r.map(drop)
            .map_err(api_error(format!("create volume {name}")))
    }

    /// Removes every container (with its anonymous volumes), volume and network labelled
    /// `key=value`. Carries on past failures and returns the first.
    pub(crate) async fn remove_labelled(&self, key: &str, value: &str) -> Result<()> {
        let f = label_filter(key, value);
        let mut first: Option<Error> = None;
        let mut keep = |r: Result<()>| {
            if let Err(e) = r {
                first.get_or_insert(e);
            }
        };
        for c in self.list(Some((key, value))).await? {
            keep(self.remove_container(&c.id).await);
        }
        let opts = ListVolumesOptionsBuilder::default().filters(&f).build();
        let volumes = self.api.list_volumes(Some(opts)).await;
        let volumes = volumes.map_err(api_error("list volumes"))?;
        for v in volumes.volumes.unwrap_or_default() {
            let opts = RemoveVolumeOptionsBuilder::default().force(true).build();
            let r = self.api.remove_volume(&v.name, Some(opts)).await;
            keep(r.map_err(api_error(format!("remove volume {}", v.name))));
        }
        let opts = ListNetworksOptionsBuilder::default().filters(&f).build();
        let networks = self.api.list_networks(Some(opts)).await;
        for n in networks.map_err(api_error("list networks"))? {
            let name = n.name.unwrap_or_default();
            let r = self.api.remove_network(&name).await;
            keep(r.map_err(api_error(format!("remove network {name}"))));
        }
        first.map_or(Ok(()), Err)
    }
}
