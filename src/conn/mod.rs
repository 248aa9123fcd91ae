//! Every connection warden opens — to data nodes, to Sentinels, to its own scratch servers,
//! for commands, Pub/Sub or the raw `SYNC` stream — is built here, from one [`Conn`] passed
//! explicitly down from the command that was run.
//!
//! A [`Conn`] holds the data nodes' and the Sentinels' credentials apart (each may have its
//! own `requirepass` or ACL user), the TLS client configuration for either or both, and the
//! hostname map (`--resolve NAME=IP`). The map applies where a stream is opened, like curl's:
//! an address a Sentinel announces keeps its name in reports and as the TLS server name, and
//! only the socket goes to the mapped IP.
//!
//! Streams are opened here (TCP, then `tokio-rustls` when TLS applies) and handed to the
//! redis crate (`MultiplexedConnection::new_with_config`, `PubSub::new`), which sends `AUTH`
//! from the settings; [`raw::RawCon`] keeps the stream for callers that frame their own
//! commands, and sends `AUTH` itself. Secrets are [`Secret`]s: they print as `***`, and
//! errors name the user and the address, never a password.

pub(crate) mod command;
pub(crate) mod raw;
pub(crate) mod secret;
pub(crate) mod spec;
pub(crate) mod tls;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{Cmd, Pipeline, RedisFuture, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::addr::Addr;
use crate::error::{Error, Result};
pub use command::Timeouts;
pub use secret::{Secret, Source};
pub(crate) use spec::{Resolve, TlsOn};
pub use spec::{Spec, TlsSpec};
use tls::Tls;

/// Which kind of server a connection goes to: the two have separate credentials and TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A data node (primary, replica, or a scratch server).
    Node,
    /// A Sentinel.
    Sentinel,
}

#[derive(Debug, Clone, Default)]
struct Side {
    user: Option<String>,
    password: Option<Secret>,
    tls: Option<Tls>,
}

#[derive(Debug, Default)]
struct Inner {
    nodes: Side,
    sentinels: Side,
    resolve: HashMap<String, IpAddr>,
    /// The TLS settings as given (paths, not contents), for external workloads.
    tls_spec: Option<TlsSpec>,
}

/// The connection settings of a run; cheap to clone (one `Arc`). `Conn::default()` is plain
/// TCP without a password.
#[derive(Debug, Clone, Default)]
pub struct Conn(Arc<Inner>);

/// A byte stream to a server: TCP, or TLS over TCP.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// An open stream, before any command.
pub(crate) type Stream = Box<dyn Io>;

/// Reads a secret from where `source` says.
pub(crate) fn read_secret(source: &Source) -> Result<Secret> {
    match source {
        Source::Value(s) => Ok(s.clone()),
        Source::Env(name) => std::env::var(name).map(Secret::new).map_err(|_| {
            Error::Usage(format!(
                "environment variable {name} (a password) is not set"
            ))
        }),
        Source::File(path) => {
            let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
            let value = text.strip_suffix('\n').unwrap_or(&text);
            let value = value.strip_suffix('\r').unwrap_or(value);
            if value.is_empty() {
                return Err(Error::Usage(format!(
                    "{}: the password file is empty",
                    path.display()
                )));
            }
            Ok(Secret::new(value))
        }
    }
}

impl Conn {
    /// Reads the secrets and TLS files `spec` names; any missing one is an error now.
    pub fn build(spec: &Spec) -> Result<Conn> {
        let secret = |s: &Option<Source>| s.as_ref().map(read_secret).transpose();
        let tls = spec.tls.as_ref().map(Tls::build).transpose()?;
        let on = spec.tls.as_ref().map(|t| t.on).unwrap_or_default();
        Ok(Conn(Arc::new(Inner {
            nodes: Side {
                user: spec.user.clone(),
                password: secret(&spec.password)?,
                tls: tls.clone().filter(|_| on.nodes()),
            },
            sentinels: Side {
                user: spec.sentinel_user.clone(),
                password: secret(&spec.sentinel_password)?,
                tls: tls.filter(|_| on.sentinels()),
            },
            resolve: spec
                .resolve
                .iter()
                .map(|r| (r.name.clone(), r.ip))
                .collect(),
            tls_spec: spec.tls.clone(),
        })))
    }

    fn side(&self, role: Role) -> &Side {
        match role {
            Role::Node => &self.0.nodes,
            Role::Sentinel => &self.0.sentinels,
        }
    }

    /// The user connections of `role` authenticate as (`default` when none is set).
    pub fn user(&self, role: Role) -> &str {
        self.side(role).user.as_deref().unwrap_or("default")
    }

    /// The password for `role`, if any (for `AUTH` and 0600 config files only).
    pub fn password(&self, role: Role) -> Option<&Secret> {
        self.side(role).password.as_ref()
    }

