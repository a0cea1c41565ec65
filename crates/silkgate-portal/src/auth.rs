//! People's accounts, sign-in and sessions.
//!
//! - Passwords are hashed with Argon2id (RFC 9106, the `argon2` crate's defaults: 19 MiB,
//!   2 passes, 1 lane, the OWASP minimum) into a PHC string.
//! - The second factor is TOTP (RFC 6238: SHA-1, 6 digits, 30 s, one step of skew); a time
//!   step is accepted once per account, so an observed code cannot be replayed.
//! - [`MAX_FAILURES`] failed sign-ins in a row lock the account for [`LOCK_SECONDS`].
//! - A sign-in always issues a fresh random session id (no fixation); the browser holds it in a
//!   `__Host-` cookie (`Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`), the store only its
//!   SHA-256. Each session has its own CSRF token, which every form carries.
//! - Account creation, sign-ins, failures, lock-outs, sign-outs and role changes are events,
//!   so they reach the transparency log; events name the opaque account id, never the login.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand::RngCore as _;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use silkgate_model::{NewEvent, OrgId};
use silkgate_store::{PortalAccount, PortalRole, PortalSession, Store, StoreError};
use subtle::ConstantTimeEq as _;
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// Failed sign-ins in a row that lock an account.
pub const MAX_FAILURES: i64 = 5;
/// How long a lock-out lasts, in seconds.
pub const LOCK_SECONDS: i64 = 15 * 60;
/// How long a session lasts, in seconds.
pub const SESSION_SECONDS: i64 = 8 * 3600;
/// Name of the session cookie (`__Host-`: only over HTTPS, for this host, path `/`).
pub const SESSION_COOKIE: &str = "__Host-sg_session";
/// Name of the cookie holding the sign-in form's CSRF token (before there is a session).
pub const LOGIN_CSRF_COOKIE: &str = "__Host-sg_login";
/// Name of the language cookie.
pub const LANG_COOKIE: &str = "sg_lang";

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A field of a new account is not acceptable.
    #[error("field '{field}': {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// Hashing the password failed.
    #[error("password hashing: {0}")]
    Hash(String),
}

fn invalid(field: &'static str, reason: impl Into<String>) -> AuthError {
    AuthError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// What is needed to create an account.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// What the person types to sign in (3 to 100 characters, no spaces).
    pub login: String,
    /// Name shown in the portal.
    pub display_name: String,
    /// The role.
    pub role: PortalRole,
    /// The organisation, required for organisation roles and refused for the others.
    pub org_id: Option<OrgId>,
    /// The password (at least 12 characters).
    pub password: String,
}

