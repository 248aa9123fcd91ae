//! The fault journal: every fault a drill injects (and every ephemeral lab it starts) is
//! recorded durably in a state directory before it happens, and the record removed once it
//! is undone. A drill killed outright (SIGKILL, a crash, the OOM killer) leaves its records
//! behind; their owner — a PID *and* its start time, so a reused PID is not mistaken for it —
//! is gone, which is how every later command knows them for leftovers, and `warden heal`
//! reverts them ([`crate::fault::heal`]).
//!
//! Layout: `$WARDEN_STATE_DIR` (default `$XDG_STATE_HOME/warden`, else
//! `~/.local/state/warden`), one JSON file per record under `faults/`, written to a temporary
//! name, fsynced, renamed, and the directory fsynced — before the injection it describes.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::addr::Addr;
use crate::docker::Attachment;
use crate::error::{Error, Result};
use crate::lab::Backend;

/// The state directory: `$WARDEN_STATE_DIR`, else `$XDG_STATE_HOME/warden`, else
/// `~/.local/state/warden` (`/tmp/warden-state` without a home).
pub(crate) fn state_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = env("WARDEN_STATE_DIR") {
        return d;
    }
    if let Some(d) = env("XDG_STATE_HOME") {
        return d.join("warden");
    }
    match env("HOME") {
        Some(h) => h.join(".local/state/warden"),
        None => PathBuf::from("/tmp/warden-state"),
    }
}

/// Where the records are.
fn faults_dir() -> PathBuf {
    state_dir().join("faults")
}

/// A process, told apart from a later one that reuses its PID by its start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Owner {
    /// The PID.
    pub pid: u32,
    /// Field 22 of `/proc/PID/stat`: clock ticks after boot when it started.
    pub start: u64,
}

impl Owner {
    /// This process.
    pub(crate) fn me() -> Owner {
        let pid = std::process::id();
        Owner {
            pid,
            start: proc_stat(pid).map_or(0, |s| s.start),
        }
    }

    /// Whether the owner still runs (same PID, same start time, not a zombie).
    pub(crate) fn alive(&self) -> bool {
        proc_stat(self.pid).is_some_and(|s| s.start == self.start && s.state != 'Z')
    }
}

/// What `/proc/PID/stat` says about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// Its state letter: `R`, `S`, `D`, `T` (stopped by a signal), `t`, `Z`, …
    pub state: char,
    /// Clock ticks after boot when it started.
    pub start: u64,
}

