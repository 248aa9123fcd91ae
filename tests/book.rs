//! The book under `docs/book` (issue 19): every page is in its summary and every summary entry
//! exists; every relative link and anchor resolves; every fenced block says what it is (`sh`,
//! `toml`, `json`, `yaml`, `text` for output …); every `warden …` command line of an `sh` block
//! parses with the real command-line definition; and `mdbook build` succeeds.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::Parser;

fn book() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/book")
}

/// Every page of the book: (file name, text).
fn pages() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(book().join("src"))
        .expect("docs/book/src")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("page"))
        })
        .collect();
    out.sort();
    out
}

/// The lines of `text` outside fenced blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut fence = false;
    text.lines()
        .filter(|l| {
            if l.starts_with("```") {
                fence = !fence;
                return false;
            }
            !fence
        })
        .collect()
}

/// mdBook's anchor for a heading: lower case, spaces to dashes, other punctuation dropped.
fn slug(heading: &str) -> String {
    heading
        .trim_start_matches('#')
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The targets of the Markdown links in `lines` (`[text](target)`).
fn links(lines: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for l in lines {
        for (i, _) in l.match_indices("](") {
            let rest = &l[i + 2..];
            if let Some(end) = rest.find(')') {
                out.push(rest[..end].to_string());
            }
        }
    }
    out
}

#[test]
fn every_page_is_in_the_summary_and_every_link_resolves() {
    let pages = pages();
    let names: BTreeSet<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
    let summary = &pages
        .iter()
        .find(|(n, _)| n == "SUMMARY.md")
        .expect("SUMMARY.md")
        .1;
    let listed: BTreeSet<String> = links(&summary.lines().collect::<Vec<_>>())
        .into_iter()
        .collect();
    for page in &names {
        if *page != "SUMMARY.md" {
            assert!(listed.contains(*page), "{page} is not in SUMMARY.md");
        }
    }
    let mut broken = Vec::new();
    for (name, text) in &pages {
        for target in links(&prose(text)) {
            if target.starts_with("http://") || target.starts_with("https://") {
                // Outside the book: not checked offline.
                continue;
            }
            let (file, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let file = if file.is_empty() { name.as_str() } else { file };
            if !book().join("src").join(file).exists() {
                broken.push(format!("{name}: {target}: no such file"));
                continue;
            }
            if !anchor.is_empty() {
                let page = std::fs::read_to_string(book().join("src").join(file)).expect("page");
                let anchors: BTreeSet<String> = prose(&page)
                    .iter()
                    .filter(|l| l.starts_with('#'))
                    .map(|l| slug(l))
                    .collect();
                if !anchors.contains(anchor) {
                    broken.push(format!("{name}: {target}: no such heading"));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

/// The `warden` command lines of `sh` blocks: continuation lines joined, environment
/// assignments and comments dropped, as argument lists.
fn examples(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut lang: Option<String> = None;
    let mut pending = String::new();
    for l in text.lines() {
        if let Some(tag) = l.strip_prefix("```") {
            lang = match lang {
                None => Some(tag.trim().to_string()),
                Some(_) => None,
            };
            continue;
        }
        if lang.as_deref() != Some("sh") {
            continue;
        }
        pending.push_str(l.trim_end_matches('\\'));
        if l.ends_with('\\') {
            pending.push(' ');
            continue;
        }
        let line = std::mem::take(&mut pending);
        let Some(words) = shlex::split(line.split(" #").next().unwrap_or("")) else {
            out.push(vec![format!("unbalanced quotes: {line}")]);
            continue;
        };
        for command in commands(words) {
            let command: Vec<String> = command
                .into_iter()
                .skip_while(|w| w.contains('='))
                .collect();
            let is_warden = command
                .first()
                .is_some_and(|w| w == "warden" || w.ends_with("/warden"));
            if is_warden {
                out.push(command);
            }
        }
    }
    out
}

/// A shell line's commands: split at `&&`, `||`, `;` and `|`, redirections dropped.
fn commands(words: Vec<String>) -> Vec<Vec<String>> {
    let mut out = vec![Vec::new()];
    let mut words = words.into_iter();
    while let Some(w) = words.next() {
        match w.as_str() {
            "&&" | "||" | ";" | "|" => out.push(Vec::new()),
            ">" | ">>" | "2>" | "2>>" | "<" => {
                words.next();
            }
            w if w.starts_with('>') || w.starts_with("2>") => {}
            _ => out.last_mut().expect("one command").push(w),
        }
    }
    out
}

#[test]
fn every_block_says_what_it_is_and_every_warden_example_parses() {
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (name, text) in pages() {
        let mut fence = false;
        for l in text.lines().filter(|l| l.starts_with("```")) {
            if !fence && l.trim() == "```" {
                wrong.push(format!(
                    "{name}: a block without a language (`text` for output)"
                ));
            }
            fence = !fence;
        }
        for words in examples(&text) {
            checked += 1;
            if let Err(e) = warden::cli::Cli::try_parse_from(&words) {
                let first = e.to_string().lines().next().unwrap_or("").to_string();
                wrong.push(format!("{name}: `{}`: {first}", words.join(" ")));
            }
        }
    }
    assert!(checked >= 40, "only {checked} examples found");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_book_builds() {
    let dest = tempfile::tempdir().expect("temp dir");
    let Ok(out) = std::process::Command::new("mdbook")
        .arg("build")
        .arg(book())
        .arg("--dest-dir")
        .arg(dest.path())
        .output()
    else {
        return support::missing::missing("mdbook (cargo install mdbook --locked)");
    };
    assert!(
        out.status.success(),
        "mdbook build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
