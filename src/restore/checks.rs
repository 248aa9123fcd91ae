//! Pure: the verdict of `warden restore-test` from what was observed on the scratch server,
//! and its table.
//!
//! Keys whose TTL ran out between the backup and the restore are dropped by Redis at load, so
//! counts are checked as ranges: `DBSIZE` must lie between the keys still live after the
//! `DBSIZE` call (`live_after`) and those live before loading began (`live_before`), both from
//! the verifier; every missing session must be accounted for by a missing key.

use std::fmt::Write;

use serde::Serialize;

use crate::backup::report::ms;

/// What `restore-test` saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Observed {
    /// The stored file tested.
    pub file: String,
    /// Keys in the RDB (manifest and verifier agree, or this is not reached).
    pub keys_in_backup: u64,
    /// Keys not yet expired when loading began.
    pub live_before: u64,
    /// Keys not yet expired after `DBSIZE` returned.
    pub live_after: u64,
    /// `DBSIZE` on the scratch server.
    pub dbsize: u64,
    /// The glob of session keys.
    pub pattern: String,
    /// Session keys in the manifest.
    pub sessions_in_backup: u64,
    /// Session keys found by `SCAN`.
    pub sessions_found: u64,
    /// Session keys spot-checked.
    pub sampled: u64,
    /// Spot-check failures: `key: reason`.
    pub sample_failures: Vec<String>,
    /// Sampled values the `--check-cmd` rejected (None when no command was given).
    pub check_cmd_failures: Option<u64>,
    /// Milliseconds the scratch server took to load the RDB.
    pub load_ms: u64,
}

/// One named check and whether it passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Check {
    /// What was checked.
    pub name: String,
    /// Passed.
    pub ok: bool,
    /// The figures behind it.
    pub detail: String,
}

impl Check {
    /// Its table row: name, `ok` or `FAIL`, the figures.
    pub(crate) fn line(&self) -> String {
        let mark = if self.ok { "ok  " } else { "FAIL" };
        format!("{:<20} {mark} {}\n", self.name, self.detail)
    }
}

/// The key count check: `dbsize` must lie between the keys live after it was read
/// (`live_after`) and those live when loading began (`live_before`).
pub(crate) fn key_count(
    keys_in_backup: u64,
    live_before: u64,
    live_after: u64,
    dbsize: u64,
) -> Check {
    Check {
        name: "key count".into(),
        ok: live_after <= dbsize && dbsize <= live_before,
        detail: format!(
            "DBSIZE {dbsize} (backup {keys_in_backup}, live at load {live_before}, live now {live_after})"
        ),
    }
}

/// The checks of a restore test, in report order.
pub(crate) fn evaluate(o: &Observed) -> Vec<Check> {
    let missing = o.keys_in_backup.saturating_sub(o.dbsize);
    let mut checks = vec![
        key_count(o.keys_in_backup, o.live_before, o.live_after, o.dbsize),
        Check {
            name: format!("{} count", o.pattern),
            ok: o.sessions_found <= o.sessions_in_backup
                && o.sessions_found + missing >= o.sessions_in_backup,
            detail: format!(
                "SCAN found {} (backup {}, keys expired since {missing})",
                o.sessions_found, o.sessions_in_backup
            ),
        },
        Check {
            name: "spot check".into(),
            ok: o.sample_failures.is_empty() && (o.sampled > 0 || o.sessions_found == 0),
            detail: format!(
                "{} sampled, {} failed{}",
                o.sampled,
                o.sample_failures.len(),
                o.sample_failures
                    .first()
                    .map(|f| format!(" (first: {f})"))
                    .unwrap_or_default()
            ),
        },
    ];
    if let Some(failed) = o.check_cmd_failures {
        checks.push(Check {
            name: "check command".into(),
            ok: failed == 0,
            detail: format!("{failed} of {} values rejected", o.sampled),
        });
    }
    checks
}

/// The `restore-test` table.
pub(crate) fn table(o: &Observed, checks: &[Check]) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "{:<20} {}", "file", o.file);
    let _ = writeln!(t, "{:<20} {}", "loaded in", ms(o.load_ms));
    for c in checks {
        t.push_str(&c.line());
    }
    let verdict = if checks.iter().all(|c| c.ok) {
        "restores"
    } else {
        "FAILED"
    };
    let _ = writeln!(t, "{:<20} {verdict}", "verdict");
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Observed {
        Observed {
            file: "b.rdb.gz".into(),
            keys_in_backup: 100,
            live_before: 100,
            live_after: 100,
            dbsize: 100,
            pattern: "session:*".into(),
            sessions_in_backup: 90,
            sessions_found: 90,
            sampled: 10,
            sample_failures: vec![],
            check_cmd_failures: None,
            load_ms: 5,
        }
    }

    fn oks(o: &Observed) -> Vec<bool> {
        evaluate(o).iter().map(|c| c.ok).collect()
    }

    #[test]
    fn a_faithful_restore_passes() {
        assert_eq!(oks(&base()), [true, true, true]);
        let t = table(&base(), &evaluate(&base()));
        assert!(t.ends_with("verdict              restores\n"), "{t}");
    }

    #[test]
    fn keys_expired_since_the_backup_are_allowed_for() {
        let o = Observed {
            live_before: 98,
            live_after: 97,
            dbsize: 97,
            sessions_found: 87,
            ..base()
        };
        assert_eq!(oks(&o), [true, true, true]);
    }

    #[test]
    fn missing_keys_and_failed_samples_fail() {
        let o = Observed {
            dbsize: 95,
            ..base()
        };
        assert_eq!(oks(&o), [false, true, true]);
        let o = Observed {
            sessions_found: 80,
            ..base()
        };
        assert_eq!(oks(&o), [true, false, true]);
        let o = Observed {
            sample_failures: vec!["session:1: PTTL -1".into()],
            check_cmd_failures: Some(2),
            ..base()
        };
        assert_eq!(oks(&o), [true, true, false, false]);
        assert!(table(&o, &evaluate(&o)).contains("spot check           FAIL 10 sampled"));
    }
}
