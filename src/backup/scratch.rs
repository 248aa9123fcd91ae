//! A throw-away `redis-server` process that loads one RDB (AOF off, saving off) on a free
//! loopback port in a temporary directory; killed and removed on drop.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;

use crate::addr::Addr;
use crate::client::{self, Timeouts};
use crate::error::{Error, Result};
use crate::lab::process;

/// A running scratch server.
pub struct Scratch {
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
    pub async fn start(redis_server: &Path, dir: &Path, timeout: Duration) -> Result<Scratch> {
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
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Error::ProcessExited {
                    what: format!("the scratch redis-server ({status})"),
                    log: self.log.clone(),
                });
            }
            let last = match self.loading().await {
                Ok(false) => return Ok(()),
                Ok(true) => "still loading".to_string(),
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                return Err(Error::Timeout {
                    what: "the scratch redis-server did not finish loading".into(),
                    waited: timeout,
                    detail: format!("{last}; see {}", self.log.display()),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn loading(&self) -> Result<bool> {
        let mut con = self.connect().await?;
        let text: String =
            client::query(&mut con, &self.addr, redis::cmd("INFO").arg("persistence")).await?;
        Ok(client::parse_info(&text).get("loading").map(String::as_str) != Some("0"))
    }

    /// A connection with generous reply timeouts (SCAN over millions of keys).
    pub async fn connect(&self) -> Result<MultiplexedConnection> {
        let t = Timeouts {
            connect: Duration::from_secs(1),
            response: Duration::from_secs(30),
        };
        client::connect(&self.addr, t).await
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
