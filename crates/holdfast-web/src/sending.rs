//! The engine's settings a person reaches: the **Campaigns** page (state, trigger, control
//! group and outbox of each campaign; pause, resume, archive), the **Sending** section of
//! Settings (quiet hours, from-address, private webhooks, webhook endpoints, the suppression
//! list; owner only), a customer's own time zone and sending window (the form on the customer's
//! page; managers and owners), and the API's `/api/v1/sending`, `/api/v1/customers/{id}/sending`,
//! `/api/v1/webhooks` and `/api/v1/suppressions`. The rules are `holdfast_app::sending`'s, the
//! same as `holdfast sending`, `webhook` and `suppress`.

use crate::auth::{Caller, PageCaller, Who};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::i18n::Lang;
use crate::pages::{check_csrf, error_page, page, require_owner, require_write, seg, settings_body};
use crate::state::Shared;
use askama::Template;
use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use holdfast_app::sending;
use holdfast_report::svg::esc as html_escape;
use serde::Deserialize;
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};

/// The sending endpoints' part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        sending_get,
        sending_put,
        customer_sending_get,
        customer_sending_put,
        webhooks_list,
        webhooks_post,
        webhook_disable,
        suppressions_list,
        suppressions_post,
        suppression_delete
    ),
    components(schemas(SendingBody, CustomerSendingBody, WebhookBody, SuppressionBody)),
    tags((name = "sending", description = "The engine's sending settings, customers' own time zones and sending windows, webhook endpoints and the suppression list"))
)]
pub struct SendingDoc;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/campaigns", get(campaigns_page))
        .route("/campaigns/{name}/{action}", post(campaign_action))
        .route("/settings/sending", post(settings_sending))
        .route("/settings/webhooks", post(settings_webhook_add))
        .route("/settings/webhooks/{name}/disable", post(settings_webhook_disable))
        .route("/settings/suppressions", post(settings_suppress))
        .route("/settings/suppressions/remove", post(settings_unsuppress))
        .route("/customers/{id}/sending", post(customer_sending_form))
        .route("/api/v1/sending", get(sending_get).put(sending_put).post(sending_put))
        .route("/api/v1/customers/{id}/sending", get(customer_sending_get).put(customer_sending_put).post(customer_sending_put))
        .route("/api/v1/webhooks", get(webhooks_list).post(webhooks_post))
        .route("/api/v1/webhooks/{name}/disable", post(webhook_disable))
        .route("/api/v1/suppressions", get(suppressions_list).post(suppressions_post))
        .route("/api/v1/suppressions/{email}", axum::routing::delete(suppression_delete))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// An application error as an API error that keeps the field at fault.
fn api(e: holdfast_app::Error) -> ApiError {
    let field = e.field.clone();
    ApiError { field, ..ApiError::from(e) }
}

// --- Campaigns page -----------------------------------------------------------------------------

struct CampaignRow {
    name: String,
    /// The name as a path segment.
    path: String,
    state: &'static str,
    state_key: String,
    trigger: String,
    holdout: String,
    sent: String,
    pending: String,
    capped: String,
    held_out: String,
    suppressed: String,
    failed: String,
    can_pause: bool,
    can_resume: bool,
    can_archive: bool,
}

#[derive(Template)]
#[template(path = "campaigns.html")]
struct CampaignsBody {
    lang: Lang,
    csrf: String,
    write: bool,
    rows: Vec<CampaignRow>,
}

fn state_label(l: Lang, s: &str) -> &'static str {
    match s {
        "active" => l.t("active"),
        "paused" => l.t("paused"),
        "archived" => l.t("archived"),
        _ => "?",
    }
}

