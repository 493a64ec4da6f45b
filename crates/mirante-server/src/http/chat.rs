//! The supervisor's side of the internal chat (M-11, permission `chat.internal`): the
//! conversations with unread counts per agent (the badge on the Agentes tab), one
//! conversation, send, mark read. The supervisor is the caller (`SupervisorId(account)`);
//! an agent outside its scope answers 404 like an unknown one. Messages live in the event
//! log (`InternalMessageSent`, `InternalMessagesRead`) and are read from the service's
//! in-memory records; new ones are pushed on the live stream (`{"type":"chat",…}`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use mirante_auth::Permission;
use mirante_core::{AgentId, Command, DomainError, EventKind, SupervisorId};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, Auth};
use super::sessions::READ_YOUR_WRITES;
use super::{ApiError, AppState, ErrorBody};
use crate::monitor::{ChatMessage, ChatSummary};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(conversations))
        .routes(routes!(conversation, send))
        .routes(routes!(mark_read))
}

/// A message to an agent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatSend {
    /// The text.
    pub text: String,
}

/// Paging of a conversation.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ChatPage {
    /// Only messages with an id below this.
    pub before: Option<u64>,
    /// At most this many (default 100, max 500), the newest.
    pub limit: Option<usize>,
}

async fn visible_agent(state: &AppState, auth: &Auth, agent: AgentId) -> Result<(), ApiError> {
    match crate::auth::agent_teams(&state.engine, agent).await? {
        Some(teams) if auth.principal.scope.sees_agent(&teams) => Ok(()),
        _ => Err(ApiError::Domain(DomainError::UnknownAgent(agent))),
    }
}

async fn records_current(state: &AppState) {
    let durable = state.engine.durable_seq();
    let _ = tokio::time::timeout(READ_YOUR_WRITES, state.monitor.wait_records(durable)).await;
}

/// The caller's conversations with agents in its scope, with unread counts (M-11 badges).
#[utoipa::path(get, path = "/api/v1/chat", tag = "chat",
    responses((status = 200, body = Vec<ChatSummary>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn conversations(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<axum::Json<Vec<ChatSummary>>, ApiError> {
    auth.principal.require(Permission::ChatInternal)?;
    records_current(&state).await;
    let me = SupervisorId(auth.principal.account.0);
    let vis = mirante_monitor::Visibility {
        teams: auth.principal.scope.teams().cloned(),
        ..Default::default()
    };
    let all = state.monitor.records().summaries(me);
    let live = state.monitor.live();
    Ok(axum::Json(
        all.into_iter()
            .filter(|s| live.monitor.agent_visible(s.agent, &vis))
            .collect(),
    ))
}

/// One conversation with an agent, oldest first.
#[utoipa::path(get, path = "/api/v1/chat/{agent}", tag = "chat",
    params(("agent" = u64, Path, description = "agent id"), ChatPage),
    responses((status = 200, body = Vec<ChatMessage>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn conversation(
    State(state): State<AppState>,
    auth: Auth,
    Path(agent): Path<u64>,
    Query(page): Query<ChatPage>,
) -> Result<axum::Json<Vec<ChatMessage>>, ApiError> {
    auth.principal.require(Permission::ChatInternal)?;
    let agent = AgentId(agent);
    visible_agent(&state, &auth, agent).await?;
    records_current(&state).await;
    let me = SupervisorId(auth.principal.account.0);
    let limit = page.limit.unwrap_or(100).clamp(1, 500);
    Ok(axum::Json(state.monitor.records().conversation(
        me,
        agent,
        page.before,
        limit,
    )))
}

/// Send a message to an agent (M-11); audited `chat.internal`.
#[utoipa::path(post, path = "/api/v1/chat/{agent}", tag = "chat", request_body = ChatSend,
    params(("agent" = u64, Path, description = "agent id")),
    responses((status = 201, body = ChatMessage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, description = "empty or too long", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn send(
    State(state): State<AppState>,
    auth: Auth,
    Path(agent): Path<u64>,
    ApiJson(body): ApiJson<ChatSend>,
) -> Result<(StatusCode, axum::Json<ChatMessage>), ApiError> {
    auth.principal.require(Permission::ChatInternal)?;
    let agent = AgentId(agent);
    visible_agent(&state, &auth, agent).await?;
    let me = SupervisorId(auth.principal.account.0);
    let result = state
        .engine
        .execute(Command::InternalMessage {
            agent,
            supervisor: me,
            from_agent: false,
            text: body.text,
        })
        .await
        .map_err(ApiError::from);
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => e.code(),
    };
    state
        .auth
        .audit_principal(
            &auth.principal,
            "chat.internal",
            &format!("agent:{}", agent.0),
            outcome,
            &auth.addr,
            None,
            None,
        )
        .await;
    let executed = result?;
    let message = executed
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::InternalMessageSent {
                message,
                agent,
                supervisor,
                from_agent,
                text,
            } => Some(ChatMessage {
                id: message.0,
                at: e.at,
                agent: *agent,
                supervisor: *supervisor,
                from_agent: *from_agent,
                text: text.clone(),
            }),
            _ => None,
        })
        .ok_or_else(|| ApiError::Internal("no internal message event".into()))?;
    let _ = tokio::time::timeout(READ_YOUR_WRITES, state.monitor.wait_records(executed.seq)).await;
    Ok((StatusCode::CREATED, axum::Json(message)))
}

/// Mark the conversation with an agent as read by the caller (clears the badge).
#[utoipa::path(post, path = "/api/v1/chat/{agent}/read", tag = "chat",
    params(("agent" = u64, Path, description = "agent id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn mark_read(
    State(state): State<AppState>,
    auth: Auth,
    Path(agent): Path<u64>,
) -> Result<StatusCode, ApiError> {
    auth.principal.require(Permission::ChatInternal)?;
    let agent = AgentId(agent);
    visible_agent(&state, &auth, agent).await?;
    let executed = state
        .engine
        .execute(Command::InternalRead {
            agent,
            supervisor: SupervisorId(auth.principal.account.0),
            by_agent: false,
        })
        .await?;
    let _ = tokio::time::timeout(READ_YOUR_WRITES, state.monitor.wait_records(executed.seq)).await;
    Ok(StatusCode::NO_CONTENT)
}
