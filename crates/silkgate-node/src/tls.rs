//! TLS configuration: one crypto provider (aws-lc-rs) everywhere; peers are trusted only
//! through the CA certificates on the signed trust list.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use silkgate_model::{TrustList, TrustedNode};

/// Why a TLS configuration could not be built or a peer certificate was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file or field did not parse.
    #[error("{what}: not valid PEM ({reason})")]
    Pem {
        /// Which certificate or key.
        what: String,
        /// Why.
        reason: String,
    },
    /// rustls refused the configuration or the certificate.
    #[error("{0}")]
    Rustls(#[from] rustls::Error),
    /// The verifier could not be built.
    #[error("verifier: {0}")]
    Verifier(String),
}

/// The one crypto provider of the node.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Parses every certificate in a PEM text.
///
/// # Errors
/// [`TlsError::Pem`].
pub fn certs_from_pem(what: &str, pem: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem.as_bytes()).collect();
    let certs = certs.map_err(|e| TlsError::Pem {
        what: what.to_owned(),
        reason: e.to_string(),
    })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            what: what.to_owned(),
            reason: "no certificate found".into(),
        });
    }
    Ok(certs)
}

/// Parses a private key PEM.
///
/// # Errors
/// [`TlsError::Pem`].
pub fn key_from_pem(what: &str, pem: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| TlsError::Pem {
        what: what.to_owned(),
        reason: e.to_string(),
    })
}

/// A root store holding the CA certificates of the given nodes.
///
/// # Errors
/// [`TlsError`] if a CA certificate does not parse.
pub fn roots<'a>(
    nodes: impl IntoIterator<Item = &'a TrustedNode>,
) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for node in nodes {
        for cert in certs_from_pem(
            &format!("trust list CA of {}", node.node_id),
            &node.ca_cert_pem,
        )? {
            roots.add(cert)?;
        }
    }
    Ok(roots)
}

/// The server side: our certificate; client certificates are optional (organisations may use
/// a token alone) but any certificate presented must chain to a CA on the trust list, so a
/// peer whose CA is not listed is refused during the handshake.
///
/// # Errors
/// [`TlsError`].
pub fn server_config(
    trust: &TrustList,
    cert_pem: &str,
    key_pem: &str,
) -> Result<ServerConfig, TlsError> {
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots(&trust.nodes)?), provider())
            .allow_unauthenticated()
            .build()
            .map_err(|e| TlsError::Verifier(e.to_string()))?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            certs_from_pem("TLS certificate", cert_pem)?,
            key_from_pem("TLS key", key_pem)?,
        )?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The client side towards peers: trust only listed CAs, present our certificate.
///
/// # Errors
/// [`TlsError`].
pub fn peer_client_config(
    trust: &TrustList,
    cert_pem: &str,
    key_pem: &str,
) -> Result<ClientConfig, TlsError> {
    let verifier =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots(&trust.nodes)?), provider())
            .build()
            .map_err(|e| TlsError::Verifier(e.to_string()))?;
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_webpki_verifier(verifier)
        .with_client_auth_cert(
            certs_from_pem("TLS certificate", cert_pem)?,
            key_from_pem("TLS key", key_pem)?,
        )?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// A client configuration for an organisation: trust the node's CA, optionally present the
/// organisation's certificate.
///
/// # Errors
/// [`TlsError`].
pub fn org_client_config(
    ca_pem: &str,
    identity: Option<(&str, &str)>,
) -> Result<ClientConfig, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in certs_from_pem("node CA", ca_pem)? {
        roots.add(cert)?;
    }
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let mut config = match identity {
        Some((cert, key)) => builder.with_client_auth_cert(
            certs_from_pem("client certificate", cert)?,
            key_from_pem("client key", key)?,
        )?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Whether `chain` (as the TLS layer received it) was issued by `node`'s CA: binds the TLS
/// peer to the node whose key signed the message.
pub fn chain_issued_by(node: &TrustedNode, chain: &[CertificateDer<'static>]) -> bool {
    let Some((end, intermediates)) = chain.split_first() else {
        return false;
    };
    let Ok(roots) = roots([node]) else {
        return false;
    };
    let Ok(verifier) =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider()).build()
    else {
        return false;
    };
    verifier
        .verify_client_cert(end, intermediates, UnixTime::now())
        .is_ok()
}

/// Whether the end-entity certificate of `chain` is `node`'s own: one naming the node id among
/// its subject names, as the node's TLS certificate does ([`crate::identity::init_node`]) and
/// an organisation's client certificate, issued by the same CA, does not. Chain it first
/// with [`chain_issued_by`].
pub fn names_node(node: &TrustedNode, chain: &[CertificateDer<'static>]) -> bool {
    let Some(end) = chain.first() else {
        return false;
    };
    let Ok(name) = rustls::pki_types::ServerName::try_from(node.node_id.as_str()) else {
        return false;
    };
    rustls::server::ParsedCertificate::try_from(end)
        .and_then(|parsed| rustls::client::verify_server_name(&parsed, &name))
        .is_ok()
}
