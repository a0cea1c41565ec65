//! Node identity on disk: configuration, Ed25519 signing key, the node's X.509 CA, its TLS
//! certificate, the operator token and the trust list. `silkgate init` writes these once.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use silkgate_model::{Signed, StateCode, TrustList, TrustedNode};

/// Why a node's files could not be created or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file's content is not what it should be.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Certificate generation failed.
    #[error("certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// The directory already holds a node.
    #[error("{path} already holds a node configuration; refusing to overwrite its keys")]
    Exists {
        /// The configuration file found.
        path: PathBuf,
    },
}

/// The node configuration file (`silkgate.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeConfig {
    /// Stable node identifier, e.g. `node-kz`.
    pub node_id: String,
    /// The state this node serves.
    pub state: StateCode,
    /// Address to listen on, e.g. `127.0.0.1:7443`.
    pub listen: String,
    /// Base URL other nodes and clients use.
    pub public_url: String,
    /// Data directory for the store, relative to the configuration file's directory.
    pub data_dir: String,
    /// Hex Ed25519 public key of the committee that signs the trust list.
    pub committee_key: String,
    /// SHA-256 (hex) of the operator's API token.
    pub operator_token_sha256: String,
}

/// Names of the files in a node directory.
pub mod files {
    /// Configuration.
    pub const CONFIG: &str = "silkgate.toml";
    /// Ed25519 signing key (PKCS#8 PEM, 0600).
    pub const SIGNING_KEY: &str = "keys/node-signing.key";
    /// CA private key (PKCS#8 PEM, 0600).
    pub const CA_KEY: &str = "keys/ca.key";
    /// CA certificate.
    pub const CA_CERT: &str = "ca.crt";
    /// TLS private key (0600).
    pub const TLS_KEY: &str = "keys/tls.key";
    /// TLS certificate (server, and client when calling peers).
    pub const TLS_CERT: &str = "tls.crt";
    /// Operator API token (0600).
    pub const OPERATOR_TOKEN: &str = "keys/operator.token";
    /// Signed trust list.
    pub const TRUST_LIST: &str = "trust-list.json";
    /// Committee key, written only by a stand-alone `init` that signs its own one-node list.
    pub const COMMITTEE_KEY: &str = "keys/committee.key";
}

/// Everything a running node needs from its directory.
pub struct NodeIdentity {
    /// The directory.
    pub dir: PathBuf,
    /// The configuration.
    pub config: NodeConfig,
    /// Signs federation messages, manifests and receipts.
    pub signing_key: SigningKey,
    /// PEM of the CA certificate.
    pub ca_cert_pem: String,
    /// The CA key, to issue organisation certificates.
    pub ca_key: KeyPair,
    /// PEM of the TLS certificate.
    pub tls_cert_pem: String,
    /// PEM of the TLS key.
    pub tls_key_pem: String,
}

impl std::fmt::Debug for NodeIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeIdentity")
            .field("dir", &self.dir)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Options of [`init_node`].
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The state served.
    pub state: StateCode,
    /// Node directory to create.
    pub dir: PathBuf,
    /// Listen address.
    pub listen: String,
    /// Public URL; defaults to `https://<listen>`.
    pub public_url: Option<String>,
    /// The committee's public key; `None` makes a stand-alone node that signs its own
    /// one-node trust list with a committee key of its own.
    pub committee_key: Option<ed25519_dalek::VerifyingKey>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> IdentityError + '_ {
    move |source| IdentityError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `contents` to `path`, creating parent directories; secret files get mode 0600 from
/// creation, so the key is never readable by others even briefly.
fn write_file(path: &Path, contents: &[u8], secret: bool) -> Result<(), IdentityError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let _ = secret;
    let mut f = opts.open(path).map_err(io(path))?;
    f.write_all(contents).map_err(io(path))?;
    f.sync_all().map_err(io(path))?;
    Ok(())
}

fn read_file(path: &Path) -> Result<String, IdentityError> {
    std::fs::read_to_string(path).map_err(io(path))
}

/// The CA's parameters, rebuilt identically whenever the node issues a certificate (the
/// issuer name and key usages must match the CA certificate written at init).
fn ca_params(node_id: &str, state: StateCode) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, state.as_str());
    dn.push(DnType::OrganizationName, "Silkgate national node");
    dn.push(DnType::CommonName, format!("{node_id} CA"));
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2035, 1, 1);
    params
}

