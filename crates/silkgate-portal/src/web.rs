//! The request context every page shares: language, signed-in person, CSRF token, and the
//! one error type that becomes a localised error page.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use silkgate_node::NodeState;
use silkgate_store::{PortalAccount, PortalRole, PortalSession};

use crate::auth::{self, LANG_COOKIE, SESSION_COOKIE};
use crate::i18n::{Lang, Tr};

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: always `Secure`, `Path=/` and `SameSite=Lax`; `HttpOnly` unless
/// scripts need it (none do today).
pub fn set_cookie(name: &str, value: &str, max_age: i64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={max_age}; Secure; HttpOnly; SameSite=Lax"
    ))
    .expect("cookie names and base64url values are valid header text")
}

/// A count shown with [`Ctx::number`]; templates pass values or references.
pub trait AsCount {
    /// The count as `i64` (saturating).
    fn as_count(&self) -> i64;
}

impl AsCount for i64 {
    fn as_count(&self) -> i64 {
        *self
    }
}

impl AsCount for u64 {
    fn as_count(&self) -> i64 {
        i64::try_from(*self).unwrap_or(i64::MAX)
    }
}

impl AsCount for usize {
    fn as_count(&self) -> i64 {
        i64::try_from(*self).unwrap_or(i64::MAX)
    }
}

impl<T: AsCount> AsCount for &T {
    fn as_count(&self) -> i64 {
        (**self).as_count()
    }
}

/// The person signed in.
#[derive(Debug, Clone)]
pub struct User {
    /// Their account.
    pub account: PortalAccount,
    /// Their session.
    pub session: PortalSession,
}

/// What every page knows about its request.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The page's language.
    pub lang: Lang,
    /// Its translator.
    pub tr: Tr,
    /// The person signed in, if any.
    pub user: Option<User>,
    /// Path and query of this page, for the language switch and the sign-in's return.
    pub here: String,
    /// The state this node serves.
    pub state: silkgate_model::StateCode,
    /// The node id.
    pub node_id: String,
    /// For an organisation's person: how many notices ask it to act (the header's count).
    pub attention: Option<usize>,
    /// When the request came, by the node's clock (Unix seconds): the one "now" of the page.
    pub now: i64,
}

impl FromRequestParts<NodeState> for Ctx {
    type Rejection = Fail;
    async fn from_request_parts(parts: &mut Parts, node: &NodeState) -> Result<Self, Fail> {
        let lang = cookie(&parts.headers, LANG_COOKIE)
            .and_then(Lang::parse)
            .unwrap_or_else(|| {
                Lang::negotiate(
                    parts
                        .headers
                        .get(header::ACCEPT_LANGUAGE)
                        .and_then(|v| v.to_str().ok()),
                )
            });
        let mut ctx = Ctx {
            lang,
            tr: Tr::new(lang),
            user: None,
            here: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_else(|| "/portal/".into()),
            state: node.identity().config.state,
            node_id: node.node_id().to_owned(),
            attention: None,
            now: node.clock().now_unix(),
        };
        if let Some(value) = cookie(&parts.headers, SESSION_COOKIE) {
            let found = node
                .store()
                .portal_session(&auth::sha256_hex(value), ctx.now)
                .await
                .map_err(|e| ctx.internal(e))?;
            ctx.user = found.map(|(session, account)| User { account, session });
        }
        if let Some(org) = ctx
            .user
            .as_ref()
            .filter(|u| u.account.role.is_organisation())
            .and_then(|u| u.account.org_id.clone())
        {
            ctx.attention = Some(
                crate::org::attention_count(node, &org)
                    .await
                    .map_err(|e| ctx.internal(e))?,
            );
        }
        Ok(ctx)
    }
}

