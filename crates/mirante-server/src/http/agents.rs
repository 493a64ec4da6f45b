//! Supervisor actions on agents (B-10: everything the screen does is in the API): pause with
//! a reason and end a pause (M-16, `agent.pause`), force a log-out (M-15, `agent.logout`).
//!
//! M-16: a forced pause is refused while the agent has open sessions — 409
//! `agent_has_open_sessions`, and the message says how many. M-15: the agent's open sessions
//! go back to the front of their teams' queues (the stream shows them move to *Em espera*).
//! An agent outside the caller's scope answers 404 `unknown_agent`, like one that does not
//! exist. Every attempt is audited (`agent.pause`, `agent.resume`, `agent.logout`) with its
//! outcome.

use axum::extract::{Path, State};
use mirante_auth::Permission;
use mirante_core::{Actor, AgentId, Command, DomainError, PauseReasonId, SupervisorId, TeamId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, Auth};
use super::sessions::READ_YOUR_WRITES;
use super::{ApiError, AppState, ErrorBody};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(pause))
        .routes(routes!(resume))
        .routes(routes!(logout))
}

/// A forced pause.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PauseRequest {
    /// The pause reason's id.
    pub reason: u64,
}

/// The answer to an agent action.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgentActionAnswer {
    /// The sequence number after the action (the monitor shows it).
    pub seq: u64,
}

/// The agent's first team in the caller's scope, or 404 `unknown_agent` when it does not
/// exist or is outside the scope.
async fn agent_in_scope(
    state: &AppState,
    auth: &Auth,
    agent: AgentId,
) -> Result<Option<TeamId>, ApiError> {
    let teams = crate::auth::agent_teams(&state.engine, agent).await?;
    match teams {
        Some(teams) if auth.principal.scope.sees_agent(&teams) => Ok(teams
            .iter()
            .copied()
            .find(|t| auth.principal.scope.sees_team(*t))),
        _ => Err(ApiError::Domain(DomainError::UnknownAgent(agent))),
    }
}

async fn act(
    state: &AppState,
    auth: &Auth,
    agent: AgentId,
    action: &'static str,
    command: Command,
    detail: Option<serde_json::Value>,
) -> Result<axum::Json<AgentActionAnswer>, ApiError> {
    let team = agent_in_scope(state, auth, agent).await?;
    let result = state.engine.execute(command).await.map_err(ApiError::from);
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => e.code(),
    };
    state
        .auth
        .audit_principal(
            &auth.principal,
            action,
            &format!("agent:{}", agent.0),
            outcome,
            &auth.addr,
            team,
            detail,
        )
        .await;
    let executed = result?;
    let _ = tokio::time::timeout(READ_YOUR_WRITES, state.monitor.wait_for(executed.seq)).await;
    Ok(axum::Json(AgentActionAnswer { seq: executed.seq }))
}

fn by(auth: &Auth) -> Actor {
    Actor::Supervisor(SupervisorId(auth.principal.account.0))
}

/// Pause an agent with a reason (M-16). Refused with 409 `agent_has_open_sessions` while it
/// has open sessions (the message says how many).
#[utoipa::path(post, path = "/api/v1/agents/{id}/pause", tag = "agents", request_body = PauseRequest,
    params(("id" = u64, Path, description = "agent id")),
    responses((status = 200, body = AgentActionAnswer), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "unknown agent or pause reason", body = ErrorBody),
              (status = 409, description = "open sessions, offline, already paused", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn pause(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<PauseRequest>,
) -> Result<axum::Json<AgentActionAnswer>, ApiError> {
    auth.principal.require(Permission::AgentPause)?;
    let agent = AgentId(id);
    let command = Command::AgentPause {
        agent,
        reason: PauseReasonId(body.reason),
        by: by(&auth),
    };
    let detail = serde_json::json!({ "reason": body.reason });
    act(&state, &auth, agent, "agent.pause", command, Some(detail)).await
}

/// End an agent's pause (M-16).
#[utoipa::path(post, path = "/api/v1/agents/{id}/resume", tag = "agents",
    params(("id" = u64, Path, description = "agent id")),
    responses((status = 200, body = AgentActionAnswer), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "unknown agent", body = ErrorBody),
              (status = 409, description = "not paused", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn resume(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
) -> Result<axum::Json<AgentActionAnswer>, ApiError> {
    auth.principal.require(Permission::AgentPause)?;
    let agent = AgentId(id);
    let command = Command::AgentResume {
        agent,
        by: by(&auth),
    };
    act(&state, &auth, agent, "agent.resume", command, None).await
}

/// Force an agent's log-out (M-15): its open sessions go back to the front of their teams'
/// queues, keeping protocol and history.
#[utoipa::path(post, path = "/api/v1/agents/{id}/logout", tag = "agents",
    params(("id" = u64, Path, description = "agent id")),
    responses((status = 200, body = AgentActionAnswer), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "unknown agent", body = ErrorBody),
              (status = 409, description = "not logged in", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn logout(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
) -> Result<axum::Json<AgentActionAnswer>, ApiError> {
    auth.principal.require(Permission::AgentLogout)?;
    let agent = AgentId(id);
    let command = Command::AgentLogout {
        agent,
        by: by(&auth),
    };
    act(&state, &auth, agent, "agent.logout", command, None).await
}
