//! Pure: the line protocol an external workload speaks on its stdout, one line per write
//! outcome:
//!
//! ```text
//! <key> <outcome> <node> [<monotonic_ns>]
//! session:1a2b3c4d-1:17 ok 127.0.0.1:6379 5120334455123
//! session:1a2b3c4d-1:18 READONLY 127.0.0.1:6379 5120334991020
//! session:1a2b3c4d-1:19 timeout - 5120339991020
//! ```
//!
//! - `key`: `<prefix>:<seq>`, the prefix warden gave (`WARDEN_KEY_PREFIX`), `seq` a number
//!   below 2³² that the client does not reuse;
//! - `outcome`: `ok` (acknowledged), `timeout` or `unknown` (no reply: the write may or may
//!   not have landed), or an error kind (`READONLY`, `MASTERDOWN`, `CONNECTION`…: refused or
//!   never sent);
//! - `node`: the `host:port` that answered, or `-` when the client cannot tell;
//! - `monotonic_ns`: optional, the client's `CLOCK_MONOTONIC` when the write ended
//!   (Python's `time.monotonic_ns()`); without it warden times the line by its arrival.
//!
//! Blank lines and lines starting with `#` are ignored.

use crate::addr::Addr;

/// How a write ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Acknowledged.
    Ok,
    /// No reply: the outcome is unknown.
    Unknown,
    /// Refused or never sent, with its error kind.
    Failed(String),
}

/// One write outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// The key's sequence number.
    pub seq: u32,
    /// How it ended.
    pub outcome: Outcome,
    /// The node that answered, when the client knows.
    pub node: Option<Addr>,
    /// The client's `CLOCK_MONOTONIC`, ns, when given.
    pub monotonic_ns: Option<u64>,
}

/// The form of a line, for error messages.
pub(crate) const FORM: &str = "<key> <outcome> <node|-> [<monotonic_ns>]";

/// Parses one line of a client whose keys start with `prefix:`; `Ok(None)` for a blank line or
/// a comment; the error says what is wrong.
pub(crate) fn parse(line: &str, prefix: &str) -> Result<Option<Line>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    let [key, outcome, node, rest @ ..] = fields.as_slice() else {
        return Err(format!("{} field(s), expected 3 or 4", fields.len()));
    };
    let seq = key
        .strip_prefix(prefix)
        .and_then(|k| k.strip_prefix(':'))
        .ok_or_else(|| format!("key `{key}` does not start with `{prefix}:`"))?;
    let seq = seq
        .parse::<u32>()
        .map_err(|_| format!("key `{key}` does not end in a number below 2^32"))?;
    let outcome = match *outcome {
        "ok" => Outcome::Ok,
        "timeout" | "unknown" => Outcome::Unknown,
        kind if is_error_kind(kind) => Outcome::Failed(kind.to_string()),
        other => {
            return Err(format!(
                "outcome `{other}` is not ok, timeout, unknown or an error kind (READONLY)"
            ));
        }
    };
    let node = match *node {
        "-" => None,
        n => Some(n.parse::<Addr>().map_err(|e| format!("node `{n}`: {e}"))?),
    };
    let monotonic_ns = match rest {
        [] => None,
        [ns] => Some(
            ns.parse::<u64>()
                .map_err(|_| format!("`{ns}` is not a time in ns"))?,
        ),
        _ => return Err(format!("{} fields, expected 3 or 4", fields.len())),
    };
    Ok(Some(Line {
        seq,
        outcome,
        node,
        monotonic_ns,
    }))
}

/// An error kind: upper-case letters, digits, `_` and `-`, starting with a letter.
fn is_error_kind(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_uppercase())
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// A client's `CLOCK_MONOTONIC` reading as µs since the history's epoch (warden's own
/// `CLOCK_MONOTONIC` at the epoch, `epoch_ns`); a reading before the epoch counts as 0.
pub(crate) fn since_epoch_us(monotonic_ns: u64, epoch_ns: u64) -> u32 {
    u32::try_from(monotonic_ns.saturating_sub(epoch_ns) / 1000).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "session:ab-1";

    #[test]
    fn lines_are_parsed() {
        let ok = parse("session:ab-1:17 ok 127.0.0.1:6379 5000\n", P).unwrap();
        assert_eq!(
            ok,
            Some(Line {
                seq: 17,
                outcome: Outcome::Ok,
                node: Some(Addr::local(6379)),
                monotonic_ns: Some(5000),
            })
        );
        let ro = parse("session:ab-1:18  READONLY  127.0.0.1:6380", P)
            .unwrap()
            .unwrap();
        assert_eq!(ro.outcome, Outcome::Failed("READONLY".into()));
        assert_eq!(ro.monotonic_ns, None);
        let t = parse("session:ab-1:19 timeout -", P).unwrap().unwrap();
        assert_eq!((t.outcome, t.node), (Outcome::Unknown, None));
        assert_eq!(parse("", P), Ok(None));
        assert_eq!(parse("  # a comment", P), Ok(None));
    }

    #[test]
    fn garbage_is_named() {
        let cases = [
            ("hello world", "2 field(s), expected 3 or 4"),
            (
                "other:1 ok -",
                "key `other:1` does not start with `session:ab-1:`",
            ),
            (
                "session:ab-10 ok -",
                "key `session:ab-10` does not start with `session:ab-1:`",
            ),
            (
                "session:ab-1:x ok -",
                "key `session:ab-1:x` does not end in a number below 2^32",
            ),
            (
                "session:ab-1:1 fine -",
                "outcome `fine` is not ok, timeout, unknown or an error kind (READONLY)",
            ),
            (
                "session:ab-1:1 ok nope",
                "node `nope`: address \"nope\" has no `:port`",
            ),
            ("session:ab-1:1 ok - 12ms", "`12ms` is not a time in ns"),
            ("session:ab-1:1 ok - 1 2", "5 fields, expected 3 or 4"),
        ];
        for (line, want) in cases {
            assert_eq!(parse(line, P), Err(want.to_string()), "{line}");
        }
    }

    #[test]
    fn client_clock_readings_map_onto_the_epoch() {
        assert_eq!(since_epoch_us(5_000_000, 1_000_000), 4000);
        assert_eq!(since_epoch_us(999, 1_000_000), 0);
        assert_eq!(since_epoch_us(u64::MAX, 0), u32::MAX);
    }
}
