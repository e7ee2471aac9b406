//! How the Postgres store reaches its database: libpq's `sslmode` and
//! `sslrootcert` honoured over rustls, and one guard — a database that is
//! not on this machine is never reached in plaintext unless the URL says
//! so (`sslmode=disable`). The store's traffic carries payer session keys
//! and every accepted voucher.
//!
//! | `sslmode` | on this machine (a Unix socket, `localhost`, a loopback address) | elsewhere |
//! |---|---|---|
//! | absent | plaintext | refused: say `verify-full` (or `disable`) |
//! | `disable` | plaintext | plaintext, as asked |
//! | `require` | TLS, the certificate not checked (libpq's meaning: no eavesdropper, but a man in the middle) | same |
//! | `verify-ca` | TLS, the certificate chains to a trusted root | same |
//! | `verify-full` | TLS, chain and host name checked | same |
//! | `allow`, `prefer` | refused: they fall back to plaintext silently | refused |
//!
//! Trusted roots: the PEM file `sslrootcert` names, else the system's.

use rustls::{
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    pki_types::{CertificateDer, ServerName, UnixTime},
    DigitallySignedStruct, SignatureScheme,
};
use std::sync::Arc;
use tokio_postgres::{config::Host, config::SslMode, Client, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

/// A database to connect to, and how.
pub(crate) struct Connect {
    config: tokio_postgres::Config,
    tls: Option<MakeRustlsConnect>,
}

/// `url` without its `sslmode` and `sslrootcert` settings, and their values.
fn split_tls(url: &str) -> (String, Option<String>, Option<String>) {
    let (mut mode, mut root) = (None, None);
    let mut take = |key: &str, value: &str| match key {
        "sslmode" => {
            mode = Some(value.to_string());
            true
        }
        "sslrootcert" => {
            root = Some(value.to_string());
            true
        }
        _ => false,
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            Some((base, query)) => {
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|kv| {
                        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                        !take(k, v)
                    })
                    .collect();
                if kept.is_empty() {
                    base.to_string()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
            None => url.to_string(),
        }
    } else {
        url.split_whitespace()
            .filter(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                !take(k.trim(), v.trim())
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    (rest, mode, root)
}

/// Whether every host of `config` is on this machine.
fn local(config: &tokio_postgres::Config) -> bool {
    let hosts = config.get_hosts();
    !hosts.is_empty()
        && hosts.iter().all(|h| match h {
            Host::Unix(_) => true,
            Host::Tcp(name) => {
                name == "localhost"
                    || name
                        .trim_matches(|c| c == '[' || c == ']')
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }
        })
}

impl Connect {
    /// Reads `url` (a `postgres://` URL or libpq key=value string); the
    /// error says what to change.
    pub(crate) fn parse(url: &str) -> Result<Connect, String> {
        let (rest, mode, root) = split_tls(url);
        let mut config: tokio_postgres::Config = rest
            .parse()
            .map_err(|e| format!("not a database URL: {e}"))?;
        let verify = match mode.as_deref() {
            None if local(&config) => None,
            None => {
                return Err(
                    "the database is not on this machine and the URL has no sslmode: \
                     add sslmode=verify-full (or verify-ca, require), or sslmode=disable to send \
                     payer keys and vouchers in plaintext knowingly"
                        .into(),
                )
            }
            Some("disable") => None,
            Some("require") => Some(Verify::Nothing),
            Some("verify-ca") => Some(Verify::Chain),
            Some("verify-full") => Some(Verify::ChainAndName),
            Some(other) => {
                return Err(format!(
                "sslmode={other} is not taken (allow and prefer fall back to plaintext silently): \
                     use verify-full, verify-ca, require or disable"
            ))
            }
        };
        let tls = match verify {
            None => {
                config.ssl_mode(SslMode::Disable);
                None
            }
            Some(verify) => {
                config.ssl_mode(SslMode::Require);
                Some(MakeRustlsConnect::new(client_config(
                    verify,
                    root.as_deref(),
                )?))
            }
        };
        Ok(Connect { config, tls })
    }

    /// A connection whose driver task runs on the current runtime.
    pub(crate) async fn client(&self) -> Result<Client, tokio_postgres::Error> {
        let client = match &self.tls {
            None => {
                let (client, connection) = self.config.connect(NoTls).await?;
                tokio::spawn(async move {
                    // ends when the client is dropped or the server goes
                    // away; calls on the client then fail with a connection error
                    let _ = connection.await;
                });
                client
            }
            Some(tls) => {
                let (client, connection) = self.config.connect(tls.clone()).await?;
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                client
            }
        };
        Ok(client)
    }
}

/// What a TLS connection checks of the server's certificate.
#[derive(Clone, Copy, Debug)]
enum Verify {
    Nothing,
    Chain,
    ChainAndName,
}

/// The rustls client configuration for `verify`, trusting `root` (a PEM
/// file) or the system's roots.
fn client_config(verify: Verify, root: Option<&str>) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let roots = match verify {
        Verify::Nothing => rustls::RootCertStore::empty(),
        Verify::Chain | Verify::ChainAndName => roots(root)?,
    };
    let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    );
    let config = match verify {
        Verify::ChainAndName => builder
            .with_webpki_verifier(webpki.build().map_err(|e| format!("TLS roots: {e}"))?)
            .with_no_client_auth(),
        Verify::Chain | Verify::Nothing => {
            let inner = match verify {
                Verify::Chain => Some(webpki.build().map_err(|e| format!("TLS roots: {e}"))?),
                _ => None,
            };
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Lenient { inner, provider }))
                .with_no_client_auth()
        }
    };
    Ok(config)
}

