//! Pure: a `dr-drill` scenario (TOML) parsed and validated into a [`DrScenario`]: where the
//! backups are, where to restore (a scratch node or a process lab's primary), and the
//! targets (`restore_rto`, `backup_rpo`). Every mistake is one line naming the field.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A restore drill.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DrScenario {
    /// Short name, shown in the report.
    pub name: String,
    /// What the drill proves.
    #[serde(default)]
    pub description: String,
    /// Where the backups are.
    pub backup: BackupSpec,
    /// Where and how to restore.
    #[serde(default)]
    pub restore: RestoreSpec,
    /// What counts as success.
    pub targets: DrTargets,
}

/// Where the backups are, and which one to restore.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BackupSpec {
    /// A directory, `s3://bucket/prefix` or `gs://bucket/prefix`.
    pub dest: String,
    /// S3-compatible endpoint for `s3://` (else `$WARDEN_S3_ENDPOINT`).
    #[serde(default)]
    pub s3_endpoint: Option<String>,
    /// `latest` (default), `latest-good`, or a file.
    #[serde(default = "latest")]
    pub target: String,
}

fn latest() -> String {
    "latest".into()
}

/// Where the backup is restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RestoreInto {
    /// A fresh scratch node (a process, or a container with `backend = "docker"`).
    #[default]
    Scratch,
    /// The primary of the process lab in `lab_dir`: killed, its data dir restored, started.
    LabPrimary,
}

/// What runs a scratch node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ScratchBackend {
    /// A local `redis-server` process.
    #[default]
    Process,
    /// A container through the Docker API.
    Docker,
}

/// How the restore is done.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RestoreSpec {
    /// `scratch` (default) or `lab-primary`.
    #[serde(default)]
    pub into: RestoreInto,
    /// Scratch node: `process` (default) or `docker`.
    #[serde(default)]
    pub backend: ScratchBackend,
    /// `lab-primary`: the state directory of a process lab (`warden lab up --dir`).
    #[serde(default)]
    pub lab_dir: Option<PathBuf>,
    /// The dataset size to extrapolate the restore time to, e.g. `"10GB"`, `"512MiB"`.
    #[serde(default)]
    pub expect_size: Option<String>,
    /// The `redis-server` binary (process scratch node).
    #[serde(default = "redis_server")]
    pub redis_server: PathBuf,
    /// The image of a docker scratch node (never pulled); default `$WARDEN_REDIS_IMAGE`,
    /// else `redis:7.2`, as for `restore-test --backend docker`.
    #[serde(default)]
    pub image: Option<String>,
    /// Longest wait for the node to load.
    #[serde(default = "five_minutes", with = "humantime_serde")]
    pub timeout: Duration,
}

fn redis_server() -> PathBuf {
    PathBuf::from("redis-server")
}

fn five_minutes() -> Duration {
    Duration::from_secs(300)
}

impl Default for RestoreSpec {
    fn default() -> Self {
        RestoreSpec {
            into: RestoreInto::Scratch,
            backend: ScratchBackend::Process,
            lab_dir: None,
            expect_size: None,
            redis_server: redis_server(),
            image: None,
            timeout: five_minutes(),
        }
    }
}

/// The targets of a restore drill.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DrTargets {
    /// Longest acceptable restore: the sum of the measured steps.
    #[serde(with = "humantime_serde")]
    pub restore_rto: Duration,
    /// Oldest acceptable newest backup: its age when the drill starts.
    #[serde(with = "humantime_serde")]
    pub backup_rpo: Duration,
}

impl DrScenario {
    /// Parses and validates a scenario.
    pub(crate) fn parse(text: &str) -> Result<DrScenario, String> {
        let s: DrScenario = toml::from_str(text).map_err(|e| e.to_string().replace('\n', " "))?;
        if s.restore.into == RestoreInto::LabPrimary {
            if s.restore.lab_dir.is_none() {
                return Err("restore.into = \"lab-primary\" needs restore.lab_dir".into());
            }
            if s.restore.backend == ScratchBackend::Docker {
                return Err("restore.into = \"lab-primary\" restores a process lab: \
                            backend = \"docker\" applies to a scratch node only"
                    .into());
            }
        }
        if let Some(size) = &s.restore.expect_size {
            parse_size(size).map_err(|e| format!("restore.expect_size: {e}"))?;
        }
        Ok(s)
    }

    /// `expect_size` in bytes, if given (validated by [`DrScenario::parse`]).
    pub(crate) fn expect_bytes(&self) -> Option<u64> {
        self.restore
            .expect_size
            .as_deref()
            .and_then(|s| parse_size(s).ok())
    }
}

/// `"10GB"` → 10·10⁹, `"512MiB"` → 512·2²⁰, `"1.5 TB"`, `"4096"` (bytes).
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a size like \"10GB\" or \"512MiB\""))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "tb" | "t" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0f64.powi(4),
        u => {
            return Err(format!(
                "{s:?}: unknown unit {u:?} (B, KB, MB, GB, TB, KiB … TiB)"
            ));
        }
    };
    Ok((n * mult).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        for (s, want) in [
            ("10GB", Ok(10_000_000_000)),
            ("512MiB", Ok(512 << 20)),
            ("1.5 TB", Ok(1_500_000_000_000)),
            ("4096", Ok(4096)),
            ("2 gib", Ok(2 << 30)),
        ] {
            assert_eq!(parse_size(s), want, "{s}");
        }
        assert!(
            parse_size("10 parsecs")
                .unwrap_err()
                .contains("unknown unit")
        );
        assert!(parse_size("GB").unwrap_err().contains("expected a size"));
    }

    #[test]
    fn scenarios_are_validated() {
        let ok = "name = \"n\"\n[backup]\ndest = \"b\"\n[targets]\nrestore_rto = \"30s\"\nbackup_rpo = \"1h\"\n";
        let s = DrScenario::parse(ok).expect("valid");
        assert_eq!(s.restore.into, RestoreInto::Scratch);
        assert_eq!(s.backup.target, "latest");
        assert_eq!(s.targets.restore_rto, Duration::from_secs(30));
        let lab = format!("{ok}[restore]\ninto = \"lab-primary\"\n");
        assert!(DrScenario::parse(&lab).unwrap_err().contains("lab_dir"));
        let size = format!("{ok}[restore]\nexpect_size = \"ten\"\n");
        assert!(
            DrScenario::parse(&size)
                .unwrap_err()
                .contains("expect_size")
        );
        let typo = ok.replace("restore_rto", "restore_rt0");
        assert!(
            DrScenario::parse(&typo)
                .unwrap_err()
                .contains("restore_rt0")
        );
    }
}
