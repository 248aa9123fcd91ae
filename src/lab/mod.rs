//! A throw-away HA cluster on 127.0.0.1: one primary, replicas and Sentinels as local
//! `redis-server` processes, started from writable config files in a state directory.
//!
//! `up` returns only when every Sentinel agrees on the primary and every replica is linked and
//! caught up; `down` stops exactly the PIDs recorded in `lab.json` and removes the directory.

pub(crate) mod config;
pub mod docker;
pub(crate) mod live;
mod periods;
pub mod process;
pub(crate) mod secure;
pub mod stack;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use nix::sys::signal::Signal;
use serde::{Deserialize, Serialize};

use crate::addr::Addr;
use crate::conn::{self, Conn};
use crate::error::{Error, Result};
use crate::sentinel::health::{self, Expect, Health};
pub(crate) use config::Security;
pub use config::SentinelSettings;

/// Everything needed to start a lab.
#[derive(Debug, Clone)]
pub struct LabSpec {
    /// State directory: configs, data dirs, logs and `lab.json`.
    pub dir: PathBuf,
    /// Node ports; the first starts as the primary.
    pub node_ports: Vec<u16>,
    /// Sentinel ports.
    pub sentinel_ports: Vec<u16>,
    /// Sentinel settings.
    pub sentinel: SentinelSettings,
    /// `redis-server` binary (a name looked up on `PATH`, or a path).
    pub redis_server: PathBuf,
    /// How long `up` waits for the cluster to agree and sync.
    pub ready_timeout: Duration,
    /// Passwords: `requirepass` and an ACL user on the nodes, `requirepass` on the Sentinels.
    pub auth: bool,
    /// TLS only, with a throw-away CA.
    pub tls: bool,
}

/// Data nodes in a lab (the first starts as the primary).
pub(crate) const NODES: usize = 3;
/// Sentinels in a lab.
pub(crate) const SENTINELS: usize = 3;

impl LabSpec {
    /// A spec on free ports chosen now: [`NODES`] nodes and [`SENTINELS`] Sentinels, for
    /// drills and tests.
    pub fn ephemeral(dir: PathBuf, sentinel: SentinelSettings) -> Result<LabSpec> {
        let ports = process::free_ports(NODES + SENTINELS)?;
        Ok(LabSpec {
            dir,
            node_ports: ports[..NODES].to_vec(),
            sentinel_ports: ports[NODES..].to_vec(),
            sentinel,
            redis_server: default_redis_server(),
            ready_timeout: Duration::from_secs(30),
            auth: false,
            tls: false,
        })
    }
}

/// `$WARDEN_REDIS_SERVER`, else `redis-server` from `PATH`.
pub fn default_redis_server() -> PathBuf {
    std::env::var_os("WARDEN_REDIS_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("redis-server"))
}

/// A fresh state directory under the system temp dir for an ephemeral lab, kept after this
/// call: the lab removes it when it goes down.
pub(crate) fn temp_state_dir(prefix: &str) -> Result<PathBuf> {
    Ok(tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(Error::io(std::env::temp_dir()))?
        .keep())
}

/// Whether a member is a data node or a Sentinel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A `redis-server` holding data.
    Node,
    /// A `redis-server --sentinel`.
    Sentinel,
}

/// One process of the lab, as recorded in `lab.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Node or Sentinel.
    pub kind: Kind,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its current PID (updated on restart).
    pub pid: u32,
    /// Its config file.
    pub conf: PathBuf,
    /// Its log file.
    pub log: PathBuf,
}

impl Member {
    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> Addr {
        Addr::local(self.port)
    }

    fn name(&self) -> String {
        match self.kind {
            Kind::Node => format!("redis-server on port {}", self.port),
            Kind::Sentinel => format!("sentinel on port {}", self.port),
        }
    }
}

/// How a lab runs its members.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Local `redis-server` processes on 127.0.0.1.
    #[default]
    Process,
    /// Containers on a user network, through the Docker API.
    Docker,
}

/// The backend of the lab recorded in `dir` (records without one are process labs).
pub(crate) fn recorded_backend(dir: &Path) -> Result<Backend> {
    #[derive(Deserialize)]
    struct Head {
        #[serde(default)]
        backend: Backend,
    }
    let text = read_state(dir)?;
    let head: Head = serde_json::from_str(&text).map_err(|e| Error::LabState {
        dir: dir.to_path_buf(),
        message: format!("{STATE_FILE} is not a warden lab record: {e}"),
    })?;
    Ok(head.backend)
}

