//! The AOF commands (`aof inspect`, `aof trim`, `backup --aof`): arguments in, report out.
//! The work lives in [`crate::backup::aof_files`] over the pure [`crate::aof`].

use crate::aof::inspect::Report;
use crate::backup::aof_files::{self, AofDir};
use crate::backup::manifest::base_name;
use crate::backup::remote::Dest;
use crate::backup::take;
use crate::cli::{AofInspectArgs, AofTrimArgs, BackupArgs};
use crate::error::{EXIT_MET, EXIT_MISSED, Error, Result};
use crate::util::blocking;

fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// The text report of an AOF.
fn table(r: &Report) -> String {
    let mut s = format!(
        "{:<36} {:<5} {:>12} {:>10}  problem\n",
        "file", "kind", "bytes", "commands"
    );
    for f in &r.files {
        let n = match f.rdb_keys {
            Some(k) => format!("{k} keys"),
            None => f.commands.to_string(),
        };
        s += &format!(
            "{:<36} {:<5} {:>12} {:>10}  {}\n",
            f.file,
            f.format,
            f.bytes,
            n,
            f.problem.as_deref().unwrap_or("")
        );
    }
    s += &format!("{:<22} {}\n", "commands", r.commands);
    for (name, n) in &r.by_type {
        s += &format!("  {name:<20} {n}\n");
    }
    s += &format!("{:<22} {}\n", "keys touched", r.keys_touched);
    match &r.last_complete {
        Some(l) => {
            s += &format!(
                "{:<22} {} (ends at {} in {})\n",
                "last complete", l.command, l.end, l.file
            )
        }
        None => s += &format!("{:<22} none\n", "last complete"),
    }
    if let Some(t) = &r.torn {
        s += &format!(
            "{:<22} {} at offset {}: {} bytes, input ended in {}{}\n",
            "TORN TAIL",
            t.file,
            t.offset,
            t.bytes,
            t.reading,
            if t.in_last_file {
                ""
            } else {
                " (not the last file: damaged)"
            }
        );
    }
    if let Some(b) = &r.bad {
        s += &format!("{:<22} {b}\n", "DAMAGED");
    }
    s
}

/// `warden aof inspect`: exit 0 readable to the end, 1 torn or damaged, 2 could not read.
/// With `--truncated`, only a torn tail is reported (exit 1 when there is one).
pub(super) async fn inspect(a: AofInspectArgs) -> Result<u8> {
    let path = a.path.clone();
    let r = blocking("reading the AOF", move || AofDir::open(&path)?.inspect()).await?;
    if a.truncated {
        if a.json {
            outln!(
                "{}",
                json(&serde_json::json!({ "torn": r.torn, "last_complete": r.last_complete }))
            );
        } else {
            match (&r.torn, &r.last_complete) {
                (Some(t), last) => {
                    outln!(
                        "torn tail in {} at offset {} ({} bytes; input ended in {})",
                        t.file,
                        t.offset,
                        t.bytes,
                        t.reading
                    );
                    if let Some(l) = last {
                        outln!(
                            "last complete command: {} (ends at {} in {})",
                            l.command,
                            l.end,
                            l.file
                        );
                    }
                    outln!(
                        "cut it with: warden aof trim {} --to NEW_DIR",
                        a.path.display()
                    );
                }
                (None, _) => outln!("no torn tail: every file ends on a complete command"),
            }
        }
        return Ok(if r.torn.is_some() {
            EXIT_MISSED
        } else {
            EXIT_MET
        });
    }
    if a.json {
        outln!("{}", json(&r));
    } else {
        outp!("{}", table(&r));
    }
    Ok(if r.torn.is_some() || r.bad.is_some() {
        EXIT_MISSED
    } else {
        EXIT_MET
    })
}

/// `warden aof trim`: exit 0 written, 1 the AOF is damaged beyond a torn tail, 2 could not run.
pub(super) async fn trim(a: AofTrimArgs) -> Result<u8> {
    let (path, to) = (a.path.clone(), a.to.clone());
    let t = blocking("trimming the AOF", move || {
        aof_files::trim(&AofDir::open(&path)?, &to)
    })
    .await?;
    if a.json {
        outln!("{}", json(&t));
        return Ok(EXIT_MET);
    }
    match &t.cut {
        Some((file, at, n)) => outln!("{:<14} {file} at offset {at} ({n} bytes dropped)", "cut"),
        None => outln!("{:<14} nothing (no torn tail): copied as is", "cut"),
    }
    outln!("{:<14} {}", "written", t.to.display());
    if let Some(l) = &t.report.last_complete {
        outln!("{:<14} {}", "last command", l.command);
    }
    outln!("{:<14} {}", "commands", t.report.commands);
    Ok(EXIT_MET)
}

/// `warden backup --aof`: exit 0 copied, 1 the AOF could not be copied consistently or is
/// damaged, 2 could not run.
pub(super) async fn backup_aof(args: BackupArgs) -> Result<u8> {
    let dir = match args.dest.iter().map(|d| Dest::parse(d)).next() {
        Some(Dest::Local(d)) if args.dest.len() == 1 => d,
        _ => {
            return Err(Error::Usage(
                "backup --aof stores into one local directory (--dest DIR); object storage \
                 destinations take RDB backups"
                    .into(),
            ));
        }
    };
    let spec = take::Spec {
        sentinels: args.sentinel.sentinels,
        master: args.sentinel.master,
        dest: dir.clone(),
        method: args.method,
        data_dir: args.data_dir.clone(),
        from_container: false,
        compression: args.compress,
        allow_primary: args.allow_primary,
        conn: crate::conn::Conn::build(&super::conn_spec(&args.conn)?)?,
        pattern: args.pattern,
        timeout: args.timeout,
        catch_up: args.catch_up,
        taken: Vec::new(),
        progress: false,
    };
    let plan = take::plan(&spec).await?;
    let created = chrono::Utc::now();
    let to = (1..)
        .map(|n| dir.join(format!("{}.aof", base_name(&spec.master, created, n))))
        .find(|p| !p.exists())
        .unwrap_or_default();
    let c =
        aof_files::copy_from_replica(&spec.conn, &plan.source, args.data_dir, &to, args.timeout)
            .await?;
    if args.json {
        outln!("{}", json(&c));
    } else {
        outln!("{:<18} {} ({})", "copied from", c.source, c.from.display());
        outln!("{:<18} {}", "to", c.to.display());
        outln!("{:<18} {} ({} ms)", "attempts", c.attempts, c.duration_ms);
        outln!(
            "{:<18} {} bytes of a command being appended",
            "cut",
            c.cut_bytes
        );
        outp!("{}", table(&c.report));
    }
    Ok(EXIT_MET)
}