/// A created account and the TOTP secret to enrol in an authenticator app (shown once).
#[derive(Debug, Clone)]
pub struct CreatedAccount {
    /// The stored account.
    pub account: PortalAccount,
    /// The TOTP secret, base32.
    pub totp_secret: String,
    /// The `otpauth://` URL an authenticator app reads.
    pub otpauth_url: String,
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

/// A random token, base64url of 32 random bytes (session ids, CSRF tokens).
pub fn random_token() -> String {
    B64.encode(random_bytes::<32>())
}

/// SHA-256 hex: what the store keeps of a session id.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Whether two tokens are equal, in time independent of where they differ.
pub fn tokens_equal(a: &str, b: &str) -> bool {
    !a.is_empty() && a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Hashes a password with Argon2id into a PHC string.
///
/// # Errors
/// [`AuthError::Hash`].
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string (false for a malformed string).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).ok().is_some_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// The TOTP generator of an account.
///
/// # Errors
/// [`AuthError::Invalid`] naming `totp_secret` when the stored secret is malformed.
pub fn totp(secret_base32: &str, login: &str, issuer: &str) -> Result<Totp, AuthError> {
    let secret = Secret::try_from_base32(secret_base32)
        .map_err(|e| invalid("totp_secret", format!("{e:?}")))?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .with_account_name(login)
        .with_issuer(Some(issuer))
        .build()
        .map_err(|e| invalid("totp_secret", format!("{e:?}")))
}

/// The TOTP code of an account's secret at `clock`'s now: for the demo and the tests, which
/// play the person's authenticator app against a node running on that clock.
///
/// # Errors
/// [`AuthError::Invalid`] when the secret is malformed.
pub fn current_code(
    secret_base32: &str,
    clock: &silkgate_model::Clock,
) -> Result<String, AuthError> {
    code_at(secret_base32, clock.now_unix())
}

/// The TOTP code of an account's secret at Unix time `at`.
///
/// # Errors
/// [`AuthError::Invalid`] when the secret is malformed.
pub fn code_at(secret_base32: &str, at: i64) -> Result<String, AuthError> {
    Ok(totp(secret_base32, "x", "silkgate")?
        .generate(at.max(0) as u64)
        .to_string())
}

/// Creates an account with a fresh TOTP secret, recorded with a `portal.account-created`
/// event in the same transaction.
///
/// # Errors
/// [`AuthError::Invalid`] naming the field, [`AuthError::Store`] (a duplicate login is
/// [`StoreError::Duplicate`]).
pub async fn create_account(
    store: &Store,
    new: NewAccount,
    issuer: &str,
) -> Result<CreatedAccount, AuthError> {
    let login = new.login.trim().to_owned();
    if !(3..=100).contains(&login.chars().count())
        || login.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(invalid(
            "login",
            "must be 3 to 100 characters without spaces",
        ));
    }
    let name = new.display_name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(invalid("display_name", "must be 1 to 200 characters"));
    }
    if new.password.chars().count() < 12 {
        return Err(invalid("password", "must be at least 12 characters"));
    }
    match (new.role.is_organisation(), &new.org_id) {
        (true, None) => return Err(invalid("org_id", "an organisation role names one")),
        (false, Some(_)) => {
            return Err(invalid("org_id", "only organisation roles name one"));
        }
        (true, Some(org)) if store.organisation(org).await?.is_none() => {
            return Err(invalid("org_id", format!("no organisation {org} here")));
        }
        _ => {}
    }
    let secret = Secret::generate().to_base32();
    let account = PortalAccount {
        id: format!("acct-{}", hex::encode(random_bytes::<12>())),
        login: login.clone(),
        display_name: name,
        role: new.role,
        org_id: new.org_id,
        password_phc: hash_password(&new.password)?,
        totp_secret: secret.clone(),
        totp_last_step: 0,
        failed_attempts: 0,
        locked_until: 0,
        created_at: store.clock().now_unix(),
    };
    let url = totp(&secret, &login, issuer)?
        .to_url()
        .map_err(|e| invalid("login", format!("not usable in an otpauth URL: {e:?}")))?;
    let mut tx = store.begin().await?;
    tx.insert_portal_account(&account).await?;
    tx.append_event(&NewEvent::new(
        "portal.account-created",
        &account.id,
        json!({ "role": account.role.as_str(), "org": account.org_id.as_ref().map(|o| o.as_str()) }),
    ))
    .await?;
    tx.commit().await?;
    Ok(CreatedAccount {
        account,
        totp_secret: secret,
        otpauth_url: url,
    })
}