async fn campaigns_body(c: &Caller) -> ApiResult<String> {
    let l = c.lang;
    let stored = c.app.store.engine_campaigns(c.app.ws.id).await?;
    let write = c.who.can_write();
    let rows = stored
        .into_iter()
        .map(|s| {
            let n = |states: &[&str]| l.int(s.outbox.iter().filter(|(k, _)| states.contains(&k.as_str())).map(|(_, n)| *n as i64).sum());
            let trigger = match holdfast_engine::parse_campaign(&s.name, &s.definition) {
                Ok(cmp) => serde_json::to_value(&cmp.trigger).ok().and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned)).unwrap_or_default(),
                Err(e) => format!("({}: {e})", l.t("unreadable")),
            };
            CampaignRow {
                state: state_label(l, &s.state),
                state_key: s.state.clone(),
                trigger,
                holdout: l.pct(Some(s.holdout as f64 / 10_000.0)),
                sent: n(&["sent"]),
                pending: n(&["pending", "sending"]),
                capped: n(&["capped"]),
                held_out: n(&["held_out"]),
                suppressed: n(&["suppressed", "cancelled"]),
                failed: n(&["failed", "dead"]),
                can_pause: write && s.state == "active",
                can_resume: write && s.state == "paused",
                can_archive: write && s.state != "archived",
                path: crate::pages::seg(&s.name),
                name: s.name,
            }
        })
        .collect();
    let body = CampaignsBody { lang: l, csrf: c.who.session().map(|s| s.csrf.clone()).unwrap_or_default(), write, rows };
    body.render().map_err(|e| holdfast_app::Error::internal(e.to_string()).into())
}

