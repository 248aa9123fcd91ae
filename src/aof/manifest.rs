//! Pure: the manifest of a Redis 7 multi-part AOF directory (`appendonly.aof.manifest`):
//! one line per file, `file <name> seq <n> type <b|h|i>` (keys in any order, values quoted
//! like `sdssplitargs` reads them), `#` comments. Redis loads the base (`b`), then the incr
//! files (`i`) in manifest order; history files (`h`) are waiting for deletion and not
//! loaded (`src/aof.c`, `aofLoadManifestFromFile`).

use serde::Serialize;

/// What a file is to Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The base: an RDB (`.base.rdb`) or a RESP AOF (`.base.aof`).
    Base,
    /// Replaced by a rewrite, awaiting deletion; not loaded.
    History,
    /// Commands after the base, loaded in order.
    Incr,
}

/// One line of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The file name, relative to the AOF directory.
    pub file: String,
    /// Its sequence number.
    pub seq: u64,
    /// Base, history or incr.
    pub kind: Kind,
}

/// Parses a manifest; the error names the line.
pub fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words = split_args(line).ok_or_else(|| format!("line {}: unbalanced quotes", i + 1))?;
        if words.len() % 2 != 0 {
            return Err(format!("line {}: expected key value pairs", i + 1));
        }
        let (mut file, mut seq, mut kind) = (None, None, None);
        for kv in words.chunks(2) {
            match kv[0].as_str() {
                "file" => file = Some(kv[1].clone()),
                "seq" => seq = kv[1].parse::<u64>().ok(),
                "type" => {
                    kind = match kv[1].as_str() {
                        "b" => Some(Kind::Base),
                        "h" => Some(Kind::History),
                        "i" => Some(Kind::Incr),
                        _ => None,
                    }
                }
                _ => {} // unknown keys are skipped, as Redis does
            }
        }
        match (file, seq, kind) {
            (Some(file), Some(seq), Some(kind)) if !file.contains('/') => {
                out.push(Entry { file, seq, kind })
            }
            _ => {
                return Err(format!(
                    "line {}: needs file, seq and type (b, h or i)",
                    i + 1
                ));
            }
        }
    }
    if out.iter().filter(|e| e.kind == Kind::Base).count() > 1 {
        return Err("more than one base file".into());
    }
    if out.is_empty() {
        return Err("no file listed".into());
    }
    Ok(out)
}

/// The files Redis loads, in order: the base, then the incr files.
pub(crate) fn loaded(entries: &[Entry]) -> Vec<&Entry> {
    let base = entries.iter().filter(|e| e.kind == Kind::Base);
    let incr = entries.iter().filter(|e| e.kind == Kind::Incr);
    base.chain(incr).collect()
}

/// Splits a line into words: whitespace-separated, `"…"` with `\` escapes, `'…'` literal.
fn split_args(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Some(out);
        };
        let mut w = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            loop {
                match chars.next()? {
                    '\\' if first == '"' => w.push(chars.next()?),
                    c if c == first => break,
                    c => w.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                w.push(c);
                chars.next();
            }
        }
        out.push(w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_parse_like_redis_writes_them() {
        let text = "file appendonly.aof.2.base.rdb seq 2 type b\n\
                    file appendonly.aof.1.incr.aof seq 1 type h\n\
                    file \"my file.3.incr.aof\" type i seq 3\n\
                    # comment\n";
        let e = parse(text).expect("valid");
        assert_eq!(e.len(), 3);
        assert_eq!(e[2].file, "my file.3.incr.aof");
        let names: Vec<&str> = loaded(&e).iter().map(|e| e.file.as_str()).collect();
        assert_eq!(names, ["appendonly.aof.2.base.rdb", "my file.3.incr.aof"]);
    }

    #[test]
    fn bad_manifests_name_the_line() {
        for (text, want) in [
            ("file a seq 1\n", "line 1: needs file, seq and type"),
            ("file a seq x type b\n", "line 1: needs"),
            ("file \"a seq 1 type b\n", "line 1: unbalanced"),
            (
                "file a seq 1 type b\nfile c seq 2 type b\n",
                "more than one base",
            ),
            ("file ../x seq 1 type i\n", "line 1: needs"),
            ("", "no file listed"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
