//! Pure: a scenario file (TOML) parsed and validated into a [`Scenario`]; every mistake is one
//! line naming the file, the line and the field.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::addr::Addr;
use crate::conn::secret::Source;
use crate::conn::spec::{Resolve, Spec, TlsSpec};
use crate::fault::spec::{Fault, Reach, Target as FaultTarget};
use crate::lab::config::SentinelSettings;
use crate::workload::config::{VALUE_POOL, WorkloadConfig};

/// A drill: what to hit, with what workload, which fault, and the targets to meet.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, shown in reports.
    pub name: String,
    /// What the drill teaches.
    #[serde(default)]
    pub description: String,
    /// How many times to run the fault.
    #[serde(default = "one")]
    pub trials: u32,
    /// The deployment under test.
    pub target: TargetSpec,
    /// Sentinel settings of an ephemeral lab (`target.lab = "process"`).
    #[serde(default)]
    pub lab: SentinelSettings,
    /// The session workloads: one `[workload]` table, or several `[[workload]]` tables run
    /// side by side (each with its own `name` and key prefix).
    #[serde(
        rename = "workload",
        default = "one_workload",
        deserialize_with = "one_or_many"
    )]
    pub workloads: Vec<WorkloadConfig>,
    /// The fault.
    pub fault: Fault,
    /// A fault injected just before `fault` and reverted after it, at the end of the trial
    /// (e.g. kill Sentinels, then the primary). `kill`, `stop` or `sentinel-reset`.
    #[serde(default)]
    pub before: Option<Fault>,
    /// Faults the same drill compares with `fault`: one `[versus]` table or several
    /// `[[versus]]` tables. Trials take turns: with `k` faults in all, trial `n` runs
    /// `fault` when `(n - 1) mod k` is 0, else the versus fault of that index (one `[versus]`:
    /// odd trials `fault`, even ones `versus`). The `versus` trials are judged only on
    /// whether a failover happened; their figures are reported beside the others.
    #[serde(default, deserialize_with = "faults_one_or_many")]
    pub versus: Vec<Fault>,
    /// Durations of the trial's steps.
    #[serde(default)]
    pub timing: Timing,
    /// What counts as success.
    #[serde(default)]
    pub targets: Targets,
}

fn one() -> u32 {
    1
}

fn one_workload() -> Vec<WorkloadConfig> {
    vec![WorkloadConfig::default()]
}

/// `[workload]` (a table) or `[[workload]]` (an array of tables).
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<WorkloadConfig>, D::Error> {
    struct OneOrMany;
    impl<'de> serde::de::Visitor<'de> for OneOrMany {
        type Value = Vec<WorkloadConfig>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a [workload] table or [[workload]] tables")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            let one =
                WorkloadConfig::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
            Ok(vec![one])
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Vec::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
        }
    }
    d.deserialize_any(OneOrMany)
}

/// `[versus]` (a table) or `[[versus]]` (an array of tables).
fn faults_one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Fault>, D::Error> {
    struct OneOrMany;
    impl<'de> serde::de::Visitor<'de> for OneOrMany {
        type Value = Vec<Fault>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a [versus] table or [[versus]] tables")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            Ok(vec![Fault::deserialize(
                serde::de::value::MapAccessDeserializer::new(map),
            )?])
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Vec::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
        }
    }
    d.deserialize_any(OneOrMany)
}

/// Most `[[versus]]` faults one drill compares with its `[fault]`.
const MAX_VERSUS: usize = 3;

/// Longest single timing, timeout or retry delay.
const MAX_STEP: Duration = Duration::from_secs(3600);

/// Kinds of lab warden can start for a drill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabKind {
    /// Local `redis-server` processes.
    Process,
    /// Containers through the Docker API, from `$WARDEN_REDIS_IMAGE` (default `redis:7.2`).
    Docker,
}