async fn campaigns_page(PageCaller(c): PageCaller) -> Response {
    match campaigns_body(&c).await {
        Ok(b) => page(&c, "/campaigns", c.lang.t("Campaigns"), &b, ""),
        Err(e) => error_page(&c, "/campaigns", e),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn campaign_action(PageCaller(c): PageCaller, Path((name, action)): Path<(String, String)>, Form(f): Form<CsrfForm>) -> Response {
    if let Err(r) = check_csrf(&c, &f.csrf).and_then(|_| require_write(&c)) {
        return r;
    }
    let state = match action.as_str() {
        "pause" => "paused",
        "resume" => "active",
        "archive" => "archived",
        _ => return error_page(&c, "/campaigns", ApiError::not_found(format!("{action:?} is not a campaign action (pause, resume, archive)"))),
    };
    let result = async {
        c.app.store.set_engine_campaign_state(c.app.ws.id, &name, state, now()).await?;
        c.app.store.audit(c.app.ws.id, now(), &c.who.actor(), &format!("campaign.{action}"), Some(&name), None).await
    }
    .await;
    match result {
        Ok(()) => Redirect::to("/campaigns").into_response(),
        Err(e) => error_page(&c, "/campaigns", e.into()),
    }
}

// --- The Sending section of Settings ------------------------------------------------------------

#[derive(Template)]
#[template(path = "sending.html")]
struct SendingSection {
    lang: Lang,
    csrf: String,
    quiet_hours: String,
    from: String,
    allow_private: bool,
    /// Name, URL, disabled on (empty: enabled), the name as a path segment.
    webhooks: Vec<(String, String, String, String)>,
    /// Address, reason, since.
    suppressions: Vec<(String, String, String)>,
}

/// The Sending section of the Settings page: empty for anyone but an owner.
pub(crate) async fn settings_section(c: &Caller) -> ApiResult<String> {
    if !c.who.is_owner() {
        return Ok(String::new());
    }
    let app = &c.app;
    let l = c.lang;
    let cal = app.calendar()?;
    let settings = sending::sending_settings(app).await?;
    let webhooks = sending::webhooks(app)
        .await?
        .into_iter()
        .map(|w| {
            let seg = crate::pages::seg(&w.name);
            (w.name, w.url, w.disabled_at.map(|d| l.date(cal.date(d))).unwrap_or_default(), seg)
        })
        .collect();
    let suppressions =
        sending::suppressions(app).await?.into_iter().map(|s| (s.email, reason_label(l, &s.reason).to_owned(), l.date(cal.date(s.created_at)))).collect();
    let body = SendingSection {
        lang: l,
        csrf: c.who.session().map(|s| s.csrf.clone()).unwrap_or_default(),
        quiet_hours: settings.quiet_hours,
        from: settings.from.unwrap_or_default(),
        allow_private: settings.allow_private_webhooks,
        webhooks,
        suppressions,
    };
    body.render().map_err(|e| holdfast_app::Error::internal(e.to_string()).into())
}

fn reason_label(l: Lang, r: &str) -> &'static str {
    match r {
        "manual" => l.t("by hand"),
        "hard_bounce" => l.t("hard bounce"),
        "complaint" => l.t("complaint"),
        _ => "?",
    }
}

fn back_to_settings() -> Response {
    Redirect::to("/settings#sending").into_response()
}

#[derive(Deserialize)]
struct SendingForm {
    csrf: String,
    quiet_hours: String,
    #[serde(default)]
    from: String,
    allow_private_webhooks: Option<String>,
}

async fn settings_sending(PageCaller(c): PageCaller, Form(f): Form<SendingForm>) -> Response {
    if let Err(r) = check_csrf(&c, &f.csrf).and_then(|_| require_owner(&c)) {
        return r;
    }
    let change =
        sending::SendingChange { quiet_hours: Some(f.quiet_hours), from: Some(f.from), allow_private_webhooks: Some(f.allow_private_webhooks.is_some()) };
    match sending::change_sending(&c.app, &change, &c.who.actor(), now()).await {
        Ok(_) => back_to_settings(),
        Err(e) => error_page(&c, "/settings", api(e)),
    }
}

#[derive(Deserialize)]
struct WebhookForm {
    csrf: String,
    name: String,
    url: String,
    #[serde(default)]
    secret: String,
}

async fn settings_webhook_add(PageCaller(c): PageCaller, Form(f): Form<WebhookForm>) -> Response {
    if let Err(r) = check_csrf(&c, &f.csrf).and_then(|_| require_owner(&c)) {
        return r;
    }
    let added = match sending::add_webhook(&c.app, &f.name, &f.url, Some(&f.secret), &c.who.actor(), now()).await {
        Ok(a) => a,
        Err(e) => return error_page(&c, "/settings", api(e)),
    };
    // The secret is shown on this answer only; the page after it never holds it.
    let shown = if added.generated {
        format!(
            "<div class=\"flash\"><p>{} <b>{}</b></p><code class=\"token\">{}</code></div>",
            html_escape(c.lang.t("Webhook signing secret, shown once — give it to the receiver:")),
            html_escape(&added.endpoint.name),
            html_escape(&added.secret)
        )
    } else {
        String::new()
    };
    match settings_body(&c, String::new()).await {
        Ok(b) => {
            let mut r = page(&c, "/settings", c.lang.t("Settings"), &format!("{shown}{b}"), "");
            r.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => error_page(&c, "/settings", e),
    }
}

async fn settings_webhook_disable(PageCaller(c): PageCaller, Path(name): Path<String>, Form(f): Form<CsrfForm>) -> Response {
    if let Err(r) = check_csrf(&c, &f.csrf).and_then(|_| require_owner(&c)) {
        return r;
    }
    match sending::disable_webhook(&c.app, &name, &c.who.actor(), now()).await {
        Ok(_) => back_to_settings(),
        Err(e) => error_page(&c, "/settings", api(e)),
    }
}

#[derive(Deserialize)]
struct SuppressForm {
    csrf: String,
    email: String,
    #[serde(default)]
    reason: String,
}

async fn settings_suppress(PageCaller(c): PageCaller, Form(f): Form<SuppressForm>) -> Response {
    if let Err(r) = check_csrf(&c, &f.csrf).and_then(|_| require_owner(&c)) {
        return r;
    }
    match sending::suppress(&c.app, &f.email, Some(&f.reason), &c.who.actor(), now()).await {
        Ok(_) => back_to_settings(),
        Err(e) => error_page(&c, "/settings", api(e)),
    }
}

async fn settings_unsuppress(PageCaller(c): PageCaller, Form(f): Form<SuppressForm>) -> Response {
    if let Err(r) = check_csrf(&c, &f.csrf).and_then(|_| require_owner(&c)) {
        return r;
    }
    match sending::unsuppress(&c.app, &f.email, &c.who.actor(), now()).await {
        Ok(()) => back_to_settings(),
        Err(e) => error_page(&c, "/settings", api(e)),
    }
}

// --- A customer's own time zone and sending window ----------------------------------------------

#[derive(Deserialize)]
struct CustomerSendingForm {
    csrf: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    send_window: String,
}

/// The form on the customer's page: both fields as typed (empty: the workspace's zone, any time);
/// only what differs from the customer's preferences now is saved.
async fn customer_sending_form(PageCaller(c): PageCaller, Path(id): Path<String>, Form(f): Form<CustomerSendingForm>) -> Response {
    if let Err(r) = check_csrf(&c, &f.csrf).and_then(|_| require_write(&c)) {
        return r;
    }
    let l = c.lang;
    let result = async {
        let now_set = sending::customer_sending(&c.app, &id).await?;
        let zone = changed(&f.time_zone, now_set.time_zone.as_deref());
        let window = changed(&f.send_window, now_set.send_window.as_deref());
        sending::change_customer_sending(&c.app, &id, zone, window, &c.who.actor(), now()).await
    }
    .await;
    match result {
        Ok(_) => Redirect::to(&format!("/customers/{}", seg(&id))).into_response(),
        Err(e) => {
            // The field at fault by the label the person saw next to it.
            let label = match e.field.as_deref() {
                Some("time_zone") => Some(l.t("Time zone")),
                Some("send_window") => Some(l.t("Sending window")),
                _ => None,
            };
            let mut e = api(e);
            if let Some(label) = label {
                e.message = format!("{label}: {}", e.message);
            }
            error_page(&c, "/customers", e)
        }
    }
}

/// What was typed, when it differs from the value now in force (`none` and empty are the same).
fn changed<'a>(typed: &'a str, current: Option<&str>) -> Option<&'a str> {
    let t = typed.trim();
    let t = if t.eq_ignore_ascii_case("none") { "" } else { t };
    (t != current.unwrap_or("")).then_some(typed)
}

