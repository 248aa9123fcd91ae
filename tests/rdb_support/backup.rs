//! A stored backup made with warden's own store, for the restore tests.

use std::path::{Path, PathBuf};

use super::Redis;
use warden::addr::Addr;
use warden::backup::compress::Compression;
use warden::backup::manifest::{Counts, Manifest, Source};
use warden::backup::store;
use warden::rdb::Options;

/// A stored backup (gzip + manifest) in `dest` of a dump with `keys` session keys (TTL
/// 2 h), named `redis-m-20261125-010000.rdb.gz`.
pub fn make_backup(dest: &Path, keys: usize) -> PathBuf {
    let mut r = Redis::start(&[]);
    let mut pipe = Vec::new();
    for i in 0..keys {
        let key = format!("session:{i}");
        Redis::encode(&[b"SET", key.as_bytes(), b"v", b"EX", b"7200"], &mut pipe);
    }
    r.pipeline(&pipe, keys);
    assert_eq!(r.cmd(&["SAVE"]), "OK");
    std::fs::create_dir_all(dest).expect("dest");
    let file = std::fs::File::open(r.dump_path()).expect("dump");
    let staged =
        store::stage(file, "dump", dest, Compression::Gzip, &Options::default()).expect("stage");
    let m = Manifest {
        file: "redis-m-20261125-010000.rdb.gz".into(),
        master: "m".into(),
        created: chrono::Utc::now(),
        compression: Compression::Gzip,
        stored: staged.stored.clone(),
        raw: staged.raw.clone(),
        counts: Counts::from_summary(&staged.summary, "session:*"),
        source: Source {
            addr: Addr::local(1),
            role: "replica".into(),
            primary: Addr::local(2),
            method: "stream".into(),
            master_repl_offset: 0,
            freshness: None,
        },
        duration_ms: 0,
        warden_version: "test".into(),
    };
    staged.commit(dest, &m).expect("commit")
}
