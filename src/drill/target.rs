//! A drill's target: set up (an ephemeral process or docker lab, a recorded lab, or given
//! Sentinels), described for `--dry-run`, and the one place a fault is chosen, injected and
//! reverted on it.

use std::time::Duration;

use crate::addr::Addr;
use crate::client::Timeouts;
use crate::docker::{self, Project};
use crate::error::Result;
use crate::fault::docker::Stack;
use crate::fault::target::Selection;
use crate::fault::{self, Applied, Fault, Via};
use crate::lab::docker::{DockerLab, DockerLabSpec};
use crate::lab::{Backend, Lab, LabSpec};
use crate::sentinel::topology;

use super::scenario::{LabKind, Scenario};

/// The target of a drill, set up.
pub(super) struct Target {
    pub(super) sentinels: Vec<Addr>,
    pub(super) master: String,
    pub(super) lab: Option<Lab>,
    /// A docker lab: ephemeral (removed after the drill) or loaded from `lab_dir`.
    pub(super) docker: Option<DockerLab>,
    /// The containers faults may touch (the docker lab's project).
    pub(super) stack: Option<Stack>,
    pub(super) description: String,
    pub(super) down_after_ms: Option<u64>,
}

/// The target of a docker lab: its Sentinels and the stack of its project.
fn docker_target(lab: DockerLab, master: String, what: &str) -> Target {
    let sentinels = lab.sentinels();
    Target {
        description: format!(
            "{what} docker lab {} (sentinels {})",
            lab.project(),
            topology::join(&sentinels)
        ),
        sentinels,
        master,
        lab: None,
        stack: Some(lab_stack(&lab)),
        down_after_ms: Some(lab.settings().down_after.as_millis() as u64),
        docker: Some(lab),
    }
}

/// Starts the ephemeral lab, or opens the one named by `lab_dir`, or uses the Sentinels given.
pub(super) async fn set_up(s: &Scenario) -> Result<Target> {
    let master = s.master();
    if s.target.lab == Some(LabKind::Docker) {
        let mut sentinel = s.lab.clone();
        sentinel.master = master.clone();
        let spec = DockerLabSpec {
            dir: crate::lab::temp_state_dir("warden-drill-")?,
            image: crate::lab::docker::default_image(),
            sentinel,
            ready_timeout: Duration::from_secs(60),
        };
        return Ok(docker_target(
            DockerLab::up(spec).await?,
            master,
            "an ephemeral",
        ));
    }
    if let Some(dir) = &s.target.lab_dir
        && crate::lab::recorded_backend(dir)? == Backend::Docker
    {
        let lab = DockerLab::load(dir).await?;
        topology::ask_primary(&lab.sentinels(), &master, Timeouts::CONTROL).await?;
        return Ok(docker_target(lab, master, "the"));
    }
    if s.target.lab == Some(LabKind::Process) {
        let dir = crate::lab::temp_state_dir("warden-drill-")?;
        let mut settings = s.lab.clone();
        settings.master = master.clone();
        let lab = Lab::up(LabSpec::ephemeral(dir, settings)?).await?;
        let sentinels = lab.sentinels();
        return Ok(Target {
            description: format!(
                "an ephemeral process lab (sentinels {})",
                topology::join(&sentinels)
            ),
            sentinels,
            master,
            lab: Some(lab),
            docker: None,
            stack: None,
            down_after_ms: Some(s.lab.down_after.as_millis() as u64),
        });
    }
    let lab = s.target.lab_dir.as_deref().map(Lab::load).transpose()?;
    let sentinels = sentinels_of(s, lab.as_ref());
    // Fail fast on an unreachable deployment or a wrong master name.
    topology::ask_primary(&sentinels, &master, Timeouts::CONTROL).await?;
    let stack = compose_stack(s).await?;
    let project = stack
        .as_ref()
        .map(|st| format!(", compose project '{}'", st.project().name()))
        .unwrap_or_default();
    Ok(Target {
        description: format!(
            "sentinels {} (master '{master}'{project})",
            topology::join(&sentinels)
        ),
        sentinels,
        master,
        lab,
        docker: None,
        stack,
        down_after_ms: None,
    })
}

