//! Pure: a streaming reader of the RESP commands an AOF holds (`*<n>\r\n` then `n` ×
//! `$<len>\r\n<bytes>\r\n`), with the byte offset where each command starts and ends, and
//! `#…\r\n` annotations (`aof-timestamp-enabled`) skipped. End of input inside a command is a
//! *torn* tail (what `aof-load-truncated` cuts); anything else unexpected is a bad byte.

use std::io::{BufRead, Read};

/// Bulk lengths above Redis's default `proto-max-bulk-len` (512 MB) are refused.
const MAX_BULK: u64 = 512 << 20;

/// One command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Command {
    /// Offset of its `*`.
    pub start: u64,
    /// Offset just after its last `\r\n`.
    pub end: u64,
    /// Its arguments, the name first.
    pub args: Vec<Vec<u8>>,
}

/// Why reading stopped before the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The input ended inside the command that starts at `start`.
    Torn {
        /// Where the incomplete command starts: cut here to keep every complete one.
        start: u64,
        /// What was being read.
        reading: String,
    },
    /// A byte that is not RESP at `at`.
    Bad {
        /// Offset of the problem.
        at: u64,
        /// What was expected.
        message: String,
    },
    /// The underlying reader failed.
    Io(String),
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Torn { start, reading } => {
                write!(
                    f,
                    "torn command at offset {start} (input ended in {reading})"
                )
            }
            Stop::Bad { at, message } => write!(f, "bad AOF at offset {at}: {message}"),
            Stop::Io(e) => write!(f, "read error: {e}"),
        }
    }
}

/// Reads commands one by one.
pub(crate) struct Reader<R> {
    inner: R,
    offset: u64,
}

impl<R: BufRead> Reader<R> {
    /// Reads from `inner`, whose first byte is at offset `start`.
    pub(crate) fn new(inner: R, start: u64) -> Self {
        Reader {
            inner,
            offset: start,
        }
    }

    /// The offset after everything read so far.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// The next command, `Ok(None)` at a clean end of input.
    #[allow(clippy::should_implement_trait)]
    pub(crate) fn next(&mut self) -> Result<Option<Command>, Stop> {
        loop {
            let start = self.offset;
            let Some(line) = self.line(start, "the command header", true)? else {
                return Ok(None);
            };
            match line.first() {
                Some(b'#') => continue,
                Some(b'*') => {}
                _ => {
                    return Err(Stop::Bad {
                        at: start,
                        message: format!("expected '*', found {:?}", preview(&line)),
                    });
                }
            }
            let n = number(&line[1..]).ok_or_else(|| Stop::Bad {
                at: start,
                message: format!("bad argument count {:?}", preview(&line)),
            })?;
            if n < 1 {
                return Err(Stop::Bad {
                    at: start,
                    message: "a command with no arguments".into(),
                });
            }
            let mut args = Vec::with_capacity(n.min(1024) as usize);
            for i in 0..n {
                let at = self.offset;
                let what = format!("argument {} of {n}", i + 1);
                let line = self.line(start, &what, false)?.unwrap_or_default();
                let len = match (line.first(), number(line.get(1..).unwrap_or(&[]))) {
                    (Some(b'$'), Some(l)) if l <= MAX_BULK => l,
                    _ => {
                        return Err(Stop::Bad {
                            at,
                            message: format!("expected a bulk length, found {:?}", preview(&line)),
                        });
                    }
                };
                let mut buf = Vec::new();
                let got = (&mut self.inner)
                    .take(len + 2)
                    .read_to_end(&mut buf)
                    .map_err(|e| Stop::Io(e.to_string()))?;
                self.offset += got as u64;
                if (got as u64) < len + 2 {
                    return Err(Stop::Torn {
                        start,
                        reading: what,
                    });
                }
                if !buf.ends_with(b"\r\n") {
                    return Err(Stop::Bad {
                        at: self.offset - 2,
                        message: "a bulk string not followed by \\r\\n".into(),
                    });
                }
                buf.truncate(len as usize);
                args.push(buf);
            }
            return Ok(Some(Command {
                start,
                end: self.offset,
                args,
            }));
        }
    }

