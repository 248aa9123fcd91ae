//! Pure: backup freshness as a hazard — what `watch`'s freshness check found of one master
//! ([`BackupAge`]) and the `backup-stale` finding it gives ([`backup_stale`]).

use std::time::Duration;

use super::{Finding, HazardKind};

/// The newest good (verified) backup of one master where its group's backups are kept, as
/// the freshness check read it from the manifests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BackupAge {
    /// The Sentinel group's name.
    pub group: String,
    /// The master.
    pub master: String,
    /// How old its newest good backup is; `None`: there is none.
    pub good_age: Option<Duration>,
    /// How old it may be (the group's backup RPO).
    pub rpo: Duration,
}

/// The `backup-stale` finding when the newest good backup is older than `rpo`, or there is
/// none (`good_age` is `None`).
pub(crate) fn backup_stale(good_age: Option<Duration>, rpo: Duration) -> Option<Finding> {
    let rpo_text = humantime::format_duration(rpo);
    let detail = match good_age {
        None => format!("no good backup found (RPO {rpo_text})"),
        Some(a) if a > rpo => {
            // Whole seconds: a readable age.
            let age = humantime::format_duration(Duration::from_secs(a.as_secs()));
            format!("the newest good backup is {age} old (RPO {rpo_text})")
        }
        Some(_) => return None,
    };
    Some(Finding::new(HazardKind::BackupStale, None, detail))
}
