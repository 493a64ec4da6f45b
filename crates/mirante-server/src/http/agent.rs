//! `/api/v1/me/…`: the logged-in agent's own actions (D-40) — log in to service and log
//! out, pause with a reason and end the pause, list *Em espera* (its teams' queues) and
//! *Em atendimento* (its own sessions) with their protocols, read a session's transcript,
//! pull a waiting session (teams in *todos* mode), reply, transfer to an agent or a team,
//! finish (with a wrap-up code when the team has codes), and the internal chat with
//! supervisors (M-11).
//!
//! Only an agent's session passes (`forbidden` for administrators and tokens): the core
//! hears these commands as `Actor::Agent(its agent)`, so it enforces that the agent acts
//! only on its own sessions and presence. A session that is neither with the agent nor
//! waiting in one of its teams answers 404 like a missing one. Presence changes, transfers
//! and finishes are audited (`me.*`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use mirante_auth::{AuthError, Principal, PrincipalKind};
use mirante_core::{
    Actor, AgentId, Command, Phase, SessionId, State as CoreState, SupervisorId, Target, TeamId,
};
use mirante_store::accounts::AccountKind;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::config::{AgentView, audit};
use super::extract::{ApiJson, Auth};
use super::{ApiError, AppState, ErrorBody};
use crate::feeds::{ChatEntry, ConversationSummary, TranscriptEntry};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(status))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(pause))
        .routes(routes!(resume))
        .routes(routes!(sessions))
        .routes(routes!(transcript, reply))
        .routes(routes!(pull))
        .routes(routes!(transfer))
        .routes(routes!(finish))
        .routes(routes!(conversations))
        .routes(routes!(conversation, send_chat))
        .routes(routes!(read_chat))
}

/// The agent behind the request (`forbidden` for anyone else).
fn me(principal: &Principal) -> Result<AgentId, AuthError> {
    match principal.kind {
        PrincipalKind::Agent { agent } => Ok(agent),
        _ => Err(AuthError::Forbidden),
    }
}

// ---- status and presence -------------------------------------------------------------

/// A pause reason the agent may choose.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reason {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
}

/// A team as an agent sees it (transfer targets; its own teams' wrap-up codes).
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamInfo {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// Whether the agent is a member.
    pub member: bool,
    /// `all` (*todos*): waiting sessions are pulled by the agents.
    pub pull: bool,
    /// Wrap-up codes (required to finish when not empty).
    pub wrapup_codes: Vec<String>,
}

/// A colleague (an agent sharing a team), as a transfer target.
#[derive(Debug, Serialize, ToSchema)]
pub struct Colleague {
    /// Agent id.
    pub id: u64,
    /// *Codinome*.
    pub nickname: String,
    /// `offline`, `online` or `paused`.
    pub presence: &'static str,
}

/// The agent's own status.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"agent": {"id": 3, "name": "Ana Souza", "nickname": "Ana", "email": "ana@example.com",
    "teams": [1], "capacity": 5, "enabled": true, "presence": "online", "pause_reason": null,
    "presence_since_ms": 1795435200000_i64, "sessions": 1},
    "pause_reasons": [{"id": 1, "name": "Almoço"}],
    "teams": [{"id": 1, "name": "Financeiro", "member": true, "pull": false, "wrapup_codes": ["resolvido"]}],
    "colleagues": [{"id": 4, "nickname": "Bia", "presence": "online"}]}))]
pub struct AgentStatus {
    /// The agent, its presence and load.
    pub agent: AgentView,
    /// Enabled pause reasons.
    pub pause_reasons: Vec<Reason>,
    /// Every enabled team (transfer targets).
    pub teams: Vec<TeamInfo>,
    /// Agents sharing a team with it.
    pub colleagues: Vec<Colleague>,
}

