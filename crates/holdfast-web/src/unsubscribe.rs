//! One-click unsubscribe (RFC 8058): the link every Holdfast e-mail carries, `/u/{token}`.
//!
//! - `GET /u/{token}` shows what will happen and a button; it changes nothing (mail scanners and
//!   link previews open links).
//! - `POST /u/{token}` unsubscribes: the customer's `email` consent is withdrawn
//!   (`customer_consents.unsubscribed_at`) with an audit entry, and a plain page says so. A mail
//!   client's unsubscribe button posts `List-Unsubscribe=One-Click` here from another site, with no
//!   session: the token is the authority (an HMAC keyed by the workspace's secret, see
//!   `holdfast_channels::check_unsubscribe`), so this route has no session and no form token.
//!   Posting twice changes nothing more.
//!
//! A token that is not genuine is a 404, whatever is wrong with it.

use crate::error::ApiError;
use crate::i18n::Lang;
use crate::state::Shared;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use holdfast_store::{Unsubscribed, WorkspaceId};

/// The channel a link unsubscribes from.
const CHANNEL: &str = "email";

/// The workspace and customer of a genuine token.
async fn genuine(shared: &Shared, token: &str) -> Result<Option<(WorkspaceId, String)>, ApiError> {
    let Some(ws) = holdfast_channels::unsubscribe_workspace(token) else { return Ok(None) };
    let Some(secret) = shared.store.existing_link_secret(WorkspaceId(ws)).await? else { return Ok(None) };
    let key = holdfast_channels::unsubscribe_key(&secret);
    Ok(holdfast_channels::check_unsubscribe(&key, token).map(|(ws, customer)| (WorkspaceId(ws), customer)))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A page of its own (no dashboard layout: the reader is a customer, not a user).
fn plain(status: StatusCode, lang: Lang, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{}</title>\
         <link rel=stylesheet href=/assets/app.css></head><body><main><h1>{}</h1>{body}</main></body></html>",
        lang.code(),
        escape(title),
        escape(title)
    );
    (status, [(header::CACHE_CONTROL, "no-store"), (header::REFERRER_POLICY, "no-referrer")], Html(html)).into_response()
}

fn invalid(lang: Lang) -> Response {
    let (title, text) = match lang {
        Lang::Ru => ("Ссылка недействительна", "Эта ссылка для отписки не действует. Если письма продолжают приходить, ответьте на любое из них."),
        Lang::En => ("This link is not valid", "This unsubscribe link does not work. If the e-mails keep coming, reply to any of them."),
    };
    plain(StatusCode::NOT_FOUND, lang, title, &format!("<p>{}</p>", escape(text)))
}

