//! What a connection states about itself and its commands — its timeouts, and the
//! name of a command for an error, which never includes the command's arguments.

use std::time::Duration;

/// How long to wait for a TCP connection and for each reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP connect (and handshake) timeout.
    pub connect: Duration,
    /// Per-command response timeout.
    pub response: Duration,
}

impl Timeouts {
    /// Short timeouts for control-plane queries on loopback or a LAN.
    pub const CONTROL: Timeouts = Timeouts {
        connect: Duration::from_millis(500),
        response: Duration::from_secs(2),
    };
}

/// Commands whose first argument is a subcommand worth naming in an error.
const CONTAINERS: &[&str] = &[
    "ACL", "CLIENT", "CLUSTER", "COMMAND", "CONFIG", "DEBUG", "FUNCTION", "INFO", "LATENCY",
    "MEMORY", "MODULE", "OBJECT", "REPLCONF", "SCRIPT", "SENTINEL", "SLOWLOG", "XINFO",
];

/// The command's name for an error: its first word, and the subcommand of a container
/// command (`SENTINEL MASTER`, `CONFIG GET`), never any other argument — an `AUTH` failure
/// must not print the password.
pub(crate) fn command_name(cmd: &redis::Cmd) -> String {
    let mut words = cmd.args_iter().map(|a| match a {
        redis::Arg::Simple(b) => String::from_utf8_lossy(b).to_uppercase(),
        _ => "CURSOR".into(),
    });
    let name = words.next().unwrap_or_default();
    match words.next() {
        Some(sub) if CONTAINERS.contains(&name.as_str()) => format!("{name} {sub}"),
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_names_are_upper_cased() {
        assert_eq!(
            command_name(redis::cmd("sentinel").arg("master").arg("m")),
            "SENTINEL MASTER"
        );
    }

    #[test]
    fn arguments_never_reach_an_error() {
        for (cmd, want) in [
            (
                redis::cmd("AUTH").arg("warden").arg("s3cret").clone(),
                "AUTH",
            ),
            (redis::cmd("auth").arg("s3cret").clone(), "AUTH"),
            (
                redis::cmd("CONFIG")
                    .arg("SET")
                    .arg("requirepass")
                    .arg("x")
                    .clone(),
                "CONFIG SET",
            ),
            (redis::cmd("GET").arg("session:secret-key").clone(), "GET"),
            (
                redis::cmd("INFO").arg("replication").clone(),
                "INFO REPLICATION",
            ),
        ] {
            assert_eq!(command_name(&cmd), want);
        }
    }
}
