//! Pure: an object's ETag recomputed from the bytes downloaded, as S3 computes it — the MD5
//! of a single-part upload, or the MD5 of its parts' MD5s followed by `-N` for a multipart
//! upload of N parts — so that `backups verify --all` can tell the store's own record of
//! what it received from what came back. ETags of another form (Google Cloud Storage's, an
//! S3 object encrypted with SSE-KMS, whose ETag is no MD5) are not checked, and say so.

use md5::{Digest, Md5};

use crate::backup::tee::hex;

/// The ETag's verdict on the downloaded bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The recomputed ETag equals the store's.
    Match(String),
    /// They differ: the bytes are not those the store received.
    Mismatch {
        /// The store's ETag (without quotes).
        store: String,
        /// The one recomputed from the downloaded bytes.
        computed: String,
    },
    /// Not checkable, and why.
    Unchecked(String),
}

/// What a store's ETag is, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expected {
    /// 32 hex digits: the MD5 of the bytes.
    Md5(String),
    /// 32 hex digits, `-`, the part count.
    Multipart(String, u64),
}

fn parse(etag: &str) -> Option<Expected> {
    let t = etag.trim().trim_start_matches("W/").trim_matches('"');
    let (digest, parts) = match t.split_once('-') {
        Some((d, n)) => (d, Some(n.parse::<u64>().ok().filter(|&n| n > 0)?)),
        None => (t, None),
    };
    if digest.len() != 32 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let digest = digest.to_ascii_lowercase();
    Some(match parts {
        None => Expected::Md5(digest),
        Some(n) => Expected::Multipart(digest, n),
    })
}

/// Recomputes an object's ETag while its bytes stream past.
pub(crate) struct Hasher {
    /// The store's ETag and, for a multipart one, the part size assumed.
    expected: Result<(Expected, Option<u64>), String>,
    /// The current part's (or the whole object's) MD5.
    cur: Md5,
    in_part: u64,
    /// MD5 over the finished parts' MD5s.
    parts_md5: Md5,
    parts: u64,
}

impl Hasher {
    /// For an object of `size` bytes whose store lists ETag `etag` (`None`: the store gave
    /// none); `part` is the part size warden uploads with. A multipart ETag of N parts is
    /// recomputed with `part` when that gives N parts, else with the smallest whole MiB that
    /// does (an object another tool uploaded).
    pub(crate) fn new(etag: Option<&str>, size: u64, part: u64) -> Hasher {
        let expected = match etag.map(|e| (e, parse(e))) {
            None => Err("the store gives no ETag".to_string()),
            Some((e, None)) => Err(format!("ETag {e} is not an MD5 (not checked)")),
            Some((_, Some(Expected::Multipart(d, n)))) => match part_size(size, n, part) {
                Some(p) => Ok((Expected::Multipart(d, n), Some(p))),
                None => Err(format!(
                    "no part size splits {size} bytes into {n} parts (ETag not checked)"
                )),
            },
            Some((_, Some(md5))) => Ok((md5, None)),
        };
        Hasher {
            expected,
            cur: Md5::new(),
            in_part: 0,
            parts_md5: Md5::new(),
            parts: 0,
        }
    }

    /// Feeds the next downloaded bytes.
    pub(crate) fn update(&mut self, mut bytes: &[u8]) {
        let part = match &self.expected {
            Ok((_, Some(p))) => *p,
            Ok((_, None)) => {
                self.cur.update(bytes);
                return;
            }
            Err(_) => return,
        };
        while !bytes.is_empty() {
            let take = (part - self.in_part).min(bytes.len() as u64) as usize;
            self.cur.update(&bytes[..take]);
            self.in_part += take as u64;
            bytes = &bytes[take..];
            if self.in_part == part {
                self.end_part();
            }
        }
    }

    fn end_part(&mut self) {
        let d = std::mem::take(&mut self.cur).finalize();
        self.parts_md5.update(d);
        self.parts += 1;
        self.in_part = 0;
    }