fn status_of(st: &CoreState, agent: AgentId) -> Option<AgentStatus> {
    let a = st.agents.get(&agent)?;
    Some(AgentStatus {
        agent: AgentView::from(a),
        pause_reasons: st
            .pause_reasons
            .values()
            .filter(|r| r.enabled)
            .map(|r| Reason {
                id: r.id.0,
                name: r.name.clone(),
            })
            .collect(),
        teams: st
            .teams
            .values()
            .filter(|t| t.config.enabled)
            .map(|t| TeamInfo {
                id: t.config.id.0,
                name: t.config.name.clone(),
                member: a.config.teams.contains(&t.config.id),
                pull: t.config.settings.mode == mirante_core::DistributionMode::All,
                wrapup_codes: t.config.settings.wrapup_codes.clone(),
            })
            .collect(),
        colleagues: st
            .agents
            .values()
            .filter(|b| b.config.id != agent && b.config.enabled)
            .filter(|b| !b.config.teams.is_disjoint(&a.config.teams))
            .map(|b| Colleague {
                id: b.config.id.0,
                nickname: b.config.nickname.clone(),
                presence: b.presence.name(),
            })
            .collect(),
    })
}

async fn current_status(state: &AppState, agent: AgentId) -> Result<AgentStatus, ApiError> {
    state
        .engine
        .read(move |core, _| status_of(core.state(), agent))
        .await?
        .ok_or(ApiError::Auth(AuthError::NotFound))
}

/// The agent's presence, load, pause reasons, teams and colleagues.
#[utoipa::path(get, path = "/api/v1/me/status", tag = "agent",
    responses((status = 200, body = AgentStatus), (status = 401, body = ErrorBody), (status = 403, description = "`forbidden`: not an agent's session", body = ErrorBody)),
    security(("session" = [])))]
async fn status(State(state): State<AppState>, auth: Auth) -> Result<Json<AgentStatus>, ApiError> {
    let agent = me(&auth.principal)?;
    Ok(Json(current_status(&state, agent).await?))
}

/// Logs in to service (online: sessions are distributed to it).
#[utoipa::path(post, path = "/api/v1/me/login", tag = "agent",
    responses((status = 200, body = AgentStatus), (status = 403, body = ErrorBody),
              (status = 409, description = "`agent_already_logged_in`, `agent_disabled`", body = ErrorBody)),
    security(("session" = [])))]
async fn login(State(state): State<AppState>, auth: Auth) -> Result<Json<AgentStatus>, ApiError> {
    let agent = me(&auth.principal)?;
    state.engine.execute(Command::AgentLogin { agent }).await?;
    audit(
        &state,
        &auth,
        "me.login",
        format!("agent:{agent}"),
        None,
        json!({}),
    )
    .await;
    Ok(Json(current_status(&state, agent).await?))
}

/// Logs out of service; its open sessions go back to the front of their queues (M-15).
#[utoipa::path(post, path = "/api/v1/me/logout", tag = "agent",
    responses((status = 200, body = AgentStatus), (status = 403, body = ErrorBody),
              (status = 409, description = "`agent_offline`", body = ErrorBody)),
    security(("session" = [])))]
async fn logout(State(state): State<AppState>, auth: Auth) -> Result<Json<AgentStatus>, ApiError> {
    let agent = me(&auth.principal)?;
    state
        .engine
        .execute(Command::AgentLogout {
            agent,
            by: Actor::Agent(agent),
        })
        .await?;
    audit(
        &state,
        &auth,
        "me.logout",
        format!("agent:{agent}"),
        None,
        json!({}),
    )
    .await;
    Ok(Json(current_status(&state, agent).await?))
}

/// A pause.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": 1}))]
pub struct PauseBody {
    /// The pause reason.
    pub reason: u64,
}

/// Pauses with a reason (the agent keeps the sessions it has; it receives no new ones).
#[utoipa::path(post, path = "/api/v1/me/pause", tag = "agent", request_body = PauseBody,
    responses((status = 200, body = AgentStatus), (status = 403, body = ErrorBody),
              (status = 404, description = "`unknown_pause_reason`", body = ErrorBody),
              (status = 409, description = "`agent_offline`, `agent_already_paused`, `pause_reason_disabled`", body = ErrorBody)),
    security(("session" = [])))]