/// Changes an account's role (and organisation), ending its sessions; recorded with a
/// `portal.role-changed` event naming who changed it.
///
/// # Errors
/// [`AuthError::Invalid`] naming the field, [`AuthError::Store`].
pub async fn change_role(
    store: &Store,
    by: &str,
    account_id: &str,
    role: PortalRole,
    org_id: Option<&OrgId>,
) -> Result<(), AuthError> {
    if role.is_organisation() != org_id.is_some() {
        return Err(invalid(
            "org_id",
            "organisation roles name an organisation, the others none",
        ));
    }
    if let Some(org) = org_id
        && store.organisation(org).await?.is_none()
    {
        return Err(invalid("org_id", format!("no organisation {org} here")));
    }
    let before = store
        .portal_account(account_id)
        .await?
        .ok_or_else(|| invalid("account", "no such account"))?;
    let mut tx = store.begin().await?;
    tx.set_portal_role(account_id, role, org_id).await?;
    tx.append_event(&NewEvent::new(
        "portal.role-changed",
        account_id,
        json!({
            "by": by,
            "from": before.role.as_str(),
            "to": role.as_str(),
            "org": org_id.map(|o| o.as_str()),
        }),
    ))
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Why a sign-in was refused. The page shows one message for a wrong login, password or
/// code, so it does not tell which accounts exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefusal {
    /// Login, password or code wrong (or the code already used).
    Credentials,
    /// The account is locked after repeated failures.
    Locked,
}

/// A new session: the cookie value (only the browser keeps it) and the stored session.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The session id for the cookie.
    pub cookie_value: String,
    /// The stored session.
    pub session: PortalSession,
    /// The account signed in.
    pub account: PortalAccount,
}

/// Checks login, password and TOTP code; on success starts a new session (a fresh id,
/// whatever the browser sent) and records `portal.signed-in`; on failure records
/// `portal.sign-in-failed`, and `portal.account-locked` when it locks the account.
///
/// # Errors
/// [`AuthError::Store`]; a refusal is `Ok(Err(..))`.
pub async fn sign_in(
    store: &Store,
    login: &str,
    password: &str,
    code: &str,
    now: i64,
) -> Result<Result<NewSession, SignInRefusal>, AuthError> {
    let Some(account) = store.portal_account_by_login(login.trim()).await? else {
        // Spend the time a real check takes, so timing does not tell which logins exist.
        let _ = verify_password(password, DUMMY_PHC);
        return Ok(Err(SignInRefusal::Credentials));
    };
    if account.locked_until > now {
        return Ok(Err(SignInRefusal::Locked));
    }
    let password_ok = verify_password(password, &account.password_phc);
    let step = totp(&account.totp_secret, &account.login, "silkgate")
        .ok()
        .filter(|_| password_ok)
        .and_then(|t| {
            let code = code.trim();
            // Which step matched: the one before, now, or the one after (skew 1).
            [-30i64, 0, 30]
                .into_iter()
                .map(|d| (now + d).max(0) as u64)
                .find(|&at| tokens_equal(&t.generate(at).to_string(), code))
                .map(|at| (at / 30) as i64)
        });
    let mut tx = store.begin().await?;
    let accepted = match step {
        Some(step) => tx.portal_record_success(&account.id, step).await?,
        None => false,
    };
    if !accepted {
        let outcome = tx
            .portal_record_failure(&account.id, now, MAX_FAILURES, LOCK_SECONDS)
            .await?;
        tx.append_event(&NewEvent::new(
            "portal.sign-in-failed",
            &account.id,
            json!({ "failed_attempts": outcome.failed_attempts }),
        ))
        .await?;
        if outcome.locked_now {
            tx.append_event(&NewEvent::new(
                "portal.account-locked",
                &account.id,
                json!({ "until": outcome.locked_until }),
            ))
            .await?;
        }
        tx.commit().await?;
        return Ok(Err(if outcome.locked_now {
            SignInRefusal::Locked
        } else {
            SignInRefusal::Credentials
        }));
    }
    let cookie_value = random_token();
    let session = PortalSession {
        id_sha256: sha256_hex(&cookie_value),
        account_id: account.id.clone(),
        csrf_token: random_token(),
        created_at: now,
        expires_at: now + SESSION_SECONDS,
    };
    tx.insert_portal_session(&session).await?;
    tx.append_event(&NewEvent::new(
        "portal.signed-in",
        &account.id,
        json!({ "role": account.role.as_str() }),
    ))
    .await?;
    tx.commit().await?;
    Ok(Ok(NewSession {
        cookie_value,
        session,
        account,
    }))
}