/// SHA-256 (hex) of a token or certificate, as stored instead of the secret itself.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A new random bearer token (256 bits, hex).
pub fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Creates a node directory: keys (0600), CA and TLS certificates, configuration, operator
/// token and, for a stand-alone node, a one-node trust list. Returns the loaded identity.
///
/// # Errors
/// [`IdentityError::Exists`] if the directory already holds a node; I/O or certificate errors.
pub fn init_node(opts: &InitOptions) -> Result<NodeIdentity, IdentityError> {
    let dir = &opts.dir;
    let config_path = dir.join(files::CONFIG);
    if config_path.exists() {
        return Err(IdentityError::Exists { path: config_path });
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let node_id = format!("node-{}", opts.state.as_str().to_lowercase());

    let signing_key = SigningKey::generate(&mut rand::rngs::OsRng);
    let pem = signing_key
        .to_pkcs8_pem(Default::default())
        .map_err(|e| IdentityError::Invalid {
            path: dir.join(files::SIGNING_KEY),
            reason: e.to_string(),
        })?;
    write_file(&dir.join(files::SIGNING_KEY), pem.as_bytes(), true)?;

    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params(&node_id, opts.state).self_signed(&ca_key)?;
    write_file(
        &dir.join(files::CA_KEY),
        ca_key.serialize_pem().as_bytes(),
        true,
    )?;
    write_file(&dir.join(files::CA_CERT), ca_cert.pem().as_bytes(), false)?;

    let issuer = Issuer::new(ca_params(&node_id, opts.state), &ca_key);
    let tls_key = KeyPair::generate()?;
    let host = opts
        .public_url
        .as_deref()
        .and_then(|u| u.split("://").nth(1))
        .and_then(|rest| rest.split([':', '/']).next())
        .unwrap_or("localhost")
        .to_owned();
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        node_id.clone(),
    ];
    if !names.contains(&host) {
        names.push(host);
    }
    let mut tls_params = CertificateParams::new(names)?;
    tls_params
        .distinguished_name
        .push(DnType::CommonName, node_id.clone());
    tls_params
        .distinguished_name
        .push(DnType::CountryName, opts.state.as_str());
    tls_params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    tls_params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    tls_params.not_after = rcgen::date_time_ymd(2035, 1, 1);
    let tls_cert = tls_params.signed_by(&tls_key, &issuer)?;
    write_file(
        &dir.join(files::TLS_KEY),
        tls_key.serialize_pem().as_bytes(),
        true,
    )?;
    write_file(&dir.join(files::TLS_CERT), tls_cert.pem().as_bytes(), false)?;

    let operator_token = new_token();
    write_file(
        &dir.join(files::OPERATOR_TOKEN),
        operator_token.as_bytes(),
        true,
    )?;

    let committee_key = match opts.committee_key {
        Some(k) => k,
        None => {
            let committee = SigningKey::generate(&mut rand::rngs::OsRng);
            write_file(
                &dir.join(files::COMMITTEE_KEY),
                hex::encode(committee.to_bytes()).as_bytes(),
                true,
            )?;
            committee.verifying_key()
        }
    };
    let config = NodeConfig {
        node_id,
        state: opts.state,
        listen: opts.listen.clone(),
        public_url: opts
            .public_url
            .clone()
            .unwrap_or_else(|| format!("https://{}", opts.listen)),
        data_dir: "data".into(),
        committee_key: hex::encode(committee_key.to_bytes()),
        operator_token_sha256: sha256_hex(operator_token.as_bytes()),
    };
    let toml = toml::to_string(&config).map_err(|e| IdentityError::Invalid {
        path: config_path.clone(),
        reason: e.to_string(),
    })?;
    write_file(&config_path, toml.as_bytes(), false)?;

    let identity = load_identity(dir)?;
    if opts.committee_key.is_none() {
        let committee_hex = read_file(&dir.join(files::COMMITTEE_KEY))?;
        let committee = parse_signing_key_hex(&committee_hex, &dir.join(files::COMMITTEE_KEY))?;
        let list = TrustList {
            version: 1,
            issued_at: silkgate_model::Clock::system().now_unix(),
            nodes: vec![identity.trusted_node()],
        };
        write_trust_list(dir, &sign_trust_list(list, &committee)?)?;
    }
    Ok(identity)
}

fn parse_signing_key_hex(text: &str, path: &Path) -> Result<SigningKey, IdentityError> {
    let bytes: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| IdentityError::Invalid {
            path: path.to_owned(),
            reason: "expected 64 hex digits".into(),
        })?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// Signs a trust list with the committee key.
