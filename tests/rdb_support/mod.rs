//! Test lab: a throw-away `redis-server` on a free port in a tempdir, killed on `Drop`,
//! driven by raw RESP over `TcpStream`.

#![allow(dead_code)]

pub mod backup;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running redis-server; killed (and its dir removed) on drop.
pub struct Redis {
    child: Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
    conn: BufReader<TcpStream>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Redis {
    /// Start with extra `--name value` config pairs.
    pub fn start(extra: &[(&str, &str)]) -> Redis {
        Redis::start_bin(Path::new("redis-server"), extra)
    }

    /// Start `binary` (a `redis-server` or `valkey-server`) with extra config pairs.
    pub fn start_bin(binary: &Path, extra: &[(&str, &str)]) -> Redis {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut cmd = Command::new(binary);
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir"])
            .arg(dir.path())
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--enable-debug-command",
                "yes",
                "--logfile",
            ])
            .arg(dir.path().join("redis.log"));
        for (k, v) in extra {
            cmd.arg(format!("--{k}")).arg(v);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        let stream = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(e) => {
                    let log =
                        std::fs::read_to_string(dir.path().join("redis.log")).unwrap_or_default();
                    panic!("redis-server did not start on {port}: {e}\n{log}");
                }
            }
        };
        Redis {
            child,
            dir,
            port,
            conn: BufReader::new(stream),
        }
    }

    /// Encode one command as RESP.
    pub fn encode(args: &[&[u8]], out: &mut Vec<u8>) {
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
    }

    /// Read one reply, returned as text; errors panic.
    fn reply(&mut self) -> String {
        let mut line = String::new();
        self.conn.read_line(&mut line).unwrap();
        let l = line.trim_end().to_string();
        match l.as_bytes().first() {
            Some(b'-') => panic!("redis error: {l}"),
            Some(b'$') => {
                let n: i64 = l[1..].parse().unwrap();
                if n < 0 {
                    return String::new();
                }
                let mut buf = vec![0; n as usize + 2];
                self.conn.read_exact(&mut buf).unwrap();
                String::from_utf8_lossy(&buf[..n as usize]).into_owned()
            }
            Some(b'*') => {
                let n: i64 = l[1..].parse().unwrap();
                let parts: Vec<String> = (0..n.max(0)).map(|_| self.reply()).collect();
                parts.join(",")
            }
            _ => l[1..].to_string(),
        }
    }

    /// Run one command (string args).
    pub fn cmd(&mut self, args: &[&str]) -> String {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.cmd_bytes(&a)
    }

    pub fn cmd_bytes(&mut self, args: &[&[u8]]) -> String {
        let mut out = Vec::new();
        Self::encode(args, &mut out);
        self.conn.get_mut().write_all(&out).unwrap();
        self.reply()
    }

    /// Send a pre-encoded pipeline of `n` commands and drain the replies.
    pub fn pipeline(&mut self, bytes: &[u8], n: usize) {
        let mut w = self.conn.get_ref().try_clone().unwrap();
        let data = bytes.to_vec();
        let t = std::thread::spawn(move || w.write_all(&data).unwrap());
        for _ in 0..n {
            self.reply();
        }
        t.join().unwrap();
    }

    /// SAVE and copy dump.rdb to `to`.
    pub fn save_to(&mut self, to: &Path) {
        assert_eq!(self.cmd(&["SAVE"]), "OK");
        std::fs::copy(self.dir.path().join("dump.rdb"), to).unwrap();
    }

    pub fn dump_path(&self) -> PathBuf {
        self.dir.path().join("dump.rdb")
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `redis-check-rdb FILE` exit status == 0.
pub fn check_rdb_ok(path: &Path) -> bool {
    Command::new("redis-check-rdb")
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run redis-check-rdb")
        .success()
}
