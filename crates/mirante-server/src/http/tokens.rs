//! `/api/v1/tokens` (permission `users.manage`): API tokens for integrations. Created by an
//! administrator (cookie session), the secret is shown once and stored as its SHA-256
//! fingerprint; a token holds a subset of its creator's permissions and, optionally, of
//! its teams, is cut down to what the creator holds at each use, records its last use,
//! and is revoked for good. `Authorization: Bearer mrt_…` authenticates with it.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use mirante_auth::{AuthError, Permission, PrincipalKind, Scope, validate};
use mirante_core::TeamId;
use mirante_store::accounts::{AccountKind, ApiToken};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, Auth};
use super::{ApiError, AppState, ErrorBody};
use crate::auth::{AuthChange, group_from_record, secret};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

/// A token as listed (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// Id.
    pub id: u64,
    /// Label.
    pub name: String,
    /// The administrator it acts for.
    pub creator: u64,
    /// Permission names.
    pub permissions: Vec<String>,
    /// Team restriction (`null` = the creator's scope).
    pub teams: Option<Vec<u64>>,
    /// A channel token's channel (`POST /api/v1/channels/{channel}/tokens`).
    pub channel: Option<u64>,
    /// Created (ms).
    pub created_ms: i64,
    /// Last used (ms).
    pub last_used_ms: Option<i64>,
    /// Revoked (ms).
    pub revoked_ms: Option<i64>,
}

impl From<&ApiToken> for TokenView {
    fn from(t: &ApiToken) -> Self {
        TokenView {
            id: t.id,
            name: t.name.clone(),
            creator: t.creator,
            permissions: t.permissions.clone(),
            teams: t.teams.clone(),
            channel: t.channel,
            created_ms: t.created_ms,
            last_used_ms: t.last_used_ms,
            revoked_ms: t.revoked_ms,
        }
    }
}

/// A created token: the only answer that carries the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    /// The secret, shown once: `Authorization: Bearer <token>`.
    pub token: String,
    /// The token's record.
    #[serde(flatten)]
    pub record: TokenView,
}

/// A new token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Label, e.g. "WhatsApp webhook".
    pub name: String,
    /// Permission names (a subset of the creator's).
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Team restriction (within the creator's scope).
    #[serde(default)]
    pub teams: Option<Vec<u64>>,
}

/// The scope a token effectively has: its teams within its creator's group's scope.
async fn effective_scopes(
    state: &AppState,
    tokens: &[ApiToken],
) -> Result<BTreeMap<u64, Scope>, ApiError> {
    let accounts = state.auth.store(|s| s.accounts()).await?;
    let groups = state.auth.store(|s| s.groups()).await?;
    let group_scope: BTreeMap<u64, Scope> = groups
        .iter()
        .map(|g| (g.id, group_from_record(g).scope()))
        .collect();
    let creator_scope: BTreeMap<u64, Scope> = accounts
        .iter()
        .filter_map(|a| match a.kind {
            AccountKind::Admin { group } => Some((
                a.id,
                group_scope
                    .get(&group)
                    .cloned()
                    .unwrap_or(Scope::Teams(Default::default())),
            )),
            AccountKind::Agent { .. } => None,
        })
        .collect();
    Ok(tokens
        .iter()
        .map(|t| {
            let own = Scope::from_teams(
                t.teams
                    .as_ref()
                    .map(|v| v.iter().map(|&i| TeamId(i)).collect()),
            );
            let creator = creator_scope
                .get(&t.creator)
                .cloned()
                .unwrap_or(Scope::Teams(Default::default()));
            (t.id, creator.intersect(&own))
        })
        .collect())
}

/// Lists the tokens whose scope lies within the caller's (revoked ones included).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = [TokenView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn list_tokens(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<axum::Json<Vec<TokenView>>, ApiError> {
    auth.principal.require(Permission::UsersManage)?;
    let tokens = state.auth.store(|s| s.tokens()).await?;
    let scopes = effective_scopes(&state, &tokens).await?;
    Ok(axum::Json(
        tokens
            .iter()
            .filter(|t| {
                scopes
                    .get(&t.id)
                    .is_some_and(|s| auth.principal.scope.covers(s))
            })
            .map(TokenView::from)
            .collect(),
    ))
}