/// `/proc/PID/stat` of `pid`, if it exists.
pub fn proc_stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// Parses a `/proc/PID/stat` line: the fields after the command name (which may itself
/// hold spaces and parentheses, hence the last `)`).
fn parse_stat(text: &str) -> Option<ProcStat> {
    let (_, rest) = text.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(ProcStat {
        state: fields.first()?.chars().next()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

/// One step that undoes (part of) a fault, with everything it needs and nothing from the
/// process that recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "undo", rename_all = "kebab-case")]
pub(crate) enum Undo {
    /// SIGCONT to a lab process stopped with SIGSTOP (if it is still that `redis-server`).
    Continue {
        /// Its PID.
        pid: u32,
        /// Its port (to check the PID is still the lab's `redis-server`).
        port: u16,
    },
    /// Start a killed or stopped node of the process lab in `lab_dir` again.
    Restart {
        /// The lab's state directory.
        lab_dir: PathBuf,
        /// The node.
        addr: Addr,
    },
    /// Start a killed or stopped container.
    Start {
        /// Container id.
        id: String,
        /// Container name.
        name: String,
    },
    /// Unpause a container.
    Unpause {
        /// Container id.
        id: String,
        /// Container name.
        name: String,
    },
    /// Reconnect a container to a network it was disconnected from.
    Reconnect {
        /// Container id.
        id: String,
        /// Container name.
        name: String,
        /// The network, its IP and aliases.
        network: String,
        /// Its IP on it.
        ip: String,
        /// Its aliases on it.
        aliases: Vec<String>,
    },
    /// Delete the DROP rules tagged `-m comment --comment <tag>` in a container's network
    /// namespace.
    DropRules {
        /// Container id.
        id: String,
        /// Container name.
        name: String,
        /// The comment on every rule (`warden:<drill id>`).
        tag: String,
    },
    /// Stop and remove an ephemeral lab (and its state directory).
    RemoveLab {
        /// Its state directory.
        dir: PathBuf,
        /// Its backend.
        backend: Backend,
    },
}

impl Undo {
    /// A reconnect to `n`.
    pub(crate) fn reconnect(id: &str, name: &str, n: &Attachment) -> Undo {
        Undo::Reconnect {
            id: id.into(),
            name: name.into(),
            network: n.network.clone(),
            ip: n.ip.clone(),
            aliases: n.aliases.clone(),
        }
    }
}

/// A fault (or an ephemeral lab) in effect, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Record {
    /// The drill's id (also in the tag of its iptables rules).
    pub drill: String,
    /// The drill's process.
    pub owner: Owner,
    /// What was done, in words (`SIGSTOP of 127.0.0.1:7001`).
    pub what: String,
    /// The addresses it hit (to name it when a pre-flight on them fails).
    pub addrs: Vec<String>,
    /// How to undo it, in the order the steps were taken (undone last first).
    pub undo: Vec<Undo>,
    /// Its file.
    #[serde(skip)]
    pub file: PathBuf,
}

impl Record {
    /// The one line every command prints about a leftover.
    pub(crate) fn leftover_line(&self) -> String {
        format!(
            "leftover fault from drill pid {} (gone): {} — run 'warden heal'",
            self.owner.pid, self.what
        )
    }
}

/// A record being kept while its fault is in effect. Nothing is written until the first
/// step; each step is written durably before the caller takes it.
#[derive(Debug)]
pub(crate) struct Entry {
    record: Record,
    /// `None`: not journalled (a library caller that keeps its own books).
    file: Option<PathBuf>,
    /// Kept even when closed: undoing a half-done injection failed.
    kept: bool,
}

impl Entry {
    /// An entry that records nothing.
    pub(crate) fn off() -> Entry {
        Entry {
            record: Record {
                drill: String::new(),
                owner: Owner::me(),
                what: String::new(),
                addrs: Vec::new(),
                undo: Vec::new(),
                file: PathBuf::new(),
            },
            file: None,
            kept: false,
        }
    }

    /// A new entry of drill `drill` for `what` on `addrs`, in the journal's directory.
    pub(crate) fn new(drill: &str, what: &str, addrs: Vec<String>) -> Entry {
        let owner = Owner::me();
        let file = faults_dir().join(format!(
            "{drill}-{}-{:08x}.json",
            owner.pid,
            rand::random::<u32>()
        ));
        Entry {
            record: Record {
                drill: drill.into(),
                owner,
                what: what.into(),
                addrs,
                undo: Vec::new(),
                file: file.clone(),
            },
            file: Some(file),
            kept: false,
        }
    }

    /// The tag of the drill's iptables rules: `warden:<drill id>`.
    pub(crate) fn tag(&self) -> String {
        tag(&self.record.drill)
    }

    /// Names what is done, in words, once it is known.
    pub(crate) fn describe(&mut self, what: &str) {
        self.record.what = what.into();
    }

    /// Records `step` durably; the caller takes it only after this returned `Ok`.
    pub(crate) fn will(&mut self, step: Undo) -> Result<()> {
        self.record.undo.push(step);
        match &self.file {
            Some(file) => write(file, &self.record),
            None => Ok(()),
        }
    }

    /// Undoing a half-done injection failed: [`Entry::close`] leaves the record for
    /// `warden heal`.
    pub(crate) fn keep(&mut self) {
        self.kept = true;
    }

    /// The fault is undone: removes the record (unless [`Entry::keep`] was called).
    pub(crate) fn close(self) -> Result<()> {
        match self.file {
            Some(file) if !self.record.undo.is_empty() && !self.kept => remove_file(&file),
            _ => Ok(()),
        }
    }
}

/// The tag of drill `id`'s iptables rules.
pub(crate) fn tag(id: &str) -> String {
    format!("warden:{id}")
}

/// Writes `record` to `file`: temporary name, fsync, rename, fsync of the directory.
fn write(file: &Path, record: &Record) -> Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let tmp = file.with_extension("json.tmp");
    let json = serde_json::to_string_pretty(record).expect("a record serializes");
    let mut f = std::fs::File::create(&tmp).map_err(Error::io(&tmp))?;
    f.write_all(json.as_bytes()).map_err(Error::io(&tmp))?;
    f.sync_all().map_err(Error::io(&tmp))?;
    std::fs::rename(&tmp, file).map_err(Error::io(file))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io(dir))
}

fn remove_file(file: &Path) -> Result<()> {
    match std::fs::remove_file(file) {
        Ok(()) => sync_dir(file.parent().unwrap_or(Path::new("."))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(file)(e)),
    }
}

/// Every record in the journal (an unreadable one is skipped with a line on stderr).
pub(crate) fn records() -> Result<Vec<Record>> {
    let dir = faults_dir();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&dir)(e)),
    };
    let mut all = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(Error::io(&path))?;
        match serde_json::from_str::<Record>(&text) {
            Ok(mut r) => {
                r.file = path;
                all.push(r);
            }
            Err(e) => eprintln!("warden: {}: not a fault record: {e}", path.display()),
        }
    }
    all.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(all)
}

/// The records whose drill is gone: faults nobody will revert but `warden heal`.
pub(crate) fn leftovers() -> Result<Vec<Record>> {
    Ok(records()?
        .into_iter()
        .filter(|r| !r.owner.alive())
        .collect())
}

/// Removes a record once `warden heal` undid it.
pub(crate) fn forget(record: &Record) -> Result<()> {
    remove_file(&record.file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_parse_past_a_command_name_with_spaces_and_parens() {
        let line = "4242 (redis (x) y) T 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 4 0 \
                    987654 1000 10 18446744073709551615";
        assert_eq!(
            parse_stat(line),
            Some(ProcStat {
                state: 'T',
                start: 987654
            })
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_is_alive_and_a_changed_start_time_is_not() {
        let me = Owner::me();
        assert!(me.alive());
        let reused = Owner {
            start: me.start + 1,
            ..me
        };
        assert!(!reused.alive());
    }
}
