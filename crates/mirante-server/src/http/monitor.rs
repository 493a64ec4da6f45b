//! `/api/v1/monitor…` (permission `monitor.view`): the *Monitoramento* screen as one answer
//! (counters, Agentes / Equipes / Fases, from one state at one `seq`, B-2), the filter
//! options within the caller's scope, and the caller's own hidden cards (M-14, M-23).
//!
//! Scope: the principal's team restriction becomes the monitor's `Visibility`, applied inside
//! the read model (M-60): out-of-scope sessions, agents and teams are absent from every list,
//! counter and option; hiding an out-of-scope agent or team answers 404 like an unknown one.

use std::collections::BTreeSet;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use mirante_auth::{Permission, Principal};
use mirante_core::{AgentId, ChannelId, TeamId};
use mirante_monitor::{Filter, Visibility};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::Auth;
use super::schema;
use super::{ApiError, AppState, ErrorBody};
use crate::monitor::stream::{HIDDEN_KEY, Hidden, load_hidden};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(monitor_view))
        .routes(routes!(monitor_options))
        .routes(routes!(hidden_list))
        .routes(routes!(hide_agent, unhide_agent))
        .routes(routes!(hide_team, unhide_team))
}

/// The monitor's visibility for `principal`: its scope's teams and its hidden cards.
pub(crate) async fn visibility(state: &AppState, principal: &Principal) -> Visibility {
    let (hidden_agents, hidden_teams) = load_hidden(&state.auth, principal.account.0).await;
    Visibility {
        teams: principal.scope.teams().cloned(),
        hidden_agents,
        hidden_teams,
    }
}

/// Decodes `%XX` and `+` of a query component.
fn decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The funnel filter from the query string (M-55: the URL carries the filter):
/// `agent`, `team`, `channel` repeatable (or comma-separated), `contact`, `protocol`.
pub(crate) fn filter_from_query(query: Option<&str>) -> Result<Filter, ApiError> {
    let mut filter = Filter::default();
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(k);
        let value = decode(v);
        let ids = || -> Result<Vec<u64>, ApiError> {
            value
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    s.trim()
                        .parse::<u64>()
                        .map_err(|_| ApiError::BadRequest(format!("`{key}` must be a numeric id")))
                })
                .collect()
        };
        match key.as_str() {
            "agent" | "agents" => filter.agents.extend(ids()?.into_iter().map(AgentId)),
            "team" | "teams" => filter.teams.extend(ids()?.into_iter().map(TeamId)),
            "channel" | "channels" => filter.channels.extend(ids()?.into_iter().map(ChannelId)),
            "contact" => filter.contact = Some(value),
            "protocol" => filter.protocol = Some(value),
            // Stream parameters share the same query string.
            "resume_from" | "frame_ms" => {}
            other => return Err(ApiError::BadRequest(format!("unknown parameter `{other}`"))),
        }
    }
    Ok(filter)
}

