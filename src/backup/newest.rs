//! Backup freshness inside `watch`: every few minutes, the newest backup of each master in
//! each of a group's destinations (a directory or an `s3://` / `gs://` prefix), read from the
//! manifests alone, goes to the metrics (age, size, keys, verified, the RPO), and the age of
//! each master's newest good backup goes to the watch loop ([`BackupAge`]), which decides the
//! `backup-stale` hazard (`watch::core`) and reports it as every other hazard: a WARN line, an
//! output line, `warden_hazards_total{kind="backup-stale"}`, once per occurrence.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::manifest::Manifest;
use super::remote::{Dest, Remote};
use super::store;
use crate::error::Result;
use crate::failover::hazard::BackupAge;
use crate::metrics::{Metrics, Newest};

/// What `watch` reads backups from: each group's destinations, the object store's endpoint,
/// and how often.
#[derive(Debug, Clone)]
pub(crate) struct Freshness {
    /// Each group's backups (groups with no destination left out).
    pub kept: Vec<Kept>,
    /// An S3-compatible endpoint (`--s3-endpoint`).
    pub endpoint: Option<String>,
    /// How often they are read (at least every second).
    pub every: Duration,
}

/// One Sentinel group's backups: where they are kept and how old the newest may be.
#[derive(Debug, Clone)]
pub(crate) struct Kept {
    /// The group's name (the metrics' `group` label).
    pub group: String,
    /// Its destinations.
    pub dests: Vec<String>,
    /// The masters followed (empty: every master found).
    pub masters: Vec<String>,
    /// How old the newest good backup may be.
    pub rpo: Duration,
}

/// One backup as listed: its manifest and whether its data is there at the recorded size.
#[derive(Debug, Clone)]
pub(crate) struct Listed {
    /// The manifest.
    pub manifest: Manifest,
    /// Whether the data file (object) is there at `stored.bytes`.
    pub verified: bool,
}

/// The newest backup of each master in `listed` (by creation time), and the newest good
/// (verified) one; `now` gives the ages.
pub(crate) fn newest(
    listed: &[Listed],
    now: DateTime<Utc>,
) -> BTreeMap<String, (Newest, Option<Duration>)> {
    let age = |m: &Manifest| (now - m.created).to_std().unwrap_or_default();
    let mut out: BTreeMap<String, (Newest, Option<Duration>)> = BTreeMap::new();
    let mut newest_at: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    for l in listed {
        let m = &l.manifest;
        let entry = out.entry(m.master.clone()).or_insert_with(|| {
            let n = Newest {
                age: Duration::MAX,
                bytes: 0,
                keys: 0,
                verified: false,
            };
            (n, None)
        });
        if newest_at.get(&m.master).is_none_or(|t| m.created >= *t) {
            newest_at.insert(m.master.clone(), m.created);
            entry.0 = Newest {
                age: age(m),
                bytes: m.stored.bytes,
                keys: m.counts.keys,
                verified: l.verified,
            };
        }
        if l.verified {
            let a = age(m);
            entry.1 = Some(entry.1.map_or(a, |b: Duration| b.min(a)));
        }
    }
    out
}

/// Every backup in `dest`, as listed.
pub(crate) async fn list(dest: &str, endpoint: Option<&str>) -> Result<Vec<Listed>> {
    match Dest::parse(dest) {
        Dest::Local(dir) => {
            crate::util::blocking("listing backups", move || {
                Ok(store::list(&dir)?
                    .into_iter()
                    .map(|e| Listed {
                        verified: size_of(&e.path) == Some(e.manifest.stored.bytes),
                        manifest: e.manifest,
                    })
                    .collect())
            })
            .await
        }
        Dest::Bucket(url) => {
            let r = Remote::open(&url, endpoint)?;
            Ok(r.list_sized()
                .await?
                .into_iter()
                .map(|(manifest, size)| Listed {
                    verified: size == Some(manifest.stored.bytes),
                    manifest,
                })
                .collect())
        }
    }
}

