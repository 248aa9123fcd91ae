//! Pure: a fault as a scenario states it — what to do ([`Action`]), to which instance
//! ([`Target`]), for how long — its validation, and how far a backend must reach
//! ([`Reach`]) to carry it out.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::server::{Family, ServerVersion};

/// How far a drill's faults reach into the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Redis commands only (given Sentinels, no lab).
    Commands,
    /// The processes of a local lab.
    Process,
    /// Containers through the Docker API.
    Docker,
}

/// What to do to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// SIGKILL the process; restarted at the end of the trial.
    Kill,
    /// SIGTERM the process (a graceful shutdown); restarted at the end of the trial.
    Stop,
    /// SIGSTOP the process for `duration`, then SIGCONT.
    Pause,
    /// `DEBUG SLEEP <duration>` on the node: its event loop freezes, the process stays.
    DebugSleep,
    /// `SENTINEL FAILOVER <master>`: a manual failover, the primary stays healthy.
    SentinelFailover,
    /// A failover with the writers paused (Redis ≥ 6.2): `CLIENT PAUSE WRITE` on the
    /// primary, wait until every replica has its offset, `SENTINEL FAILOVER`, then
    /// `REPLICAOF` the new primary on the old one and `CLIENT UNPAUSE`: no acknowledged
    /// write can be lost.
    CoordinatedFailover,
    /// `SENTINEL FAILOVER <master> COORDINATED` (Valkey ≥ 9.0): Sentinel's own coordinated
    /// failover — the primary pauses writes and hands over once a replica has caught up.
    SentinelFailoverCoordinated,
    /// `SENTINEL RESET <master>` on `count` Sentinels (`target = "sentinel"`): each forgets
    /// the replicas and Sentinels it knew and finds them again; nothing to revert.
    SentinelReset,
    /// SIGKILL the primary and the Sentinel on its host together (process lab: node *i*
    /// shares a host with Sentinel *i*); both restarted at the end of the trial.
    PrimaryWithSentinel,
    /// Process lab: the failover leader crashes mid-failover. `SENTINEL SIMULATE-FAILURE
    /// crash-after-<when>` on every Sentinel, then `SENTINEL FAILOVER` (the Sentinel that
    /// accepts it leads, without an election) until that Sentinel exits; the others' flags are
    /// cleared at once, and the crashed one is started again (same config file) at the end
    /// of the trial. After a promotion the old primary and the promoted replica both answer
    /// `ROLE master` until the others convert the replica back (~8 s), and the restarted
    /// leader's config names the replica at a newer epoch.
    SentinelLeaderCrash,
    /// Docker only: restart the container (graceful stop, then start); nothing to revert.
    Restart,
    /// Docker only: restart every data node at once (graceful stop, then start); the
    /// report's `two_primaries.at_end` says how many primaries emerged. Nothing to revert.
    RestartAll,
    /// Docker only: disconnect the container from its networks for `duration`, then
    /// reconnect it with its aliases (and its IP where the network allows pinning it).
    Disconnect,
    /// Docker only: disconnect the container from its networks for `duration`, then
    /// reconnect it with its aliases but a different IP (a pod rescheduled with a new
    /// address); the old IP is not given back.
    NewIp,
    /// Docker only: for `duration`, drop all traffic between the target (plus
    /// `with_sentinels` Sentinels) and the rest of the stack, inside each container's network
    /// namespace; the host still reaches both sides.
    Partition,
}

/// When the failover leader of `sentinel-leader-crash` exits (`SENTINEL SIMULATE-FAILURE`,
/// Redis ≥ 3.2 and Valkey).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrashWhen {
    /// Right after `+elected-leader`: nothing changed yet.
    AfterElection,
    /// Right after `+promoted-slave`: the replica is a primary, its config saved, no
    /// `+switch-master` announced.
    AfterPromotion,
}

impl CrashWhen {
    /// The `SENTINEL SIMULATE-FAILURE` mode.
    pub fn mode(self) -> &'static str {
        match self {
            CrashWhen::AfterElection => "crash-after-election",
            CrashWhen::AfterPromotion => "crash-after-promotion",
        }
    }
}

