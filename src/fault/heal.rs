//! `warden heal`: reverts what drills that are gone left behind — the records of the fault
//! journal ([`crate::journal`]) whose owner no longer runs — and sweeps iptables rules tagged
//! `warden:<drill id>` out of the containers warden labels, for a leftover with no record.
//!
//! Each step checks first whether it is still needed (a process still stopped, a container
//! still paused, a rule still there), so healing twice, or healing what someone already
//! fixed by hand, is harmless.

use nix::sys::signal::Signal;

use super::docker::{iptables, reconnect, tagged_rules};
use crate::docker::{self, Attachment, ContainerInfo, Engine};
use crate::error::{Error, Result};
use crate::journal::{self, Record, Undo};
use crate::lab::docker::DockerLab;
use crate::lab::{self, Backend, Lab};

/// Undoes `record`, last step first; returns what each step did, in words. Carries on past a
/// failed step and reports them all.
pub(crate) async fn heal(record: &Record) -> Result<Vec<String>> {
    let mut done = Vec::new();
    let mut failed = Vec::new();
    let mut engine = None;
    for step in record.undo.iter().rev() {
        match undo(step, &mut engine).await {
            Ok(what) => done.push(what),
            Err(e) => failed.push(e.to_string()),
        }
    }
    match failed.is_empty() {
        true => Ok(done),
        false => Err(Error::Usage(format!(
            "could not heal {}: {}",
            record.what,
            failed.join("; ")
        ))),
    }
}

/// The engine, connected on first use.
async fn engine(slot: &mut Option<Engine>) -> Result<&Engine> {
    if slot.is_none() {
        *slot = Some(docker::connect().await?);
    }
    Ok(slot.as_ref().expect("just set"))
}

async fn undo(step: &Undo, slot: &mut Option<Engine>) -> Result<String> {
    match step {
        Undo::Continue { pid, port } => {
            if !lab::process::is_ours(*pid, *port) {
                return Ok(format!(
                    "pid {pid} (port {port}) is gone: nothing to continue"
                ));
            }
            lab::process::signal(*pid, Signal::SIGCONT)?;
            Ok(format!("SIGCONT to pid {pid} (port {port})"))
        }
        Undo::Restart { lab_dir, addr } => {
            if !lab_dir.join("lab.json").exists() {
                return Ok(format!("{} is gone: no node to restart", lab_dir.display()));
            }
            let mut lab = Lab::load(lab_dir)?;
            if lab.is_running(addr)? {
                return Ok(format!("{addr} runs already"));
            }
            lab.restart(addr)?;
            Ok(format!("started {addr} again"))
        }
        Undo::Start { id, name } => {
            let e = engine(slot).await?;
            match e.inspect(id, name).await {
                Ok(i) if i.running => Ok(format!("container {name} runs already")),
                Ok(_) => e.start(id, name).await.map(|()| format!("started {name}")),
                Err(_) => Ok(format!("container {name} is gone")),
            }
        }
        Undo::Unpause { id, name } => {
            let e = engine(slot).await?;
            match e.inspect(id, name).await {
                Ok(i) if i.status == "paused" => e
                    .unpause(id, name)
                    .await
                    .map(|()| format!("unpaused {name}")),
                Ok(_) => Ok(format!("container {name} is not paused")),
                Err(_) => Ok(format!("container {name} is gone")),
            }
        }
        Undo::Reconnect {
            id,
            name,
            network,
            ip,
            aliases,
        } => {
            let e = engine(slot).await?;
            let Ok(i) = e.inspect(id, name).await else {
                return Ok(format!("container {name} is gone"));
            };
            if i.networks.iter().any(|n| &n.network == network) {
                return Ok(format!("{name} is on {network} already"));
            }
            let c = ContainerInfo {
                id: id.clone(),
                name: name.clone(),
                ..ContainerInfo::default()
            };
            let n = Attachment {
                network: network.clone(),
                ip: ip.clone(),
                aliases: aliases.clone(),
            };
            reconnect(e, &c, &n).await?;
            Ok(format!("reconnected {name} to {network}"))
        }
        Undo::DropRules { id, name, tag } => {
            let e = engine(slot).await?;
            match e.inspect(id, name).await {
                Ok(i) if i.pid > 0 => {
                    let n = drop_tagged(i.pid, name, tag).await?;
                    Ok(format!("deleted {n} iptables rules tagged {tag} in {name}"))
                }
                // A restarted or removed container has a fresh namespace: no rule is left.
                Ok(_) => Ok(format!("container {name} is not running: no rule left")),
                Err(_) => Ok(format!("container {name} is gone")),
            }
        }
        Undo::RemoveLab { dir, backend } => remove_lab(dir, *backend).await,
    }
}

