//! Pure: [`Secret`], a password that never prints, and where one comes from ([`Source`]).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A password or other secret. `Debug` and `Display` print `***`; the value is reachable only
/// through [`Secret::expose`], which the connection code calls when it sends `AUTH` or writes a
/// 0600 config file.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<Arc<str>>) -> Secret {
        Secret(value.into())
    }

    /// The value itself: for `AUTH` and for config files written 0600, nothing else.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a secret is read from when the connection settings are built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file holding the secret (one line; a trailing newline is dropped).
    File(PathBuf),
    /// An environment variable, by name.
    Env(String),
    /// The value itself (a `--password` flag or its environment variable).
    Value(Secret),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(
            format!("{:?}", Source::Value(s.clone())),
            "Value(***)",
            "nor inside a Debug of what holds it"
        );
        assert_eq!(s.expose(), "hunter2");
    }
}
