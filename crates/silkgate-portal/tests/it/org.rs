//! The organisation's actions in the portal: agreements proposed, countered and signed across
//! two nodes, a dataset published by upload and its review, requests decided, notifications.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use silkgate_model::OrgId;
use silkgate_model::agreement::AgreementStatus;
use silkgate_node::NodeState;
use silkgate_node::api_types::TransferRequest;
use silkgate_portal::auth;
use silkgate_portal::i18n::{self, Lang};
use silkgate_store::{PortalRole, TransferRole};
use tower::ServiceExt as _;

use crate::world::{self, Answer, Browser, Call, World, day, world};

/// The organisation pages for the walk of every page in every language.
pub fn pages() -> Vec<(&'static [PortalRole], String, Vec<String>)> {
    const ADMIN: &[PortalRole] = &[PortalRole::OrgAdmin];
    const ORG: &[PortalRole] = &[PortalRole::OrgMember, PortalRole::OrgAdmin];
    vec![
        (
            ADMIN,
            "/portal/agreements/new".into(),
            vec!["propose-form".into()],
        ),
        (
            ADMIN,
            "/portal/agreements/new?template=financial:1".into(),
            vec!["t_validity_not_after".into()],
        ),
        (
            ADMIN,
            "/portal/datasets/new".into(),
            vec!["publish-form".into()],
        ),
        (ORG, "/portal/requests".into(), vec![]),
        (ORG, "/portal/notifications".into(), vec!["notices".into()]),
    ]
}

/// The organisation routes for the route x role table: signed out, member, admin, regulator,
/// operator. Posts carry the session's token and an unusable body, so an allowed role gets
/// as far as the 400 (or the 404 of an unknown id).
pub fn routes() -> Vec<(&'static str, String, [u16; 5])> {
    let org = [303, 200, 200, 403, 403];
    let admin = [303, 403, 200, 403, 403];
    let admin_post = [303, 403, 400, 403, 403];
    vec![
        ("GET", "/portal/agreements/new".into(), admin),
        ("POST", "/portal/agreements/new".into(), admin_post),
        (
            "GET",
            "/portal/agreements/ag-unknown".into(),
            [303, 404, 404, 404, 403],
        ),
        (
            "POST",
            "/portal/agreements/ag-unknown/accept".into(),
            admin_post,
        ),
        (
            "POST",
            "/portal/agreements/ag-unknown/counter".into(),
            [303, 403, 404, 403, 403],
        ),
        (
            "POST",
            "/portal/agreements/ag-unknown/transfers".into(),
            admin_post,
        ),
        ("GET", "/portal/datasets/new".into(), admin),
        // Not multipart: refused as a bad form once the role is checked.
        ("POST", "/portal/datasets/new".into(), admin_post),
        (
            "GET",
            "/portal/datasets/unknown/00".into(),
            [303, 404, 404, 403, 403],
        ),
        ("GET", "/portal/requests".into(), org),
        ("POST", "/portal/requests/tr-unknown".into(), admin_post),
        ("GET", "/portal/notifications".into(), org),
    ]
}

/// The other node's side: its router, organisation and a signed-in admin and member.
struct Ru {
    node: NodeState,
    router: Router,
    org: OrgId,
    admin: Browser,
    member: Browser,
}

async fn ru(w: &World) -> Ru {
    let node = w.fed.node("RU").running.state.clone();
    let org = node.store().organisations().await.unwrap()[0].id.clone();
    let (_, admin) =
        world::account(&node, "admin@ru", PortalRole::OrgAdmin, Some(org.clone())).await;
    let (_, member) =
        world::account(&node, "member@ru", PortalRole::OrgMember, Some(org.clone())).await;
    Ru {
        router: silkgate_node::app(node.clone()),
        node,
        org,
        admin,
        member,
    }
}

