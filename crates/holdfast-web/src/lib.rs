//! # holdfast-web
//!
//! `holdfast serve`: the dashboard a team works in every day, the JSON API other tools call, and
//! the accounts both stand on — one axum server over the application layer (`holdfast-app`), so
//! the server computes nothing the CLI does not compute the same way.
//!
//! ## Brief overview
//! - [`serve`] / [`router`]: the routes — pages (`pages`), `/api/v1` (`api`, OpenAPI 3.1 at
//!   `/api/v1/openapi.json`, Swagger UI served from the binary at `/api/v1/docs`), `/healthz`,
//!   `/readyz`, `/metrics`, `/assets/*` (CSS and a few lines of script, vendored).
//! - Who is asking (`auth`): a session cookie (HttpOnly, SameSite=Lax) for people, `Authorization:
//!   Bearer hf_…` for tools; roles owner / manager / viewer, token scopes read / write; writes
//!   made with a session must come from our origin and carry the session's form token; sign-in
//!   slows down after five wrong passwords in a row.
//! - Errors (`error`): every API error is `{"error": {"code", "message", "field"}}` with
//!   400/401/403/404/409/413/422/503 — a 500 only for our own bugs, its details in the log.
//! - The engine's settings (`sending`): the Campaigns page, the Sending section of Settings
//!   (quiet hours, from-address, private webhooks, webhook endpoints, suppressions; owner only)
//!   and `/api/v1/webhooks`, `/api/v1/suppressions`.
//! - Figures the pages show come from the same functions as `holdfast movement`, `cohorts`,
//!   `segments` and `customer`; the workspace's orders are read once per import and kept in memory
//!   (`state`).

mod api;
mod auth;
mod campaigns;
mod error;
mod i18n;
mod metrics;
mod pages;
mod sending;
mod state;
mod unsubscribe;

pub use api::ApiDoc;
pub use campaigns::CampaignsDoc;
pub use sending::SendingDoc;
pub use state::Shared;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use holdfast_app::App;
use std::time::Instant;

/// The largest request body accepted (an import upload), in bytes.
pub const MAX_BODY: usize = 64 * 1024 * 1024;

/// All routes over one store.
pub fn router(shared: Shared) -> Router {
    Router::new()
        .merge(pages::routes())
        .merge(api::routes())
        .merge(campaigns::routes())
        .merge(sending::routes())
        .route("/u/{token}", get(unsubscribe::page).post(unsubscribe::post))
        .route("/healthz", get(healthz))
        .route("/readyz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(shared.clone(), observe))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_BODY))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared)
}

/// 200 when the store answers a query, else 503.
async fn healthz(State(s): State<Shared>) -> Response {
    match s.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            eprintln!("holdfast serve: the store does not answer: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, "the store does not answer\n").into_response()
        }
    }
}

async fn metrics(State(s): State<Shared>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s.metrics.render(s.store.pool_stats())).into_response()
}

/// Counts every request by route and status, and times it; adds the headers every answer carries.
async fn observe(State(s): State<Shared>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req.extensions().get::<MatchedPath>().map_or("(unmatched)", |m| m.as_str()).to_owned();
    let mut resp = next.run(req).await;
    s.metrics.observe(&method, &route, resp.status().as_u16(), started.elapsed());
    let h = resp.headers_mut();
    h.insert("x-content-type-options", header::HeaderValue::from_static("nosniff"));
    h.insert("referrer-policy", header::HeaderValue::from_static("same-origin"));
    h.insert("x-frame-options", header::HeaderValue::from_static("DENY"));
    if !route.starts_with("/api/v1/docs") {
        h.insert(
            "content-security-policy",
            header::HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"),
        );
    }
    resp
}

/// Serves `app`'s store on `addr` until `shutdown` completes, then finishes the requests in
/// flight and closes the store. Prints the URL (and, on a store nobody can sign in to yet, a
/// one-time set-up link).
pub async fn serve(app: App, addr: &str, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> holdfast_app::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| holdfast_app::Error::user(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr().map_err(|e| holdfast_app::Error::internal(e.to_string()))?;
    let url = format!("http://{local}");
    println!("Holdfast is serving {} at {url}", app.url());
    if let Some(secret) = holdfast_app::accounts::setup_link(&app, chrono::Utc::now().timestamp()).await? {
        println!("Nobody can sign in yet. Open this one-time link to create the owner's account (valid 24 hours):\n  {url}/setup/{secret}");
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let shared = Shared::new(app.store.clone());
    axum::serve(listener, router(shared))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| holdfast_app::Error::internal(format!("the server stopped: {e}")))?;
    app.close().await?;
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    eprintln!("holdfast serve: stopping; finishing the requests in flight");
}
