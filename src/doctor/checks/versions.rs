//! Pure: server versions with known Sentinel-relevant gaps, each entry with the release note
//! it comes from.

use super::{answered, push};
use crate::doctor::facts::Facts;
use crate::doctor::report::{Finding, Severity};

/// A version the Sentinels or a node run, against the table in [`KNOWN`].
pub(super) fn versions(f: &Facts, out: &mut Vec<Finding>) {
    let sentinels = answered(f)
        .into_iter()
        .map(|(addr, a)| (addr, a.version.as_str(), true));
    let nodes = f.nodes.iter().filter_map(|n| {
        let v = n.answer.as_ref().ok()?.info("redis_version")?;
        Some((&n.addr, v, false))
    });
    for (addr, v, is_sentinel) in sentinels.chain(nodes) {
        let Some(have) = parse_version(v) else {
            continue;
        };
        for k in KNOWN.iter().filter(|k| (k.applies)(have, is_sentinel)) {
            push(
                out,
                k.severity,
                k.id,
                &addr.to_string(),
                format!("version {v}: {}", k.what),
                k.fix,
            );
        }
    }
}

/// One entry of the known-version table.
struct Known {
    id: &'static str,
    severity: Severity,
    applies: fn((u32, u32, u32), bool) -> bool,
    what: &'static str,
    fix: &'static str,
}

/// Only what the Redis release notes say, each entry with its source.
const KNOWN: &[Known] = &[
    // Redis 6.2-rc3 release notes: "Add FAILOVER command (#8315)" and, under Sentinel,
    // "Add hostname support to Sentinel (#8282)".
    Known {
        id: "version-before-6.2",
        severity: Severity::Info,
        applies: |v, _| v < (6, 2, 0),
        what: "before 6.2: no FAILOVER command, no hostname support in Sentinel",
        fix: "upgrade to Redis 6.2 or later",
    },
    // Redis 7.0.1 release notes: "Re-add SENTINEL SLAVES command, missing in redis 7.0
    // (#10723)".
    Known {
        id: "sentinel-7.0.0-no-slaves",
        severity: Severity::Warn,
        applies: |v, sentinel| sentinel && v == (7, 0, 0),
        what: "SENTINEL SLAVES is missing (clients that use it cannot list replicas)",
        fix: "upgrade the Sentinels to 7.0.1 or later",
    },
];

/// `7.0.15` → `(7, 0, 15)`.
fn parse_version(v: &str) -> Option<(u32, u32, u32)> {
    let mut it = v.trim().split('.').map(|p| p.parse::<u32>().ok());
    Some((it.next()??, it.next()??, it.next().flatten().unwrap_or(0)))
}