/// The connection settings a lab recorded in `dir` needs (either backend): the paths of its
/// secrets and certificates, never their values.
pub(crate) fn recorded_conn(dir: &Path) -> Result<conn::Spec> {
    #[derive(Deserialize)]
    struct Head {
        #[serde(default)]
        security: Security,
    }
    let text = read_state(dir)?;
    let head: Head = serde_json::from_str(&text).map_err(|e| Error::LabState {
        dir: dir.to_path_buf(),
        message: format!("{STATE_FILE} is not a warden lab record: {e}"),
    })?;
    Ok(head.security.conn_spec())
}

/// The text of `dir/lab.json`.
fn read_state(dir: &Path) -> Result<String> {
    std::fs::read_to_string(dir.join(STATE_FILE)).map_err(|e| Error::LabState {
        dir: dir.to_path_buf(),
        message: format!("cannot read {STATE_FILE} ({e}); is a lab up here?"),
    })
}

/// Writes `dir/lab.json` atomically (temporary name, then rename).
fn write_state(dir: &Path, json: &str) -> Result<()> {
    let file = dir.join(STATE_FILE);
    let tmp = dir.join(format!("{STATE_FILE}.tmp"));
    std::fs::write(&tmp, json).map_err(Error::io(&tmp))?;
    std::fs::rename(&tmp, &file).map_err(Error::io(&file))
}

/// The persisted part of a lab (`lab.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    #[serde(default)]
    backend: Backend,
    redis_server: PathBuf,
    sentinel: SentinelSettings,
    members: Vec<Member>,
    #[serde(default)]
    security: Security,
}

/// A running lab. A lab started with [`Lab::up`] by this process is stopped when dropped
/// unless [`Lab::detach`] was called; a lab [`Lab::load`]ed from disk is never stopped on drop.
#[derive(Debug)]
pub struct Lab {
    dir: PathBuf,
    state: State,
    children: Vec<Child>,
    owned: bool,
    conn: Conn,
}

const STATE_FILE: &str = "lab.json";

impl Lab {
    /// Starts a lab and waits until it is ready.
    pub async fn up(spec: LabSpec) -> Result<Lab> {
        check_shape(&spec.node_ports, &spec.sentinel_ports)?;
        let binary = process::find_redis_server(&spec.redis_server)?;
        let roles = spec
            .node_ports
            .iter()
            .map(|p| (*p, "lab node"))
            .chain(spec.sentinel_ports.iter().map(|p| (*p, "lab sentinel")));
        for (port, what) in roles {
            if !process::port_free(port) {
                return Err(Error::PortInUse {
                    port,
                    what: what.into(),
                });
            }
        }
        if spec.dir.join(STATE_FILE).exists() {
            return Err(Error::LabState {
                dir: spec.dir.clone(),
                message: "a lab is already recorded here; run `warden lab down` first".into(),
            });
        }
        std::fs::create_dir_all(&spec.dir).map_err(Error::io(&spec.dir))?;
        let dir = std::fs::canonicalize(&spec.dir).map_err(Error::io(&spec.dir))?;
        let security = if spec.auth || spec.tls {
            secure::create(&dir, spec.auth, spec.tls, &[])?
        } else {
            Security::default()
        };
        let secrets = secure::secrets(&security)?;
        let mut lab = Lab {
            dir: dir.clone(),
            conn: Conn::build(&security.conn_spec())?,
            state: State {
                backend: Backend::Process,
                redis_server: binary.clone(),
                sentinel: spec.sentinel.clone(),
                members: Vec::new(),
                security: security.clone(),
            },
            children: Vec::new(),
            owned: true,
        };
        let primary = spec.node_ports[0];
        for &port in &spec.node_ports {
            let replica_of = (port != primary).then_some(primary);
            lab.start_member(Kind::Node, port, |d| {
                let mut c = config::node_conf(port, d, replica_of);
                for (k, v) in config::write_limits(&spec.sentinel) {
                    c.push_str(&format!("{k} {v}\n"));
                }
                if let Some(s) = &secrets {
                    c.push_str(&config::node_auth_lines(s));
                }
                if let Some(t) = &security.tls {
                    c.push_str(&config::tls_lines(port, t));
                }
                c
            })?;
        }
        for &port in &spec.sentinel_ports {
            lab.start_member(Kind::Sentinel, port, |d| {
                let mut c = config::sentinel_conf(port, d, primary, &spec.sentinel);
                if let Some(s) = &secrets {
                    c.push_str(&config::sentinel_auth_lines(&spec.sentinel.master, s));
                }
                if let Some(t) = &security.tls {
                    c.push_str(&config::tls_lines(port, t));
                }
                c
            })?;
        }
        lab.save()?;
        let expect = Expect {
            replicas: Some(spec.node_ports.len() as u32 - 1),
            other_sentinels: Some(spec.sentinel_ports.len().saturating_sub(1) as u32),
            max_lag_bytes: 0,
            quorum: true,
        };
        lab.wait_healthy(&expect, spec.ready_timeout, "the lab did not become ready")
            .await?;
        periods::set(&lab.conn, &lab.sentinels(), &spec.sentinel).await?;
        Ok(lab)
    }

