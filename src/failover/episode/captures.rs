//! The real event streams `testdata/capture-episodes.sh` captured (`testdata/episodes/*.tsv`:
//! ms, Sentinel, channel, payload per line), for the episode and watch-core tests.

macro_rules! capture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/episodes/",
            $name,
            ".tsv"
        ))
    };
}

pub(crate) const CONSECUTIVE: &str = capture!("consecutive-failovers");
pub(crate) const RETURNING: &str = capture!("returning-old-master");
pub(crate) const REMOVED: &str = capture!("master-removed-mid-failover");
pub(crate) const RESTARTED: &str = capture!("sentinel-restarted-mid-failover");

/// One captured report: its ms from the capture's start, the Sentinel, channel and payload.
pub(crate) struct Line<'a> {
    pub(crate) ms: f64,
    pub(crate) source: usize,
    pub(crate) channel: &'a str,
    pub(crate) payload: &'a str,
}

/// The reports of a capture, in order.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    text.lines().filter(|l| !l.is_empty()).map(|l| {
        let f: Vec<&str> = l.splitn(4, '\t').collect();
        Line {
            ms: f[0].parse().unwrap_or_else(|e| panic!("{e}: {l}")),
            source: f[1].parse().unwrap_or_else(|e| panic!("{e}: {l}")),
            channel: f[2],
            payload: f.get(3).copied().unwrap_or(""),
        }
    })
}
