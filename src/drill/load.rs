//! Reading a scenario file: parsed, validated, checked against this machine's memory and files.

use std::path::Path;

use super::scenario::Scenario;
use crate::error::{Error, Result};
use crate::workload;

/// Reads a scenario file and validates it ([`Scenario::parse`]), its workloads against this
/// machine's memory ([`Scenario::check_memory`]) and their programs against its files.
pub(crate) fn load(path: &Path) -> Result<Scenario> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    let invalid = |message| Error::Scenario {
        path: path.to_path_buf(),
        message,
    };
    let s = Scenario::parse(&text).map_err(invalid)?;
    s.check_memory(memory_bytes()).map_err(invalid)?;
    for w in &s.workloads {
        if let Some(argv) = &w.command {
            workload::external::check_program(argv)
                .map_err(|e| invalid(format!("[workload] `{}`: {e}", w.name())))?;
        }
    }
    Ok(s)
}

/// `MemTotal` from `/proc/meminfo`; 4 GiB (conservatively) when it cannot be read.
fn memory_bytes() -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(4 << 30, |kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_scenarios_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                load(&path).unwrap_or_else(|e| panic!("{e}"));
                n += 1;
            }
        }
        assert!(n >= 2);
    }
}
