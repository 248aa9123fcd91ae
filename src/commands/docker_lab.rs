//! `warden lab up|status --backend docker`: the docker lab's commands.

use std::path::Path;

use crate::cli::LabUp;
use crate::client::Timeouts;
use crate::conn::Conn;
use crate::error::{EXIT_MET, Result};
use crate::lab::docker::{DockerLab, DockerLabSpec};
use crate::lab::live;
use crate::sentinel::topology;

/// Creates the docker lab and prints its containers.
pub(super) async fn up(a: LabUp) -> Result<u8> {
    let spec = DockerLabSpec {
        auth: a.auth,
        tls: a.tls,
        sentinel: super::settings(&a),
        dir: a.dir.dir,
        image: a.image,
        ready_timeout: a.timeout,
    };
    let lab = DockerLab::up(spec).await?;
    outln!(
        "docker lab {} up in {} (master name '{}', network {})",
        lab.lab_id(),
        lab.dir().display(),
        lab.master(),
        lab.network()
    );
    for c in lab.containers() {
        outln!(
            "  {:<8} {:<20} {:<36} {}",
            c.role.name(),
            c.addr.to_string(),
            c.name,
            short(&c.id)
        );
    }
    let sentinels: Vec<String> = lab.sentinels().iter().map(ToString::to_string).collect();
    outln!("sentinels: {}", sentinels.join(","));
    if a.auth || a.tls {
        let what = match (a.auth, a.tls) {
            (true, true) => "secrets and certificates",
            (true, false) => "secrets",
            _ => "certificates",
        };
        outln!(
            "{what} (0600) in {}; commands with --lab-dir use them",
            lab.dir().display()
        );
    }
    lab.detach();
    Ok(EXIT_MET)
}

/// Prints each container's state as the engine reports it, with each node's live role (and
/// for a replica its link and lag) as the node itself reports it, and the primary per
/// Sentinels.
pub(super) async fn status(dir: &Path, conn: &Conn) -> Result<u8> {
    let lab = DockerLab::load(dir).await?;
    outln!(
        "docker lab {} in {} (master name '{}')",
        lab.lab_id(),
        dir.display(),
        lab.master()
    );
    let listed = lab.listed().await?;
    let live = live::ask(conn, &lab.nodes()).await;
    for c in lab.containers() {
        let state =
            listed
                .iter()
                .find(|l| l.id == c.id)
                .map_or("gone", |l| match l.state.as_str() {
                    "paused" => "paused",
                    _ => l.status.as_str(),
                });
        let (role, detail) = match live.iter().find(|r| r.addr == c.addr) {
            Some(r) if r.role == c.role.name() => (r.role.as_str(), r.detail()),
            Some(r) => (
                r.role.as_str(),
                format!("{} (started as {})", r.detail(), c.role.name()),
            ),
            None => (c.role.name(), String::new()),
        };
        let line = format!(
            "  {role:<8} {:<20} {:<36} {state:<16} {}",
            c.addr.to_string(),
            c.name,
            detail.trim()
        );
        outln!("{}", line.trim_end());
    }
    let servers = live.iter().filter_map(|n| n.server.as_ref());
    outln!("server: {}", crate::server::describe(servers));
    let sentinels = lab.sentinels();
    let answers =
        topology::primary_per_sentinel(conn, &sentinels, lab.master(), Timeouts::CONTROL).await;
    outln!(
        "{}",
        crate::sentinel::view::primary_line(&sentinels, &answers)
    );
    Ok(EXIT_MET)
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}
