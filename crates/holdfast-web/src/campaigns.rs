//! The engine's campaigns over the API: list them, add one (its TOML text), pause and resume one.
//! The checks are `holdfast-engine`'s: a bad definition is a 422 naming the line and the key.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::Shared;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{OpenApi, ToSchema};

/// The campaign endpoints' part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(paths(campaigns_list, campaigns_post, campaign_pause, campaign_resume), components(schemas(CampaignBody)))]
pub struct CampaignsDoc;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/campaigns", get(campaigns_list).post(campaigns_post))
        .route("/api/v1/campaigns/{name}/pause", post(campaign_pause))
        .route("/api/v1/campaigns/{name}/resume", post(campaign_resume))
}

/// A campaign definition: the text of a campaign file (TOML), as `holdfast campaign add` reads it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignBody {
    /// The campaign file's text.
    definition: String,
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The workspace's campaigns: name, state, holdout, outbox by state, and the parsed definition.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns",
    responses((status = 200, description = "`{\"campaigns\": [...]}`", body = Object), (status = 401, body = ErrorBody)))]
async fn campaigns_list(caller: Caller) -> ApiResult<Json<Value>> {
    let stored = caller.app.store.engine_campaigns(caller.app.ws.id).await?;
    let items: Vec<Value> = stored
        .iter()
        .map(|s| {
            let parsed = holdfast_engine::parse_campaign(&s.name, &s.definition);
            serde_json::json!({
                "name": s.name,
                "state": s.state,
                "holdout": s.holdout as f64 / 10_000.0,
                "outbox": s.outbox.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
                "campaign": parsed.as_ref().ok(),
                "error": parsed.as_ref().err().map(|e| e.to_string()),
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "campaigns": items })))
}

/// Adds a campaign, or updates the one of the same name (its control group never changes).
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns", request_body = CampaignBody,
    responses((status = 201, description = "The campaign as read", body = Object), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn campaigns_post(caller: Caller, crate::api::J(body): crate::api::J<CampaignBody>) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require_write()?;
    match holdfast_engine::add_campaign(&caller.app.store, &caller.app.ws, "definition", &body.definition, now()).await {
        Ok(c) => Ok((StatusCode::CREATED, Json(serde_json::to_value(&c).unwrap_or(Value::Null)))),
        Err(holdfast_engine::Error::Campaign(e)) => Err(ApiError::unprocessable(Some(e.key.as_str()), e.to_string())),
        Err(holdfast_engine::Error::Store(e)) => Err(e.into()),
        Err(e) => Err(ApiError::bad("definition", e.to_string())),
    }
}

async fn set_state(caller: &Caller, name: &str, state: &str) -> ApiResult<Json<Value>> {
    caller.require_write()?;
    caller.app.store.set_engine_campaign_state(caller.app.ws.id, name, state, now()).await?;
    Ok(Json(serde_json::json!({ "name": name, "state": state })))
}

/// Pauses a campaign: its messages wait, pending.
#[utoipa::path(post, path = "/api/v1/campaigns/{name}/pause", tag = "campaigns", params(("name" = String, Path)),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn campaign_pause(caller: Caller, Path(name): Path<String>) -> ApiResult<Json<Value>> {
    set_state(&caller, &name, "paused").await
}

/// Resumes a paused campaign.
#[utoipa::path(post, path = "/api/v1/campaigns/{name}/resume", tag = "campaigns", params(("name" = String, Path)),
    responses((status = 200, body = Object), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn campaign_resume(caller: Caller, Path(name): Path<String>) -> ApiResult<Json<Value>> {
    set_state(&caller, &name, "active").await
}
