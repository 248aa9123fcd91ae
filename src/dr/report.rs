//! Pure: what a restore drill measured, and its verdict. The restore RTO is the sum of the
//! timed steps (download, checksum, verify, load, first served), so the report always adds
//! up; the age of the backup is judged against `backup_rpo`; `expect_size` scales the
//! size-proportional steps by the measured throughput.

use serde::Serialize;

/// One timed step of the restore.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Step {
    /// `download`, `checksum`, `verify`, `load`, `first_served`.
    pub name: String,
    /// Wall time in milliseconds.
    pub ms: f64,
    /// Whether the step's time grows with the dataset (everything but `first_served`).
    pub scales: bool,
}

/// One check of the drill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Check {
    /// What was checked.
    pub name: String,
    /// Passed.
    pub ok: bool,
    /// Measured vs expected, one line.
    pub detail: String,
}

/// What the drill observed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Measured {
    /// Scenario name.
    pub scenario: String,
    /// The backup restored.
    pub file: String,
    /// Where it was restored (`scratch 127.0.0.1:…`, `lab primary 127.0.0.1:…`).
    pub into: String,
    /// The backup's age when the drill started, ms.
    pub backup_age_ms: u64,
    /// Raw RDB bytes.
    pub raw_bytes: u64,
    /// Stored (compressed) bytes.
    pub stored_bytes: u64,
    /// The timed steps, in order.
    pub steps: Vec<Step>,
    /// Key and TTL checks against the manifest.
    pub checks: Vec<Check>,
}

/// The drill's report: measurements, figures, targets and verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Report {
    /// What was observed.
    #[serde(flatten)]
    pub measured: Measured,
    /// Sum of the steps, ms.
    pub restore_rto_ms: f64,
    /// Target restore time, ms.
    pub restore_rto_target_ms: u64,
    /// Target backup age, ms.
    pub backup_rpo_target_ms: u64,
    /// Raw RDB bytes per second over the size-proportional steps.
    pub throughput_bytes_per_s: Option<f64>,
    /// `expect_size` in bytes, if given.
    pub expect_bytes: Option<u64>,
    /// The restore time extrapolated to `expect_size`, ms.
    pub extrapolated_rto_ms: Option<f64>,
    /// Every check: targets first, then keys and TTLs.
    pub verdict: Vec<Check>,
    /// All checks passed.
    pub ok: bool,
}

/// Judges `m` against the targets (ms) and extrapolates to `expect_bytes`.
pub(crate) fn judge(
    m: Measured,
    rto_target_ms: u64,
    rpo_target_ms: u64,
    expect: Option<u64>,
) -> Report {
    let rto: f64 = m.steps.iter().map(|s| s.ms).sum();
    let scaling: f64 = m.steps.iter().filter(|s| s.scales).map(|s| s.ms).sum();
    let fixed = rto - scaling;
    let throughput = (scaling > 0.0).then(|| m.raw_bytes as f64 / (scaling / 1000.0));
    let extrapolated = match expect {
        Some(b) if m.raw_bytes > 0 => Some(fixed + scaling * b as f64 / m.raw_bytes as f64),
        _ => None,
    };
    let mut verdict = vec![
        Check {
            name: "restore_rto".into(),
            ok: rto <= rto_target_ms as f64,
            detail: format!(
                "{} (sum of steps) vs target {}",
                ms(rto),
                ms(rto_target_ms as f64)
            ),
        },
        Check {
            name: "backup_rpo".into(),
            ok: m.backup_age_ms <= rpo_target_ms,
            detail: format!(
                "backup age {} vs target {}",
                ms(m.backup_age_ms as f64),
                ms(rpo_target_ms as f64)
            ),
        },
    ];
    verdict.extend(m.checks.iter().cloned());
    let ok = verdict.iter().all(|c| c.ok);
    Report {
        measured: m,
        restore_rto_ms: rto,
        restore_rto_target_ms: rto_target_ms,
        backup_rpo_target_ms: rpo_target_ms,
        throughput_bytes_per_s: throughput,
        expect_bytes: expect,
        extrapolated_rto_ms: extrapolated,
        verdict,
        ok,
    }
}

