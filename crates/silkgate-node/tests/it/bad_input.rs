//! Bad input: every refusal is a 4xx naming the field and the reason, and leaves no partial
//! rows or blobs behind; a repeated request id returns the first result and does nothing twice.

use base64::Engine as _;
use silkgate_model::Visibility;
use silkgate_node::client::ClientError;
use silkgate_node::tls;

use crate::harness::*;

struct Raw {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Raw {
    fn new(o: &Org) -> Self {
        let c = &o.creds.credentials;
        Self {
            http: reqwest::Client::builder()
                .use_preconfigured_tls(tls::org_client_config(&c.ca_cert_pem, None).unwrap())
                .build()
                .unwrap(),
            base: c.node_url.clone(),
            token: c.api_token.clone(),
        }
    }

    async fn post_json(&self, path: &str, body: &str) -> (u16, serde_json::Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or_default(),
        )
    }

    async fn get(&self, path: &str) -> (u16, serde_json::Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or_default(),
        )
    }

    async fn publish_raw(&self, meta: &serde_json::Value, body: &[u8]) -> (u16, serde_json::Value) {
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(meta.to_string());
        let resp = self
            .http
            .post(format!("{}/api/v1/datasets", self.base))
            .bearer_auth(&self.token)
            .header("silkgate-dataset", header)
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or_default(),
        )
    }
}

