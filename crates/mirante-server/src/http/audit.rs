//! `/api/v1/audit` and `/api/v1/audit.csv` (permission `audit.view`): the append-only
//! audit log, filtered by period, actor, action and target, newest first. A
//! team-restricted reader sees only entries tagged with one of its teams.

use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use mirante_auth::{AuthError, Permission};
use mirante_store::accounts::{AuditEntry, AuditQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::Auth;
use super::{ApiError, AppState, ErrorBody};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(csv))
}

/// Most entries one JSON page returns.
pub const MAX_PAGE: usize = 1000;
/// Most entries one CSV export returns.
pub const MAX_EXPORT: usize = 100_000;

/// Filters. Times are milliseconds since the epoch or RFC 3339 (`2026-11-23T10:00:00Z`).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// From (inclusive).
    pub from: Option<String>,
    /// To (exclusive).
    pub to: Option<String>,
    /// Exact actor, e.g. `admin:1`.
    pub actor: Option<String>,
    /// Exact action, e.g. `auth.login`.
    pub action: Option<String>,
    /// Exact target, e.g. `user:4`.
    pub target: Option<String>,
    /// Entries with an id below this (paging).
    pub before: Option<u64>,
    /// Page size (default 100, at most 1000; the CSV ignores it).
    pub limit: Option<usize>,
}

/// One audit entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    /// Id (increasing).
    pub id: u64,
    /// When (ms since the epoch).
    pub at_ms: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// On what.
    pub target: String,
    /// `ok` or the refusal's code.
    pub outcome: String,
    /// Source address.
    pub addr: Option<String>,
    /// The target's team.
    pub team: Option<u64>,
    /// Detail (JSON).
    pub detail: Option<serde_json::Value>,
}

impl From<&AuditEntry> for AuditView {
    fn from(e: &AuditEntry) -> Self {
        AuditView {
            id: e.id,
            at_ms: e.at_ms,
            at: rfc3339(e.at_ms),
            actor: e.actor.clone(),
            action: e.action.clone(),
            target: e.target.clone(),
            outcome: e.outcome.clone(),
            addr: e.addr.clone(),
            team: e.team,
            detail: e
                .detail
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok()),
        }
    }
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn parse_time(field: &'static str, raw: &str) -> Result<i64, ApiError> {
    raw.trim()
        .parse::<i64>()
        .ok()
        .or_else(|| {
            chrono::DateTime::parse_from_rfc3339(raw.trim())
                .ok()
                .map(|t| t.timestamp_millis())
        })
        .ok_or_else(|| ApiError::BadRequest(format!("`{field}` is not a time: {raw}")))
}

fn query(auth: &Auth, filter: AuditFilter, limit: usize) -> Result<AuditQuery, ApiError> {
    auth.principal.require(Permission::AuditView)?;
    let too_long = |v: &Option<String>, field| {
        if v.as_ref().is_some_and(|v| v.chars().count() > 320) {
            Err(ApiError::Auth(AuthError::FieldTooLong { field, max: 320 }))
        } else {
            Ok(())
        }
    };
    too_long(&filter.actor, "actor")?;
    too_long(&filter.action, "action")?;
    too_long(&filter.target, "target")?;
    Ok(AuditQuery {
        from_ms: filter
            .from
            .as_deref()
            .map(|v| parse_time("from", v))
            .transpose()?,
        to_ms: filter
            .to
            .as_deref()
            .map(|v| parse_time("to", v))
            .transpose()?,
        actor: filter.actor,
        action: filter.action,
        target: filter.target,
        teams: auth
            .principal
            .scope
            .teams()
            .map(|t| t.iter().map(|t| t.0).collect()),
        before_id: filter.before,
        limit,
    })
}

/// Audit entries, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditFilter),
    responses((status = 200, body = [AuditView]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Query(filter): Query<AuditFilter>,
) -> Result<axum::Json<Vec<AuditView>>, ApiError> {
    let limit = filter.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let q = query(&auth, filter, limit)?;
    let entries = state.auth.store(move |s| s.audit(&q)).await?;
    Ok(axum::Json(entries.iter().map(AuditView::from).collect()))
}

/// The same entries as CSV (`id,at,actor,action,target,outcome,addr,team,detail`).
#[utoipa::path(get, path = "/api/v1/audit.csv", tag = "audit", params(AuditFilter),
    responses((status = 200, description = "text/csv", content_type = "text/csv", body = String),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn csv(
    State(state): State<AppState>,
    auth: Auth,
    Query(filter): Query<AuditFilter>,
) -> Result<Response, ApiError> {
    let q = query(&auth, filter, MAX_EXPORT)?;
    let entries = state.auth.store(move |s| s.audit(&q)).await?;
    let mut out = String::from("id,at,actor,action,target,outcome,addr,team,detail\r\n");
    for e in &entries {
        let row = [
            e.id.to_string(),
            rfc3339(e.at_ms),
            e.actor.clone(),
            e.action.clone(),
            e.target.clone(),
            e.outcome.clone(),
            e.addr.clone().unwrap_or_default(),
            e.team.map(|t| t.to_string()).unwrap_or_default(),
            e.detail.clone().unwrap_or_default(),
        ];
        let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    Ok((
        [
            (CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                CONTENT_DISPOSITION,
                "attachment; filename=\"mirante-audit.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}

/// RFC 4180 quoting; a cell a spreadsheet would run as a formula is prefixed with `'`.
fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_cell("a"), "a");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=1+1"), "'=1+1");
    }
}
