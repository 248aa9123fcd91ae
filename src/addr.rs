//! Owns `Addr`, a `host:port` network address as Sentinel reports it (IP or hostname).
//!
//! Pure: no I/O and no name resolution. IPv6 literals are not supported.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A `host:port` address; `host` is an IP or a hostname, never resolved here.
///
/// Serializes as the string `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Addr {
    /// IP address or hostname, as given.
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Addr {
    /// `127.0.0.1:<port>`.
    pub fn local(port: u16) -> Self {
        Addr::new("127.0.0.1", port)
    }

    /// The `redis://host:port/` URL the redis crate connects to.
    pub fn url(&self) -> String {
        format!("redis://{}:{}/", self.host, self.port)
    }

    /// Builds an address from a host and a port.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
        }
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Why a string is not a `host:port` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrParseError {
    /// No `:` separates host and port.
    MissingPort {
        /// The rejected input.
        input: String,
    },
    /// The host part is empty or contains whitespace or `:`.
    BadHost {
        /// The rejected input.
        input: String,
    },
    /// The port is not a number in 0..=65535.
    BadPort {
        /// The rejected input.
        input: String,
    },
}

impl fmt::Display for AddrParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingPort { input } => write!(f, "address {input:?} has no `:port`"),
            Self::BadHost { input } => write!(f, "address {input:?} has an invalid host"),
            Self::BadPort { input } => {
                write!(f, "address {input:?} has an invalid port (want 0-65535)")
            }
        }
    }
}

impl std::error::Error for AddrParseError {}

impl FromStr for Addr {
    type Err = AddrParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let input = || s.to_owned();
        let (host, port) = s
            .rsplit_once(':')
            .ok_or_else(|| AddrParseError::MissingPort { input: input() })?;
        if host.is_empty() || host.contains(':') || host.contains(char::is_whitespace) {
            return Err(AddrParseError::BadHost { input: input() });
        }
        let port = parse_port(port).ok_or_else(|| AddrParseError::BadPort { input: input() })?;
        Ok(Self::new(host, port))
    }
}

/// Parses a decimal port; digits only (no sign, no spaces).
pub(crate) fn parse_port(s: &str) -> Option<u16> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl From<Addr> for String {
    fn from(a: Addr) -> Self {
        a.to_string()
    }
}

impl TryFrom<String> for Addr {
    type Error = AddrParseError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &str) {
        let got = match input.parse::<Addr>() {
            Ok(a) => format!("{a:?}"),
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(got, expect, "input {input:?}");
    }

    #[test]
    fn parse_table() {
        check(
            "127.0.0.1:6379",
            r#"Addr { host: "127.0.0.1", port: 6379 }"#,
        );
        check(
            "redis-0.redis.svc:26379",
            r#"Addr { host: "redis-0.redis.svc", port: 26379 }"#,
        );
        check("localhost", r#"error: address "localhost" has no `:port`"#);
        check(":6379", r#"error: address ":6379" has an invalid host"#);
        check(
            "::1:6379",
            r#"error: address "::1:6379" has an invalid host"#,
        );
        check(
            "h:65536",
            r#"error: address "h:65536" has an invalid port (want 0-65535)"#,
        );
        check(
            "h:+1",
            r#"error: address "h:+1" has an invalid port (want 0-65535)"#,
        );
        check(
            "h:",
            r#"error: address "h:" has an invalid port (want 0-65535)"#,
        );
    }

    #[test]
    fn display_round_trips() {
        let a = Addr::new("10.0.0.1", 7000);
        assert_eq!(a.to_string(), "10.0.0.1:7000");
        assert_eq!(a.to_string().parse::<Addr>(), Ok(a));
    }

    #[test]
    fn serde_as_string() {
        let a = Addr::new("h", 1);
        assert_eq!(serde_json::to_string(&a).ok().as_deref(), Some(r#""h:1""#));
        let back: Result<Addr, _> = serde_json::from_str(r#""h:1""#);
        assert_eq!(back.ok(), Some(a));
        assert!(serde_json::from_str::<Addr>(r#""nope""#).is_err());
    }
}
