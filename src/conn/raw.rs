//! A raw command connection: the authenticated byte stream of [`Conn::stream`], for callers
//! that frame their own commands (the session writer's `SET`s) and want one task, no channel
//! hop, per request. It sends a ready-made RESP frame and reads one reply, decoded with
//! `redis-protocol` (RESP2), from a bounded buffer.

use std::io;
use std::time::Duration;

use redis_protocol::resp2::decode::decode;
pub(crate) use redis_protocol::resp2::types::OwnedFrame as Frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Conn, Role, Stream, Timeouts, no_perm};
use crate::addr::Addr;
use crate::error::{Error, Result};

/// The largest reply kept while waiting for the rest of it; a bigger one is a protocol error.
const MAX_REPLY: usize = 64 * 1024;

/// An authenticated stream that sends RESP frames and reads their replies one at a time.
pub struct RawCon {
    io: Stream,
    /// Bytes received and not yet decoded.
    buf: Vec<u8>,
}

impl RawCon {
    /// Sends `frame` (a whole RESP command) and reads its reply, all within `timeout`.
    /// A timeout, a closed stream or bytes that are not RESP are errors (kinds `TimedOut`,
    /// `UnexpectedEof`, `InvalidData`): the stream is then out of step and must be dropped.
    pub async fn request(&mut self, frame: &[u8], timeout: Duration) -> io::Result<Frame> {
        match tokio::time::timeout(timeout, self.exchange(frame)).await {
            Ok(r) => r,
            Err(_) => Err(io::ErrorKind::TimedOut.into()),
        }
    }

    async fn exchange(&mut self, frame: &[u8]) -> io::Result<Frame> {
        self.io.write_all(frame).await?;
        self.io.flush().await?;
        loop {
            if let Some((reply, used)) = decode(&self.buf).map_err(io::Error::other)? {
                self.buf.drain(..used);
                return Ok(reply);
            }
            if self.buf.len() >= MAX_REPLY {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a reply over {MAX_REPLY} bytes"),
                ));
            }
            self.buf.reserve(4096);
            if self.io.read_buf(&mut self.buf).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }
}

impl Conn {
    /// A raw command connection to `addr`, authenticated with `role`'s credentials (`AUTH
    /// [user] password` when a password is set). The whole handshake is bounded by
    /// `t.connect + t.response`.
    pub async fn raw(&self, role: Role, addr: &Addr, t: Timeouts) -> Result<RawCon> {
        let stream = self.stream(role, addr, t.connect).await?;
        let mut con = RawCon {
            io: stream,
            buf: Vec::with_capacity(4096),
        };
        let Some(auth) = self.auth_command(role) else {
            return Ok(con);
        };
        let reply = con
            .request(&auth.get_packed_command(), t.response)
            .await
            .map_err(|e| Error::Connect {
                addr: addr.clone(),
                source: e.into(),
            })?;
        match reply {
            Frame::SimpleString(_) => Ok(con),
            Frame::Error(e) if e.starts_with("NOPERM") => Err(no_perm(self.user(role), addr, &e)),
            Frame::Error(e) => Err(self.auth_failed(role, addr, &crate::error::one_line(&e))),
            other => Err(self.auth_failed(role, addr, &format!("unexpected reply {other:?}"))),
        }
    }
}
