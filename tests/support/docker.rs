//! Container tests: whether they can run here, and a docker lab removed on drop.
//!
//! Without a Docker engine a container test skips with a message, unless
//! `WARDEN_REQUIRE_DOCKER=1` (set by `.ci/run`), which makes a missing engine a failure.

use bollard::Docker;
use tempfile::TempDir;
use warden::lab::SentinelSettings;
use warden::lab::docker::{self, DockerLab, DockerLabSpec};

/// The engine, or `None` (after saying why) when container tests should skip.
pub async fn engine() -> Option<Docker> {
    match docker::connect().await {
        Ok(d) => Some(d),
        Err(e) if std::env::var("WARDEN_REQUIRE_DOCKER").as_deref() == Ok("1") => {
            panic!("WARDEN_REQUIRE_DOCKER=1, but {e}")
        }
        Err(e) => {
            eprintln!(
                "SKIPPED: no Docker engine ({e}); set WARDEN_REQUIRE_DOCKER=1 to fail instead"
            );
            None
        }
    }
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
        };
        match DockerLab::up(spec).await {
            Ok(lab) => TestDockerLab { lab, dir },
            Err(e) => panic!("docker lab did not come up: {e}"),
        }
    }
}