/// The trust anchors: `path`'s PEM certificates, else the system's.
fn roots(path: Option<&str>) -> Result<rustls::RootCertStore, String> {
    use rustls_pki_types::pem::PemObject;
    let mut store = rustls::RootCertStore::empty();
    match path {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("sslrootcert {path}: {e}"))?;
            for cert in certs {
                let cert = cert.map_err(|e| format!("sslrootcert {path}: {e}"))?;
                store
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {path}: {e}"))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                // one unreadable system certificate does not stop the others
                let _ = store.add(cert);
            }
        }
    }
    if store.is_empty() {
        return Err("no trusted root certificates: name a CA file with sslrootcert=…".into());
    }
    Ok(store)
}

/// `require` (no certificate check) and `verify-ca` (the chain, not the
/// name): the handshake's signatures are verified all the same.
#[derive(Debug)]
struct Lenient {
    /// The chain check, for `verify-ca`.
    inner: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(inner) = &self.inner else {
            return Ok(ServerCertVerified::assertion());
        };
        match inner.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_settings_are_taken_out_of_either_url_form() {
        assert_eq!(
            split_tls(
                "postgresql://u@db/x?sslmode=verify-full&sslrootcert=/ca.pem&connect_timeout=5"
            ),
            (
                "postgresql://u@db/x?connect_timeout=5".to_string(),
                Some("verify-full".to_string()),
                Some("/ca.pem".to_string())
            )
        );
        assert_eq!(
            split_tls("postgres://u@db/x?sslmode=disable").0,
            "postgres://u@db/x"
        );
        assert_eq!(
            split_tls("host=db user=u sslmode=require dbname=x"),
            (
                "host=db user=u dbname=x".to_string(),
                Some("require".to_string()),
                None
            )
        );
    }

    #[test]
    fn plaintext_to_another_machine_needs_saying() {
        let refused = |url: &str| Connect::parse(url).err().unwrap_or_default();
        assert!(refused("postgresql://u@db.example.com/x").contains("sslmode=verify-full"));
        assert!(refused("host=10.0.0.5 user=u dbname=x").contains("no sslmode"));
        assert!(refused("postgresql://u@db.example.com/x?sslmode=prefer").contains("not taken"));
        assert!(refused("postgresql://u@localhost/x?sslmode=allow").contains("not taken"));
        for ok in [
            "postgresql://u@localhost/x",
            "postgresql://u@127.0.0.1:5432/x",
            "postgresql://u@[::1]/x",
            "host=/var/run/postgresql user=u dbname=x",
            "postgresql://u@db.example.com/x?sslmode=disable",
            "postgresql://u@db.example.com/x?sslmode=require",
        ] {
            assert!(Connect::parse(ok).is_ok(), "{ok}");
        }
        assert!(
            Connect::parse("postgresql://u@db/x?sslmode=verify-full&sslrootcert=/no/such.pem")
                .err()
                .unwrap_or_default()
                .contains("sslrootcert /no/such.pem")
        );
    }
}
