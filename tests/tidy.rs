//! Tidy checks: pure modules stay pure, the library never imports the CLI layer, only the
//! Docker edge imports bollard, the drill runner's functions stay short, no source file
//! grows past 600 lines, and no two top-level modules import each other, however indirectly.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Modules that must not do I/O: they import neither tokio, redis, bollard nor object_store,
/// and touch no file system.
const PURE: &[&str] = &[
    "src/addr.rs",
    "src/server.rs",
    "src/rdb",
    "src/aof",
    "src/sentinel/event.rs",
    "src/sentinel/timeline.rs",
    "src/sentinel/view.rs",
    "src/sentinel/report.rs",
    "src/workload/config.rs",
    "src/workload/history.rs",
    "src/workload/record.rs",
    "src/workload/tally.rs",
    "src/workload/protocol.rs",
    "src/lab/config.rs",
    "src/conn/secret.rs",
    "src/conn/spec.rs",
    "src/lab/stack.rs",
    "src/fault/spec.rs",
    "src/fault/target.rs",
    "src/docker/select.rs",
    "src/drill/scenario.rs",
    "src/dr/scenario.rs",
    "src/dr/report.rs",
    "src/drill/checker.rs",
    "src/drill/verdict.rs",
    "src/drill/clients.rs",
    "src/drill/compare.rs",
    "src/drill/evidence.rs",
    "src/drill/primaries.rs",
    "src/drill/cluster.rs",
    "src/drill/cluster",
    "src/drill/failovers.rs",
    "src/drill/split.rs",
    "src/drill/machine.rs",
    "src/drill/machine",
    "src/drill/report.rs",
    "src/drill/report",
    "src/render",
    "src/failover",
    "src/watch/core.rs",
    "src/watch/core",
    "src/watch/follow.rs",
    "src/watch/config.rs",
    "src/watch/startup.rs",
    "src/backup/aof.rs",
    "src/backup/compress.rs",
    "src/backup/etag.rs",
    "src/backup/manifest.rs",
    "src/backup/replica.rs",
    "src/backup/report.rs",
    "src/backup/retention.rs",
    "src/backup/tee.rs",
    "src/restore/checks.rs",
    "src/restore/report.rs",
    "src/doctor/facts.rs",
    "src/doctor/checks.rs",
    "src/doctor/checks",
    "src/doctor/report.rs",
    "src/bench/watch/report.rs",
    "src/bench/watch/report",
];

/// Modules every module may import: the crate's error type and plain addresses.
const LEAVES: &[&str] = &["error", "addr"];

/// The module path (`a::b`) of a source file under `src/`.
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(root().join("src")).unwrap();
    let mut segs: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if segs.last().is_some_and(|l| l == "mod") {
        segs.pop();
    }
    segs
}

/// The crate paths a file's `use` lines name (before its tests), resolved from `crate::` and
/// `super::`.
fn imported_paths(file: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(file).unwrap();
    let here = module_of(file);
    let body = text.split("#[cfg(test)]").next().unwrap_or_default();
    let mut out = Vec::new();
    for line in body.lines().map(str::trim) {
        let Some(path) = line
            .strip_prefix("use ")
            .or_else(|| line.strip_prefix("pub use "))
        else {
            continue;
        };
        let path = path.split(['{', ';']).next().unwrap_or_default();
        let mut segs: Vec<String> = path
            .split("::")
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let mut base = match segs.first().map(String::as_str) {
            Some("crate") => Vec::new(),
            Some("super") => here[..here.len().saturating_sub(1)].to_vec(),
            _ => continue,
        };
        segs.remove(0);
        while segs.first().is_some_and(|s| s == "super") {
            base.pop();
            segs.remove(0);
        }
        base.extend(segs);
        out.push(base);
    }
    out
}

