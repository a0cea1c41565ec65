//! A two-state federation (KZ, RU) with the portal mounted and some history: a dataset
//! published in RU and delivered to a KZ organisation (inbound), a dataset published in KZ
//! whose transfer to RU was denied (outbound), a CN -> RU transfer the KZ node holds (not a
//! KZ flow), and one signed-in account per role on the KZ node.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use silkgate_model::{OrgId, StateCode, Transfer, TransferStatus, Visibility};
use silkgate_node::NodeState;
use silkgate_node::api_types::{DecisionRequest, PublishMetadata, TransferRequest};
use silkgate_node::local::{LocalFederation, synthetic_trade_csv};
use silkgate_portal::auth;
use silkgate_store::{PortalRole, TransferRole};
use tower::ServiceExt as _;

pub const PASSWORD: &str = "correct horse battery staple";

/// The clock of every node these tests start: standing at a fixed day, so that no
/// expectation depends on the day the tests run. Portal tests never move it.
pub fn clock() -> silkgate_model::Clock {
    static HAND: std::sync::LazyLock<silkgate_model::ManualClock> =
        std::sync::LazyLock::new(|| {
            silkgate_model::ManualClock::at_date(
                silkgate_model::Date::new(2027, 6, 15).expect("a real day"),
            )
        });
    HAND.clock()
}

/// The day `offset_days` from the nodes' today, as forms and the API write dates.
pub fn day(offset_days: i64) -> String {
    clock().today().add_days(offset_days).to_string()
}

/// The portal's node options on the tests' [`clock`].
pub fn options() -> silkgate_node::NodeOptions {
    silkgate_portal::node_options(silkgate_node::NodeOptions {
        clock: clock(),
        ..Default::default()
    })
}

/// A signed-in browser: its session cookie and CSRF token.
#[derive(Debug, Clone)]
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
    pub account_id: String,
}

pub struct World {
    pub fed: LocalFederation,
    pub kz: NodeState,
    pub router: Router,
    pub kz_org: OrgId,
    pub browsers: HashMap<PortalRole, Browser>,
    pub inbound_id: String,
    pub outbound_id: String,
    pub foreign_id: String,
    pub _dir: tempfile::TempDir,
}

pub fn meta(request_id: &str, dataset_id: &str, title: &str) -> (PublishMetadata, Vec<u8>) {
    let (schema, payload) = synthetic_trade_csv(40, dataset_id.len() as u64);
    (
        PublishMetadata {
            request_id: request_id.into(),
            dataset_id: dataset_id.into(),
            title: title.into(),
            description: "Synthetic customs declarations".into(),
            sector: "trade".into(),
            format: "csv".into(),
            schema,
            visibility: Visibility::Federation,
        },
        payload,
    )
}

/// Creates an account of `role` on `node` and signs it in.
pub async fn account(
    node: &NodeState,
    login: &str,
    role: PortalRole,
    org: Option<OrgId>,
) -> (auth::CreatedAccount, Browser) {
    let created = auth::create_account(
        node.store(),
        auth::NewAccount {
            login: login.into(),
            display_name: format!("Test {login}"),
            role,
            org_id: org,
            password: PASSWORD.into(),
        },
        "Silkgate test",
    )
    .await
    .unwrap();
    // The code of the previous 30-second step (accepted with one step of skew), so the
    // current code stays unused for a test's own sign-in through the form.
    let now = node.clock().now_unix();
    let code = auth::code_at(&created.totp_secret, now - 30).unwrap();
    let new = auth::sign_in(node.store(), login, PASSWORD, &code, now)
        .await
        .unwrap()
        .unwrap();
    let browser = Browser {
        cookie: new.cookie_value,
        csrf: new.session.csrf_token,
        account_id: created.account.id.clone(),
    };
    (created, browser)
}