// --- API ----------------------------------------------------------------------------------------

/// For a JSON field where `null` means "clear" and leaving the field out means "keep":
/// `Some(None)` for `null`, `None` (the default) when absent.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// `null` as the text the application reads as "none".
fn or_none(v: &Option<Option<String>>) -> Option<&str> {
    v.as_ref().map(|x| x.as_deref().unwrap_or("none"))
}

/// Who may use these endpoints: a token (a `write` one to change anything), or an owner signed
/// in — the same people who see the Sending section of Settings.
fn allowed(c: &Caller, write: bool) -> ApiResult<()> {
    match &c.who {
        Who::Token(_) if write => c.require_write(),
        Who::Token(_) => Ok(()),
        Who::Person(_) if c.who.is_owner() => Ok(()),
        Who::Person(_) => Err(ApiError::forbidden("only an owner may see or change the sending settings, webhook endpoints and the suppression list")),
    }
}

/// A change of the workspace's sending settings: a field left out is kept.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendingBody {
    /// `21:00-09:00` (each customer's local time; may wrap midnight); `none` or `null`: no quiet
    /// hours.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "21:00-09:00")]
    quiet_hours: Option<Option<String>>,
    /// `news@shop.example` or `Shop <news@shop.example>`; `none` or `null`: the server's
    /// `HOLDFAST_SMTP_FROM`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    from: Option<Option<String>>,
    /// Whether webhooks may go to loopback and private-network addresses.
    allow_private_webhooks: Option<bool>,
}

/// A change of a customer's own sending preferences: a field left out is kept.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerSendingBody {
    /// An IANA time zone such as `Europe/Moscow`; `none` or `null`: the workspace's zone.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "Europe/Moscow")]
    time_zone: Option<Option<String>>,
    /// Preferred sending hours `HH:MM-HH:MM`, local time in the customer's zone (may wrap
    /// midnight); messages wait until it opens. `none` or `null`: any time outside quiet hours.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "09:00-12:00")]
    send_window: Option<Option<String>>,
}