#[test]
fn pure_modules_import_only_pure_modules() {
    let pure: Vec<Vec<String>> = PURE.iter().map(|p| module_of(&root().join(p))).collect();
    for p in PURE {
        let path = root().join(p);
        let mut files = Vec::new();
        if path.is_dir() {
            rust_files(&path, &mut files);
        } else {
            files.push(path);
        }
        for f in files {
            for import in imported_paths(&f) {
                let ok = LEAVES
                    .iter()
                    .any(|l| import.first().is_some_and(|s| s == l))
                    || pure.iter().any(|m| import.starts_with(m));
                assert!(
                    ok,
                    "{} is pure but imports `{}` from an I/O module: move the type down",
                    f.display(),
                    import.join("::")
                );
            }
        }
    }
}

/// The CLI layer: the only files that may name `crate::cli`.
const CLI_LAYER: &[&str] = &["src/cli", "src/main.rs", "src/commands.rs", "src/commands"];

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
            for banned in [
                "tokio",
                "redis::",
                "use redis",
                "bollard",
                "object_store",
                "std::net",
                "std::process",
                "std::fs",
            ] {
                let hit = text
                    .lines()
                    .any(|l| !l.trim_start().starts_with("//") && l.contains(banned));
                assert!(!hit, "{} is pure but mentions `{banned}`", f.display());
            }
        }
    }
}

/// Whether `text` names the module path `path` itself (`crate::cli`, `crate::cli::X`), not a
/// longer name that starts with it (`crate::client`).
fn mentions_path(text: &str, path: &str) -> bool {
    text.match_indices(path).any(|(i, _)| {
        !text[i + path.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
    })
}

#[test]
fn library_never_imports_cli() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    for f in files {
        let rel = f.strip_prefix(root()).unwrap();
        if CLI_LAYER.iter().any(|c| rel.starts_with(c)) {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for banned in ["crate::cli", "use super::cli"] {
            assert!(
                !mentions_path(&text, banned),
                "{} is library code but mentions `{banned}`: the CLI layer (cli, commands) \
                 imports the library, never the reverse; convert arguments to a spec there",
                rel.display()
            );
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

/// Issue 19: every script that builds, tests or installs warden passes `--locked`, so a build
/// never rewrites `Cargo.lock` (a fresh clone stays clean after `scripts/quickstart.sh`).
#[test]
fn every_script_builds_with_locked() {
    let mut scripts = vec![root().join(".ci/run")];
    for dir in ["scripts", "deploy", "compose"] {
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "sh") {
                scripts.push(path);
            }
        }
    }
    for path in scripts {
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            let Some(at) = words.iter().position(|w| *w == "cargo") else {
                continue;
            };
            // Only a command: `cargo` first, or after `nice`/`exec` (not in a comment or echo).
            if at > 0 && !["nice", "exec"].contains(&words[at - 1]) {
                continue;
            }
            let builds = words.get(at + 1).is_some_and(|c| {
                ["build", "run", "test", "nextest", "clippy", "install"].contains(c)
            });
            assert!(
                !builds || words.contains(&"--locked"),
                "{}: `{}` builds without --locked",
                path.display(),
                line.trim()
            );
        }
    }
}

/// The lines of each `fn` in `text`, by name: from its signature to the closing brace at the
/// signature's indentation.
fn function_lengths(text: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let code = line.trim_start();
        let indent = &line[..line.len() - code.len()];
        let sig = [
            "fn ",
            "pub fn ",
            "pub(super) fn ",
            "pub(crate) fn ",
            "async fn ",
            "pub async fn ",
            "pub(super) async fn ",
            "pub(crate) async fn ",
        ]
        .iter()
        .find_map(|p| code.strip_prefix(p));
        let Some(sig) = sig else { continue };
        let name: String = sig
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let close = format!("{indent}}}");
        if let Some(end) = lines[i..].iter().position(|l| *l == close) {
            out.push((name, end + 1));
        }
    }
    out
}

