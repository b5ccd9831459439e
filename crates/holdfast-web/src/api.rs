//! The JSON API under `/api/v1`: what the dashboard shows, readable by other tools, and the
//! writes integrations need. The OpenAPI document is generated from these handlers' types.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::Shared;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use holdfast_app::records::{self, CustomerInput, EventInput, FeedbackInput, NoteInput, OrderInput};
use holdfast_core::actions::Plan;
use holdfast_core::flags::FlagKind;
use holdfast_core::segments::{Segment, Tier};
use holdfast_core::{movement, Granularity, MovementOptions};
use holdfast_store::{Entity, TaskCursor, TaskFilter, TaskState};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(title = "Holdfast API", description = "Customers, orders, events, the action queue and the retention figures of one workspace. Authenticate with `Authorization: Bearer hf_…` (a token from Settings or `holdfast token create`); `read` tokens may only read."),
    paths(movement_get, report_get, customers_list, customers_post, customer_get, note_add, tasks_list, task_done, task_reopen, task_dismiss, task_assign, task_snooze, orders_post, events_post, feedback_post),
    components(schemas(ErrorBody, crate::error::ErrorDetail, CustomerInput, OrderInput, records::LineInput, records::Amount, EventInput, FeedbackInput, NoteInput, ImportResult, DismissBody, AssignBody, SnoozeBody)),
    modifiers(&BearerAuth, &CommonAnswers),
    security(("bearer" = [])),
    tags((name = "reports", description = "Figures, as the CLI computes them"), (name = "customers"), (name = "tasks", description = "The action queue"), (name = "ingest", description = "Writes from other tools"), (name = "campaigns", description = "Automated messages: triggers, sequences, control groups"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let c = api.components.get_or_insert_with(Default::default);
        c.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("hf_<id>_<secret>").build()));
    }
}

/// The whole API's document: these operations, the campaigns' and the sending settings' (the
/// workspace's and a customer's, webhook endpoints, suppressions), each with the answers every
/// operation can give.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::Modify;
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::campaigns::CampaignsDoc::openapi());
    doc.merge(crate::sending::SendingDoc::openapi());
    CommonAnswers.modify(&mut doc);
    doc
}

/// The answers every operation can give besides its own, declared once: 401 without a valid
/// token; on writes 403 (a read token); with a path id 400 (not a number) and 404; with a body 400
/// (not JSON), 413 (too large), 415 (not `application/json`) and 422 (the wrong shape).
struct CommonAnswers;

impl utoipa::Modify for CommonAnswers {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let answer = |what: &str| {
            ResponseBuilder::new()
                .description(what)
                .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
                .build()
        };
        for (path, item) in api.paths.paths.iter_mut() {
            let has_id = path.contains('{');
            let ops = [(false, item.get.as_mut()), (true, item.post.as_mut()), (true, item.put.as_mut()), (true, item.delete.as_mut())];
            for (write, op) in ops {
                let Some(op) = op else { continue };
                let mut add = |code: &str, what: &str| {
                    op.responses.responses.entry(code.to_owned()).or_insert_with(|| answer(what).into());
                };
                add("401", "No valid token or session.");
                if write {
                    add("403", "The token may only read, or the person may not change this.");
                }
                if has_id {
                    add("400", "A path parameter is malformed.");
                    add("404", "Nothing with this id in the workspace.");
                }
                // A batch holds 1 to 10,000 records.
                for content in op.request_body.iter_mut().flat_map(|b| b.content.values_mut()) {
                    if let Some(utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Array(a))) = content.schema.as_mut() {
                        a.min_items = Some(1);
                        a.max_items = Some(holdfast_app::records::MAX_BATCH);
                    }
                }
                if op.request_body.is_some() {
                    add("400", "The body is not JSON.");
                    add("413", "The body is larger than the server takes.");
                    add("415", "The body is not `application/json`.");
                    add("422", "The body does not have the expected shape; `field` names what is wrong.");
                }
                if op.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
                    add("400", "A parameter is malformed; `field` names it.");
                }
            }
        }
    }
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi_json))
        .merge(utoipa_swagger_ui::SwaggerUi::new("/api/v1/docs").url("/api/v1/docs/openapi.json", openapi()))
        .route("/api/v1/movement", get(movement_get))
        .route("/api/v1/report", get(report_get))
        .route("/api/v1/customers", get(customers_list).post(customers_post))
        .route("/api/v1/customers/{id}", get(customer_get))
        .route("/api/v1/customers/{id}/notes", post(note_add))
        .route("/api/v1/tasks", get(tasks_list))
        .route("/api/v1/tasks/{id}/done", post(task_done))
        .route("/api/v1/tasks/{id}/reopen", post(task_reopen))
        .route("/api/v1/tasks/{id}/dismiss", post(task_dismiss))
        .route("/api/v1/tasks/{id}/assign", post(task_assign))
        .route("/api/v1/tasks/{id}/snooze", post(task_snooze))
        .route("/api/v1/orders", post(orders_post))
        .route("/api/v1/events", post(events_post))
        .route("/api/v1/feedback", post(feedback_post))
}