/// `GET /u/{token}`: what the button will do; nothing changes.
pub async fn page(State(shared): State<Shared>, headers: HeaderMap, Path(token): Path<String>) -> Response {
    let lang = Lang::negotiate(None, &headers);
    let (ws, _customer) = match genuine(&shared, &token).await {
        Ok(Some(x)) => x,
        Ok(None) => return invalid(lang),
        Err(e) => return e.into_response(),
    };
    let name = match shared.store.workspace_by_id(ws).await {
        Ok(w) => w.name,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (title, text, button) = match lang {
        Lang::Ru => {
            ("Отписаться от писем", format!("Вы больше не будете получать письма от «{}». Письма о ваших заказах продолжат приходить.", name), "Отписаться")
        }
        Lang::En => ("Unsubscribe", format!("You will get no more e-mails from {}. E-mails about your orders will still come.", name), "Unsubscribe"),
    };
    let action = format!("/u/{}", escape(&token));
    let body = format!(
        "<p>{}</p><form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\"><button type=\"submit\">{}</button></form>",
        escape(&text),
        escape(button)
    );
    plain(StatusCode::OK, lang, title, &body)
}

/// `POST /u/{token}`: unsubscribes (idempotent) and says so.
pub async fn post(State(shared): State<Shared>, headers: HeaderMap, Path(token): Path<String>) -> Response {
    let lang = Lang::negotiate(None, &headers);
    let (ws, customer) = match genuine(&shared, &token).await {
        Ok(Some(x)) => x,
        Ok(None) => return invalid(lang),
        Err(e) => return e.into_response(),
    };
    let now = chrono::Utc::now().timestamp();
    match shared.store.unsubscribe(ws, &customer, CHANNEL, now, "unsubscribe link").await {
        Ok(Unsubscribed::Now | Unsubscribed::Already) => {}
        Err(holdfast_store::Error::NotFound { .. }) => return invalid(lang),
        Err(e) => return ApiError::from(e).into_response(),
    }
    let (title, text) = match lang {
        Lang::Ru => ("Вы отписались", "Мы больше не будем присылать вам письма. Письма о ваших заказах продолжат приходить."),
        Lang::En => ("You are unsubscribed", "We will send you no more e-mails. E-mails about your orders will still come."),
    };
    plain(StatusCode::OK, lang, title, &format!("<p>{}</p>", escape(text)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use holdfast_store::{CustomerRecord, Entity, Record, Store};
    use tower::ServiceExt;

    struct Answer {
        status: StatusCode,
        body: String,
    }

    async fn call(router: &axum::Router, method: &str, path: &str, cross_site: bool) -> Answer {
        let mut b = Request::builder().method(method).uri(path).header(header::ACCEPT_LANGUAGE, "en");
        if cross_site {
            // A mail client's one-click POST (RFC 8058): from another site, with no session.
            b = b
                .header(header::ORIGIN, "https://mail.example.net")
                .header("sec-fetch-site", "cross-site")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let body = if method == "POST" { Body::from("List-Unsubscribe=One-Click") } else { Body::empty() };
        let resp = router.clone().oneshot(b.body(body).unwrap()).await.unwrap();
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        Answer { status, body: String::from_utf8_lossy(&body).into_owned() }
    }

    async fn unsubscribe_flow(url: &str) {
        let store = Store::open(url).await.unwrap();
        let ws = store.workspace("default").await.unwrap().id;
        let other = store.workspace("other").await.unwrap().id;
        let customer =
            |id: &str| (1, Record::Customer(CustomerRecord { external_id: id.into(), email: Some(format!("{id}@example.com")), ..Default::default() }));
        store.import(ws, Entity::Customers, [customer("C1"), customer("C2")]).await.unwrap();
        store.import(other, Entity::Customers, [customer("C1")]).await.unwrap();
        let secret = store.link_secret(ws, "0123456789abcdef0123456789abcdef0123456789abcdef").await.unwrap();
        // The first secret stays.
        assert_eq!(store.link_secret(ws, "another secret of at least thirty-two characters").await.unwrap(), secret);
        let key = holdfast_channels::unsubscribe_key(&secret);
        let token = holdfast_channels::unsubscribe_token(&key, ws.0, "C1");
        let router = crate::router(Shared::new(store.clone()));

        // GET shows a page with a button and changes nothing.
        let a = call(&router, "GET", &format!("/u/{token}"), false).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert!(a.body.contains("<form method=\"post\"") && a.body.contains("Unsubscribe"), "{}", a.body);
        assert_eq!(store.consent(ws, "C1", "email").await.unwrap(), None);

        // POST from another site with no session unsubscribes, once.
        let a = call(&router, "POST", &format!("/u/{token}"), true).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert!(a.body.contains("You are unsubscribed"), "{}", a.body);
        let c = store.consent(ws, "C1", "email").await.unwrap().expect("a consent row");
        assert!(!c.granted);
        let at = c.unsubscribed_at.expect("the time of unsubscribing");
        let a = call(&router, "POST", &format!("/u/{token}"), true).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(store.consent(ws, "C1", "email").await.unwrap().unwrap().unsubscribed_at, Some(at));
        let log = store.audit_log(ws, 10).await.unwrap();
        let entries: Vec<_> = log.iter().filter(|e| e.action == "customer.unsubscribe").collect();
        assert_eq!(entries.len(), 1, "one audit entry, however often the link is posted");
        assert_eq!(entries[0].target.as_deref(), Some("C1"));

        // Only C1 of this workspace: C2 and the other workspace's C1 are untouched.
        assert_eq!(store.consent(ws, "C2", "email").await.unwrap(), None);
        assert_eq!(store.consent(other, "C1", "email").await.unwrap(), None);

        // A forged, cut or foreign token is a 404 and changes nothing.
        let forged = holdfast_channels::unsubscribe_token(b"not the key", ws.0, "C2");
        let foreign = holdfast_channels::unsubscribe_token(&key, other.0, "C1");
        for t in [forged.as_str(), &token[..token.len() - 3], foreign.as_str(), "nonsense", "99.QzE.AAAA"] {
            for m in ["GET", "POST"] {
                let a = call(&router, m, &format!("/u/{t}"), true).await;
                assert_eq!(a.status, StatusCode::NOT_FOUND, "{m} {t}: {}", a.body);
            }
        }
        assert_eq!(store.consent(ws, "C2", "email").await.unwrap(), None);
        assert_eq!(store.consent(other, "C1", "email").await.unwrap(), None);
        store.close().await.unwrap();
    }

    #[tokio::test]
    async fn one_click_unsubscribe_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        unsubscribe_flow(&format!("sqlite://{}", dir.path().join("u.db").display())).await;
    }

    #[tokio::test]
    async fn one_click_unsubscribe_on_postgres() {
        let admin = std::env::var("HOLDFAST_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("holdfast_unsub_{}_{}", std::process::id(), chrono::Utc::now().timestamp_subsec_nanos());
        let url = holdfast_store::admin::create_database(&admin, &name).await.unwrap_or_else(|e| {
            panic!("PostgreSQL is unreachable or refused a test database ({e}); set HOLDFAST_TEST_PG to a server where tests may create databases")
        });
        unsubscribe_flow(&url).await;
        holdfast_store::admin::drop_database(&admin, &name).await.unwrap();
    }
}
