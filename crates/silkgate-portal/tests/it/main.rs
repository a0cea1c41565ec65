//! Portal integration tests over a real two-node federation (one binary, modules inside).

mod browser;
mod browser_org;
mod browser_supervise;
mod org;
mod supervise;
mod world;

use axum::http::StatusCode;
use silkgate_portal::auth;
use silkgate_portal::i18n::{self, Lang, Tr};
use silkgate_store::PortalRole;

use world::{Call, World, world};

const ORG: &[PortalRole] = &[PortalRole::OrgMember, PortalRole::OrgAdmin];

/// Every page a role can open, with something each must show.
fn pages(w: &World) -> Vec<(&'static [PortalRole], String, Vec<String>)> {
    let mut pages: Vec<(&'static [PortalRole], String, Vec<String>)> = vec![
        (&PortalRole::ALL, "/portal/".into(), vec![]),
        (
            &[
                PortalRole::OrgMember,
                PortalRole::OrgAdmin,
                PortalRole::Regulator,
            ],
            "/portal/agreements".into(),
            vec![],
        ),
        (
            ORG,
            "/portal/catalogue".into(),
            vec![
                "Customs declarations RU".into(),
                "Customs declarations KZ".into(),
            ],
        ),
        (
            ORG,
            "/portal/catalogue?q=KZ&sector=trade&state=KZ".into(),
            vec!["kz-customs-2026".into()],
        ),
        (
            ORG,
            "/portal/datasets".into(),
            vec!["kz-customs-2026".into(), "review.sha256".into()],
        ),
        (
            ORG,
            "/portal/transfers".into(),
            vec![w.inbound_id.clone(), w.outbound_id.clone()],
        ),
        (
            ORG,
            format!("/portal/transfers/{}", w.inbound_id),
            vec!["transfer.delivery-received".into()],
        ),
        (
            ORG,
            format!("/portal/transfers/{}", w.outbound_id),
            vec!["no agreement in force".into()],
        ),
        (
            ORG,
            "/portal/deliveries".into(),
            vec![format!("/portal/deliveries/{}/payload", w.inbound_id)],
        ),
        (
            &[PortalRole::Regulator],
            "/portal/supervision".into(),
            vec!["<svg".into()],
        ),
        (
            &[PortalRole::Regulator],
            "/portal/supervision?days=30&partner=RU&status=denied".into(),
            vec!["<svg".into()],
        ),
        (
            &[PortalRole::Regulator],
            "/portal/supervision/flows".into(),
            vec![w.outbound_id.clone(), w.inbound_id.clone()],
        ),
        (
            &[PortalRole::Regulator],
            format!("/portal/supervision/flows/{}", w.outbound_id),
            vec!["no agreement in force".into()],
        ),
        (
            &[PortalRole::Regulator, PortalRole::Operator],
            "/portal/log?entry=0".into(),
            vec![
                format!("log.{}", w.kz.node_id()),
                "data-proof=\"verified\"".into(),
            ],
        ),
        (
            &[PortalRole::Regulator, PortalRole::Operator],
            "/portal/supervision/agreements".into(),
            vec![],
        ),
        (
            &[PortalRole::Regulator, PortalRole::Operator],
            "/portal/supervision/approvals".into(),
            vec![],
        ),
        (
            &[PortalRole::Regulator, PortalRole::Operator],
            "/portal/supervision/obligations".into(),
            vec![],
        ),
        (
            &[PortalRole::Regulator, PortalRole::Operator],
            "/portal/supervision/thresholds".into(),
            vec![],
        ),
        (
            &[PortalRole::Regulator, PortalRole::Operator],
            "/portal/supervision/categories".into(),
            vec![],
        ),
        (
            &[PortalRole::Operator],
            "/portal/accounts".into(),
            vec!["regulator@kz".into()],
        ),
    ];
    pages.extend(org::pages());
    pages
}