/// The deployment a drill hits: an ephemeral lab, or existing Sentinels.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSpec {
    /// Start (and tear down) a lab of this kind for the drill.
    #[serde(default)]
    pub lab: Option<LabKind>,
    /// Sentinels of an existing deployment.
    #[serde(default)]
    pub sentinels: Vec<Addr>,
    /// Master name (default: the lab's, or `mymaster`).
    #[serde(default)]
    pub master: Option<String>,
    /// State directory of a lab started with `warden lab up` (either backend), for process
    /// or container faults on it.
    #[serde(default)]
    pub lab_dir: Option<PathBuf>,
    /// With `sentinels`: the compose project of an existing Docker stack whose containers
    /// (labelled `io.warden.chaos=allowed`) container faults may touch.
    #[serde(default)]
    pub compose_project: Option<String>,
    /// ACL user on the data nodes (default: `default`, or the recorded lab's).
    #[serde(default)]
    pub user: Option<String>,
    /// File holding the data nodes' password.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Environment variable holding the data nodes' password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// ACL user on the Sentinels.
    #[serde(default)]
    pub sentinel_user: Option<String>,
    /// File holding the Sentinels' password.
    #[serde(default)]
    pub sentinel_password_file: Option<PathBuf>,
    /// Environment variable holding the Sentinels' password.
    #[serde(default)]
    pub sentinel_password_env: Option<String>,
    /// TLS (`[target.tls]`: `ca`, `cert`, `key`, `server_name`, `insecure`, `on`).
    #[serde(default)]
    pub tls: Option<TlsSpec>,
    /// Hostname map, `["NAME=IP", …]`, applied to every address a Sentinel announces.
    #[serde(default)]
    pub resolve: Vec<String>,
    /// Refused: a password never goes into a scenario file.
    #[serde(default, skip_serializing)]
    password: Option<serde::de::IgnoredAny>,
    /// Refused: a password never goes into a scenario file.
    #[serde(default, skip_serializing)]
    sentinel_password: Option<serde::de::IgnoredAny>,
}

/// The deployment a drill hits, in exactly one of its shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deployment<'a> {
    /// A lab warden starts for the drill and removes after it.
    Ephemeral(LabKind),
    /// A lab started with `warden lab up`, by its state directory (which records its
    /// backend); the scenario's Sentinels, if any, replace the lab's.
    Recorded {
        /// The lab's state directory.
        dir: &'a Path,
        /// Sentinels to use instead of the lab's (empty: the lab's).
        sentinels: &'a [Addr],
    },
    /// An existing deployment, by its Sentinels; with a compose project, its containers too.
    Sentinels {
        /// The Sentinels.
        sentinels: &'a [Addr],
        /// The compose project whose opted-in containers faults may touch.
        compose_project: Option<&'a str>,
    },
}

impl TargetSpec {
    /// The connection settings this table gives (secrets by file or variable name only).
    pub(crate) fn conn_spec(&self) -> std::result::Result<Spec, String> {
        if self.password.is_some() || self.sentinel_password.is_some() {
            return Err("[target]: a password never goes into a scenario file; use \
                 `password_file` / `password_env` (or `sentinel_password_file` / \
                 `sentinel_password_env`)"
                .into());
        }
        let source = |file: &Option<PathBuf>, env: &Option<String>, what: &str| match (file, env) {
            (Some(_), Some(_)) => Err(format!(
                "[target]: give `{what}_file` or `{what}_env`, not both"
            )),
            (Some(f), None) => Ok(Some(Source::File(f.clone()))),
            (None, Some(e)) => Ok(Some(Source::Env(e.clone()))),
            (None, None) => Ok(None),
        };
        let resolve = self
            .resolve
            .iter()
            .map(|r| r.parse::<Resolve>().map_err(|e| format!("[target]: {e}")))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Spec {
            user: self.user.clone(),
            password: source(&self.password_file, &self.password_env, "password")?,
            sentinel_user: self.sentinel_user.clone(),
            sentinel_password: source(
                &self.sentinel_password_file,
                &self.sentinel_password_env,
                "sentinel_password",
            )?,
            tls: self.tls.clone(),
            resolve,
        })
    }

    /// The deployment this table names; what is wrong when it names none or several.
    pub(crate) fn deployment(&self) -> std::result::Result<Deployment<'_>, String> {
        let sentinels = self.sentinels.as_slice();
        let compose_project = self.compose_project.as_deref();
        match (self.lab, &self.lab_dir, sentinels.is_empty(), compose_project) {
            (Some(_), _, false, _) => {
                Err("[target]: give either `lab` or `sentinels`, not both".into())
            }
            (Some(_), Some(_), _, _) => {
                Err("[target]: `lab_dir` names an existing lab; it cannot go with `lab`".into())
            }
            (_, _, true, Some(_)) | (_, Some(_), _, Some(_)) => {
                Err("[target]: `compose_project` goes with a list of `sentinels`".into())
            }
            (Some(kind), None, true, None) => Ok(Deployment::Ephemeral(kind)),
            (None, Some(dir), _, None) => Ok(Deployment::Recorded { dir, sentinels }),
            (None, None, false, compose_project) => Ok(Deployment::Sentinels {
                sentinels,
                compose_project,
            }),
            (None, None, true, None) => Err(
                "[target]: give `lab = \"process\"`, `lab = \"docker\"`, `lab_dir` or a list of `sentinels`"
                    .into(),
            ),
        }
    }
}