/// Deletes the rules tagged `tag` in the namespace of `pid`; returns how many.
async fn drop_tagged(pid: i64, container: &str, tag: &str) -> Result<usize> {
    let listing = iptables(pid, container, &["-S"]).await?;
    let rules = tagged_rules(&listing, tag);
    for rule in &rules {
        let args: Vec<&str> = rule.iter().map(String::as_str).collect();
        iptables(pid, container, &args).await?;
    }
    Ok(rules.len())
}

/// Stops and removes an orphaned ephemeral lab.
async fn remove_lab(dir: &std::path::Path, backend: Backend) -> Result<String> {
    if !dir.exists() {
        return Ok(format!("{} is gone already", dir.display()));
    }
    if !dir.join("lab.json").exists() {
        std::fs::remove_dir_all(dir).map_err(Error::io(dir))?;
        return Ok(format!("removed {} (no lab recorded in it)", dir.display()));
    }
    match backend {
        Backend::Process => Lab::load(dir)?.down()?,
        Backend::Docker => DockerLab::load(dir).await?.down().await?,
    }
    Ok(format!("stopped and removed the lab in {}", dir.display()))
}

/// Heals every leftover in the journal — faults first, orphaned labs last — and forgets
/// each record it healed; returns each record with what healing it did (or why it failed).
pub(crate) async fn leftovers() -> Result<Vec<(Record, Result<Vec<String>>)>> {
    let mut records = journal::leftovers()?;
    records.sort_by_key(|r| r.undo.iter().any(|u| matches!(u, Undo::RemoveLab { .. })));
    let mut healed = Vec::new();
    for r in records {
        let result = match heal(&r).await {
            Ok(steps) => journal::forget(&r).map(|()| steps),
            Err(e) => Err(e),
        };
        healed.push((r, result));
    }
    Ok(healed)
}

/// Deletes iptables rules tagged `warden:…` in every running container warden labels
/// (`io.warden.lab` or `io.warden.chaos`) whose drill holds no live journal record;
/// returns what it deleted, in words. Without a Docker engine there is nothing to sweep.
pub(crate) async fn sweep() -> Result<Vec<String>> {
    let Ok(e) = docker::connect().await else {
        return Ok(Vec::new());
    };
    let live: Vec<String> = journal::records()?
        .into_iter()
        .filter(|r| r.owner.alive())
        .map(|r| journal::tag(&r.drill))
        .collect();
    let mut done = Vec::new();
    for c in e.list(None).await? {
        let ours = c
            .labels
            .keys()
            .any(|k| k == crate::lab::stack::LABEL_LAB || k == crate::docker::LABEL_CHAOS);
        if !ours || c.state != "running" {
            continue;
        }
        let i = e.inspect(&c.id, &c.name).await?;
        if i.pid <= 0 {
            continue;
        }
        let listing = iptables(i.pid, &c.name, &["-S"]).await?;
        for rule in tagged_rules(&listing, "warden:") {
            let tag = rule
                .iter()
                .skip_while(|a| *a != "--comment")
                .nth(1)
                .cloned()
                .unwrap_or_default();
            if live.contains(&tag) {
                continue;
            }
            let args: Vec<&str> = rule.iter().map(String::as_str).collect();
            iptables(i.pid, &c.name, &args).await?;
            done.push(format!("deleted a rule tagged {tag} in {}", c.name));
        }
    }
    Ok(done)
}
