//! `warden report` and the report files of `warden drill` (`--svg`, `--save`): reads and writes
//! report files (the trend's from a directory or object storage); the rendering is `render`'s.

use std::path::{Path, PathBuf};

use super::{out, write_atomically};
use crate::backup::remote::{Remote, is_bucket_url};
use crate::cli::ReportArgs;
use crate::drill::report::Document;
use crate::error::{EXIT_MET, EXIT_MISSED, Error, Result};
use crate::render::{html, picture, trend};

/// `warden report REPORT.json [--svg DIR] [--html FILE]`, or `warden report --trend DIR|URL`.
pub(super) async fn report(a: ReportArgs) -> Result<u8> {
    if let Some(src) = &a.trend {
        let runs = match is_bucket_url(src) {
            true => remote_runs(src, a.s3_endpoint.as_deref()).await?,
            false => local_runs(Path::new(src))?,
        };
        return trend(runs, &a);
    }
    let path = a
        .report
        .as_deref()
        .ok_or_else(|| Error::Usage("give a report file or --trend DIR".into()))?;
    let doc = read(path)?;
    let table = crate::drill::report::table(&doc);
    if let Some(dir) = &a.svg {
        write_svgs(dir, &doc)?;
    }
    if let Some(file) = &a.html {
        write_atomically(file, html::report_page(&doc, &table).as_bytes())?;
    }
    out(&table)?;
    Ok(EXIT_MET)
}

/// Reads a saved report.
pub(super) fn read(path: &Path) -> Result<Document> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    parse(path, &text)
}

fn parse(path: &Path, text: &str) -> Result<Document> {
    Document::parse(text).map_err(|message| Error::Report {
        path: path.to_path_buf(),
        message,
    })
}

/// Writes `trial-N.svg` per injected trial of `doc` into `dir` (created if missing).
pub(super) fn write_svgs(dir: &Path, doc: &Document) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let mut written = Vec::new();
    for t in doc.trials.iter().filter(|t| t.injected) {
        let path = dir.join(format!("{}-trial-{}.svg", doc.scenario, t.trial));
        write_atomically(&path, picture::trial_svg(doc, t).as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

/// Fails before a drill whose `--save` bucket is unreachable or missing (a directory is
/// created when the report is saved).
pub(super) async fn check_dest(dest: &str, endpoint: Option<&str>) -> Result<()> {
    match is_bucket_url(dest) {
        true => {
            Remote::open(dest.trim_end_matches('/'), endpoint)?
                .check()
                .await
        }
        false => Ok(()),
    }
}

/// Saves `doc` in the directory or object-storage prefix `dest` under a name made of its
/// scenario and start time (UTC); returns where.
pub(super) async fn save(dest: &str, endpoint: Option<&str>, doc: &Document) -> Result<String> {
    let when = doc
        .started
        .unwrap_or_else(chrono::Utc::now)
        .format("%Y%m%dT%H%M%SZ");
    let name = format!("{}-{when}.json", doc.scenario);
    if is_bucket_url(dest) {
        let remote = Remote::open(dest.trim_end_matches('/'), endpoint)?;
        remote.put(&name, doc.to_json().into_bytes()).await?;
        return Ok(format!("{}/{name}", remote.url));
    }
    let dir = Path::new(dest);
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let path = dir.join(name);
    write_atomically(&path, doc.to_json().as_bytes())?;
    Ok(path.display().to_string())
}

/// Every saved report (`*.json`) in `dir`, as a run named by its file.
fn local_runs(dir: &Path) -> Result<Vec<trend::Run>> {
    let entries = std::fs::read_dir(dir).map_err(Error::io(dir))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::Usage(format!(
            "no saved drill reports (*.json) in {}",
            dir.display()
        )));
    }
    let mut runs = Vec::new();
    for f in &files {
        let doc = read(f)?;
        let name = f
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        runs.push(trend::Run::of(&name, &doc));
    }
    Ok(runs)
}

/// Every saved report (`*.json`) under the object-storage prefix `url`, as a run named by
/// its object.
async fn remote_runs(url: &str, endpoint: Option<&str>) -> Result<Vec<trend::Run>> {
    let remote = Remote::open(url.trim_end_matches('/'), endpoint)?;
    let mut names: Vec<String> = remote
        .names()
        .await?
        .into_iter()
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(Error::Usage(format!(
            "no saved drill reports (*.json) under {url}"
        )));
    }
    let mut runs = Vec::new();
    for name in &names {
        let bytes = remote.get(name).await?;
        let path = PathBuf::from(format!("{}/{name}", remote.url));
        let doc = parse(&path, &String::from_utf8_lossy(&bytes))?;
        runs.push(trend::Run::of(name, &doc));
    }
    Ok(runs)
}

fn trend(runs: Vec<trend::Run>, a: &ReportArgs) -> Result<u8> {
    let rule = trend::Rule {
        window: a.window,
        threshold: a.threshold,
    };
    let t = trend::trend(runs, rule);
    let table = t.table();
    if let Some(file) = &a.html {
        write_atomically(file, html::trend_page(&t, &table).as_bytes())?;
    }
    out(&table)?;
    Ok(if t.regressions.is_empty() {
        EXIT_MET
    } else {
        EXIT_MISSED
    })
}
