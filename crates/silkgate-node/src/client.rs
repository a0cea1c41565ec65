//! A typed client of the node API for organisations and operators (used by the CLI, the demo
//! and the tests). It verifies what it fetches: a delivery is decrypted only after the
//! provider node's signature on the manifest checks out against the trust list, and the
//! plaintext must hash to the manifest's value.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use futures::StreamExt as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use silkgate_model::{DeliveryManifest, Signed, TrustList};
use tokio::io::AsyncWriteExt as _;

use crate::api::DATASET_HEADER;
use crate::api_types::*;
use crate::payload_crypto::PayloadOpener;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The node could not be reached.
    #[error("cannot reach the node: {0}")]
    Http(#[from] reqwest::Error),
    /// The node answered with an error.
    #[error("node answered {status}{}: {reason}", field.as_ref().map(|f| format!(" (field '{f}')")).unwrap_or_default())]
    Api {
        /// HTTP status.
        status: u16,
        /// Field named by the node.
        field: Option<String>,
        /// Reason given.
        reason: String,
    },
    /// A document or payload did not verify.
    #[error("verification failed: {0}")]
    Verify(String),
    /// TLS setup failed.
    #[error("tls: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// Writing the output failed.
    #[error("output: {0}")]
    Io(#[from] std::io::Error),
}

/// What an organisation keeps after registration: the credential and its HPKE private key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CredentialFile {
    /// The credential issued by the node.
    pub credentials: Credentials,
    /// X25519 private key (hex) matching the registered public key.
    pub hpke_private_key: String,
}

/// A fetched, verified and decrypted delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decrypted {
    /// The verified manifest.
    pub manifest: DeliveryManifest,
    /// Bytes written.
    pub size: u64,
}