async fn pause(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<PauseBody>,
) -> Result<Json<AgentStatus>, ApiError> {
    let agent = me(&auth.principal)?;
    state
        .engine
        .execute(Command::AgentPause {
            agent,
            reason: mirante_core::PauseReasonId(body.reason),
            by: Actor::Agent(agent),
        })
        .await?;
    audit(
        &state,
        &auth,
        "me.pause",
        format!("agent:{agent}"),
        None,
        json!({"reason": body.reason}),
    )
    .await;
    Ok(Json(current_status(&state, agent).await?))
}

/// Ends the pause.
#[utoipa::path(post, path = "/api/v1/me/resume", tag = "agent",
    responses((status = 200, body = AgentStatus), (status = 403, body = ErrorBody),
              (status = 409, description = "`agent_not_paused`, `agent_offline`", body = ErrorBody)),
    security(("session" = [])))]
async fn resume(State(state): State<AppState>, auth: Auth) -> Result<Json<AgentStatus>, ApiError> {
    let agent = me(&auth.principal)?;
    state
        .engine
        .execute(Command::AgentResume {
            agent,
            by: Actor::Agent(agent),
        })
        .await?;
    audit(
        &state,
        &auth,
        "me.resume",
        format!("agent:{agent}"),
        None,
        json!({}),
    )
    .await;
    Ok(Json(current_status(&state, agent).await?))
}

// ---- sessions ------------------------------------------------------------------------

/// A session as its agent sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionRow {
    /// Id.
    pub id: u64,
    /// `waiting` (*Em espera*) or `human` (*Em atendimento*).
    pub phase: &'static str,
    /// The team.
    pub team: Option<u64>,
    /// The channel.
    pub channel: u64,
    /// The contact.
    pub contact: u64,
    /// The contact's name as registered.
    pub contact_name: String,
    /// The contact's number (digits), when the channel gives one.
    pub contact_number: Option<String>,
    /// *Protocolo* (from the first assignment on).
    pub protocol: Option<String>,
    /// Started (ms).
    pub started_ms: i64,
    /// Entered the queue (ms).
    pub queued_ms: Option<i64>,
    /// Assigned to the agent (ms).
    pub assigned_ms: Option<i64>,
    /// The customer's last message (ms).
    pub last_customer_message_ms: i64,
}

/// *Em espera* and *Em atendimento*.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"waiting": [{"id": 8, "phase": "waiting", "team": 1, "channel": 1, "contact": 5,
    "contact_name": "Maria Luiza", "contact_number": "5535998765432", "protocol": null, "started_ms": 1795435200000_i64,
    "queued_ms": 1795435230000_i64, "assigned_ms": null, "last_customer_message_ms": 1795435230000_i64}],
    "serving": [{"id": 7, "phase": "human", "team": 1, "channel": 1, "contact": 4, "contact_name": "João",
    "contact_number": null, "protocol": "20261123000042", "started_ms": 1795435100000_i64, "queued_ms": 1795435110000_i64,
    "assigned_ms": 1795435111000_i64, "last_customer_message_ms": 1795435190000_i64}]}))]
pub struct MySessions {
    /// Waiting in the agent's teams, oldest first.
    pub waiting: Vec<SessionRow>,
    /// With the agent.
    pub serving: Vec<SessionRow>,
}

fn row(st: &CoreState, s: &mirante_core::Session) -> SessionRow {
    let contact = st.contacts.get(&s.contact);
    SessionRow {
        id: s.id.0,
        phase: s.phase.name(),
        team: s.team.map(|t| t.0),
        channel: s.channel.0,
        contact: s.contact.0,
        contact_name: contact.map(|c| c.name.clone()).unwrap_or_default(),
        contact_number: contact.and_then(|c| c.number.clone()),
        protocol: s.protocol.clone(),
        started_ms: s.started_at.0,
        queued_ms: s.queued_at.map(|t| t.0),
        assigned_ms: s.assigned_at.map(|t| t.0),
        last_customer_message_ms: s.last_customer_message_at.0,
    }
}