/// Which instance the fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// The current primary, as the Sentinels report it just before the fault.
    Primary,
    /// Docker only: data nodes that are not the current primary (`count` of them).
    Replica,
    /// Docker only: Sentinels (`count` of them).
    Sentinel,
}

/// A fault as a scenario states it (`[fault]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// What to do.
    pub action: Action,
    /// To which instance.
    #[serde(default = "primary")]
    pub target: Target,
    /// For `pause` and `debug-sleep`: how long the node stays frozen; for `disconnect` and
    /// `partition`: how long it stays cut off.
    #[serde(default, with = "humantime_serde")]
    pub duration: Option<Duration>,
    /// Docker only: how many containers of the target kind (default 1).
    #[serde(default)]
    pub count: Option<u32>,
    /// Docker `partition` only: Sentinels on the target's side (default 0).
    #[serde(default)]
    pub with_sentinels: Option<u32>,
    /// `sentinel-leader-crash` only (required): when the leader exits.
    #[serde(default)]
    pub when: Option<CrashWhen>,
}

impl Target {
    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Target::Primary => "primary",
            Target::Replica => "replica",
            Target::Sentinel => "sentinel",
        }
    }
}

fn primary() -> Target {
    Target::Primary
}

impl Fault {
    /// Checks the settings fit together; returns what is wrong.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.with_sentinels.is_some() && self.action != Action::Partition {
            return Err("`with_sentinels` goes only with `partition`".into());
        }
        match (self.action == Action::SentinelLeaderCrash, self.when) {
            (true, None) => {
                return Err(
                    "`sentinel-leader-crash` needs `when = \"after-election\"` or \
                            `when = \"after-promotion\"`"
                        .into(),
                );
            }
            (false, Some(_)) => return Err("`when` goes only with `sentinel-leader-crash`".into()),
            _ => {}
        }
        if self.action == Action::SentinelLeaderCrash && self.target != Target::Primary {
            return Err(
                "`sentinel-leader-crash` fails the primary over (its leader crashes): no `target`"
                    .into(),
            );
        }
        if self.action == Action::SentinelReset && self.target != Target::Sentinel {
            return Err("`sentinel-reset` acts on Sentinels: set `target = \"sentinel\"`".into());
        }
        if self.action == Action::PrimaryWithSentinel && self.target != Target::Primary {
            return Err("`primary-with-sentinel` hits the primary (and its Sentinel)".into());
        }
        if self.count == Some(0) {
            return Err("`count` must be at least 1".into());
        }
        if self.target == Target::Primary && self.count.is_some_and(|c| c > 1) {
            return Err("there is one primary: `count` must be 1".into());
        }
        if self.action == Action::Partition
            && self.target == Target::Sentinel
            && self.with_sentinels.is_some_and(|n| n > 0)
        {
            return Err(
                "a partition of Sentinels takes no `with_sentinels`: the sides would overlap"
                    .into(),
            );
        }
        if self.duration == Some(Duration::ZERO) {
            return Err(format!(
                "fault `{}` needs a `duration` above 0",
                self.action.name()
            ));
        }
        if self.duration.is_some_and(|d| d > Duration::from_secs(3600)) {
            return Err("`duration` must be at most 1h".into());
        }
        let needs_duration = self.timed() || self.action == Action::DebugSleep;
        match (needs_duration, self.duration) {
            (true, None) => Err(format!("fault `{}` needs a `duration`", self.action.name())),
            (false, Some(_)) => Err(format!(
                "fault `{}` takes no `duration` (it is reverted at the end of the trial)",
                self.action.name()
            )),
            _ => Ok(()),
        }
    }

    /// Whether the fault acts on a process, so it needs a lab that knows the PIDs.
    pub(crate) fn needs_process(&self) -> bool {
        matches!(
            self.action,
            Action::Kill
                | Action::Stop
                | Action::Pause
                | Action::PrimaryWithSentinel
                | Action::SentinelLeaderCrash
        )
    }

    /// Whether only the docker backend can carry the fault out.
    pub(crate) fn docker_only(&self) -> bool {
        if matches!(self.action, Action::SentinelReset) {
            return false;
        }
        matches!(
            self.action,
            Action::Restart
                | Action::RestartAll
                | Action::Disconnect
                | Action::NewIp
                | Action::Partition
        ) || self.target != Target::Primary
            || self.count.is_some()
    }

    /// Whether the fault can be carried out where `reach` goes; what to set when not.
    pub fn reaches(&self, reach: Reach) -> std::result::Result<(), String> {
        match reach {
            Reach::Commands if self.needs_process() || self.docker_only() => Err(format!(
                "`{}` acts on a process or container: set target.lab, lab_dir or compose_project",
                self.action.name()
            )),
            Reach::Docker
                if matches!(
                    self.action,
                    Action::PrimaryWithSentinel | Action::SentinelLeaderCrash
                ) =>
            {
                Err(format!(
                    "`{}` runs on a process lab (lab = \"process\" or a process lab_dir)",
                    self.action.name()
                ))
            }
            Reach::Process if self.docker_only() => Err(format!(
                "`{}` on {} needs the docker backend: set target.lab = \"docker\"",
                self.action.name(),
                self.target.name()
            )),
            _ => Ok(()),
        }
    }

    /// The oldest Redis version (major, minor) the fault works on, and what it needs from
    /// it; Valkey has them all.
    pub(crate) fn min_redis(&self) -> Option<((u32, u32), &'static str)> {
        match self.action {
            Action::CoordinatedFailover => Some(((6, 2), "`CLIENT PAUSE … WRITE`")),
            Action::SentinelLeaderCrash => Some(((3, 2), "`SENTINEL SIMULATE-FAILURE`")),
            _ => None,
        }
    }

    /// The oldest Valkey version (major, minor) the fault works on, for a fault no Redis
    /// has.
    pub(crate) fn min_valkey(&self) -> Option<(u32, u32)> {
        (self.action == Action::SentinelFailoverCoordinated).then_some((9, 0))
    }

    /// Whether `server` can carry the fault out; what is wrong when not (an unknown version
    /// is let through: the commands then say it themselves).
    pub(crate) fn runs_on(&self, server: &ServerVersion) -> std::result::Result<(), String> {
        if let Some((major, minor)) = self.min_valkey() {
            let older = server.family == Family::Redis
                || server.major_minor().is_some_and(|v| v < (major, minor));
            return match older {
                true => Err(format!(
                    "`{}` needs Valkey {major}.{minor} or later (`SENTINEL FAILOVER … COORDINATED`); the primary runs {server}",
                    self.action.name()
                )),
                false => Ok(()),
            };
        }
        let (Some(((major, minor), what)), Family::Redis) = (self.min_redis(), server.family)
        else {
            return Ok(());
        };
        match server.major_minor() {
            Some(v) if v < (major, minor) => Err(format!(
                "`{}` needs Redis {major}.{minor} or later ({what}); the primary runs {server}",
                self.action.name()
            )),
            _ => Ok(()),
        }
    }

    /// Whether the fault is reverted when its `duration` ends (rather than after the trial).
    pub fn timed(&self) -> bool {
        matches!(
            self.action,
            Action::Pause | Action::Disconnect | Action::NewIp | Action::Partition
        )
    }
}