fn field(body: &serde_json::Value) -> &str {
    body["error"]["field"].as_str().unwrap_or("<none>")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_the_field_and_store_nothing() {
    let fed = federation(&["KZ", "CN"]).await;
    let kz = org(&fed, "KZ", "Provider").await;
    let raw = Raw::new(&kz);
    let store = fed.fed.node("KZ").running.state.store().clone();
    let before = store.row_counts().await.unwrap();

    // Malformed JSON.
    let (status, body) = raw
        .post_json("/api/v1/transfers", "{\"request_id\": ")
        .await;
    assert_eq!((status, field(&body)), (400, "body"), "{body}");
    // A field of the wrong type is named.
    let (status, body) = raw
        .post_json(
            "/api/v1/transfers/tr-x/decision",
            r#"{"request_id":"a","approve":"yes"}"#,
        )
        .await;
    assert_eq!((status, field(&body)), (400, "approve"), "{body}");
    // An unknown field is named.
    let (status, body) = raw
        .post_json("/api/v1/transfers", r#"{"request_id":"a","provider":"x","dataset_id":"d","sha256":"s","purpose":"p","colour":"red"}"#)
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["reason"].as_str().unwrap().contains("colour"),
        "{body}"
    );
    // Unknown state code.
    let (status, body) = raw.get("/api/v1/catalogue?state=ZZZ").await;
    assert_eq!((status, field(&body)), (400, "state"), "{body}");
    let (status, body) = raw.get("/api/v1/catalogue?limit=0").await;
    assert_eq!((status, field(&body)), (400, "limit"), "{body}");
    // Malformed organisation id.
    let (status, body) = raw
        .post_json("/api/v1/transfers", &serde_json::json!({"request_id":"a","provider":"nobody","dataset_id":"d","sha256":"0".repeat(64),"purpose":"p"}).to_string())
        .await;
    assert_eq!((status, field(&body)), (400, "provider"), "{body}");

    // Publishing: oversize title, unknown state in visibility, bad sector, bytes that are not
    // the declared format.
    let (m, payload) = meta("p1", "good-data", "Good", Visibility::Federation);
    let mut mv = serde_json::to_value(&m).unwrap();
    mv["title"] = "T".repeat(500).into();
    let (status, body) = raw.publish_raw(&mv, &payload).await;
    assert_eq!((status, field(&body)), (413, "title"), "{body}");
    let mut mv = serde_json::to_value(&m).unwrap();
    mv["visibility"] = serde_json::json!({"scope": "states", "states": ["kz"]});
    let (status, body) = raw.publish_raw(&mv, &payload).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("not a state code"),
        "{body}"
    );
    let mut mv = serde_json::to_value(&m).unwrap();
    mv["sector"] = "banking".into();
    let (status, body) = raw.publish_raw(&mv, &payload).await;
    assert_eq!((status, field(&body)), (400, "sector"), "{body}");
    let mv = serde_json::to_value(&m).unwrap();
    let mut broken = payload.clone();
    broken.extend_from_slice(b"only,three,fields\n");
    let (status, body) = raw.publish_raw(&mv, &broken).await;
    assert_eq!((status, field(&body)), (422, "payload"), "{body}");
    assert!(
        body["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("expected 6 fields"),
        "{body}"
    );
    let mut mv = serde_json::to_value(&m).unwrap();
    mv["format"] = "json-lines".into();
    let (status, body) = raw.publish_raw(&mv, &payload).await;
    assert_eq!((status, field(&body)), (422, "payload"), "{body}");

    // Nothing of all that was stored.
    assert_eq!(store.row_counts().await.unwrap(), before);
    assert!(store.blobs().list("datasets").await.unwrap().is_empty());
    assert!(store.blobs().list("staging").await.unwrap().is_empty());

    // Registration by an organisation (not the operator) is refused.
    let err = kz
        .client
        .register_organisation(&silkgate_node::api_types::RegisterOrganisationRequest {
            request_id: "r".into(),
            name: "n".into(),
            registration_number: "1".into(),
            sector: "trade".into(),
            contact: "c".into(),
            hpke_public_key: "00".repeat(32),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Api { status: 403, .. }), "{err}");
    fed.fed.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_request_id_returns_the_first_result_and_does_nothing_twice() {
    let fed = federation(&["KZ", "CN"]).await;
    let kz = org(&fed, "KZ", "Provider").await;
    let store = fed.fed.node("KZ").running.state.store().clone();
    let (m, payload) = meta("same-id", "repeat-data", "Repeat", Visibility::Federation);
    let first = kz.client.publish(&m, payload.clone().into()).await.unwrap();
    let counts = store.row_counts().await.unwrap();
    let second = kz.client.publish(&m, payload.clone().into()).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(
        store.row_counts().await.unwrap(),
        counts,
        "a retry changed the store"
    );
    assert_eq!(store.blobs().list("datasets").await.unwrap().len(), 1);
    assert!(store.blobs().list("staging").await.unwrap().is_empty());

    // The same id with different content is refused, naming request_id.
    let mut other = m.clone();
    other.title = "Another title".into();
    let err = kz
        .client
        .publish(&other, payload.clone().into())
        .await
        .unwrap_err();
    match err {
        ClientError::Api { status, field, .. } => {
            assert_eq!((status, field.as_deref()), (409, Some("request_id")))
        }
        e => panic!("{e}"),
    }
    // Publishing the same bytes again under a new request id is a conflict on the version.
    let mut again = m.clone();
    again.request_id = "new-id".into();
    let err = kz
        .client
        .publish(&again, payload.clone().into())
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Api { status: 409, .. }), "{err}");
    assert_eq!(store.row_counts().await.unwrap(), counts);

    // Registering twice with one request id returns the same organisation.
    let node = fed.fed.node("CN");
    let (_, a) = node
        .register(
            "same-reg",
            "Twice Registered",
            silkgate_model::Sector::Trade,
        )
        .await
        .unwrap();
    let op = node.operator().unwrap();
    let b = op
        .register_organisation(&silkgate_node::api_types::RegisterOrganisationRequest {
            request_id: "same-reg".into(),
            name: "Twice Registered".into(),
            registration_number: "REG-same-reg".into(),
            sector: "trade".into(),
            contact: "dpo@same-reg.example".into(),
            hpke_public_key: a.credentials.organisation.hpke_public_key.clone(),
        })
        .await
        .unwrap();
    assert_eq!(a.credentials.organisation, b.organisation);
    assert_eq!(a.credentials.api_token, b.api_token);
    fed.fed.shutdown();
}
