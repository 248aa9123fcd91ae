//! Sentinel's own periods a lab sets on its Sentinels with `SENTINEL DEBUG` (Redis ≥ 7.0,
//! Valkey), for both backends: the ping (and reconnect) period, the INFO period and the hello
//! publish period.

use std::time::Duration;

use super::SentinelSettings;
use crate::addr::Addr;
use crate::conn::Conn;
use crate::error::Result;

/// Sets every period the settings ask for on every Sentinel; an error fails the lab. The ping
/// period, when not set, is half of down-after at down-after ≤ 1 s (Sentinel's own is 1 s), so
/// that a lab never loses the reconnect race after a switch (a spontaneous second failover: a
/// deployment can lose it, doctor's `down-after-low` says so), best effort.
pub(crate) async fn set(
    conn: &Conn,
    sentinels: &[Addr],
    settings: &SentinelSettings,
) -> Result<()> {
    let mut asked: Vec<(&str, Duration, bool)> = Vec::new();
    match settings.reconnect_period {
        Some(p) => asked.push(("ping-period", p, true)),
        None if settings.down_after <= Duration::from_secs(1) => {
            asked.push(("ping-period", settings.down_after / 2, false));
        }
        None => {}
    }
    if let Some(p) = settings.info_period {
        asked.push(("info-period", p, true));
    }
    if let Some(p) = settings.publish_period {
        asked.push(("publish-period", p, true));
    }
    if asked.is_empty() {
        return Ok(());
    }
    for s in sentinels {
        let mut con = match conn.sentinel(s, crate::client::Timeouts::CONTROL).await {
            Ok(con) => con,
            Err(e) if asked.iter().any(|&(.., required)| required) => return Err(e),
            Err(_) => continue,
        };
        for &(name, period, required) in &asked {
            let cmd = redis::cmd("SENTINEL")
                .arg("DEBUG")
                .arg(name)
                .arg(period.as_millis().max(1) as u64)
                .clone();
            match crate::client::query::<()>(&mut con, s, &cmd).await {
                Err(e) if required => return Err(e),
                _ => {}
            }
        }
    }
    Ok(())
}
