//! The writer's own connection to the primary: `SET key value EX ttl` framed as RESP into one
//! reused buffer (the key's digits written straight into it) and sent on a [`RawCon`], one
//! request in flight, so a write costs one task's write and read and no channel hop.

use std::time::Duration;

use crate::addr::Addr;
use crate::conn::raw::{Frame, RawCon};
use crate::conn::{Conn, Role, Timeouts};
use crate::error::Result;

/// How a `SET` ended when it did not get `+OK`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SetError {
    /// The server answered with an error; this is its code (`READONLY`, `OOM`, `ERR`…).
    Refused(String),
    /// No usable reply (timeout, closed or broken stream, a reply that is not `+OK` or an
    /// error): the write may or may not have landed.
    NoReply,
}

/// A connection that writes session keys.
pub(crate) struct SetCon {
    raw: RawCon,
    frame: Vec<u8>,
    timeout: Duration,
}

impl SetCon {
    /// Connects to the data node `node` with `conn`'s credentials; each step and each later
    /// request is bounded by `timeout`.
    pub(crate) async fn connect(conn: &Conn, node: &Addr, timeout: Duration) -> Result<SetCon> {
        let t = Timeouts {
            connect: timeout,
            response: timeout,
        };
        Ok(SetCon {
            raw: conn.raw(Role::Node, node, t).await?,
            frame: Vec::with_capacity(256),
            timeout,
        })
    }

    /// Whether the node's `ROLE` is master; `None` when it did not answer.
    pub(crate) async fn is_master(&mut self) -> Option<bool> {
        let role = self
            .raw
            .request(b"*1\r\n$4\r\nROLE\r\n", self.timeout)
            .await
            .ok()?;
        Some(is_master_role(&role))
    }

    /// `SET <prefix>:<seq> <value> EX <ttl_s>`.
    pub(crate) async fn set(
        &mut self,
        prefix: &str,
        seq: u32,
        value: &[u8],
        ttl_s: u64,
    ) -> std::result::Result<(), SetError> {
        set_frame(&mut self.frame, prefix, seq, value, ttl_s);
        match self.raw.request(&self.frame, self.timeout).await {
            Ok(reply) => set_outcome(&reply),
            Err(_) => Err(SetError::NoReply),
        }
    }
}

/// Writes `SET <prefix>:<seq> <value> EX <ttl_s>` as a RESP array into `out`, replacing what
/// it held.
pub(crate) fn set_frame(out: &mut Vec<u8>, prefix: &str, seq: u32, value: &[u8], ttl_s: u64) {
    let mut digits = itoa::Buffer::new();
    let seq = digits.format(seq).as_bytes();
    let mut ttl = itoa::Buffer::new();
    let ttl = ttl.format(ttl_s).as_bytes();
    out.clear();
    out.extend_from_slice(b"*5\r\n$3\r\nSET\r\n");
    bulk_header(out, prefix.len() + 1 + seq.len());
    out.extend_from_slice(prefix.as_bytes());
    out.push(b':');
    out.extend_from_slice(seq);
    out.extend_from_slice(b"\r\n");
    bulk_header(out, value.len());
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n$2\r\nEX\r\n");
    bulk_header(out, ttl.len());
    out.extend_from_slice(ttl);
    out.extend_from_slice(b"\r\n");
}

fn bulk_header(out: &mut Vec<u8>, len: usize) {
    out.push(b'$');
    out.extend_from_slice(itoa::Buffer::new().format(len).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// What a `SET` reply means: `+OK`, a refusal with the error's code (its first word, as the
/// redis crate reads it), or anything else, which is a broken exchange.
pub(crate) fn set_outcome(reply: &Frame) -> std::result::Result<(), SetError> {
    match reply {
        Frame::SimpleString(s) if s == b"OK" => Ok(()),
        Frame::Error(e) => {
            let code = e.split_whitespace().next().unwrap_or("ERR");
            Err(SetError::Refused(code.to_string()))
        }
        _ => Err(SetError::NoReply),
    }
}

/// Whether a `ROLE` reply names a master.
fn is_master_role(reply: &Frame) -> bool {
    matches!(reply, Frame::Array(items)
        if matches!(items.first(), Some(Frame::BulkString(b)) if b == b"master"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_frames_match_the_redis_crates_packing() {
        let mut buf = Vec::new();
        for (prefix, seq, value, ttl) in [
            ("session:abc", 0u32, &b"v"[..], 1u64),
            (
                "session:bench",
                4_294_967_295,
                &[0u8, 13, 10, 255][..],
                3600,
            ),
            ("s", 123_456, &[7u8; 512][..], 86_400),
            ("", 9, &b""[..], 10),
        ] {
            set_frame(&mut buf, prefix, seq, value, ttl);
            let want = redis::cmd("SET")
                .arg(format!("{prefix}:{seq}"))
                .arg(value)
                .arg("EX")
                .arg(ttl)
                .get_packed_command();
            assert_eq!(buf, want, "{prefix}:{seq}");
        }
    }

    fn reply(bytes: &[u8]) -> Frame {
        let (frame, used) = redis_protocol::resp2::decode::decode(bytes)
            .unwrap()
            .unwrap();
        assert_eq!(used, bytes.len());
        frame
    }

    #[test]
    fn set_replies_are_ok_refusals_or_broken() {
        assert_eq!(set_outcome(&reply(b"+OK\r\n")), Ok(()));
        for (bytes, code) in [
            (
                &b"-READONLY You can't write against a read only replica.\r\n"[..],
                "READONLY",
            ),
            (b"-MASTERDOWN Link with MASTER is down\r\n", "MASTERDOWN"),
            (
                b"-LOADING Redis is loading the dataset in memory\r\n",
                "LOADING",
            ),
            (
                b"-OOM command not allowed when used memory > 'maxmemory'.\r\n",
                "OOM",
            ),
            (b"-ERR\r\n", "ERR"),
            (b"-\r\n", "ERR"),
        ] {
            assert_eq!(
                set_outcome(&reply(bytes)),
                Err(SetError::Refused(code.into()))
            );
        }
        for bytes in [&b"+QUEUED\r\n"[..], b"$-1\r\n", b":1\r\n", b"$2\r\nOK\r\n"] {
            assert_eq!(set_outcome(&reply(bytes)), Err(SetError::NoReply));
        }
    }

    #[test]
    fn role_replies_name_masters() {
        assert!(is_master_role(&reply(
            b"*3\r\n$6\r\nmaster\r\n:3129659\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n$4\r\n9001\r\n$7\r\n3129242\r\n"
        )));
        assert!(!is_master_role(&reply(
            b"*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:9000\r\n$9\r\nconnected\r\n:3167038\r\n"
        )));
        assert!(!is_master_role(&reply(b"-NOPERM no\r\n")));
        assert!(!is_master_role(&reply(b"*0\r\n")));
    }
}
