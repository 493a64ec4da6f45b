//! Channels (*Canais*): list, read, create, change, delete. Shared configuration: only an
//! unrestricted administrator changes them.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mirante_auth::{AuthError, Permission};
use mirante_core::{Channel, ChannelId, ChannelKind, Command, EventKind, FlowId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{audit, created, require_unrestricted};
use crate::http::extract::{ApiJson, Auth};
use crate::http::{ApiError, AppState, ErrorBody};

/// A channel (*Canal*).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 1, "kind": "whatsapp", "name": "WhatsApp Business", "enabled": true, "flow": 1}))]
pub struct ChannelView {
    /// Id.
    pub id: u64,
    /// `whatsapp`, `telegram`, `webchat`, `instagram`, `messenger`, `email`, `sms`, `api`.
    #[schema(value_type = String)]
    pub kind: ChannelKind,
    /// Display name.
    pub name: String,
    /// Disabled channels start no new sessions.
    pub enabled: bool,
    /// The bot flow new sessions start in.
    pub flow: Option<u64>,
}

impl From<&Channel> for ChannelView {
    fn from(c: &Channel) -> Self {
        ChannelView {
            id: c.id.0,
            kind: c.kind,
            name: c.name.clone(),
            enabled: c.enabled,
            flow: c.flow.map(|f| f.0),
        }
    }
}

/// A new channel.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "whatsapp", "name": "WhatsApp Business", "flow": 1}))]
pub struct NewChannel {
    /// Kind.
    #[schema(value_type = String)]
    pub kind: ChannelKind,
    /// Display name (unique).
    pub name: String,
    /// Bot flow.
    #[serde(default)]
    pub flow: Option<u64>,
}

/// Changes to a channel; fields left out stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "WhatsApp Vendas", "enabled": false}))]
pub struct ChannelPatch {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New flow.
    #[serde(default)]
    pub flow: Option<u64>,
    /// Enable or disable.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// Lists the channels.
#[utoipa::path(get, path = "/api/v1/channels", tag = "config",
    responses((status = 200, body = [ChannelView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(super) async fn list_channels(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Vec<ChannelView>>, ApiError> {
    auth.principal.require(Permission::ConfigManage)?;
    let list = state
        .engine
        .read(|core, _| {
            core.state()
                .channels
                .values()
                .map(ChannelView::from)
                .collect()
        })
        .await?;
    Ok(Json(list))
}

async fn channel_view(state: &AppState, id: u64) -> Result<ChannelView, ApiError> {
    state
        .engine
        .read(move |core, _| {
            core.state()
                .channels
                .get(&ChannelId(id))
                .map(ChannelView::from)
        })
        .await?
        .ok_or(ApiError::Auth(AuthError::NotFound))
}

/// One channel.
#[utoipa::path(get, path = "/api/v1/channels/{id}", tag = "config", params(("id" = u64, Path, description = "Channel id")),
    responses((status = 200, body = ChannelView), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(super) async fn get_channel(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel): Path<u64>,
) -> Result<Json<ChannelView>, ApiError> {
    auth.principal.require(Permission::ConfigManage)?;
    Ok(Json(channel_view(&state, channel).await?))
}

/// Creates a channel (unrestricted administrators).
#[utoipa::path(post, path = "/api/v1/channels", tag = "config", request_body = NewChannel,
    responses((status = 201, body = ChannelView),
              (status = 403, description = "`forbidden` (also for team-restricted administrators)", body = ErrorBody),
              (status = 404, description = "`unknown_flow`", body = ErrorBody),
              (status = 409, description = "`name_taken`", body = ErrorBody),
              (status = 422, description = "`invalid_input`", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(super) async fn create_channel(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<NewChannel>,
) -> Result<(StatusCode, Json<ChannelView>), ApiError> {
    auth.principal.require(Permission::ConfigManage)?;
    require_unrestricted(&auth.principal)?;
    let done = state
        .engine
        .execute(Command::CreateChannel {
            kind: body.kind,
            name: body.name,
            flow: body.flow.map(FlowId),
        })
        .await?;
    let channel = created(&done.events, |k| match k {
        EventKind::ChannelCreated { channel } => Some(ChannelView::from(channel)),
        _ => None,
    })?;
    audit(
        &state,
        &auth,
        "config.channel.create",
        format!("channel:{}", channel.id),
        None,
        json!({"name": channel.name, "kind": channel.kind, "flow": channel.flow}),
    )
    .await;
    Ok((StatusCode::CREATED, Json(channel)))
}

/// Changes a channel (unrestricted administrators).
#[utoipa::path(patch, path = "/api/v1/channels/{id}", tag = "config", params(("id" = u64, Path, description = "Channel id")),
    request_body = ChannelPatch,
    responses((status = 200, body = ChannelView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "`name_taken`", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(super) async fn update_channel(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel): Path<u64>,
    ApiJson(body): ApiJson<ChannelPatch>,
) -> Result<Json<ChannelView>, ApiError> {
    auth.principal.require(Permission::ConfigManage)?;
    require_unrestricted(&auth.principal)?;
    let done = state
        .engine
        .execute(Command::UpdateChannel {
            channel: ChannelId(channel),
            name: body.name,
            flow: body.flow.map(FlowId),
            enabled: body.enabled,
        })
        .await?;
    let view = created(&done.events, |k| match k {
        EventKind::ChannelUpdated { channel } => Some(ChannelView::from(channel)),
        _ => None,
    })?;
    audit(
        &state,
        &auth,
        "config.channel.update",
        format!("channel:{channel}"),
        None,
        json!({"name": view.name, "flow": view.flow, "enabled": view.enabled}),
    )
    .await;
    Ok(Json(view))
}

/// Deletes a channel; refused with `channel_has_open_sessions` (409) while it has any.
#[utoipa::path(delete, path = "/api/v1/channels/{id}", tag = "config", params(("id" = u64, Path, description = "Channel id")),
    responses((status = 204, description = "Deleted"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, description = "`channel_has_open_sessions`", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(super) async fn delete_channel(
    State(state): State<AppState>,
    auth: Auth,
    Path(channel): Path<u64>,
) -> Result<StatusCode, ApiError> {
    auth.principal.require(Permission::ConfigManage)?;
    require_unrestricted(&auth.principal)?;
    state
        .engine
        .execute(Command::DeleteChannel {
            channel: ChannelId(channel),
        })
        .await?;
    state.feeds.webhooks().remove(ChannelId(channel));
    audit(
        &state,
        &auth,
        "config.channel.delete",
        format!("channel:{channel}"),
        None,
        json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