/// The value of `<input ... name="NAME" ... value="...">` or the text of a textarea named NAME.
fn field_value(body: &str, name: &str) -> String {
    let textarea = format!("name=\"{name}\"");
    let at = body
        .find(&textarea)
        .unwrap_or_else(|| panic!("no field {name}"));
    let rest = &body[at..];
    let tag_end = rest.find('>').unwrap();
    let tag = &rest[..tag_end];
    let tag_start = body[..at].rfind('<').unwrap();
    let raw = if body[tag_start..].starts_with("<select") {
        let options = &rest[..rest.find("</select>").unwrap()];
        let chosen = options
            .split("<option")
            .find(|o| o.contains(" selected"))
            .or_else(|| options.split("<option").nth(1))
            .unwrap();
        let v = &chosen[chosen.find("value=\"").unwrap() + 7..];
        v[..v.find('"').unwrap()].to_owned()
    } else if let Some(v) = tag.find("value=\"") {
        let v = &tag[v + 7..];
        v[..v.find('"').unwrap()].to_owned()
    } else {
        let inner = &rest[tag_end + 1..];
        inner[..inner.find("</textarea>").unwrap()].to_owned()
    };
    // Askama escapes; undo the escapes it uses.
    raw.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

/// Every field of a form on the page (the one whose id is `form_id`), as the browser would
/// send it, with `changes` applied.
fn form_fields(body: &str, form_id: &str, changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let start = body
        .find(&format!("id=\"{form_id}\""))
        .unwrap_or_else(|| panic!("no form {form_id}"));
    let form = &body[start..start + body[start..].find("</form>").unwrap()];
    let mut out = Vec::new();
    let mut rest = form;
    while let Some(i) = rest.find("name=\"") {
        let name_start = &rest[i + 6..];
        let name = &name_start[..name_start.find('"').unwrap()];
        if !out.iter().any(|(n, _): &(String, String)| n == name) {
            let value = changes
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
                .unwrap_or_else(|| field_value(form, name));
            out.push((name.to_owned(), value));
        }
        rest = &name_start[1..];
    }
    out
}

async fn post(router: &Router, path: &str, b: &Browser, fields: &[(String, String)]) -> Answer {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    Call::post(path, &pairs)
        .signed_in(Some(b))
        .send(router)
        .await
}

async fn get(router: &Router, path: &str, b: &Browser) -> Answer {
    Call::get(path).signed_in(Some(b)).send(router).await
}

/// The walk of one page in every language: no missing key.
async fn in_every_language(router: &Router, path: &str, b: &Browser) {
    for lang in Lang::ALL {
        let a = Call::get(path)
            .signed_in(Some(b))
            .lang(lang.tag())
            .send(router)
            .await;
        assert_eq!(a.status, StatusCode::OK, "{path} in {lang:?}: {}", a.body);
        assert!(
            !a.body.contains(i18n::MISSING_OPEN),
            "{path} in {lang:?} misses a key: {}",
            a.body
        );
    }
}

#[tokio::test]
async fn an_agreement_is_proposed_countered_and_signed_in_the_portal_of_both_nodes() {
    let w = world().await;
    let ru = ru(&w).await;
    let kz_admin = &w.browsers[&PortalRole::OrgAdmin];
    let kz_member = &w.browsers[&PortalRole::OrgMember];

    let form = get(
        &w.router,
        "/portal/agreements/new?template=trade:1",
        kz_admin,
    )
    .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(
        form.body
            .contains("Customs and trade-facilitation analysis")
    );
    // The federation's catalogue suggests the RU organisation as counterparty.
    assert!(form.body.contains(&format!("<option value=\"{}\"", ru.org)));
    in_every_language(
        &w.router,
        "/portal/agreements/new?template=trade:1",
        kz_admin,
    )
    .await;

    // Per-field errors, with nothing stored and everything typed kept.
    let ru_org = ru.org.to_string();
    for (changes, field, says) in [
        (
            vec![("t_max_subjects_per_year", "lots")],
            "t_max_subjects_per_year",
            "expected a whole number",
        ),
        (
            vec![("t_validity_not_after", "2026-01-01")],
            "t_validity_not_before",
            "validity",
        ),
        (
            vec![("t_marking", "{not json")],
            "t_marking",
            "not valid JSON",
        ),
        (vec![("t_purpose", "  ")], "t_purpose", "purpose"),
    ] {
        let mut changes = changes;
        changes.push(("counterparty", ru_org.as_str()));
        let fields = form_fields(&form.body, "propose-form", &changes);
        let a = post(&w.router, "/portal/agreements/new", kz_admin, &fields).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{field}: {}", a.body);
        let err_at = a
            .body
            .find(&format!("id=\"{field}-error\""))
            .unwrap_or_else(|| panic!("no error beside {field}: {}", a.body));
        let err = &a.body[err_at..err_at + a.body[err_at..].find("</p>").unwrap()];
        assert!(err.contains(says), "{field}: {err}");
        // The summary at the top announces it and links to the field.
        let summary = &a.body[a
            .body
            .find("class=\"error-summary\" role=\"alert\"")
            .expect("summary")..];
        assert!(summary[..summary.find("</div>").unwrap()].contains(&format!("href=\"#{field}\"")));
        assert!(
            a.body.contains(&format!("value=\"{ru_org}\"")),
            "counterparty kept"
        );
    }
    // A counterparty of the same state is refused beside its field.
    let fields = form_fields(
        &form.body,
        "propose-form",
        &[("counterparty", w.kz_org.as_str())],
    );
    let a = post(&w.router, "/portal/agreements/new", kz_admin, &fields).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("id=\"counterparty-error\""), "{}", a.body);
    assert!(
        w.kz.store()
            .agreements_of(&w.kz_org)
            .await
            .unwrap()
            .is_empty()
    );
    // Without the token: 403, nothing stored. The validity starts a month after today, so that
    // once signed the agreement is known but not yet in force, whatever day the test runs.
    let (starts, ends) = (day(30), day(395));
    let mut fields = form_fields(
        &form.body,
        "propose-form",
        &[
            ("counterparty", &ru_org),
            ("t_validity_not_before", &starts),
            ("t_validity_not_after", &ends),
        ],
    );
    let good = fields.clone();
    fields.retain(|(k, _)| k != "csrf");
    let a = post(&w.router, "/portal/agreements/new", kz_admin, &fields).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    // A member may not propose.
    let a = post(&w.router, "/portal/agreements/new", kz_member, &good).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert!(
        w.kz.store()
            .agreements_of(&w.kz_org)
            .await
            .unwrap()
            .is_empty()
    );

    // The proposal, signed and sent to the RU node.
    let a = post(&w.router, "/portal/agreements/new", kz_admin, &good).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let request_id = &good.iter().find(|(k, _)| k == "request_id").unwrap().1;
    let id = silkgate_node::agreements::agreement_id_for(&w.kz_org, request_id);
    let path = format!("/portal/agreements/{id}");
    assert_eq!(a.location(), path);
    // The same form sent again (a double click) is the same agreement.
    let again = post(&w.router, "/portal/agreements/new", kz_admin, &good).await;
    assert_eq!(again.location(), path);
    assert_eq!(
        w.kz.store().agreements_of(&w.kz_org).await.unwrap().len(),
        1
    );
    let at_ru = ru
        .node
        .store()
        .agreement(&id)
        .await
        .unwrap()
        .expect("sent to RU");
    assert_eq!(at_ru.status, AgreementStatus::Proposed);

    // The proposer waits; a member sees without forms.
    let page = get(&w.router, &path, kz_member).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("data-status=\"proposed\""));
    assert!(!page.body.contains("accept-form"));
    assert!(page.body.contains("Waiting for the other party"));
    assert!(page.body.contains("data-kind=\"agreement.proposed\""));

    // At RU: the notification, the count in the header, the clauses in Russian.
    let notes = get(&ru.router, "/portal/notifications", &ru.admin).await;
    assert!(
        notes.body.contains("data-kind=\"notice-to-sign\"") && notes.body.contains(&path),
        "{}",
        notes.body
    );
    assert!(
        notes.body.contains("<span class=\"badge\""),
        "count in the header"
    );
    let ru_page = Call::get(&path)
        .signed_in(Some(&ru.admin))
        .lang("ru")
        .send(&ru.router)
        .await;
    assert!(
        ru_page.body.contains("Торговые данные"),
        "clauses in Russian"
    );
    assert!(ru_page.body.contains("id=\"accept-form\""));
    let member_page = get(&ru.router, &path, &ru.member).await;
    assert!(!member_page.body.contains("id=\"accept-form\""));
    assert!(
        member_page
            .body
            .contains("Only an organisation administrator")
    );
    for who in [&ru.admin, &ru.member] {
        in_every_language(&ru.router, &path, who).await;
        in_every_language(&ru.router, "/portal/notifications", who).await;
    }

    // RU counters: a shorter retention. A bad value first, shown beside its field.
    let fields = form_fields(&ru_page.body, "counter-form", &[("t_retention_days", "-3")]);
    let a = post(&ru.router, &format!("{path}/counter"), &ru.admin, &fields).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        a.body.contains("id=\"t_retention_days-error\""),
        "{}",
        a.body
    );
    let fields = form_fields(
        &ru_page.body,
        "counter-form",
        &[("t_retention_days", "180")],
    );
    let a = post(&ru.router, &format!("{path}/counter"), &ru.member, &fields).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "members only see");
    let a = post(&ru.router, &format!("{path}/counter"), &ru.admin, &fields).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let at_kz = w.kz.store().agreement(&id).await.unwrap().unwrap();
    assert_eq!(at_kz.revision, 2);
    assert_eq!(at_kz.state.document().terms.retention_days, 180);

    // KZ sees the counter-offer in its notifications and accepts it.
    let notes = get(&w.router, "/portal/notifications", kz_admin).await;
    assert!(
        notes.body.contains("data-kind=\"notice-countered\""),
        "{}",
        notes.body
    );
    let page = get(&w.router, &path, kz_admin).await;
    let fields = form_fields(&page.body, "accept-form", &[]);
    let a = post(&w.router, &format!("{path}/accept"), kz_member, &fields).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let mut no_token = fields.clone();
    no_token.retain(|(k, _)| k != "csrf");
    let a = post(&w.router, &format!("{path}/accept"), kz_admin, &no_token).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = post(&w.router, &format!("{path}/accept"), kz_admin, &fields).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    for node in [&w.kz, &ru.node] {
        let rec = node.store().agreement(&id).await.unwrap().unwrap();
        assert!(
            matches!(
                rec.status,
                AgreementStatus::Active | AgreementStatus::Signed
            ),
            "{:?}",
            rec.status
        );
    }
    // An organisation that is no party does not see it, not even that it exists.
    let (_, other) = w
        .fed
        .node("KZ")
        .register(
            "reg-kz-other",
            "Caspian Freight",
            silkgate_model::Sector::Trade,
        )
        .await
        .unwrap();
    let other_org: OrgId = other.credentials.organisation.id.parse().unwrap();
    let (_, outsider) =
        world::account(&w.kz, "outsider@kz", PortalRole::OrgAdmin, Some(other_org)).await;
    assert_eq!(
        get(&w.router, &path, &outsider).await.status,
        StatusCode::NOT_FOUND
    );
    let a = post(
        &w.router,
        &format!("{path}/accept"),
        &outsider,
        &[
            ("csrf".to_owned(), outsider.csrf.clone()),
            ("request_id".to_owned(), "outsider-1".to_owned()),
        ],
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    // Both signatures, and each step with its log entry, on the page.
    let page = get(&w.router, &path, kz_member).await;
    for s in [
        "signed-as-provider_signature",
        "signed-as-consumer_signature",
    ] {
        let en = i18n::Tr::new(Lang::En).t(s);
        assert!(
            page.body.contains(&format!("<td>{en}</td>")),
            "{s}: {}",
            page.body
        );
    }
    for kind in [
        "agreement.proposed",
        "agreement.countered",
        "agreement.signed",
    ] {
        assert!(
            page.body.contains(&format!("data-kind=\"{kind}\"")),
            "{kind}"
        );
    }
    assert!(page.body.contains("log entry "), "{}", page.body);
    for who in [kz_admin, kz_member, &w.browsers[&PortalRole::Regulator]] {
        in_every_language(&w.router, &path, who).await;
    }
    // Nothing is left to sign.
    let notes = get(&w.router, "/portal/notifications", kz_admin).await;
    assert!(!notes.body.contains("data-kind=\"notice-countered\""));
    // Signed but not in force yet (its validity starts later): known, nothing to do.
    assert!(
        notes.body.contains("data-kind=\"notice-signed\""),
        "{}",
        notes.body
    );
    w.fed.shutdown();
}

