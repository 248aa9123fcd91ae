//! `warden report` and the report files of `warden drill` (`--svg`, `--save`): reads and writes
//! report files; the rendering is `render`'s.

use std::path::{Path, PathBuf};

use super::{out, write_atomically};
use crate::cli::ReportArgs;
use crate::drill::report::Document;
use crate::error::{EXIT_MET, EXIT_MISSED, Error, Result};
use crate::render::{html, picture, trend};

/// `warden report REPORT.json [--svg DIR] [--html FILE]`, or `warden report --trend DIR`.
pub fn report(a: ReportArgs) -> Result<u8> {
    if let Some(dir) = &a.trend {
        return trend(dir, &a);
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
pub fn read(path: &Path) -> Result<Document> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    Document::parse(&text).map_err(|message| Error::Report {
        path: path.to_path_buf(),
        message,
    })
}

/// Writes `trial-N.svg` per injected trial of `doc` into `dir` (created if missing).
pub fn write_svgs(dir: &Path, doc: &Document) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let mut written = Vec::new();
    for t in doc.trials.iter().filter(|t| t.injected) {
        let path = dir.join(format!("{}-trial-{}.svg", doc.scenario, t.trial));
        write_atomically(&path, picture::trial_svg(doc, t).as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

/// Saves `doc` in `dir` under a name made of its scenario and start time (UTC).
pub fn save(dir: &Path, doc: &Document) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let when = doc
        .started
        .unwrap_or_else(chrono::Utc::now)
        .format("%Y%m%dT%H%M%SZ");
    let path = dir.join(format!("{}-{when}.json", doc.scenario));
    write_atomically(&path, doc.to_json().as_bytes())?;
    Ok(path)
}

fn trend(dir: &Path, a: &ReportArgs) -> Result<u8> {
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
