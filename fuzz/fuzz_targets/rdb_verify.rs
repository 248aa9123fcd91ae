//! The RDB verifier on arbitrary bytes: it must return a verdict, never panic, loop or
//! allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden::rdb::{Options, verify};

fuzz_target!(|data: &[u8]| {
    let summary = verify(data, &Options::default());
    // A valid verdict needs at least the magic, the version and the EOF opcode.
    assert!(!summary.valid || data.len() >= 10);
});
