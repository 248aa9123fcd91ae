//! Pure: which stored backups a retention policy deletes.
//!
//! Policies combine as a union, as restic's `forget` does: a backup is kept when *any* given
//! policy keeps it (`--keep-last N`: among the N newest of its master; `--keep-days D`:
//! created less than D days before now). The newest backup of each master is always kept,
//! whatever the policy says. With no policy nothing is deleted.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

/// A retention policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Policy {
    /// Keep the N newest backups per master.
    pub keep_last: Option<usize>,
    /// Keep backups younger than this many days.
    pub keep_days: Option<u64>,
}

impl Policy {
    /// True when no rule is set (nothing will be deleted).
    pub(crate) fn is_empty(&self) -> bool {
        self.keep_last.is_none() && self.keep_days.is_none()
    }
}

/// One stored backup as retention sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item<'a> {
    /// Master name.
    pub master: &'a str,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// File name (tie-breaker among equal times).
    pub file: &'a str,
}

/// Indices into `items` of the backups to delete, as of `now`.
pub(crate) fn to_delete(items: &[Item<'_>], policy: Policy, now: DateTime<Utc>) -> Vec<usize> {
    if policy.is_empty() {
        return Vec::new();
    }
    let mut by_master: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, it) in items.iter().enumerate() {
        by_master.entry(it.master).or_default().push(i);
    }
    let cutoff = policy
        .keep_days
        .map(|d| now - Duration::days(i64::try_from(d).unwrap_or(i64::MAX / 86_400_000)));
    let mut out = Vec::new();
    for idx in by_master.values_mut() {
        // newest first
        idx.sort_by(|&a, &b| {
            (items[b].created, items[b].file).cmp(&(items[a].created, items[a].file))
        });
        for (rank, &i) in idx.iter().enumerate() {
            let newest = rank == 0;
            let by_last = policy.keep_last.is_some_and(|n| rank < n);
            let by_days = cutoff.is_some_and(|c| items[i].created > c);
            if !(newest || by_last || by_days) {
                out.push(i);
            }
        }
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, 12, 0, 0).unwrap()
    }

    fn items() -> Vec<Item<'static>> {
        // master m: days 1..=5; master n: days 1, 2
        let mut v: Vec<Item<'static>> = (1..=5)
            .map(|d| Item {
                master: "m",
                created: day(d),
                file: "f",
            })
            .collect();
        v.push(Item {
            master: "n",
            created: day(1),
            file: "f",
        });
        v.push(Item {
            master: "n",
            created: day(2),
            file: "f",
        });
        v
    }

    fn check(keep_last: Option<usize>, keep_days: Option<u64>, want: &[usize]) {
        let p = Policy {
            keep_last,
            keep_days,
        };
        assert_eq!(to_delete(&items(), p, day(6)), want, "{p:?}");
    }

    #[test]
    fn policies() {
        check(None, None, &[]);
        check(Some(2), None, &[0, 1, 2]);
        check(Some(0), None, &[0, 1, 2, 3, 5]); // the newest always stays
        check(None, Some(3), &[0, 1, 2, 5]); // keeps days 4, 5 (after day 3 noon); n keeps its newest
        check(Some(3), Some(2), &[0, 1]); // union: the last 3 of m; both of n
        check(Some(1), Some(100), &[]);
    }

    #[test]
    fn old_backups_keep_their_newest() {
        let p = Policy {
            keep_last: None,
            keep_days: Some(1),
        };
        let now = day(30);
        assert_eq!(to_delete(&items(), p, now), [0, 1, 2, 3, 5]);
    }
}
