//! Pure: what a restore into a container did ([`Restored`]) and its table. JSON output is
//! the serde form of the same value.

use std::fmt::Write;
use std::path::PathBuf;

use serde::Serialize;

use crate::addr::Addr;
use crate::backup::report::ms;
use crate::restore::checks::Check;

/// What was done to the container, and what it serves now.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Restored {
    /// The backup restored.
    pub file: String,
    /// Keys in it.
    pub keys: u64,
    /// The container's name.
    pub container: String,
    /// Where warden reached the node.
    pub addr: Addr,
    /// The RDB written, inside the container.
    pub rdb: String,
    /// The AOF directory written (its base is the RDB), inside the container.
    pub aof_dir: String,
    /// The node's `appendonly` setting (which of the two it loaded).
    pub appendonly: bool,
    /// Tar files of the previous RDB and AOF, on this host (empty with `--no-checkpoint`).
    pub checkpoints: Vec<PathBuf>,
    /// Start of the container to `loading:0`, in milliseconds.
    pub load_ms: u64,
    /// `DBSIZE` against the backup.
    pub check: Check,
    /// Things the operator should know (the AOF, a replica that may resync).
    pub notes: Vec<String>,
}

/// What `warden restore --into docker:` did, the node's key count check and the notes.
pub(crate) fn restored_docker(r: &Restored) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "{:<20} {} ({} keys)", "restored", r.file, r.keys);
    let _ = writeln!(t, "{:<20} {} ({})", "container", r.container, r.addr);
    let _ = writeln!(t, "{:<20} {}", "rdb", r.rdb);
    let _ = writeln!(t, "{:<20} {} (base = the same RDB)", "aof", r.aof_dir);
    for p in &r.checkpoints {
        let _ = writeln!(t, "{:<20} {}", "checkpoint", p.display());
    }
    if r.checkpoints.is_empty() {
        let _ = writeln!(
            t,
            "{:<20} none (--no-checkpoint, or no previous files)",
            "checkpoint"
        );
    }
    let _ = writeln!(t, "{:<20} {}", "loaded in", ms(r.load_ms));
    t.push_str(&r.check.line());
    for n in &r.notes {
        let _ = writeln!(t, "{:<20} {n}", "note");
    }
    t
}
