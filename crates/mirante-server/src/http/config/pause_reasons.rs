//! Pause reasons (*Motivos de pausa*): list, create, change. Shared configuration.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mirante_auth::{AuthError, Permission};
use mirante_core::{Command, EventKind, PauseReason, PauseReasonId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{audit, created, require_unrestricted};
use crate::http::extract::{ApiJson, Auth};
use crate::http::{ApiError, AppState, ErrorBody};

/// A pause reason (*Pausa*).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 1, "name": "Almoço", "max_duration_ms": 3600000, "enabled": true}))]
pub struct PauseReasonView {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Optional max duration (ms).
    pub max_duration_ms: Option<i64>,
    /// Disabled reasons cannot be chosen.
    pub enabled: bool,
}

impl From<&PauseReason> for PauseReasonView {
    fn from(r: &PauseReason) -> Self {
        PauseReasonView {
            id: r.id.0,
            name: r.name.clone(),
            max_duration_ms: r.max_duration_ms,
            enabled: r.enabled,
        }
    }
}

/// A new pause reason, or changes to one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Almoço", "max_duration_ms": 3600000}))]
pub struct PauseReasonBody {
    /// Name (required to create).
    #[serde(default)]
    pub name: Option<String>,
    /// Max duration in ms (1 s to 30 days).
    #[serde(default)]
    pub max_duration_ms: Option<i64>,
    /// Enable or disable (`PATCH` only).
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// Lists the pause reasons: configuration reads them, and so does a supervisor who may
/// pause agents (the pause dialog offers them) without managing the configuration.
#[utoipa::path(get, path = "/api/v1/pause-reasons", tag = "config",
    responses((status = 200, body = [PauseReasonView]), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(super) async fn list_pause_reasons(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Vec<PauseReasonView>>, ApiError> {
    if !auth.principal.has(Permission::AgentPause) {
        auth.principal.require(Permission::ConfigManage)?;
    }
    let list = state
        .engine
        .read(|core, _| {
            core.state()
                .pause_reasons
                .values()
                .map(PauseReasonView::from)
                .collect()
        })
        .await?;
    Ok(Json(list))
}

/// Creates a pause reason (unrestricted administrators).
#[utoipa::path(post, path = "/api/v1/pause-reasons", tag = "config", request_body = PauseReasonBody,
    responses((status = 201, body = PauseReasonView), (status = 403, body = ErrorBody),
              (status = 409, description = "`name_taken`", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(super) async fn create_pause_reason(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<PauseReasonBody>,
) -> Result<(StatusCode, Json<PauseReasonView>), ApiError> {
    auth.principal.require(Permission::ConfigManage)?;
    require_unrestricted(&auth.principal)?;
    let name = body.name.ok_or(AuthError::MissingField("name"))?;
    let done = state
        .engine
        .execute(Command::CreatePauseReason {
            name,
            max_duration_ms: body.max_duration_ms,
        })
        .await?;
    let view = created(&done.events, |k| match k {
        EventKind::PauseReasonCreated { reason } => Some(PauseReasonView::from(reason)),
        _ => None,
    })?;
    audit(
        &state,
        &auth,
        "config.pause_reason.create",
        format!("pause_reason:{}", view.id),
        None,
        json!({"name": view.name}),
    )
    .await;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Changes a pause reason (unrestricted administrators).
#[utoipa::path(patch, path = "/api/v1/pause-reasons/{id}", tag = "config", params(("id" = u64, Path, description = "Pause reason id")),
    request_body = PauseReasonBody,
    responses((status = 200, body = PauseReasonView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "`name_taken`", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(super) async fn update_pause_reason(
    State(state): State<AppState>,
    auth: Auth,
    Path(reason): Path<u64>,
    ApiJson(body): ApiJson<PauseReasonBody>,
) -> Result<Json<PauseReasonView>, ApiError> {
    auth.principal.require(Permission::ConfigManage)?;
    require_unrestricted(&auth.principal)?;
    let done = state
        .engine
        .execute(Command::UpdatePauseReason {
            reason: PauseReasonId(reason),
            name: body.name,
            max_duration_ms: body.max_duration_ms,
            enabled: body.enabled,
        })
        .await?;
    let view = created(&done.events, |k| match k {
        EventKind::PauseReasonUpdated { reason } => Some(PauseReasonView::from(reason)),
        _ => None,
    })?;
    audit(
        &state,
        &auth,
        "config.pause_reason.update",
        format!("pause_reason:{reason}"),
        None,
        json!({"name": view.name, "enabled": view.enabled}),
    )
    .await;
    Ok(Json(view))
}