    /// A `\r\n`-terminated line without its terminator; `None` at a clean end when
    /// `may_end` (no byte of a command read yet).
    fn line(&mut self, start: u64, what: &str, may_end: bool) -> Result<Option<Vec<u8>>, Stop> {
        let mut line = Vec::new();
        let got = (&mut self.inner)
            .take(64 * 1024)
            .read_until(b'\n', &mut line)
            .map_err(|e| Stop::Io(e.to_string()))?;
        self.offset += got as u64;
        if got == 0 && may_end {
            return Ok(None);
        }
        if !line.ends_with(b"\n") {
            if got >= 64 * 1024 {
                return Err(Stop::Bad {
                    at: self.offset - got as u64,
                    message: "a header line longer than 64 KiB".into(),
                });
            }
            return Err(Stop::Torn {
                start,
                reading: what.to_string(),
            });
        }
        if !line.ends_with(b"\r\n") {
            return Err(Stop::Bad {
                at: self.offset - 1,
                message: "a line ending in \\n without \\r".into(),
            });
        }
        line.truncate(line.len() - 2);
        Ok(Some(line))
    }
}

fn number(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

fn preview(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(32)]).into_owned()
}

/// A command as text, for reports: at most 6 arguments of at most 40 bytes each.
pub(crate) fn render(args: &[Vec<u8>]) -> String {
    let mut s: Vec<String> = args
        .iter()
        .take(6)
        .map(|a| {
            let t = String::from_utf8_lossy(&a[..a.len().min(40)]).into_owned();
            if a.len() > 40 { format!("{t}…") } else { t }
        })
        .collect();
    if args.len() > 6 {
        s.push(format!("… ({} arguments)", args.len()));
    }
    s.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8]) -> (Vec<Command>, Option<Stop>) {
        let mut r = Reader::new(input, 0);
        let mut out = Vec::new();
        loop {
            match r.next() {
                Ok(Some(c)) => out.push(c),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn commands_with_offsets() {
        let aof = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n#TS:1700000000\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nvv\r\n";
        let (cmds, stop) = all(aof);
        assert_eq!(stop, None);
        assert_eq!(cmds.len(), 2);
        assert_eq!(cmds[0].start, 0);
        assert_eq!(cmds[0].end, 23);
        assert_eq!(cmds[1].start, 39);
        assert_eq!(cmds[1].end, aof.len() as u64);
        assert_eq!(render(&cmds[1].args), "SET k vv");
    }

    #[test]
    fn every_cut_inside_a_command_is_torn_at_its_start() {
        let aof = b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nvv\r\n";
        let second = 15;
        for cut in 0..aof.len() {
            let (cmds, stop) = all(&aof[..cut]);
            if cut == 0 || cut == second {
                assert_eq!(stop, None, "cut {cut}");
                continue;
            }
            let want = if cut < second { 0 } else { second as u64 };
            match stop {
                Some(Stop::Torn { start, .. }) => assert_eq!(start, want, "cut {cut}"),
                other => panic!("cut {cut}: {other:?}"),
            }
            assert_eq!(cmds.len(), usize::from(cut > second), "cut {cut}");
        }
    }

    #[test]
    fn bad_bytes_are_named() {
        for (input, want) in [
            (&b"SET k v\r\n"[..], "expected '*'"),
            (b"*x\r\n", "bad argument count"),
            (b"*1\r\n+OK\r\n", "expected a bulk length"),
            (b"*1\r\n$2\r\nabcd\r\n", "not followed by"),
            (b"*1\n", "without \\r"),
            (b"*0\r\n", "no arguments"),
            (b"*1\r\n$999999999999\r\n", "expected a bulk length"),
        ] {
            let (_, stop) = all(input);
            let s = stop.map(|s| s.to_string()).unwrap_or_default();
            assert!(s.contains(want), "{input:?}: {s}");
        }
    }
}