async fn openapi_json() -> Response {
    Json(openapi()).into_response()
}

// --- Extractors whose rejections answer in the API's error shape -------------------------------

/// Query parameters; a bad one is a 400 naming it.
pub struct Q<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Q<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, s).await {
            Ok(axum::extract::Query(v)) => Ok(Q(v)),
            Err(e) => Err(query_error(e)),
        }
    }
}

fn query_error(e: QueryRejection) -> ApiError {
    let text = e.body_text();
    // serde names the parameter in backticks: "unknown variant `x`" / "missing field `period`".
    let field = text.split('`').nth(1).map(str::to_owned);
    ApiError { field, ..ApiError::new(StatusCode::BAD_REQUEST, "bad_request", text) }
}

/// A path segment; a bad one is a 400 (an id that is not a number) rather than a 404.
pub struct P<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for P<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, s).await {
            Ok(axum::extract::Path(v)) => Ok(P(v)),
            Err(e) => Err(path_error(e)),
        }
    }
}

fn path_error(e: PathRejection) -> ApiError {
    ApiError::bad("id", e.body_text())
}

/// A JSON body: malformed JSON is a 400, well-formed JSON of the wrong shape a 422, a missing
/// `Content-Type: application/json` a 415, a body over the limit a 413.
pub struct J<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for J<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, s: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, s).await {
            Ok(Json(v)) => Ok(J(v)),
            Err(e) => Err(json_error(e)),
        }
    }
}

fn json_error(e: JsonRejection) -> ApiError {
    let text = e.body_text();
    match e {
        JsonRejection::JsonDataError(_) => ApiError::unprocessable(text.split('`').nth(1), text.clone()),
        JsonRejection::JsonSyntaxError(_) => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", text),
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "send Content-Type: application/json")
        }
        _ if e.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", text),
        _ => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", text),
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Runs CPU-bound work off the async threads.
pub async fn blocking<T: Send + 'static>(f: impl FnOnce() -> ApiResult<T> + Send + 'static) -> ApiResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::from(holdfast_app::Error::internal(format!("a computation stopped: {e}"))))?
}

// --- Reports ------------------------------------------------------------------------------------

/// Query of `GET /api/v1/movement` (the options of `holdfast movement`).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MovementQuery {
    /// month (default), quarter or year.
    #[param(pattern = "^(month|quarter|year)$")]
    period: Option<String>,
    /// Inactivity window W in days (default 365).
    #[param(minimum = 1, maximum = 36500)]
    window: Option<u32>,
    /// First period: the one containing this month (YYYY-MM).
    #[param(pattern = "^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])$")]
    from: Option<String>,
    /// Last period: the one containing this month (YYYY-MM).
    #[param(pattern = "^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])$")]
    to: Option<String>,
    /// The as-of date (YYYY-MM-DD); default: the day after the last order.
    #[param(
        pattern = "^(19|20|21)[0-9]{2}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31|02-29)(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?$"
    )]
    as_of: Option<String>,
}

