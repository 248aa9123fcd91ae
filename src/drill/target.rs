//! A drill's target: the [`Deployment`] a scenario names, set up (an ephemeral process or
//! docker lab, a recorded lab, or given Sentinels) as one [`Backend`], described for
//! `--dry-run`, and handed to the fault module, which alone decides how a fault reaches it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::addr::Addr;
use crate::client::Timeouts;
use crate::conn::{self, Conn};
use crate::docker::{self, Project};
use crate::error::{Error, Result};
use crate::fault::docker::Stack;
use crate::fault::{self, Applied, Fault, Via};
use crate::journal::{self, Entry, Undo};
use crate::lab::docker::{DockerLab, DockerLabSpec};
use crate::lab::{self, Lab, LabSpec};
use crate::sentinel::topology;

use super::scenario::{Deployment, LabKind, Scenario};

/// How faults reach the deployment under test.
pub(super) enum Backend {
    /// Given Sentinels only: Redis commands.
    Commands,
    /// A process lab, ephemeral or recorded.
    Process(Box<Lab>),
    /// Containers: a docker lab (ephemeral or recorded), or a compose project's stack.
    Docker {
        stack: Stack,
        lab: Option<Box<DockerLab>>,
    },
}

/// The target of a drill, set up.
pub(super) struct Target {
    pub(super) sentinels: Vec<Addr>,
    pub(super) master: String,
    pub(super) backend: Backend,
    /// The lab was started for this drill: it is torn down after it.
    ephemeral: bool,
    /// The journal record of an ephemeral lab, removed once it is torn down.
    lab_record: Option<Entry>,
    /// How every connection of the drill is made.
    pub(super) conn: Conn,
    pub(super) description: String,
    pub(super) down_after_ms: Option<u64>,
}

impl Target {
    fn via(&mut self) -> Via<'_> {
        match &mut self.backend {
            Backend::Commands => Via::Commands,
            Backend::Process(lab) => Via::Process(lab),
            Backend::Docker { stack, .. } => Via::Docker(stack),
        }
    }

    /// Removes a lab started for the drill; leaves anything else as it is.
    pub(super) async fn tear_down(self) -> Result<()> {
        match self.backend {
            Backend::Process(lab) if self.ephemeral => lab.down()?,
            Backend::Docker { lab: Some(lab), .. } if self.ephemeral => lab.down().await?,
            _ => {}
        }
        self.lab_record.map_or(Ok(()), Entry::close)
    }
}

impl Target {
    /// What may explain a failed pre-flight (`why`): a lab process stopped by SIGSTOP, and
    /// any fault journal record left on this target by a drill that is gone.
    pub(super) fn preflight_hints(&self, why: &str) -> Vec<String> {
        let mut hints = Vec::new();
        let mut addrs: Vec<String> = self.sentinels.iter().map(ToString::to_string).collect();
        if let Backend::Process(lab) = &self.backend {
            for m in lab.members() {
                addrs.push(m.addr().to_string());
                if journal::proc_stat(m.pid).is_some_and(|s| s.state == 'T') {
                    hints.push(format!(
                        "{} (pid {}) is stopped (SIGSTOP): it cannot answer",
                        m.addr(),
                        m.pid
                    ));
                }
            }
        }
        if let Backend::Docker { lab: Some(lab), .. } = &self.backend {
            addrs.extend(lab.containers().iter().map(|c| c.addr.to_string()));
        }
        for r in journal::leftovers().unwrap_or_default() {
            let here = r
                .addrs
                .iter()
                .any(|a| addrs.contains(a) || why.contains(a.as_str()));
            if here {
                hints.push(format!(
                    "the fault journal holds a leftover on this target: {}",
                    r.leftover_line()
                ));
            }
        }
        hints
    }
}

/// The target of a docker lab: its Sentinels and the stack of its project.
fn docker_target(lab: DockerLab, master: String, ephemeral: bool, conn: Conn) -> Target {
    let sentinels = lab.sentinels();
    let what = if ephemeral { "an ephemeral" } else { "the" };
    Target {
        description: format!(
            "{what} docker lab {} (sentinels {})",
            lab.project(),
            topology::join(&sentinels)
        ),
        sentinels,
        master,
        down_after_ms: Some(lab.settings().down_after.as_millis() as u64),
        backend: Backend::Docker {
            stack: Stack::new(Project::new(lab.docker().clone(), lab.project())),
            lab: Some(Box::new(lab)),
        },
        ephemeral,
        lab_record: None,
        conn,
    }
}

/// A fresh directory for an ephemeral lab and its journal record, written before the lab
/// starts, so a drill killed outright leaves a lab `warden heal` removes.
fn lab_record(drill: &str, backend: lab::Backend) -> Result<(PathBuf, Entry)> {
    let dir = lab::temp_state_dir("warden-drill-")?;
    let kind = format!("{backend:?}").to_lowercase();
    let what = format!("ephemeral {kind} lab in {}", dir.display());
    let mut entry = Entry::new(drill, &what, Vec::new());
    if let Err(e) = entry.will(Undo::RemoveLab {
        dir: dir.clone(),
        backend,
    }) {
        return Err(forget(entry, &dir, e));
    }
    Ok((dir, entry))
}