/// English strings of the catalogue that differ in `lang`: if one shows between tags on a
/// page in `lang`, the page has an untranslated string.
fn english_only(lang: Lang) -> Vec<String> {
    let (en, other) = (Tr::new(Lang::En), Tr::new(lang));
    i18n::keys(Lang::En)
        .into_iter()
        .filter(|k| !k.starts_with("month-"))
        .map(|k| (en.t(&k), other.t(&k)))
        .filter(|(e, o)| e != o && e.chars().count() >= 4 && !e.contains('{'))
        .map(|(e, _)| e)
        .collect()
}

#[tokio::test]
async fn every_page_in_every_language_has_no_missing_or_untranslated_string() {
    let w = world().await;
    let signed_out = Call::get("/portal/sign-in").send(&w.router).await;
    assert_eq!(signed_out.status, StatusCode::OK);
    let mut walked = 0;
    for lang in Lang::ALL {
        let leftovers = if lang == Lang::En {
            vec![]
        } else {
            english_only(lang)
        };
        for role in PortalRole::ALL {
            let browser = &w.browsers[&role];
            for (roles, path, expect) in pages(&w) {
                if !roles.contains(&role) {
                    continue;
                }
                // The language comes from Accept-Language here; the cookie is tested below.
                let header = format!("{}, en;q=0.5", lang.tag());
                let a = Call::get(&path)
                    .signed_in(Some(browser))
                    .lang(&header)
                    .send(&w.router)
                    .await;
                assert_eq!(
                    a.status,
                    StatusCode::OK,
                    "{path} as {role:?} in {lang:?}: {}",
                    a.body
                );
                assert!(
                    a.body.contains(&format!("<html lang=\"{}\">", lang.tag())),
                    "{path} {lang:?}"
                );
                assert!(
                    !a.body.contains(i18n::MISSING_OPEN),
                    "{path} as {role:?} in {lang:?} misses a key: {}",
                    a.body
                );
                for e in &expect {
                    assert!(
                        a.body.contains(e.as_str()),
                        "{path} as {role:?} should show {e}"
                    );
                }
                for english in &leftovers {
                    assert!(
                        !a.body.contains(&format!(">{english}<")),
                        "{path} in {lang:?} shows untranslated '{english}'"
                    );
                }
                // The switch on every page offers the other languages, returning here.
                for other in Lang::ALL.into_iter().filter(|l| *l != lang) {
                    assert!(
                        a.body
                            .contains(&format!("/portal/lang?to={}&#38;next=", other.tag())),
                        "{path}: no switch to {other:?}: {}",
                        a.body
                    );
                }
                walked += 1;
            }
        }
    }
    assert!(walked >= 3 * 20, "walked only {walked} pages");

    // The switch sets the cookie, which then wins over Accept-Language.
    let a = Call::get("/portal/lang?to=zh&next=/portal/transfers")
        .send(&w.router)
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.location(), "/portal/transfers");
    assert_eq!(a.set_cookie(auth::LANG_COOKIE).as_deref(), Some("zh"));
    let a = Call::get("/portal/")
        .cookie(auth::LANG_COOKIE, "zh")
        .lang("ru")
        .send(&w.router)
        .await;
    assert!(a.body.contains("<html lang=\"zh\">") && a.body.contains("跨境数据共享"));
    // Localised state names and dates.
    let a = Call::get("/portal/supervision/flows")
        .signed_in(Some(&w.browsers[&PortalRole::Regulator]))
        .lang("ru")
        .send(&w.router)
        .await;
    assert!(a.body.contains("Россия"), "{}", a.body);
    w.fed.shutdown();
}

