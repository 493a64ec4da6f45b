//! Supervisor actions on sessions: finish (M-43, `session.finish`) and transfer (M-42,
//! `session.transfer`), single or bulk with per-session results (M-12, M-21, B-3); follow a
//! session (M-40, `session.follow`) with the supervisors following it (B-5); the contact's
//! history with transcripts (M-41, `session.history`).
//!
//! Scope: a session outside the caller's scope is reported per session as `unknown_session`
//! (exactly like one that does not exist) and never touched; a transfer target outside the
//! scope is refused like an unknown one. The cap (settings `bulk_cap`, default 5) counts every
//! requested session: over it, `bulk_cap_exceeded` (422) and nothing is done. Every
//! per-session outcome is audited (`session.finish`, `session.transfer`).

use std::collections::BTreeSet;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use mirante_auth::{AuthError, Permission};
use mirante_core::{
    Actor, AgentId, BulkAction, BulkCommand, DomainError, Lang, SessionId, SupervisorId, Target,
    TeamId,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, Auth};
use super::{ApiError, AppState, ErrorBody, lang_from_headers};
use crate::monitor::{Follower, MessageView, SessionRecord};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(finish))
        .routes(routes!(transfer))
        .routes(routes!(follow))
        .routes(routes!(history))
}

/// How long an action waits for the monitor to show its effect before answering.
pub(crate) const READ_YOUR_WRITES: Duration = Duration::from_secs(2);

/// Finish sessions (one or several).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinishRequest {
    /// The sessions (a single finish is a list of one; at most the bulk cap, default 5).
    pub sessions: Vec<u64>,
    /// Wrap-up code applied to each.
    #[serde(default)]
    pub wrapup: Option<String>,
}

/// Where to transfer: `{"agent": id}` or `{"team": id}`.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferTo {
    /// To an online agent.
    Agent(u64),
    /// To a team's queue.
    Team(u64),
}

/// Transfer sessions (one or several).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The sessions (at most the bulk cap, default 5).
    pub sessions: Vec<u64>,
    /// Where to.
    pub to: TransferTo,
}

/// The result for one session (B-3).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SessionResult {
    /// The session.
    pub session: u64,
    /// Done.
    pub ok: bool,
    /// Why not (stable code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Why not, in the caller's language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The answer to a finish or transfer.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkAnswer {
    /// The sequence number after the action (the monitor shows it).
    pub seq: u64,
    /// One result per requested session, in request order.
    pub results: Vec<SessionResult>,
}

fn refused(session: u64, error: &DomainError, lang: Lang) -> SessionResult {
    SessionResult {
        session,
        ok: false,
        code: Some(error.code().to_owned()),
        message: Some(error.message(lang)),
    }
}

