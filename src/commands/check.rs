//! `warden check HISTORY`: the loss check again from a drill's history file, against the
//! primary the Sentinels name now; prints the counts per trial (or JSON) and exits 0 once it
//! ran.

use super::out;
use crate::cli::CheckArgs;
use crate::conn::Conn;
use crate::error::{EXIT_MET, Result};
use crate::workload::recheck::{self, Spec};
use crate::workload::record;

/// Runs the check; with `--out`, writes the updated history.
pub(super) async fn check(a: CheckArgs) -> Result<u8> {
    let spec = Spec {
        conn: Conn::build(&super::conn_spec(&a.conn)?)?,
        sentinels: a.at.sentinels,
        master: a.at.master,
    };
    let r = recheck::run(&spec, &a.history, a.out.as_deref()).await?;
    if a.json {
        let trials: Vec<serde_json::Value> = r
            .per_trial
            .iter()
            .map(|(trial, c)| {
                let mut v = serde_json::to_value(c).expect("counts serialize");
                v["trial"] = (*trial).into();
                v
            })
            .collect();
        let doc = serde_json::json!({ "primary": r.primary.to_string(), "trials": trials });
        out(&format!("{doc:#}\n"))?;
    } else {
        out(&format!(
            "checked {} on {}\n{}",
            a.history.display(),
            r.primary,
            record::table(&r.per_trial)
        ))?;
    }
    Ok(EXIT_MET)
}
