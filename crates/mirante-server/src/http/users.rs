//! `/api/v1/users` and `/api/v1/groups` (permission `users.manage`): administrators' and
//! agents' logins, and user groups (*Grupos de usuários*).
//!
//! Scope: a team-restricted administrator sees (and may touch) only agent logins whose
//! agent is in one of its teams, administrators whose group's scope lies within its own,
//! and such groups; anything else answers 404. Nobody grants more than it holds
//! ([`mirante_auth::Principal::may_grant`]): no full group unless full, no permission it
//! lacks, no team outside its scope. At least one enabled administrator with full
//! permission always remains (`last_full_admin`).

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use mirante_auth::{AuthError, Group, Permission, Principal, Scope, validate};
use mirante_core::{AgentId, TeamId};
use mirante_store::accounts::{Account, AccountError, AccountKind, GroupRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::{ApiJson, Auth, public_base};
use super::{ApiError, AppState, ErrorBody};
use crate::auth::{AuthChange, group_from_record, secret};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(list_groups, create_group))
        .routes(routes!(get_group, update_group))
}

/// A login as shown to administrators (never the password hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// Id.
    pub id: u64,
    /// Login e-mail.
    pub email: String,
    /// Name.
    pub name: String,
    /// *Codinome* (agents).
    pub nickname: Option<String>,
    /// `admin` or `agent`.
    pub kind: &'static str,
    /// User group (administrators).
    pub group: Option<u64>,
    /// Core agent (agents).
    pub agent: Option<u64>,
    /// Disabled accounts cannot log in.
    pub disabled: bool,
    /// Whether a password is set.
    pub has_password: bool,
    /// Created (ms since the epoch).
    pub created_ms: i64,
    /// Last changed (ms since the epoch).
    pub updated_ms: i64,
}

impl From<&Account> for UserView {
    fn from(a: &Account) -> Self {
        let (kind, group, agent) = match a.kind {
            AccountKind::Admin { group } => ("admin", Some(group), None),
            AccountKind::Agent { agent } => ("agent", None, Some(agent)),
        };
        UserView {
            id: a.id,
            email: a.email.clone(),
            name: a.name.clone(),
            nickname: a.nickname.clone(),
            kind,
            group,
            agent,
            disabled: a.disabled,
            has_password: a.password_hash.is_some(),
            created_ms: a.created_ms,
            updated_ms: a.updated_ms,
        }
    }
}

/// `admin` or `agent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserKind {
    /// An administrator / supervisor.
    Admin,
    /// An agent's login.
    Agent,
}

/// A new login. Without `password`, a set-password link is e-mailed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Login e-mail.
    pub email: String,
    /// Name.
    pub name: String,
    /// *Codinome*.
    #[serde(default)]
    pub nickname: Option<String>,
    /// Administrator or agent.
    pub kind: UserKind,
    /// User group (administrators; required).
    #[serde(default)]
    pub group: Option<u64>,
    /// Core agent (agents; required; must exist).
    #[serde(default)]
    pub agent: Option<u64>,
    /// Initial password (at least 10 characters).
    #[serde(default)]
    pub password: Option<String>,
}

/// Changes to a login; fields left out stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// New e-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New *codinome*.
    #[serde(default)]
    pub nickname: Option<String>,
    /// New user group (administrators).
    #[serde(default)]
    pub group: Option<u64>,
    /// Disable (ends its sessions) or enable.
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// A user group.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupView {
    /// Id.
    pub id: u64,
    /// Name.
    pub name: String,
    /// *Permissão total*.
    pub full: bool,
    /// Effective permissions.
    pub permissions: Vec<String>,
    /// Team restriction (`null` = every team).
    pub teams: Option<Vec<u64>>,
    /// The default group "Administrador".
    pub default: bool,
}

impl From<&Group> for GroupView {
    fn from(g: &Group) -> Self {
        GroupView {
            id: g.id.0,
            name: g.name.clone(),
            full: g.full,
            permissions: g
                .effective_permissions()
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            teams: g.teams.as_ref().map(|t| t.iter().map(|t| t.0).collect()),
            default: g.id.is_default(),
        }
    }
}