/// Client of one node.
#[derive(Debug, Clone)]
pub struct OrgClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl OrgClient {
    /// A client of the node at `base_url` trusting its CA `ca_pem`, authenticating with
    /// `token` and, if given, a client certificate and key.
    ///
    /// # Errors
    /// [`ClientError::Tls`] or [`ClientError::Http`].
    pub fn new(
        base_url: &str,
        ca_pem: &str,
        token: &str,
        identity: Option<(&str, &str)>,
    ) -> Result<Self, ClientError> {
        let config = crate::tls::org_client_config(ca_pem, identity)?;
        reqwest::Url::parse(base_url)
            .map_err(|e| ClientError::Verify(format!("node URL '{base_url}': {e}")))?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(config)
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        Ok(Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        })
    }

    /// A client from a credential file.
    ///
    /// # Errors
    /// As [`OrgClient::new`].
    pub fn from_credentials(c: &CredentialFile) -> Result<Self, ClientError> {
        let cr = &c.credentials;
        Self::new(
            &cr.node_url,
            &cr.ca_cert_pem,
            &cr.api_token,
            Some((&cr.client_cert_pem, &cr.client_key_pem)),
        )
    }

    /// The node's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    async fn answer<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T, ClientError> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp.json().await?);
        }
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        Err(ClientError::Api {
            status: status.as_u16(),
            field: body
                .pointer("/error/field")
                .and_then(|f| f.as_str())
                .map(str::to_owned),
            reason: body
                .pointer("/error/reason")
                .and_then(|f| f.as_str())
                .unwrap_or("no reason given")
                .to_owned(),
        })
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// A GET with query pairs, encoded by `url` (reqwest's `query` needs a feature the
    /// workspace does not enable).
    fn get_query(&self, path: &str, query: &[(&str, String)]) -> reqwest::RequestBuilder {
        let mut url = reqwest::Url::parse(&format!("{}{path}", self.base))
            .expect("base URL was parsed when the client was built");
        {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        self.http.get(url).bearer_auth(&self.token)
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// Registers an organisation (operator token required).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn register_organisation(
        &self,
        req: &RegisterOrganisationRequest,
    ) -> Result<Credentials, ClientError> {
        Self::answer(self.post("/api/v1/organisations").json(req).send().await?).await
    }

    /// Publishes a dataset version with a streamed body.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn publish(
        &self,
        meta: &PublishMetadata,
        body: reqwest::Body,
    ) -> Result<DatasetView, ClientError> {
        let header =
            B64.encode(serde_json::to_vec(meta).map_err(|e| ClientError::Verify(e.to_string()))?);
        Self::answer(
            self.post("/api/v1/datasets")
                .header(DATASET_HEADER, header)
                .header("content-type", "application/octet-stream")
                .body(body)
                .send()
                .await?,
        )
        .await
    }

    /// Traces a found file to the delivered copy it most likely came from (operator only).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn trace(&self, found: Vec<u8>) -> Result<silkgate_mark::TraceReport, ClientError> {
        Self::answer(
            self.post("/api/v1/trace")
                .header("content-type", "application/octet-stream")
                .body(found)
                .send()
                .await?,
        )
        .await
    }

    /// Searches the federated catalogue. `query` holds `(name, value)` pairs of
    /// `state`, `sector`, `q`, `limit`, `page_token`.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn catalogue(&self, query: &[(&str, String)]) -> Result<CataloguePage, ClientError> {
        Self::answer(self.get_query("/api/v1/catalogue", query).send().await?).await
    }

    /// Asks for a dataset version.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn request_transfer(
        &self,
        req: &TransferRequest,
    ) -> Result<TransferView, ClientError> {
        Self::answer(self.post("/api/v1/transfers").json(req).send().await?).await
    }

    /// Lists the caller's transfers in `role` (`consumer` or `provider`).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn transfers(&self, role: &str) -> Result<Vec<TransferView>, ClientError> {
        Self::answer(
            self.get_query("/api/v1/transfers", &[("role", role.to_owned())])
                .send()
                .await?,
        )
        .await
    }

    /// One transfer.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn transfer(&self, id: &str) -> Result<TransferView, ClientError> {
        Self::answer(self.get(&format!("/api/v1/transfers/{id}")).send().await?).await
    }

    /// Proposes an agreement from a template.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn propose_agreement(
        &self,
        req: &crate::agreements::ProposeAgreementRequest,
    ) -> Result<crate::agreements::AgreementView, ClientError> {
        Self::answer(self.post("/api/v1/agreements").json(req).send().await?).await
    }

    /// Counters an agreement with new terms.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn counter_agreement(
        &self,
        id: &str,
        req: &crate::agreements::CounterAgreementRequest,
    ) -> Result<crate::agreements::AgreementView, ClientError> {
        Self::answer(
            self.post(&format!("/api/v1/agreements/{id}/counter"))
                .json(req)
                .send()
                .await?,
        )
        .await
    }

    /// An action on an agreement: `accept`, `approval` (operator), `suspend`, `resume`
    /// (operator) or `terminate`, with the request id and the reason or basis.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn agreement_action(
        &self,
        id: &str,
        action: &str,
        request_id: &str,
        reason: Option<&str>,
    ) -> Result<crate::agreements::AgreementView, ClientError> {
        let req = crate::agreements::AgreementActionRequest {
            request_id: request_id.to_owned(),
            reason: reason.map(str::to_owned),
        };
        Self::answer(
            self.post(&format!("/api/v1/agreements/{id}/{action}"))
                .json(&req)
                .send()
                .await?,
        )
        .await
    }

    /// The calling organisation's agreements.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn agreements(&self) -> Result<Vec<crate::agreements::AgreementView>, ClientError> {
        Self::answer(self.get("/api/v1/agreements").send().await?).await
    }

    /// One agreement.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn agreement(
        &self,
        id: &str,
    ) -> Result<crate::agreements::AgreementView, ClientError> {
        Self::answer(self.get(&format!("/api/v1/agreements/{id}")).send().await?).await
    }

    /// This node's events about one agreement.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn agreement_events(&self, id: &str) -> Result<Vec<EventView>, ClientError> {
        Self::answer(
            self.get(&format!("/api/v1/agreements/{id}/events"))
                .send()
                .await?,
        )
        .await
    }

    /// Requests a dataset version under an agreement.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn request_under_agreement(
        &self,
        id: &str,
        req: &crate::agreements::AgreementTransferRequest,
    ) -> Result<TransferView, ClientError> {
        Self::answer(
            self.post(&format!("/api/v1/agreements/{id}/transfers"))
                .json(req)
                .send()
                .await?,
        )
        .await
    }

    /// Approves or denies.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn decide(
        &self,
        id: &str,
        req: &DecisionRequest,
    ) -> Result<TransferView, ClientError> {
        Self::answer(
            self.post(&format!("/api/v1/transfers/{id}/decision"))
                .json(req)
                .send()
                .await?,
        )
        .await
    }

    /// Events about one transfer on this node.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn transfer_events(&self, id: &str) -> Result<Vec<EventView>, ClientError> {
        Self::answer(
            self.get(&format!("/api/v1/transfers/{id}/events"))
                .send()
                .await?,
        )
        .await
    }

    /// The node's event stream (operator).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn events(&self, after: i64, limit: u32) -> Result<Vec<EventView>, ClientError> {
        Self::answer(
            self.get_query(
                "/api/v1/events",
                &[("after", after.to_string()), ("limit", limit.to_string())],
            )
            .send()
            .await?,
        )
        .await
    }

    /// The trust list in force on the node.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn trust_list(&self) -> Result<Signed<TrustList>, ClientError> {
        Self::answer(self.get("/api/v1/trust-list").send().await?).await
    }

    /// Installs a signed trust list (operator).
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn put_trust_list(
        &self,
        list: &Signed<TrustList>,
    ) -> Result<serde_json::Value, ClientError> {
        Self::answer(
            self.http
                .put(format!("{}/api/v1/trust-list", self.base))
                .bearer_auth(&self.token)
                .json(list)
                .send()
                .await?,
        )
        .await
    }

    /// Waits until a transfer reaches a final status or `timeout` passes.
    ///
    /// # Errors
    /// [`ClientError`]; [`ClientError::Verify`] on timeout.
    pub async fn wait_final(
        &self,
        id: &str,
        timeout: Duration,
    ) -> Result<TransferView, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut pause = Duration::from_millis(5);
        loop {
            let t = self.transfer(id).await?;
            if t.status == "delivered" || t.status == "denied" {
                return Ok(t);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(ClientError::Verify(format!(
                    "transfer {id} still {} after {timeout:?}",
                    t.status
                )));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    /// Fetches a delivery, verifies the manifest's signature against the provider node's key
    /// on the trust list, decrypts it with `private_key_hex` into `out`, and checks the
    /// plaintext's SHA-256 and size. `progress` is called with the bytes received so far.
    ///
    /// # Errors
    /// [`ClientError::Verify`] if anything does not verify; nothing is trusted before then.
    pub async fn fetch_delivery<W: tokio::io::AsyncWrite + Unpin>(
        &self,
        id: &str,
        private_key_hex: &str,
        out: &mut W,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<Decrypted, ClientError> {
        let view = self.transfer(id).await?;
        let manifest: Signed<DeliveryManifest> = view
            .manifest
            .clone()
            .and_then(|m| serde_json::from_value(m).ok())
            .ok_or_else(|| {
                ClientError::Verify(format!(
                    "transfer {id} has no delivery yet (status {})",
                    view.status
                ))
            })?;
        let trust = self.trust_list().await?;
        let m = &manifest.document;
        let node = trust
            .document
            .node(&manifest.signer)
            .filter(|n| n.state == m.provider.state())
            .ok_or_else(|| {
                ClientError::Verify(
                    "manifest signer is not the provider's node on the trust list".into(),
                )
            })?;
        let key = crate::parse_verifying_key(&node.signing_key)
            .ok_or_else(|| ClientError::Verify("malformed key on the trust list".into()))?;
        manifest
            .verify(&key)
            .map_err(|e| ClientError::Verify(e.to_string()))?;
        let mut opener = PayloadOpener::new(private_key_hex, &m.hpke_encapped_key, &m.transfer_id)
            .map_err(|e| ClientError::Verify(e.to_string()))?;
        let resp = self
            .get(&format!("/api/v1/transfers/{id}/payload"))
            .send()
            .await?;
        if !resp.status().is_success() {
            return Self::answer::<()>(resp)
                .await
                .map(|_| unreachable!("error status"));
        }
        let mut stream = resp.bytes_stream();
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut received = 0u64;
        let mut plain = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            received += chunk.len() as u64;
            plain.clear();
            opener
                .feed(&chunk, &mut plain)
                .map_err(|e| ClientError::Verify(e.to_string()))?;
            hasher.update(&plain);
            size += plain.len() as u64;
            out.write_all(&plain).await?;
            progress(received, m.ciphertext_size);
        }
        opener
            .finish()
            .map_err(|e| ClientError::Verify(e.to_string()))?;
        out.flush().await?;
        let sha = hex::encode(hasher.finalize());
        if sha != m.payload_sha256 || size != m.payload_size {
            return Err(ClientError::Verify(format!(
                "decrypted payload hashes to {sha} ({size} bytes); the manifest says {} ({} bytes)",
                m.payload_sha256, m.payload_size
            )));
        }
        Ok(Decrypted {
            manifest: m.clone(),
            size,
        })
    }
}
