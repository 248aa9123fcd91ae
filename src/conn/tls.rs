//! TLS for every connection: a rustls client configuration built once from the CA, the
//! optional client certificate and key, and the insecure switch, then used by
//! `tokio-rustls` for node, Sentinel, Pub/Sub and `SYNC` streams alike.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use super::spec::TlsSpec;
use crate::error::{Error, Result};

/// A ready TLS client: the rustls configuration and the name certificates must carry.
#[derive(Clone)]
pub(crate) struct Tls {
    pub(super) config: Arc<ClientConfig>,
    /// Overrides the host connected to as the expected certificate name.
    pub(super) server_name: Option<String>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

fn tls_error(message: String) -> Error {
    Error::Tls { message }
}

fn read(what: &str, path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| tls_error(format!("{what} {}: {e}", path.display())))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

impl Tls {
    /// Reads the files `spec` names and builds the client configuration; a missing or
    /// unreadable file, or a certificate without its key, is an error now, before any
    /// connection.
    pub(crate) fn build(spec: &TlsSpec) -> Result<Tls> {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_error(format!("TLS setup: {e}")))?;
        let builder = if spec.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAny(provider())))
        } else {
            let mut roots = RootCertStore::empty();
            match &spec.ca {
                Some(ca) => {
                    let pem = read("--tls-ca", ca)?;
                    for cert in CertificateDer::pem_slice_iter(&pem) {
                        let cert = cert.map_err(|e| {
                            tls_error(format!(
                                "--tls-ca {}: not PEM certificates: {e}",
                                ca.display()
                            ))
                        })?;
                        roots
                            .add(cert)
                            .map_err(|e| tls_error(format!("--tls-ca {}: {e}", ca.display())))?;
                    }
                    if roots.is_empty() {
                        return Err(tls_error(format!(
                            "--tls-ca {}: no certificate in the file",
                            ca.display()
                        )));
                    }
                }
                None => {
                    let found = rustls_native_certs::load_native_certs();
                    for cert in found.certs {
                        let _ = roots.add(cert);
                    }
                    if roots.is_empty() {
                        return Err(tls_error(
                            "no system CA certificates found; give --tls-ca".into(),
                        ));
                    }
                }
            }
            builder.with_root_certificates(roots)
        };
        let config = match (&spec.cert, &spec.key) {
            (Some(cert), Some(key)) => {
                let chain = CertificateDer::pem_slice_iter(&read("--tls-cert", cert)?)
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|e| tls_error(format!("--tls-cert {}: {e}", cert.display())))?;
                let key_der = PrivateKeyDer::from_pem_slice(&read("--tls-key", key)?)
                    .map_err(|e| tls_error(format!("--tls-key {}: {e}", key.display())))?;
                builder
                    .with_client_auth_cert(chain, key_der)
                    .map_err(|e| tls_error(format!("--tls-cert/--tls-key: {e}")))?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => {
                return Err(tls_error(
                    "--tls-cert and --tls-key go together: give both or neither".into(),
                ));
            }
        };
        if let Some(name) = &spec.server_name {
            ServerName::try_from(name.as_str())
                .map_err(|e| tls_error(format!("--tls-server-name {name:?}: {e}")))?;
        }
        Ok(Tls {
            config: Arc::new(config),
            server_name: spec.server_name.clone(),
        })
    }

    /// The name the server's certificate must carry when connecting to `host`.
    pub(super) fn name_for(&self, host: &str) -> Result<ServerName<'static>> {
        let name = self.server_name.as_deref().unwrap_or(host);
        ServerName::try_from(name.to_string())
            .map_err(|e| tls_error(format!("{name:?} is not a TLS server name: {e}")))
    }
}

/// `--tls-insecure`: accepts any certificate (signatures are still checked).
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
