//! Configuration (permission `config.manage`, every change audited as `config.*`):
//! channels, teams, agents, pause reasons, bot flows and global settings. Every change is a
//! core command through the engine, so it takes effect live and is an event in the log;
//! lists read the core's state.
//!
//! Team-restricted administrators configure **their teams and the agents of their teams
//! only**: they list and change the teams in their scope (creating a team needs an
//! unrestricted administrator, as a new team would lie outside the scope), create agents in
//! their teams and change agents they see — a team set they send replaces only the part
//! inside their scope. Channels, flows, pause reasons and settings are shared
//! configuration: any `config.manage` holder reads them, only an unrestricted one changes
//! them (`forbidden` otherwise). Out-of-scope teams and agents answer 404 like missing
//! ones; an out-of-scope team given as input is `unknown_team` (422).

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use mirante_auth::{AuthError, Permission, Principal};
use mirante_core::flow::FlowDef;
use mirante_core::{
    AgentId, AgentState, Channel, ChannelId, ChannelKind, Command, DistributionMode, Event,
    EventKind, FlowId, PauseReason, PauseReasonId, Settings, TeamId, TeamSettings, TeamState,
};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, Auth};
use super::{ApiError, AppState, ErrorBody, MAX_BODY_BYTES};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_channels, create_channel))
        .routes(routes!(get_channel, update_channel, delete_channel))
        .routes(routes!(list_teams, create_team))
        .routes(routes!(get_team, update_team))
        .routes(routes!(list_agents, create_agent))
        .routes(routes!(get_agent, update_agent))
        .routes(routes!(list_pause_reasons, create_pause_reason))
        .routes(routes!(update_pause_reason))
        .routes(routes!(list_flows, create_flow))
        .routes(routes!(get_flow, update_flow))
        .routes(routes!(get_settings, update_settings))
}

// ---- shared helpers ------------------------------------------------------------------

/// `Some(None)` for an explicit `null`, `None` when the field is absent.
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Shared configuration (channels, flows, pause reasons, settings) is changed only by
/// administrators who see every team.
fn require_unrestricted(principal: &Principal) -> Result<(), AuthError> {
    if principal.scope.is_restricted() {
        return Err(AuthError::Forbidden);
    }
    Ok(())
}

/// The first event of a kind among an executed command's events.
fn created<T>(events: &[Event], pick: impl Fn(&EventKind) -> Option<T>) -> Result<T, ApiError> {
    events
        .iter()
        .find_map(|e| pick(&e.kind))
        .ok_or_else(|| ApiError::Internal("the command produced no record".into()))
}

async fn audit(
    state: &AppState,
    auth: &Auth,
    action: &str,
    target: String,
    team: Option<TeamId>,
    detail: serde_json::Value,
) {
    state
        .auth
        .audit_principal(
            &auth.principal,
            action,
            &target,
            "ok",
            &auth.addr,
            team,
            Some(detail),
        )
        .await;
}

/// A request body as UTF-8 text (at most [`MAX_BODY_BYTES`]).
pub(crate) async fn text_body(request: Request) -> Result<String, ApiError> {
    let bytes = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|_| AuthError::BodyTooLarge(MAX_BODY_BYTES))?;
    String::from_utf8(bytes.to_vec())
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid UTF-8 ({e})")))
}

// ---- channels ------------------------------------------------------------------------

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
async fn list_channels(
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
async fn get_channel(
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
async fn create_channel(
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
async fn update_channel(
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
async fn delete_channel(
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

// ---- teams ---------------------------------------------------------------------------

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
async fn list_teams(
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
async fn get_team(
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
async fn create_team(
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
async fn update_team(
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

// ---- agents --------------------------------------------------------------------------

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
async fn list_agents(
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
async fn get_agent(
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
async fn create_agent(
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
async fn update_agent(
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

// ---- pause reasons -------------------------------------------------------------------

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
async fn list_pause_reasons(
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
async fn create_pause_reason(
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
async fn update_pause_reason(
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

// ---- flows ---------------------------------------------------------------------------

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
async fn list_flows(
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
async fn get_flow(
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
async fn create_flow(
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
async fn update_flow(
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

// ---- settings ------------------------------------------------------------------------

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
async fn get_settings(
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
async fn update_settings(
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