/// Starting an ephemeral lab failed with `e` (the lab removed what it had started): its
/// record and its directory go too.
fn forget(entry: Entry, dir: &Path, e: Error) -> Error {
    let _ = entry.close();
    let _ = std::fs::remove_dir_all(dir);
    e
}

/// Starts the ephemeral lab, or opens the recorded one, or uses the Sentinels given.
/// The connection settings: `given` (flags) over the scenario's `[target]` over a recorded
/// lab's `lab.json`.
fn conn_spec(s: &Scenario, given: &conn::Spec) -> Result<conn::Spec> {
    let scenario = s.target.conn_spec().map_err(Error::Usage)?;
    let recorded = match deployment(s)? {
        Deployment::Recorded { dir, .. } => lab::recorded_conn(dir)?,
        _ => conn::Spec::default(),
    };
    Ok(given.clone().or(scenario).or(recorded))
}

/// `drill` is the drill's id, for the journal records of an ephemeral lab.
pub(super) async fn set_up(s: &Scenario, given: &conn::Spec, drill: &str) -> Result<Target> {
    let master = s.master();
    let spec = conn_spec(s, given)?;
    let mut settings = s.lab.clone();
    settings.master = master.clone();
    match deployment(s)? {
        Deployment::Ephemeral(LabKind::Docker) => {
            let (dir, entry) = lab_record(drill, lab::Backend::Docker)?;
            let conn_spec = spec;
            let lab_spec = DockerLabSpec {
                dir: dir.clone(),
                image: lab::docker::default_image(),
                sentinel: settings,
                ready_timeout: Duration::from_secs(60),
                auth: false,
                tls: false,
            };
            let lab = match DockerLab::up(lab_spec).await {
                Ok(lab) => lab,
                Err(e) => return Err(forget(entry, &dir, e)),
            };
            let conn = match docker_conn(conn_spec, lab.docker(), &lab.project()).await {
                Ok(conn) => conn,
                Err(e) => {
                    let _ = lab.down().await;
                    let _ = entry.close();
                    return Err(e);
                }
            };
            let mut target = docker_target(lab, master, true, conn);
            target.lab_record = Some(entry);
            Ok(target)
        }
        Deployment::Ephemeral(LabKind::Process) => {
            // What can fail on bad input fails before the record and the directory exist.
            let conn = Conn::build(&spec)?;
            let (dir, entry) = lab_record(drill, lab::Backend::Process)?;
            let lab_spec = match LabSpec::ephemeral(dir.clone(), settings) {
                Ok(lab_spec) => lab_spec,
                Err(e) => return Err(forget(entry, &dir, e)),
            };
            let lab = match Lab::up(lab_spec).await {
                Ok(lab) => lab,
                Err(e) => return Err(forget(entry, &dir, e)),
            };
            let sentinels = lab.sentinels();
            Ok(Target {
                lab_record: Some(entry),
                conn,
                description: format!(
                    "an ephemeral process lab (sentinels {})",
                    topology::join(&sentinels)
                ),
                sentinels,
                master,
                down_after_ms: Some(s.lab.down_after.as_millis() as u64),
                backend: Backend::Process(Box::new(lab)),
                ephemeral: true,
            })
        }
        Deployment::Recorded { dir, sentinels } => {
            let mut target = match lab::recorded_backend(dir)? {
                lab::Backend::Docker => {
                    let lab = DockerLab::load(dir).await?;
                    let conn = docker_conn(spec, lab.docker(), &lab.project()).await?;
                    docker_target(lab, master, false, conn)
                }
                lab::Backend::Process => {
                    process_target(Lab::load(dir)?, master, Conn::build(&spec)?)
                }
            };
            if !sentinels.is_empty() {
                target.sentinels = sentinels.to_vec();
            }
            reachable(s, &target).await?;
            Ok(target)
        }
        Deployment::Sentinels {
            sentinels,
            compose_project,
        } => {
            let (backend, conn) = match compose_project {
                Some(project) => {
                    let engine = docker::connect().await?;
                    let conn = docker_conn(spec, &engine, project).await?;
                    let stack = Stack::new(Project::new(engine, project));
                    (Backend::Docker { stack, lab: None }, conn)
                }
                None => (Backend::Commands, Conn::build(&spec)?),
            };
            let project = compose_project
                .map(|p| format!(", compose project '{p}'"))
                .unwrap_or_default();
            let target = Target {
                description: format!(
                    "sentinels {} (master '{master}'{project})",
                    topology::join(sentinels)
                ),
                sentinels: sentinels.to_vec(),
                master,
                backend,
                ephemeral: false,
                lab_record: None,
                conn,
                down_after_ms: None,
            };
            reachable(s, &target).await?;
            Ok(target)
        }
    }
}

