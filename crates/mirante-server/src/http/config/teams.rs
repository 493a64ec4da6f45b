//! Teams (*Equipes*): list and read within the caller's scope, create (unrestricted
//! administrators only), change (distribution, timeouts, overflow, messages, service level).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mirante_auth::{AuthError, Permission, Principal};
use mirante_core::{Command, DistributionMode, EventKind, TeamId, TeamSettings, TeamState};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{audit, created, nullable, require_unrestricted};
use crate::http::extract::{ApiJson, Auth};
use crate::http::{ApiError, AppState, ErrorBody};

/// A team (*Equipe*) with its settings.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 1, "name": "Financeiro", "enabled": true, "mode": "least_busy",
    "inactivity_timeout_ms": 900000, "max_wait_ms": 300000, "overflow_team": 2,
    "closing_message": "Obrigado pelo contato!", "no_agent_message": "Nenhum agente disponível agora.",
    "wrapup_codes": ["resolvido", "retorno"], "service_level_target_ms": 20000, "service_level_percent": 80, "waiting": 3}))]
pub struct TeamView {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Disabled teams take no new sessions.
    pub enabled: bool,
    /// `least_busy` (*menos atendimentos*), `sequential` (*sequencial*) or `all` (*todos*).
    #[schema(value_type = String)]
    pub mode: DistributionMode,
    /// *Tempo de sessão* (ms without a customer message before finishing as lost).
    pub inactivity_timeout_ms: Option<i64>,
    /// Max wait in the queue before overflow (ms).
    pub max_wait_ms: Option<i64>,
    /// *Transbordo*.
    pub overflow_team: Option<u64>,
    /// Sent when an agent or supervisor finishes a session.
    pub closing_message: Option<String>,
    /// Sent when no agent was available.
    pub no_agent_message: Option<String>,
    /// *Tabulações* (required to finish when not empty).
    pub wrapup_codes: Vec<String>,
    /// Service-level target (answered within, ms).
    pub service_level_target_ms: i64,
    /// Service-level goal (%).
    pub service_level_percent: u8,
    /// Sessions waiting now.
    pub waiting: usize,
}

impl From<&TeamState> for TeamView {
    fn from(t: &TeamState) -> Self {
        let s = &t.config.settings;
        TeamView {
            id: t.config.id.0,
            name: t.config.name.clone(),
            enabled: t.config.enabled,
            mode: s.mode,
            inactivity_timeout_ms: s.inactivity_timeout_ms,
            max_wait_ms: s.max_wait_ms,
            overflow_team: s.overflow_team.map(|t| t.0),
            closing_message: s.closing_message.clone(),
            no_agent_message: s.no_agent_message.clone(),
            wrapup_codes: s.wrapup_codes.clone(),
            service_level_target_ms: s.service_level_target_ms,
            service_level_percent: s.service_level_percent,
            waiting: t.queue.len(),
        }
    }
}

/// A team to create, or changes to one (`PATCH`: fields left out stay as they are; `null`
/// clears an optional setting).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Financeiro", "mode": "least_busy", "inactivity_timeout_ms": 900000,
    "max_wait_ms": 300000, "overflow_team": 2, "closing_message": "Obrigado pelo contato!",
    "wrapup_codes": ["resolvido", "retorno"], "service_level_target_ms": 20000}))]
pub struct TeamBody {
    /// Name (required to create).
    #[serde(default)]
    pub name: Option<String>,
    /// Distribution mode.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub mode: Option<DistributionMode>,
    /// *Tempo de sessão* in ms (1 s to 30 days).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub inactivity_timeout_ms: Option<Option<i64>>,
    /// Max wait in ms (1 s to 30 days).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub max_wait_ms: Option<Option<i64>>,
    /// Overflow team.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u64>)]
    pub overflow_team: Option<Option<u64>>,
    /// Closing message.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub closing_message: Option<Option<String>>,
    /// No-agent message.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub no_agent_message: Option<Option<String>>,
    /// Wrap-up codes (replace the list).
    #[serde(default)]
    pub wrapup_codes: Option<Vec<String>>,
    /// Service-level target in ms.
    #[serde(default)]
    pub service_level_target_ms: Option<i64>,
    /// Service-level goal in percent.
    #[serde(default)]
    pub service_level_percent: Option<u8>,
    /// Enable or disable (`PATCH` only).
    #[serde(default)]
    pub enabled: Option<bool>,
}

impl TeamBody {
    fn apply(&self, s: &mut TeamSettings) {
        if let Some(m) = self.mode {
            s.mode = m;
        }
        if let Some(v) = self.inactivity_timeout_ms {
            s.inactivity_timeout_ms = v;
        }
        if let Some(v) = self.max_wait_ms {
            s.max_wait_ms = v;
        }
        if let Some(v) = self.overflow_team {
            s.overflow_team = v.map(TeamId);
        }
        if let Some(v) = &self.closing_message {
            s.closing_message.clone_from(v);
        }
        if let Some(v) = &self.no_agent_message {
            s.no_agent_message.clone_from(v);
        }
        if let Some(v) = &self.wrapup_codes {
            s.wrapup_codes.clone_from(v);
        }
        if let Some(v) = self.service_level_target_ms {
            s.service_level_target_ms = v;
        }
        if let Some(v) = self.service_level_percent {
            s.service_level_percent = v;
        }
    }