/// The workspace's sending settings: quiet hours, the from-address (`null`: the server's
/// `HOLDFAST_SMTP_FROM`) and whether webhooks may go to private addresses. Owners and tokens.
#[utoipa::path(get, path = "/api/v1/sending", tag = "sending",
    responses((status = 200, description = "`{\"quiet_hours\": \"21:00-09:00\", \"from\": null, \"allow_private_webhooks\": false}`", body = Object),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn sending_get(caller: Caller) -> ApiResult<Json<Value>> {
    allowed(&caller, false)?;
    let s = sending::sending_settings(&caller.app).await.map_err(api)?;
    Ok(Json(serde_json::to_value(&s).unwrap_or(Value::Null)))
}

/// Changes the workspace's sending settings (the fields given; every one checked before any is
/// saved). Owners and `write` tokens. Answers the settings now in force.
#[utoipa::path(method(put, post), path = "/api/v1/sending", tag = "sending", request_body = SendingBody,
    responses((status = 200, description = "The settings now in force, as GET answers them", body = Object),
        (status = 400, description = "A bad value; `field` names it", body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn sending_put(caller: Caller, crate::api::J(body): crate::api::J<SendingBody>) -> ApiResult<Json<Value>> {
    allowed(&caller, true)?;
    let change = sending::SendingChange {
        quiet_hours: or_none(&body.quiet_hours).map(str::to_owned),
        from: or_none(&body.from).map(str::to_owned),
        allow_private_webhooks: body.allow_private_webhooks,
    };
    let s = sending::change_sending(&caller.app, &change, &caller.who.actor(), now()).await.map_err(api)?;
    Ok(Json(serde_json::to_value(&s).unwrap_or(Value::Null)))
}

fn customer_sending_json(caller: &Caller, id: &str, s: sending::CustomerSending) -> Json<Value> {
    Json(serde_json::json!({
        "customer": id,
        "time_zone": s.time_zone,
        "send_window": s.send_window,
        "workspace_time_zone": caller.app.ws.time_zone,
    }))
}

/// A customer's own time zone and preferred sending window (`null`: the workspace's zone; any
/// time outside quiet hours).
#[utoipa::path(get, path = "/api/v1/customers/{id}/sending", tag = "sending", params(("id" = String, Path, description = "The customer's id")),
    responses((status = 200, description = "`{\"customer\", \"time_zone\", \"send_window\", \"workspace_time_zone\"}`", body = Object),
        (status = 404, description = "No such customer", body = ErrorBody)))]
async fn customer_sending_get(caller: Caller, crate::api::P(id): crate::api::P<String>) -> ApiResult<Json<Value>> {
    let s = sending::customer_sending(&caller.app, &id).await.map_err(api)?;
    Ok(customer_sending_json(&caller, &id, s))
}

/// Changes a customer's own time zone and sending window (the fields given; both checked before
/// either is saved). Managers, owners and `write` tokens.
#[utoipa::path(method(put, post), path = "/api/v1/customers/{id}/sending", tag = "sending", request_body = CustomerSendingBody,
    params(("id" = String, Path, description = "The customer's id")),
    responses((status = 200, description = "`{\"customer\", \"time_zone\", \"send_window\", \"workspace_time_zone\"}` now in force", body = Object),
        (status = 400, description = "A bad value; `field` is `time_zone` or `send_window`", body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, description = "No such customer", body = ErrorBody)))]
async fn customer_sending_put(
    caller: Caller,
    crate::api::P(id): crate::api::P<String>,
    crate::api::J(body): crate::api::J<CustomerSendingBody>,
) -> ApiResult<Json<Value>> {
    caller.require_write()?;
    let s = sending::change_customer_sending(&caller.app, &id, or_none(&body.time_zone), or_none(&body.send_window), &caller.who.actor(), now())
        .await
        .map_err(api)?;
    Ok(customer_sending_json(&caller, &id, s))
}

/// A webhook endpoint to add (or whose URL and secret to replace).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    /// The name campaign files refer to (`endpoint = "NAME"`): letters, digits, `-`, `_`, `.`.
    name: String,
    /// `https://` or `http://`; an address that is not public is refused unless the workspace
    /// allows private webhooks.
    url: String,
    /// `whsec_` and base64 of 24 to 64 bytes; left out, one is made and returned once.
    secret: Option<String>,
}