/// Whether the agent may see the session: it serves it, or it waits in one of its teams.
fn sees(st: &CoreState, agent: AgentId, s: &mirante_core::Session) -> bool {
    match s.phase {
        Phase::Human => s.agent == Some(agent),
        Phase::Waiting => s.team.is_some_and(|t| {
            st.agents
                .get(&agent)
                .is_some_and(|a| a.config.teams.contains(&t))
        }),
        Phase::Bot => false,
    }
}

/// *Em espera* of the agent's teams (oldest first) and *Em atendimento* (its own), with
/// protocols.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "agent",
    responses((status = 200, body = MySessions), (status = 403, body = ErrorBody)),
    security(("session" = [])))]
async fn sessions(State(state): State<AppState>, auth: Auth) -> Result<Json<MySessions>, ApiError> {
    let agent = me(&auth.principal)?;
    let list = state
        .engine
        .read(move |core, _| {
            let st = core.state();
            let mut waiting: Vec<&mirante_core::Session> = Vec::new();
            if let Some(a) = st.agents.get(&agent) {
                for t in &a.config.teams {
                    if let Some(team) = st.teams.get(t) {
                        waiting.extend(team.queue.iter().filter_map(|s| st.sessions.get(s)));
                    }
                }
            }
            waiting.sort_by_key(|s| (s.queued_at, s.id));
            let serving = st
                .agents
                .get(&agent)
                .map(|a| {
                    a.sessions
                        .iter()
                        .filter_map(|s| st.sessions.get(s))
                        .map(|s| row(st, s))
                        .collect()
                })
                .unwrap_or_default();
            MySessions {
                waiting: waiting.into_iter().map(|s| row(st, s)).collect(),
                serving,
            }
        })
        .await?;
    Ok(Json(list))
}

/// 404 unless the agent sees the session (with it, or waiting in its teams).
async fn visible_session(
    state: &AppState,
    agent: AgentId,
    id: u64,
) -> Result<SessionRow, ApiError> {
    let session = SessionId(id);
    state
        .engine
        .read(move |core, _| {
            let st = core.state();
            st.sessions
                .get(&session)
                .filter(|s| sees(st, agent, s))
                .map(|s| row(st, s))
        })
        .await?
        .ok_or(ApiError::Auth(AuthError::NotFound))
}

/// The transcript of a session the agent serves or may pull (the last 1 000 messages).
#[utoipa::path(get, path = "/api/v1/me/sessions/{id}/messages", tag = "agent", params(("id" = u64, Path, description = "Session id")),
    responses((status = 200, body = [TranscriptEntry]), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = [])))]
async fn transcript(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
) -> Result<Json<Vec<TranscriptEntry>>, ApiError> {
    let agent = me(&auth.principal)?;
    visible_session(&state, agent, id).await?;
    records_caught_up(&state).await;
    Ok(Json(
        state.monitor.records().agent_transcript(SessionId(id)),
    ))
}

/// A reply.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "Olá! Em que posso ajudar?"}))]
pub struct ReplyBody {
    /// The text (1 to 4 096 characters).
    pub text: String,
}

/// The message id of a reply.
#[derive(Debug, Serialize, ToSchema)]
pub struct Posted {
    /// Our message id.
    pub message: Option<u64>,
}

/// Replies to the customer in a session the agent serves.
#[utoipa::path(post, path = "/api/v1/me/sessions/{id}/messages", tag = "agent", params(("id" = u64, Path, description = "Session id")),
    request_body = ReplyBody,
    responses((status = 201, body = Posted), (status = 404, body = ErrorBody),
              (status = 409, description = "`not_agents_session`, `session_not_open`", body = ErrorBody),
              (status = 422, description = "`invalid_input` (empty, or longer than 4 096 characters)", body = ErrorBody)),
    security(("session" = [])))]
