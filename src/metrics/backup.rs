//! The backup series: what the newest backup of each master is (age, size, keys, whether it
//! verified), the RPO it is held to, and whether the last scheduled backup succeeded.

use std::time::Duration;

use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::labels::MasterL;
use super::{GaugeF, Metrics};

/// The backup gauges, registered once.
pub(super) struct Gauges {
    age: Family<MasterL, GaugeF>,
    bytes: Family<MasterL, Gauge>,
    keys: Family<MasterL, Gauge>,
    verified: Family<MasterL, Gauge>,
    rpo: Family<MasterL, GaugeF>,
}

impl Gauges {
    /// Registers every backup gauge in `r`.
    pub(super) fn register(r: &mut Registry) -> Gauges {
        let g = Gauges {
            age: Family::default(),
            bytes: Family::default(),
            keys: Family::default(),
            verified: Family::default(),
            rpo: Family::default(),
        };
        r.register(
            "warden_backup_age_seconds",
            "Age of the newest backup (its manifest's creation time to now)",
            g.age.clone(),
        );
        r.register(
            "warden_backup_size_bytes",
            "Stored (compressed) bytes of the newest backup",
            g.bytes.clone(),
        );
        r.register(
            "warden_backup_keys",
            "Keys in the newest backup, as its verifier counted them",
            g.keys.clone(),
        );
        r.register(
            "warden_backup_verified",
            "1 if the newest backup's manifest is whole and its data file is there at its size",
            g.verified.clone(),
        );
        r.register(
            "warden_backup_rpo_seconds",
            "How old the newest backup may be (the group's backup RPO)",
            g.rpo.clone(),
        );
        g
    }
}

/// What the newest backup of a master is, as read from where backups are kept.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Newest {
    /// From its creation to now.
    pub age: Duration,
    /// Stored bytes.
    pub bytes: u64,
    /// Keys counted by the verifier.
    pub keys: u64,
    /// Whether its manifest is whole and its data file present at the recorded size.
    pub verified: bool,
}

impl Metrics {
    /// Age of the newest verified backup of `master`.
    pub(crate) fn set_backup_age(&self, master: &str, age: Duration) {
        self.inner
            .backup
            .age
            .get_or_create(&self.master(master))
            .set(age.as_secs_f64());
    }

    /// The newest backup of `master` and the RPO it is held to.
    pub(crate) fn set_newest_backup(&self, master: &str, n: &Newest, rpo: Duration) {
        let b = &self.inner.backup;
        let l = self.master(master);
        self.set_backup_age(master, n.age);
        let count = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        b.bytes.get_or_create(&l).set(count(n.bytes));
        b.keys.get_or_create(&l).set(count(n.keys));
        b.verified.get_or_create(&l).set(n.verified.into());
        b.rpo.get_or_create(&l).set(rpo.as_secs_f64());
    }
}
