//! Accounts: adding people, signing in and out, API tokens and the one-time set-up link — one
//! set of rules for `holdfast user add` / `holdfast token create` and the web server.
//!
//! Secrets: a password is kept as an argon2id hash; a session cookie, a token's secret and a
//! set-up link are 256 random bits of which the store keeps only the SHA-256, compared in constant
//! time. A token reads `hf_<id>_<secret>`: the id finds the row, the secret proves the holder.

use crate::error::{Error, ErrorKind, Result};
use crate::workspace::App;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use holdfast_store::{Role, Scope, SessionInfo, Store, TokenCheck, User, WorkspaceId};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// How long a session lasts without signing in again.
pub const SESSION_SECONDS: i64 = 14 * 24 * 3600;
/// How long the first-run set-up link stays valid.
pub const SETUP_LINK_SECONDS: i64 = 24 * 3600;
/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 8;

/// 256 random bits as 64 hex digits.
pub fn random_secret() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    hex(&b)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The hex SHA-256 of a secret: what the store keeps.
pub fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Constant-time equality of two strings (hashes, form tokens).
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Hashes a password with argon2id (the crate's default parameters). Slow by design: call it off
/// the async threads (see [`hash_password_async`]).
pub fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(Error::user(format!("the password is too short: at least {MIN_PASSWORD} characters")));
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| Error::internal(format!("cannot hash the password: {e}")))
}

/// Checks a password against a stored argon2 hash.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// [`hash_password`] on tokio's blocking threads.
pub async fn hash_password_async(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_password(&password)).await.map_err(|e| Error::internal(format!("password hashing stopped: {e}")))?
}

async fn verify_password_async(hash: String, password: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || verify_password(&hash, &password)).await.map_err(|e| Error::internal(format!("password check stopped: {e}")))
}

/// Adds a person to the app's workspace with `role` (or sets the password and role of the person
/// with this e-mail).
pub async fn add_user(app: &App, email: &str, name: Option<&str>, password: &str, role: Role, now: i64) -> Result<User> {
    let hash = hash_password_async(password.to_owned()).await?;
    let u = app.store.upsert_user(app.ws.id, email, name, &hash, role, now).await?;
    app.store.audit(app.ws.id, now, "cli", "user.add", Some(&u.email), Some(role.as_str())).await?;
    Ok(u)
}

/// A signed-in session: the cookie value to hand to the browser and what it grants.
pub struct SignedIn {
    pub cookie: String,
    pub session: SessionInfo,
}

/// Signs a person in. `Ok(None)` for an unknown e-mail, a wrong password or a person with no
/// workspace (the caller says the same thing in each case).
pub async fn sign_in(store: &Store, email: &str, password: &str, now: i64) -> Result<Option<SignedIn>> {
    // An unknown e-mail costs the same hash as a known one, so timing tells nothing.
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$1yKfUPVPx9Jx8+qmrdvWYEU4LeCtCVmLEtjrm3EJ2rY";
    let found = store.login_lookup(email).await?;
    let hash = found.as_ref().and_then(|(_, h, _)| h.clone()).unwrap_or_else(|| DUMMY.to_owned());
    let ok = verify_password_async(hash, password.to_owned()).await?;
    let Some((user, Some(_), workspaces)) = found else { return Ok(None) };
    let Some(&(ws, _)) = workspaces.first() else { return Ok(None) };
    if !ok {
        return Ok(None);
    }
    start_session(store, user.id, ws, now).await.map(Some)
}

async fn start_session(store: &Store, user_id: i64, ws: WorkspaceId, now: i64) -> Result<SignedIn> {
    let cookie = random_secret();
    store.create_session(&secret_hash(&cookie), user_id, ws, &random_secret(), now, now + SESSION_SECONDS).await?;
    let session = store.session(&secret_hash(&cookie), now).await?.ok_or_else(|| Error::internal("the new session is not in the store"))?;
    store.audit(ws, now, &session.user.email, "session.start", None, None).await?;
    Ok(SignedIn { cookie, session })
}