    /// The verdict, once every byte went through [`Hasher::update`].
    pub(crate) fn finish(mut self) -> Outcome {
        let (store, computed) = match std::mem::replace(&mut self.expected, Err(String::new())) {
            Err(why) => return Outcome::Unchecked(why),
            Ok((Expected::Md5(d), _)) => (d, hex(&self.cur.finalize())),
            Ok((Expected::Multipart(d, n), _)) => {
                if self.in_part > 0 || self.parts == 0 {
                    self.end_part();
                }
                let computed = format!("{}-{}", hex(&self.parts_md5.finalize()), self.parts);
                (format!("{d}-{n}"), computed)
            }
        };
        if store == computed {
            Outcome::Match(store)
        } else {
            Outcome::Mismatch { store, computed }
        }
    }
}

/// The part size that splits `size` bytes into `parts` parts: `ours` if it does, else the
/// smallest whole MiB that does.
fn part_size(size: u64, parts: u64, ours: u64) -> Option<u64> {
    let count = |p: u64| size.div_ceil(p).max(1);
    if ours > 0 && count(ours) == parts {
        return Some(ours);
    }
    const MIB: u64 = 1 << 20;
    let guess = size.div_ceil(parts).div_ceil(MIB).max(1) * MIB;
    (count(guess) == parts).then_some(guess)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md5_hex(b: &[u8]) -> String {
        hex(&Md5::digest(b))
    }

    fn run(etag: &str, data: &[u8], part: u64, chunk: usize) -> Outcome {
        let mut h = Hasher::new(Some(etag), data.len() as u64, part);
        for c in data.chunks(chunk.max(1)) {
            h.update(c);
        }
        h.finish()
    }

    #[test]
    fn single_part_etag_is_the_md5() {
        // RFC 1321's test vector
        let e = "\"900150983cd24fb0d6963f7d28e17f72\"";
        assert_eq!(
            run(e, b"abc", 8, 1),
            Outcome::Match("900150983cd24fb0d6963f7d28e17f72".into())
        );
        assert!(matches!(run(e, b"abd", 8, 2), Outcome::Mismatch { .. }));
    }

    #[test]
    fn multipart_etag_is_the_md5_of_part_md5s_whatever_the_chunking() {
        let data: Vec<u8> = (0..25u32).map(|i| (i * 37) as u8).collect();
        let mut all = Vec::new();
        for p in data.chunks(10) {
            all.extend_from_slice(&Md5::digest(p));
        }
        let etag = format!("\"{}-3\"", md5_hex(&all));
        for chunk in [1, 3, 10, 25] {
            assert!(
                matches!(run(&etag, &data, 10, chunk), Outcome::Match(_)),
                "{chunk}"
            );
        }
        let mut bad = data.clone();
        bad[24] ^= 1;
        assert!(matches!(run(&etag, &bad, 10, 7), Outcome::Mismatch { .. }));
        // one part (a small object uploaded as a multipart upload)
        let one = format!("{}-1", md5_hex(&Md5::digest(b"abc")));
        assert!(matches!(run(&one, b"abc", 10, 1), Outcome::Match(_)));
    }

    #[test]
    fn other_etags_are_not_checked() {
        for e in [
            "CJiS2Lf1/4kDEAE=",
            "\"abc\"",
            "\"900150983cd24fb0d6963f7d28e17f72-x\"",
        ] {
            assert!(matches!(run(e, b"abc", 8, 1), Outcome::Unchecked(_)), "{e}");
        }
        let h = Hasher::new(None, 3, 8);
        assert!(matches!(h.finish(), Outcome::Unchecked(_)));
    }

    #[test]
    fn part_size_prefers_ours_then_whole_mib() {
        const MIB: u64 = 1 << 20;
        assert_eq!(part_size(20 * MIB, 3, 8 * MIB), Some(8 * MIB));
        assert_eq!(part_size(20 * MIB, 4, 8 * MIB), Some(5 * MIB));
        assert_eq!(part_size(10, 1, 8 * MIB), Some(8 * MIB));
        assert_eq!(part_size(3 * MIB, 5, 8 * MIB), None);
    }
}
