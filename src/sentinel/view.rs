//! Pure: what one Sentinel says about a master and its replicas, as plain data read from
//! the field maps of `SENTINEL MASTER` and `SENTINEL REPLICAS` (which
//! [`super::topology`] sends).

use std::collections::HashMap;

use crate::addr::Addr;

/// One Sentinel's view of the master (`SENTINEL MASTER <name>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterView {
    /// Where this Sentinel thinks the master is.
    pub addr: Addr,
    /// Sentinel's flags for it, e.g. `master` or `s_down,master`.
    pub flags: String,
    /// Replicas this Sentinel knows (up or down).
    pub num_replicas: u32,
    /// Other Sentinels this Sentinel knows.
    pub num_other_sentinels: u32,
}

/// One Sentinel's view of a replica (`SENTINEL REPLICAS <name>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaView {
    /// The replica's announced address.
    pub addr: Addr,
    /// Sentinel's flags for it, e.g. `slave` or `s_down,slave,disconnected`.
    pub flags: String,
    /// `master-link-status` is `ok`.
    pub link_ok: bool,
    /// `slave-repl-offset`.
    pub offset: i64,
    /// `slave-priority` (lower is preferred; 0 never promoted).
    pub priority: i64,
}

impl MasterView {
    /// The view in a `SENTINEL MASTER` reply; `None` without a usable address.
    pub fn from_fields(m: &HashMap<String, String>) -> Option<MasterView> {
        Some(MasterView {
            addr: addr_of(m)?,
            flags: field(m, "flags").to_string(),
            num_replicas: field(m, "num-slaves").parse().unwrap_or(0),
            num_other_sentinels: field(m, "num-other-sentinels").parse().unwrap_or(0),
        })
    }
}

impl ReplicaView {
    /// One entry of a `SENTINEL REPLICAS` reply; `None` without a usable address.
    pub fn from_fields(m: &HashMap<String, String>) -> Option<ReplicaView> {
        Some(ReplicaView {
            addr: addr_of(m)?,
            flags: field(m, "flags").to_string(),
            link_ok: field(m, "master-link-status") == "ok",
            offset: field(m, "slave-repl-offset").parse().unwrap_or(-1),
            priority: field(m, "slave-priority").parse().unwrap_or(100),
        })
    }

    /// Up, linked, and not flagged down or disconnected.
    pub fn healthy(&self) -> bool {
        self.link_ok
            && !["s_down", "o_down", "disconnected"]
                .iter()
                .any(|f| self.flags.split(',').any(|x| x == *f))
    }
}

fn field<'a>(m: &'a HashMap<String, String>, k: &str) -> &'a str {
    m.get(k).map(String::as_str).unwrap_or("")
}

fn addr_of(m: &HashMap<String, String>) -> Option<Addr> {
    Some(Addr::new(field(m, "ip"), field(m, "port").parse().ok()?))
}