/// Period movement: customers active at the start, new, reactivated, lost and kept per period,
/// with the rates — the same document as `holdfast movement --period … --json` over this store.
#[utoipa::path(get, path = "/api/v1/movement", tag = "reports", params(MovementQuery),
    responses((status = 200, description = "`{\"periods\": [...], \"warnings\": [...]}` as `holdfast movement --json`", body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn movement_get(caller: Caller, axum::extract::State(shared): axum::extract::State<Shared>, Q(q): Q<MovementQuery>) -> ApiResult<Response> {
    let granularity = match q.period.as_deref().unwrap_or("month").parse::<Granularity>() {
        Ok(g) => g,
        Err(e) => return Err(ApiError::bad("period", e)),
    };
    let window = q.window.unwrap_or(365);
    if !(1..=36_500).contains(&window) {
        return Err(ApiError::bad("window", "the inactivity window is 1 to 36,500 days"));
    }
    let (cal, log) = shared.orders(&caller.app).await?;
    let from = q.from.as_deref().map(|s| holdfast_app::parse_month(s, &cal).map_err(|e| ApiError::bad("from", e))).transpose()?;
    let to = q.to.as_deref().map(|s| holdfast_app::parse_month(s, &cal).map_err(|e| ApiError::bad("to", e))).transpose()?;
    if let (Some(f), Some(t)) = (from, to) {
        if t < f {
            return Err(ApiError::bad("to", "to is before from"));
        }
    }
    let name = caller.app.url().to_owned();
    blocking(move || {
        let as_of = holdfast_app::resolve_as_of(q.as_of.as_deref(), &log, &cal, &name).map_err(|e| ApiError { field: Some("as_of".into()), ..e.into() })?;
        let mv = movement(&log, &cal, &MovementOptions { granularity, window_days: window, as_of, from, to });
        Ok(Json(mv).into_response())
    })
    .await
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// month (default), quarter or year.
    #[param(pattern = "^(month|quarter|year)$")]
    period: Option<String>,
    /// Optional parts, comma-separated: retention (always), segments, prediction, all.
    #[param(pattern = "^((retention|segments|prediction|all)(,(retention|segments|prediction|all))*)?$")]
    sections: Option<String>,
    /// The as-of date (YYYY-MM-DD); default: the day after the last order.
    #[param(
        pattern = "^(19|20|21)[0-9]{2}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31|02-29)(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?$"
    )]
    as_of: Option<String>,
}