/// An address to suppress.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuppressionBody {
    email: String,
    /// `manual` (default), `hard_bounce` or `complaint`.
    reason: Option<String>,
}

/// The workspace's webhook endpoints (never their secrets).
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "sending",
    responses((status = 200, description = "`{\"webhooks\": [{\"name\", \"url\", \"disabled_at\"}]}`", body = Object)))]
async fn webhooks_list(caller: Caller) -> ApiResult<Json<Value>> {
    allowed(&caller, false)?;
    let all = sending::webhooks(&caller.app).await.map_err(api)?;
    Ok(Json(serde_json::json!({ "webhooks": all })))
}

/// Adds a webhook endpoint, or replaces the URL and secret of the one of the same name (enabled
/// again). The answer holds the signing secret: the only time it is shown.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "sending", request_body = WebhookBody,
    responses((status = 201, description = "`{\"endpoint\", \"secret\", \"generated\"}`", body = Object), (status = 400, body = ErrorBody)))]
async fn webhooks_post(
    caller: Caller,
    crate::api::J(body): crate::api::J<WebhookBody>,
) -> ApiResult<(StatusCode, [(header::HeaderName, &'static str); 1], Json<Value>)> {
    allowed(&caller, true)?;
    let a = sending::add_webhook(&caller.app, &body.name, &body.url, body.secret.as_deref(), &caller.who.actor(), now()).await.map_err(api)?;
    Ok((StatusCode::CREATED, [(header::CACHE_CONTROL, "no-store")], Json(serde_json::to_value(&a).unwrap_or(Value::Null))))
}

/// Disables a webhook endpoint: webhook steps naming it fail until it is added again.
#[utoipa::path(post, path = "/api/v1/webhooks/{name}/disable", tag = "sending", params(("name" = String, Path)),
    responses((status = 200, body = Object)))]
async fn webhook_disable(caller: Caller, crate::api::P(name): crate::api::P<String>) -> ApiResult<Json<Value>> {
    allowed(&caller, true)?;
    let w = sending::disable_webhook(&caller.app, &name, &caller.who.actor(), now()).await.map_err(api)?;
    Ok(Json(serde_json::to_value(&w).unwrap_or(Value::Null)))
}

/// The suppression list: addresses never e-mailed.
#[utoipa::path(get, path = "/api/v1/suppressions", tag = "sending",
    responses((status = 200, description = "`{\"suppressions\": [{\"email\", \"reason\", \"created_at\"}]}`", body = Object)))]
async fn suppressions_list(caller: Caller) -> ApiResult<Json<Value>> {
    allowed(&caller, false)?;
    let all = sending::suppressions(&caller.app).await.map_err(api)?;
    Ok(Json(serde_json::json!({ "suppressions": all })))
}

/// Suppresses an address: 201 when added, 200 when it was already on the list (its reason kept).
#[utoipa::path(post, path = "/api/v1/suppressions", tag = "sending", request_body = SuppressionBody,
    responses((status = 201, description = "`{\"suppression\", \"added\": true}`", body = Object), (status = 200, description = "Already suppressed", body = Object)))]
async fn suppressions_post(caller: Caller, crate::api::J(body): crate::api::J<SuppressionBody>) -> ApiResult<(StatusCode, Json<Value>)> {
    allowed(&caller, true)?;
    let r = sending::suppress(&caller.app, &body.email, body.reason.as_deref(), &caller.who.actor(), now()).await.map_err(api)?;
    let status = if r.added { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(serde_json::to_value(&r).unwrap_or(Value::Null))))
}

/// Takes an address off the suppression list.
#[utoipa::path(delete, path = "/api/v1/suppressions/{email}", tag = "sending", params(("email" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, description = "Not on the list", body = ErrorBody)))]
async fn suppression_delete(caller: Caller, crate::api::P(email): crate::api::P<String>) -> ApiResult<StatusCode> {
    allowed(&caller, true)?;
    sending::unsuppress(&caller.app, &email, &caller.who.actor(), now()).await.map_err(api)?;
    Ok(StatusCode::NO_CONTENT)
}