async fn bulk(
    state: &AppState,
    auth: &Auth,
    lang: Lang,
    sessions: Vec<u64>,
    action: BulkAction,
) -> Result<BulkAnswer, ApiError> {
    let audit_action = match action {
        BulkAction::Finish { .. } => "session.finish",
        BulkAction::Transfer { .. } => "session.transfer",
    };
    let target = match &action {
        BulkAction::Transfer { to } => Some(*to),
        BulkAction::Finish { .. } => None,
    };
    let ids: Vec<SessionId> = sessions.iter().copied().map(SessionId).collect();
    let lookup = ids.clone();
    let (cap, teams, target_teams) = state
        .engine
        .read(move |core, _| {
            let st = core.state();
            let teams: Vec<Option<Option<TeamId>>> = lookup
                .iter()
                .map(|s| st.sessions.get(s).map(|x| x.team))
                .collect();
            let target_teams = target.map(|t| match t {
                Target::Agent(a) => st.agents.get(&a).map(|x| x.config.teams.clone()),
                Target::Team(t) => st.teams.get(&t).map(|_| BTreeSet::from([t])),
            });
            (st.settings.bulk_cap, teams, target_teams)
        })
        .await?;
    // Refusals of the whole request, counted over every requested session.
    if ids.is_empty() {
        return Err(ApiError::Domain(DomainError::BulkEmpty));
    }
    if ids.len() > cap {
        return Err(ApiError::Domain(DomainError::BulkCapExceeded {
            cap,
            requested: ids.len(),
        }));
    }
    let mut seen = BTreeSet::new();
    if let Some(dup) = ids.iter().find(|s| !seen.insert(**s)) {
        return Err(ApiError::Domain(DomainError::BulkDuplicate(*dup)));
    }
    let scope = &auth.principal.scope;
    if let (Some(to), Some(found)) = (target, target_teams) {
        let visible = match (to, &found) {
            (Target::Agent(_), Some(teams)) => scope.sees_agent(teams),
            (Target::Team(t), Some(_)) => scope.sees_team(t),
            (_, None) => false,
        };
        if !visible {
            return Err(ApiError::Domain(match to {
                Target::Agent(a) => DomainError::UnknownAgent(a),
                Target::Team(t) => DomainError::UnknownTeam(t),
            }));
        }
    }
    // Out of scope: reported like a session that does not exist, never sent to the core.
    let in_scope: Vec<SessionId> = ids
        .iter()
        .zip(&teams)
        .filter(|(_, team)| team.is_none_or(|t| scope.sees_session(t)))
        .map(|(s, _)| *s)
        .collect();
    let by = Actor::Supervisor(SupervisorId(auth.principal.account.0));
    let (seq, mut done) = if in_scope.is_empty() {
        (state.engine.durable_seq(), Vec::new())
    } else {
        let executed = state
            .engine
            .execute_bulk(BulkCommand {
                sessions: in_scope,
                action,
                by,
            })
            .await?;
        (executed.seq, executed.outcome.results)
    };
    let mut results = Vec::with_capacity(ids.len());
    for (s, team) in ids.iter().zip(&teams) {
        let result = match done.iter().position(|r| r.session == *s) {
            Some(i) => {
                let r = done.swap_remove(i);
                match r.result {
                    Ok(()) => SessionResult {
                        session: s.0,
                        ok: true,
                        code: None,
                        message: None,
                    },
                    Err(e) => refused(s.0, &e, lang),
                }
            }
            None => refused(s.0, &DomainError::UnknownSession(*s), lang),
        };
        let outcome = result.code.clone().unwrap_or_else(|| "ok".to_owned());
        let visible_team = team.flatten().filter(|t| scope.sees_team(*t));
        state
            .auth
            .audit_principal(
                &auth.principal,
                audit_action,
                &format!("session:{}", s.0),
                &outcome,
                &auth.addr,
                visible_team,
                target.map(|t| serde_json::json!({ "to": t })),
            )
            .await;
        results.push(result);
    }
    let _ = tokio::time::timeout(READ_YOUR_WRITES, state.monitor.wait_for(seq)).await;
    Ok(BulkAnswer { seq, results })
}

