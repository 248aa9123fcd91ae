//! warden external workload: the `redis` crate's (redis-rs) Sentinel client with its
//! defaults, as an application writes it: one `SentinelClient` for the master
//! (`SentinelServerType::Master`; it asks the Sentinels in turn and checks `ROLE` on the node
//! named), one connection from `get_connection()`, and a new connection from the
//! `SentinelClient` after a failed write (the crate does not reconnect on its own).
//!
//! It writes `SET <prefix>:<seq> <value> EX <ttl>` at `WARDEN_RATE` writes/s and prints one
//! line per write on stdout (`<key> <outcome> <node|-> <monotonic_ns>`, README "Bring your own
//! client"). `node` is the address the connection's socket was opened to (its client's
//! `ConnectionInfo`; the sync connection exposes no socket). Settings come from the
//! environment warden sets; credentials only in `WARDEN_REDIS_USER` / `WARDEN_REDIS_PASSWORD`
//! and `WARDEN_SENTINEL_USER` / `WARDEN_SENTINEL_PASSWORD`; `WARDEN_RESOLVE` (`name=ip,…`)
//! maps the Sentinels' and the primary's host names. It is built without TLS: with
//! `WARDEN_TLS` set it ends with one line. A rejected password ends it with one line on
//! stderr (never the password), exit 2. `--tight` is the tuned variant: 1 s read, write and
//! connect timeouts instead of none.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{
    Connection, ConnectionAddr, ConnectionInfo, ErrorKind, IntoConnectionInfo, RedisConnectionInfo,
    RedisError,
};

/// The settings warden passes in the environment.
struct Settings {
    sentinels: Vec<(String, u16)>,
    master: String,
    prefix: String,
    rate: f64,
    ttl: u64,
    value_size: usize,
    resolve: HashMap<String, String>,
    tight: bool,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Settings {
    fn read() -> Result<Settings, String> {
        let need = |name: &str| env(name).ok_or(format!("{name} is not set"));
        let sentinels = need("WARDEN_SENTINELS")?
            .split(',')
            .map(|a| {
                let (host, port) = a
                    .rsplit_once(':')
                    .ok_or(format!("sentinel `{a}`: no port"))?;
                let port = port
                    .parse()
                    .map_err(|_| format!("sentinel `{a}`: bad port"))?;
                Ok((host.to_string(), port))
            })
            .collect::<Result<_, String>>()?;
        let resolve = env("WARDEN_RESOLVE")
            .unwrap_or_default()
            .split(',')
            .filter_map(|e| e.split_once('='))
            .map(|(n, ip)| (n.to_string(), ip.to_string()))
            .collect();
        Ok(Settings {
            sentinels,
            master: need("WARDEN_MASTER")?,
            prefix: need("WARDEN_KEY_PREFIX")?,
            rate: env("WARDEN_RATE")
                .and_then(|r| r.parse().ok())
                .unwrap_or(0.0),
            ttl: env("WARDEN_TTL_SECONDS")
                .and_then(|t| t.parse().ok())
                .unwrap_or(1800),
            value_size: env("WARDEN_VALUE_SIZE")
                .and_then(|v| v.parse().ok())
                .unwrap_or(512),
            resolve,
            tight: std::env::args().any(|a| a == "--tight"),
        })
    }

    fn name(&self) -> &'static str {
        match self.tight {
            true => "redis-rs (tight)",
            false => "redis-rs",
        }
    }
}

/// Credentials from `user_var` / `password_var`, if a password is set.
fn redis_info(user_var: &str, password_var: &str) -> RedisConnectionInfo {
    let mut info = RedisConnectionInfo::default();
    if let Some(password) = env(password_var) {
        info = info.set_password(password);
        if let Some(user) = env(user_var) {
            info = info.set_username(user);
        }
    }
    info
}

fn sentinel_client(s: &Settings) -> Result<SentinelClient, RedisError> {
    let sentinels = s
        .sentinels
        .iter()
        .map(|(host, port)| {
            let host = s.resolve.get(host).unwrap_or(host).clone();
            ConnectionAddr::Tcp(host, *port)
                .into_connection_info()
                .map(|i| {
                    i.set_redis_settings(redis_info(
                        "WARDEN_SENTINEL_USER",
                        "WARDEN_SENTINEL_PASSWORD",
                    ))
                })
        })
        .collect::<Result<Vec<ConnectionInfo>, _>>()?;
    let node = SentinelNodeConnectionInfo::default()
        .set_redis_connection_info(redis_info("WARDEN_REDIS_USER", "WARDEN_REDIS_PASSWORD"));
    SentinelClient::build(
        sentinels,
        s.master.clone(),
        Some(node),
        SentinelServerType::Master,
    )
}