    fn touches_settings(&self) -> bool {
        self.mode.is_some()
            || self.inactivity_timeout_ms.is_some()
            || self.max_wait_ms.is_some()
            || self.overflow_team.is_some()
            || self.closing_message.is_some()
            || self.no_agent_message.is_some()
            || self.wrapup_codes.is_some()
            || self.service_level_target_ms.is_some()
            || self.service_level_percent.is_some()
    }
}

/// Lists the teams the caller sees.
#[utoipa::path(get, path = "/api/v1/teams", tag = "config",
    responses((status = 200, body = [TeamView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(super) async fn list_teams(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Vec<TeamView>>, ApiError> {
    auth.principal.require(Permission::ConfigManage)?;
    let scope = auth.principal.scope.clone();
    let list = state
        .engine
        .read(move |core, _| {
            core.state()
                .teams
                .values()
                .filter(|t| scope.sees_team(t.config.id))
                .map(TeamView::from)
                .collect()
        })
        .await?;
    Ok(Json(list))
}

async fn team_view(state: &AppState, principal: &Principal, id: u64) -> Result<TeamView, ApiError> {
    let team = TeamId(id);
    if !principal.scope.sees_team(team) {
        return Err(AuthError::NotFound.into());
    }
    state
        .engine
        .read(move |core, _| core.state().teams.get(&team).map(TeamView::from))
        .await?
        .ok_or(ApiError::Auth(AuthError::NotFound))
}

/// One team (404 when absent or outside the caller's scope).
#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "config", params(("id" = u64, Path, description = "Team id")),
    responses((status = 200, body = TeamView), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(super) async fn get_team(
    State(state): State<AppState>,
    auth: Auth,
    Path(team): Path<u64>,
) -> Result<Json<TeamView>, ApiError> {
    auth.principal.require(Permission::ConfigManage)?;
    Ok(Json(team_view(&state, &auth.principal, team).await?))
}

/// Refuses an overflow team outside the caller's scope or missing (`unknown_team`).
async fn check_overflow(
    state: &AppState,
    principal: &Principal,
    body: &TeamBody,
) -> Result<(), ApiError> {
    if let Some(Some(o)) = body.overflow_team {
        let team = TeamId(o);
        let exists = state
            .engine
            .read(move |core, _| core.state().teams.contains_key(&team))
            .await?;
        if !exists || !principal.scope.sees_team(team) {
            return Err(AuthError::UnknownTeam(team).into());
        }
    }
    Ok(())
}

/// Creates a team (unrestricted administrators).
#[utoipa::path(post, path = "/api/v1/teams", tag = "config", request_body = TeamBody,
    responses((status = 201, body = TeamView), (status = 403, body = ErrorBody),
              (status = 409, description = "`name_taken`", body = ErrorBody),
              (status = 422, description = "`invalid_input`, `missing_field`, `unknown_team`", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(super) async fn create_team(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<TeamBody>,
) -> Result<(StatusCode, Json<TeamView>), ApiError> {
    auth.principal.require(Permission::ConfigManage)?;
    require_unrestricted(&auth.principal)?;
    let name = body.name.clone().ok_or(AuthError::MissingField("name"))?;
    check_overflow(&state, &auth.principal, &body).await?;
    let mut settings = TeamSettings::default();
    body.apply(&mut settings);
    let done = state
        .engine
        .execute(Command::CreateTeam { name, settings })
        .await?;
    let id = created(&done.events, |k| match k {
        EventKind::TeamCreated { team } => Some(team.id),
        _ => None,
    })?;
    let view = team_view(&state, &auth.principal, id.0).await?;
    audit(
        &state,
        &auth,
        "config.team.create",
        format!("team:{id}"),
        Some(id),
        json!({"name": view.name}),
    )
    .await;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Changes a team's name, settings or enabled flag (teams in the caller's scope).
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "config", params(("id" = u64, Path, description = "Team id")),
    request_body = TeamBody,
    responses((status = 200, body = TeamView), (status = 404, body = ErrorBody),
              (status = 409, description = "`name_taken`", body = ErrorBody),
              (status = 422, description = "`invalid_input`, `unknown_team`", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
pub(super) async fn update_team(
    State(state): State<AppState>,
    auth: Auth,
    Path(team): Path<u64>,
    ApiJson(body): ApiJson<TeamBody>,
) -> Result<Json<TeamView>, ApiError> {
    auth.principal.require(Permission::ConfigManage)?;
    team_view(&state, &auth.principal, team).await?;
    check_overflow(&state, &auth.principal, &body).await?;
    let id = TeamId(team);
    let settings = if body.touches_settings() {
        let mut current = state
            .engine
            .read(move |core, _| {
                core.state()
                    .teams
                    .get(&id)
                    .map(|t| t.config.settings.clone())
            })
            .await?
            .ok_or(AuthError::NotFound)?;
        body.apply(&mut current);
        Some(current)
    } else {
        None
    };
    state
        .engine
        .execute(Command::UpdateTeam {
            team: id,
            name: body.name.clone(),
            settings,
            enabled: body.enabled,
        })
        .await?;
    let view = team_view(&state, &auth.principal, team).await?;
    audit(
        &state,
        &auth,
        "config.team.update",
        format!("team:{team}"),
        Some(id),
        json!({"name": view.name, "enabled": view.enabled}),
    )
    .await;
    Ok(Json(view))
}
