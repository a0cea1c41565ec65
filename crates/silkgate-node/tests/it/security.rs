//! Security: who may connect, who may sign, who may see and decide what, and what a
//! receiving node does with tampered deliveries.

use std::time::Duration;

use silkgate_model::{DeliveryManifest, Signed, Visibility};
use silkgate_node::identity::{InitOptions, init_node};
use silkgate_node::pipeline::manifest_trailer;
use silkgate_node::wire::{EnvelopeV1, TransferRequestV1};
use silkgate_node::{payload_crypto, tls};

use crate::harness::*;

/// A reqwest client presenting `cert`/`key` and trusting the CAs of the federation.
fn client_as(trust: &silkgate_model::TrustList, cert: &str, key: &str) -> reqwest::Client {
    let config = tls::peer_client_config(trust, cert, key).unwrap();
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_not_on_trust_list_is_refused_during_the_tls_handshake() {
    let fed = federation(&["KZ", "CN"]).await;
    let kz = fed.fed.node("KZ");
    let trust = kz.running.state.trust_list().document.clone();

    // An outsider with its own CA, not on the list, presents its certificate.
    let dir = tempfile::tempdir().unwrap();
    let outsider = init_node(&InitOptions {
        state: "FR".parse().unwrap(),
        dir: dir.path().join("fr"),
        listen: "127.0.0.1:1".into(),
        public_url: None,
        committee_key: None,
    })
    .unwrap();
    let client = client_as(&trust, &outsider.tls_cert_pem, &outsider.tls_key_pem);
    let err = client
        .post(format!("{}/federation/v1/transfers", kz.url))
        .body("{}")
        .send()
        .await
        .expect_err("the handshake must fail: no HTTP answer at all");
    assert!(err.is_connect() || err.is_request(), "{err:?}");

    // The same request from a listed peer gets an HTTP answer (here: a refusal of the body).
    let cn = fed.fed.node("CN").running.state.identity();
    let client = client_as(&trust, &cn.tls_cert_pem, &cn.tls_key_pem);
    let resp = client
        .post(format!("{}/federation/v1/transfers", kz.url))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    // And this node does not connect to a server outside the list either.
    let kz_client = client_as(&trust, &cn.tls_cert_pem, &cn.tls_key_pem);
    let outsider_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = outsider_listener.local_addr().unwrap();
    let outsider_tls = tls::server_config(
        &silkgate_model::TrustList {
            version: 1,
            issued_at: 0,
            nodes: vec![outsider.trusted_node()],
        },
        &outsider.tls_cert_pem,
        &outsider.tls_key_pem,
    )
    .unwrap();
    tokio::spawn(async move {
        let (tcp, _) = outsider_listener.accept().await.unwrap();
        let _ = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(outsider_tls))
            .accept(tcp)
            .await;
    });
    assert!(
        kz_client
            .get(format!("https://127.0.0.1:{}/healthz", addr.port()))
            .send()
            .await
            .is_err()
    );
    fed.fed.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_or_misattributed_signatures_are_refused() {
    let fed = federation(&["KZ", "CN"]).await;
    let kz = org(&fed, "KZ", "Provider").await;
    let cn_org = org(&fed, "CN", "Consumer").await;
    let (d, _) = publish(&kz, "signed-data", "Signed data", Visibility::Federation).await;
    let trust = fed
        .fed
        .node("KZ")
        .running
        .state
        .trust_list()
        .document
        .clone();
    let cn = fed.fed.node("CN").running.state.identity();
    let url = format!("{}/federation/v1/transfers", fed.fed.node("KZ").url);
    let req = TransferRequestV1 {
        transfer_id: "tr-forged".into(),
        consumer: cn_org.id(),
        provider: kz.id(),
        dataset_id: d.dataset_id.clone(),
        sha256: d.sha256.clone(),
        purpose: "x".into(),
        consumer_hpke_key: "11".repeat(32),
        requested_at: 1,
        recipient_kind: None,
        agreement_id: None,
        onward_to: None,
    };
    let client = client_as(&trust, &cn.tls_cert_pem, &cn.tls_key_pem);
    // Every federation message travels in an envelope addressed to the receiving node.
    let now = fed.clock.clock().now_unix();
    let enveloped = |id: &str| EnvelopeV1 {
        message_id: format!("msg-{id}"),
        sender: "node-cn".into(),
        recipient: fed.fed.node("KZ").running.state.node_id().to_owned(),
        issued_at: now,
        expires_at: now + 60,
        body: req.clone(),
    };

    // Signed by a key that is not node-cn's, claiming to be node-cn.
    let forger = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let forged = Signed::sign(enveloped("01"), "node-cn", &forger).unwrap();
    let resp = client.post(&url).json(&forged).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("signature"),
        "{body}"
    );

    // Properly signed by node-cn but altered afterwards.
    let mut altered = Signed::sign(enveloped("02"), "node-cn", &cn.signing_key).unwrap();
    altered.document.body.purpose = "something else".into();
    assert_eq!(
        client
            .post(&url)
            .json(&altered)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );

    // Properly signed by node-cn, but sent over a TLS connection of another node (KZ's own
    // certificate): the TLS peer and the signer must be the same node.
    let kz_id = fed.fed.node("KZ").running.state.identity();
    let other = client_as(&trust, &kz_id.tls_cert_pem, &kz_id.tls_key_pem);
    let genuine = Signed::sign(enveloped("03"), "node-cn", &cn.signing_key).unwrap();
    let resp = other.post(&url).json(&genuine).send().await.unwrap();
    assert_eq!(resp.status(), 403);

    // Nothing was recorded by any of these.
    assert!(kz.client.transfers("provider").await.unwrap().is_empty());
    // The genuine one over the right connection is accepted.
    assert_eq!(
        client
            .post(&url)
            .json(&genuine)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    fed.fed.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organisations_see_and_decide_only_their_own_transfers() {
    let fed = federation(&["KZ", "CN"]).await;
    let kz = org(&fed, "KZ", "Provider").await;
    let kz_other = org(&fed, "KZ", "Other Provider").await;
    let cn = org(&fed, "CN", "Consumer").await;
    let cn_other = org(&fed, "CN", "Nosy Neighbour").await;
    let (d, _) = publish(
        &kz,
        "private-delivery",
        "Private delivery",
        Visibility::Federation,
    )
    .await;
    let t = request(&cn, &kz, &d, "r1").await;

    // Another organisation cannot approve the provider's request.
    let err = kz_other
        .client
        .decide(&t.id, &approve("x1"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            silkgate_node::client::ClientError::Api { status: 403, .. }
        ),
        "{err}"
    );
    // The operator cannot approve for the provider either.
    let op = fed.fed.node("KZ").operator().unwrap();
    assert!(op.decide(&t.id, &approve("x2")).await.is_err());

    kz.client.decide(&t.id, &approve("ok")).await.unwrap();
    cn.client
        .wait_final(&t.id, Duration::from_secs(20))
        .await
        .unwrap();

    // Another organisation of the consumer's state sees nothing of the delivery.
    for err in [
        cn_other.client.transfer(&t.id).await.unwrap_err(),
        cn_other.client.transfer_events(&t.id).await.unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                silkgate_node::client::ClientError::Api { status: 404, .. }
            ),
            "{err}"
        );
    }
    let mut out = Vec::new();
    assert!(
        cn_other
            .client
            .fetch_delivery(&t.id, &cn_other.creds.hpke_private_key, &mut out, |_, _| {})
            .await
            .is_err()
    );
    assert!(out.is_empty());
    assert!(
        cn_other
            .client
            .transfers("consumer")
            .await
            .unwrap()
            .is_empty()
    );
    // Nor can it download the ciphertext directly with its own token.
    let c = &cn_other.creds.credentials;
    let http = reqwest::Client::builder()
        .use_preconfigured_tls(tls::org_client_config(&c.ca_cert_pem, None).unwrap())
        .build()
        .unwrap();
    let resp = http
        .get(format!("{}/api/v1/transfers/{}/payload", c.node_url, t.id))
        .bearer_auth(&c.api_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let resp = http
        .get(format!("{}/api/v1/transfers/{}/payload", c.node_url, t.id))
        .bearer_auth(&cn.creds.credentials.api_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // A token presented with another organisation's client certificate is refused.
    let c = &cn_other.creds.credentials;
    let mixed = silkgate_node::client::OrgClient::new(
        &c.node_url,
        &c.ca_cert_pem,
        &c.api_token,
        Some((
            &cn.creds.credentials.client_cert_pem,
            &cn.creds.credentials.client_key_pem,
        )),
    )
    .unwrap();
    let err = mixed.transfers("consumer").await.unwrap_err();
    assert!(
        matches!(
            err,
            silkgate_node::client::ClientError::Api { status: 401, .. }
        ),
        "{err}"
    );

    // The rightful consumer decrypts; with the wrong private key decryption fails.
    let mut out = Vec::new();
    let (wrong, _) = payload_crypto::generate_keypair();
    assert!(
        cn.client
            .fetch_delivery(&t.id, &wrong, &mut out, |_, _| {})
            .await
            .is_err()
    );
    fed.fed.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_payload_or_manifest_is_rejected_by_the_receiving_node() {
    let fed = federation(&["KZ", "CN"]).await;
    let kz = org(&fed, "KZ", "Provider").await;
    let cn = org(&fed, "CN", "Consumer").await;
    let (d, payload) = publish(
        &kz,
        "tamper-target",
        "Tamper target",
        Visibility::Federation,
    )
    .await;
    // A real request, left awaiting decision: the consumer's node expects a delivery for it.
    let t = request(&cn, &kz, &d, "tamper-1").await;

    let kz_state = &fed.fed.node("KZ").running.state;
    let kz_id = kz_state.identity();
    let trust = kz_state.trust_list().document.clone();
    let client = client_as(&trust, &kz_id.tls_cert_pem, &kz_id.tls_key_pem);
    let (ciphertext, enc) = payload_crypto::seal_all(
        &cn.creds.credentials.organisation.hpke_public_key,
        &t.id,
        &payload,
    )
    .unwrap();
    let manifest = DeliveryManifest {
        transfer_id: t.id.clone(),
        dataset_id: d.dataset_id.clone(),
        payload_sha256: d.sha256.clone(),
        payload_size: payload.len() as u64,
        dataset_sha256: d.sha256.clone(),
        ciphertext_sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&ciphertext)),
        ciphertext_size: ciphertext.len() as u64,
        hpke_suite: payload_crypto::SUITE.into(),
        hpke_encapped_key: enc,
        chunk_size: payload_crypto::CHUNK_SIZE as u32,
        provider: kz.id().parse().unwrap(),
        consumer: cn.id().parse().unwrap(),
        provider_node: "node-kz".into(),
        delivered_at: 1,
        agreement_id: None,
        approval_log_index: None,
    };
    let signed = Signed::sign(manifest.clone(), "node-kz", &kz_id.signing_key).unwrap();
    let url = format!(
        "{}/federation/v1/transfers/{}/delivery",
        fed.fed.node("CN").url,
        t.id
    );
    let send = |m: &Signed<DeliveryManifest>, mut body: Vec<u8>| {
        body.extend(manifest_trailer(m).unwrap());
        client.post(&url).body(body).send()
    };

    // One flipped byte in the payload.
    let mut bad = ciphertext.clone();
    bad[40] ^= 0x01;
    let resp = send(&signed, bad).await.unwrap();
    assert_eq!(resp.status(), 422);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["field"], "payload", "{body}");
    // Truncated payload.
    let resp = send(&signed, ciphertext[..ciphertext.len() - 10].to_vec())
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    // A body without its manifest trailer.
    let resp = client
        .post(&url)
        .body(ciphertext.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["field"], "manifest", "{body}");
    // A manifest altered after signing (e.g. to match tampered bytes).
    let mut altered = signed.clone();
    altered.document.payload_sha256 = "00".repeat(32);
    let resp = send(&altered, ciphertext.clone()).await.unwrap();
    assert_eq!(resp.status(), 403);

    // Nothing was stored: the consumer's transfer still waits, no blob is left behind.
    let cn_state = &fed.fed.node("CN").running.state;
    assert_eq!(
        cn.client.transfer(&t.id).await.unwrap().status,
        "awaiting-decision"
    );
    assert!(
        cn_state
            .store()
            .blobs()
            .list("deliveries")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        cn_state
            .store()
            .blobs()
            .list("staging")
            .await
            .unwrap()
            .is_empty()
    );

    // The genuine delivery is accepted, answered with a receipt, and decrypts.
    let resp = send(&signed, ciphertext.clone()).await.unwrap();
    assert_eq!(resp.status(), 200);
    let receipt: Signed<silkgate_model::DeliveryReceipt> = resp.json().await.unwrap();
    // A repeated delivery gets the same receipt and stores nothing twice.
    let again: Signed<silkgate_model::DeliveryReceipt> = send(&signed, ciphertext.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again, receipt);
    assert_eq!(
        cn_state
            .store()
            .blobs()
            .list("deliveries")
            .await
            .unwrap()
            .len(),
        1
    );
    let mut out = Vec::new();
    cn.client
        .fetch_delivery(&t.id, &cn.creds.hpke_private_key, &mut out, |_, _| {})
        .await
        .unwrap();
    assert_eq!(out, payload);
    fed.fed.shutdown();
}
