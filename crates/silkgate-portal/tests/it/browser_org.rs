//! An agreement made in the browser across two nodes: proposed in the KZ portal, signed in the
//! RU portal, then a transfer under it asked for and watched to delivery in the RU portal. Gated like
//! `browser.rs` by `SILKGATE_PORTAL_BROWSER=1`; screenshots go to `target/portal-screenshots/`.

use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::json;
use silkgate_model::TransferStatus;
use silkgate_portal::auth;
use silkgate_store::{PortalRole, TransferRole};

use crate::browser::{page, shot, sign_in, start_browser, wait_for_path, wait_for_source};
use crate::world::{self, PASSWORD, day};

/// Sets a form control's value as typing would (date inputs and long JSON are not typed
/// key by key).
async fn set(c: &Client, id: &str, value: &str) {
    c.execute(
        "const e = document.getElementById(arguments[0]); e.value = arguments[1]; return e.value;",
        vec![json!(id), json!(value)],
    )
    .await
    .unwrap_or_else(|e| panic!("set {id}: {e}"));
}

/// The page is no wider than the window: no text runs off to the side.
async fn fits(c: &Client, what: &str) {
    let widths = c
        .execute(
            "const d = document.documentElement; return [d.scrollWidth, d.clientWidth];",
            vec![],
        )
        .await
        .unwrap();
    let (scroll, client) = (widths[0].as_i64().unwrap(), widths[1].as_i64().unwrap());
    assert!(
        scroll <= client,
        "{what} is {scroll} px wide in a {client} px window"
    );
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn new_account(
    node: &silkgate_node::NodeState,
    login: &str,
    org: &silkgate_model::OrgId,
) -> String {
    auth::create_account(
        node.store(),
        auth::NewAccount {
            login: login.into(),
            display_name: format!("Officer {login}"),
            role: PortalRole::OrgAdmin,
            org_id: Some(org.clone()),
            password: PASSWORD.into(),
        },
        "Silkgate test",
    )
    .await
    .unwrap()
    .totp_secret
}

#[tokio::test]
async fn an_agreement_is_proposed_and_signed_in_chromium_and_a_transfer_under_it_completes() {
    if std::env::var_os("SILKGATE_PORTAL_BROWSER").is_none() {
        eprintln!(
            "not run: browser agreement test (set SILKGATE_PORTAL_BROWSER=1 with chromium and chromedriver installed; .ci/setup/70-portal.sh does)"
        );
        return;
    }
    let w = world::world().await;
    let kz_base = w.fed.node("KZ").url.clone();
    let ru_base = w.fed.node("RU").url.clone();
    let ru_node = w.fed.node("RU").running.state.clone();
    // The consumer: a RU organisation with an API client, to ask for the data.
    let (ru_client, ru_creds) = w
        .fed
        .node("RU")
        .register(
            "reg-ru-browser",
            "Irtysh Analytics",
            silkgate_model::Sector::Trade,
        )
        .await
        .unwrap();
    let ru_org: silkgate_model::OrgId = ru_creds.credentials.organisation.id.parse().unwrap();
    let kz_secret = new_account(&w.kz, "proposer@kz", &w.kz_org).await;
    let ru_secret = new_account(&ru_node, "signer@ru", &ru_org).await;
    let (_driver, c) = start_browser().await;

    // KZ: propose from the trade template, terms fitted to the dataset.
    sign_in(
        &c,
        &kz_base,
        "proposer@kz",
        &kz_secret,
        "/portal/agreements/new",
    )
    .await;
    c.find(Locator::Css("#choose-template option[value='trade:1']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    click(&c, "form.filters button[type=submit]").await;
    wait_for_source(&c, "Customs and trade-facilitation").await;
    c.find(Locator::Id("counterparty"))
        .await
        .unwrap()
        .send_keys(ru_org.as_str())
        .await
        .unwrap();
    set(
        &c,
        "t_columns",
        "declaration_id, hs_code, origin, destination, value_usd, weight_kg",
    )
    .await;
    set(&c, "t_deidentification", "[]").await;
    let marking = json!({
        "enabled": true,
        "columns": [
            { "column": "value_usd", "decimals": 0, "max_change_units": 1 },
            { "column": "weight_kg", "decimals": 0, "max_change_units": 1 }
        ],
        "select_one_in": 2,
        "fingerprint_symbols": 64,
        "canary_records": 5
    });
    set(&c, "t_marking", &marking.to_string()).await;
    set(&c, "t_validity_not_before", &day(-1)).await;
    set(&c, "t_validity_not_after", &day(300)).await;
    fits(&c, "proposal form").await;
    shot(&c, "agreement-propose-en").await;
    click(&c, "#propose-form button[type=submit]").await;
    wait_for_source(&c, "id=\"agreement-status\"").await;
    let url = c.current_url().await.unwrap();
    let Some(id) = url
        .path()
        .strip_prefix("/portal/agreements/")
        .map(str::to_owned)
    else {
        panic!(
            "not on the agreement page: {url}: {}",
            c.source().await.unwrap()
        );
    };
    let html = page(&c).await;
    assert!(html.contains("data-status=\"proposed\""), "{html}");
    assert!(html.contains("data-kind=\"agreement.proposed\""));
    shot(&c, "agreement-proposed-en").await;

    // RU: the notification, then the agreement in Russian, signed with a click.
    sign_in(
        &c,
        &ru_base,
        "signer@ru",
        &ru_secret,
        "/portal/notifications",
    )
    .await;
    let html = page(&c).await;
    assert!(
        html.contains("data-kind=\"notice-to-sign\"") && html.contains("class=\"badge\""),
        "{html}"
    );
    click(&c, "a[hreflang='ru']").await;
    wait_for_source(&c, "<html lang=\"ru\">").await;
    shot(&c, "notifications-ru").await;
    let path = format!("/portal/agreements/{id}");
    click(&c, &format!("#notices a[href='{path}']")).await;
    wait_for_path(&c, &path).await;
    wait_for_source(&c, "id=\"accept-form\"").await;
    let html = page(&c).await;
    assert!(html.contains("Торговые данные"), "clauses in Russian");
    shot(&c, "agreement-to-sign-ru").await;
    click(&c, "#accept-button").await;
    wait_for_source(&c, "data-status=\"active\"").await;
    let html = page(&c).await;
    assert!(html.contains("data-status=\"active\""), "{html}");
    assert!(html.contains("data-kind=\"agreement.signed\""));
    shot(&c, "agreement-active-ru").await;

    // A transfer under it, asked for in the RU portal, watched there to delivery.
    let dataset =
        w.kz.store()
            .datasets_of(&w.kz_org)
            .await
            .unwrap()
            .into_iter()
            .find(|d| d.dataset_id == "kz-customs-2026")
            .unwrap();
    let wanted = format!("{}@{}", dataset.dataset_id, dataset.sha256);
    wait_for_source(&c, "id=\"request-form\"").await;
    click(&c, &format!("#dataset option[value='{wanted}']")).await;
    shot(&c, "agreement-request-ru").await;
    fits(&c, "agreement page").await;
    // Readable on a phone: the same page in a phone-sized window, nothing wider than it.
    c.set_window_size(390, 844).await.unwrap();
    fits(&c, "agreement page on a phone").await;
    shot(&c, "agreement-phone-ru").await;
    c.set_window_size(1200, 900).await.unwrap();
    click(&c, "#request-button").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !c
        .current_url()
        .await
        .unwrap()
        .path()
        .starts_with("/portal/transfers/")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the request did not lead to its transfer: {}",
            c.source().await.unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let transfer_id = c
        .current_url()
        .await
        .unwrap()
        .path()
        .trim_start_matches("/portal/transfers/")
        .to_owned();
    let t = ru_client.transfer(&transfer_id).await.unwrap();
    // If the provider's approval is asked for this request, it is given in the KZ portal.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut approved_in_portal = false;
    loop {
        let rec =
            w.kz.store()
                .transfer(&t.id, TransferRole::Provider)
                .await
                .unwrap();
        match rec.map(|r| r.transfer.status) {
            Some(TransferStatus::AwaitingDecision) => {
                let second = new_account(&w.kz, "approver@kz", &w.kz_org).await;
                sign_in(&c, &kz_base, "approver@kz", &second, "/portal/requests").await;
                let html = page(&c).await;
                assert!(html.contains(&t.id), "{html}");
                shot(&c, "requests-en").await;
                click(
                    &c,
                    &format!(
                        "form[action='/portal/requests/{}'] button[type=submit]",
                        t.id
                    ),
                )
                .await;
                wait_for_path(&c, &format!("/portal/transfers/{}", t.id)).await;
                approved_in_portal = true;
                break;
            }
            Some(TransferStatus::Denied) => panic!("the transfer under the agreement was denied"),
            Some(TransferStatus::Approved | TransferStatus::Delivered) => break,
            _ => {}
        }
        assert!(std::time::Instant::now() < deadline, "no decision came");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let done = ru_client
        .wait_final(&t.id, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(done.status, "delivered", "{done:?}");
    if approved_in_portal {
        sign_in(
            &c,
            &ru_base,
            "signer@ru",
            &ru_secret,
            &format!("/portal/transfers/{}", t.id),
        )
        .await;
    } else {
        c.goto(&format!("{ru_base}/portal/transfers/{}", t.id))
            .await
            .unwrap();
    }
    let marker = "data-kind=\"transfer.delivery-received\"";
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !c.source().await.unwrap().contains(marker) {
        assert!(
            std::time::Instant::now() < deadline,
            "the timeline never completed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        c.refresh().await.unwrap();
    }
    let html = page(&c).await;
    assert!(html.contains("data-kind=\"transfer.requested\""));
    shot(&c, "transfer-under-agreement-ru").await;
    c.close().await.unwrap();
    w.fed.shutdown();
}