/// The live session of a cookie value, if any.
pub async fn session(store: &Store, cookie: &str, now: i64) -> Result<Option<SessionInfo>> {
    Ok(store.session(&secret_hash(cookie), now).await?)
}

/// Ends the session of a cookie value.
pub async fn sign_out(store: &Store, cookie: &str, now: i64) -> Result<()> {
    Ok(store.end_session(&secret_hash(cookie), now).await?)
}

/// A token just made: `token` is shown once and never again.
pub struct NewToken {
    pub id: i64,
    pub token: String,
}

/// Makes an API token for the app's workspace.
pub async fn create_token(app: &App, name: &str, scope: Scope, created_by: Option<&User>, now: i64) -> Result<NewToken> {
    let secret = random_secret();
    let id = app.store.create_token(app.ws.id, name, scope, &secret_hash(&secret), created_by.map(|u| u.id), now).await?;
    let actor = created_by.map_or("cli", |u| u.email.as_str());
    app.store.audit(app.ws.id, now, actor, "token.create", Some(&format!("{id} {}", name.trim())), Some(scope.as_str())).await?;
    Ok(NewToken { id, token: format!("hf_{id}_{secret}") })
}

/// The live token a bearer value names, if it is one.
pub async fn check_token(store: &Store, bearer: &str, now: i64) -> Result<Option<TokenCheck>> {
    let Some((id, secret)) = bearer.strip_prefix("hf_").and_then(|r| r.split_once('_')) else { return Ok(None) };
    let Ok(id) = id.parse::<i64>() else { return Ok(None) };
    let Some(t) = store.token_check(id).await? else { return Ok(None) };
    if t.revoked || !same_secret(&t.secret_hash, &secret_hash(secret)) {
        return Ok(None);
    }
    // The last use is written at most once a minute: most requests write nothing.
    if t.last_used_at.is_none_or(|at| at < now - 60) {
        store.touch_token(t.id, now).await?;
    }
    Ok(Some(t))
}

/// On a store nobody can sign in to yet, makes a one-time set-up link secret (the caller builds
/// the URL `/setup/<secret>`). `None` once someone can sign in.
pub async fn setup_link(app: &App, now: i64) -> Result<Option<String>> {
    if app.store.user_count().await? > 0 {
        return Ok(None);
    }
    let secret = random_secret();
    app.store.create_setup_link(app.ws.id, &secret_hash(&secret), now, now + SETUP_LINK_SECONDS).await?;
    Ok(Some(secret))
}

/// Whether a set-up link is live.
pub async fn setup_link_live(store: &Store, secret: &str, now: i64) -> Result<bool> {
    Ok(store.setup_link(&secret_hash(secret), now).await?.is_some())
}

/// Uses a set-up link: makes the first owner and signs them in.
pub async fn complete_setup(store: &Store, secret: &str, email: &str, name: Option<&str>, password: &str, now: i64) -> Result<SignedIn> {
    let hash = hash_password_async(password.to_owned()).await?;
    let ws = store.setup_link(&secret_hash(secret), now).await?.ok_or_else(|| Error::not_found("this set-up link is used or expired"))?;
    if !store.consume_setup_link(&secret_hash(secret), now).await? {
        return Err(Error::new(ErrorKind::Conflict, "this set-up link was just used"));
    }
    let u = store.upsert_user(ws, email, name, &hash, Role::Owner, now).await?;
    store.audit(ws, now, &u.email, "user.setup", Some(&u.email), Some("owner")).await?;
    start_session(store, u.id, ws, now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "correct horsE"));
        assert!(!verify_password("not a hash", "x"));
        assert_eq!(hash_password("short").unwrap_err().kind, ErrorKind::User);
    }

    #[test]
    fn secrets_are_random_and_hashed() {
        let (a, b) = (random_secret(), random_secret());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(secret_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("abc", "ab"));
    }
}
