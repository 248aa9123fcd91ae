//! The opt-in guard at the edge: a compose project on one engine, whose containers faults
//! may touch only if they carry `io.warden.chaos=allowed` (the rule is the pure
//! [`super::select::guard`]).

use super::Engine;
use super::select::{self, ContainerInfo};
use crate::addr::Addr;
use crate::error::Result;

/// The selected compose project (a docker lab's is `warden-<id>`): the only containers
/// faults may touch.
#[derive(Debug, Clone)]
pub struct Project {
    engine: Engine,
    name: String,
}

impl Project {
    /// Project `name` on `engine`.
    pub fn new(engine: Engine, name: impl Into<String>) -> Project {
        Project {
            engine,
            name: name.into(),
        }
    }

    /// The project's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The engine, to act on containers this project's guard allowed.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Every container on the engine, with network aliases filled in when only an alias
    /// can name the one `host` means: the input of a fault's (pure) target choice.
    pub(crate) async fn containers_for(&self, host: &str) -> Result<Vec<ContainerInfo>> {
        self.engine.list_for(host, &self.name).await
    }

    /// The container called `name`, if the guard allows faults on it.
    pub async fn by_name(&self, name: &str) -> Result<ContainerInfo> {
        let c = self.engine.by_name(name).await?;
        select::allowed(&c, &self.name)?;
        Ok(c)
    }

    /// The container `addr` (IP or hostname) names, if the guard allows faults on it.
    pub async fn by_addr(&self, addr: &Addr) -> Result<ContainerInfo> {
        let c = self.engine.named_by(addr, &self.name).await?;
        select::allowed(&c, &self.name)?;
        Ok(c)
    }
}
