//! How every command that reaches a deployment connects: the shared connection flags.

use std::path::PathBuf;

use clap::Args;

/// How to connect: credentials of the data nodes and of the Sentinels, TLS, and the hostname
/// map. Secrets come from a file or an environment variable; a `--password` value is
/// accepted but shows in `ps`.
#[derive(Debug, Clone, Default, Args)]
pub struct ConnArgs {
    /// ACL user on the data nodes (default: the `default` user).
    #[arg(long, env = "WARDEN_REDIS_USER")]
    pub user: Option<String>,
    /// Password of the data nodes. Prefer WARDEN_REDIS_PASSWORD or --password-file: a flag
    /// value shows in `ps`.
    #[arg(long, env = "WARDEN_REDIS_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// File holding the data nodes' password (wins over --password).
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// ACL user on the Sentinels (default: the `default` user).
    #[arg(long, env = "WARDEN_SENTINEL_USER")]
    pub sentinel_user: Option<String>,
    /// Password of the Sentinels (their own requirepass or ACL user). Prefer
    /// WARDEN_SENTINEL_PASSWORD or --sentinel-password-file.
    #[arg(long, env = "WARDEN_SENTINEL_PASSWORD", hide_env_values = true)]
    pub sentinel_password: Option<String>,
    /// File holding the Sentinels' password (wins over --sentinel-password).
    #[arg(long)]
    pub sentinel_password_file: Option<PathBuf>,
    /// TLS to the data nodes and the Sentinels.
    #[arg(long, conflicts_with_all = ["tls_nodes", "tls_sentinels"])]
    pub tls: bool,
    /// TLS to the data nodes only.
    #[arg(long, conflicts_with = "tls_sentinels")]
    pub tls_nodes: bool,
    /// TLS to the Sentinels only.
    #[arg(long)]
    pub tls_sentinels: bool,
    /// PEM file of the CA that signs the servers' certificates (default: the system's).
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
    /// PEM client certificate (for tls-auth-clients yes).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The name the servers' certificates must carry (default: the host connected to).
    #[arg(long)]
    pub tls_server_name: Option<String>,
    /// Accept any server certificate (throw-away test setups only).
    #[arg(long)]
    pub tls_insecure: bool,
    /// Connect to IP whenever NAME is given or announced by a Sentinel (repeatable, like
    /// curl's --resolve); reports and TLS keep the name.
    #[arg(long, value_name = "NAME=IP")]
    pub resolve: Vec<crate::conn::Resolve>,
}
