//! What a test does when something it needs is not installed here (a Docker engine, moto,
//! Prometheus, Chromium, redis-py, Valkey): it fails, naming what is missing and how to
//! install it, unless the person running the tests opts out with
//! `WARDEN_TEST_SKIP_MISSING=1`, which makes it print `SKIPPED: …` and pass.

/// The one variable that turns a missing tool into a skip instead of a failure.
pub const OPT_OUT: &str = "WARDEN_TEST_SKIP_MISSING";

/// Whether this run opted out of failing on missing tools (`WARDEN_TEST_SKIP_MISSING=1`).
pub fn skip_missing() -> bool {
    std::env::var_os(OPT_OUT).is_some_and(|v| v == "1")
}

/// Reports that `what` (a sentence: what is missing and why) is not here: panics naming
/// `bash scripts/setup.sh` and the opt-out variable, or, when the run opted out, prints
/// `SKIPPED: …` and returns so that the caller can return early.
#[track_caller]
pub fn missing(what: &str) {
    if skip_missing() {
        eprintln!("SKIPPED: {what} ({OPT_OUT}=1)");
        return;
    }
    panic!(
        "missing: {what}. Install what the tests need with `bash scripts/setup.sh`, \
         or set {OPT_OUT}=1 to skip the tests that need it"
    );
}
