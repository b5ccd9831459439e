//! Who is asking: a signed-in person (session cookie) or another tool (API token), what they may
//! do, and the guards on state-changing requests (CSRF: same-origin check plus a form token;
//! sign-in slowed down after repeated wrong passwords).

use crate::error::ApiError;
use crate::i18n::Lang;
use crate::state::Shared;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use holdfast_app::App;
use holdfast_store::{Role, Scope, SessionInfo, TokenCheck};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The cookie that holds a session's secret.
pub const SESSION_COOKIE: &str = "holdfast_session";
/// The header an API call made with a session cookie carries its form token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Who made a request.
#[derive(Clone, Debug)]
pub enum Who {
    Person(SessionInfo),
    Token(TokenCheck),
}

impl Who {
    /// May change data (work the queue, import, record notes).
    pub fn can_write(&self) -> bool {
        match self {
            Who::Person(s) => s.role >= Role::Manager,
            Who::Token(t) => t.scope == Scope::Write,
        }
    }
    /// May change settings, people and tokens.
    pub fn is_owner(&self) -> bool {
        matches!(self, Who::Person(s) if s.role == Role::Owner)
    }
    /// How the audit log names them.
    pub fn actor(&self) -> String {
        match self {
            Who::Person(s) => s.user.email.clone(),
            Who::Token(t) => format!("token {}", t.id),
        }
    }
    pub fn session(&self) -> Option<&SessionInfo> {
        match self {
            Who::Person(s) => Some(s),
            Who::Token(_) => None,
        }
    }
}

/// A request's caller with the workspace they act in.
pub struct Caller {
    pub app: App,
    pub who: Who,
    pub lang: Lang,
}

impl Caller {
    pub fn require_write(&self) -> Result<(), ApiError> {
        if self.who.can_write() {
            Ok(())
        } else {
            Err(ApiError::forbidden(match &self.who {
                Who::Token(_) => "this token may only read (scope read)",
                Who::Person(_) => "a viewer may only read",
            }))
        }
    }
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")).map(str::trim)
}

/// Whether a state-changing request comes from our own pages: a browser says where a request
/// comes from in `Sec-Fetch-Site` and `Origin`; a request from another site is refused.
pub fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site != "same-origin" && site != "none" {
            return false;
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
        if origin == "null" || origin_host != host {
            return false;
        }
    }
    true
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn session_of(shared: &Shared, headers: &HeaderMap) -> Result<Option<SessionInfo>, ApiError> {
    match cookie(headers, SESSION_COOKIE) {
        Some(c) => Ok(holdfast_app::accounts::session(&shared.store, c, now()).await?),
        None => Ok(None),
    }
}

/// The API's caller: a bearer token, or a session cookie (whose writes must carry the session's
/// form token in `X-CSRF-Token` and come from our own origin).
impl FromRequestParts<Shared> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, shared: &Shared) -> Result<Caller, ApiError> {
        let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        let who = if let Some(b) = bearer(&parts.headers) {
            match holdfast_app::accounts::check_token(&shared.store, b, now()).await? {
                Some(t) => Who::Token(t),
                None => return Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "the token is unknown or revoked")),
            }
        } else {
            let Some(s) = session_of(shared, &parts.headers).await? else { return Err(ApiError::unauthorized()) };
            if unsafe_method {
                let token = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
                if !same_origin(&parts.headers) || !holdfast_app::accounts::same_secret(token, &s.csrf) {
                    return Err(ApiError::forbidden("a change made with a session needs the X-CSRF-Token header from our own pages"));
                }
            }
            Who::Person(s)
        };
        let ws = match &who {
            Who::Person(s) => s.workspace,
            Who::Token(t) => t.workspace,
        };
        let app = shared.app(ws).await?;
        let lang = Lang::negotiate(who.session().and_then(|s| s.user.lang.as_deref()), &parts.headers);
        Ok(Caller { app, who, lang })
    }
}

/// A dashboard page's caller: a signed-in person; anyone else is sent to `/login`.
pub struct PageCaller(pub Caller);

impl FromRequestParts<Shared> for PageCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, shared: &Shared) -> Result<PageCaller, Response> {
        let s = match session_of(shared, &parts.headers).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                let q: String = next
                    .bytes()
                    .map(|b| if b.is_ascii_alphanumeric() || b"/-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
                    .collect();
                return Err(Redirect::to(&format!("/login?next={q}")).into_response());
            }
            Err(e) => return Err(e.into_response()),
        };
        if parts.method != Method::GET && parts.method != Method::HEAD && !same_origin(&parts.headers) {
            return Err(ApiError::forbidden("this form was sent from another site").into_response());
        }
        let app = shared.app(s.workspace).await.map_err(IntoResponse::into_response)?;
        let lang = Lang::negotiate(s.user.lang.as_deref(), &parts.headers);
        Ok(PageCaller(Caller { app, who: Who::Person(s), lang }))
    }
}

/// Repeated wrong passwords for one e-mail slow sign-in down: after the fifth in a row each try
/// waits 2, 4, 8 … up to 300 seconds. A right password resets the count.
#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginThrottle {
    pub const FREE_TRIES: u32 = 5;

    /// How long the caller must wait before trying `email` again (zero: try now).
    pub fn wait(&self, email: &str) -> Duration {
        let m = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match m.get(&holdfast_store::accounts::normalize_email(email)) {
            Some(&(n, until)) if n >= Self::FREE_TRIES => until.saturating_duration_since(Instant::now()),
            _ => Duration::ZERO,
        }
    }

    pub fn failed(&self, email: &str) {
        let mut m = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if m.len() > 100_000 {
            m.clear();
        }
        let e = m.entry(holdfast_store::accounts::normalize_email(email)).or_insert((0, Instant::now()));
        e.0 += 1;
        if e.0 >= Self::FREE_TRIES {
            let secs = 2u64.saturating_pow((e.0 - Self::FREE_TRIES + 1).min(10)).min(300);
            e.1 = Instant::now() + Duration::from_secs(secs);
        }
    }

    pub fn succeeded(&self, email: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(&holdfast_store::accounts::normalize_email(email));
    }
}

/// The `Set-Cookie` value of a new session (HttpOnly, SameSite=Lax; Secure behind HTTPS).
pub fn session_cookie(value: &str, max_age: i64, secure: bool) -> String {
    format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}", if secure { "; Secure" } else { "" })
}
