//! DEVELOPMENT SWITCH (`--enable-command-api`): raw core commands over HTTP and a dump of
//! the state. Off by default, and even when on, only an administrator of a full group
//! (cookie session; tokens are refused) may call them; every command is audited
//! (`config.command`). The kill -9 test and early tooling use it until the full API exists.

use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use mirante_core::{Command, Event};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, Auth};
use super::{ApiError, AppState, ErrorBody};

/// Commands may carry whole bot flows: a larger body limit than the rest of the API.
const MAX_COMMAND_BYTES: usize = 1024 * 1024;

/// `POST /api/v1/commands`, `GET /api/v1/debug/state`.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(execute))
        .routes(routes!(state_dump))
        .layer(DefaultBodyLimit::max(MAX_COMMAND_BYTES))
}

/// The answer to an executed command.
#[derive(Debug, Serialize, ToSchema)]
struct CommandAnswer {
    /// Sequence number of the command's last event (durable when this is sent).
    seq: u64,
    /// The events, in log order.
    #[schema(value_type = Vec<Object>)]
    events: Vec<Event>,
}

/// DEVELOPMENT: executes one core command (JSON as in `docs/core-facade.md`). Requires a
/// full administrator's session.
#[utoipa::path(post, path = "/api/v1/commands", tag = "development", request_body = Object,
    responses((status = 200, body = CommandAnswer), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, description = "the core refused it", body = ErrorBody)),
    security(("session" = [])))]
async fn execute(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(command): ApiJson<Command>,
) -> Result<axum::Json<CommandAnswer>, ApiError> {
    auth.principal.require_full_admin()?;
    let kind = serde_json::to_value(&command)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str().map(str::to_owned)))
        .unwrap_or_default();
    let result = state.engine.execute(command).await.map_err(ApiError::from);
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => e.code(),
    };
    state
        .auth
        .audit_principal(
            &auth.principal,
            "config.command",
            &kind,
            outcome,
            &auth.addr,
            None,
            None,
        )
        .await;
    let executed = result?;
    Ok(axum::Json(CommandAnswer {
        seq: executed.seq,
        events: executed.events,
    }))
}

/// DEVELOPMENT: `{seq, core}`, the whole durable state as serialized for snapshots.
/// Requires a full administrator's session.
#[utoipa::path(get, path = "/api/v1/debug/state", tag = "development",
    responses((status = 200, body = Object), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = [])))]
async fn state_dump(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    auth.principal.require_full_admin()?;
    let dump = state
        .engine
        .read(|core, seq| {
            serde_json::to_value(core).map(|core| serde_json::json!({ "seq": seq, "core": core }))
        })
        .await?;
    dump.map(axum::Json)
        .map_err(|e| ApiError::Internal(e.to_string()))
}