/// What `--dry-run` prints: the target and the fault each trial would inject.
pub async fn dry_run(s: &Scenario) -> Result<String> {
    if let Some(kind) = s.target.lab {
        let (kind, what) = match kind {
            LabKind::Process => (
                "process",
                fault::describe(&s.fault, &Addr::new("<lab primary>", 0), None),
            ),
            LabKind::Docker => (
                "docker",
                format!(
                    "{} on the lab's {} (image {})",
                    s.fault.action.name(),
                    s.fault.target.name(),
                    crate::lab::docker::default_image()
                ),
            ),
        };
        return Ok(format!(
            "would start an ephemeral {kind} lab, run {} trial(s) of: {what}, then tear the lab down",
            s.trials,
        ));
    }
    if let Some(dir) = &s.target.lab_dir
        && crate::lab::recorded_backend(dir)? == Backend::Docker
    {
        let lab = DockerLab::load(dir).await?;
        let primary =
            topology::ask_primary(&lab.sentinels(), &s.master(), Timeouts::CONTROL).await?;
        let stack = lab_stack(&lab);
        let line = match uses_containers(&s.fault) {
            true => fault::docker::describe(&s.fault, &stack.select(&s.fault, &primary).await?),
            false => fault::describe(&s.fault, &primary, None),
        };
        return Ok(format!("would run {} trial(s); first: {line}", s.trials));
    }
    if let Some(stack) = compose_stack(s).await? {
        let primary =
            topology::ask_primary(&s.target.sentinels, &s.master(), Timeouts::CONTROL).await?;
        let line = match uses_containers(&s.fault) {
            true => fault::docker::describe(&s.fault, &stack.select(&s.fault, &primary).await?),
            false => fault::describe(&s.fault, &primary, None),
        };
        return Ok(format!("would run {} trial(s); first: {line}", s.trials));
    }
    let lab = s.target.lab_dir.as_deref().map(Lab::load).transpose()?;
    let primary = topology::ask_primary(
        &sentinels_of(s, lab.as_ref()),
        &s.master(),
        Timeouts::CONTROL,
    )
    .await?;
    if s.fault.needs_process() {
        lab.as_ref().map(|l| l.member(&primary)).transpose()?;
    }
    Ok(format!(
        "would run {} trial(s); first: {}",
        s.trials,
        fault::describe(&s.fault, &primary, lab.as_ref())
    ))
}

/// The stack of `target.compose_project`, on the engine of `DOCKER_HOST`.
async fn compose_stack(s: &Scenario) -> Result<Option<Stack>> {
    match &s.target.compose_project {
        Some(project) => Ok(Some(Stack::new(Project::new(
            docker::connect().await?,
            project.clone(),
        )))),
        None => Ok(None),
    }
}

/// The stack of a docker lab's project.
fn lab_stack(lab: &DockerLab) -> Stack {
    Stack::new(Project::new(lab.docker().clone(), lab.project()))
}

/// The scenario's Sentinels, else those of the lab named by `lab_dir`.
fn sentinels_of(s: &Scenario, lab: Option<&Lab>) -> Vec<Addr> {
    match (s.target.sentinels.is_empty(), lab) {
        (true, Some(lab)) => lab.sentinels(),
        _ => s.target.sentinels.clone(),
    }
}

/// Whether `fault` acts on containers when the target is a docker lab.
fn uses_containers(fault: &Fault) -> bool {
    fault.needs_process() || fault.docker_only()
}

/// Chooses the containers `fault` hits (on a docker target), describes it and injects it.
pub(super) async fn inject_one(
    fault: &Fault,
    old: &Addr,
    target: &mut Target,
) -> (String, Result<Applied>) {
    let selection: Option<Selection> = match &target.stack {
        Some(stack) if uses_containers(fault) => match stack.select(fault, old).await {
            Ok(sel) => Some(sel),
            Err(e) => return (fault.action.name().to_string(), Err(e)),
        },
        _ => None,
    };
    let description = match &selection {
        Some(sel) => fault::docker::describe(fault, sel),
        None => fault::describe(fault, old, target.lab.as_ref()),
    };
    let via = match (&target.stack, &selection, target.lab.as_mut()) {
        (Some(stack), Some(sel), _) => Via::Docker(stack, sel),
        (_, _, Some(lab)) => Via::Process(lab),
        _ => Via::Commands,
    };
    let result = fault::inject(fault, old, via, &target.sentinels, &target.master).await;
    (description, result)
}

pub(super) async fn revert(applied: Applied, target: &mut Target, errors: &mut Vec<String>) {
    if let Err(e) = fault::revert(applied, target.lab.as_mut()).await {
        errors.push(format!("revert failed: {e}"));
    }
}
