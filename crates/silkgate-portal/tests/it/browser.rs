//! The portal in a real headless Chromium (Debian's `chromium` and `chromium-driver`, driven
//! through WebDriver by fantoccini) against a running KZ node over HTTPS. Gated by
//! `SILKGATE_PORTAL_BROWSER=1`, which `.ci/setup/70-portal.sh` exports after installing them.
//! Screenshots of the main pages go to `target/portal-screenshots/`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use silkgate_portal::auth;
use silkgate_portal::i18n::MISSING_OPEN;
use silkgate_store::PortalRole;

use crate::world::{self, PASSWORD};

/// Ends the chromedriver this test started when the test ends, pass or fail.
pub(crate) struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn screenshots_dir() -> PathBuf {
    // CARGO_MANIFEST_DIR is crates/silkgate-portal; the workspace's target is two up.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/portal-screenshots");
    std::fs::create_dir_all(&dir).expect("target/ is writable");
    dir
}

pub(crate) async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
    std::fs::write(screenshots_dir().join(format!("{name}.png")), png).expect("write screenshot");
}

pub(crate) async fn start_browser() -> (Driver, Client) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver on PATH (apt: chromium-driver)");
    let driver = Driver(child);
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            // The node's certificate is issued by its own CA, which this throwaway profile
            // does not trust; the test checks the portal, not the PKI (tested elsewhere).
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--ignore-certificate-errors", "--window-size=1200,900", "--lang=en-US"]
        }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let mut last = None;
    for _ in 0..100 {
        match ClientBuilder::rustls()
            .expect("rustls client")
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => return (driver, c),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start: {last:?}");
}

