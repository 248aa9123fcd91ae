//! The loss check: every acknowledged key (and every unknown one) is looked up on the new
//! primary with pipelined `PTTL` in batches of 1000, a few batches in flight — never `KEYS` —
//! and classified in ack order; the tally keeps what was found for each write (for
//! `drill --history`).

use std::time::Instant;

use futures_util::StreamExt;

use super::Plan;
use super::history::{Ack, Found, History, classify};
use super::tally::LossTally;
use crate::addr::Addr;
use crate::client::Timeouts;
use crate::error::Result;

/// Keys per pipeline.
pub(super) const BATCH: usize = 1000;

/// Pipelines in flight at once on the multiplexed connection (replies are taken in order).
const IN_FLIGHT: usize = 4;

/// Looks every acknowledged and unknown key of `history` up on `primary`.
pub async fn check(plan: &Plan, history: &History, primary: &Addr) -> Result<LossTally> {
    let mut con = plan.conn.node(primary, Timeouts::CONTROL).await?;
    let mut tally = LossTally::default();
    let ttl_ms = plan.config.ttl.as_millis() as u64;
    let acks: Vec<(Ack, &Addr)> = history.acks().collect();
    let shared = con.clone();
    let asked = futures_util::stream::iter(acks.chunks(BATCH))
        .map(|batch| {
            let mut con = shared.clone();
            let keys: Vec<String> = batch.iter().map(|(a, _)| plan.key(a.seq)).collect();
            async move {
                let checked_at = Instant::now();
                let pttls = pttl(&mut con, primary, keys.into_iter()).await?;
                Ok::<_, crate::error::Error>((checked_at, pttls))
            }
        })
        .buffered(IN_FLIGHT);
    let mut answers = asked.zip(futures_util::stream::iter(acks.chunks(BATCH)));
    while let Some((answer, batch)) = answers.next().await {
        let (checked_at, pttls) = answer?;
        for ((ack, node), pttl) in batch.iter().zip(pttls) {
            tally.checked += 1;
            let acked_at = history.epoch + std::time::Duration::from_micros(ack.at_us as u64);
            let age_ms = checked_at.saturating_duration_since(acked_at).as_millis() as u64;
            let found = classify(pttl, ttl_ms, age_ms);
            tally.found.push(found);
            match found {
                Found::Present => {}
                Found::Lost => tally.lost_one(|| plan.key(ack.seq), *ack, node),
                Found::TtlGone => tally.ttl_gone += 1,
                Found::TtlOff => tally.ttl_off += 1,
            }
        }
    }
    drop(answers);
    let unknown: Vec<u32> = history
        .writers
        .iter()
        .flat_map(|w| w.unknown.iter().map(|a| a.seq))
        .collect();
    for batch in unknown.chunks(BATCH) {
        let pttls = pttl(&mut con, primary, batch.iter().map(|s| plan.key(*s))).await?;
        tally.landed.extend(pttls.iter().map(|p| *p != -2));
        tally.recovered += pttls.iter().filter(|p| **p != -2).count() as u64;
    }
    Ok(tally)
}

/// `PTTL` of each of `keys` on `primary`, in one pipeline.
pub(super) async fn pttl(
    con: &mut crate::conn::Con,
    primary: &Addr,
    keys: impl Iterator<Item = String>,
) -> Result<Vec<i64>> {
    let mut pipe = redis::pipe();
    for key in keys {
        pipe.cmd("PTTL").arg(key);
    }
    match pipe.query_async(&mut *con).await {
        Ok(v) => Ok(v),
        Err(source) => Err(con.error(primary, &redis::cmd("PTTL"), source)),
    }
}
