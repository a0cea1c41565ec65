//! The authority's supervision actions over a three-node federation (CN, KZ, RU): CN's
//! regulator signs the approval an agreement waits for (with the CN pack's citations beside
//! their original-language names), KZ's regulator suspends the agreement and the next transfer
//! request is refused on both nodes, lifts it, suspends an organisation; RU's regulator cannot
//! touch an agreement between two other states; every page in every language.

use serde_json::{Value, json};
use silkgate_node::agreements::{
    AgreementTransferRequest, AgreementView, ProposeAgreementRequest, templates,
};
use silkgate_node::client::{ClientError, OrgClient};
use silkgate_node::local::LocalFederation;
use silkgate_portal::i18n::{self, Lang};
use silkgate_store::PortalRole;

use crate::world::{Browser, Call, account, day, meta};

/// Trade terms for the synthetic trade table, with personal data up to the yearly cap at
/// which the CN pack asks for a filed standard contract (so CN's authority must approve).
pub fn trade_terms() -> Value {
    let t = templates()
        .get(&("trade".to_owned(), 1))
        .expect("the trade template is built in");
    let mut v = serde_json::to_value(&t.terms).unwrap();
    v["columns"] = json!([
        "declaration_id",
        "hs_code",
        "origin",
        "destination",
        "value_usd",
        "weight_kg"
    ]);
    v["categories"] = json!(["non-personal", "personal"]);
    v["max_subjects_per_year"] = json!(100_000);
    v["deidentification"] = json!([]);
    v["marking"]["columns"] = json!([
        { "column": "value_usd", "decimals": 0, "max_change_units": 1 },
        { "column": "weight_kg", "decimals": 0, "max_change_units": 1 },
    ]);
    v["validity"] = json!({ "not_before": day(-1), "not_after": day(30) });
    v
}

/// The consumer proposes the trade agreement and the provider accepts it.
pub async fn signed_agreement(
    consumer: &OrgClient,
    provider: &OrgClient,
    provider_id: &str,
    rid: &str,
) -> AgreementView {
    let a = consumer
        .propose_agreement(&ProposeAgreementRequest {
            request_id: rid.into(),
            template_id: "trade".into(),
            template_version: 1,
            counterparty: provider_id.into(),
            role: "consumer".into(),
            terms: Some(trade_terms()),
        })
        .await
        .unwrap();
    provider
        .agreement_action(&a.id, "accept", &format!("{rid}-acc"), None)
        .await
        .unwrap()
}

/// A transfer request under the agreement: its status, or the refusal's status and reason.
pub async fn request_under(
    consumer: &OrgClient,
    agreement: &str,
    ds: &silkgate_node::api_types::DatasetView,
    rid: &str,
) -> Result<String, (u16, String)> {
    match consumer
        .request_under_agreement(
            agreement,
            &AgreementTransferRequest {
                request_id: rid.into(),
                dataset_id: ds.dataset_id.clone(),
                sha256: ds.sha256.clone(),
                onward_to: None,
                recipient_kind: None,
            },
        )
        .await
    {
        Ok(t) => Ok(t.status),
        Err(ClientError::Api { status, reason, .. }) => Err((status, reason)),
        Err(other) => panic!("expected an answer, got {other}"),
    }
}

fn post<'a>(path: &'a str, b: &Browser, fields: &[(&str, &str)]) -> Call<'a> {
    let mut all = vec![("csrf", b.csrf.as_str())];
    all.extend_from_slice(fields);
    Call::post(path, &all).signed_in(Some(b))
}

