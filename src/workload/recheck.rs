//! `warden check`: the loss check again, from a history file, against a live cluster — every
//! acknowledged and unknown write of the file is looked up on the primary the Sentinels name
//! now (pipelined `PTTL`, like the drill's check), streamed in batches so a history of any size
//! takes constant memory; optionally written out again with what was found.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

use chrono::Utc;

use super::history_file::HistoryFile;
use super::loss::{BATCH, pttl};
use super::record::{Check, Counts, Line, Outcome};
use crate::addr::Addr;
use crate::client::Timeouts;
use crate::conn::{Con, Conn};
use crate::error::{Error, Result};
use crate::sentinel::topology;

/// Where to check.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// How to connect.
    pub conn: Conn,
    /// Sentinels to ask for the primary.
    pub sentinels: Vec<Addr>,
    /// Master name.
    pub master: String,
}

/// What the check found.
#[derive(Debug, Clone)]
pub(crate) struct Recheck {
    /// The primary the keys were looked up on.
    pub primary: Addr,
    /// Counts per trial.
    pub per_trial: BTreeMap<u32, Counts>,
}

/// Checks every line of `input` on the current primary; with `out`, writes the lines there
/// again with their new `check`.
pub(crate) async fn run(spec: &Spec, input: &Path, out: Option<&Path>) -> Result<Recheck> {
    let file = std::fs::File::open(input).map_err(Error::io(input))?;
    let primary =
        topology::ask_primary(&spec.conn, &spec.sentinels, &spec.master, Timeouts::CONTROL).await?;
    let mut con = spec.conn.node(&primary, Timeouts::CONTROL).await?;
    let mut sink = out.map(HistoryFile::create).transpose()?;
    let mut per_trial = BTreeMap::new();
    let mut batch = Vec::with_capacity(BATCH);
    for (i, text) in std::io::BufReader::new(file).lines().enumerate() {
        let text = text.map_err(Error::io(input))?;
        if text.trim().is_empty() {
            continue;
        }
        let line: Line = serde_json::from_str(&text).map_err(|e| Error::Report {
            path: input.to_path_buf(),
            message: format!("line {}: not a history line: {e}", i + 1),
        })?;
        batch.push(line);
        if batch.len() == BATCH {
            check(
                &mut con,
                &primary,
                &mut batch,
                &mut per_trial,
                sink.as_mut(),
            )
            .await?;
        }
    }
    check(
        &mut con,
        &primary,
        &mut batch,
        &mut per_trial,
        sink.as_mut(),
    )
    .await?;
    if let Some(sink) = sink {
        sink.commit()?;
    }
    Ok(Recheck { primary, per_trial })
}

/// Looks `batch` up, counts it, writes it to `sink`, and empties it.
async fn check(
    con: &mut Con,
    primary: &Addr,
    batch: &mut Vec<Line>,
    per_trial: &mut BTreeMap<u32, Counts>,
    mut sink: Option<&mut HistoryFile>,
) -> Result<()> {
    let checked = |l: &&mut Line| l.outcome != Outcome::Error;
    let keys: Vec<String> = batch
        .iter_mut()
        .filter(checked)
        .map(|l| l.key.clone())
        .collect();
    let pttls = match keys.is_empty() {
        true => Vec::new(),
        false => pttl(con, primary, keys.into_iter()).await?,
    };
    let now = Utc::now();
    for (line, pttl) in batch.iter_mut().filter(checked).zip(pttls) {
        let age_ms = (now - line.complete_utc).num_milliseconds().max(0) as u64;
        let before = line.check;
        line.check = Check::of(line.outcome, pttl, line.ttl_ms, age_ms);
        per_trial.entry(line.trial).or_default().add(line, before);
    }
    for line in batch.iter().filter(|l| l.outcome == Outcome::Error) {
        per_trial
            .entry(line.trial)
            .or_default()
            .add(line, line.check);
    }
    if let Some(sink) = sink.as_mut() {
        batch.iter().try_for_each(|l| sink.write(l))?;
    }
    batch.clear();
    Ok(())
}
