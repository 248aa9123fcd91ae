//! Tidy checks: pure modules stay pure, only the Docker edge imports bollard, and no source
//! file grows past 600 lines.

use std::path::{Path, PathBuf};

/// Modules that must not do I/O: they import neither tokio nor redis.
const PURE: &[&str] = &[
    "src/addr.rs",
    "src/sentinel/event.rs",
    "src/sentinel/timeline.rs",
    "src/workload/history.rs",
    "src/lab/config.rs",
    "src/lab/stack.rs",
    "src/fault/target.rs",
    "src/docker/select.rs",
    "src/drill/scenario.rs",
    "src/drill/checker.rs",
    "src/drill/report.rs",
    "src/watch/episode.rs",
    "src/backup/rdb",
    "src/backup/compress.rs",
    "src/backup/report.rs",
    "src/backup/tee.rs",
    "src/backup/manifest.rs",
    "src/backup/replica.rs",
    "src/backup/checks.rs",
    "src/backup/retention.rs",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn pure_modules_import_no_io_crates() {
    for pure in PURE {
        let path = root().join(pure);
        let mut files = Vec::new();
        if path.is_dir() {
            rust_files(&path, &mut files);
        } else {
            files.push(path);
        }
        assert!(
            !files.is_empty(),
            "{pure} is listed as pure but does not exist"
        );
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for banned in ["tokio", "redis::", "use redis", "std::net", "std::process"] {
                let hit = text
                    .lines()
                    .any(|l| !l.trim_start().starts_with("//") && l.contains(banned));
                assert!(!hit, "{} is pure but mentions `{banned}`", f.display());
            }
        }
    }
}

#[test]
fn no_source_file_exceeds_600_lines() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    rust_files(&root().join("tests"), &mut files);
    for f in files {
        let n = std::fs::read_to_string(&f).unwrap().lines().count();
        assert!(
            n <= 600,
            "{} has {n} lines (max 600): split it",
            f.display()
        );
    }
}

/// The one module that may talk to the Docker engine (see ARCHITECTURE.md).
const DOCKER_EDGE: &str = "src/docker";

#[test]
fn bollard_only_in_the_docker_edge() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let edge = root().join(DOCKER_EDGE);
    let outside: Vec<_> = files
        .iter()
        .filter(|f| !f.starts_with(&edge))
        .filter(|f| std::fs::read_to_string(f).unwrap().contains("bollard"))
        .map(|f| f.strip_prefix(root()).unwrap().display().to_string())
        .collect();
    assert!(
        outside.is_empty(),
        "only {DOCKER_EDGE}/ may mention bollard; also: {outside:?}"
    );
    assert!(
        files.iter().any(|f| f.starts_with(&edge)),
        "{DOCKER_EDGE}/ does not exist"
    );
}