/// Finish sessions (M-43, M-12, M-21; any open phase, even in the bot). A list of one is a
/// single finish. Over the cap: 422 `bulk_cap_exceeded`, nothing done. Per-session results
/// (B-3) in the caller's language.
#[utoipa::path(post, path = "/api/v1/sessions/finish", tag = "sessions", request_body = FinishRequest,
    responses((status = 200, body = BulkAnswer), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, description = "empty, duplicate or over the cap", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn finish(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    ApiJson(body): ApiJson<FinishRequest>,
) -> Result<axum::Json<BulkAnswer>, ApiError> {
    auth.principal.require(Permission::SessionFinish)?;
    let lang = lang_from_headers(&headers);
    let action = BulkAction::Finish {
        wrapup: body.wrapup,
    };
    bulk(&state, &auth, lang, body.sessions, action)
        .await
        .map(axum::Json)
}

/// Transfer sessions to an agent or a team (M-42, M-12, M-21). Over the cap: 422
/// `bulk_cap_exceeded`, nothing done; an unknown (or out-of-scope) target: 404.
#[utoipa::path(post, path = "/api/v1/sessions/transfer", tag = "sessions", request_body = TransferRequest,
    responses((status = 200, body = BulkAnswer), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "unknown target", body = ErrorBody),
              (status = 422, description = "empty, duplicate or over the cap", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn transfer(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    ApiJson(body): ApiJson<TransferRequest>,
) -> Result<axum::Json<BulkAnswer>, ApiError> {
    auth.principal.require(Permission::SessionTransfer)?;
    let lang = lang_from_headers(&headers);
    let to = match body.to {
        TransferTo::Agent(a) => Target::Agent(AgentId(a)),
        TransferTo::Team(t) => Target::Team(TeamId(t)),
    };
    bulk(
        &state,
        &auth,
        lang,
        body.sessions,
        BulkAction::Transfer { to },
    )
    .await
    .map(axum::Json)
}

/// A followed session: its row, transcript so far and who follows it (M-40, B-5).
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowAnswer {
    /// The session's row (as in the monitor).
    #[schema(value_type = super::schema::SessionViewSchema)]
    pub session: mirante_monitor::SessionView<'static>,
    /// Its transcript so far (oldest first).
    pub messages: Vec<MessageView>,
    /// Older messages are not kept in memory.
    pub truncated: bool,
    /// Supervisors following it live now (B-5).
    pub followers: Vec<Follower>,
}

/// Follow a session (M-40): its transcript so far and the supervisors following it now
/// (B-5). Live messages come on the stream (`{"type":"follow","session":id}`).
#[utoipa::path(get, path = "/api/v1/sessions/{id}/follow", tag = "sessions",
    params(("id" = u64, Path, description = "session id")),
    responses((status = 200, body = FollowAnswer), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "not open, or outside the caller's scope", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn follow(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
) -> Result<axum::Json<FollowAnswer>, ApiError> {
    auth.principal.require(Permission::SessionFollow)?;
    let session = SessionId(id);
    let vis = super::monitor::visibility(&state, &auth.principal).await;
    let now = state.monitor.now();
    let (row, team) = {
        let live = state.monitor.live();
        let m = &live.monitor;
        if !m.session_visible(session, &vis) {
            return Err(ApiError::Auth(AuthError::NotFound));
        }
        (m.row(session, now), m.session(session).and_then(|s| s.team))
    };
    let row = row.ok_or(ApiError::Auth(AuthError::NotFound))?;
    let durable = state.engine.durable_seq();
    let _ = tokio::time::timeout(READ_YOUR_WRITES, state.monitor.wait_records(durable)).await;
    let (messages, truncated) = {
        let records = state.monitor.records();
        records.session(session).map_or((Vec::new(), false), |r| {
            (r.messages.iter().cloned().collect(), r.truncated)
        })
    };
    state
        .auth
        .audit_principal(
            &auth.principal,
            "session.follow_start",
            &format!("session:{id}"),
            "ok",
            &auth.addr,
            team,
            Some(serde_json::json!({ "via": "rest" })),
        )
        .await;
    Ok(axum::Json(FollowAnswer {
        session: row,
        messages,
        truncated,
        followers: state.monitor.followers(session),
    }))
}

/// Most earlier sessions a history answer carries.
const HISTORY_LIMIT: usize = 100;

/// A contact's history (M-41).
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryAnswer {
    /// The contact.
    pub contact: u64,
    /// The session asked about.
    pub session: u64,
    /// The contact's other sessions within the caller's scope, newest first (at most the
    /// 100 newest), with their transcripts (open ones from memory, finished ones from the
    /// durable archive).
    pub sessions: Vec<SessionRecord>,
}

/// *Conferir histórico* (M-41): the earlier sessions of the session's contact, with their
/// transcripts, within the caller's scope.
#[utoipa::path(get, path = "/api/v1/sessions/{id}/history", tag = "sessions",
    params(("id" = u64, Path, description = "session id (open or recently finished)")),
    responses((status = 200, body = HistoryAnswer), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, description = "unknown, or outside the caller's scope", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn history(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
) -> Result<axum::Json<HistoryAnswer>, ApiError> {
    auth.principal.require(Permission::SessionHistory)?;
    let session = SessionId(id);
    let scope = auth.principal.scope.clone();
    let durable = state.engine.durable_seq();
    let _ = tokio::time::timeout(READ_YOUR_WRITES, state.monitor.wait_records(durable)).await;
    // An open session's scope is its current team (the monitor); a finished one's, its last.
    let open_team = state
        .monitor
        .live()
        .monitor
        .session(session)
        .map(|s| s.team);
    let open = state
        .monitor
        .records()
        .session(session)
        .map(|r| (r.contact, r.team));
    let (contact, last_team) = match open {
        Some(found) => found,
        None => state
            .monitor
            .archived_session(session)
            .await
            .map_err(ApiError::Store)?
            .map(|r| (r.contact, r.team))
            .ok_or(ApiError::Auth(AuthError::NotFound))?,
    };
    let team = open_team.unwrap_or(last_team);
    if !scope.sees_session(team) {
        return Err(ApiError::Auth(AuthError::NotFound));
    }
    let answer = HistoryAnswer {
        contact: contact.0,
        session: id,
        sessions: state
            .monitor
            .contact_history(contact, HISTORY_LIMIT + 1)
            .await
            .map_err(ApiError::Store)?
            .into_iter()
            .filter(|r| r.id != session && scope.sees_session(r.team))
            .take(HISTORY_LIMIT)
            .collect(),
    };
    state
        .auth
        .audit_principal(
            &auth.principal,
            "session.history_view",
            &format!("session:{id}"),
            "ok",
            &auth.addr,
            open_team.flatten(),
            Some(serde_json::json!({ "contact": answer.contact })),
        )
        .await;
    Ok(axum::Json(answer))
}
