//! Pure: a finding (severity, stable id, where, evidence, fix), and the doctor's report as a
//! table or JSON with the findings sorted by severity then id.

use serde::Serialize;

/// How bad a finding is. Ordered: `Info < Warn < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; not a hazard by itself.
    Info,
    /// A hazard under some failures.
    Warn,
    /// Failover cannot work as configured, or data is at risk now.
    Error,
}

impl Severity {
    /// `info`, `warn` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Error => "error",
        }
    }
}

/// One hazard found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// Stable, kebab-case name of the check and outcome.
    pub id: &'static str,
    /// The node or Sentinel (`host:port`), or `sentinels` for the deployment as a whole.
    #[serde(rename = "where")]
    pub place: String,
    /// The values seen.
    pub evidence: String,
    /// One line: the setting to change.
    pub fix: String,
}

/// Findings per severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Summary {
    /// Errors.
    pub error: usize,
    /// Warnings.
    pub warn: usize,
    /// Informational findings.
    pub info: usize,
}

/// The doctor's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Report {
    /// The master name audited.
    pub master: String,
    /// The Sentinels asked, as given.
    pub sentinels: Vec<String>,
    /// The primary per Sentinels, if any Sentinel named one.
    pub primary: Option<String>,
    /// The RTO target the timing checks used, if given.
    pub rto_ms: Option<u64>,
    /// Counts by severity.
    pub summary: Summary,
    /// Most severe first, then by id, then by place.
    pub findings: Vec<Finding>,
}

impl Report {
    /// A report of `findings`, sorted and counted.
    pub(crate) fn new(
        master: &str,
        sentinels: Vec<String>,
        primary: Option<String>,
        rto_ms: Option<u64>,
        mut findings: Vec<Finding>,
    ) -> Report {
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then(a.id.cmp(b.id))
                .then(a.place.cmp(&b.place))
        });
        let count = |s| findings.iter().filter(|f| f.severity == s).count();
        let summary = Summary {
            error: count(Severity::Error),
            warn: count(Severity::Warn),
            info: count(Severity::Info),
        };
        Report {
            master: master.to_string(),
            sentinels,
            primary,
            rto_ms,
            summary,
            findings,
        }
    }

    /// Whether any finding is at or above `threshold`.
    pub(crate) fn fails(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity >= threshold)
    }

    /// Pretty JSON; field order as declared.
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("report serializes") + "\n"
    }

    /// A table: severity, id, where, evidence, fix; then the summary line.
    pub(crate) fn to_table(&self) -> String {
        let primary = self.primary.as_deref().unwrap_or("unknown");
        let mut out = format!("doctor: master '{}', primary {primary}", self.master);
        if let Some(rto) = self.rto_ms {
            out += &format!(", RTO target {rto} ms");
        }
        out += "\n\n";
        let head = ["SEVERITY", "ID", "WHERE", "EVIDENCE", "FIX"];
        let rows: Vec<[&str; 5]> = self
            .findings
            .iter()
            .map(|f| [f.severity.as_str(), f.id, &f.place, &f.evidence, &f.fix])
            .collect();
        let mut width = head.map(str::len);
        for r in &rows {
            for (w, c) in width.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        for r in std::iter::once(&head).chain(&rows) {
            let mut line = String::new();
            for (i, c) in r.iter().enumerate() {
                if i + 1 == r.len() {
                    line += c;
                } else {
                    line += &format!("{c:<w$}  ", w = width[i]);
                }
            }
            out += line.trim_end();
            out += "\n";
        }
        if rows.is_empty() {
            out += "(no findings)\n";
        }
        let s = self.summary;
        out += &format!("\n{} error, {} warn, {} info\n", s.error, s.warn, s.info);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(severity: Severity, id: &'static str, place: &str) -> Finding {
        Finding {
            severity,
            id,
            place: place.into(),
            evidence: "seen".into(),
            fix: "change it".into(),
        }
    }

    fn report() -> Report {
        Report::new(
            "mymaster",
            vec!["10.0.0.1:26379".into()],
            Some("10.0.0.2:6379".into()),
            Some(5000),
            vec![
                f(Severity::Info, "b-info", "x:1"),
                f(Severity::Warn, "z-warn", "x:2"),
                f(Severity::Warn, "a-warn", "x:2"),
                f(Severity::Warn, "a-warn", "x:1"),
                f(Severity::Error, "q-error", "sentinels"),
            ],
        )
    }

    #[test]
    fn findings_sort_by_severity_then_id_then_place() {
        let r = report();
        let order: Vec<(&str, &str)> = r
            .findings
            .iter()
            .map(|f| (f.id, f.place.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                ("q-error", "sentinels"),
                ("a-warn", "x:1"),
                ("a-warn", "x:2"),
                ("z-warn", "x:2"),
                ("b-info", "x:1")
            ]
        );
        assert_eq!(
            report().summary,
            Summary {
                error: 1,
                warn: 3,
                info: 1
            }
        );
    }

    #[test]
    fn the_threshold_counts_findings_at_or_above_it() {
        let r = report();
        assert!(r.fails(Severity::Error) && r.fails(Severity::Warn));
        let only_info = Report::new("m", vec![], None, None, vec![f(Severity::Info, "i", "x")]);
        assert!(!only_info.fails(Severity::Warn));
        assert!(only_info.fails(Severity::Info));
        assert!(!Report::new("m", vec![], None, None, vec![]).fails(Severity::Info));
    }

    #[test]
    fn json_and_table() {
        insta::assert_snapshot!("report_json", report().to_json());
        insta::assert_snapshot!("report_table", report().to_table());
    }
}