/// Expected status per role: signed out, member, admin, regulator, operator.
type Row = (&'static str, String, [u16; 5]);

#[tokio::test]
async fn every_route_answers_each_role_as_the_table_says() {
    let w = world().await;
    let (org, reg, op, all, none) = (
        [303, 200, 200, 403, 403],
        [303, 403, 403, 200, 403],
        [303, 403, 403, 403, 200],
        [200; 5],
        [303; 5],
    );
    let authority = [303, 403, 403, 200, 200];
    let table: Vec<Row> = vec![
        ("GET", "/".into(), none),
        ("GET", "/portal".into(), none),
        ("GET", "/portal/".into(), all),
        ("GET", "/portal/sign-in".into(), all),
        ("GET", "/portal/assets/style.css".into(), all),
        ("GET", "/portal/catalogue".into(), org),
        ("GET", "/portal/datasets".into(), org),
        ("GET", "/portal/transfers".into(), org),
        (
            "GET",
            "/portal/agreements".into(),
            [303, 200, 200, 200, 403],
        ),
        ("GET", format!("/portal/transfers/{}", w.outbound_id), org),
        (
            "GET",
            "/portal/transfers/tr-unknown".into(),
            [303, 404, 404, 403, 403],
        ),
        ("GET", "/portal/deliveries".into(), org),
        (
            "GET",
            format!("/portal/deliveries/{}/payload", w.inbound_id),
            org,
        ),
        (
            "GET",
            format!("/portal/deliveries/{}/payload", w.outbound_id),
            [303, 404, 404, 403, 403],
        ),
        ("GET", "/portal/supervision".into(), reg),
        ("GET", "/portal/supervision/flows".into(), reg),
        ("GET", "/portal/supervision/flows.csv".into(), reg),
        (
            "GET",
            format!("/portal/supervision/flows/{}", w.inbound_id),
            reg,
        ),
        (
            "GET",
            format!("/portal/supervision/flows/{}", w.foreign_id),
            [303, 403, 403, 403, 403],
        ),
        (
            "GET",
            "/portal/supervision/flows/tr-unknown".into(),
            [303, 403, 403, 404, 403],
        ),
        ("GET", "/portal/log".into(), [303, 403, 403, 200, 200]),
        ("GET", "/portal/accounts".into(), op),
        // A valid token and an invalid body: the operator gets as far as the 400.
        ("POST", "/portal/accounts".into(), [303, 403, 403, 403, 400]),
        (
            "POST",
            "/portal/accounts/acct-unknown/role".into(),
            [303, 403, 403, 403, 400],
        ),
        // Supervision actions: the authority (regulator and operator) only. The posts carry
        // a valid token but no reason or basis, so the authority gets as far as the 400.
        ("GET", "/portal/supervision/agreements".into(), authority),
        (
            "GET",
            "/portal/supervision/agreements.csv".into(),
            authority,
        ),
        ("GET", "/portal/supervision/approvals".into(), authority),
        ("GET", "/portal/supervision/obligations".into(), authority),
        ("GET", "/portal/supervision/thresholds".into(), authority),
        ("GET", "/portal/supervision/categories".into(), authority),
        (
            "GET",
            "/portal/supervision/categories.csv".into(),
            authority,
        ),
        (
            "GET",
            "/portal/supervision/thresholds.csv".into(),
            authority,
        ),
        (
            "GET",
            "/portal/supervision/obligations.csv".into(),
            authority,
        ),
        ("GET", "/portal/supervision/approvals.csv".into(), authority),
        (
            "POST",
            "/portal/supervision/agreements/ag-unknown/suspend".into(),
            [303, 403, 403, 400, 400],
        ),
        (
            "POST",
            "/portal/supervision/agreements/ag-unknown/resume".into(),
            [303, 403, 403, 400, 400],
        ),
        (
            "POST",
            "/portal/supervision/agreements/ag-unknown/delete".into(),
            [303, 403, 403, 404, 404],
        ),
        (
            "POST",
            format!("/portal/supervision/organisations/{}/suspend", w.kz_org),
            [303, 403, 403, 400, 400],
        ),
        (
            "POST",
            "/portal/supervision/organisations/RU-unknown/suspend".into(),
            [303, 403, 403, 404, 404],
        ),
        (
            "POST",
            "/portal/supervision/approvals/ag-unknown".into(),
            [303, 403, 403, 400, 400],
        ),
    ];
    let table: Vec<Row> = table.into_iter().chain(org::routes()).collect();
    let roles: [Option<PortalRole>; 5] = [
        None,
        Some(PortalRole::OrgMember),
        Some(PortalRole::OrgAdmin),
        Some(PortalRole::Regulator),
        Some(PortalRole::Operator),
    ];
    let mut failures = Vec::new();
    for (method, path, expect) in &table {
        for (role, want) in roles.iter().zip(expect) {
            let browser = role.map(|r| &w.browsers[&r]);
            let csrf = browser.map(|b| b.csrf.as_str()).unwrap_or("");
            let call = match *method {
                "GET" => Call::get(path),
                _ => Call::post(path, &[("csrf", csrf), ("role", "nonsense")]),
            };
            let a = call.signed_in(browser).send(&w.router).await;
            if a.status.as_u16() != *want {
                failures.push(format!(
                    "{method} {path} as {role:?}: {} (want {want})",
                    a.status
                ));
            }
            if a.status == StatusCode::SEE_OTHER
                && role.is_none()
                && path.starts_with("/portal/")
                && path != "/portal"
            {
                assert!(
                    a.location().starts_with("/portal/sign-in?next="),
                    "{path}: {}",
                    a.location()
                );
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The regulator's list and CSV never name a flow between two other states.
    let reg_b = &w.browsers[&PortalRole::Regulator];
    let list = Call::get("/portal/supervision/flows")
        .signed_in(Some(reg_b))
        .send(&w.router)
        .await;
    assert!(!list.body.contains(&w.foreign_id));
    let csv = Call::get("/portal/supervision/flows.csv")
        .signed_in(Some(reg_b))
        .send(&w.router)
        .await;
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 3, "header + 2 KZ flows: {}", csv.body);
    assert!(lines[0].starts_with("\"transfer_id\",\"requested_at\",\"direction\""));
    assert!(
        csv.body.contains(&format!("\"{}\"", w.outbound_id))
            && csv.body.contains("\"outbound\",\"RU\"")
    );
    assert!(csv.body.contains("\"denied\",\"no agreement in force\""));
    assert!(!csv.body.contains(&w.foreign_id));
    let denied = Call::get("/portal/supervision/flows.csv?status=denied")
        .signed_in(Some(reg_b))
        .send(&w.router)
        .await;
    assert_eq!(denied.body.lines().count(), 2);
    // A bad filter names its field.
    let bad = Call::get("/portal/supervision?partner=XYZ")
        .signed_in(Some(reg_b))
        .send(&w.router)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("partner:"), "{}", bad.body);
    w.fed.shutdown();
}

#[tokio::test]
async fn forms_need_their_csrf_token_and_redirects_stay_on_the_portal() {
    let w = world().await;
    let op = &w.browsers[&PortalRole::Operator];
    let fields = |csrf: &'static str| -> Vec<(&'static str, &'static str)> {
        vec![
            ("csrf", csrf),
            ("login", "new@kz"),
            ("display_name", "New Person"),
            ("role", "regulator"),
            ("org_id", ""),
            ("password", "a long enough password"),
        ]
    };
    for csrf in ["", "wrong-token"] {
        let a = Call::post("/portal/accounts", &fields(csrf))
            .signed_in(Some(op))
            .send(&w.router)
            .await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "csrf {csrf:?}");
    }
    assert!(
        w.kz.store()
            .portal_account_by_login("new@kz")
            .await
            .unwrap()
            .is_none(),
        "nothing created without the token"
    );
    // Another person's token is not this session's token.
    let other = &w.browsers[&PortalRole::Regulator];
    let mut f = fields("");
    f[0].1 = Box::leak(other.csrf.clone().into_boxed_str());
    assert_eq!(
        Call::post("/portal/accounts", &f)
            .signed_in(Some(op))
            .send(&w.router)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let mut f = fields("");
    f[0].1 = Box::leak(op.csrf.clone().into_boxed_str());
    let a = Call::post("/portal/accounts", &f)
        .signed_in(Some(op))
        .send(&w.router)
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert!(a.body.contains("totp-secret"));
    let created =
        w.kz.store()
            .portal_account_by_login("new@kz")
            .await
            .unwrap()
            .unwrap();
    assert_eq!(created.role, PortalRole::Regulator);
    assert!(created.password_phc.starts_with("$argon2id$"));

    // Role change: the token is required, the change is an event, the sessions end.
    let member = &w.browsers[&PortalRole::OrgMember];
    let path = format!("/portal/accounts/{}/role", member.account_id);
    let a = Call::post(
        &path,
        &[("csrf", ""), ("role", "regulator"), ("org_id", "")],
    )
    .signed_in(Some(op))
    .send(&w.router)
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = Call::post(
        &path,
        &[("csrf", &op.csrf), ("role", "regulator"), ("org_id", "")],
    )
    .signed_in(Some(op))
    .send(&w.router)
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let events = w.kz.store().events_about(&member.account_id).await.unwrap();
    let changed = events
        .iter()
        .find(|e| e.kind == "portal.role-changed")
        .expect("role change recorded");
    assert_eq!(changed.detail["from"], "org-member");
    assert_eq!(changed.detail["to"], "regulator");
    assert_eq!(changed.detail["by"], op.account_id.as_str());
    let a = Call::get("/portal/transfers")
        .signed_in(Some(member))
        .send(&w.router)
        .await;
    assert_eq!(
        a.status,
        StatusCode::SEE_OTHER,
        "the old session ended with the role change"
    );

    // Sign-out needs the token too.
    let admin = &w.browsers[&PortalRole::OrgAdmin];
    assert_eq!(
        Call::post("/portal/sign-out", &[("csrf", "")])
            .signed_in(Some(admin))
            .send(&w.router)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        Call::get("/portal/transfers")
            .signed_in(Some(admin))
            .send(&w.router)
            .await
            .status,
        StatusCode::OK
    );

    // Open redirects: the language switch and sign-in only go to portal paths.
    for next in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "/portal//evil.example",
    ] {
        let a = Call::get(&format!(
            "/portal/lang?to=ru&next={}",
            silkgate_portal::web::encode_query(next)
        ))
        .send(&w.router)
        .await;
        assert_eq!(a.location(), "/portal/", "{next}");
    }
    let (created, _) = world::account(&w.kz, "redirect@kz", PortalRole::Regulator, None).await;
    let code = next_code(&created.totp_secret).await;
    let form = Call::get("/portal/sign-in").send(&w.router).await;
    let token = form.set_cookie(auth::LOGIN_CSRF_COOKIE).unwrap();
    assert!(
        form.body.contains(&token),
        "the form carries the double-submit token"
    );
    let a = Call::post(
        "/portal/sign-in",
        &[
            ("csrf", &token),
            ("login", "redirect@kz"),
            ("password", world::PASSWORD),
            ("code", &code),
            ("next", "https://evil.example/"),
        ],
    )
    .cookie(auth::LOGIN_CSRF_COOKIE, &token)
    .send(&w.router)
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location(), "/portal/");
    // Sign-in without the login token is refused before any check of the password.
    let a = Call::post(
        "/portal/sign-in",
        &[
            ("csrf", "x"),
            ("login", "redirect@kz"),
            ("password", world::PASSWORD),
            ("code", &code),
        ],
    )
    .send(&w.router)
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    w.fed.shutdown();
}