    fn start_member(
        &mut self,
        kind: Kind,
        port: u16,
        conf: impl FnOnce(&Path) -> String,
    ) -> Result<()> {
        let name = match kind {
            Kind::Node => format!("node-{port}"),
            Kind::Sentinel => format!("sentinel-{port}"),
        };
        let data = self.dir.join(&name);
        std::fs::create_dir_all(&data).map_err(Error::io(&data))?;
        let conf_path = self.dir.join(format!("{name}.conf"));
        // 0600: with --auth the file holds the passwords.
        secure::write_private(&conf_path, conf(&data).as_bytes())?;
        let log = self.dir.join(format!("{name}.log"));
        let child = process::spawn(
            &self.state.redis_server,
            &conf_path,
            kind == Kind::Sentinel,
            &log,
        )?;
        self.state.members.push(Member {
            kind,
            port,
            pid: child.id(),
            conf: conf_path,
            log,
        });
        self.children.push(child);
        Ok(())
    }

    /// Polls the health check until it passes or `timeout` ends; a member that exits
    /// meanwhile ends the wait at once.
    pub(crate) async fn wait_healthy(
        &mut self,
        expect: &Expect,
        timeout: Duration,
        what: &str,
    ) -> Result<Health> {
        let (sentinels, master) = (self.sentinels(), self.state.sentinel.master.clone());
        let conn = self.conn.clone();
        health::wait(
            &conn,
            &sentinels,
            &master,
            expect,
            timeout,
            what,
            async || self.check_alive(),
        )
        .await
    }