/// How long each step of a trial may take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timing {
    /// Workload runs this long before the fault.
    #[serde(with = "humantime_serde")]
    pub warmup: Duration,
    /// Longest wait, from the fault, for `+switch-master` and a write on the new primary.
    #[serde(with = "humantime_serde")]
    pub observe: Duration,
    /// Workload keeps running this long after the failover before the loss check.
    #[serde(with = "humantime_serde")]
    pub settle: Duration,
    /// Longest wait for the faulted node to rejoin as a replica.
    #[serde(with = "humantime_serde")]
    pub rejoin: Duration,
    /// Longest wait for a healthy cluster before the fault.
    #[serde(with = "humantime_serde")]
    pub preflight: Duration,
    /// Largest replica lag (bytes of replication offset) the pre-flight accepts.
    pub max_lag_bytes: u64,
    /// How long the cluster must stay stable before the loss check (default: twice
    /// down-after, at least 2 s).
    #[serde(default, with = "humantime_serde")]
    pub stable: Option<Duration>,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            warmup: Duration::from_secs(2),
            observe: Duration::from_secs(30),
            settle: Duration::from_secs(2),
            rejoin: Duration::from_secs(30),
            preflight: Duration::from_secs(60),
            max_lag_bytes: 1 << 20,
            stable: None,
        }
    }
}

/// Targets a drill is judged against; an absent target is not judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Whether a failover must happen (`false`: none may happen).
    #[serde(default = "yes")]
    pub expect_failover: bool,
    /// Largest client RTO, ms, in every trial.
    #[serde(default)]
    pub rto_ms: Option<u64>,
    /// Most lost acknowledged writes in a trial.
    #[serde(default)]
    pub rpo_keys: Option<u64>,
    /// Longest lost-write window, ms, in a trial.
    #[serde(default)]
    pub rpo_ms: Option<u64>,
    /// How many failovers a trial must have (default: 1 when a failover is expected, else 0).
    #[serde(default)]
    pub failovers: Option<u32>,
    /// Exactly one node answers `ROLE master` when the trial ends (default: judged).
    #[serde(default = "yes")]
    pub one_primary_at_end: bool,
    /// Longest split brain, ms, in a trial (default: not judged).
    #[serde(default)]
    pub split_brain_ms: Option<u64>,
}

impl Targets {
    /// These targets without the RTO and RPO ones: what a `versus` trial is judged against.
    pub(crate) fn failover_only(&self) -> Targets {
        Targets {
            expect_failover: self.expect_failover,
            failovers: self.failovers,
            one_primary_at_end: self.one_primary_at_end,
            split_brain_ms: self.split_brain_ms,
            ..Targets::default()
        }
    }

    /// How many failovers a trial must have.
    pub(crate) fn failovers_expected(&self) -> u32 {
        self.failovers.unwrap_or(u32::from(self.expect_failover))
    }
}