    /// Whether connections of `role` use TLS.
    pub fn tls(&self, role: Role) -> bool {
        self.side(role).tls.is_some()
    }

    /// The IP `host` maps to in `--resolve`, if it is listed.
    pub fn resolved(&self, host: &str) -> Option<IpAddr> {
        self.0.resolve.get(host).copied()
    }

    /// The TLS settings as given (file paths, never their contents), if TLS is on.
    pub(crate) fn tls_settings(&self) -> Option<&TlsSpec> {
        self.0.tls_spec.as_ref()
    }

    /// The hostname map (`--resolve`), sorted by name.
    pub(crate) fn resolve_map(&self) -> Vec<(&str, IpAddr)> {
        let mut map: Vec<(&str, IpAddr)> = self
            .0
            .resolve
            .iter()
            .map(|(n, ip)| (n.as_str(), *ip))
            .collect();
        map.sort();
        map
    }

    /// Opens a TCP (and, for `role`, TLS) stream to `addr`, mapping its host through the
    /// hostname map. No command is sent.
    pub async fn stream(&self, role: Role, addr: &Addr, timeout: Duration) -> Result<Stream> {
        let open = async {
            let tcp = match self.resolved(&addr.host) {
                Some(ip) => TcpStream::connect(SocketAddr::new(ip, addr.port)).await,
                None => TcpStream::connect((addr.host.as_str(), addr.port)).await,
            }
            .map_err(|e| Error::Connect {
                addr: addr.clone(),
                source: e.into(),
            })?;
            let _ = tcp.set_nodelay(true);
            match &self.side(role).tls {
                None => Ok(Box::new(tcp) as Stream),
                Some(tls) => {
                    let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
                    let name = tls.name_for(&addr.host)?;
                    let stream = connector.connect(name, tcp).await.map_err(|e| Error::Tls {
                        message: format!("TLS handshake with {addr} failed: {e}{}", tls_hint(&e)),
                    })?;
                    Ok(Box::new(stream) as Stream)
                }
            }
        };
        match tokio::time::timeout(timeout, open).await {
            Ok(r) => r,
            Err(_) => Err(Error::Connect {
                addr: addr.clone(),
                source: std::io::Error::from(std::io::ErrorKind::TimedOut).into(),
            }),
        }
    }

    fn redis_info(&self, role: Role) -> redis::RedisConnectionInfo {
        let side = self.side(role);
        let mut info = redis::RedisConnectionInfo::default().set_skip_set_lib_name();
        if let Some(u) = &side.user {
            info = info.set_username(u);
        }
        if let Some(p) = &side.password {
            info = info.set_password(p.expose());
        }
        info
    }

    /// A command connection to the data node at `addr`, authenticated.
    pub async fn node(&self, addr: &Addr, t: Timeouts) -> Result<Con> {
        self.connect(Role::Node, addr, t).await
    }

    /// A command connection to the Sentinel at `addr`, authenticated.
    pub async fn sentinel(&self, addr: &Addr, t: Timeouts) -> Result<Con> {
        self.connect(Role::Sentinel, addr, t).await
    }

    /// A command connection to `addr`, authenticated with `role`'s credentials. The whole
    /// handshake (TCP, TLS, `AUTH`) is bounded by `t.connect + t.response`.
    pub async fn connect(&self, role: Role, addr: &Addr, t: Timeouts) -> Result<Con> {
        let setup = async {
            let stream = self.stream(role, addr, t.connect).await?;
            let cfg = redis::AsyncConnectionConfig::new()
                .set_connection_timeout(Some(t.connect))
                .set_response_timeout(Some(t.response));
            let (con, driver) =
                MultiplexedConnection::new_with_config(&self.redis_info(role), stream, cfg)
                    .await
                    .map_err(|e| self.setup_error(role, addr, e))?;
            tokio::spawn(driver);
            Ok(Con {
                inner: con,
                role,
                user: self.user(role).to_string(),
                conn: self.clone(),
            })
        };
        match tokio::time::timeout(t.connect + t.response, setup).await {
            Ok(r) => r,
            Err(_) => Err(Error::Connect {
                addr: addr.clone(),
                source: std::io::Error::from(std::io::ErrorKind::TimedOut).into(),
            }),
        }
    }

    /// A Pub/Sub connection to the Sentinel at `addr`, authenticated.
    pub async fn subscribe(&self, addr: &Addr, timeout: Duration) -> Result<redis::aio::PubSub> {
        let setup = async {
            let stream = self.stream(Role::Sentinel, addr, timeout).await?;
            redis::aio::PubSub::new(&self.redis_info(Role::Sentinel), stream)
                .await
                .map_err(|e| self.setup_error(Role::Sentinel, addr, e))
        };
        match tokio::time::timeout(timeout, setup).await {
            Ok(r) => r,
            Err(_) => Err(Error::Connect {
                addr: addr.clone(),
                source: std::io::Error::from(std::io::ErrorKind::TimedOut).into(),
            }),
        }
    }