/// A connection to the primary, and the address it was opened to.
fn connect(s: &Settings, sc: &mut SentinelClient) -> Result<(Connection, String), RedisError> {
    let client = sc.get_client()?;
    let node = match client.get_connection_info().addr() {
        ConnectionAddr::Tcp(host, port) => format!("{host}:{port}"),
        _ => "-".to_string(),
    };
    let con = match s.tight {
        true => {
            let con = client.get_connection_with_timeout(Duration::from_secs(1))?;
            con.set_read_timeout(Some(Duration::from_secs(1)))?;
            con.set_write_timeout(Some(Duration::from_secs(1)))?;
            con
        }
        false => client.get_connection()?,
    };
    Ok((con, node))
}

fn is_auth(e: &RedisError) -> bool {
    matches!(e.kind(), ErrorKind::AuthenticationFailed)
        || e.code().is_some_and(|c| c == "WRONGPASS" || c == "NOAUTH")
}

/// The protocol's outcome of a failed write; `sent` when the command went out.
fn outcome_of(e: &RedisError, sent: bool) -> String {
    if let Some(code) = e
        .code()
        .filter(|c| c.chars().all(|ch| ch.is_ascii_uppercase()))
    {
        return code.to_string();
    }
    if e.is_timeout() {
        return "timeout".into();
    }
    match sent {
        true => "unknown".into(),
        false => "CONNECTION".into(),
    }
}

/// `CLOCK_MONOTONIC` now, ns (the clock warden reads).
fn monotonic_ns() -> u128 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec to write into; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    t.tv_sec as u128 * 1_000_000_000 + t.tv_nsec as u128
}

/// Set by SIGTERM: finish the write in flight and exit.
static STOPPING: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigterm(_: libc::c_int) {
    STOPPING.store(true, Ordering::Relaxed);
}

fn main() -> ExitCode {
    let s = match Settings::read() {
        Ok(s) => s,
        Err(why) => {
            eprintln!("redis-rs: {why}");
            return ExitCode::from(2);
        }
    };
    let name = s.name();
    if env("WARDEN_TLS").is_some() {
        eprintln!("{name}: this adapter is built without the redis crate's TLS feature");
        return ExitCode::from(2);
    }
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe { libc::signal(libc::SIGTERM, on_sigterm as *const () as libc::sighandler_t) };
    let mut sc = match sentinel_client(&s) {
        Ok(sc) => sc,
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::from(2);
        }
    };
    let value: Vec<u8> = (0..s.value_size).map(|i| (i * 31 % 251) as u8).collect();
    let period = (s.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / s.rate));
    let mut next = Instant::now();
    let mut con: Option<(Connection, String)> = None;
    let mut out = std::io::stdout().lock();
    let mut seq: u64 = 0;
    while !STOPPING.load(Ordering::Relaxed) {
        if let Some(p) = period {
            next += p;
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            } else if now - next > Duration::from_millis(100) {
                next = now; // fell behind (an outage): do not burst to catch up
            }
        }
        let key = format!("{}:{seq}", s.prefix);
        let (outcome, node) = match con.take().map_or_else(|| connect(&s, &mut sc), Ok) {
            Err(e) if is_auth(&e) => {
                eprintln!("{name}: authentication failed: {e}");
                return ExitCode::from(2);
            }
            Err(e) => (outcome_of(&e, false), "-".to_string()),
            Ok((mut c, node)) => {
                let res: Result<(), RedisError> = redis::cmd("SET")
                    .arg(&key)
                    .arg(&value)
                    .arg("EX")
                    .arg(s.ttl)
                    .query(&mut c);
                match res {
                    Ok(()) => {
                        con = Some((c, node.clone()));
                        ("ok".to_string(), node)
                    }
                    Err(e) if is_auth(&e) => {
                        eprintln!("{name}: authentication failed: {e}");
                        return ExitCode::from(2);
                    }
                    // A failed write drops the connection: the next asks the Sentinels.
                    Err(e) => (outcome_of(&e, true), node),
                }
            }
        };
        if writeln!(out, "{key} {outcome} {node} {}", monotonic_ns())
            .and_then(|()| out.flush())
            .is_err()
        {
            break;
        }
        seq += 1;
    }
    ExitCode::SUCCESS
}