/// Creates a token for the calling administrator; the answer is the only time the secret
/// is shown.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewToken,
    responses((status = 201, body = CreatedToken),
              (status = 403, description = "`forbidden`: a permission the caller lacks, or not an administrator's session", body = ErrorBody),
              (status = 422, description = "`unknown_permission`, `unknown_team`, `empty_field`", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn create_token(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<(StatusCode, axum::Json<CreatedToken>), ApiError> {
    let principal = &auth.principal;
    principal.require(Permission::UsersManage)?;
    // Tokens are minted by people, not by other tokens.
    if !matches!(principal.kind, PrincipalKind::Admin { .. }) {
        return Err(AuthError::Forbidden.into());
    }
    let name = validate::name("name", &body.name, validate::MAX_NAME_CHARS)?;
    let permissions = body
        .permissions
        .iter()
        .map(|p| p.parse::<Permission>())
        .collect::<Result<std::collections::BTreeSet<_>, _>>()?;
    if let Some(teams) = &body.teams {
        let ids: Vec<TeamId> = teams.iter().map(|&i| TeamId(i)).collect();
        let wanted = ids.clone();
        let missing = state
            .engine
            .read(move |core, _| {
                wanted
                    .into_iter()
                    .find(|t| !core.state().teams.contains_key(t))
            })
            .await?;
        if let Some(team) =
            missing.or_else(|| ids.into_iter().find(|t| !principal.scope.sees_team(*t)))
        {
            return Err(AuthError::UnknownTeam(team).into());
        }
    }
    let scope = principal.scope.intersect(&Scope::from_teams(
        body.teams
            .as_ref()
            .map(|t| t.iter().map(|&i| TeamId(i)).collect()),
    ));
    principal.may_grant(false, &permissions, &scope)?;
    let secret = format!(
        "{}{}",
        secret::TOKEN_PREFIX,
        secret::random_secret().map_err(ApiError::Internal)?
    );
    let mut token = ApiToken {
        id: 0,
        name,
        secret_hash: secret::fingerprint(&secret),
        creator: principal.account.0,
        permissions: permissions.iter().map(|p| p.as_str().to_owned()).collect(),
        teams: body.teams.map(|mut t| {
            t.sort_unstable();
            t.dedup();
            t
        }),
        channel: None,
        created_ms: state.auth.now_ms(),
        last_used_ms: None,
        revoked_ms: None,
    };
    let record = token.clone();
    token.id = state.auth.store(move |s| s.insert_token(&record)).await?;
    let view = TokenView::from(&token);
    state
        .auth
        .audit_principal(
            principal,
            "token.create",
            &format!("token:{}", token.id),
            "ok",
            &auth.addr,
            token.teams.as_ref().and_then(|t| t.first().map(|&t| TeamId(t))),
            Some(serde_json::json!({"name": view.name, "permissions": view.permissions, "teams": view.teams})),
        )
        .await;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedToken {
            token: secret,
            record: view,
        }),
    ))
}

/// Revokes a token for good (404 when absent or outside the caller's scope).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens", params(("id" = u64, Path, description = "Token id")),
    responses((status = 204, description = "Revoked"), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn revoke_token(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
) -> Result<StatusCode, ApiError> {
    let principal = &auth.principal;
    principal.require(Permission::UsersManage)?;
    let tokens = state.auth.store(|s| s.tokens()).await?;
    let scopes = effective_scopes(&state, &tokens).await?;
    let token = tokens
        .iter()
        .find(|t| t.id == id)
        .filter(|t| scopes.get(&t.id).is_some_and(|s| principal.scope.covers(s)))
        .ok_or(AuthError::NotFound)?;
    let team = token
        .teams
        .as_ref()
        .and_then(|t| t.first().map(|&t| TeamId(t)));
    let now = state.auth.now_ms();
    state.auth.store(move |s| s.revoke_token(id, now)).await?;
    state.auth.changed(AuthChange::Token(id));
    state
        .auth
        .audit_principal(
            principal,
            "token.revoke",
            &format!("token:{id}"),
            "ok",
            &auth.addr,
            team,
            None,
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}