    /// The `AUTH` command for `role`, for a raw stream (`SYNC`); `None` without a password.
    pub(crate) fn auth_command(&self, role: Role) -> Option<Cmd> {
        let side = self.side(role);
        let pw = side.password.as_ref()?;
        let mut cmd = redis::cmd("AUTH");
        if let Some(u) = &side.user {
            cmd.arg(u.as_str());
        }
        cmd.arg(pw.expose());
        Some(cmd)
    }

    /// The error for an authentication failure of `role` on `addr`; `detail` is what the
    /// server said (never the password).
    pub(crate) fn auth_failed(&self, role: Role, addr: &Addr, detail: &str) -> Error {
        Error::Auth {
            user: self.user(role).to_string(),
            addr: addr.clone(),
            detail: detail.to_string(),
            hint: auth_hint(role, self.password(role).is_some()),
        }
    }

    fn setup_error(&self, role: Role, addr: &Addr, e: redis::RedisError) -> Error {
        if is_auth_error(&e) {
            return self.auth_failed(role, addr, &server_words(&e));
        }
        if e.code() == Some("NOPERM") {
            return no_perm(self.user(role), addr, &e.to_string());
        }
        Error::Connect {
            addr: addr.clone(),
            source: e,
        }
    }
}

/// What the user should do after an authentication failure.
fn auth_hint(role: Role, had_password: bool) -> String {
    let (whose, flags) = match role {
        Role::Node => (
            "data nodes'",
            "--password-file, WARDEN_REDIS_PASSWORD (and --user for an ACL user)",
        ),
        Role::Sentinel => (
            "Sentinels'",
            "--sentinel-password-file, WARDEN_SENTINEL_PASSWORD (and --sentinel-user)",
        ),
    };
    if had_password {
        format!("check the {whose} user and password ({flags})")
    } else {
        format!("no password was given; give the {whose} password with {flags}")
    }
}

fn tls_hint(e: &std::io::Error) -> &'static str {
    let text = e.to_string();
    if text.contains("NotValidForName") || text.contains("not valid for name") {
        " (the certificate is for another host: check --tls-server-name)"
    } else if text.contains("UnknownIssuer") || text.contains("unknown issuer") {
        " (the certificate is not signed by --tls-ca)"
    } else {
        ""
    }
}

/// Whether a reply says the credentials are wrong or missing.
pub(crate) fn is_auth_error(e: &redis::RedisError) -> bool {
    matches!(e.code(), Some("WRONGPASS" | "NOAUTH" | "AUTH"))
        || e.kind() == redis::ErrorKind::AuthenticationFailed
        || e.to_string().contains("invalid username-password pair")
}

/// The server's words, one line (a reply never contains the password sent).
fn server_words(e: &redis::RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => crate::error::one_line(&format!("{code} {detail}")),
        _ if e.kind() == redis::ErrorKind::AuthenticationFailed => {
            "the server refused the credentials".into()
        }
        _ => crate::error::one_line(&e.to_string()),
    }
}

/// `NOPERM … 'role' command` → the command, upper-cased (`config|get` → `CONFIG GET`).
pub(crate) fn no_perm(user: &str, addr: &Addr, reply: &str) -> Error {
    Error::NoPerm {
        user: user.to_string(),
        command: refused_command(reply),
        addr: addr.clone(),
    }
}

/// The command a `NOPERM … 'config|get' command` reply refuses, upper-cased (`CONFIG GET`),
/// or `a command` when the reply names none.
pub(crate) fn refused_command(reply: &str) -> String {
    reply
        .split('\'')
        .nth(1)
        .map(|c| c.replace('|', " ").to_uppercase())
        .unwrap_or_else(|| "a command".into())
}

/// A command connection from [`Conn`]: the redis crate's multiplexed connection, plus who it
/// authenticated as, so a refusal can name the user.
#[derive(Clone)]
pub struct Con {
    inner: MultiplexedConnection,
    role: Role,
    user: String,
    conn: Conn,
}

impl Con {
    /// The user this connection authenticated as (`default` when none was set).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The error for `cmd` failing on `addr` with `source`: an authentication or permission
    /// refusal is named as such; anything else names the command (never its arguments).
    pub fn error(&self, addr: &Addr, cmd: &Cmd, source: redis::RedisError) -> Error {
        if is_auth_error(&source) {
            return self
                .conn
                .auth_failed(self.role, addr, &server_words(&source));
        }
        if source.code() == Some("NOPERM") {
            return no_perm(&self.user, addr, &source.to_string());
        }
        Error::Command {
            addr: addr.clone(),
            command: command::command_name(cmd),
            source,
        }
    }
}

impl ConnectionLike for Con {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        self.inner.req_packed_command(cmd)
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        self.inner.req_packed_commands(pipeline, offset, count)
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }
}