async fn reply(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<ReplyBody>,
) -> Result<(StatusCode, Json<Posted>), ApiError> {
    let agent = me(&auth.principal)?;
    visible_session(&state, agent, id).await?;
    let done = state
        .engine
        .execute(Command::AgentMessage {
            session: SessionId(id),
            agent,
            text: body.text,
        })
        .await?;
    let message = done.events.iter().find_map(|e| match &e.kind {
        mirante_core::EventKind::MessagePosted { message, .. } => Some(message.0),
        _ => None,
    });
    Ok((StatusCode::CREATED, Json(Posted { message })))
}

/// Takes a waiting session of one of its teams in *todos* mode.
#[utoipa::path(post, path = "/api/v1/me/sessions/{id}/pull", tag = "agent", params(("id" = u64, Path, description = "Session id")),
    responses((status = 200, body = SessionRow), (status = 404, body = ErrorBody),
              (status = 409, description = "`wrong_phase` (someone else took it), `agent_not_online`, `agent_at_capacity`", body = ErrorBody),
              (status = 422, description = "`not_pull_mode`", body = ErrorBody)),
    security(("session" = [])))]
async fn pull(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
) -> Result<Json<SessionRow>, ApiError> {
    let agent = me(&auth.principal)?;
    let before = visible_session(&state, agent, id).await?;
    state
        .engine
        .execute(Command::PullSession {
            session: SessionId(id),
            agent,
        })
        .await?;
    audit(
        &state,
        &auth,
        "me.pull",
        format!("session:{id}"),
        before.team.map(TeamId),
        json!({}),
    )
    .await;
    Ok(Json(visible_session(&state, agent, id).await?))
}

/// Where to transfer: exactly one of `agent` and `team`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"team": 2}))]
pub struct TransferBody {
    /// To an online agent.
    #[serde(default)]
    pub agent: Option<u64>,
    /// To a team's queue.
    #[serde(default)]
    pub team: Option<u64>,
}

/// Transfers a session the agent serves to another agent (online, with free capacity) or
/// to a team's queue; the protocol and transcript go with it.
#[utoipa::path(post, path = "/api/v1/me/sessions/{id}/transfer", tag = "agent", params(("id" = u64, Path, description = "Session id")),
    request_body = TransferBody,
    responses((status = 204, description = "Transferred"), (status = 400, description = "`invalid_request`: not exactly one target", body = ErrorBody),
              (status = 404, description = "`not_found`, `unknown_agent`, `unknown_team`", body = ErrorBody),
              (status = 409, description = "`not_agents_session`, `agent_not_online`, `agent_at_capacity`, `transfer_to_same_place`, `team_disabled`", body = ErrorBody)),
    security(("session" = [])))]