fn yes() -> bool {
    true
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            expect_failover: true,
            rto_ms: None,
            rpo_keys: None,
            rpo_ms: None,
            failovers: None,
            one_primary_at_end: true,
            split_brain_ms: None,
        }
    }
}

impl Scenario {
    /// Parses and validates scenario text; the error is one line.
    pub fn parse(text: &str) -> std::result::Result<Scenario, String> {
        let s: Scenario = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|sp| text[..sp.start].matches('\n').count() + 1);
            let msg = e.message().trim().replace('\n', " ");
            match line {
                Some(l) => format!("line {l}: {msg}"),
                None => msg,
            }
        })?;
        s.validate()?;
        Ok(s)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        self.target.conn_spec()?;
        let reach = match self.target.deployment()? {
            Deployment::Ephemeral(LabKind::Process) => Some(Reach::Process),
            Deployment::Ephemeral(LabKind::Docker) => Some(Reach::Docker),
            Deployment::Sentinels {
                compose_project: Some(_),
                ..
            } => Some(Reach::Docker),
            Deployment::Sentinels { .. } => Some(Reach::Commands),
            // The recorded lab's backend is read from its state when the drill sets up.
            Deployment::Recorded { .. } => None,
        };
        self.fault.validate().map_err(|e| format!("[fault]: {e}"))?;
        if let Some(reach) = reach {
            self.fault
                .reaches(reach)
                .map_err(|e| format!("[fault]: {e}"))?;
        }
        if self.versus.len() > MAX_VERSUS {
            return Err(format!(
                "[[versus]]: at most {MAX_VERSUS} faults to compare with [fault], found {}",
                self.versus.len()
            ));
        }
        for (i, v) in self.versus.iter().enumerate() {
            let table = match self.versus.len() {
                1 => "[versus]".to_string(),
                _ => format!("[[versus]] {}", i + 1),
            };
            v.validate().map_err(|e| format!("{table}: {e}"))?;
            if let Some(reach) = reach {
                v.reaches(reach).map_err(|e| format!("{table}: {e}"))?;
            }
        }
        if let Some(b) = &self.before {
            let instant = b.action == crate::fault::spec::Action::SentinelReset;
            if b.timed() || !(b.needs_process() || instant) {
                return Err(
                    "[before]: a `before` fault lasts the whole trial: use `kill` or \
                     `stop` (or `sentinel-reset`, which needs no revert)"
                        .into(),
                );
            }
            b.validate().map_err(|e| format!("[before]: {e}"))?;
            if let Some(reach) = reach {
                b.reaches(reach).map_err(|e| format!("[before]: {e}"))?;
            }
        }
        if self.trials == 0 {
            return Err("`trials` must be at least 1".into());
        }
        self.validate_workloads()?;
        let positive = |d: Duration, what: &str| match d {
            Duration::ZERO => Err(format!("{what} must be above 0")),
            d if d > MAX_STEP => Err(format!("{what} must be at most 1h")),
            _ => Ok(()),
        };
        let t = &self.timing;
        positive(t.observe, "[timing]: `observe`")?;
        positive(t.rejoin, "[timing]: `rejoin`")?;
        positive(t.preflight, "[timing]: `preflight`")?;
        if let Some(stable) = t.stable {
            positive(stable, "[timing]: `stable`")?;
        }
        match (self.targets.expect_failover, self.targets.failovers) {
            (true, Some(0)) => {
                return Err("[targets]: `failovers = 0` needs `expect_failover = false`".into());
            }
            (false, Some(n)) if n > 0 => {
                return Err(format!(
                    "[targets]: `failovers = {n}` contradicts `expect_failover = false`"
                ));
            }
            _ => {}
        }
        for (d, what) in [(t.warmup, "warmup"), (t.settle, "settle")] {
            if d > MAX_STEP {
                return Err(format!("[timing]: `{what}` must be at most 1h"));
            }
        }
        if let Deployment::Ephemeral(LabKind::Docker) = self.target.deployment()? {
            for (table, f) in self.faults() {
                fits_the_lab(f).map_err(|e| format!("[{table}]: {e}"))?;
            }
        }
        let total = self.timing.warmup + self.timing.observe + self.timing.settle;
        if total > Duration::from_secs(3600) {
            return Err("[timing]: warmup + observe + settle must stay under 1h".into());
        }
        Ok(())
    }

    /// Each workload's table checked; names unique when there are several.
    fn validate_workloads(&self) -> std::result::Result<(), String> {
        let many = self.workloads.len() > 1;
        if self.workloads.is_empty() {
            return Err("[[workload]]: give at least one workload".into());
        }
        let mut names = std::collections::BTreeSet::new();
        for w in &self.workloads {
            let table = match many {
                true => format!("[[workload]] `{}`", w.name()),
                false => "[workload]".to_string(),
            };
            w.validate().map_err(|e| format!("{table}: {e}"))?;
            if !names.insert(w.name()) {
                return Err(format!(
                    "{table}: two workloads are named `{}`: give each its own `name`",
                    w.name()
                ));
            }
        }
        Ok(())
    }

    /// Refuses workloads whose values would not fit in `memory` bytes (the machine's): each
    /// built-in writer keeps [`VALUE_POOL`] random values of `value_size` bytes, and they may
    /// take at most half of it.
    pub(crate) fn check_memory(&self, memory: u64) -> std::result::Result<(), String> {
        let builtin = self.workloads.iter().filter(|w| w.command.is_none());
        let need: u128 = builtin
            .clone()
            .map(|w| (w.writers as u128) * (VALUE_POOL as u128) * (w.value_size as u128))
            .sum();
        if need > u128::from(memory / 2) {
            let writers: usize = builtin.map(|w| w.writers).sum();
            return Err(format!(
                "[workload]: {writers} writers × {VALUE_POOL} values × value_size = {} MiB, more than half this machine's memory ({} MiB); lower `writers` or `value_size`",
                need >> 20,
                memory >> 20
            ));
        }
        Ok(())
    }

    /// The fault trial `n` (from 1) runs, and whether it is a `versus` trial: the faults
    /// take turns, `fault` first.
    pub(crate) fn fault_of(&self, n: u32) -> (&Fault, bool) {
        let k = self.versus.len() + 1;
        match (n.saturating_sub(1) as usize) % k {
            0 => (&self.fault, false),
            i => (&self.versus[i - 1], true),
        }
    }

    /// Every fault the drill may inject (`fault`, `before`, `versus`), by table name.
    pub fn faults(&self) -> impl Iterator<Item = (&'static str, &Fault)> {
        [
            ("fault", Some(&self.fault)),
            ("before", self.before.as_ref()),
        ]
        .into_iter()
        .filter_map(|(t, f)| Some((t, f?)))
        .chain(self.versus.iter().map(|v| ("versus", v)))
    }

    /// What trial `n` is judged against: a `versus` trial only on whether a failover happened.
    pub(crate) fn targets_of(&self, n: u32) -> Targets {
        match self.fault_of(n) {
            (_, true) => self.targets.failover_only(),
            _ => self.targets.clone(),
        }
    }

    /// The master name to use.
    pub fn master(&self) -> String {
        self.target
            .master
            .clone()
            .unwrap_or_else(|| self.lab.master.clone())
    }
}

/// Whether `f` fits the shape of an ephemeral docker lab (3 nodes, 3 Sentinels).
fn fits_the_lab(f: &Fault) -> std::result::Result<(), String> {
    let (count, with) = (f.count.unwrap_or(1), f.with_sentinels.unwrap_or(0));
    let replicas = (crate::lab::NODES - 1) as u32;
    let sentinels = crate::lab::SENTINELS as u32;
    match f.target {
        FaultTarget::Replica if count > replicas => Err(format!(
            "the lab has {replicas} replicas: `count` must be at most {replicas}"
        )),
        FaultTarget::Sentinel if count > sentinels => Err(format!(
            "the lab has {sentinels} Sentinels: `count` must be at most {sentinels}"
        )),
        _ if with > sentinels => Err(format!(
            "the lab has {sentinels} Sentinels: `with_sentinels` must be at most {sentinels}"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