/// The Monitoramento screen (M-1…M-55, B-1, B-2): `seq`, `counters {geral, auto, espera,
/// humano}` (filtered), `unfiltered_counters`, `filtered`, `protocol_not_open`,
/// `protocol_status`, the Agentes and Equipes cards and the Fases rows. Filters: `agent`,
/// `team`, `channel` (repeatable: OR within a kind), `contact` (exact name or number),
/// `protocol`; AND across kinds.
#[utoipa::path(get, path = "/api/v1/monitor", tag = "monitor",
    params(
        ("agent" = Option<Vec<u64>>, Query, description = "M-50, repeatable"),
        ("team" = Option<Vec<u64>>, Query, description = "M-51, repeatable"),
        ("channel" = Option<Vec<u64>>, Query, description = "M-52, repeatable"),
        ("contact" = Option<String>, Query, description = "M-53: name exactly, or number (punctuation ignored)"),
        ("protocol" = Option<String>, Query, description = "M-54"),
    ),
    responses((status = 200, body = schema::MonitorViewSchema), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn monitor_view(
    State(state): State<AppState>,
    auth: Auth,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    auth.principal.require(Permission::MonitorView)?;
    let filter = filter_from_query(query.as_deref())?;
    let vis = visibility(&state, &auth.principal).await;
    let now = state.monitor.now();
    let json = |body: Vec<u8>| ([(CONTENT_TYPE, "application/json")], body).into_response();
    // The view borrows the model (no reference taken per row: P3), so it is written — once,
    // into a buffer of its size, the rows field by field: the same bytes as `serde_json`,
    // several times faster — while the model's read lock is held, which holds back the live
    // task's next event for that long (~2–3 ms for 7 000 rows). A larger answer takes a
    // reference on each of its rows instead and is written after the lock is released, so
    // that no request holds the lock for longer than about that (the whole 100 000-row
    // screen would hold it ~50 ms).
    let owned = {
        let live = state.monitor.live();
        let view = live.monitor.view(&filter, &vis, now);
        if view.rows() <= WRITE_UNDER_LOCK_ROWS {
            return Ok(json(view.to_json()));
        }
        view.into_owned()
    };
    Ok(json(owned.to_json()))
}

/// The largest answer of `GET /api/v1/monitor` written under the model's read lock (rows).
const WRITE_UNDER_LOCK_ROWS: usize = 10_000;

/// What the funnel offers (M-50…M-52): agents, teams and channels within the caller's scope.
#[utoipa::path(get, path = "/api/v1/monitor/options", tag = "monitor",
    responses((status = 200, body = schema::FilterOptionsSchema), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn monitor_options(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<axum::Json<mirante_monitor::FilterOptions>, ApiError> {
    auth.principal.require(Permission::MonitorView)?;
    let vis = visibility(&state, &auth.principal).await;
    let options = state.monitor.live().monitor.filter_options(&vis);
    Ok(axum::Json(options))
}

/// The caller's hidden agent and team cards (M-14, M-23).
#[utoipa::path(get, path = "/api/v1/monitor/hidden", tag = "monitor",
    responses((status = 200, body = Hidden), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn hidden_list(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<axum::Json<Hidden>, ApiError> {
    auth.principal.require(Permission::MonitorView)?;
    let (agents, teams) = load_hidden(&state.auth, auth.principal.account.0).await;
    Ok(axum::Json(Hidden { agents, teams }))
}

enum Card {
    Agent(AgentId),
    Team(TeamId),
}

async fn set_hidden(
    state: &AppState,
    auth: &Auth,
    card: Card,
    hide: bool,
) -> Result<StatusCode, ApiError> {
    auth.principal.require(Permission::MonitorView)?;
    let vis = Visibility {
        teams: auth.principal.scope.teams().cloned(),
        ..Visibility::default()
    };
    let (visible, team) = {
        let live = state.monitor.live();
        let m = &live.monitor;
        match card {
            Card::Agent(a) => (m.agent(a).is_some() && m.agent_visible(a, &vis), None),
            Card::Team(t) => (m.team(t).is_some() && m.team_visible(t, &vis), Some(t)),
        }
    };
    if !visible {
        return Err(ApiError::Auth(mirante_auth::AuthError::NotFound));
    }
    let account = auth.principal.account.0;
    let (mut agents, mut teams): (BTreeSet<AgentId>, BTreeSet<TeamId>) =
        load_hidden(&state.auth, account).await;
    let target = match card {
        Card::Agent(a) => {
            if hide {
                agents.insert(a);
            } else {
                agents.remove(&a);
            }
            format!("agent:{}", a.0)
        }
        Card::Team(t) => {
            if hide {
                teams.insert(t);
            } else {
                teams.remove(&t);
            }
            format!("team:{}", t.0)
        }
    };
    let value = serde_json::to_string(&Hidden { agents, teams })
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    state
        .auth
        .store(move |s| s.set_preference(account, HIDDEN_KEY, Some(&value)))
        .await?;
    state.monitor.prefs_changed(account);
    state
        .auth
        .audit_principal(
            &auth.principal,
            "session.hide",
            &target,
            "ok",
            &auth.addr,
            team,
            Some(serde_json::json!({ "hidden": hide })),
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

/// *Ocultar do painel* (M-14): hides an agent's card from the caller's Agentes tab only.
#[utoipa::path(put, path = "/api/v1/monitor/hidden/agents/{id}", tag = "monitor",
    params(("id" = u64, Path, description = "agent id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn hide_agent(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    set_hidden(&state, &auth, Card::Agent(AgentId(id)), true).await
}

/// Shows a hidden agent card again.
#[utoipa::path(delete, path = "/api/v1/monitor/hidden/agents/{id}", tag = "monitor",
    params(("id" = u64, Path, description = "agent id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn unhide_agent(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    set_hidden(&state, &auth, Card::Agent(AgentId(id)), false).await
}

/// *Ocultar equipe do painel* (M-23): hides a team's card from the caller's Equipes tab only.
#[utoipa::path(put, path = "/api/v1/monitor/hidden/teams/{id}", tag = "monitor",
    params(("id" = u64, Path, description = "team id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn hide_team(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    set_hidden(&state, &auth, Card::Team(TeamId(id)), true).await
}

/// Shows a hidden team card again.
#[utoipa::path(delete, path = "/api/v1/monitor/hidden/teams/{id}", tag = "monitor",
    params(("id" = u64, Path, description = "team id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn unhide_team(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    set_hidden(&state, &auth, Card::Team(TeamId(id)), false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m55_repeatable_and_encoded_parameters() {
        let f = filter_from_query(Some(
            "agent=1&agent=2&team=3,4&channel=5&contact=Maria+Luiza%20Reis&protocol=2026",
        ))
        .unwrap_or_default();
        assert_eq!(f.agents.len(), 2);
        assert_eq!(f.teams.len(), 2);
        assert_eq!(f.channels.len(), 1);
        assert_eq!(f.contact.as_deref(), Some("Maria Luiza Reis"));
        assert_eq!(f.protocol.as_deref(), Some("2026"));
        assert!(filter_from_query(Some("agent=x")).is_err());
        assert!(filter_from_query(Some("nope=1")).is_err());
    }
}
