//! Agents: list and read within the caller's scope, create in the caller's teams, change
//! (a team set sent by a restricted administrator replaces only the part in its scope).

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mirante_auth::{AuthError, Permission, Principal};
use mirante_core::{AgentId, AgentState, Command, EventKind, TeamId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{audit, created};
use crate::http::extract::{ApiJson, Auth};
use crate::http::{ApiError, AppState, ErrorBody};

/// An agent (*Agente*) with its presence.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 3, "name": "Ana Souza", "nickname": "Ana", "email": "ana@example.com",
    "teams": [1], "capacity": 5, "enabled": true, "presence": "online", "pause_reason": null,
    "presence_since_ms": 1795435200000_i64, "sessions": 2}))]
pub struct AgentView {
    /// Id.
    pub id: u64,
    /// Full name.
    pub name: String,
    /// *Codinome*.
    pub nickname: String,
    /// Login e-mail.
    pub email: String,
    /// Teams.
    pub teams: Vec<u64>,
    /// Max simultaneous sessions.
    pub capacity: u32,
    /// Disabled agents cannot log in.
    pub enabled: bool,
    /// `offline`, `online` or `paused`.
    pub presence: &'static str,
    /// The pause reason, when paused.
    pub pause_reason: Option<u64>,
    /// Since when (ms).
    pub presence_since_ms: i64,
    /// Open sessions with it.
    pub sessions: usize,
}

impl From<&AgentState> for AgentView {
    fn from(a: &AgentState) -> Self {
        AgentView {
            id: a.config.id.0,
            name: a.config.name.clone(),
            nickname: a.config.nickname.clone(),
            email: a.config.email.clone(),
            teams: a.config.teams.iter().map(|t| t.0).collect(),
            capacity: a.config.capacity,
            enabled: a.config.enabled,
            presence: a.presence.name(),
            pause_reason: match a.presence {
                mirante_core::Presence::Paused { reason } => Some(reason.0),
                _ => None,
            },
            presence_since_ms: a.presence_since.0,
            sessions: a.sessions.len(),
        }
    }
}

/// A new agent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Ana Souza", "nickname": "Ana", "email": "ana@example.com", "teams": [1], "capacity": 5}))]
pub struct NewAgent {
    /// Full name.
    pub name: String,
    /// *Codinome* (default: the first name).
    #[serde(default)]
    pub nickname: Option<String>,
    /// Login e-mail (unique among agents).
    pub email: String,
    /// Teams (a team-restricted administrator must give at least one of its teams).
    #[serde(default)]
    pub teams: Vec<u64>,
    /// Capacity, 1 to 100 (default 5).
    #[serde(default)]
    pub capacity: Option<u32>,
}

