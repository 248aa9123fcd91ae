//! `watch --svg DIR`: one SVG timeline per recorded episode ([`crate::render::picture`]),
//! written atomically under a stable name: `<master>-<epoch>.svg` (a group other than
//! `default` first; the first event's UTC time when no epoch is known).

use std::path::{Path, PathBuf};

use super::core::GroupState;
use crate::addr::Addr;
use crate::failover::episode::Failover;
use crate::render::picture::{Episode, episode_svg};

/// Draws `f`, an episode of group `gs` whose master's last poll saw `nodes`, into `dir`. A
/// failure is logged, not fatal: the watch goes on.
pub(super) fn write(dir: &Path, gs: &GroupState, f: &Failover, nodes: &[Addr]) {
    let group = gs.group.name.as_str();
    let episode = Episode::of(group, f, &gs.timeline, &gs.group.sentinels, gs.first, nodes);
    let path = dir.join(file_name(group, f));
    match crate::util::write_atomically(&path, episode_svg(&episode).as_bytes()) {
        Ok(()) => tracing::info!(path = %path.display(), "episode picture written"),
        Err(e) => tracing::warn!("episode picture not written: {e}"),
    }
}

/// `<master>-<epoch>.svg`, or `<group>-<master>-<epoch>.svg` outside the default group;
/// `<master>-<20260301T100001.136Z>.svg` without an epoch. Characters a file name should
/// not hold become `_`.
pub(super) fn file_name(group: &str, f: &Failover) -> PathBuf {
    let when = match f.epoch {
        Some(e) => e.to_string(),
        None => chrono::DateTime::<chrono::Utc>::from(f.started)
            .format("%Y%m%dT%H%M%S%.3fZ")
            .to_string(),
    };
    let mut name = match group {
        "default" => format!("{}-{when}", f.master),
        g => format!("{g}-{}-{when}", f.master),
    };
    name = name
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '_' | '-' => c,
            _ => '_',
        })
        .collect();
    PathBuf::from(format!("{name}.svg"))
}
