//! Pure: the `backup-stale` hazard of each master whose group's backups are checked — raised
//! once when its newest good backup is older than the group's backup RPO (or there is none),
//! cleared when a fresh one appears — from the freshness task's reports ([`BackupAge`]).
//! Reports that come before the group's start is settled wait, like its polls.

use crate::failover::hazard::{BackupAge, HazardKind, Tracker, backup_stale};

use super::{Core, Now, Out};

impl Core {
    /// The freshness check's finding for one master.
    pub(crate) fn backup(&mut self, b: BackupAge, t: Now) -> Vec<Out> {
        self.on_backup(b, t);
        self.take()
    }

    pub(super) fn on_backup(&mut self, b: BackupAge, t: Now) {
        let Some(g) = self.groups.iter().position(|gs| gs.group.name == b.group) else {
            return;
        };
        let gs = &mut self.groups[g];
        if !self.startup.settled(g) {
            gs.early_backups.retain(|e| e.master != b.master);
            gs.early_backups.push(b);
            return;
        }
        let found = backup_stale(b.good_age, b.rpo).into_iter().collect();
        let tracker = gs
            .backups
            .entry(b.master.clone())
            .or_insert_with(|| Tracker::new(b.master));
        let hz = tracker.update(t.at, &[HazardKind::BackupStale], found);
        self.emit(g, hz, t.wall);
    }
}
