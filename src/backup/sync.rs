//! Pulling a fresh RDB from a node over the replication protocol, as `redis-cli --rdb` does:
//! `AUTH` (if a password is given), `REPLCONF rdb-only 1`, `SYNC`, then the `$<len>` bulk.
//!
//! Plain disk-based `SYNC` on purpose: asking for the diskless EOF-marker form
//! (`REPLCONF capa eof`) makes the server wait `repl-diskless-sync-delay` (5 s by default)
//! for other replicas first. The bytes go, chunk by chunk, into a bounded channel that a
//! blocking thread reads through [`ChannelReader`]; the RDB is never held in memory whole.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::addr::Addr;
use crate::conn::{Conn, Role, Stream};
use crate::error::{Error, Result};

/// Size of each chunk handed to the consumer.
const CHUNK: usize = 1 << 16;
/// Chunks in flight between the socket and the consumer (bounds memory to ~1 MiB).
pub const DEPTH: usize = 16;

/// One message to the consumer: bytes, or the reason the stream broke.
pub(crate) type Chunk = io::Result<Vec<u8>>;

/// A blocking [`io::Read`] over chunks sent from an async task; end of input when the
/// sender is dropped.
pub struct ChannelReader {
    rx: mpsc::Receiver<Chunk>,
    buf: Vec<u8>,
    pos: usize,
}

impl ChannelReader {
    /// Reads from `rx`; call only from a blocking thread.
    pub fn new(rx: mpsc::Receiver<Chunk>) -> Self {
        ChannelReader {
            rx,
            buf: Vec::new(),
            pos: 0,
        }
    }
}

impl io::Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(chunk) => {
                    self.buf = chunk?;
                    self.pos = 0;
                }
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// How long a silent socket is tolerated (the server sends `\n` keep-alives every second
/// while its BGSAVE runs, so silence means trouble).
pub(crate) const IDLE: Duration = Duration::from_secs(60);

/// Streams a fresh RDB from `addr` into `tx`; returns the bytes sent (the RDB's length,
/// unless the consumer stopped first). On failure the consumer also receives the error, so it
/// never mistakes a cut stream for a whole one.
pub async fn fetch(
    conn: &Conn,
    addr: &Addr,
    connect_timeout: Duration,
    tx: mpsc::Sender<Chunk>,
    progress: bool,
) -> Result<u64> {
    match transfer(conn, addr, connect_timeout, &tx, progress).await {
        Ok(n) => Ok(n),
        Err(e) => {
            let _ = tx
                .send(Err(io::Error::other(format!("transfer failed: {e}"))))
                .await;
            Err(e)
        }
    }
}

async fn transfer(
    conn: &Conn,
    addr: &Addr,
    connect_timeout: Duration,
    tx: &mpsc::Sender<Chunk>,
    progress: bool,
) -> Result<u64> {
    let fail = |message: String| Error::Sync {
        addr: addr.clone(),
        message,
    };
    let stream = conn.stream(Role::Node, addr, connect_timeout).await?;
    let mut r = BufReader::with_capacity(CHUNK, stream);
    let mut line = Vec::new();
    if let Some(auth) = conn.auth_command(Role::Node) {
        send(&mut r, &auth, addr).await?;
        read_line(&mut r, &mut line, addr).await?;
        if line.first() == Some(&b'-') {
            return Err(conn.auth_failed(Role::Node, addr, &text(&line[1..])));
        }
    }
    // Old servers answer "Unrecognized REPLCONF option: rdb-only": harmless, so ignored.
    send(&mut r, redis::cmd("REPLCONF").arg("rdb-only").arg(1), addr).await?;
    read_line(&mut r, &mut line, addr).await?;
    if line.starts_with(b"-NOAUTH") {
        return Err(conn.auth_failed(Role::Node, addr, &text(&line[1..])));
    }
    if line.starts_with(b"-NOPERM") {
        return Err(refused(conn, addr, &line));
    }
    send(&mut r, &redis::cmd("SYNC"), addr).await?;
    let len = loop {
        read_line(&mut r, &mut line, addr).await?;
        match line.first() {
            None => continue, // keep-alive while the node's BGSAVE runs
            Some(b'-') if line.starts_with(b"-NOPERM") => return Err(refused(conn, addr, &line)),
            Some(b'-') => return Err(fail(format!("refused: {}", text(&line[1..])))),
            Some(b'$') if line.starts_with(b"$EOF:") => {
                return Err(fail("the node sent the diskless EOF-marker form".into()));
            }
            Some(b'$') => {
                break text(&line[1..])
                    .parse::<u64>()
                    .map_err(|_| fail(format!("bad bulk length {:?}", text(&line))))?;
            }
            Some(_) => return Err(fail(format!("unexpected reply {:?}", text(&line)))),
        }
    };
    let mut left = len;
    let mut shown = std::time::Instant::now();
    while left > 0 {
        if progress && shown.elapsed() >= Duration::from_millis(250) {
            shown = std::time::Instant::now();
            eprint!(
                "\rSYNC from {addr}: {:.1} of {:.1} MiB",
                (len - left) as f64 / 1048576.0,
                len as f64 / 1048576.0
            );
        }
        let mut chunk = vec![0u8; CHUNK.min(left as usize)];
        let n = tokio::time::timeout(IDLE, r.read(&mut chunk))
            .await
            .map_err(|_| fail(format!("no data for {IDLE:?} with {left} bytes to go")))?
            .map_err(|e| fail(format!("read: {e}")))?;
        if n == 0 {
            return Err(fail(format!(
                "connection closed with {left} of {len} bytes to go"
            )));
        }
        chunk.truncate(n);
        left -= n as u64;
        if progress && left == 0 {
            eprint!("\r\x1b[2K");
        }
        if tx.send(Ok(chunk)).await.is_err() {
            // The consumer only stops early on its own error (e.g. a full disk), which the
            // caller reports; the transfer itself did not fail.
            return Ok(len - left);
        }
    }
    Ok(len)
}

/// A `-NOPERM …` reply as [`Error::NoPerm`], naming the user and the refused command.
fn refused(conn: &Conn, addr: &Addr, line: &[u8]) -> Error {
    crate::conn::no_perm(conn.user(Role::Node), addr, &text(line))
}

/// Writes `cmd` in RESP, encoded by the redis crate.
async fn send(r: &mut BufReader<Stream>, cmd: &redis::Cmd, addr: &Addr) -> Result<()> {
    let bytes = cmd.get_packed_command();
    r.get_mut()
        .write_all(&bytes)
        .await
        .map_err(|e| Error::Sync {
            addr: addr.clone(),
            message: format!("write: {e}"),
        })
}

/// Reads one line without its `\r\n` / `\n`.
async fn read_line(r: &mut BufReader<Stream>, line: &mut Vec<u8>, addr: &Addr) -> Result<()> {
    line.clear();
    let n = tokio::time::timeout(IDLE, r.read_until(b'\n', line))
        .await
        .map_err(|_| Error::Sync {
            addr: addr.clone(),
            message: format!("no reply within {IDLE:?}"),
        })?
        .map_err(|e| Error::Sync {
            addr: addr.clone(),
            message: format!("read: {e}"),
        })?;
    if n == 0 {
        return Err(Error::Sync {
            addr: addr.clone(),
            message: "connection closed".into(),
        });
    }
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
    Ok(())
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
