//! The pure AOF reader on arbitrary bytes: never panics, and a torn tail is always reported
//! at a command boundary no later than the input's end.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden::aof::inspect::Inspector;

fuzz_target!(|data: &[u8]| {
    let mut i = Inspector::new();
    i.file("fuzz.incr.aof", data, true, 0);
    let r = i.finish();
    if let Some(t) = r.torn {
        assert!(t.offset + t.bytes <= data.len() as u64);
        if let Some(l) = r.last_complete {
            assert!(l.end <= t.offset);
        }
    }
    let _ = warden::aof::manifest::parse(&String::from_utf8_lossy(data));
});