/// Percent-encodes a query parameter value (RFC 3986 unreserved characters pass).
pub fn encode_query(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Ctx {
    /// The message `key` in the page's language.
    pub fn t(&self, key: &str) -> String {
        self.tr.t(key)
    }

    /// The message `key` with one argument.
    pub fn t1(&self, key: &str, name: &str, value: &str) -> String {
        self.tr.t1(key, name, value)
    }

    /// The localised name of a state.
    pub fn state_name(&self, code: &str) -> String {
        self.tr.state(code)
    }

    /// The link of the language switch to `lang`, returning to this page.
    pub fn switch_href(&self, lang: &Lang) -> String {
        format!(
            "/portal/lang?to={}&next={}",
            lang.tag(),
            encode_query(&self.here)
        )
    }

    /// The CSRF token of the session (empty when signed out).
    pub fn csrf(&self) -> &str {
        self.user
            .as_ref()
            .map(|u| u.session.csrf_token.as_str())
            .unwrap_or("")
    }

    /// The signed-in person's role, if any.
    pub fn role(&self) -> Option<PortalRole> {
        self.user.as_ref().map(|u| u.account.role)
    }

    /// Whether the person signed in has one of `roles`.
    pub fn is(&self, roles: &[PortalRole]) -> bool {
        self.role().is_some_and(|r| roles.contains(&r))
    }

    /// Whether an organisation's member or administrator is signed in (for the menu).
    pub fn is_org(&self) -> bool {
        self.is(&[PortalRole::OrgMember, PortalRole::OrgAdmin])
    }

    /// Whether a regulator is signed in (for the menu).
    pub fn is_regulator(&self) -> bool {
        self.is(&[PortalRole::Regulator])
    }

    /// Whether the node operator is signed in (for the menu).
    pub fn is_operator(&self) -> bool {
        self.is(&[PortalRole::Operator])
    }

    /// The role's name in the page's language.
    pub fn role_name(&self, role: &PortalRole) -> String {
        self.tr.word("role", role.as_str())
    }

    /// A date in the page's language.
    pub fn date(&self, unix: &i64) -> String {
        self.tr.date(*unix)
    }

    /// A date and time in the page's language.
    pub fn datetime(&self, unix: &i64) -> String {
        self.tr.datetime(*unix)
    }

    /// A whole number in the page's language.
    pub fn number<N: AsCount>(&self, n: N) -> String {
        self.tr.number(n.as_count())
    }

    /// The message `<prefix>-<word>` (statuses, sectors, directions, event kinds).
    pub fn word(&self, prefix: &str, word: &str) -> String {
        self.tr.word(prefix, word)
    }

    /// An event kind's name (`transfer.decided` is `event-transfer-decided`); a kind the
    /// catalogue does not know yet (added by a newer node) shows as its stable id.
    pub fn event_name(&self, kind: &str) -> String {
        let key = format!("event-{}", kind.replace('.', "-"));
        if self.tr.has(&key) {
            self.tr.t(&key)
        } else {
            kind.to_owned()
        }
    }

    /// The signed-in person, if they have one of `roles`: signed out goes to the sign-in
    /// page (coming back here), another role gets 403.
    ///
    /// # Errors
    /// [`Fail`].
    pub fn require(&self, roles: &[PortalRole]) -> Result<&User, Fail> {
        match &self.user {
            None => Err(Fail::new(self, FailKind::SignIn(self.here.clone()))),
            Some(u) if roles.contains(&u.account.role) => Ok(u),
            Some(_) => Err(Fail::new(self, FailKind::Forbidden)),
        }
    }

    /// The signed-in person with one of `roles`, if `csrf` is their session's token.
    ///
    /// # Errors
    /// [`Fail`]: a missing or wrong token is 403.
    pub fn require_form(&self, roles: &[PortalRole], csrf: &str) -> Result<&User, Fail> {
        let user = self.require(roles)?;
        if !auth::tokens_equal(&user.session.csrf_token, csrf) {
            return Err(Fail::new(self, FailKind::Csrf));
        }
        Ok(user)
    }

    /// A 500 for an internal fault, logged once here; its text stays in the log.
    pub fn internal(&self, e: impl std::fmt::Display) -> Fail {
        tracing::error!(error = %e, "portal request failed");
        Fail::new(self, FailKind::Internal)
    }

    /// A 404.
    pub fn not_found(&self) -> Fail {
        Fail::new(self, FailKind::NotFound)
    }

    /// A 400 naming the field and the reason.
    pub fn bad(&self, field: &str, reason: impl Into<String>) -> Fail {
        Fail::new(
            self,
            FailKind::Bad {
                field: field.to_owned(),
                reason: reason.into(),
            },
        )
    }

    /// A 403.
    pub fn forbidden(&self) -> Fail {
        Fail::new(self, FailKind::Forbidden)
    }
}

/// What went wrong with a page request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailKind {
    /// Not signed in: go to the sign-in page, then back to this path.
    SignIn(String),
    /// Signed in, but the role may not use this page.
    Forbidden,
    /// A form came without its session's CSRF token.
    Csrf,
    /// No such thing (or not visible to this person).
    NotFound,
    /// A field of the request is not acceptable.
    Bad {
        /// The field.
        field: String,
        /// Why.
        reason: String,
    },
    /// An internal fault (already logged).
    Internal,
}

/// A failed page request, rendered as a page in the request's language.
#[derive(Debug, Clone)]
pub struct Fail {
    /// What went wrong.
    pub kind: FailKind,
    ctx: Box<Ctx>,
}

impl Fail {
    /// A failure of the request `ctx`.
    pub fn new(ctx: &Ctx, kind: FailKind) -> Self {
        Self {
            kind,
            ctx: Box::new(ctx.clone()),
        }
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let (status, key, detail) = match &self.kind {
            FailKind::SignIn(next) => {
                return Redirect::to(&format!("/portal/sign-in?next={}", encode_query(next)))
                    .into_response();
            }
            FailKind::Forbidden => (StatusCode::FORBIDDEN, "error-forbidden", None),
            FailKind::Csrf => (StatusCode::FORBIDDEN, "error-csrf", None),
            FailKind::NotFound => (StatusCode::NOT_FOUND, "error-not-found", None),
            FailKind::Bad { field, reason } => (
                StatusCode::BAD_REQUEST,
                "error-bad-request",
                Some(format!("{field}: {reason}")),
            ),
            FailKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "error-internal", None),
        };
        let page = crate::pages::ErrorPage {
            message: self.ctx.t(key),
            detail,
            ctx: *self.ctx,
        };
        (status, crate::pages::html(&page)).into_response()
    }
}
