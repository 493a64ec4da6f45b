//! Global settings (*Configurações*): read and change. Shared configuration.

use axum::Json;
use axum::extract::State;
use mirante_auth::Permission;
use mirante_core::{Command, EventKind, Settings};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{audit, created, require_unrestricted};
use crate::http::extract::{ApiJson, Auth};
use crate::http::{ApiError, AppState, ErrorBody};

/// Global settings.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"time_zone": "America/Sao_Paulo", "bulk_cap": 5, "bot_inactivity_ms": 600000}))]
pub struct SettingsBody {
    /// IANA time zone of protocol dates.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Max sessions per bulk finish/transfer (1 to 100).
    #[serde(default)]
    pub bulk_cap: Option<usize>,
    /// Bot inactivity before finishing as lost (ms, 1 s to 30 days).
    #[serde(default)]
    pub bot_inactivity_ms: Option<i64>,
}

impl From<&Settings> for SettingsBody {
    fn from(s: &Settings) -> Self {
        SettingsBody {
            time_zone: Some(s.time_zone.clone()),
            bulk_cap: Some(s.bulk_cap),
            bot_inactivity_ms: Some(s.bot_inactivity_ms),
        }
    }
}

/// The global settings.
#[utoipa::path(get, path = "/api/v1/settings", tag = "config",
    responses((status = 200, body = SettingsBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(super) async fn get_settings(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<SettingsBody>, ApiError> {
    auth.principal.require(Permission::ConfigManage)?;
    let settings = state
        .engine
        .read(|core, _| SettingsBody::from(&core.state().settings))
        .await?;
    Ok(Json(settings))
}

/// Changes the global settings (unrestricted administrators).
#[utoipa::path(patch, path = "/api/v1/settings", tag = "config", request_body = SettingsBody,
    responses((status = 200, body = SettingsBody), (status = 403, body = ErrorBody),
              (status = 422, description = "`unknown_time_zone`, `invalid_input`", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(super) async fn update_settings(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<SettingsBody>,
) -> Result<Json<SettingsBody>, ApiError> {
    auth.principal.require(Permission::ConfigManage)?;
    require_unrestricted(&auth.principal)?;
    let done = state
        .engine
        .execute(Command::UpdateSettings {
            time_zone: body.time_zone,
            bulk_cap: body.bulk_cap,
            bot_inactivity_ms: body.bot_inactivity_ms,
        })
        .await?;
    let view = created(&done.events, |k| match k {
        EventKind::SettingsUpdated { settings } => Some(SettingsBody::from(settings)),
        _ => None,
    })?;
    audit(
        &state,
        &auth,
        "config.settings.update",
        "settings".to_owned(),
        None,
        json!(view),
    )
    .await;
    Ok(Json(view))
}