pub(crate) async fn sign_in(c: &Client, base: &str, login: &str, secret: &str, path: &str) {
    c.goto(&format!("{base}{path}")).await.unwrap();
    let url = c.current_url().await.unwrap();
    assert!(
        url.path().ends_with("/portal/sign-in"),
        "signed out, {path} leads to sign-in: {url}"
    );
    c.find(Locator::Id("login"))
        .await
        .unwrap()
        .send_keys(login)
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    let code = auth::current_code(secret, &crate::world::clock()).unwrap();
    c.find(Locator::Id("code"))
        .await
        .unwrap()
        .send_keys(&code)
        .await
        .unwrap();
    c.find(Locator::Css("main form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(c, path).await;
    let url = c.current_url().await.unwrap();
    assert_eq!(url.path(), path, "back where sign-in started");
}

/// Waits (up to 10 s) for the browser to reach `path`: a click returns before the next page
/// has loaded.
pub(crate) async fn wait_for_path(c: &Client, path: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while c.current_url().await.unwrap().path() != path && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (up to 10 s) for the current page to contain `marker`.
pub(crate) async fn wait_for_source(c: &Client, marker: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !c.source().await.unwrap().contains(marker) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn page(c: &Client) -> String {
    let html = c.source().await.unwrap();
    assert!(
        !html.contains(MISSING_OPEN),
        "a page misses a catalogue key: {html}"
    );
    html
}

#[tokio::test]
async fn organisation_and_regulator_use_the_portal_in_chromium() {
    if std::env::var_os("SILKGATE_PORTAL_BROWSER").is_none() {
        eprintln!(
            "not run: browser test (set SILKGATE_PORTAL_BROWSER=1 with chromium and chromedriver installed; .ci/setup/70-portal.sh does)"
        );
        return;
    }
    let w = world::world().await;
    let base = w.fed.node("KZ").url.clone();
    let officer = auth::create_account(
        w.kz.store(),
        auth::NewAccount {
            login: "officer@kz".into(),
            display_name: "Compliance Officer".into(),
            role: PortalRole::OrgAdmin,
            org_id: Some(w.kz_org.clone()),
            password: PASSWORD.into(),
        },
        "Silkgate KZ",
    )
    .await
    .unwrap();
    let (_driver, c) = start_browser().await;

    // Sign in with TOTP, landing on the page asked for.
    sign_in(
        &c,
        &base,
        "officer@kz",
        &officer.totp_secret,
        "/portal/transfers",
    )
    .await;
    let html = page(&c).await;
    assert!(html.contains(&w.inbound_id) && html.contains(&w.outbound_id));
    shot(&c, "transfers-en").await;

    // The delivered transfer's timeline, step by step.
    c.find(Locator::Css(&format!(
        "a[href='/portal/transfers/{}']",
        w.inbound_id
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_for_path(&c, &format!("/portal/transfers/{}", w.inbound_id)).await;
    let html = page(&c).await;
    for kind in ["transfer.requested", "transfer.delivery-received"] {
        assert!(
            html.contains(&format!("data-kind=\"{kind}\"")),
            "timeline lacks {kind}"
        );
    }
    shot(&c, "transfer-timeline-en").await;

    // The published dataset with its content review.
    c.goto(&format!("{base}/portal/datasets")).await.unwrap();
    let html = page(&c).await;
    assert!(html.contains("kz-customs-2026") && html.contains("review.sha256"));
    shot(&c, "datasets-en").await;

    // Publish a file through the form, landing on the content review of the stored version.
    let upload = std::env::temp_dir().join(format!("silkgate-upload-{}.csv", std::process::id()));
    std::fs::write(
        &upload,
        "contact_email,amount\nalice@example.org,10\nbob@example.org,20\n",
    )
    .unwrap();
    c.goto(&format!("{base}/portal/datasets/new"))
        .await
        .unwrap();
    for (id, value) in [
        ("dataset_id", "kz-browser-upload"),
        ("title", "Uploaded in the browser"),
    ] {
        c.find(Locator::Id(id))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    c.find(Locator::Id("file"))
        .await
        .unwrap()
        .send_keys(upload.to_str().unwrap())
        .await
        .unwrap();
    shot(&c, "publish-en").await;
    c.find(Locator::Css("#publish-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_source(&c, "id=\"review\"").await;
    let path = c.current_url().await.unwrap().path().to_owned();
    assert!(
        path.starts_with("/portal/datasets/kz-browser-upload/"),
        "{path}"
    );
    let html = page(&c).await;
    assert!(
        html.contains("scan.rows") && html.contains("contact_email"),
        "the review of the uploaded file: {html}"
    );
    shot(&c, "publish-review-en").await;
    let _ = std::fs::remove_file(&upload);
    c.goto(&format!("{base}/portal/datasets")).await.unwrap();
    assert!(page(&c).await.contains("kz-browser-upload"));

    // The switch: Russian, then Chinese, on the same page.
    for (tag, word) in [("ru", "Мои наборы данных"), ("zh", "我的数据集")] {
        c.find(Locator::Css(&format!("a[hreflang='{tag}']")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        // The click does not wait for the next page: wait for the language to change.
        let marker = format!("<html lang=\"{tag}\">");
        wait_for_source(&c, &marker).await;
        assert_eq!(c.current_url().await.unwrap().path(), "/portal/datasets");
        let html = page(&c).await;
        assert!(html.contains(&marker) && html.contains(word), "{tag}");
        shot(&c, &format!("datasets-{tag}")).await;
    }
    c.goto(&format!("{base}/portal/deliveries")).await.unwrap();
    assert!(page(&c).await.contains("下载"));
    shot(&c, "deliveries-zh").await;

    // Sign out: the session ends.
    c.find(Locator::Css("header form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The click does not wait for the sign-out to complete: wait for its redirect away from
    // the page it was made on.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while c.current_url().await.unwrap().path() == "/portal/deliveries"
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.goto(&format!("{base}/portal/transfers")).await.unwrap();
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/portal/sign-in")
    );

    // A regulator: the dashboard's charts and the denial with its reason.
    let (reg, _) = world::account(&w.kz, "inspector@kz", PortalRole::Regulator, None).await;
    sign_in(
        &c,
        &base,
        "inspector@kz",
        &reg.totp_secret,
        "/portal/supervision",
    )
    .await;
    let html = page(&c).await;
    assert!(html.matches("<svg").count() >= 3, "three charts");
    shot(&c, "supervision-zh").await;
    c.find(Locator::Css("a[hreflang='en']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Let the switch's page load before leaving it, so its answer cannot land after the next.
    wait_for_source(&c, "<html lang=\"en\">").await;
    c.goto(&format!("{base}/portal/supervision/flows?status=denied"))
        .await
        .unwrap();
    let html = page(&c).await;
    assert!(
        html.contains(&w.outbound_id)
            && html.contains("no agreement in force")
            && !html.contains(&w.inbound_id)
    );
    shot(&c, "denials-en").await;
    c.goto(&format!("{base}/portal/log")).await.unwrap();
    page(&c).await;
    shot(&c, "log-en").await;

    c.close().await.unwrap();
    w.fed.shutdown();
}