impl Action {
    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Action::Kill => "kill",
            Action::Stop => "stop",
            Action::Pause => "pause",
            Action::DebugSleep => "debug-sleep",
            Action::SentinelFailover => "sentinel-failover",
            Action::CoordinatedFailover => "coordinated-failover",
            Action::SentinelFailoverCoordinated => "sentinel-failover-coordinated",
            Action::SentinelReset => "sentinel-reset",
            Action::PrimaryWithSentinel => "primary-with-sentinel",
            Action::SentinelLeaderCrash => "sentinel-leader-crash",
            Action::Restart => "restart",
            Action::RestartAll => "restart-all",
            Action::NewIp => "new-ip",
            Action::Disconnect => "disconnect",
            Action::Partition => "partition",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(action: Action) -> Fault {
        Fault {
            action,
            target: Target::Primary,
            duration: None,
            count: None,
            with_sentinels: None,
            when: None,
        }
    }

    fn server(family: Family, version: &str) -> ServerVersion {
        ServerVersion {
            family,
            version: version.into(),
        }
    }

    #[test]
    fn a_coordinated_failover_needs_redis_6_2() {
        let f = fault(Action::CoordinatedFailover);
        assert_eq!(
            f.runs_on(&server(Family::Redis, "6.0.16")),
            Err(
                "`coordinated-failover` needs Redis 6.2 or later (`CLIENT PAUSE … WRITE`); \
                 the primary runs redis 6.0.16"
                    .into()
            )
        );
        for ok in [
            server(Family::Redis, "6.2.0"),
            server(Family::Redis, "7.0.15"),
            server(Family::Redis, "unknown"),
            server(Family::Valkey, "7.2.4"),
        ] {
            assert_eq!(f.runs_on(&ok), Ok(()), "{ok}");
        }
        assert_eq!(
            fault(Action::Kill).runs_on(&server(Family::Redis, "5.0.0")),
            Ok(())
        );
    }