/// A new user group.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGroup {
    /// Name.
    pub name: String,
    /// *Permissão total*.
    #[serde(default)]
    pub full: bool,
    /// Permission names (`monitor.view`, …).
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Team restriction (`null` = every team).
    #[serde(default)]
    pub teams: Option<Vec<u64>>,
}

/// Changes to a user group; fields left out stay as they are. `teams: null` is "leave
/// as is"; to lift a restriction send `unrestricted: true`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPatch {
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// *Permissão total*.
    #[serde(default)]
    pub full: Option<bool>,
    /// New permission names.
    #[serde(default)]
    pub permissions: Option<Vec<String>>,
    /// New team restriction.
    #[serde(default)]
    pub teams: Option<Vec<u64>>,
    /// Lift the team restriction.
    #[serde(default)]
    pub unrestricted: bool,
}

/// What the caller sees of accounts and groups.
struct Visibility {
    scope: Scope,
    groups: BTreeMap<u64, Group>,
    agent_teams: BTreeMap<u64, BTreeSet<TeamId>>,
}

impl Visibility {
    async fn load(state: &AppState, principal: &Principal) -> Result<Visibility, ApiError> {
        let groups = state
            .auth
            .store(|s| s.groups())
            .await?
            .iter()
            .map(|r| (r.id, group_from_record(r)))
            .collect();
        let agent_teams = state
            .engine
            .read(|core, _| {
                core.state()
                    .agents
                    .iter()
                    .map(|(id, a)| (id.0, a.config.teams.clone()))
                    .collect()
            })
            .await?;
        Ok(Visibility {
            scope: principal.scope.clone(),
            groups,
            agent_teams,
        })
    }

    fn sees_group(&self, group: &Group) -> bool {
        self.scope.covers(&group.scope())
    }

    fn sees_account(&self, account: &Account) -> bool {
        if !self.scope.is_restricted() {
            return true;
        }
        match account.kind {
            AccountKind::Admin { group } => {
                self.groups.get(&group).is_some_and(|g| self.sees_group(g))
            }
            AccountKind::Agent { agent } => self
                .agent_teams
                .get(&agent)
                .is_some_and(|teams| self.scope.sees_agent(teams)),
        }
    }

    /// The team recorded with an audit entry about this account (its first visible team).
    fn team_of(&self, account: &Account) -> Option<TeamId> {
        match account.kind {
            AccountKind::Agent { agent } => self
                .agent_teams
                .get(&agent)
                .and_then(|t| t.iter().copied().find(|t| self.scope.sees_team(*t))),
            AccountKind::Admin { group } => self
                .groups
                .get(&group)
                .and_then(|g| g.teams.as_ref())
                .and_then(|t| t.iter().next().copied()),
        }
    }

    /// The visible group `id`, or `unknown_group`.
    fn group(&self, id: u64) -> Result<&Group, AuthError> {
        self.groups
            .get(&id)
            .filter(|g| self.sees_group(g))
            .ok_or(AuthError::UnknownGroup)
    }
}

/// Refuses unless the caller may grant everything `group` grants.
fn may_grant_group(principal: &Principal, group: &Group) -> Result<(), AuthError> {
    principal.may_grant(group.full, &group.effective_permissions(), &group.scope())
}

/// Whether, with `accounts` and `groups` as they would be, an enabled full admin remains.
fn has_full_admin(accounts: &[Account], groups: &BTreeMap<u64, Group>) -> bool {
    accounts.iter().any(|a| {
        !a.disabled
            && matches!(a.kind, AccountKind::Admin { group } if groups.get(&group).is_some_and(|g| g.full))
    })
}

fn optional_name(field: &'static str, value: Option<String>) -> Result<Option<String>, AuthError> {
    value
        .map(|v| validate::name(field, &v, validate::MAX_NAME_CHARS))
        .transpose()
}

/// Lists the logins the caller sees.
#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, body = [UserView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn list_users(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<axum::Json<Vec<UserView>>, ApiError> {
    auth.principal.require(Permission::UsersManage)?;
    let vis = Visibility::load(&state, &auth.principal).await?;
    let accounts = state.auth.store(|s| s.accounts()).await?;
    Ok(axum::Json(
        accounts
            .iter()
            .filter(|a| vis.sees_account(a))
            .map(UserView::from)
            .collect(),
    ))
}

