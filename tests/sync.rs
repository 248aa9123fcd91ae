//! The `SYNC` stream against a real `redis-server` with `requirepass`: a wrong or missing
//! password is one clear error, the right one streams a whole, valid RDB.

mod support;

use std::io::Read;
use std::time::Duration;

use support::{RedisProc, WAIT, free_ports, wait_until};
use tokio::sync::mpsc;
use warden::backup::sync::{ChannelReader, DEPTH, fetch};

async fn pull(
    addr: &warden::addr::Addr,
    pw: Option<&str>,
) -> (warden::error::Result<u64>, Vec<u8>) {
    let (tx, rx) = mpsc::channel(DEPTH);
    let reader = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        let _ = ChannelReader::new(rx).read_to_end(&mut out);
        out
    });
    let spec = warden::conn::Spec {
        password: pw.map(|p| warden::conn::Source::Value(warden::conn::Secret::new(p))),
        ..Default::default()
    };
    let conn = warden::conn::Conn::build(&spec).expect("conn");
    let r = fetch(&conn, addr, Duration::from_secs(2), tx, false).await;
    (r, reader.await.expect("reader"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_needs_the_right_password() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_ports(1)[0];
    let conf = format!(
        "port {port}\nbind 127.0.0.1\ndir {}\nrequirepass s3cret\nsave \"\"\nappendonly no\n",
        dir.path().display()
    );
    let node = RedisProc::start(dir.path(), "node", port, &conf, false);
    let addr = node.addr();
    wait_until(
        WAIT,
        "the node to listen",
        std::slice::from_ref(&node.log),
        || async { std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() },
    )
    .await;
    let (r, _) = pull(&addr, Some("wrong")).await;
    let e = r.expect_err("wrong password").to_string();
    assert!(
        e.starts_with("authentication failed for user default on 127.0.0.1:"),
        "{e}"
    );
    assert!(!e.contains("wrong"), "the password leaked: {e}");
    let (r, _) = pull(&addr, None).await;
    let e = r.expect_err("no password").to_string();
    assert!(e.contains("no password was given"), "{e}");
    assert!(e.contains("WARDEN_REDIS_PASSWORD"), "{e}");
    let (r, bytes) = pull(&addr, Some("s3cret")).await;
    let len = r.expect("sync");
    assert_eq!(len as usize, bytes.len());
    let s = warden::rdb::verify(&bytes[..], &Default::default());
    assert!(s.valid, "{s:?}");
}
