//! Pure: a new timeline entry to the followed masters' episodes — except a `+switch-master`
//! to a new address, which is checked first ([`Out::Verify`]); the entries of that master
//! that come meanwhile are held, and fed in order once the check's result
//! ([`Core::verified`]) says whether the switch happened or was stale.

use crate::addr::Addr;
use crate::failover::episode::{self, Failover};
use crate::sentinel::event::Detail;
use crate::sentinel::timeline::Entry;

use super::{Core, Now, Out};

/// A `+switch-master` to check: does `new` answer as the primary of `master`, named by a
/// Sentinel with a config epoch newer than `epoch` (the one known before)?
#[derive(Debug, Clone)]
pub(crate) struct Verify {
    pub(crate) group: usize,
    pub(crate) master: String,
    pub(crate) new: Addr,
    pub(crate) epoch: Option<u64>,
    /// The `+switch-master` entry, handed back with the result.
    pub(crate) entry: Entry,
}

/// The outcome of checking a `+switch-master` (the shell runs the check).
#[derive(Debug, Clone)]
pub(crate) struct Verified {
    pub(crate) group: usize,
    pub(crate) master: String,
    pub(crate) entry: Entry,
    /// `Err`: why the switch is not believed.
    pub(crate) result: std::result::Result<(), String>,
}

impl Core {
    /// A new timeline entry of group `g`: the group's epoch, the detectors of the master it
    /// names, then every followed master's episodes (or its held entries, or a check).
    /// Returns the episodes it closes.
    pub(super) fn entry(&mut self, g: usize, entry: &Entry, t: Now) -> Vec<(String, Failover)> {
        if let Some(m) = entry.event.master_name() {
            let epoch = episode::leader_epoch(&self.groups[g].timeline, entry);
            let sender = self.sentinels[entry.reports[0].source].to_string();
            let hz = self
                .followed(g, m)
                .map(|f| f.entry(entry, &sender, epoch))
                .unwrap_or_default();
            self.emit(g, hz, t.wall);
        }
        let mut closed = Vec::new();
        let gs = &mut self.groups[g];
        for (name, f) in gs.masters.iter_mut() {
            if let Detail::SwitchMaster { master, new, .. } = &entry.event.detail
                && master == name
            {
                let (known, epoch) = f.episodes.primary();
                if known != Some(new) && !gs.held.contains_key(name) {
                    gs.held.insert(name.clone(), Vec::new());
                    self.out.push(Out::Verify(Verify {
                        group: g,
                        master: master.clone(),
                        new: new.clone(),
                        epoch,
                        entry: entry.clone(),
                    }));
                    continue;
                }
            }
            if let Some(held) = gs.held.get_mut(name) {
                held.push(entry.clone());
                continue;
            }
            let ended = f.episodes.observe(&gs.timeline, entry);
            closed.extend(ended.into_iter().map(|e| (name.clone(), e)));
        }
        closed
    }

    /// A check's result: a confirmed switch goes to its master's episodes (a failover loop
    /// is over), a stale one is a hazard; then the entries held meanwhile, in order.
    pub(crate) fn verified(&mut self, v: Verified, t: Now) -> Vec<Out> {
        self.on_verified(v, t);
        self.take()
    }

    fn on_verified(&mut self, v: Verified, t: Now) {
        let g = v.group;
        let held = self.groups[g].held.remove(&v.master).unwrap_or_default();
        let at = v.entry.first_at;
        let Some(f) = self.followed(g, &v.master) else {
            return;
        };
        match v.result {
            Ok(()) => {
                let hz = f.switched(at);
                self.emit(g, hz, t.wall);
                let gs = &mut self.groups[g];
                let Some(f) = gs.masters.get_mut(&v.master) else {
                    return;
                };
                let closed = f.episodes.observe(&gs.timeline, &v.entry);
                for c in closed {
                    if self.record(g, &v.master, Some(c), t) {
                        return;
                    }
                }
            }
            Err(why) => {
                let hz = f.stale_switch(at, &v.entry.event.to_string(), &why);
                self.emit(g, hz, t.wall);
            }
        }
        for e in held {
            let gs = &mut self.groups[g];
            let Some(f) = gs.masters.get_mut(&v.master) else {
                break;
            };
            for c in f.episodes.observe(&gs.timeline, &e) {
                if self.record(g, &v.master, Some(c), t) {
                    return;
                }
            }
        }
    }

    /// How many `+switch-master` entries of group `g` are being checked.
    #[cfg(test)]
    pub(crate) fn verifying(&self, g: usize) -> usize {
        self.groups[g].held.len()
    }
}
