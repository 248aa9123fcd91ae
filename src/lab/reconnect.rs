//! The ping (and reconnect) period a lab gives its Sentinels (`SENTINEL DEBUG ping-period`),
//! for both backends.

use super::SentinelSettings;
use crate::addr::Addr;
use crate::conn::Conn;
use crate::error::Result;

/// Gives every Sentinel its ping (and reconnect) period (`SENTINEL DEBUG ping-period`):
/// `reconnect_period` when set (an error fails the lab); otherwise, with down-after at or below
/// Sentinel's own 1 s period, half of down-after, so that a lab never loses the reconnect race
/// after a switch (a spontaneous second failover: a deployment can lose it, doctor's
/// `down-after-low` says so), best effort.
pub(crate) async fn set(
    conn: &Conn,
    sentinels: &[Addr],
    settings: &SentinelSettings,
) -> Result<()> {
    let (period, required) = match settings.reconnect_period {
        Some(p) => (p, true),
        None if settings.down_after <= std::time::Duration::from_secs(1) => {
            (settings.down_after / 2, false)
        }
        None => return Ok(()),
    };
    for s in sentinels {
        let set = async {
            let mut con = conn.sentinel(s, crate::client::Timeouts::CONTROL).await?;
            let cmd = redis::cmd("SENTINEL")
                .arg("DEBUG")
                .arg("ping-period")
                .arg(period.as_millis().max(1) as u64)
                .clone();
            crate::client::query::<()>(&mut con, s, &cmd).await
        };
        match set.await {
            Err(e) if required => return Err(e),
            _ => {}
        }
    }
    Ok(())
}
