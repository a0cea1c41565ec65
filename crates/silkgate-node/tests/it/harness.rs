//! Shared set-up: a federation of nodes in a temporary directory, organisations, datasets.

use silkgate_model::{Date, ManualClock, Sector, StateCode, Visibility};
use silkgate_node::NodeOptions;
use silkgate_node::api_types::{
    DatasetView, DecisionRequest, PublishMetadata, TransferRequest, TransferView,
};
use silkgate_node::client::{CredentialFile, OrgClient};
use silkgate_node::local::{LocalFederation, synthetic_trade_csv};

pub struct Fed {
    pub fed: LocalFederation,
    /// The hand on every node's clock: tests move it instead of sleeping.
    pub clock: ManualClock,
    pub _dir: tempfile::TempDir,
}

/// The day the federations of these tests start on: fixed, so no expectation depends on the
/// day the tests run; mid-year, so a few days' move crosses no yearly counter.
pub fn today() -> Date {
    Date::new(2027, 6, 15).expect("a real day")
}

/// The day `offset_days` from [`today`], as the API writes dates.
pub fn day(offset_days: i64) -> String {
    today().add_days(offset_days).to_string()
}

impl Fed {
    /// Node options on this federation's clock.
    pub fn options(&self) -> NodeOptions {
        NodeOptions {
            clock: self.clock.clock(),
            ..NodeOptions::default()
        }
    }
}

/// A federation of `states` on a clock standing at [`today`].
pub async fn federation(states: &[&str]) -> Fed {
    federation_with(states, NodeOptions::default()).await
}

/// A federation of `states` with `options`, on a clock standing at [`today`].
pub async fn federation_with(states: &[&str], options: NodeOptions) -> Fed {
    let dir = tempfile::tempdir().unwrap();
    let states: Vec<StateCode> = states.iter().map(|s| s.parse().unwrap()).collect();
    let clock = ManualClock::at_date(today());
    let options = NodeOptions {
        clock: clock.clock(),
        ..options
    };
    let fed = LocalFederation::start(dir.path(), &states, options)
        .await
        .unwrap();
    Fed {
        fed,
        clock,
        _dir: dir,
    }
}

pub struct Org {
    pub client: OrgClient,
    pub creds: CredentialFile,
}

impl Org {
    pub fn id(&self) -> String {
        self.creds.credentials.organisation.id.clone()
    }
}

pub async fn org(fed: &Fed, state: &str, name: &str) -> Org {
    let (client, creds) = fed
        .fed
        .node(state)
        .register(
            &format!("reg-{}-{}", state.to_lowercase(), name.replace(' ', "-")),
            name,
            Sector::Trade,
        )
        .await
        .unwrap();
    Org { client, creds }
}

pub fn meta(
    request_id: &str,
    dataset_id: &str,
    title: &str,
    visibility: Visibility,
) -> (PublishMetadata, Vec<u8>) {
    let (schema, payload) = synthetic_trade_csv(50, dataset_id.len() as u64);
    (
        PublishMetadata {
            request_id: request_id.into(),
            dataset_id: dataset_id.into(),
            title: title.into(),
            description: "Synthetic customs declarations".into(),
            sector: "trade".into(),
            format: "csv".into(),
            schema,
            visibility,
        },
        payload,
    )
}

pub async fn publish(
    org: &Org,
    dataset_id: &str,
    title: &str,
    visibility: Visibility,
) -> (DatasetView, Vec<u8>) {
    let (m, payload) = meta(&format!("pub-{dataset_id}"), dataset_id, title, visibility);
    let view = org
        .client
        .publish(&m, payload.clone().into())
        .await
        .unwrap();
    (view, payload)
}

pub async fn request(
    consumer: &Org,
    provider: &Org,
    d: &DatasetView,
    request_id: &str,
) -> TransferView {
    consumer
        .client
        .request_transfer(&TransferRequest {
            request_id: request_id.into(),
            provider: provider.id(),
            dataset_id: d.dataset_id.clone(),
            sha256: d.sha256.clone(),
            purpose: "customs risk analysis".into(),
            recipient_kind: None,
        })
        .await
        .unwrap()
}

pub fn approve(request_id: &str) -> DecisionRequest {
    DecisionRequest {
        request_id: request_id.into(),
        approve: true,
        reason: None,
        grounds: None,
    }
}

/// A CSV of synthetic people: a name, a phone number and an amount (with `cents` appended)
/// per row; never real persons.
pub fn people_csv(rows: usize, cents: &str) -> Vec<u8> {
    let first = ["Иван", "Пётр", "Алексей", "Сергей", "Дмитрий", "Андрей"];
    let last = [
        "Иванов",
        "Петров",
        "Сидоров",
        "Смирнов",
        "Кузнецов",
        "Попов",
    ];
    let mut out = String::from("ФИО,Телефон,Сумма\n");
    for i in 0..rows {
        out.push_str(&format!(
            "{} {} Иванович,+7 701 {:03} {:04},{}{cents}\n",
            last[i % last.len()],
            first[(i / last.len()) % first.len()],
            100 + i % 900,
            1000 + i,
            100 + i
        ));
    }
    out.into_bytes()
}

/// Trade terms for the synthetic trade table with no personal data, valid from yesterday for
/// sixty days by the federation's clock, marking one column.
pub fn trade_terms() -> serde_json::Value {
    let t = silkgate_node::agreements::templates()
        .get(&("trade".to_owned(), 1))
        .expect("the trade template is built in");
    let mut v = serde_json::to_value(&t.terms).unwrap();
    v["columns"] = serde_json::json!([
        "declaration_id",
        "hs_code",
        "origin",
        "destination",
        "value_usd",
        "weight_kg"
    ]);
    v["categories"] = serde_json::json!(["non-personal"]);
    v["deidentification"] = serde_json::json!([]);
    v["marking"]["columns"] = serde_json::json!([
        { "column": "value_usd", "decimals": 0, "max_change_units": 1 },
    ]);
    v["validity"] = serde_json::json!({ "not_before": day(-1), "not_after": day(60) });
    v
}

/// `consumer` proposes [`trade_terms`] to `provider`, which accepts: the active agreement's id.
pub async fn active_agreement(consumer: &Org, provider: &Org, request_id: &str) -> String {
    let a = consumer
        .client
        .propose_agreement(&silkgate_node::agreements::ProposeAgreementRequest {
            request_id: request_id.into(),
            template_id: "trade".into(),
            template_version: 1,
            counterparty: provider.id(),
            role: "consumer".into(),
            terms: Some(trade_terms()),
        })
        .await
        .unwrap();
    let a = provider
        .client
        .agreement_action(&a.id, "accept", &format!("{request_id}-accept"), None)
        .await
        .unwrap();
    assert_eq!(a.status, "active", "{a:?}");
    a.id
}
