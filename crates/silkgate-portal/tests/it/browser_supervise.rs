//! A regulator suspends an agreement in the browser, and the next transfer request under it is
//! refused on both nodes. Gated like `browser.rs` by `SILKGATE_PORTAL_BROWSER=1`; screenshots go
//! to `target/portal-screenshots/`.

use fantoccini::Locator;
use silkgate_store::PortalRole;

use crate::browser::{page, shot, sign_in, start_browser, wait_for_path, wait_for_source};
use crate::supervise::{request_under, signed_agreement};
use crate::world::{self, meta};

#[tokio::test]
async fn a_regulator_suspends_an_agreement_in_chromium_and_the_next_request_is_refused() {
    if std::env::var_os("SILKGATE_PORTAL_BROWSER").is_none() {
        eprintln!(
            "not run: browser suspension test (set SILKGATE_PORTAL_BROWSER=1 with chromium and chromedriver installed; .ci/setup/70-portal.sh does)"
        );
        return;
    }
    let w = world::world().await;
    let base = w.fed.node("KZ").url.clone();
    let (kz_client, _) = w
        .fed
        .node("KZ")
        .register(
            "reg-kz-sup",
            "Steppe Grain JSC",
            silkgate_model::Sector::Trade,
        )
        .await
        .unwrap();
    let (ru_client, ru_creds) = w
        .fed
        .node("RU")
        .register("reg-ru-sup", "Ural Freight", silkgate_model::Sector::Trade)
        .await
        .unwrap();
    let ru_id = ru_creds.credentials.organisation.id.clone();
    let a = signed_agreement(&kz_client, &ru_client, &ru_id, "ag-browser").await;
    assert_eq!(
        a.status, "active",
        "no authority approval between KZ and RU: {a:?}"
    );
    let id = a.id.clone();
    let (m, payload) = meta("pub-ru-sup", "ru-grain-2026", "Grain shipments RU");
    let ds = ru_client.publish(&m, payload.into()).await.unwrap();
    request_under(&kz_client, &id, &ds, "t-before")
        .await
        .unwrap();

    let (reg, _) = world::account(&w.kz, "inspector@kz", PortalRole::Regulator, None).await;
    let (_driver, c) = start_browser().await;
    sign_in(
        &c,
        &base,
        "inspector@kz",
        &reg.totp_secret,
        "/portal/supervision/agreements",
    )
    .await;
    let html = page(&c).await;
    let action = format!("/portal/supervision/agreements/{id}/suspend");
    assert!(html.contains(&action), "{html}");
    c.find(Locator::Id(&format!("reason-s-{id}")))
        .await
        .unwrap()
        .send_keys("suspected breach of the retention term")
        .await
        .unwrap();
    shot(&c, "supervise-agreements-en").await;
    c.find(Locator::Css(&format!(
        "form[action='{action}'] button[type=submit]"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_for_source(&c, "role=\"status\"").await;
    wait_for_path(&c, "/portal/supervision/agreements").await;
    let html = page(&c).await;
    assert!(
        html.contains("suspected breach of the retention term")
            && html.contains(&format!("/portal/supervision/agreements/{id}/resume")),
        "{html}"
    );
    shot(&c, "supervise-suspended-en").await;

    // Federation-wide at once: both nodes hold the suspension, and the consumer's next
    // request is refused.
    assert_eq!(kz_client.agreement(&id).await.unwrap().status, "suspended");
    assert_eq!(ru_client.agreement(&id).await.unwrap().status, "suspended");
    let (status, reason) = request_under(&kz_client, &id, &ds, "t-after")
        .await
        .unwrap_err();
    assert_eq!(status, 409);
    assert!(reason.contains("suspended"), "{reason}");

    c.close().await.unwrap();
    w.fed.shutdown();
}