///
/// # Errors
/// [`IdentityError::Invalid`] if the list cannot be canonicalised.
pub fn sign_trust_list(
    list: TrustList,
    committee: &SigningKey,
) -> Result<Signed<TrustList>, IdentityError> {
    Signed::sign(list, "committee", committee).map_err(|e| IdentityError::Invalid {
        path: PathBuf::from(files::TRUST_LIST),
        reason: e.to_string(),
    })
}

/// Writes a signed trust list into a node directory.
///
/// # Errors
/// I/O errors.
pub fn write_trust_list(dir: &Path, list: &Signed<TrustList>) -> Result<(), IdentityError> {
    let json = serde_json::to_vec_pretty(list).map_err(|e| IdentityError::Invalid {
        path: dir.join(files::TRUST_LIST),
        reason: e.to_string(),
    })?;
    write_file(&dir.join(files::TRUST_LIST), &json, false)
}

/// Changes the listen address and public URL in a node's configuration (the TLS certificate
/// names the host, not the port, so it stays valid).
///
/// # Errors
/// I/O errors or [`IdentityError::Invalid`].
pub fn set_address(dir: &Path, listen: &str, public_url: &str) -> Result<(), IdentityError> {
    let path = dir.join(files::CONFIG);
    let mut config: NodeConfig =
        toml::from_str(&read_file(&path)?).map_err(|e| IdentityError::Invalid {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    config.listen = listen.to_owned();
    config.public_url = public_url.to_owned();
    let text = toml::to_string(&config).map_err(|e| IdentityError::Invalid {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    write_file(&path, text.as_bytes(), false)
}

/// Reads a node directory written by [`init_node`].
///
/// # Errors
/// I/O errors or [`IdentityError::Invalid`] for a malformed file.
pub fn load_identity(dir: &Path) -> Result<NodeIdentity, IdentityError> {
    let config_path = dir.join(files::CONFIG);
    let config: NodeConfig =
        toml::from_str(&read_file(&config_path)?).map_err(|e| IdentityError::Invalid {
            path: config_path.clone(),
            reason: e.to_string(),
        })?;
    let key_path = dir.join(files::SIGNING_KEY);
    let signing_key =
        SigningKey::from_pkcs8_pem(&read_file(&key_path)?).map_err(|e| IdentityError::Invalid {
            path: key_path.clone(),
            reason: e.to_string(),
        })?;
    let ca_key_path = dir.join(files::CA_KEY);
    let ca_key =
        KeyPair::from_pem(&read_file(&ca_key_path)?).map_err(|e| IdentityError::Invalid {
            path: ca_key_path.clone(),
            reason: e.to_string(),
        })?;
    Ok(NodeIdentity {
        dir: dir.to_owned(),
        signing_key,
        ca_cert_pem: read_file(&dir.join(files::CA_CERT))?,
        ca_key,
        tls_cert_pem: read_file(&dir.join(files::TLS_CERT))?,
        tls_key_pem: read_file(&dir.join(files::TLS_KEY))?,
        config,
    })
}

/// A certificate and key issued by the node's CA to an organisation.
#[derive(Debug, Clone)]
pub struct IssuedCert {
    /// Certificate PEM.
    pub cert_pem: String,
    /// Private key PEM (given to the organisation once, never stored by the node).
    pub key_pem: String,
    /// SHA-256 of the certificate DER, hex.
    pub cert_sha256: String,
}

impl NodeIdentity {
    /// This node's entry for the trust list.
    pub fn trusted_node(&self) -> TrustedNode {
        TrustedNode {
            node_id: self.config.node_id.clone(),
            state: self.config.state,
            url: self.config.public_url.clone(),
            ca_cert_pem: self.ca_cert_pem.clone(),
            signing_key: hex::encode(self.signing_key.verifying_key().to_bytes()),
        }
    }

    /// The data directory of the store.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join(&self.config.data_dir)
    }

    /// Issues a client certificate for an organisation, naming it in the subject.
    ///
    /// # Errors
    /// [`IdentityError::Certificate`].
    pub fn issue_client_cert(&self, org_id: &str, name: &str) -> Result<IssuedCert, IdentityError> {
        let issuer = Issuer::new(
            ca_params(&self.config.node_id, self.config.state),
            &self.ca_key,
        );
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, org_id);
        params
            .distinguished_name
            .push(DnType::OrganizationName, name);
        params
            .distinguished_name
            .push(DnType::CountryName, self.config.state.as_str());
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.not_before = rcgen::date_time_ymd(2025, 1, 1);
        params.not_after = rcgen::date_time_ymd(2030, 1, 1);
        let cert = params.signed_by(&key, &issuer)?;
        Ok(IssuedCert {
            cert_sha256: sha256_hex(cert.der()),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}