async fn event_kinds(client: &OrgClient, id: &str) -> Vec<(String, Value)> {
    client
        .agreement_events(id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.detail))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authority_approves_suspends_and_resumes_from_the_portal() {
    let dir = tempfile::tempdir().unwrap();
    let states: Vec<silkgate_model::StateCode> = ["CN", "KZ", "RU"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let fed = LocalFederation::start(dir.path(), &states, crate::world::options())
        .await
        .unwrap();
    let (cn_client, cn_creds) = fed
        .node("CN")
        .register("reg-cn", "Yangtze Exports", silkgate_model::Sector::Trade)
        .await
        .unwrap();
    let (kz_client, kz_creds) = fed
        .node("KZ")
        .register("reg-kz", "Steppe Imports", silkgate_model::Sector::Trade)
        .await
        .unwrap();
    let cn_id = cn_creds.credentials.organisation.id.clone();
    let kz_id = kz_creds.credentials.organisation.id.clone();
    let node = |s: &str| fed.node(s).running.state.clone();
    let router = |s: &str| silkgate_node::app(node(s));
    let (cn_router, kz_router, ru_router) = (router("CN"), router("KZ"), router("RU"));
    let (_, cn_reg) = account(&node("CN"), "regulator@cn", PortalRole::Regulator, None).await;
    let (_, kz_reg) = account(&node("KZ"), "regulator@kz", PortalRole::Regulator, None).await;
    let (_, kz_op) = account(&node("KZ"), "operator@kz", PortalRole::Operator, None).await;
    let (_, ru_reg) = account(&node("RU"), "regulator@ru", PortalRole::Regulator, None).await;

    let a = signed_agreement(&kz_client, &cn_client, &cn_id, "ag-1").await;
    assert_eq!(a.status, "signed");
    assert_eq!(a.approvals_required, vec!["CN".to_owned()]);
    let id = a.id.clone();

    // CN's queue shows it with the obligation that calls for the approval and its citations:
    // the instrument's name in the original language, from the loaded CN pack, beside its
    // English name; UNVERIFIED marks stay.
    let queue = Call::get("/portal/supervision/approvals")
        .signed_in(Some(&cn_reg))
        .send(&cn_router)
        .await;
    assert_eq!(queue.status, 200, "{}", queue.body);
    assert!(queue.body.contains(&id), "{}", queue.body);
    assert!(queue.body.contains("cn.standard-contract-or-certification"));
    let engine = node("CN");
    let pack = engine.policy().packs().find(|p| p.id == "CN").unwrap();
    let named: Vec<_> = pack
        .instruments
        .values()
        .filter(|i| {
            queue
                .body
                .contains(&format!("<cite class=\"original\">{}</cite>", i.original))
        })
        .collect();
    assert!(
        !named.is_empty(),
        "no original-language name: {}",
        queue.body
    );
    assert!(
        named
            .iter()
            .all(|i| queue.body.contains(&format!("({})", askama_escape(&i.en)))),
        "each original name stands beside its English name"
    );
    assert!(queue.body.contains("value=\"standard_contract\" selected"));
    // KZ's authority is not asked; the queue there is empty.
    let kz_queue = Call::get("/portal/supervision/approvals")
        .signed_in(Some(&kz_reg))
        .send(&kz_router)
        .await;
    assert!(!kz_queue.body.contains(&id));
    let csv = Call::get("/portal/supervision/approvals.csv")
        .signed_in(Some(&cn_reg))
        .send(&cn_router)
        .await;
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(csv.body.lines().count(), 2, "{}", csv.body);
    assert!(csv.body.contains(&id) && csv.body.contains("cn.standard-contract-or-certification"));

    // Approving needs the form's token, and a basis the node knows.
    let path = format!("/portal/supervision/approvals/{id}");
    let forged = Call::post(&path, &[("csrf", "forged"), ("basis", "standard_contract")])
        .signed_in(Some(&cn_reg))
        .send(&cn_router)
        .await;
    assert_eq!(forged.status, 403);
    let bad = post(&path, &cn_reg, &[("basis", "a rubber stamp")])
        .send(&cn_router)
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("reason:"), "{}", bad.body);
    let ok = post(
        &path,
        &cn_reg,
        &[("basis", "standard_contract"), ("request_id", "page-1")],
    )
    .send(&cn_router)
    .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(ok.location(), "/portal/supervision/approvals?done=approved");
    assert_eq!(cn_client.agreement(&id).await.unwrap().status, "active");
    assert_eq!(kz_client.agreement(&id).await.unwrap().status, "active");
    let approved = event_kinds(&cn_client, &id).await;
    assert!(approved.iter().any(|(k, d)| {
        k == "agreement.approved"
            && d["approvals"][0]["basis"] == "standard_contract"
            && d["by"]
                .as_str()
                .is_some_and(|b| b.contains(&cn_reg.account_id))
    }));
    let after = Call::get("/portal/supervision/approvals")
        .signed_in(Some(&cn_reg))
        .send(&cn_router)
        .await;
    assert!(
        !after
            .body
            .contains(&format!("/portal/supervision/approvals/{id}"))
    );

    // A transfer under the agreement is accepted.
    let (m, payload) = meta("pub-cn", "cn-customs-2026", "Customs declarations CN");
    let ds = cn_client.publish(&m, payload.into()).await.unwrap();
    request_under(&kz_client, &id, &ds, "t-1").await.unwrap();

    // RU's regulator cannot act on an agreement between CN and KZ: not found.
    let suspend = format!("/portal/supervision/agreements/{id}/suspend");
    let ru = post(&suspend, &ru_reg, &[("reason", "curious")])
        .send(&ru_router)
        .await;
    assert_eq!(ru.status, 404);
    let ru_list = Call::get("/portal/supervision/agreements")
        .signed_in(Some(&ru_reg))
        .send(&ru_router)
        .await;
    assert!(!ru_list.body.contains(&id));

    // KZ's regulator suspends, with a reason; without one, nothing happens.
    let list = Call::get("/portal/supervision/agreements")
        .signed_in(Some(&kz_reg))
        .send(&kz_router)
        .await;
    assert!(
        list.body.contains(&format!("action=\"{suspend}\"")),
        "{}",
        list.body
    );
    let blank = post(&suspend, &kz_reg, &[("reason", "  ")])
        .send(&kz_router)
        .await;
    assert_eq!(blank.status, 400);
    assert!(blank.body.contains("reason:"));
    assert_eq!(kz_client.agreement(&id).await.unwrap().status, "active");
    let done = post(
        &suspend,
        &kz_reg,
        &[
            ("reason", "inspection of the importer"),
            ("request_id", "page-2"),
        ],
    )
    .send(&kz_router)
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        done.location(),
        "/portal/supervision/agreements?done=suspended"
    );
    // Effective on both nodes at once, logged on both with its reason, and the next request
    // is refused.
    assert_eq!(kz_client.agreement(&id).await.unwrap().status, "suspended");
    assert_eq!(cn_client.agreement(&id).await.unwrap().status, "suspended");
    for client in [&kz_client, &cn_client] {
        let ev = event_kinds(client, &id).await;
        assert!(
            ev.iter().any(|(k, d)| k == "agreement.suspended"
                && d.to_string().contains("inspection of the importer")),
            "{ev:?}"
        );
    }
    let (status, reason) = request_under(&kz_client, &id, &ds, "t-2")
        .await
        .unwrap_err();
    assert_eq!(status, 409);
    assert!(reason.contains("suspended"), "{reason}");
    let page = Call::get("/portal/supervision/agreements?done=suspended")
        .signed_in(Some(&kz_reg))
        .send(&kz_router)
        .await;
    assert!(page.body.contains("inspection of the importer"));
    assert!(
        page.body
            .contains(&format!("/portal/supervision/agreements/{id}/resume"))
    );
    // The same form sent again is answered as the first time (no second suspension); another
    // suspension of a suspended agreement is refused, naming the status.
    let again = post(
        &suspend,
        &kz_reg,
        &[
            ("reason", "inspection of the importer"),
            ("request_id", "page-2"),
        ],
    )
    .send(&kz_router)
    .await;
    assert_eq!(again.status, 303, "{}", again.body);
    let suspensions = event_kinds(&kz_client, &id)
        .await
        .into_iter()
        .filter(|(k, _)| k == "agreement.suspended")
        .count();
    assert_eq!(suspensions, 1);
    let twice = post(&suspend, &kz_reg, &[("reason", "once more")])
        .send(&kz_router)
        .await;
    assert_eq!(twice.status, 400);
    assert!(twice.body.contains("status:"), "{}", twice.body);

    // The operator lifts it; the next request goes through.
    let resume = format!("/portal/supervision/agreements/{id}/resume");
    let lifted = post(&resume, &kz_op, &[("reason", "inspection closed")])
        .send(&kz_router)
        .await;
    assert_eq!(lifted.status, 303, "{}", lifted.body);
    assert_eq!(cn_client.agreement(&id).await.unwrap().status, "active");
    request_under(&kz_client, &id, &ds, "t-3").await.unwrap();

    // Suspending the organisation suspends its agreements; CN's regulator cannot (not its
    // state); lifting resumes them.
    let org_suspend = format!("/portal/supervision/organisations/{kz_id}/suspend");
    let foreign = post(&org_suspend, &cn_reg, &[("reason", "x")])
        .send(&cn_router)
        .await;
    assert_eq!(foreign.status, 404);
    let s = post(&org_suspend, &kz_reg, &[("reason", "licence withdrawn")])
        .send(&kz_router)
        .await;
    assert_eq!(s.status, 303, "{}", s.body);
    assert_eq!(cn_client.agreement(&id).await.unwrap().status, "suspended");
    let (status, _) = request_under(&kz_client, &id, &ds, "t-4")
        .await
        .unwrap_err();
    assert_eq!(status, 409);
    // Without an agreement too: the organisation's own node refuses what it asks for.
    let plain = |rid: &str| silkgate_node::api_types::TransferRequest {
        request_id: rid.into(),
        provider: cn_id.to_string(),
        dataset_id: ds.dataset_id.clone(),
        sha256: ds.sha256.clone(),
        purpose: "customs statistics".into(),
        recipient_kind: None,
    };
    match kz_client.request_transfer(&plain("p-1")).await {
        Err(ClientError::Api { status, reason, .. }) => {
            assert_eq!(status, 409);
            assert!(reason.contains("suspended"), "{reason}");
        }
        other => panic!("a suspended organisation's request went through: {other:?}"),
    }
    let kz_events = fed
        .node("KZ")
        .running
        .state
        .store()
        .events(0, 10_000)
        .await
        .unwrap();
    let suspended: Vec<_> = kz_events
        .iter()
        .filter(|e| e.kind == "organisation.suspended")
        .collect();
    assert_eq!(suspended.len(), 1);
    assert_eq!(suspended[0].detail["reason"], "licence withdrawn");
    let csv = Call::get("/portal/supervision/agreements.csv")
        .signed_in(Some(&kz_reg))
        .send(&kz_router)
        .await;
    assert!(
        csv.body.contains("\"suspended\"") && csv.body.contains("\"licence withdrawn\""),
        "{}",
        csv.body
    );
    let r = post(
        &format!("/portal/supervision/organisations/{kz_id}/resume"),
        &kz_reg,
        &[("reason", "licence restored")],
    )
    .send(&kz_router)
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(kz_client.agreement(&id).await.unwrap().status, "active");
    kz_client.request_transfer(&plain("p-2")).await.unwrap();
    // A suspended provider: its node refuses the request that reaches it from another state.
    let cn_suspend = format!("/portal/supervision/organisations/{cn_id}/suspend");
    let s = post(&cn_suspend, &cn_reg, &[("reason", "under investigation")])
        .send(&cn_router)
        .await;
    assert_eq!(s.status, 303, "{}", s.body);
    match kz_client.request_transfer(&plain("p-3")).await {
        Err(ClientError::Api { reason, .. }) => {
            assert!(
                reason.contains("provider") && reason.contains("suspended"),
                "{reason}"
            );
        }
        other => panic!("a suspended provider's data was requested: {other:?}"),
    }
    let r = post(
        &format!("/portal/supervision/organisations/{cn_id}/resume"),
        &cn_reg,
        &[("reason", "investigation closed")],
    )
    .send(&cn_router)
    .await;
    assert_eq!(r.status, 303, "{}", r.body);

    // Every supervision page in every language: no missing key, no English left over.
    let pages = [
        ("/portal/supervision/agreements", &kz_reg, &kz_router),
        ("/portal/supervision/agreements", &kz_op, &kz_router),
        ("/portal/supervision/approvals", &cn_reg, &cn_router),
        ("/portal/supervision/obligations", &cn_reg, &cn_router),
        ("/portal/supervision/thresholds", &cn_reg, &cn_router),
        ("/portal/supervision/categories", &cn_reg, &cn_router),
    ];
    // A second agreement waiting for CN, so the queue has content to translate.
    signed_agreement(&kz_client, &cn_client, &cn_id, "ag-2").await;
    for lang in Lang::ALL {
        let leftovers = if lang == Lang::En {
            vec![]
        } else {
            crate::english_only(lang)
        };
        for (path, b, r) in pages {
            let a = Call::get(path)
                .signed_in(Some(b))
                .lang(lang.tag())
                .send(r)
                .await;
            assert_eq!(a.status, 200, "{path} {lang:?}");
            assert!(
                !a.body.contains(i18n::MISSING_OPEN),
                "{path} {lang:?}: {}",
                a.body
            );
            for e in &leftovers {
                assert!(
                    !a.body.contains(&format!(">{e}<")),
                    "{path} in {lang:?} shows untranslated '{e}'"
                );
            }
        }
    }

    // Outstanding obligations: personal data asked for from CN without an agreement leaves
    // obligations of the CN pack unmet while the provider has not decided; CN's authority sees
    // the flow with the obligations' citations, in the page and the CSV.
    let (mut m, _) = meta("pub-cn-people", "cn-people-2026", "Payments to persons CN");
    m.schema = ["name", "phone", "amount"]
        .iter()
        .map(|n| silkgate_node::api_types::ColumnView {
            name: (*n).into(),
            ty: "string".into(),
        })
        .collect();
    let mut people = String::from("name,phone,amount\n");
    for i in 0..40 {
        people.push_str(&format!(
            "Wang Wei {i},+86 138 {:04} {:04},{}\n",
            1000 + i,
            2000 + i,
            10 * i
        ));
    }
    let people_ds = cn_client
        .publish(&m, people.into_bytes().into())
        .await
        .unwrap();
    let asked = kz_client
        .request_transfer(&silkgate_node::api_types::TransferRequest {
            request_id: "people-1".into(),
            provider: cn_id.clone(),
            dataset_id: people_ds.dataset_id.clone(),
            sha256: people_ds.sha256.clone(),
            purpose: "payment reconciliation".into(),
            recipient_kind: None,
        })
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let page = loop {
        let page = Call::get("/portal/supervision/obligations")
            .signed_in(Some(&cn_reg))
            .send(&cn_router)
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        if page.body.contains(&asked.id) || std::time::Instant::now() > deadline {
            break page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(page.body.contains(&asked.id), "{}", page.body);
    assert!(page.body.contains("<code>cn."), "{}", page.body);
    assert!(
        page.body.contains("<cite class=\"original\">"),
        "{}",
        page.body
    );
    let csv = Call::get("/portal/supervision/obligations.csv")
        .signed_in(Some(&cn_reg))
        .send(&cn_router)
        .await;
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    assert!(
        csv.body
            .lines()
            .any(|l| l.contains(&asked.id) && l.contains("cn.")),
        "{}",
        csv.body
    );

    // By data category: the people dataset's flow counts under personal data, drawn and in
    // the CSV; the trade transfers under the agreement under their own categories.
    let cats = Call::get("/portal/supervision/categories")
        .signed_in(Some(&cn_reg))
        .send(&cn_router)
        .await;
    assert_eq!(cats.status, 200, "{}", cats.body);
    assert!(cats.body.contains("<svg"), "{}", cats.body);
    assert!(cats.body.contains(">Personal data<"), "{}", cats.body);
    let csv = Call::get("/portal/supervision/categories.csv")
        .signed_in(Some(&cn_reg))
        .send(&cn_router)
        .await;
    let personal = csv
        .body
        .lines()
        .find(|l| l.starts_with("\"personal\","))
        .unwrap_or_else(|| panic!("{}", csv.body));
    let in_progress: i64 = personal
        .split(',')
        .nth(3)
        .unwrap()
        .trim_matches('"')
        .parse()
        .unwrap();
    assert!(
        in_progress >= 1,
        "the people transfer awaits a decision: {personal}"
    );

    // Threshold crossings on CN, read from the CN pack through the engine: an exporter past
    // 100,000 people this year is over a threshold, one at 90,000 near it, one at 10 neither.
    let (_, near_creds) = fed
        .node("CN")
        .register(
            "reg-cn-2",
            "Pearl River Data",
            silkgate_model::Sector::Trade,
        )
        .await
        .unwrap();
    let (_, small_creds) = fed
        .node("CN")
        .register("reg-cn-3", "Small Shop", silkgate_model::Sector::Trade)
        .await
        .unwrap();
    let near_id: silkgate_model::OrgId = near_creds.credentials.organisation.id.parse().unwrap();
    let small_id: silkgate_model::OrgId = small_creds.credentials.organisation.id.parse().unwrap();
    let over_id: silkgate_model::OrgId = cn_id.parse().unwrap();
    let year = crate::world::clock().year();
    let cn_node = node("CN");
    let mut tx = cn_node.store().begin().await.unwrap();
    for (org, n) in [(&over_id, 150_000), (&near_id, 90_000), (&small_id, 10)] {
        tx.add_year_to_date(org, year, n, 0).await.unwrap();
    }
    tx.commit().await.unwrap();
    let page = Call::get("/portal/supervision/thresholds")
        .signed_in(Some(&cn_reg))
        .send(&cn_router)
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let row = |state: &str, org: &silkgate_model::OrgId| {
        page.body
            .split("<tr data-threshold=")
            .skip(1)
            .any(|r| r.starts_with(&format!("\"{state}\"")) && r.contains(org.as_str()))
    };
    assert!(row("over", &over_id), "{}", page.body);
    assert!(row("near", &near_id), "{}", page.body);
    assert!(!row("over", &near_id) && !row("near", &over_id));
    assert!(!page.body.contains(small_id.as_str()), "{}", page.body);
    assert!(page.body.contains("<code>cn."), "{}", page.body);
    let csv = Call::get("/portal/supervision/thresholds.csv")
        .signed_in(Some(&cn_reg))
        .send(&cn_router)
        .await;
    assert!(
        csv.body
            .lines()
            .any(|l| l.contains(over_id.as_str()) && l.contains("\"over\"")),
        "{}",
        csv.body
    );
    // KZ's regulator sees no CN exporter.
    let kz_page = Call::get("/portal/supervision/thresholds")
        .signed_in(Some(&kz_reg))
        .send(&kz_router)
        .await;
    assert!(!kz_page.body.contains(over_id.as_str()));

    // The log explorer's inclusion proof of the suspension's entry on KZ: the page says
    // verified, and the hashes it shows recompute to the checkpoint's root (a changed hash
    // does not).
    let kz = node("KZ");
    let seq = kz
        .store()
        .events_about(&id)
        .await
        .unwrap()
        .iter()
        .find(|e| e.kind == "agreement.suspended")
        .unwrap()
        .seq;
    let index = u64::try_from(seq - 1).unwrap();
    kz.log().wait_logged(kz.store(), seq).await.unwrap();
    let view = silkgate_portal::supervise::inclusion(&kz, index)
        .await
        .unwrap()
        .expect("a checkpoint covers the entry");
    assert!(view.failure.is_none(), "{:?}", view.failure);
    let hash = |h: &str| silkgate_log::Hash::from_slice(&hex::decode(h).unwrap()).unwrap();
    let path: Vec<_> = view.path.iter().map(|h| hash(h)).collect();
    let (leaf, root) = (hash(&view.leaf), hash(&view.root));
    silkgate_log::verify_inclusion(index, view.size, &leaf, &path, &root).unwrap();
    if let Some(first) = path.first() {
        let mut bad = path.clone();
        bad[0] = silkgate_log::node_hash(first, first);
        assert!(silkgate_log::verify_inclusion(index, view.size, &leaf, &bad, &root).is_err());
    }
    let page = Call::get(&format!("/portal/log?entry={index}"))
        .signed_in(Some(&kz_reg))
        .send(&kz_router)
        .await;
    assert!(
        page.body.contains("data-proof=\"verified\""),
        "{}",
        page.body
    );
    assert!(page.body.contains(&view.root) && page.body.contains(&view.leaf));
    fed.shutdown();
}

/// The HTML escaping askama applies to text (what a page shows for `s`).
fn askama_escape(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}