pub async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let states: Vec<StateCode> = ["KZ", "RU"].iter().map(|s| s.parse().unwrap()).collect();
    let fed = LocalFederation::start(dir.path(), &states, options())
        .await
        .unwrap();
    let (kz_client, kz_creds) = fed
        .node("KZ")
        .register(
            "reg-kz-trade",
            "Steppe Trading LLP",
            silkgate_model::Sector::Trade,
        )
        .await
        .unwrap();
    let (ru_client, ru_creds) = fed
        .node("RU")
        .register(
            "reg-ru-trade",
            "Volga Logistics",
            silkgate_model::Sector::Trade,
        )
        .await
        .unwrap();
    let kz_org: OrgId = kz_creds.credentials.organisation.id.parse().unwrap();
    let ru_org = ru_creds.credentials.organisation.id.clone();

    // Inbound: RU publishes, KZ asks, RU approves, delivered to KZ.
    let (m, payload) = meta("pub-ru", "ru-customs-2026", "Customs declarations RU");
    let ru_ds = ru_client.publish(&m, payload.into()).await.unwrap();
    let inbound = kz_client
        .request_transfer(&TransferRequest {
            request_id: "in-1".into(),
            provider: ru_org.clone(),
            dataset_id: ru_ds.dataset_id.clone(),
            sha256: ru_ds.sha256.clone(),
            purpose: "customs risk analysis".into(),
            recipient_kind: None,
        })
        .await
        .unwrap();
    ru_client
        .decide(
            &inbound.id,
            &DecisionRequest {
                request_id: "dec-in-1".into(),
                approve: true,
                reason: None,
                grounds: None,
            },
        )
        .await
        .unwrap();
    let done = kz_client
        .wait_final(&inbound.id, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(done.status, "delivered");

    // Outbound: KZ publishes, RU asks, KZ denies.
    let (m, payload) = meta("pub-kz", "kz-customs-2026", "Customs declarations KZ");
    let kz_ds = kz_client.publish(&m, payload.into()).await.unwrap();
    let outbound = ru_client
        .request_transfer(&TransferRequest {
            request_id: "out-1".into(),
            provider: kz_org.to_string(),
            dataset_id: kz_ds.dataset_id.clone(),
            sha256: kz_ds.sha256.clone(),
            purpose: "market study".into(),
            recipient_kind: None,
        })
        .await
        .unwrap();
    kz_client
        .decide(
            &outbound.id,
            &DecisionRequest {
                request_id: "dec-out-1".into(),
                approve: false,
                reason: Some("no agreement in force".into()),
                grounds: None,
            },
        )
        .await
        .unwrap();

    let kz = fed.node("KZ").running.state.clone();
    // A CN -> RU transfer that the KZ node holds (as if relayed): not a KZ flow.
    let cn: OrgId = OrgId::generate("CN".parse().unwrap(), [7; 16]);
    let ru: OrgId = ru_org.parse().unwrap();
    let foreign = Transfer {
        id: "tr-foreign-cn-ru".into(),
        consumer: ru,
        provider: cn,
        dataset_id: "cn-ds".into(),
        sha256: "00".repeat(32),
        purpose: "x".into(),
        consumer_hpke_key: "00".repeat(32),
        status: TransferStatus::Delivered,
        reason: None,
        requested_at: kz.clock().now_unix(),
    };
    let mut tx = kz.store().begin().await.unwrap();
    tx.insert_transfer(&foreign, TransferRole::Provider)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut browsers = HashMap::new();
    for (login, role, org) in [
        ("member@kz", PortalRole::OrgMember, Some(kz_org.clone())),
        ("admin@kz", PortalRole::OrgAdmin, Some(kz_org.clone())),
        ("regulator@kz", PortalRole::Regulator, None),
        ("operator@kz", PortalRole::Operator, None),
    ] {
        let (_, b) = account(&kz, login, role, org).await;
        browsers.insert(role, b);
    }
    let router = silkgate_node::app(kz.clone());
    World {
        fed,
        kz,
        router,
        kz_org,
        browsers,
        inbound_id: inbound.id,
        outbound_id: outbound.id,
        foreign_id: foreign.id,
        _dir: dir,
    }
}

/// An answer: status, headers, body text.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The value the answer sets for cookie `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| {
                v.strip_prefix(&format!("{name}="))
                    .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
            })
    }
}

pub struct Call<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub cookies: Vec<String>,
    pub accept_language: Option<&'a str>,
    pub form: Option<String>,
}

impl<'a> Call<'a> {
    pub fn get(path: &'a str) -> Self {
        Self {
            method: "GET",
            path,
            cookies: vec![],
            accept_language: None,
            form: None,
        }
    }

    pub fn post(path: &'a str, fields: &[(&str, &str)]) -> Self {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", silkgate_portal::web::encode_query(v)))
            .collect::<Vec<_>>()
            .join("&");
        Self {
            method: "POST",
            path,
            cookies: vec![],
            accept_language: None,
            form: Some(body),
        }
    }

    pub fn signed_in(mut self, b: Option<&Browser>) -> Self {
        if let Some(b) = b {
            self.cookies
                .push(format!("{}={}", auth::SESSION_COOKIE, b.cookie));
        }
        self
    }

    pub fn cookie(mut self, name: &str, value: &str) -> Self {
        self.cookies.push(format!("{name}={value}"));
        self
    }

    pub fn lang(mut self, accept: &'a str) -> Self {
        self.accept_language = Some(accept);
        self
    }

    pub async fn send(self, router: &Router) -> Answer {
        let mut req = Request::builder().method(self.method).uri(self.path);
        if !self.cookies.is_empty() {
            req = req.header(header::COOKIE, self.cookies.join("; "));
        }
        if let Some(a) = self.accept_language {
            req = req.header(header::ACCEPT_LANGUAGE, a);
        }
        let req = match self.form {
            Some(body) => req
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body)),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let resp = router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}