/// Changes to an agent; fields left out stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"nickname": "Aninha", "teams": [1, 2], "capacity": 3}))]
pub struct AgentPatch {
    /// Full name.
    #[serde(default)]
    pub name: Option<String>,
    /// *Codinome*.
    #[serde(default)]
    pub nickname: Option<String>,
    /// Login e-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Teams (for a team-restricted administrator: the part inside its scope).
    #[serde(default)]
    pub teams: Option<Vec<u64>>,
    /// Capacity, 1 to 100.
    #[serde(default)]
    pub capacity: Option<u32>,
    /// Enable or disable (disabling logs the agent out; its sessions go back to the queue).
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// Checks that `teams` exist and lie in the caller's scope (`unknown_team` otherwise).
async fn checked_teams(
    state: &AppState,
    principal: &Principal,
    teams: &[u64],
) -> Result<BTreeSet<TeamId>, ApiError> {
    let ids: BTreeSet<TeamId> = teams.iter().map(|&t| TeamId(t)).collect();
    let wanted = ids.clone();
    let missing = state
        .engine
        .read(move |core, _| {
            wanted
                .iter()
                .copied()
                .find(|t| !core.state().teams.contains_key(t))
        })
        .await?;
    if let Some(team) =
        missing.or_else(|| ids.iter().copied().find(|t| !principal.scope.sees_team(*t)))
    {
        return Err(AuthError::UnknownTeam(team).into());
    }
    Ok(ids)
}

/// Lists the agents the caller sees.
#[utoipa::path(get, path = "/api/v1/agents", tag = "config",
    responses((status = 200, body = [AgentView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(super) async fn list_agents(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Vec<AgentView>>, ApiError> {
    auth.principal.require(Permission::ConfigManage)?;
    let scope = auth.principal.scope.clone();
    let list = state
        .engine
        .read(move |core, _| {
            core.state()
                .agents
                .values()
                .filter(|a| scope.sees_agent(&a.config.teams))
                .map(AgentView::from)
                .collect()
        })
        .await?;
    Ok(Json(list))
}

/// The agent `id` as the caller sees it (404 otherwise), with its current teams.
async fn visible_agent(
    state: &AppState,
    principal: &Principal,
    id: u64,
) -> Result<(AgentView, BTreeSet<TeamId>), ApiError> {
    let agent = AgentId(id);
    let scope = principal.scope.clone();
    state
        .engine
        .read(move |core, _| {
            core.state()
                .agents
                .get(&agent)
                .filter(|a| scope.sees_agent(&a.config.teams))
                .map(|a| (AgentView::from(a), a.config.teams.clone()))
        })
        .await?
        .ok_or(ApiError::Auth(AuthError::NotFound))
}

/// One agent (404 when absent or outside the caller's scope).
#[utoipa::path(get, path = "/api/v1/agents/{id}", tag = "config", params(("id" = u64, Path, description = "Agent id")),
    responses((status = 200, body = AgentView), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(super) async fn get_agent(
    State(state): State<AppState>,
    auth: Auth,
    Path(agent): Path<u64>,
) -> Result<Json<AgentView>, ApiError> {
    auth.principal.require(Permission::ConfigManage)?;
    Ok(Json(visible_agent(&state, &auth.principal, agent).await?.0))
}

/// Creates an agent (in teams of the caller's scope). Its login is made with
/// `POST /api/v1/users` (`kind: agent`).
#[utoipa::path(post, path = "/api/v1/agents", tag = "config", request_body = NewAgent,
    responses((status = 201, body = AgentView),
              (status = 409, description = "`name_taken` (e-mail)", body = ErrorBody),
              (status = 422, description = "`invalid_input` (capacity 1 to 100, e-mail, name), `unknown_team`, `missing_field`", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(super) async fn create_agent(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<NewAgent>,
) -> Result<(StatusCode, Json<AgentView>), ApiError> {
    auth.principal.require(Permission::ConfigManage)?;
    let teams = checked_teams(&state, &auth.principal, &body.teams).await?;
    if teams.is_empty() && auth.principal.scope.is_restricted() {
        return Err(AuthError::MissingField("teams").into());
    }
    let done = state
        .engine
        .execute(Command::CreateAgent {
            name: body.name,
            nickname: body.nickname,
            email: body.email,
            teams,
            capacity: body.capacity,
        })
        .await?;
    let id = created(&done.events, |k| match k {
        EventKind::AgentCreated { agent } => Some(agent.id),
        _ => None,
    })?;
    let (view, teams) = visible_agent(&state, &auth.principal, id.0).await?;
    audit(
        &state,
        &auth,
        "config.agent.create",
        format!("agent:{id}"),
        teams.first().copied(),
        json!({"name": view.name, "email": view.email, "teams": view.teams, "capacity": view.capacity}),
    )
    .await;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Changes an agent: name, nickname, e-mail, teams, capacity, enabled.
#[utoipa::path(patch, path = "/api/v1/agents/{id}", tag = "config", params(("id" = u64, Path, description = "Agent id")),
    request_body = AgentPatch,
    responses((status = 200, body = AgentView), (status = 404, body = ErrorBody),
              (status = 409, description = "`name_taken` (e-mail)", body = ErrorBody),
              (status = 422, description = "`invalid_input`, `unknown_team`", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(super) async fn update_agent(
    State(state): State<AppState>,
    auth: Auth,
    Path(agent): Path<u64>,
    ApiJson(body): ApiJson<AgentPatch>,
) -> Result<Json<AgentView>, ApiError> {
    let principal = &auth.principal;
    principal.require(Permission::ConfigManage)?;
    let (_, current) = visible_agent(&state, principal, agent).await?;
    let teams = match &body.teams {
        Some(given) => {
            let given = checked_teams(&state, principal, given).await?;
            // A restricted administrator replaces only the part inside its scope.
            let kept = current
                .iter()
                .copied()
                .filter(|t| !principal.scope.sees_team(*t));
            Some(kept.chain(given).collect::<BTreeSet<_>>())
        }
        None => None,
    };
    let mut changed = Vec::new();
    for (name, set) in [
        ("name", body.name.is_some()),
        ("nickname", body.nickname.is_some()),
        ("email", body.email.is_some()),
        ("teams", teams.is_some()),
        ("capacity", body.capacity.is_some()),
        ("enabled", body.enabled.is_some()),
    ] {
        if set {
            changed.push(name);
        }
    }
    state
        .engine
        .execute(Command::UpdateAgent {
            agent: AgentId(agent),
            name: body.name,
            nickname: body.nickname,
            email: body.email,
            teams,
            capacity: body.capacity,
            enabled: body.enabled,
        })
        .await?;
    let view = state
        .engine
        .read(move |core, _| {
            core.state()
                .agents
                .get(&AgentId(agent))
                .map(AgentView::from)
        })
        .await?
        .ok_or(AuthError::NotFound)?;
    audit(
        &state,
        &auth,
        "config.agent.update",
        format!("agent:{agent}"),
        current
            .iter()
            .copied()
            .find(|t| principal.scope.sees_team(*t)),
        json!({"changed": changed}),
    )
    .await;
    Ok(Json(view))
}