    /// Errors if a process this lab started has exited (with its log file in the message).
    fn check_alive(&mut self) -> Result<()> {
        for child in &mut self.children {
            if let Ok(Some(_)) = child.try_wait() {
                let pid = child.id();
                let m = self.state.members.iter().find(|m| m.pid == pid);
                if let Some(m) = m {
                    return Err(Error::ProcessExited {
                        what: m.name(),
                        log: m.log.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Opens the lab recorded in `dir` (started earlier by `warden lab up`).
    pub fn load(dir: &Path) -> Result<Lab> {
        if recorded_backend(dir)? == Backend::Docker {
            return Err(Error::LabState {
                dir: dir.to_path_buf(),
                message: "this is a docker lab; process faults cannot reach it".into(),
            });
        }
        let text = read_state(dir)?;
        let state: State = serde_json::from_str(&text).map_err(|e| Error::LabState {
            dir: dir.to_path_buf(),
            message: format!("{STATE_FILE} is not a warden lab record: {e}"),
        })?;
        Ok(Lab {
            dir: dir.to_path_buf(),
            conn: Conn::build(&state.security.conn_spec())?,
            state,
            children: Vec::new(),
            owned: false,
        })
    }

    /// Writes `lab.json` atomically (temporary name, then rename).
    fn save(&self) -> Result<()> {
        let json = serde_json::to_string_pretty(&self.state).expect("lab state serializes");
        write_state(&self.dir, &json)
    }

    /// Keeps the processes running after this value is dropped (for `warden lab up`).
    pub(crate) fn detach(mut self) {
        self.owned = false;
        self.children.clear();
    }

    /// Stops every recorded process and removes the state directory.
    pub fn down(mut self) -> Result<()> {
        self.stop();
        std::fs::remove_dir_all(&self.dir).map_err(Error::io(&self.dir))
    }

    fn stop(&mut self) {
        let procs: Vec<_> = self.state.members.iter().map(|m| (m.pid, m.port)).collect();
        process::stop_all(&procs, Duration::from_secs(5));
        // Reap our own children so none is left a zombie.
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.children.clear();
        self.owned = false;
    }

    /// How warden connects to this lab (its recorded credentials and certificates).
    pub fn conn(&self) -> &Conn {
        &self.conn
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The master name the Sentinels monitor.
    pub fn master(&self) -> &str {
        &self.state.sentinel.master
    }

    /// Every member, nodes first.
    pub fn members(&self) -> &[Member] {
        &self.state.members
    }

    /// Sentinel addresses.
    pub fn sentinels(&self) -> Vec<Addr> {
        self.of_kind(Kind::Sentinel)
    }

    /// Node addresses.
    pub fn nodes(&self) -> Vec<Addr> {
        self.of_kind(Kind::Node)
    }

    fn of_kind(&self, kind: Kind) -> Vec<Addr> {
        self.state
            .members
            .iter()
            .filter(|m| m.kind == kind)
            .map(Member::addr)
            .collect()
    }

    /// The member at `addr`, if it belongs to this lab.
    pub fn member(&self, addr: &Addr) -> Result<&Member> {
        self.state
            .members
            .iter()
            .find(|m| &m.addr() == addr || (is_loopback(&addr.host) && m.port == addr.port))
            .ok_or_else(|| Error::LabState {
                dir: self.dir.clone(),
                message: format!("{addr} is not a process of this lab"),
            })
    }

    /// Whether the member's recorded process is alive.
    pub fn is_running(&mut self, addr: &Addr) -> Result<bool> {
        let m = self.member(addr)?.clone();
        self.reap();
        Ok(process::is_ours(m.pid, m.port))
    }

    /// Sends `sig` to the member at `addr`.
    pub fn signal(&mut self, addr: &Addr, sig: Signal) -> Result<()> {
        let m = self.member(addr)?;
        process::signal(m.pid, sig)?;
        if matches!(sig, Signal::SIGKILL | Signal::SIGTERM) {
            self.reap();
        }
        Ok(())
    }

    /// Reaps children that exited, so their PIDs do not linger as zombies.
    fn reap(&mut self) {
        self.children
            .retain_mut(|c| !matches!(c.try_wait(), Ok(Some(_))));
    }

    /// Starts the member at `addr` again from its config file (after a kill or stop) and
    /// records its new PID.
    pub fn restart(&mut self, addr: &Addr) -> Result<()> {
        let m = self.member(addr)?.clone();
        self.reap();
        if process::is_ours(m.pid, m.port) {
            return Err(Error::LabState {
                dir: self.dir.clone(),
                message: format!("cannot restart {}: it is still running", m.name()),
            });
        }
        let child = process::spawn(
            &self.state.redis_server,
            &m.conf,
            m.kind == Kind::Sentinel,
            &m.log,
        )?;
        let pid = child.id();
        if let Some(rec) = self.state.members.iter_mut().find(|x| x.port == m.port) {
            rec.pid = pid;
        }
        if self.owned {
            self.children.push(child);
        }
        self.save()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.owned {
            self.stop();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Refuses port lists that do not give the lab's shape ([`NODES`] node ports, [`SENTINELS`]
/// Sentinel ports, all distinct) before anything starts.
fn check_shape(nodes: &[u16], sentinels: &[u16]) -> Result<()> {
    let list = |ports: &[u16]| {
        let p: Vec<String> = ports.iter().map(u16::to_string).collect();
        p.join(",")
    };
    for (ports, want, what, flag) in [
        (nodes, NODES, "node", "--ports"),
        (sentinels, SENTINELS, "Sentinel", "--sentinel-ports"),
    ] {
        if ports.len() != want {
            return Err(Error::Usage(format!(
                "{flag} {}: a lab has {NODES} nodes and {SENTINELS} Sentinels, so give {want} {what} ports, not {}",
                list(ports),
                ports.len()
            )));
        }
    }
    let all: Vec<u16> = nodes.iter().chain(sentinels).copied().collect();
    if let Some(p) = all
        .iter()
        .find(|p| all.iter().filter(|q| q == p).count() > 1)
    {
        return Err(Error::Usage(format!(
            "port {p} is given more than once in --ports {} --sentinel-ports {}",
            list(nodes),
            list(sentinels)
        )));
    }
    Ok(())
}

fn is_loopback(host: &str) -> bool {
    host == "127.0.0.1" || host == "localhost"
}
