//! Bot flows (*Fluxos*): list, read, create, change; a body (JSON, or TOML) is validated —
//! errors with line, column and path — before the core stores it. Shared configuration.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use mirante_auth::{AuthError, Permission};
use mirante_core::flow::FlowDef;
use mirante_core::{Command, EventKind, FlowId, TeamId};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{audit, created, require_unrestricted, text_body};
use crate::http::extract::Auth;
use crate::http::{ApiError, AppState, ErrorBody};

/// A bot flow.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 1, "name": "Atendimento", "definition": {"name": "Atendimento", "start": "menu",
    "steps": {"menu": {"kind": "menu", "text": "Como posso ajudar?", "options": [
        {"key": "1", "label": "Financeiro", "next": "fin"}, {"key": "2", "label": "Encerrar", "next": "fim"}]},
        "fin": {"kind": "route", "team": 1}, "fim": {"kind": "finish", "text": "Até logo!"}}}}))]
pub struct FlowView {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// The definition (the format is described in `docs/api.md` and the core's `flow` module).
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
}

fn flow_view(id: FlowId, def: &FlowDef) -> FlowView {
    FlowView {
        id: id.0,
        name: def.name.clone(),
        definition: serde_json::to_value(def).unwrap_or_default(),
    }
}

/// Parses and validates a flow body (JSON, or TOML with `Content-Type: application/toml`);
/// an error carries its line, column and path.
async fn flow_from_body(
    state: &AppState,
    headers: &HeaderMap,
    request: Request,
) -> Result<FlowDef, ApiError> {
    let is_toml = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("toml"));
    let text = text_body(request).await?;
    let enabled: BTreeSet<TeamId> = state
        .engine
        .read(|core, _| {
            core.state()
                .teams
                .values()
                .filter(|t| t.config.enabled)
                .map(|t| t.config.id)
                .collect()
        })
        .await?;
    FlowDef::validate_source(&text, is_toml, |t| enabled.contains(&t))
        .map_err(|e| ApiError::Domain(mirante_core::DomainError::InvalidFlow(e)))
}

/// Lists the bot flows.
#[utoipa::path(get, path = "/api/v1/flows", tag = "config",
    responses((status = 200, body = [FlowView]), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(super) async fn list_flows(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Vec<FlowView>>, ApiError> {
    auth.principal.require(Permission::ConfigManage)?;
    let list = state
        .engine
        .read(|core, _| {
            core.state()
                .flows
                .values()
                .map(|f| flow_view(f.id, &f.def))
                .collect()
        })
        .await?;
    Ok(Json(list))
}

/// One bot flow.
#[utoipa::path(get, path = "/api/v1/flows/{id}", tag = "config", params(("id" = u64, Path, description = "Flow id")),
    responses((status = 200, body = FlowView), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(super) async fn get_flow(
    State(state): State<AppState>,
    auth: Auth,
    Path(flow): Path<u64>,
) -> Result<Json<FlowView>, ApiError> {
    auth.principal.require(Permission::ConfigManage)?;
    let view = state
        .engine
        .read(move |core, _| {
            core.state()
                .flows
                .get(&FlowId(flow))
                .map(|f| flow_view(f.id, &f.def))
        })
        .await?
        .ok_or(AuthError::NotFound)?;
    Ok(Json(view))
}

const FLOW_ERRORS: &str = "`flow_syntax`, `flow_empty`, `flow_unknown_step`, `flow_unknown_team`, \
`flow_unreachable_step`, `flow_duplicate_option`, `flow_loop_without_input`, `flow_invalid_step` — the \
message gives the line, column and path, e.g. `Fluxo inválido (linha 7, coluna 37) em `steps.fin.team`: …`";

/// Creates a bot flow from its definition: JSON (default) or TOML
/// (`Content-Type: application/toml`). Unrestricted administrators.
#[utoipa::path(post, path = "/api/v1/flows", tag = "config",
    request_body(content = Object, description = "The flow definition (JSON, or TOML with `Content-Type: application/toml`)",
        example = json!({"name": "Atendimento", "start": "menu", "steps": {
            "menu": {"kind": "menu", "text": "Como posso ajudar?", "options": [
                {"key": "1", "label": "Financeiro", "synonyms": ["boleto"], "next": "fin"},
                {"key": "2", "label": "Encerrar", "next": "fim"}]},
            "fin": {"kind": "route", "team": 1, "text": "Vamos transferir para o financeiro."},
            "fim": {"kind": "finish", "text": "Até logo!"}}})),
    responses((status = 201, body = FlowView), (status = 400, description = "`invalid_request` (not UTF-8)", body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, description = "`name_taken`", body = ErrorBody),
              (status = 422, description = FLOW_ERRORS, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(super) async fn create_flow(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    request: Request,
) -> Result<(StatusCode, Json<FlowView>), ApiError> {
    auth.principal.require(Permission::ConfigManage)?;
    require_unrestricted(&auth.principal)?;
    let def = flow_from_body(&state, &headers, request).await?;
    let done = state.engine.execute(Command::CreateFlow { def }).await?;
    let view = created(&done.events, |k| match k {
        EventKind::FlowCreated { flow } => Some(flow_view(flow.id, &flow.def)),
        _ => None,
    })?;
    audit(
        &state,
        &auth,
        "config.flow.create",
        format!("flow:{}", view.id),
        None,
        json!({"name": view.name}),
    )
    .await;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Replaces a bot flow's definition (JSON or TOML); sessions in the bot continue at the
/// same step when it still exists. Unrestricted administrators.
#[utoipa::path(put, path = "/api/v1/flows/{id}", tag = "config", params(("id" = u64, Path, description = "Flow id")),
    request_body(content = Object, description = "The flow definition (JSON, or TOML with `Content-Type: application/toml`)"),
    responses((status = 200, body = FlowView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, description = FLOW_ERRORS, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(super) async fn update_flow(
    State(state): State<AppState>,
    auth: Auth,
    Path(flow): Path<u64>,
    headers: HeaderMap,
    request: Request,
) -> Result<Json<FlowView>, ApiError> {
    auth.principal.require(Permission::ConfigManage)?;
    require_unrestricted(&auth.principal)?;
    let def = flow_from_body(&state, &headers, request).await?;
    let done = state
        .engine
        .execute(Command::UpdateFlow {
            flow: FlowId(flow),
            def,
        })
        .await?;
    let view = created(&done.events, |k| match k {
        EventKind::FlowUpdated { flow } => Some(flow_view(flow.id, &flow.def)),
        _ => None,
    })?;
    audit(
        &state,
        &auth,
        "config.flow.update",
        format!("flow:{flow}"),
        None,
        json!({"name": view.name}),
    )
    .await;
    Ok(Json(view))
}