/// The connection of a drill on containers of compose project `project`: every hostname its
/// containers answer to (name, service, network alias) maps to the container's IP on the
/// stack's network, so the names Sentinels announce (`announce-hostnames`) are reached from
/// the host; entries given with `--resolve` (or in the scenario) win.
async fn docker_conn(spec: conn::Spec, engine: &docker::Engine, project: &str) -> Result<Conn> {
    let hosts = engine.hosts(project).await?;
    tracing::debug!(
        project,
        hosts = hosts.len(),
        "hostnames of the compose project mapped to container IPs"
    );
    Conn::build(&spec.with_hosts(hosts))
}

/// The scenario's deployment (validated when the scenario was read).
fn deployment(s: &Scenario) -> Result<Deployment<'_>> {
    s.target.deployment().map_err(Error::Usage)
}

/// A process lab recorded by `warden lab up`.
fn process_target(lab: Lab, master: String, conn: Conn) -> Target {
    let sentinels = lab.sentinels();
    Target {
        description: format!(
            "the process lab in {} (sentinels {})",
            lab.dir().display(),
            topology::join(&sentinels)
        ),
        sentinels,
        master,
        down_after_ms: None,
        backend: Backend::Process(Box::new(lab)),
        ephemeral: false,
        lab_record: None,
        conn,
    }
}

/// Fails fast on an unreachable deployment, a wrong master name, or faults the recorded
/// lab's backend cannot carry out.
async fn reachable(s: &Scenario, target: &Target) -> Result<Addr> {
    let reach = match target.backend {
        Backend::Commands => fault::Reach::Commands,
        Backend::Process(_) => fault::Reach::Process,
        Backend::Docker { .. } => fault::Reach::Docker,
    };
    for (table, f) in s.faults() {
        f.reaches(reach)
            .map_err(|e| Error::Usage(format!("[{table}]: {e}")))?;
    }
    topology::ask_primary(
        &target.conn,
        &target.sentinels,
        &target.master,
        Timeouts::CONTROL,
    )
    .await
}

/// What `--dry-run` prints: the target and the fault each trial would inject, resolved as far
/// as it can be without starting or touching anything.
pub(crate) async fn dry_run(s: &Scenario, given: &conn::Spec) -> Result<String> {
    let trials = match s.trials {
        1 => "1 trial".to_string(),
        n => format!("{n} trials"),
    };
    if let Deployment::Ephemeral(kind) = deployment(s)? {
        let (kind, server) = match kind {
            LabKind::Process => {
                let binary = lab::process::find_redis_server(&lab::default_redis_server())?;
                ("process", binary.display().to_string())
            }
            LabKind::Docker => {
                let image = lab::docker::default_image();
                docker::connect().await?.require_image(&image).await?;
                ("docker", image)
            }
        };
        return Ok(format!(
            "would start an ephemeral {kind} lab ({server}), run {trials} of: {} on the lab's {} \
             (chosen once the lab is up), then tear the lab down",
            s.fault.action.name(),
            s.fault.target.name(),
        ));
    }
    let mut target = set_up(s, given, "dry-run").await?;
    let primary = topology::ask_primary(
        &target.conn,
        &target.sentinels,
        &target.master,
        Timeouts::CONTROL,
    )
    .await?;
    let line = fault::preview(&s.fault, &primary, &target.via()).await?;
    Ok(format!(
        "would run {trials} on {}; first: {line}",
        target.description
    ))
}

/// Injects `fault` on `old` (the primary) for drill `drill`, recording it in the fault
/// journal first; returns what was done, in words, and the fault in effect with its record.
pub(super) async fn inject_one(
    fault: &Fault,
    old: &Addr,
    target: &mut Target,
    drill: &str,
) -> (String, Result<(Applied, Entry)>) {
    let (sentinels, master, conn) = (
        target.sentinels.clone(),
        target.master.clone(),
        target.conn.clone(),
    );
    let mut entry = Entry::new(drill, fault.action.name(), vec![old.to_string()]);
    let (d, result) = fault::inject(
        fault,
        old,
        target.via(),
        &sentinels,
        &master,
        &mut entry,
        &conn,
    )
    .await;
    match result {
        Ok(applied) => (d, Ok((applied, entry))),
        Err(e) => {
            // Nothing is in effect (a docker step that failed was undone): no record left.
            if let Err(j) = entry.close() {
                return (d, Err(Error::Usage(format!("{e}; and the journal: {j}"))));
            }
            (d, Err(e))
        }
    }
}

/// Reverts `applied` and, once that worked, removes its journal record; a failure joins the
/// trial's reasons (and the record stays, for `warden heal`).
pub(super) async fn revert(
    applied: Applied,
    entry: Entry,
    target: &mut Target,
    errors: &mut Vec<String>,
) {
    let lab = match &mut target.backend {
        Backend::Process(lab) => Some(&mut **lab),
        _ => None,
    };
    match fault::revert(applied, lab).await {
        Ok(()) => {
            if let Err(e) = entry.close() {
                errors.push(format!("reverted, but the journal record stays: {e}"));
            }
        }
        Err(e) => errors.push(format!(
            "revert failed: {e} (the fault journal keeps it for `warden heal`)"
        )),
    }
}