/// `812 ms`, `4.21 s`, `3 m 05 s`, `2 h 10 m`.
pub(crate) fn ms(v: f64) -> String {
    if v < 1000.0 {
        format!("{v:.0} ms")
    } else if v < 60_000.0 {
        format!("{:.2} s", v / 1000.0)
    } else if v < 3_600_000.0 {
        let s = (v / 1000.0).round() as u64;
        format!("{} m {:02} s", s / 60, s % 60)
    } else {
        let m = (v / 60_000.0).round() as u64;
        format!("{} h {:02} m", m / 60, m % 60)
    }
}

fn mb(b: f64) -> String {
    format!("{:.1} MB", b / 1e6)
}

impl Report {
    /// The text report.
    pub(crate) fn table(&self) -> String {
        let m = &self.measured;
        let mut s = format!("dr-drill {}: {} into {}\n", m.scenario, m.file, m.into);
        s += &format!(
            "backup: {} stored, {} raw, age {}\n\n",
            mb(m.stored_bytes as f64),
            mb(m.raw_bytes as f64),
            ms(m.backup_age_ms as f64)
        );
        s += &format!("{:<14} {:>12}\n", "step", "time");
        for st in &m.steps {
            s += &format!("{:<14} {:>12}\n", st.name, ms(st.ms));
        }
        s += &format!("{:<14} {:>12}\n", "restore RTO", ms(self.restore_rto_ms));
        if let Some(t) = self.throughput_bytes_per_s {
            s += &format!(
                "throughput     {}/s (raw RDB over the size-bound steps)\n",
                mb(t)
            );
        }
        if let (Some(b), Some(e)) = (self.expect_bytes, self.extrapolated_rto_ms) {
            s += &format!(
                "extrapolated   {} for {} at that throughput\n",
                ms(e),
                mb(b as f64)
            );
        }
        s += "\n";
        for c in &self.verdict {
            let mark = if c.ok { "ok  " } else { "FAIL" };
            s += &format!("{mark} {:<14} {}\n", c.name, c.detail);
        }
        s += if self.ok {
            "verdict: targets met\n"
        } else {
            "verdict: MISSED\n"
        };
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(age: u64) -> Measured {
        let step = |name: &str, ms: f64, scales: bool| Step {
            name: name.into(),
            ms,
            scales,
        };
        Measured {
            scenario: "s".into(),
            file: "f.rdb.gz".into(),
            into: "scratch".into(),
            backup_age_ms: age,
            raw_bytes: 100_000_000,
            stored_bytes: 40_000_000,
            steps: vec![
                step("download", 100.0, true),
                step("checksum", 200.0, true),
                step("verify", 300.0, true),
                step("load", 400.0, true),
                step("first_served", 5.0, false),
            ],
            checks: vec![Check {
                name: "keys".into(),
                ok: true,
                detail: "x".into(),
            }],
        }
    }

    #[test]
    fn rto_is_the_sum_of_steps_and_extrapolates_the_size_bound_ones() {
        let r = judge(measured(1000), 2000, 60_000, Some(1_000_000_000));
        assert_eq!(r.restore_rto_ms, 1005.0);
        assert!(r.ok);
        assert_eq!(r.extrapolated_rto_ms, Some(10_005.0));
        assert_eq!(r.throughput_bytes_per_s, Some(100e6));
        let r = judge(measured(61_000), 1000, 60_000, None);
        let failed: Vec<&str> = r
            .verdict
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(failed, ["restore_rto", "backup_rpo"]);
        assert!(r.table().contains("verdict: MISSED"));
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(ms(812.4), "812 ms");
        assert_eq!(ms(4210.0), "4.21 s");
        assert_eq!(ms(185_000.0), "3 m 05 s");
        assert_eq!(ms(7_800_000.0), "2 h 10 m");
    }
}