/// The retention report of the workspace — what `holdfast analyze --json` prints over this store:
/// headline, movement, cohorts, repeat purchases, LTV, RFM and, on request, segments and
/// prediction. The inactivity window is the workspace's.
#[utoipa::path(get, path = "/api/v1/report", tag = "reports", params(ReportQuery),
    responses((status = 200, description = "The report document", body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn report_get(caller: Caller, axum::extract::State(shared): axum::extract::State<Shared>, Q(q): Q<ReportQuery>) -> ApiResult<Response> {
    let granularity = q.period.as_deref().unwrap_or("month").parse::<Granularity>().map_err(|e| ApiError::bad("period", e))?;
    let sections = holdfast_app::Sections::parse(q.sections.as_deref().unwrap_or("retention")).map_err(|e| ApiError::bad("sections", e))?;
    let (cal, log) = shared.orders(&caller.app).await?;
    let name = caller.app.url().to_owned();
    let window = caller.app.ws.window_days;
    // The learned churn risk takes the workspace's activity, as `holdfast score` does.
    let activity = match sections.segments && sections.risk {
        true => Some(caller.app.activity().await?),
        false => None,
    };
    blocking(move || {
        let req = holdfast_app::AnalyzeRequest { as_of: q.as_of, window_days: window, granularity, sections };
        let r = holdfast_app::report_of_log(&log, &cal, &name, &req, activity.as_ref(), &mut holdfast_app::timing::Phases::from_env())
            .map_err(|e| ApiError { field: Some("as_of".into()), ..e.into() })?;
        Ok(Json(r).into_response())
    })
    .await
}

// --- Customers ----------------------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CustomersQuery {
    /// Where the previous page ended (its `next`).
    after: Option<String>,
    /// Rows per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Only the customers the latest scoring put in this segment.
    #[param(value_type = Option<String>, pattern = "^(champions|loyal|potential_loyalists|new|promising|need_attention|about_to_sleep|at_risk|cant_lose_them|hibernating|lost)$")]
    segment: Option<String>,
}

/// The customers, by id, a page at a time, with their score and open tasks; `segment` keeps one
/// segment's customers.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomersQuery),
    responses((status = 200, description = "`{\"items\": [...], \"next\": \"<id>\" | null}`", body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn customers_list(caller: Caller, Q(q): Q<CustomersQuery>) -> ApiResult<Json<Value>> {
    let limit = page_limit(q.limit)?;
    let segment = match q.segment.as_deref() {
        None => None,
        Some(k) => Some(Segment::from_key(k).ok_or_else(|| ApiError::bad("segment", format!("{k}: not a segment (champions, loyal, …, lost)")))?),
    };
    let page = caller.app.store.customers_page_in(caller.app.ws.id, segment, q.after.as_deref(), limit).await?;
    Ok(Json(holdfast_app::json::store_document(&page, caller.app.ws.currency)?))
}

fn page_limit(limit: Option<u32>) -> ApiResult<u32> {
    match limit.unwrap_or(100) {
        l @ 1..=1000 => Ok(l),
        l => Err(ApiError::bad("limit", format!("{l}: a page holds 1 to 1000 rows"))),
    }
}

/// Customers' own fields, up to 10,000 per request: a customer sent again is updated.
#[utoipa::path(post, path = "/api/v1/customers", tag = "ingest", request_body = Vec<CustomerInput>,
    params(("Idempotency-Key" = Option<String>, Header, description = "Any unique string per logical request", pattern = "^[\\x21-\\x7e][\\x20-\\x7e]{0,254}$")),
    responses((status = 200, body = ImportResult), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn customers_post(caller: Caller, headers: HeaderMap, body: axum::body::Bytes) -> ApiResult<Response> {
    ingest(&caller, &headers, &body, Entity::Customers, |c: &[CustomerInput], _| records::customer_records(c)).await
}

/// Everything known about one customer — what `holdfast customer ID --json` prints.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", params(("id" = String, Path, description = "The customer's id")),
    responses((status = 200, description = "The customer view", body = Object), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn customer_get(caller: Caller, P(id): P<String>) -> ApiResult<Response> {
    match caller.app.store.customer_view(caller.app.ws.id, &id).await {
        Ok(v) => Ok(Json(holdfast_app::json::store_document(&v, caller.app.ws.currency)?).into_response()),
        Err(holdfast_store::Error::NotFound { .. }) => Err(ApiError::not_found(format!("no customer {id:?}"))),
        Err(e) => Err(e.into()),
    }
}

/// What a write changed.
#[derive(Serialize, ToSchema)]
pub struct ImportResult {
    /// Records received.
    pub received: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl From<holdfast_app::ImportReport> for ImportResult {
    fn from(r: holdfast_app::ImportReport) -> ImportResult {
        ImportResult { received: r.rows, inserted: r.inserted, updated: r.updated, unchanged: r.unchanged }
    }
}

/// Records a note about a customer, signed by the caller.
#[utoipa::path(post, path = "/api/v1/customers/{id}/notes", tag = "customers", params(("id" = String, Path)), request_body = NoteInput,
    responses((status = 201, body = ImportResult), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn note_add(caller: Caller, P(id): P<String>, J(note): J<NoteInput>) -> ApiResult<(StatusCode, Json<ImportResult>)> {
    caller.require_write()?;
    let app = &caller.app;
    if app.store.customers_where(app.ws.id, Some(&id)).await?.is_empty() {
        return Err(ApiError::not_found(format!("no customer {id:?}")));
    }
    let rec = records::note_record(&id, &note, &caller.who.actor(), now()).map_err(field_error)?;
    app.store.add_record(app.ws.id, rec).await?;
    app.store.audit(app.ws.id, now(), &caller.who.actor(), "note.add", Some(&id), None).await?;
    Ok((StatusCode::CREATED, Json(ImportResult { received: 1, inserted: 1, updated: 0, unchanged: 0 })))
}

/// An application error about a field of the body: 422 naming it.
fn field_error(e: holdfast_app::Error) -> ApiError {
    match (&e.field, e.kind) {
        (Some(f), holdfast_app::ErrorKind::User) => ApiError::unprocessable(Some(f), e.message.clone()),
        (None, holdfast_app::ErrorKind::User) => ApiError::unprocessable(None, e.message.clone()),
        _ => e.into(),
    }
}

// --- Tasks --------------------------------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TaskQuery {
    /// open, done or dismissed; default: every state, open first.
    #[param(pattern = "^(open|done|dismissed)$")]
    state: Option<String>,
    /// Only tasks of customers with this owner.
    owner: Option<String>,
    /// Only this flag kind (e.g. `silence_beyond_rhythm`).
    #[param(
        pattern = "^(silence_beyond_rhythm|frequency_drop|shrinking_orders|fewer_categories|fewer_logins|ignored_messages|negative_ticket|detractor|cancelled_addon|missed_initiative)$"
    )]
    kind: Option<String>,
    /// Only tasks of customers in this value tier (A: the top half of revenue, B: the next 30%,
    /// C: the rest) when the queue last synced them.
    #[param(pattern = "^[ABCabc]$")]
    tier: Option<String>,
    /// Only tasks in this place of the week's plan when last synced: this_week, waiting or snoozed.
    #[param(pattern = "^(this_week|waiting|snoozed)$")]
    plan: Option<String>,
    /// Only this customer's tasks.
    customer: Option<String>,
    /// Where the previous page ended (its `next`).
    #[param(pattern = "^[01]\\.-?[0-9]{1,18}\\.-?[0-9]{1,18}\\.-?[0-9]{1,18}$")]
    after: Option<String>,
    /// 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// The action queue in its order: open first, highest stake, earliest due.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(TaskQuery),
    responses((status = 200, description = "`{\"items\": [...], \"next\": \"<cursor>\" | null}`", body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn tasks_list(caller: Caller, Q(q): Q<TaskQuery>) -> ApiResult<Json<Value>> {
    let filter = TaskFilter {
        state: q
            .state
            .as_deref()
            .map(|s| TaskState::parse(s).ok_or_else(|| ApiError::bad("state", format!("{s:?}: expected open, done or dismissed"))))
            .transpose()?,
        owner: q.owner,
        kind: q.kind.as_deref().map(|k| FlagKind::parse(k).ok_or_else(|| ApiError::bad("kind", format!("{k:?} is not a flag kind")))).transpose()?,
        tier: q.tier.as_deref().map(|t| Tier::parse(t).ok_or_else(|| ApiError::bad("tier", format!("{t:?}: expected A, B or C")))).transpose()?,
        plan: q
            .plan
            .as_deref()
            .map(|p| Plan::parse(p).filter(|p| p.is_personal()).ok_or_else(|| ApiError::bad("plan", format!("{p:?}: expected this_week, waiting or snoozed"))))
            .transpose()?,
        customer: q.customer,
    };
    let after = q
        .after
        .as_deref()
        .map(|a| a.parse::<TaskCursor>().map_err(|_| ApiError::bad("after", format!("{a:?} is not a cursor from a previous page"))))
        .transpose()?;
    let page = caller.app.store.tasks_page(caller.app.ws.id, &filter, after.as_ref(), page_limit(q.limit)?).await?;
    let items = holdfast_app::json::store_document(&page.items, caller.app.ws.currency)?;
    Ok(Json(serde_json::json!({ "items": items, "next": page.next.map(|c| c.to_string()) })))
}

pub(crate) async fn set_state(caller: &Caller, id: i64, state: TaskState, reason: Option<&str>) -> ApiResult<Json<Value>> {
    caller.require_write()?;
    let app = &caller.app;
    match app.store.set_task_state(app.ws.id, id, state, reason, now()).await {
        Ok(()) => {}
        Err(holdfast_store::Error::NotFound { .. }) => return Err(ApiError::not_found(format!("no task {id}"))),
        Err(holdfast_store::Error::Invalid(m)) => return Err(ApiError::new(StatusCode::CONFLICT, "conflict", m)),
        Err(e) => return Err(e.into()),
    }
    app.store.audit(app.ws.id, now(), &caller.who.actor(), &format!("task.{}", state.as_str()), Some(&id.to_string()), reason).await?;
    task_json(caller, id).await
}

async fn task_json(caller: &Caller, id: i64) -> ApiResult<Json<Value>> {
    match caller.app.store.task(caller.app.ws.id, id).await {
        Ok(t) => Ok(Json(holdfast_app::json::store_document(&t, caller.app.ws.currency)?)),
        Err(holdfast_store::Error::NotFound { .. }) => Err(ApiError::not_found(format!("no task {id}"))),
        Err(e) => Err(e.into()),
    }
}

/// Marks a task done.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/done", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 200, description = "The task", body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn task_done(caller: Caller, P(id): P<i64>) -> ApiResult<Json<Value>> {
    set_state(&caller, id, TaskState::Done, None).await
}

/// Opens a closed task again (409 when the customer already has an open task of its kind).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/reopen", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 200, description = "The task", body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn task_reopen(caller: Caller, P(id): P<i64>) -> ApiResult<Json<Value>> {
    set_state(&caller, id, TaskState::Open, None).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DismissBody {
    /// Why the task is dismissed (kept with it).
    #[schema(min_length = 1, pattern = "^[^\\x00]*\\S[^\\x00]*$")]
    reason: String,
}

/// Dismisses a task with a reason.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/dismiss", tag = "tasks", params(("id" = i64, Path)), request_body = DismissBody,
    responses((status = 200, description = "The task", body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn task_dismiss(caller: Caller, P(id): P<i64>, J(b): J<DismissBody>) -> ApiResult<Json<Value>> {
    let reason = b.reason.trim();
    if reason.is_empty() || reason.contains('\0') {
        return Err(ApiError::unprocessable(Some("reason"), "say why the task is dismissed"));
    }
    set_state(&caller, id, TaskState::Dismissed, Some(reason)).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// The person (e-mail) to give the task to; null: back to the customer's owner.
    #[schema(max_length = 200)]
    assignee: Option<String>,
}

/// Gives a task to a person.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/assign", tag = "tasks", params(("id" = i64, Path)), request_body = AssignBody,
    responses((status = 200, description = "The task", body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn task_assign(caller: Caller, P(id): P<i64>, J(b): J<AssignBody>) -> ApiResult<Json<Value>> {
    caller.require_write()?;
    if b.assignee.as_deref().is_some_and(|a| a.len() > 200 || a.contains('\0')) {
        return Err(ApiError::unprocessable(Some("assignee"), "an e-mail address of at most 200 characters"));
    }
    assign(&caller, id, b.assignee.as_deref()).await
}

pub async fn assign(caller: &Caller, id: i64, assignee: Option<&str>) -> ApiResult<Json<Value>> {
    let app = &caller.app;
    match app.store.assign_task(app.ws.id, id, assignee).await {
        Err(holdfast_store::Error::NotFound { .. }) => return Err(ApiError::not_found(format!("no task {id}"))),
        r => r?,
    }
    app.store.audit(app.ws.id, now(), &caller.who.actor(), "task.assign", Some(&id.to_string()), assignee).await?;
    task_json(caller, id).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeBody {
    /// Until when (RFC 3339 or YYYY-MM-DD in the workspace's zone); null: back in the queue now.
    #[schema(
        pattern = "^(19|20|21)[0-9]{2}-((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31|02-29)(T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))?$"
    )]
    until: Option<String>,
}

/// Puts a task off until a time.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/snooze", tag = "tasks", params(("id" = i64, Path)), request_body = SnoozeBody,
    responses((status = 200, description = "The task", body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn task_snooze(caller: Caller, P(id): P<i64>, J(b): J<SnoozeBody>) -> ApiResult<Json<Value>> {
    caller.require_write()?;
    let cal = caller.app.calendar()?;
    let until = b.until.as_deref().map(|u| holdfast_app::parse_instant(u, &cal).map_err(|e| ApiError::unprocessable(Some("until"), e))).transpose()?;
    snooze(&caller, id, until).await
}

pub async fn snooze(caller: &Caller, id: i64, until: Option<i64>) -> ApiResult<Json<Value>> {
    let app = &caller.app;
    match app.store.snooze_task(app.ws.id, id, until).await {
        Err(holdfast_store::Error::NotFound { .. }) => return Err(ApiError::not_found(format!("no task {id}"))),
        r => r?,
    }
    app.store.audit(app.ws.id, now(), &caller.who.actor(), "task.snooze", Some(&id.to_string()), until.map(|u| u.to_string()).as_deref()).await?;
    task_json(caller, id).await
}

// --- Ingest -------------------------------------------------------------------------------------

/// Orders with their lines, up to 10,000 per request, idempotent by order id: the same batch
/// twice changes nothing. With an `Idempotency-Key` header, a retry of the same request gets the
/// first answer back; the same key with another body is refused (422).
#[utoipa::path(post, path = "/api/v1/orders", tag = "ingest", request_body = Vec<OrderInput>,
    params(("Idempotency-Key" = Option<String>, Header, description = "Any unique string per logical request", pattern = "^[\\x21-\\x7e][\\x20-\\x7e]{0,254}$")),
    responses((status = 200, body = ImportResult), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn orders_post(caller: Caller, headers: HeaderMap, body: axum::body::Bytes) -> ApiResult<Response> {
    ingest(&caller, &headers, &body, Entity::Orders, |o: &[OrderInput], app| records::order_records(o, &app.calendar()?, app.ws.currency)).await
}

/// Events (logins, feature use, support tickets, ignored e-mails), up to 10,000 per request.
#[utoipa::path(post, path = "/api/v1/events", tag = "ingest", request_body = Vec<EventInput>,
    params(("Idempotency-Key" = Option<String>, Header, description = "Any unique string per logical request", pattern = "^[\\x21-\\x7e][\\x20-\\x7e]{0,254}$")),
    responses((status = 200, body = ImportResult), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn events_post(caller: Caller, headers: HeaderMap, body: axum::body::Bytes) -> ApiResult<Response> {
    ingest(&caller, &headers, &body, Entity::Events, |e: &[EventInput], app| records::event_records(e, &app.calendar()?)).await
}

/// Survey answers (NPS 0–10 with a comment), up to 10,000 per request.
#[utoipa::path(post, path = "/api/v1/feedback", tag = "ingest", request_body = Vec<FeedbackInput>,
    params(("Idempotency-Key" = Option<String>, Header, description = "Any unique string per logical request", pattern = "^[\\x21-\\x7e][\\x20-\\x7e]{0,254}$")),
    responses((status = 200, body = ImportResult), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn feedback_post(caller: Caller, headers: HeaderMap, body: axum::body::Bytes) -> ApiResult<Response> {
    ingest(&caller, &headers, &body, Entity::Feedback, |f: &[FeedbackInput], app| records::feedback_records(f, &app.calendar()?)).await
}

/// A batch write: checked field by field by `to_records`, written as one import, once per
/// `Idempotency-Key`, and noted in the audit log.
async fn ingest<T: DeserializeOwned>(
    caller: &Caller,
    headers: &HeaderMap,
    body: &[u8],
    entity: Entity,
    to_records: impl FnOnce(&[T], &holdfast_app::App) -> holdfast_app::Result<Vec<holdfast_store::Record>>,
) -> ApiResult<Response> {
    caller.require_write()?;
    idempotent(caller, headers, body, |body| async move {
        let items: Vec<T> = parse_body(&body)?;
        let recs = to_records(&items, &caller.app).map_err(field_error)?;
        let r = records::import_records(&caller.app, entity, "API", &recs).await.map_err(field_error)?;
        let detail = format!("{} {}: {} new, {} updated", r.rows, entity.name(), r.inserted, r.updated);
        caller.app.store.audit(caller.app.ws.id, now(), &caller.who.actor(), &format!("{}.post", entity.name()), None, Some(&detail)).await?;
        Ok(ImportResult::from(r))
    })
    .await
}

fn parse_body<T: DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("the body is not JSON: {e}"))
        } else {
            ApiError::unprocessable(e.to_string().split('`').nth(1), format!("the body does not have the expected shape: {e}"))
        }
    })
}

/// Runs a write once per `Idempotency-Key`: the first successful answer is kept and given again
/// to a retry with the same body.
async fn idempotent<F, Fut>(caller: &Caller, headers: &HeaderMap, body: &[u8], run: F) -> ApiResult<Response>
where
    F: FnOnce(Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = ApiResult<ImportResult>>,
{
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => match v.to_str().ok().map(str::trim).filter(|k| !k.is_empty() && k.len() <= 255) {
            Some(k) => Some(k.to_owned()),
            None => return Err(ApiError::bad("Idempotency-Key", "1 to 255 visible ASCII characters")),
        },
    };
    let hash = holdfast_app::accounts::secret_hash(&String::from_utf8_lossy(body));
    let ws = caller.app.ws.id;
    if let Some(k) = &key {
        if let Some(kept) = caller.app.store.kept_reply(ws, k).await? {
            if kept.request_hash != hash {
                return Err(ApiError::unprocessable(Some("Idempotency-Key"), "this key was used with another body"));
            }
            let status = StatusCode::from_u16(kept.status).unwrap_or(StatusCode::OK);
            return Ok((status, [("content-type", "application/json"), ("idempotent-replayed", "true")], kept.body).into_response());
        }
    }
    let result = run(body.to_vec()).await?;
    let text = serde_json::to_string(&result).map_err(|e| holdfast_app::Error::internal(e.to_string()))?;
    if let Some(k) = &key {
        let kept = holdfast_store::KeptReply { request_hash: hash, status: 200, body: text.clone() };
        caller.app.store.keep_reply(ws, k, &kept, now()).await?;
    }
    Ok((StatusCode::OK, [("content-type", "application/json")], text).into_response())
}
