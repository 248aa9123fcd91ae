//! Where the Valkey 8.1 and 9.1 that `scripts/setup.sh` caches live, and whether a test must
//! have them (`WARDEN_REQUIRE_VALKEY=1` / `WARDEN_REQUIRE_VALKEY9=1`, set in CI) or may skip
//! without them.

use std::path::PathBuf;

/// `$WARDEN_VALKEY_DIR`, else `${XDG_CACHE_HOME:-~/.cache}/warden/valkey-8.1` (as
/// `scripts/fetch-valkey.sh` has it).
pub fn dir() -> PathBuf {
    if let Some(d) = std::env::var_os("WARDEN_VALKEY_DIR") {
        return PathBuf::from(d);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache"));
    cache.join("warden").join("valkey-8.1")
}

/// The cached `valkey-server`, when it is there.
pub fn server() -> Option<PathBuf> {
    Some(dir().join("valkey-server")).filter(|p| p.is_file())
}

/// The cached `valkey-server` for a test that needs it: `None` (and a note) when it is
/// missing, a panic when it is missing and `WARDEN_REQUIRE_VALKEY=1`.
pub fn server_or_skip(test: &str) -> Option<PathBuf> {
    let found = server();
    if found.is_none() {
        let missing = format!(
            "{} is missing (scripts/setup.sh fetches it)",
            dir().join("valkey-server").display()
        );
        assert!(
            std::env::var_os("WARDEN_REQUIRE_VALKEY").is_none_or(|v| v != "1"),
            "{missing} and WARDEN_REQUIRE_VALKEY=1"
        );
        eprintln!("skipping {test}: {missing}");
    }
    found
}

/// `$WARDEN_VALKEY9_DIR`, else `${XDG_CACHE_HOME:-~/.cache}/warden/valkey-9.1` (as
/// `scripts/fetch-valkey9.sh` has it).
pub fn dir9() -> PathBuf {
    if let Some(d) = std::env::var_os("WARDEN_VALKEY9_DIR") {
        return PathBuf::from(d);
    }
    dir().with_file_name("valkey-9.1")
}

/// The cached Valkey 9.1 `valkey-server`, when it is there.
pub fn server9() -> Option<PathBuf> {
    Some(dir9().join("valkey-server")).filter(|p| p.is_file())
}

/// The cached Valkey 9.1 `valkey-server` for a test that needs it: `None` (and a note) when
/// it is missing, a panic when it is missing and `WARDEN_REQUIRE_VALKEY9=1`.
pub fn server9_or_skip(test: &str) -> Option<PathBuf> {
    let found = server9();
    if found.is_none() {
        let missing = format!(
            "{} is missing (scripts/setup.sh fetches it)",
            dir9().join("valkey-server").display()
        );
        assert!(
            std::env::var_os("WARDEN_REQUIRE_VALKEY9").is_none_or(|v| v != "1"),
            "{missing} and WARDEN_REQUIRE_VALKEY9=1"
        );
        eprintln!("skipping {test}: {missing}");
    }
    found
}