#[test]
fn the_drill_runner_has_no_function_over_60_lines() {
    for file in ["src/drill/runner.rs", "src/drill/trial.rs"] {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        let lengths = function_lengths(&text);
        assert!(lengths.len() > 5, "{file}: no functions found");
        for (name, n) in lengths {
            assert!(
                n <= 60,
                "{file}: fn {name} has {n} lines (max 60): split it"
            );
        }
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

/// The one place that builds connections to Redis nodes and Sentinels.
const CONN_EDGE: &str = "src/conn";

/// Every connection warden opens is built in `src/conn/` (one settings struct: credentials,
/// TLS, hostname map): nothing else opens a redis client, a Pub/Sub or a raw TCP stream.
#[test]
fn connections_are_built_only_in_conn() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let edge = root().join(CONN_EDGE);
    let forbidden = [
        "Client::open",
        "get_multiplexed",
        "get_async_pubsub",
        "get_connection",
        "tokio::net::TcpStream",
        "TcpStream::connect",
        "build_with_tls",
        "tokio_rustls",
    ];
    let mut outside = Vec::new();
    for f in files.iter().filter(|f| !f.starts_with(&edge)) {
        let text = std::fs::read_to_string(f).unwrap();
        for word in forbidden {
            if text.contains(word) {
                outside.push(format!(
                    "{} ({word})",
                    f.strip_prefix(root()).unwrap().display()
                ));
            }
        }
    }
    assert!(
        outside.is_empty(),
        "only {CONN_EDGE}/ may open connections; also: {outside:?}"
    );
}

// The import graph between top-level modules of `src/` has no cycle (issue 19): every path a
// module's code names — `use` lines and paths in expressions alike, `crate::x::…` and
// `crate::{x, y}` — is an arrow from it to the module it starts with. Comments are skipped.

/// Top-level module → its files (`main` and `lib` are the crate root, not modules).
fn modules() -> BTreeMap<String, Vec<PathBuf>> {
    let mut out: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for e in std::fs::read_dir(root().join("src"))
        .expect("src")
        .flatten()
    {
        let p = e.path();
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        if name == "main" || name == "lib" {
            continue;
        }
        let files = out.entry(name).or_default();
        match p.is_dir() {
            true => rust_files(&p, files),
            false => files.push(p),
        }
    }
    out
}

/// The first segment of every `crate::` path in `text`, outside comments.
fn named_modules(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a::b, c, d::{e, f}}`: the first segment of each top-level item.
            let (mut depth, mut start) = (1, 0);
            for (j, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 1 => {
                        out.insert(ident(&group[start..j]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 1 => {
                        out.insert(ident(&group[start..j]));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out.remove("");
    out
}

/// Module → the other top-level modules its code names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules();
    mods.iter()
        .map(|(name, files)| {
            let mut to = BTreeSet::new();
            for f in files {
                let text = std::fs::read_to_string(f).expect("read");
                to.extend(
                    named_modules(&text)
                        .into_iter()
                        .filter(|m| m != name && mods.contains_key(m)),
                );
            }
            (name.clone(), to)
        })
        .collect()
}

/// A cycle through `from`, as the modules on it, if there is one.
fn cycle_through(g: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![(from.to_string(), vec![from.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in g.get(&at).into_iter().flatten() {
            if next == from {
                return Some(path.clone());
            }
            if seen.insert(next.clone()) {
                let mut p = path.clone();
                p.push(next.clone());
                stack.push((next.clone(), p));
            }
        }
    }
    None
}

#[test]
fn no_cycle_between_top_level_modules() {
    let g = graph();
    let cycles: Vec<String> = g
        .keys()
        .filter_map(|m| cycle_through(&g, m))
        .map(|c| format!("{} → {}", c.join(" → "), c[0]))
        .collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_check_reads_paths_not_only_use_lines() {
    let text = "use crate::{addr::Addr, error::{Error, Result}};\n\
                // crate::commentary is skipped\n\
                fn f() { crate::watch::run(); let _ = crate::drill::X; }";
    let got: Vec<String> = named_modules(text).into_iter().collect();
    assert_eq!(got, ["addr", "drill", "error", "watch"]);
    let g: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(
        cycle_through(&g, "a"),
        Some(vec!["a".into(), "b".into(), "c".into()])
    );
    assert_eq!(cycle_through(&g, "d"), None);
}