fn size_of(p: &Path) -> Option<u64> {
    std::fs::metadata(p)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
}

/// Reads every group's destinations now and then every `f.every`, into `metrics` (the
/// gauges) and `tx` (each master's newest good backup, for the `backup-stale` hazard), until
/// `tx`'s receiver is gone.
pub(crate) async fn every(f: Freshness, metrics: Metrics, tx: mpsc::UnboundedSender<BackupAge>) {
    loop {
        for g in &f.kept {
            let m = metrics.group(&g.group);
            let mut listed = Vec::new();
            for d in &g.dests {
                match list(d, f.endpoint.as_deref()).await {
                    Ok(l) => listed.extend(l),
                    Err(e) => tracing::warn!(group = %g.group, dest = %d, "backups: {e}"),
                }
            }
            let found = newest(&listed, DateTime::<Utc>::from(SystemTime::now()));
            let masters: BTreeSet<String> = if g.masters.is_empty() {
                found.keys().cloned().collect()
            } else {
                g.masters.iter().cloned().collect()
            };
            for master in masters {
                let good = found.get(&master).and_then(|(_, good)| *good);
                if let Some((n, _)) = found.get(&master) {
                    m.set_newest_backup(&master, n, g.rpo);
                }
                let age = BackupAge {
                    group: g.group.clone(),
                    master,
                    good_age: good,
                    rpo: g.rpo,
                };
                if tx.send(age).is_err() {
                    return;
                }
            }
        }
        tokio::time::sleep(f.every.max(Duration::from_secs(1))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failover::hazard::backup_stale;

    fn listed(master: &str, created: &str, keys: u64, verified: bool) -> Listed {
        let text = format!(
            r#"{{"file":"redis-{master}-x.rdb.gz","master":"{master}","created":"{created}",
            "compression":"gzip","stored":{{"bytes":100,"sha256":"ab"}},
            "raw":{{"bytes":300,"sha256":"cd"}},
            "counts":{{"rdb_version":11,"redis_version":"7.2.4","keys":{keys},
              "keys_with_expiry":0,"keys_expired":0,"pattern":"*","keys_matching":0}},
            "source":{{"addr":"127.0.0.1:6380","role":"replica","primary":"127.0.0.1:6379",
              "method":"stream","master_repl_offset":1}},
            "duration_ms":5,"warden_version":"0.1.0"}}"#
        );
        Listed {
            manifest: Manifest::parse(&text).expect("manifest"),
            verified,
        }
    }

    #[test]
    fn the_newest_backup_and_the_newest_good_one_per_master() {
        let now: DateTime<Utc> = "2026-12-07T12:00:00Z".parse().unwrap();
        let all = [
            listed("orders", "2026-12-07T10:00:00Z", 10, true),
            listed("orders", "2026-12-07T11:30:00Z", 12, false),
            listed("sessions", "2026-12-06T12:00:00Z", 5, true),
            listed("carts", "2026-12-07T11:59:00Z", 1, false),
        ];
        let n = newest(&all, now);
        let (orders, good) = &n["orders"];
        assert_eq!(orders.age, Duration::from_secs(1800));
        assert_eq!(
            (orders.keys, orders.bytes, orders.verified),
            (12, 100, false)
        );
        assert_eq!(
            *good,
            Some(Duration::from_secs(7200)),
            "the older, verified one"
        );
        let hour = Duration::from_secs(3600);
        assert!(
            backup_stale(*good, hour).is_some(),
            "orders: 2 h since the newest good one"
        );
        assert!(backup_stale(*good, 3 * hour).is_none());
        assert!(backup_stale(n["sessions"].1, 2 * hour).is_some());
        assert!(
            backup_stale(n["carts"].1, 2 * hour).is_some(),
            "no good backup at all"
        );
    }
}