async fn transfer(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<TransferBody>,
) -> Result<StatusCode, ApiError> {
    let agent = me(&auth.principal)?;
    let to = match (body.agent, body.team) {
        (Some(a), None) => Target::Agent(AgentId(a)),
        (None, Some(t)) => Target::Team(TeamId(t)),
        _ => {
            return Err(ApiError::BadRequest(
                "give exactly one of `agent` and `team`".into(),
            ));
        }
    };
    let before = visible_session(&state, agent, id).await?;
    state
        .engine
        .execute(Command::Transfer {
            session: SessionId(id),
            to,
            by: Actor::Agent(agent),
        })
        .await?;
    audit(
        &state,
        &auth,
        "me.transfer",
        format!("session:{id}"),
        before.team.map(TeamId),
        json!({"agent": body.agent, "team": body.team}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// How to finish.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"wrapup": "resolvido"}))]
pub struct FinishBody {
    /// Wrap-up code (*tabulação*): required when the team has codes.
    #[serde(default)]
    pub wrapup: Option<String>,
}

/// Finishes a session the agent serves (outcome: success); the team's closing message is
/// sent to the customer.
#[utoipa::path(post, path = "/api/v1/me/sessions/{id}/finish", tag = "agent", params(("id" = u64, Path, description = "Session id")),
    request_body = FinishBody,
    responses((status = 204, description = "Finished"), (status = 404, body = ErrorBody),
              (status = 409, description = "`not_agents_session`, `session_not_open`", body = ErrorBody),
              (status = 422, description = "`wrapup_required`, `unknown_wrapup`", body = ErrorBody)),
    security(("session" = [])))]
async fn finish(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<FinishBody>,
) -> Result<StatusCode, ApiError> {
    let agent = me(&auth.principal)?;
    let before = visible_session(&state, agent, id).await?;
    state
        .engine
        .execute(Command::Finish {
            session: SessionId(id),
            by: Actor::Agent(agent),
            wrapup: body.wrapup.clone(),
        })
        .await?;
    audit(
        &state,
        &auth,
        "me.finish",
        format!("session:{id}"),
        before.team.map(TeamId),
        json!({"wrapup": body.wrapup, "protocol": before.protocol}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

// ---- internal chat (M-11) ------------------------------------------------------------

/// The agent's conversations with supervisors.
#[utoipa::path(get, path = "/api/v1/me/chat", tag = "agent",
    responses((status = 200, body = [ConversationSummary]), (status = 403, body = ErrorBody)),
    security(("session" = [])))]
async fn conversations(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Vec<ConversationSummary>>, ApiError> {
    let agent = me(&auth.principal)?;
    records_caught_up(&state).await;
    Ok(Json(state.monitor.records().agent_conversations(agent)))
}

/// Waits (at most 2 s) until the records (the one copy of the internal chat) hold
/// everything durable, so an answer reflects the caller's own earlier requests.
async fn records_caught_up(state: &AppState) {
    let durable = state.engine.durable_seq();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        state.monitor.wait_records(durable),
    )
    .await;
}

/// 404 unless `id` is an enabled administrator's account.
async fn supervisor(state: &AppState, id: u64) -> Result<SupervisorId, ApiError> {
    state
        .auth
        .store(move |s| s.account(id))
        .await?
        .filter(|a| !a.disabled && matches!(a.kind, AccountKind::Admin { .. }))
        .map(|_| SupervisorId(id))
        .ok_or(ApiError::Auth(AuthError::NotFound))
}

/// The conversation with one supervisor (the last 500 messages, oldest first).
#[utoipa::path(get, path = "/api/v1/me/chat/{id}", tag = "agent", params(("id" = u64, Path, description = "The supervisor's account id")),
    responses((status = 200, body = [ChatEntry]), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = [])))]
async fn conversation(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
) -> Result<Json<Vec<ChatEntry>>, ApiError> {
    let agent = me(&auth.principal)?;
    let supervisor = supervisor(&state, id).await?;
    records_caught_up(&state).await;
    Ok(Json(
        state
            .monitor
            .records()
            .agent_conversation(agent, supervisor),
    ))
}

/// Writes to a supervisor.
#[utoipa::path(post, path = "/api/v1/me/chat/{id}", tag = "agent", params(("id" = u64, Path, description = "The supervisor's account id")),
    request_body = ReplyBody,
    responses((status = 204, description = "Sent"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, description = "`invalid_input`", body = ErrorBody)),
    security(("session" = [])))]
async fn send_chat(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<ReplyBody>,
) -> Result<StatusCode, ApiError> {
    let agent = me(&auth.principal)?;
    let supervisor = supervisor(&state, id).await?;
    state
        .engine
        .execute(Command::InternalMessage {
            agent,
            supervisor,
            from_agent: true,
            text: body.text,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Marks the supervisor's messages as read.
#[utoipa::path(post, path = "/api/v1/me/chat/{id}/read", tag = "agent", params(("id" = u64, Path, description = "The supervisor's account id")),
    responses((status = 204, description = "Read"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = [])))]
async fn read_chat(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    let agent = me(&auth.principal)?;
    let supervisor = supervisor(&state, id).await?;
    state
        .engine
        .execute(Command::InternalRead {
            agent,
            supervisor,
            by_agent: true,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
