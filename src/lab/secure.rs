//! `lab up --auth` / `--tls`: random secrets and a throw-away CA with server and client
//! certificates (generated with rcgen, no `openssl`), written 0600 into the lab directory
//! (itself made 0700). `lab.json` records the paths ([`Security`]), never the values; config
//! files that must hold a secret are written 0600 too, and nothing secret goes on a command
//! line.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::RngCore;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

use super::config::{AuthFiles, LAB_USER, Secrets, Security, TlsFiles};
use crate::conn::{Secret, Source, read_secret};
use crate::error::{Error, Result};

/// The name every lab server certificate carries (besides `localhost`, `127.0.0.1` and the
/// given hosts).
pub(crate) const SERVER_NAME: &str = "warden-lab";

/// Writes `bytes` to `path`, created 0600 (replacing any file there).
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(Error::io(path))?;
    f.write_all(bytes).map_err(Error::io(path))
}

/// Makes `dir` readable by its owner only.
pub(crate) fn lock_dir(dir: &Path) -> Result<()> {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(Error::io(dir))
}

fn random_secret() -> Secret {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// Creates the secrets and certificates asked for under `dir/secrets` and `dir/tls`; `hosts`
/// are extra names the server certificate carries (container names).
pub(crate) fn create(dir: &Path, auth: bool, tls: bool, hosts: &[String]) -> Result<Security> {
    lock_dir(dir)?;
    let mut security = Security::default();
    if auth {
        let d = dir.join("secrets");
        std::fs::create_dir_all(&d).map_err(Error::io(&d))?;
        lock_dir(&d)?;
        let files = AuthFiles {
            user: LAB_USER.into(),
            password_file: d.join("warden.pass"),
            admin_password_file: d.join("default.pass"),
            sentinel_password_file: d.join("sentinel.pass"),
        };
        for f in [
            &files.password_file,
            &files.admin_password_file,
            &files.sentinel_password_file,
        ] {
            write_private(f, format!("{}\n", random_secret().expose()).as_bytes())?;
        }
        security.auth = Some(files);
    }
    if tls {
        let d = dir.join("tls");
        std::fs::create_dir_all(&d).map_err(Error::io(&d))?;
        security.tls = Some(certificates(&d, hosts)?);
    }
    Ok(security)
}

/// Reads back the secrets of a lab with `--auth`.
pub(crate) fn secrets(security: &Security) -> Result<Option<Secrets>> {
    let Some(a) = &security.auth else {
        return Ok(None);
    };
    let read = |p: &PathBuf| read_secret(&Source::File(p.clone()));
    Ok(Some(Secrets {
        user: read(&a.password_file)?,
        admin: read(&a.admin_password_file)?,
        sentinel: read(&a.sentinel_password_file)?,
    }))
}

fn cert_error(e: rcgen::Error) -> Error {
    Error::Tls {
        message: format!("cannot generate the lab's certificates: {e}"),
    }
}

/// A CA, a server certificate for `localhost`, `127.0.0.1`, [`SERVER_NAME`] and `hosts`, and
/// a client certificate, all signed by the CA.
fn certificates(d: &Path, hosts: &[String]) -> Result<TlsFiles> {
    let ca_key = KeyPair::generate().map_err(cert_error)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(cert_error)?;
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "warden lab CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(cert_error)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut names = vec![
        SERVER_NAME.to_string(),
        "localhost".to_string(),
        "127.0.0.1".to_string(),
    ];
    names.extend(hosts.iter().cloned());
    let server_key = KeyPair::generate().map_err(cert_error)?;
    let mut server = CertificateParams::new(names).map_err(cert_error)?;
    server
        .distinguished_name
        .push(DnType::CommonName, SERVER_NAME);
    let server_cert = server.signed_by(&server_key, &issuer).map_err(cert_error)?;

    let client_key = KeyPair::generate().map_err(cert_error)?;
    let mut client = CertificateParams::new(vec!["warden".to_string()]).map_err(cert_error)?;
    client.distinguished_name.push(DnType::CommonName, "warden");
    let client_cert = client.signed_by(&client_key, &issuer).map_err(cert_error)?;

    let files = TlsFiles {
        ca: d.join("ca.crt"),
        server_cert: d.join("server.crt"),
        server_key: d.join("server.key"),
        client_cert: d.join("client.crt"),
        client_key: d.join("client.key"),
        server_name: None,
    };
    write_private(&files.ca, ca_cert.pem().as_bytes())?;
    write_private(&files.server_cert, server_cert.pem().as_bytes())?;
    write_private(&files.server_key, server_key.serialize_pem().as_bytes())?;
    write_private(&files.client_cert, client_cert.pem().as_bytes())?;
    write_private(&files.client_key, client_key.serialize_pem().as_bytes())?;
    Ok(files)
}
