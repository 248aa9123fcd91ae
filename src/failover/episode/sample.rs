//! A real episode for the rendering tests: `testdata/episodes/returning-old-master.tsv`
//! (three Sentinels, the primary killed, a failover, the old primary back as a replica),
//! fed to a timeline and [`Episodes`] as the watch does, at fixed times from
//! 2026-03-01T10:00:00Z.

use std::time::{Duration, Instant, SystemTime};

use super::{Episodes, Failover};
use crate::addr::Addr;
use crate::sentinel::event::parse;
use crate::sentinel::timeline::{Entry, Ingest, Timeline};

/// What the watch had when the episodes ended.
pub(crate) struct Sample {
    /// The merged timeline.
    pub timeline: Timeline,
    /// Each new entry, in the order the watch printed them.
    pub entries: Vec<Entry>,
    /// The episodes that ended.
    pub failovers: Vec<Failover>,
    /// The Sentinels (source ids index this).
    pub sentinels: Vec<Addr>,
}

/// The captured sequence, replayed.
pub(crate) fn returning_old_master() -> Sample {
    let text = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/episodes/returning-old-master.tsv"
    ));
    let t0 = Instant::now();
    let wall0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_772_359_200);
    let mut timeline = Timeline::new(Duration::from_secs(5));
    let mut episodes = Episodes::new("m");
    let (mut entries, mut failovers) = (Vec::new(), Vec::new());
    for line in text.lines().filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.splitn(4, '\t').collect();
        let ms: f64 = f[0].parse().expect("ms");
        let source: usize = f[1].parse().expect("source");
        let d = Duration::from_secs_f64(ms / 1000.0);
        let event = parse(f[2], f.get(3).copied().unwrap_or(""));
        if let Ingest::New(i) = timeline.ingest(source, t0 + d, wall0 + d, event) {
            let entry = timeline.entries()[i].clone();
            failovers.extend(episodes.observe(&timeline, &entry));
            entries.push(entry);
        }
    }
    failovers.extend(episodes.finish(&timeline));
    Sample {
        timeline,
        entries,
        failovers,
        sentinels: (0..3).map(|i| Addr::new("127.0.0.1", 17510 + i)).collect(),
    }
}