/// Ends the session whose cookie value is `cookie_value`, recorded as `portal.signed-out`.
///
/// # Errors
/// [`AuthError::Store`].
pub async fn sign_out(
    store: &Store,
    cookie_value: &str,
    account_id: &str,
) -> Result<(), AuthError> {
    let mut tx = store.begin().await?;
    if tx.delete_portal_session(&sha256_hex(cookie_value)).await? {
        tx.append_event(&NewEvent::new("portal.signed-out", account_id, json!({})))
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

// A valid Argon2id hash of a random password, checked when the login is unknown.
const DUMMY_PHC: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2lsa2dhdGVkdW1teQ$9s3Jm2cJ4o2Wj7mQ1nH1vYp3kY0oUq8Qm3mF1bq1V0A";

/// Where to go after a form: `next` if it is a path inside the portal, else the portal's home.
/// Refuses anything a browser could take off-site (`//host`, `/\host`, schemes, controls).
pub fn safe_next(next: Option<&str>) -> String {
    const HOME: &str = "/portal/";
    let Some(next) = next else {
        return HOME.to_owned();
    };
    let inside = next == "/portal" || next.starts_with("/portal/") || next.starts_with("/portal?");
    let off_site = next.contains("//")
        || next.contains('\\')
        || next.chars().any(|c| c.is_control() || c.is_whitespace());
    if inside && !off_site {
        next.to_owned()
    } else {
        HOME.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_redirects_are_refused() {
        for (next, want) in [
            (None, "/portal/"),
            (Some("/portal/transfers"), "/portal/transfers"),
            (
                Some("/portal/catalogue?q=a&page=2"),
                "/portal/catalogue?q=a&page=2",
            ),
            (Some("https://evil.example/"), "/portal/"),
            (Some("//evil.example/portal/"), "/portal/"),
            (Some("/portal//evil.example"), "/portal/"),
            (Some("/portal/\\evil.example"), "/portal/"),
            (Some("/\\evil.example"), "/portal/"),
            (Some("/portalx"), "/portal/"),
            (Some("/portal/\n/x"), "/portal/"),
            (Some("javascript:alert(1)"), "/portal/"),
        ] {
            assert_eq!(safe_next(next), want, "{next:?}");
        }
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("correct horse batterY", &phc));
        assert!(!verify_password("x", "not a phc string"));
        assert!(!verify_password("x", DUMMY_PHC));
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(tokens_equal("abc", "abc"));
        assert!(!tokens_equal("abc", "abd"));
        assert!(!tokens_equal("abc", "ab"));
        assert!(!tokens_equal("", ""), "an empty token never matches");
    }
}

/// A sign-in for the demo: the login, its password and TOTP secret.
#[derive(Debug, Clone)]
pub struct DemoSignIn {
    /// The role.
    pub role: PortalRole,
    /// The login.
    pub login: String,
    /// The TOTP secret to enrol (or compute codes from).
    pub totp_secret: String,
    /// Whether it was created now (false: it existed from an earlier run).
    pub created: bool,
}

/// Creates the account `login` unless it exists, for `silkgate demo`.
///
/// # Errors
/// [`AuthError`].
pub async fn ensure_demo_account(
    store: &Store,
    new: NewAccount,
    issuer: &str,
) -> Result<DemoSignIn, AuthError> {
    if let Some(a) = store.portal_account_by_login(&new.login).await? {
        return Ok(DemoSignIn {
            role: a.role,
            login: a.login,
            totp_secret: a.totp_secret,
            created: false,
        });
    }
    let role = new.role;
    let created = create_account(store, new, issuer).await?;
    Ok(DemoSignIn {
        role,
        login: created.account.login,
        totp_secret: created.totp_secret,
        created: true,
    })
}
