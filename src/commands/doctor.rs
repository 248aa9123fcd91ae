//! `warden doctor`: the arguments become a [`crate::doctor::Spec`]; the report is printed as
//! a table or JSON, and the exit code follows `--fail-on`.

use std::time::Duration;

use super::out;
use crate::cli::DoctorArgs;
use crate::conn::Conn;
use crate::doctor::{self, checks::Targets};
use crate::error::{EXIT_MET, EXIT_MISSED, Error, Result};
use crate::lab::Lab;

/// Runs the audit; exit 1 when a finding reaches `--fail-on`.
pub(super) async fn doctor(a: DoctorArgs) -> Result<u8> {
    let given = super::conn_spec(&a.conn)?;
    let (sentinels, master, spec) = if a.sentinels.is_empty() {
        let lab = Lab::load(&a.lab_dir).map_err(|e| {
            Error::Usage(format!(
                "give --sentinels, or start a lab with `warden lab up` ({e})"
            ))
        })?;
        let master = a.master.unwrap_or_else(|| lab.master().to_string());
        let recorded = crate::lab::recorded_conn(&a.lab_dir)?;
        (lab.sentinels(), master, given.or(recorded))
    } else {
        let master = a.master.unwrap_or_else(|| "mymaster".into());
        (a.sentinels, master, given)
    };
    let spec = doctor::Spec {
        conn: Conn::build(&spec)?,
        sentinels,
        master,
        targets: Targets {
            rto_ms: a.rto_ms,
            ..Targets::default()
        },
        sample: Duration::from_secs(1),
    };
    let report = doctor::run(&spec).await?;
    out(&if a.json {
        report.to_json()
    } else {
        report.to_table()
    })?;
    Ok(if report.fails(a.fail_on) {
        EXIT_MISSED
    } else {
        EXIT_MET
    })
}
