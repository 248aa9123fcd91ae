//! `--method bgsave`: `BGSAVE` on the chosen node, wait (with a deadline) until it finished
//! and succeeded, then locate the `dump.rdb` it wrote.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::conn::Con;

use crate::addr::Addr;
use crate::client::{self, parse_info};
use crate::error::{Error, Result};

/// The counters of `INFO persistence` that tell a finished save from an old one.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Persistence {
    in_progress: bool,
    last_ok: bool,
    last_save: i64,
    saves: Option<i64>,
}

async fn persistence(con: &mut Con, addr: &Addr) -> Result<Persistence> {
    let text: String = client::query(con, addr, redis::cmd("INFO").arg("persistence")).await?;
    let info = parse_info(&text);
    let num = |k: &str| info.get(k).and_then(|v| v.parse::<i64>().ok());
    Ok(Persistence {
        in_progress: num("rdb_bgsave_in_progress") == Some(1),
        last_ok: info.get("rdb_last_bgsave_status").map(String::as_str) == Some("ok"),
        last_save: num("rdb_last_save_time").unwrap_or(0),
        saves: num("rdb_saves"),
    })
}

/// Runs `BGSAVE` on `addr` and waits until a save that started after the call has finished
/// with status ok. A save already running is waited out first. With `progress`, a line on
/// stderr shows the wait.
pub(crate) async fn bgsave(
    con: &mut Con,
    addr: &Addr,
    timeout: Duration,
    progress: bool,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let timed_out = |detail: String| Error::Timeout {
        what: format!("BGSAVE on {addr} did not finish"),
        waited: timeout,
        detail,
    };
    let mut before = persistence(con, addr).await?;
    while before.in_progress {
        if Instant::now() >= deadline {
            return Err(timed_out("an earlier save was still running".into()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        before = persistence(con, addr).await?;
    }
    let _: redis::Value = client::query(con, addr, &redis::cmd("BGSAVE")).await?;
    let started = Instant::now();
    loop {
        let now = persistence(con, addr).await?;
        if progress {
            eprint!(
                "\rBGSAVE on {addr}: {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        let advanced = match (before.saves, now.saves) {
            (Some(b), Some(n)) => n > b,
            _ => now.last_save > before.last_save,
        };
        if !now.in_progress && advanced {
            if progress {
                eprint!("\r\x1b[2K");
            }
            if now.last_ok {
                return Ok(());
            }
            return Err(Error::Command {
                addr: addr.clone(),
                command: "BGSAVE".into(),
                source: redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "rdb_last_bgsave_status is err",
                    "see the node's log".to_string(),
                )),
            });
        }
        if Instant::now() >= deadline {
            return Err(timed_out(format!(
                "rdb_bgsave_in_progress:{}",
                u8::from(now.in_progress)
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Where the node writes its RDB: `data_dir` if given, else its `CONFIG GET dir`; joined with
/// its `CONFIG GET dbfilename`.
pub(crate) async fn dump_path(
    con: &mut Con,
    addr: &Addr,
    data_dir: Option<PathBuf>,
) -> Result<PathBuf> {
    let get = |name: &'static str| {
        let mut cmd = redis::cmd("CONFIG");
        cmd.arg("GET").arg(name);
        cmd
    };
    let file: Vec<String> = client::query(con, addr, &get("dbfilename")).await?;
    let file = file.get(1).cloned().unwrap_or_else(|| "dump.rdb".into());
    let dir = match data_dir {
        Some(d) => d,
        None => {
            let dir: Vec<String> = client::query(con, addr, &get("dir")).await?;
            dir.get(1).map(PathBuf::from).ok_or_else(|| {
                Error::Usage(format!(
                    "{addr} did not report its data dir; pass --data-dir"
                ))
            })?
        }
    };
    Ok(dir.join(file))
}
