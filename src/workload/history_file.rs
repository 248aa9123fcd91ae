//! The history file (`drill --history FILE`): JSON lines ([`super::record`]) streamed into a
//! temporary file beside `FILE`, trial after trial, and renamed into place only when the
//! drill is done — a reader never sees a half-written history. `warden check --out` writes
//! its updated history the same way.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use tempfile::NamedTempFile;

use super::Plan;
use super::history::History;
use super::record::{self, Anchor, Line};
use super::tally::LossTally;
use crate::error::{Error, Result};

/// A history file being written.
pub(crate) struct HistoryFile {
    path: PathBuf,
    out: BufWriter<NamedTempFile>,
}

impl HistoryFile {
    /// Starts writing `path` (a temporary file beside it until [`HistoryFile::commit`]).
    pub(crate) fn create(path: &Path) -> Result<HistoryFile> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = NamedTempFile::new_in(dir).map_err(Error::io(dir))?;
        Ok(HistoryFile {
            path: path.to_path_buf(),
            out: BufWriter::new(tmp),
        })
    }

    /// Appends trial `n`'s writes; `loss` is its loss check, if it ran. `at` and `wall` are one
    /// instant on both clocks (the fault's, so the history's UTC times agree with the report's).
    pub(crate) fn trial(
        &mut self,
        n: u32,
        plan: &Plan,
        history: &History,
        loss: Option<&LossTally>,
        (at, wall): (Instant, SystemTime),
    ) -> Result<()> {
        let t = record::Trial {
            trial: n,
            client: &plan.config.name(),
            prefix: &plan.prefix,
            ttl_ms: plan.config.ttl.as_millis() as u64,
            anchor: anchor(history.epoch, at, wall),
            found: loss.map(|l| (&l.found[..], &l.landed[..])),
        };
        record::lines(history, t).try_for_each(|line| self.write(&line))
    }

    /// Appends one line.
    pub(crate) fn write(&mut self, line: &Line) -> Result<()> {
        serde_json::to_writer(&mut self.out, line)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(|source| Error::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// Flushes, syncs and renames the file into place.
    pub(crate) fn commit(self) -> Result<()> {
        let path = self.path;
        let tmp = self.out.into_inner().map_err(|e| Error::Io {
            path: path.clone(),
            source: e.into_error(),
        })?;
        tmp.as_file().sync_all().map_err(Error::io(&path))?;
        tmp.persist(&path).map_err(|e| Error::Io {
            path: path.clone(),
            source: e.error,
        })?;
        Ok(())
    }
}

/// `epoch` on `CLOCK_MONOTONIC` and in UTC, from `at`, known to be `wall` in UTC. The
/// monotonic reading is taken beside an `Instant` (the same clock on Linux): within a µs.
fn anchor(epoch: Instant, at: Instant, wall: SystemTime) -> Anchor {
    let (now, mono) = (Instant::now(), monotonic_ns());
    let since = |i: Instant| now.saturating_duration_since(i).as_nanos() as u64;
    let wall: DateTime<Utc> = wall.into();
    let before_at = at.saturating_duration_since(epoch);
    Anchor {
        mono_ns: mono.saturating_sub(since(epoch)),
        utc: wall - before_at,
    }
}

/// `CLOCK_MONOTONIC` now, ns.
pub(crate) fn monotonic_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| Duration::from(t).as_nanos() as u64)
        .unwrap_or(0)
}
