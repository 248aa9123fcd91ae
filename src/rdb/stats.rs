//! Key statistics helpers: glob matching on key bytes and the bounded-memory TTL summary.

use hdrhistogram::Histogram;

/// Remaining-TTL summary over live keys with an expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TtlStats {
    /// Keys summarised.
    pub count: u64,
    /// Smallest remaining TTL (exact).
    pub min: u64,
    /// Median remaining TTL (within 0.1 %, from an HDR histogram).
    pub median: u64,
    /// Largest remaining TTL (exact).
    pub max: u64,
}

/// Accumulates remaining TTLs in O(1) memory per magnitude (HDR histogram, 3 significant digits).
pub(super) struct TtlAcc {
    hist: Option<Histogram<u64>>,
    count: u64,
    min: u64,
    max: u64,
}

impl TtlAcc {
    pub(super) fn new() -> Self {
        TtlAcc {
            hist: Histogram::new(3).ok(),
            count: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    #[inline]
    pub(super) fn record(&mut self, ttl: u64) {
        self.count += 1;
        self.min = self.min.min(ttl);
        self.max = self.max.max(ttl);
        if let Some(h) = self.hist.as_mut() {
            // `record` auto-resizes (saturating_record would clamp to the initial range)
            if h.record(ttl).is_err() {
                h.saturating_record(ttl);
            }
        }
    }

    pub(super) fn finish(&self) -> Option<TtlStats> {
        if self.count == 0 {
            return None;
        }
        let median = self
            .hist
            .as_ref()
            .map_or(self.min, |h| h.value_at_quantile(0.5))
            .clamp(self.min, self.max);
        Some(TtlStats {
            count: self.count,
            min: self.min,
            median,
            max: self.max,
        })
    }
}

/// A pattern prepared once for a million keys: most (`session:*`) are a literal prefix and
/// one trailing `*`, matched with a prefix compare instead of [`glob`].
pub(super) enum Glob<'p> {
    /// A literal prefix, then `*`.
    Prefix(&'p [u8]),
    /// Any other pattern.
    General(&'p [u8]),
}

impl<'p> Glob<'p> {
    pub(super) fn new(pat: &'p [u8]) -> Self {
        match pat.split_last() {
            Some((b'*', head)) if !head.iter().any(|c| matches!(c, b'*' | b'?' | b'\\')) => {
                Glob::Prefix(head)
            }
            _ => Glob::General(pat),
        }
    }

    #[inline]
    pub(super) fn matches(&self, s: &[u8]) -> bool {
        match self {
            Glob::Prefix(p) => s.starts_with(p),
            Glob::General(p) => glob(p, s),
        }
    }
}

/// Glob match with `*`, `?` and `\` escapes, over bytes, iterative (no recursion, no allocation).
pub(super) fn glob(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if p < pat.len() {
            match pat[p] {
                b'*' => {
                    star = Some((p + 1, i));
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    i += 1;
                    continue;
                }
                b'\\' if p + 1 < pat.len() && pat[p + 1] == s[i] => {
                    p += 2;
                    i += 1;
                    continue;
                }
                b'\\' if p + 1 < pat.len() => {}
                c if c == s[i] => {
                    p += 1;
                    i += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, si)) => {
                p = sp;
                i = si + 1;
                star = Some((sp, si + 1));
            }
            None => return false,
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_cases() {
        let cases: &[(&str, &str, bool)] = &[
            ("session:*", "session:1", true),
            ("session:*", "session:", true),
            ("session:*", "sessions:1", false),
            ("*", "", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("*:*:x", "a:b:c:x", true),
            ("a\\*", "a*", true),
            ("a\\*", "ab", false),
            ("a\\b", "a\\b", false),
            ("*b", "aaab", true),
            ("*b", "aaa", false),
        ];
        for &(p, s, want) in cases {
            assert_eq!(glob(p.as_bytes(), s.as_bytes()), want, "{p} vs {s}");
            let g = Glob::new(p.as_bytes());
            assert_eq!(g.matches(s.as_bytes()), want, "prepared {p} vs {s}");
        }
        assert!(matches!(Glob::new(b"session:*"), Glob::Prefix(b"session:")));
        assert!(matches!(Glob::new(b"a\\*"), Glob::General(_)));
        assert!(matches!(Glob::new(b"*:*"), Glob::General(_)));
    }

    #[test]
    fn ttl_median() {
        let mut t = TtlAcc::new();
        for v in 1..=1001u64 {
            t.record(v * 1000);
        }
        let s = t.finish().unwrap();
        assert_eq!((s.count, s.min, s.max), (1001, 1000, 1_001_000));
        assert!((500_000..=502_000).contains(&s.median), "{s:?}");
        assert_eq!(TtlAcc::new().finish(), None);
    }
}