    #[test]
    fn a_leader_crash_needs_simulate_failure_and_a_process_lab() {
        let mut f = fault(Action::SentinelLeaderCrash);
        assert!(
            f.validate().is_err_and(|e| e.contains("needs `when")),
            "{f:?}"
        );
        f.when = Some(CrashWhen::AfterPromotion);
        assert_eq!(f.validate(), Ok(()));
        assert_eq!(f.reaches(Reach::Process), Ok(()));
        for (reach, why) in [
            (Reach::Docker, "runs on a process lab"),
            (Reach::Commands, "acts on a process or container"),
        ] {
            assert!(
                f.reaches(reach).is_err_and(|e| e.contains(why)),
                "{reach:?}"
            );
        }
        assert!(
            f.runs_on(&server(Family::Redis, "3.0.7"))
                .is_err_and(|e| e.contains("Redis 3.2 or later (`SENTINEL SIMULATE-FAILURE`)"))
        );
        for ok in [
            server(Family::Redis, "3.2.0"),
            server(Family::Redis, "7.0.15"),
            server(Family::Valkey, "8.1.1"),
        ] {
            assert_eq!(f.runs_on(&ok), Ok(()), "{ok}");
        }
        let mut other = fault(Action::Kill);
        other.when = Some(CrashWhen::AfterElection);
        assert!(other.validate().is_err_and(|e| e.contains("only with")));
        f.target = Target::Sentinel;
        assert!(f.validate().is_err_and(|e| e.contains("no `target`")));
    }

    #[test]
    fn sentinels_own_coordinated_failover_needs_valkey_9() {
        let f = fault(Action::SentinelFailoverCoordinated);
        for (no, runs) in [
            (server(Family::Redis, "7.0.15"), "redis 7.0.15"),
            (server(Family::Redis, "8.2.1"), "redis 8.2.1"),
            (server(Family::Redis, "unknown"), "redis unknown"),
            (server(Family::Valkey, "8.1.8"), "valkey 8.1.8"),
        ] {
            assert_eq!(
                f.runs_on(&no),
                Err(format!(
                    "`sentinel-failover-coordinated` needs Valkey 9.0 or later \
                     (`SENTINEL FAILOVER … COORDINATED`); the primary runs {runs}"
                )),
                "{no}"
            );
        }
        for ok in [
            server(Family::Valkey, "9.0.0"),
            server(Family::Valkey, "9.1.2"),
            server(Family::Valkey, "unknown"),
        ] {
            assert_eq!(f.runs_on(&ok), Ok(()), "{ok}");
        }
    }
}