/// One login (404 when absent or outside the caller's scope).
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = u64, Path, description = "Account id")),
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn get_user(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
) -> Result<axum::Json<UserView>, ApiError> {
    auth.principal.require(Permission::UsersManage)?;
    let vis = Visibility::load(&state, &auth.principal).await?;
    let account = visible_account(&state, &vis, id).await?;
    Ok(axum::Json(UserView::from(&account)))
}

async fn visible_account(state: &AppState, vis: &Visibility, id: u64) -> Result<Account, ApiError> {
    state
        .auth
        .store(move |s| s.account(id))
        .await?
        .filter(|a| vis.sees_account(a))
        .ok_or(ApiError::Auth(AuthError::NotFound))
}

/// Creates an administrator (in a group) or an agent login (linked to an existing core
/// agent). Without a password, a set-password link is e-mailed.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = UserView),
              (status = 409, description = "`email_taken`, `agent_already_linked`", body = ErrorBody),
              (status = 422, description = "`invalid_email`, `empty_field`, `field_too_long`, `weak_password`, `missing_field`, `unknown_group`, `unknown_agent`", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn create_user(
    State(state): State<AppState>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    super::extract::Tls(tls): super::extract::Tls,
    ApiJson(body): ApiJson<NewUser>,
) -> Result<(StatusCode, axum::Json<UserView>), ApiError> {
    let principal = &auth.principal;
    principal.require(Permission::UsersManage)?;
    let email = validate::email(&body.email)?;
    let name = validate::name("name", &body.name, validate::MAX_NAME_CHARS)?;
    let nickname = optional_name("nickname", body.nickname)?;
    if let Some(password) = &body.password {
        validate::password(password)?;
    }
    let vis = Visibility::load(&state, principal).await?;
    let kind = match body.kind {
        UserKind::Admin => {
            let group = body.group.ok_or(AuthError::MissingField("group"))?;
            may_grant_group(principal, vis.group(group)?)?;
            AccountKind::Admin { group }
        }
        UserKind::Agent => {
            let agent = body.agent.ok_or(AuthError::MissingField("agent"))?;
            let visible = vis
                .agent_teams
                .get(&agent)
                .is_some_and(|teams| vis.scope.sees_agent(teams));
            if !visible {
                return Err(AuthError::UnknownAgent(AgentId(agent)).into());
            }
            AccountKind::Agent { agent }
        }
    };
    let password_hash = match body.password {
        Some(password) => Some(
            tokio::task::spawn_blocking(move || secret::hash_password(&password))
                .await
                .map_err(|e| ApiError::Internal(format!("hashing failed: {e}")))?
                .map_err(ApiError::Internal)?,
        ),
        None => None,
    };
    let now = state.auth.now_ms();
    let mut account = Account {
        id: 0,
        email: email.clone(),
        name,
        nickname,
        kind,
        password_hash,
        disabled: false,
        created_ms: now,
        updated_ms: now,
    };
    let record = account.clone();
    account.id = match state
        .auth
        .store(move |s| Ok(s.insert_account(&record)))
        .await?
    {
        Ok(id) => id,
        Err(AccountError::AgentTaken) => {
            let agent = body.agent.unwrap_or_default();
            return Err(AuthError::AgentAlreadyLinked(AgentId(agent)).into());
        }
        Err(other) => return Err(other.into()),
    };
    if account.password_hash.is_none() {
        let base = public_base(&headers, &state.auth.config, tls);
        super::auth::send_password_link(
            &state,
            account.id,
            &email,
            &base,
            state.auth.config.invite_ttl_ms,
        )
        .await?;
    }
    let target = format!("user:{}", account.id);
    let view = UserView::from(&account);
    state
        .auth
        .audit_principal(
            principal,
            "user.create",
            &target,
            "ok",
            &auth.addr,
            vis.team_of(&account),
            Some(serde_json::json!({"email": view.email, "kind": view.kind, "group": view.group, "agent": view.agent})),
        )
        .await;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

/// Changes a login: e-mail, name, nickname, group (administrators), disabled (ends its
/// sessions).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = u64, Path, description = "Account id")),
    request_body = UserPatch,
    responses((status = 200, body = UserView), (status = 404, body = ErrorBody),
              (status = 409, description = "`email_taken`, `last_full_admin`", body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn update_user(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<UserPatch>,
) -> Result<axum::Json<UserView>, ApiError> {
    let principal = &auth.principal;
    principal.require(Permission::UsersManage)?;
    let email = body.email.as_deref().map(validate::email).transpose()?;
    let name = optional_name("name", body.name)?;
    let nickname = optional_name("nickname", body.nickname)?;
    let vis = Visibility::load(&state, principal).await?;
    let before = visible_account(&state, &vis, id).await?;
    let mut after = before.clone();
    let mut changed = Vec::new();
    if let AccountKind::Admin { group } = before.kind {
        // Touching an administrator needs the right to grant what it holds.
        may_grant_group(principal, vis.group(group)?)?;
    }
    if let Some(group) = body.group {
        let AccountKind::Admin { .. } = before.kind else {
            return Err(AuthError::UnknownGroup.into());
        };
        may_grant_group(principal, vis.group(group)?)?;
        after.kind = AccountKind::Admin { group };
        changed.push("group");
    }
    if let Some(email) = email {
        after.email = email;
        changed.push("email");
    }
    if let Some(name) = name {
        after.name = name;
        changed.push("name");
    }
    if let Some(nickname) = nickname {
        after.nickname = Some(nickname);
        changed.push("nickname");
    }
    if let Some(disabled) = body.disabled {
        after.disabled = disabled;
        changed.push("disabled");
    }
    let accounts = state.auth.store(|s| s.accounts()).await?;
    let would_be: Vec<Account> = accounts
        .into_iter()
        .map(|a| if a.id == id { after.clone() } else { a })
        .collect();
    if !has_full_admin(&would_be, &vis.groups) {
        return Err(AuthError::LastFullAdmin.into());
    }
    after.updated_ms = state.auth.now_ms();
    let record = after.clone();
    state
        .auth
        .store(move |s| {
            s.update_account(&record)?;
            if record.disabled {
                s.delete_sessions_of(record.id)?;
            }
            Ok::<_, AccountError>(())
        })
        .await?;
    state.auth.changed(AuthChange::Account(id));
    let target = format!("user:{id}");
    state
        .auth
        .audit_principal(
            principal,
            "user.update",
            &target,
            "ok",
            &auth.addr,
            vis.team_of(&after),
            Some(serde_json::json!({ "changed": changed })),
        )
        .await;
    Ok(axum::Json(UserView::from(&after)))
}

/// Lists the user groups the caller sees.
#[utoipa::path(get, path = "/api/v1/groups", tag = "users",
    responses((status = 200, body = [GroupView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn list_groups(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<axum::Json<Vec<GroupView>>, ApiError> {
    auth.principal.require(Permission::UsersManage)?;
    let vis = Visibility::load(&state, &auth.principal).await?;
    Ok(axum::Json(
        vis.groups
            .values()
            .filter(|g| vis.sees_group(g))
            .map(GroupView::from)
            .collect(),
    ))
}

/// One user group (404 when absent or outside the caller's scope).
#[utoipa::path(get, path = "/api/v1/groups/{id}", tag = "users", params(("id" = u64, Path, description = "Group id")),
    responses((status = 200, body = GroupView), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn get_group(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
) -> Result<axum::Json<GroupView>, ApiError> {
    auth.principal.require(Permission::UsersManage)?;
    let vis = Visibility::load(&state, &auth.principal).await?;
    let group = vis.group(id).map_err(|_| AuthError::NotFound)?;
    Ok(axum::Json(GroupView::from(group)))
}

/// Parses permission names (`unknown_permission`) and checks the teams exist and are
/// within the caller's scope (`unknown_team`, the same answer for both).
async fn checked_grant(
    state: &AppState,
    principal: &Principal,
    permissions: &[String],
    teams: Option<&[u64]>,
) -> Result<(BTreeSet<Permission>, Option<BTreeSet<TeamId>>), ApiError> {
    let permissions = permissions
        .iter()
        .map(|p| p.parse::<Permission>())
        .collect::<Result<BTreeSet<_>, _>>()?;
    let teams = match teams {
        None => None,
        Some(ids) => {
            let ids: BTreeSet<TeamId> = ids.iter().map(|&i| TeamId(i)).collect();
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
            Some(ids)
        }
    };
    Ok((permissions, teams))
}

/// Creates a user group: full, or a set of permissions; optionally restricted to teams
/// (which must exist).
#[utoipa::path(post, path = "/api/v1/groups", tag = "users", request_body = NewGroup,
    responses((status = 201, body = GroupView),
              (status = 422, description = "`unknown_permission`, `unknown_team`, `empty_field`, `field_too_long`", body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn create_group(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<NewGroup>,
) -> Result<(StatusCode, axum::Json<GroupView>), ApiError> {
    let principal = &auth.principal;
    principal.require(Permission::UsersManage)?;
    let name = validate::name("name", &body.name, validate::MAX_NAME_CHARS)?;
    let (permissions, teams) =
        checked_grant(&state, principal, &body.permissions, body.teams.as_deref()).await?;
    let mut group = Group {
        id: mirante_auth::GroupId(0),
        name,
        full: body.full,
        permissions: if body.full {
            BTreeSet::new()
        } else {
            permissions
        },
        teams,
    };
    may_grant_group(principal, &group)?;
    let record = to_record(&group);
    group.id = mirante_auth::GroupId(state.auth.store(move |s| s.insert_group(&record)).await?);
    let view = GroupView::from(&group);
    state
        .auth
        .audit_principal(
            principal,
            "group.create",
            &format!("group:{}", group.id),
            "ok",
            &auth.addr,
            group.teams.as_ref().and_then(|t| t.iter().next().copied()),
            Some(serde_json::json!({"name": view.name, "full": view.full, "permissions": view.permissions, "teams": view.teams})),
        )
        .await;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

fn to_record(group: &Group) -> GroupRecord {
    GroupRecord {
        id: group.id.0,
        name: group.name.clone(),
        full: group.full,
        permissions: group
            .permissions
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect(),
        teams: group
            .teams
            .as_ref()
            .map(|t| t.iter().map(|t| t.0).collect()),
    }
}

/// Changes a user group (its members' rights change with their next request).
#[utoipa::path(patch, path = "/api/v1/groups/{id}", tag = "users", params(("id" = u64, Path, description = "Group id")),
    request_body = GroupPatch,
    responses((status = 200, body = GroupView), (status = 404, body = ErrorBody),
              (status = 409, description = "`last_full_admin`", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn update_group(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<u64>,
    ApiJson(body): ApiJson<GroupPatch>,
) -> Result<axum::Json<GroupView>, ApiError> {
    let principal = &auth.principal;
    principal.require(Permission::UsersManage)?;
    let name = optional_name("name", body.name)?;
    let vis = Visibility::load(&state, principal).await?;
    let before = vis.group(id).map_err(|_| AuthError::NotFound)?.clone();
    may_grant_group(principal, &before)?;
    let (permissions, teams) = checked_grant(
        &state,
        principal,
        body.permissions.as_deref().unwrap_or_default(),
        body.teams.as_deref(),
    )
    .await?;
    let mut after = before.clone();
    if let Some(name) = name {
        after.name = name;
    }
    if let Some(full) = body.full {
        after.full = full;
    }
    if body.permissions.is_some() {
        after.permissions = permissions;
    }
    if body.unrestricted {
        after.teams = None;
    } else if teams.is_some() {
        after.teams = teams;
    }
    if after.full {
        after.permissions = BTreeSet::new();
    }
    may_grant_group(principal, &after)?;
    let mut groups = vis.groups.clone();
    groups.insert(id, after.clone());
    let accounts = state.auth.store(|s| s.accounts()).await?;
    if !has_full_admin(&accounts, &groups) {
        return Err(AuthError::LastFullAdmin.into());
    }
    let record = to_record(&after);
    state.auth.store(move |s| s.update_group(&record)).await?;
    state.auth.changed(AuthChange::Group(id));
    let view = GroupView::from(&after);
    state
        .auth
        .audit_principal(
            principal,
            "group.update",
            &format!("group:{id}"),
            "ok",
            &auth.addr,
            after.teams.as_ref().and_then(|t| t.iter().next().copied()),
            Some(serde_json::json!({"name": view.name, "full": view.full, "permissions": view.permissions, "teams": view.teams})),
        )
        .await;
    Ok(axum::Json(view))
}
