//! Pure: what an AOF holds — commands by type, keys touched, the last complete command, and
//! a torn tail — accumulated file by file over readers the caller opens.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read};

use serde::Serialize;

use crate::aof::resp::{Reader, Stop, render};
use crate::rdb::{self, Options};

/// Commands without a key argument.
const KEYLESS: &[&str] = &[
    "MULTI", "EXEC", "DISCARD", "SELECT", "PING", "FLUSHALL", "FLUSHDB", "SWAPDB", "SCRIPT",
    "FUNCTION", "PUBLISH", "SPUBLISH",
];

/// One file of the AOF, as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// Its name.
    pub file: String,
    /// `rdb` (a base that is an RDB) or `resp`.
    pub format: String,
    /// Bytes read.
    pub bytes: u64,
    /// Commands read (a RESP file).
    pub commands: u64,
    /// Keys in it (an RDB base).
    pub rdb_keys: Option<u64>,
    /// Where reading stopped early, and why.
    pub problem: Option<String>,
}

/// The last complete command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Last {
    /// The file it is in.
    pub file: String,
    /// Offset just after it: cutting the file here keeps every complete command.
    pub end: u64,
    /// The command, abbreviated.
    pub command: String,
}

/// A torn tail: the input ended inside a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Torn {
    /// The file.
    pub file: String,
    /// Where the incomplete command starts (the offset to cut at).
    pub offset: u64,
    /// Bytes from there to the end of the file.
    pub bytes: u64,
    /// What was being read when the input ended.
    pub reading: String,
    /// Whether it is in the last file Redis loads (else the AOF is damaged, not just torn).
    pub in_last_file: bool,
}

/// What `aof inspect` reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Every file read, in load order.
    pub files: Vec<FileReport>,
    /// Commands read, over every RESP file.
    pub commands: u64,
    /// Commands per name (upper case).
    pub by_type: BTreeMap<String, u64>,
    /// Distinct keys the commands name (the first argument, or every key of DEL, UNLINK,
    /// EXISTS, MSET, MSETNX), plus the keys of an RDB base.
    pub keys_touched: u64,
    /// The last complete command.
    pub last_complete: Option<Last>,
    /// A torn tail, if the input ended inside a command.
    pub torn: Option<Torn>,
    /// Bytes that are not RESP (damage, not a torn tail).
    pub bad: Option<String>,
}

/// Accumulates the files of one AOF.
#[derive(Default)]
pub struct Inspector {
    report: Report,
    keys: HashSet<Vec<u8>>,
    rdb_keys: u64,
}

impl Inspector {
    /// A fresh inspector.
    pub fn new() -> Self {
        Inspector::default()
    }

    /// Reads one file (`last` when it is the last one Redis loads). An RDB (it starts with
    /// `REDIS`) is walked by the RDB verifier, with any RESP after it (an RDB preamble).
    pub fn file(&mut self, name: &str, input: impl Read, last: bool, now_ms: u64) {
        let mut input = BufReader::with_capacity(1 << 16, input);
        let is_rdb = input
            .fill_buf()
            .map(|b| b.starts_with(b"REDIS"))
            .unwrap_or(false);
        let mut fr = FileReport {
            file: name.to_string(),
            format: if is_rdb { "rdb" } else { "resp" }.into(),
            bytes: 0,
            commands: 0,
            rdb_keys: None,
            problem: None,
        };
        if is_rdb {
            let opts = Options {
                pattern: "*".into(),
                now_ms,
            };
            let s = rdb::verify(&mut input, &opts);
            fr.rdb_keys = Some(s.keys);
            self.rdb_keys += s.keys;
            if let Some(p) = &s.problem {
                fr.problem = Some(format!("RDB: {p}"));
                self.report
                    .bad
                    .get_or_insert_with(|| format!("{name}: RDB: {p}"));
                fr.bytes = s.bytes;
                self.report.files.push(fr);
                return;
            }
            // the verifier may have read ahead past the RDB's end: nothing follows a base
            // RDB in a multi-part AOF, and an old single-file AOF's preamble is rare here
            if s.trailing_bytes > 0 {
                fr.problem = Some(format!("{} bytes after the RDB not read", s.trailing_bytes));
            }
            fr.bytes = s.bytes;
            self.report.files.push(fr);
            return;
        }
        let mut r = Reader::new(input, 0);
        loop {
            match r.next() {
                Ok(Some(c)) => {
                    fr.commands += 1;
                    self.command(name, c.end, &c.args);
                }
                Ok(None) => break,
                Err(Stop::Torn { start, reading }) => {
                    let end = r.offset();
                    fr.problem = Some(format!("torn command at offset {start}"));
                    self.report.torn.get_or_insert(Torn {
                        file: name.to_string(),
                        offset: start,
                        bytes: end - start,
                        reading,
                        in_last_file: last,
                    });
                    break;
                }
                Err(e) => {
                    fr.problem = Some(e.to_string());
                    self.report
                        .bad
                        .get_or_insert_with(|| format!("{name}: {e}"));
                    break;
                }
            }
        }
        fr.bytes = r.offset();
        self.report.files.push(fr);
    }

    fn command(&mut self, file: &str, end: u64, args: &[Vec<u8>]) {
        self.report.commands += 1;
        let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
        let keys: Vec<&Vec<u8>> = match name.as_str() {
            n if KEYLESS.contains(&n) => Vec::new(),
            "DEL" | "UNLINK" | "EXISTS" => args[1..].iter().collect(),
            "MSET" | "MSETNX" => args[1..].iter().step_by(2).collect(),
            _ => args.get(1).into_iter().collect(),
        };
        for k in keys {
            if !self.keys.contains(k) {
                self.keys.insert(k.clone());
            }
        }
        *self.report.by_type.entry(name).or_default() += 1;
        self.report.last_complete = Some(Last {
            file: file.to_string(),
            end,
            command: render(args),
        });
    }

    /// The report.
    pub fn finish(mut self) -> Report {
        self.report.keys_touched = self.keys.len() as u64 + self.rdb_keys;
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_types_keys_and_finds_the_torn_tail() {
        let incr = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n\
                     *3\r\n$3\r\nDEL\r\n$1\r\na\r\n$1\r\nb\r\n*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$5\r\nhel";
        let mut i = Inspector::new();
        i.file("a.1.incr.aof", &incr[..], true, 0);
        let r = i.finish();
        assert_eq!(r.commands, 3);
        assert_eq!(r.by_type.get("SET"), Some(&1));
        assert_eq!(r.keys_touched, 2); // a, b (c's SET is torn)
        let last = r.last_complete.expect("last");
        assert_eq!(last.command, "DEL a b");
        let torn = r.torn.expect("torn");
        assert_eq!(torn.offset, last.end);
        assert!(torn.in_last_file);
        assert_eq!(torn.offset + torn.bytes, incr.len() as u64);
        assert_eq!(r.bad, None);
    }
}