/// A multipart body with `fields` and then the file.
fn multipart(fields: &[(&str, &str)], file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----silkgate-test-boundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"data.csv\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(router: &Router, b: &Browser, fields: &[(&str, &str)], file: &[u8]) -> Answer {
    let (ct, body) = multipart(fields, file);
    let req = Request::builder()
        .method("POST")
        .uri("/portal/datasets/new")
        .header(header::CONTENT_TYPE, ct)
        .header(
            header::COOKIE,
            format!("{}={}", auth::SESSION_COOKIE, b.cookie),
        )
        .body(Body::from(body))
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

#[tokio::test]
async fn a_dataset_is_published_by_upload_reviewed_and_its_requests_decided() {
    let w = world().await;
    let kz_admin = &w.browsers[&PortalRole::OrgAdmin];
    let kz_member = &w.browsers[&PortalRole::OrgMember];
    in_every_language(&w.router, "/portal/datasets/new", kz_admin).await;
    let (_, csv) = silkgate_node::local::synthetic_trade_csv(30, 99);
    let base = |csrf: &str, id: &str| -> Vec<(String, String)> {
        vec![
            ("csrf".into(), csrf.into()),
            (
                "request_id".into(),
                format!(
                    "upload-{}",
                    id.replace(|c: char| !c.is_ascii_alphanumeric(), "x")
                ),
            ),
            ("dataset_id".into(), id.into()),
            ("title".into(), "Uploaded customs declarations".into()),
            ("description".into(), "From the portal".into()),
            ("sector".into(), "trade".into()),
            ("format".into(), "csv".into()),
            ("visibility".into(), "federation".into()),
            ("states".into(), String::new()),
        ]
    };
    let refs = |v: &Vec<(String, String)>| -> Vec<(String, String)> { v.clone() };
    let send = |v: Vec<(String, String)>, file: Vec<u8>, b: Browser| {
        let router = w.router.clone();
        async move {
            let pairs: Vec<(&str, &str)> =
                v.iter().map(|(k, x)| (k.as_str(), x.as_str())).collect();
            upload(&router, &b, &pairs, &file).await
        }
    };
    // Refusals, each beside its field, nothing stored.
    let a = send(base("", "kz-upload"), csv.clone(), kz_admin.clone()).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "no token");
    let a = send(
        base(&kz_member.csrf, "kz-upload"),
        csv.clone(),
        kz_member.clone(),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "members only see");
    let a = send(
        base(&kz_admin.csrf, "Bad Id!"),
        csv.clone(),
        kz_admin.clone(),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("id=\"dataset_id-error\""), "{}", a.body);
    let mut broken = csv.clone();
    broken.extend_from_slice(b"only,two\n");
    let a = send(base(&kz_admin.csrf, "kz-upload"), broken, kz_admin.clone()).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("id=\"file-error\""), "{}", a.body);
    let mut states = base(&kz_admin.csrf, "kz-upload");
    states[7].1 = "states".into();
    states[8].1 = "RU, XX1".into();
    let a = send(refs(&states), csv.clone(), kz_admin.clone()).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("id=\"states-error\""), "{}", a.body);
    let before = w.kz.store().datasets_of(&w.kz_org).await.unwrap().len();
    assert_eq!(before, 1, "only the world's dataset");

    // Published: the review of the stored file follows.
    let a = send(
        base(&kz_admin.csrf, "kz-upload"),
        csv.clone(),
        kz_admin.clone(),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let review_path = a.location().to_owned();
    let sha = review_path.rsplit('/').next().unwrap().to_owned();
    assert_eq!(review_path, format!("/portal/datasets/kz-upload/{sha}"));
    let review = get(&w.router, &review_path, kz_member).await;
    assert_eq!(review.status, StatusCode::OK, "{}", review.body);
    assert!(review.body.contains("scan.rows"), "{}", review.body);
    assert!(review.body.contains("declaration_id"));
    in_every_language(&w.router, &review_path, kz_member).await;
    // JSON Lines: the columns come from the first object; visible to the states listed.
    let mut jl = base(&kz_admin.csrf, "kz-lines");
    jl[6].1 = "json-lines".into();
    jl[7].1 = "states".into();
    jl[8].1 = "RU, CN".into();
    let lines =
        b"{\"shipment\":\"S1\",\"tonnes\":12}\n{\"shipment\":\"S2\",\"tonnes\":7}\n".to_vec();
    let a = send(jl, lines, kz_admin.clone()).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let (version, _) =
        w.kz.store()
            .dataset_version("kz-lines", a.location().rsplit('/').next().unwrap())
            .await
            .unwrap()
            .unwrap();
    let names: Vec<&str> = version.schema.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["shipment", "tonnes"]);
    assert_eq!(
        version.visibility,
        silkgate_model::Visibility::States {
            states: vec!["RU".parse().unwrap(), "CN".parse().unwrap()]
        }
    );
    // Another organisation's version is not found.
    let ru_state = w.fed.node("RU").running.state.clone();
    let ru_org = ru_state.store().organisations().await.unwrap()[0]
        .id
        .clone();
    let (_, ru_admin) =
        world::account(&ru_state, "admin@ru", PortalRole::OrgAdmin, Some(ru_org)).await;
    let ru_router = silkgate_node::app(ru_state.clone());
    assert_eq!(
        get(&ru_router, &review_path, &ru_admin).await.status,
        StatusCode::NOT_FOUND
    );

    // Two requests from a RU organisation: one approved, one refused, in the portal.
    let (client, _) = w
        .fed
        .node("RU")
        .register("reg-ru-2", "Amur Data", silkgate_model::Sector::Trade)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for n in 0..2 {
        let t = client
            .request_transfer(&TransferRequest {
                request_id: format!("portal-req-{n}"),
                provider: w.kz_org.to_string(),
                dataset_id: "kz-upload".into(),
                sha256: sha.clone(),
                purpose: "customs risk analysis".into(),
                recipient_kind: None,
            })
            .await
            .unwrap();
        ids.push(t.id);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let waiting =
            w.kz.store()
                .transfers_in_status(
                    TransferRole::Provider,
                    silkgate_model::TransferStatus::AwaitingDecision,
                )
                .await
                .unwrap();
        if ids
            .iter()
            .all(|id| waiting.iter().any(|r| &r.transfer.id == id))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "requests never awaited a decision"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let notes = get(&w.router, "/portal/notifications", kz_member).await;
    assert_eq!(
        notes.body.matches("data-kind=\"notice-request\"").count(),
        2
    );
    let list = get(&w.router, "/portal/requests", kz_member).await;
    assert!(ids.iter().all(|id| list.body.contains(id.as_str())));
    assert!(
        !list.body.contains("name=\"decision\""),
        "members see no forms"
    );
    let list = get(&w.router, "/portal/requests", kz_admin).await;
    assert!(list.body.contains("name=\"decision\""));
    for who in [kz_admin, kz_member] {
        in_every_language(&w.router, "/portal/requests", who).await;
        in_every_language(&w.router, "/portal/notifications", who).await;
    }
    let decide = |id: &str, decision: &str, reason: &str, b: &Browser| {
        vec![
            ("csrf".to_owned(), b.csrf.clone()),
            ("request_id".to_owned(), "form-1".to_owned()),
            ("decision".to_owned(), decision.to_owned()),
            ("reason".to_owned(), reason.to_owned()),
            ("id".to_owned(), id.to_owned()),
        ]
    };
    let approve_path = format!("/portal/requests/{}", ids[0]);
    let a = post(
        &w.router,
        &approve_path,
        kz_member,
        &decide(&ids[0], "approve", "", kz_member),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let mut no_token = decide(&ids[0], "approve", "", kz_admin);
    no_token[0].1 = String::new();
    assert_eq!(
        post(&w.router, &approve_path, kz_admin, &no_token)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let a = post(
        &w.router,
        &approve_path,
        kz_admin,
        &decide(&ids[0], "approve", "", kz_admin),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(a.location(), format!("/portal/transfers/{}", ids[0]));
    // Refusing needs a reason, named.
    let refuse_path = format!("/portal/requests/{}", ids[1]);
    let a = post(
        &w.router,
        &refuse_path,
        kz_admin,
        &decide(&ids[1], "refuse", "", kz_admin),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.contains("reason:"), "{}", a.body);
    let a = post(
        &w.router,
        &refuse_path,
        kz_admin,
        &decide(&ids[1], "refuse", "purpose not covered", kz_admin),
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    // Deciding twice is a conflict, named.
    let a = post(
        &w.router,
        &refuse_path,
        kz_admin,
        &decide(&ids[1], "approve", "", kz_admin),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);

    let done = client
        .wait_final(&ids[0], Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(done.status, "delivered");
    let refused = client
        .wait_final(&ids[1], Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(refused.status, "denied");
    assert_eq!(refused.reason.as_deref(), Some("purpose not covered"));
    let kinds = |id: String| {
        let store = w.kz.store().clone();
        async move {
            store
                .events_about(&id)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.kind)
                .collect::<Vec<_>>()
        }
    };
    assert!(
        kinds(ids[0].clone())
            .await
            .contains(&"transfer.approved".to_owned())
    );
    assert!(
        kinds(ids[1].clone())
            .await
            .contains(&"transfer.refused".to_owned())
    );
    let list = get(&w.router, "/portal/requests", kz_admin).await;
    assert!(!list.body.contains(ids[0].as_str()) && !list.body.contains(ids[1].as_str()));
    // The RU side sees its delivery and refusal among its notifications.
    let (_, amur) = world::account(
        &ru_state,
        "admin@amur",
        PortalRole::OrgAdmin,
        Some(
            ru_state
                .store()
                .organisations()
                .await
                .unwrap()
                .into_iter()
                .find(|o| o.name == "Amur Data")
                .unwrap()
                .id,
        ),
    )
    .await;
    let notes = get(&ru_router, "/portal/notifications", &amur).await;
    assert!(
        notes.body.contains("data-kind=\"notice-delivered\""),
        "{}",
        notes.body
    );
    assert!(notes.body.contains("data-kind=\"notice-refused\""));
    w.fed.shutdown();
}

fn people_csv(rows: usize) -> Vec<u8> {
    let names = [
        "Иванов Иван",
        "Петров Пётр",
        "Сидоров Алексей",
        "Смирнов Сергей",
    ];
    let mut out = String::from("ФИО,Телефон,Сумма\n");
    for i in 0..rows {
        out.push_str(&format!(
            "{} Иванович,+7 701 {:03} {:04},{}\n",
            names[i % names.len()],
            100 + i % 900,
            1000 + i,
            100 + i
        ));
    }
    out.into_bytes()
}

#[tokio::test]
async fn a_provider_attests_grounds_in_the_portal_to_meet_the_laws_obligations() {
    let w = world().await;
    let kz_admin = &w.browsers[&PortalRole::OrgAdmin];
    let fields = [
        ("csrf", kz_admin.csrf.as_str()),
        ("request_id", "upload-people"),
        ("dataset_id", "kz-people"),
        ("title", "Payments to persons"),
        ("description", ""),
        ("sector", "trade"),
        ("format", "csv"),
        ("visibility", "federation"),
        ("states", ""),
    ];
    let a = upload(&w.router, kz_admin, &fields, &people_csv(40)).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let sha = a.location().rsplit('/').next().unwrap().to_owned();
    let (client, _) = w
        .fed
        .node("RU")
        .register("reg-ru-3", "Ob Research", silkgate_model::Sector::Trade)
        .await
        .unwrap();
    let t = client
        .request_transfer(&TransferRequest {
            request_id: "people-1".into(),
            provider: w.kz_org.to_string(),
            dataset_id: "kz-people".into(),
            sha256: sha,
            purpose: "payment reconciliation".into(),
            recipient_kind: None,
        })
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let unmet = loop {
        let rec =
            w.kz.store()
                .transfer(&t.id, TransferRole::Provider)
                .await
                .unwrap();
        if let Some(r) =
            rec.filter(|r| r.transfer.status == silkgate_model::TransferStatus::AwaitingDecision)
        {
            let d: silkgate_node::pipeline::TransferDecision =
                serde_json::from_value(r.report.unwrap()["decision"].clone()).unwrap();
            break d
                .unmet_legal_obligations()
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never awaited a decision"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        !unmet.is_empty(),
        "personal data to RU leaves an obligation of the law"
    );
    let list = get(&w.router, "/portal/requests", kz_admin).await;
    for o in &unmet {
        assert!(
            list.body.contains(&format!("<code>{o}</code>")),
            "{o}: {}",
            list.body
        );
    }
    assert!(list.body.contains("name=\"g_standard_contract\""));
    in_every_language(&w.router, "/portal/requests", kz_admin).await;
    let path = format!("/portal/requests/{}", t.id);
    let mut form = vec![
        ("csrf".to_owned(), kz_admin.csrf.clone()),
        ("request_id".to_owned(), "approve-1".to_owned()),
        ("decision".to_owned(), "approve".to_owned()),
    ];
    // Approving without the grounds is refused, naming what is unmet.
    let a = post(&w.router, &path, kz_admin, &form).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert!(
        a.body.contains("grounds:") && a.body.contains(unmet[0].as_str()),
        "{}",
        a.body
    );
    // With every ground attested, the node decides again and approves.
    form[1].1 = "approve-2".into();
    for g in silkgate_portal::org::GROUNDS {
        form.push((format!("g_{g}"), "on".into()));
    }
    let a = post(&w.router, &path, kz_admin, &form).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    let done = client
        .wait_final(&t.id, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(done.status, "delivered", "{done:?}");
    let approved =
        w.kz.store()
            .events_about(&t.id)
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.kind == "transfer.approved")
            .unwrap();
    assert_eq!(
        approved.detail["provider"]["grounds"]["standard_contract"],
        true
    );
    w.fed.shutdown();
}
