//! A throw-away `redis-server` process that loads one RDB (AOF off, saving off) on a free
//! loopback port in a temporary directory; killed and removed on drop. [`wait_loaded`] polls
//! any node until it has loaded its data.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use crate::addr::Addr;
use crate::client::{self, Timeouts};
use crate::conn::{Con, Conn};
use crate::error::{Error, Result};
use crate::lab::process;

/// A running scratch server.
pub(crate) struct Scratch {
    child: Child,
    /// Where it listens.
    pub addr: Addr,
    /// Its log file.
    pub log: PathBuf,
}

/// The config of a scratch server: loads `dir/dump.rdb`, never writes anything back.
fn conf(port: u16, dir: &Path, log: &Path) -> String {
    format!(
        "port {port}\nbind 127.0.0.1\ndir {}\ndbfilename dump.rdb\nappendonly no\nsave \"\"\n\
         daemonize no\nlogfile {}\nprotected-mode yes\n",
        dir.display(),
        log.display()
    )
}

impl Scratch {
    /// Starts `redis-server` on the `dump.rdb` in `dir` and waits (up to `timeout`) until it
    /// has loaded it.
    pub(crate) async fn start(
        redis_server: &Path,
        dir: &Path,
        timeout: Duration,
    ) -> Result<Scratch> {
        let binary = process::find_redis_server(redis_server)?;
        let port = process::free_ports(1)?[0];
        let log = dir.join("redis.log");
        let conf_path = dir.join("redis.conf");
        std::fs::write(&conf_path, conf(port, dir, &log)).map_err(Error::io(&conf_path))?;
        let child = process::spawn(&binary, &conf_path, false, &dir.join("stdout.log"))?;
        let mut s = Scratch {
            child,
            addr: Addr::local(port),
            log,
        };
        s.wait_loaded(timeout).await?;
        Ok(s)
    }

    async fn wait_loaded(&mut self, timeout: Duration) -> Result<()> {
        let (child, log) = (&mut self.child, &self.log);
        let alive = || {
            std::future::ready(match child.try_wait() {
                Ok(Some(status)) => Err(Error::ProcessExited {
                    what: format!("the scratch redis-server ({status})"),
                    log: log.clone(),
                }),
                _ => Ok(()),
            })
        };
        let what = "the scratch redis-server did not finish loading";
        let hint = format!("see {}", log.display());
        wait_loaded(&Conn::default(), &self.addr, timeout, what, &hint, alive).await
    }
}

/// A connection to a scratch server with generous reply timeouts (SCAN over millions of
/// keys).
pub(crate) async fn connect(addr: &Addr) -> Result<Con> {
    let t = Timeouts {
        connect: Duration::from_secs(1),
        response: Duration::from_secs(30),
    };
    // The scratch server is warden's own, on loopback, without a password or TLS.
    Conn::default().node(addr, t).await
}

/// Polls `INFO persistence` on `addr` (50 ms apart, connected as `conn` says) until
/// it says `loading:0`, for at most
/// `timeout`. `alive` is asked first on every round: its error (the server exited) ends the
/// wait at once. On timeout the error says `what` and the last thing seen, then `hint`.
pub(crate) async fn wait_loaded<F, Fut>(
    conn: &Conn,
    addr: &Addr,
    timeout: Duration,
    what: &str,
    hint: &str,
    mut alive: F,
) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        alive().await?;
        let last = match loading(conn, addr).await {
            Ok(false) => return Ok(()),
            Ok(true) => "still loading".to_string(),
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: what.into(),
                waited: timeout,
                detail: format!("{last}; {hint}"),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether the node at `addr` is still loading its data (`INFO persistence`).
async fn loading(conn: &Conn, addr: &Addr) -> Result<bool> {
    let t = Timeouts {
        connect: Duration::from_secs(2),
        response: Duration::from_secs(10),
    };
    let mut con = conn.node(addr, t).await?;
    let text: String = client::query(&mut con, addr, redis::cmd("INFO").arg("persistence")).await?;
    Ok(client::parse_info(&text).get("loading").map(String::as_str) != Some("0"))
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
