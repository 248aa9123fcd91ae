//! Where the Valkey 8.1 and 9.1 that `scripts/setup.sh` caches live; a test that needs one
//! fails without it unless the run opted out of missing tools (`super::missing`).

use std::path::PathBuf;

/// `$WARDEN_VALKEY_DIR`, else `${XDG_CACHE_HOME:-~/.cache}/warden/valkey-8.1` (as
/// `scripts/fetch-valkey.sh 8.1` has it).
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

/// The cached `valkey-server` for a test that needs it: a panic when it is missing, or
/// `None` (and a note) when the run opted out of missing tools.
pub fn server_or_skip(test: &str) -> Option<PathBuf> {
    let found = server();
    if found.is_none() {
        super::missing::missing(&format!(
            "{test} needs {}",
            dir().join("valkey-server").display()
        ));
    }
    found
}

/// `$WARDEN_VALKEY9_DIR`, else `${XDG_CACHE_HOME:-~/.cache}/warden/valkey-9.1` (as
/// `scripts/fetch-valkey.sh 9.1` has it).
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

/// The cached Valkey 9.1 `valkey-server` for a test that needs it: a panic when it is
/// missing, or `None` (and a note) when the run opted out of missing tools.
pub fn server9_or_skip(test: &str) -> Option<PathBuf> {
    let found = server9();
    if found.is_none() {
        super::missing::missing(&format!(
            "{test} needs {}",
            dir9().join("valkey-server").display()
        ));
    }
    found
}