/// The current TOTP code of `secret`: the world's helper signed in with the previous one.
async fn next_code(secret: &str) -> String {
    auth::current_code(secret, &world::clock()).unwrap()
}

#[tokio::test]
async fn sign_in_issues_a_fresh_session_locks_out_and_is_logged() {
    let w = world().await;
    let store = w.kz.store();
    let (created, first) = world::account(
        &w.kz,
        "person@kz",
        PortalRole::OrgMember,
        Some(w.kz_org.clone()),
    )
    .await;
    let id = created.account.id.clone();
    // A code is accepted once: replaying the one just used fails.
    let last_step = store
        .portal_account(&id)
        .await
        .unwrap()
        .unwrap()
        .totp_last_step;
    let used = auth::code_at(&created.totp_secret, last_step * 30).unwrap();
    let again = auth::sign_in(
        store,
        "person@kz",
        world::PASSWORD,
        &used,
        w.kz.clock().now_unix(),
    )
    .await
    .unwrap();
    assert!(
        matches!(again, Err(auth::SignInRefusal::Credentials)),
        "replayed code accepted"
    );

    // Session fixation: a session id chosen by an attacker (planted in the browser) is never
    // adopted; sign-in sets a new one and ends the one the browser held.
    let code = next_code(&created.totp_secret).await;
    let form = Call::get("/portal/sign-in").send(&w.router).await;
    let token = form.set_cookie(auth::LOGIN_CSRF_COOKIE).unwrap();
    let a = Call::post(
        "/portal/sign-in",
        &[
            ("csrf", &token),
            ("login", "person@kz"),
            ("password", world::PASSWORD),
            ("code", &code),
            ("next", "/portal/transfers"),
        ],
    )
    .cookie(auth::LOGIN_CSRF_COOKIE, &token)
    .cookie(auth::SESSION_COOKIE, &first.cookie)
    .send(&w.router)
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location(), "/portal/transfers");
    let new_cookie = a.set_cookie(auth::SESSION_COOKIE).unwrap();
    assert_ne!(new_cookie, first.cookie);
    assert_eq!(new_cookie.len(), 43, "32 random bytes, base64url");
    let set = a
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        set.contains("__Host-sg_session=")
            && set.contains("Secure")
            && set.contains("HttpOnly")
            && set.contains("SameSite=Lax"),
        "{set}"
    );
    let old = Call::get("/portal/transfers")
        .cookie(auth::SESSION_COOKIE, &first.cookie)
        .send(&w.router)
        .await;
    assert_eq!(
        old.status,
        StatusCode::SEE_OTHER,
        "the session held before sign-in ended"
    );
    let new = Call::get("/portal/transfers")
        .cookie(auth::SESSION_COOKIE, &new_cookie)
        .send(&w.router)
        .await;
    assert_eq!(new.status, StatusCode::OK);
    assert!(
        store
            .portal_session(&new_cookie, 0)
            .await
            .unwrap()
            .is_none(),
        "the store keeps only the hash"
    );

    // Lock-out: MAX_FAILURES wrong passwords lock the account; the right one is then refused.
    let now = w.kz.clock().now_unix();
    for n in 1..=auth::MAX_FAILURES {
        let r = auth::sign_in(store, "person@kz", "wrong password!", "000000", now)
            .await
            .unwrap();
        let want = if n == auth::MAX_FAILURES {
            auth::SignInRefusal::Locked
        } else {
            auth::SignInRefusal::Credentials
        };
        assert_eq!(r.err(), Some(want), "attempt {n}");
    }
    let code = auth::code_at(&created.totp_secret, now).unwrap();
    let r = auth::sign_in(store, "person@kz", world::PASSWORD, &code, now + 1)
        .await
        .unwrap();
    assert_eq!(r.err(), Some(auth::SignInRefusal::Locked));
    let page = Call::post(
        "/portal/sign-in",
        &[
            ("csrf", "t"),
            ("login", "person@kz"),
            ("password", world::PASSWORD),
            ("code", &code),
        ],
    )
    .cookie(auth::LOGIN_CSRF_COOKIE, "t")
    .lang("ru")
    .send(&w.router)
    .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.body.contains("заблокирована"), "{}", page.body);
    // An unknown login gets the same answer as a wrong password.
    let r = auth::sign_in(store, "nobody@kz", world::PASSWORD, &code, now)
        .await
        .unwrap();
    assert_eq!(r.err(), Some(auth::SignInRefusal::Credentials));

    // Every step is an event about the opaque account id, none names the login.
    let kinds: Vec<String> = store
        .events_about(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    for k in [
        "portal.account-created",
        "portal.signed-in",
        "portal.sign-in-failed",
        "portal.account-locked",
    ] {
        assert!(kinds.iter().any(|x| x == k), "{k} missing from {kinds:?}");
    }
    let all = store.events(0, 10_000).await.unwrap();
    assert!(
        all.iter()
            .all(|e| !e.detail.to_string().contains("person@kz") && e.subject != "person@kz")
    );
    // ...and the events reach the transparency log.
    let last = all.last().unwrap().seq;
    w.kz.log().wait_logged(store, last).await.unwrap();
    assert!(w.kz.log().size() >= last as u64);
    w.fed.shutdown();
}
