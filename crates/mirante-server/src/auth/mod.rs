//! Accounts in the shell: the state the HTTP edge needs to authenticate (the account
//! port, the injected clock, the session policy, the throttles, the mailer), the building
//! of a [`Principal`] from a session cookie or an API token, and the audit function every
//! supervisor action calls.
//!
//! Every change that can end or narrow a caller's rights (a session ended, an account or a
//! group changed, a token revoked) is announced as an [`AuthChange`]: an open live stream
//! re-derives its principal from its [`Credential`] when one concerns it.
//!
//! The rules themselves (permissions, scope, validation, throttling policy) are pure and
//! live in `mirante-auth`; this module only does the IO around them. Every account-store
//! call and every password hash runs on Tokio's blocking pool.

pub mod mail;
pub mod secret;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use mirante_auth::{
    AccountId, AuthError, Group, GroupId, Permission, Principal, PrincipalKind, Scope,
    SessionPolicy, Throttle, ThrottleRule, TokenId,
};
use mirante_core::{AgentId, TeamId};
use mirante_store::accounts::{
    Account, AccountError, AccountKind, AccountStore, ApiToken, AuditEntry, GroupRecord, WebSession,
};

use crate::engine::{Clock, EngineHandle};
use crate::http::ApiError;
use mail::Mailer;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "mirante_session";

/// Accounts and sessions configuration.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Idle and absolute expiry of web sessions.
    pub sessions: SessionPolicy,
    /// The server's public URL (`https://…` behind TLS): the CSRF origin, the `Secure`
    /// cookie flag and the base of links in e-mails. `None`: taken from each request.
    pub public_url: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Lifetime of a password-reset link (ms).
    pub reset_ttl_ms: i64,
    /// Lifetime of the set-password link sent to a new account (ms).
    pub invite_ttl_ms: i64,
    /// Failed log-ins allowed per account (e-mail) in a window.
    pub account_throttle: ThrottleRule,
    /// Failed log-ins (and reset requests) allowed per source address in a window.
    pub address_throttle: ThrottleRule,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            sessions: SessionPolicy::default(),
            public_url: None,
            trusted_proxies: Vec::new(),
            reset_ttl_ms: 3_600_000,
            invite_ttl_ms: 72 * 3_600_000,
            account_throttle: ThrottleRule {
                max_failures: 5,
                window_ms: 15 * 60_000,
            },
            address_throttle: ThrottleRule {
                max_failures: 30,
                window_ms: 15 * 60_000,
            },
        }
    }
}

/// Everything the edge needs for accounts. Cheap to clone.
#[derive(Clone)]
pub struct AuthState {
    /// The account port.
    pub accounts: Arc<dyn AccountStore>,
    /// Wall clock (injectable: tests move it by hand).
    pub clock: Arc<dyn Clock + Sync>,
    /// Configuration.
    pub config: Arc<AuthConfig>,
    /// Outbound mail.
    pub mailer: Arc<dyn Mailer>,
    throttles: Arc<Mutex<Throttles>>,
    changes: tokio::sync::broadcast::Sender<AuthChange>,
}

/// How a caller authenticated, kept by a long-lived connection to check it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A web session: the fingerprint of its cookie.
    Session(String),
    /// An API token: the fingerprint of its secret.
    Token(String),
}

/// A change to accounts that may end or narrow someone's rights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthChange {
    /// One web session ended (its cookie's fingerprint).
    Session(String),
    /// An account changed (disabled, another group, password reset) or all its sessions ended.
    Account(u64),
    /// A user group's permissions or teams changed.
    Group(u64),
    /// An API token was revoked.
    Token(u64),
}

impl AuthChange {
    /// Whether this change may concern a caller that authenticated with `credential` as
    /// `principal` (a group change concerns every administrator: the principal does not
    /// keep its group).
    pub fn concerns(&self, credential: &Credential, principal: &Principal) -> bool {
        match self {
            AuthChange::Session(hash) => *credential == Credential::Session(hash.clone()),
            AuthChange::Account(id) => principal.account.0 == *id,
            AuthChange::Group(_) => !matches!(principal.kind, PrincipalKind::Agent { .. }),
            AuthChange::Token(id) => {
                matches!(principal.kind, PrincipalKind::Token { token, .. } if token.0 == *id)
            }
        }
    }
}

struct Throttles {
    accounts: Throttle,
    addresses: Throttle,
}

impl std::fmt::Debug for AuthState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Which throttle a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleKey {
    /// Per account (normalized e-mail).
    Account,
    /// Per source address.
    Address,
}

impl AuthState {
    /// The auth state over `accounts`.
    pub fn new(
        accounts: Arc<dyn AccountStore>,
        clock: Arc<dyn Clock + Sync>,
        config: AuthConfig,
        mailer: Arc<dyn Mailer>,
    ) -> AuthState {
        let throttles = Throttles {
            accounts: Throttle::new(config.account_throttle),
            addresses: Throttle::new(config.address_throttle),
        };
        AuthState {
            accounts,
            clock,
            config: Arc::new(config),
            mailer,
            throttles: Arc::new(Mutex::new(throttles)),
            changes: tokio::sync::broadcast::channel(256).0,
        }
    }

    /// Announces a change to accounts (to the open live streams).
    pub fn changed(&self, change: AuthChange) {
        // No receiver (no open stream) is not an error.
        let _ = self.changes.send(change);
    }

    /// The changes announced from now on.
    pub fn changes(&self) -> tokio::sync::broadcast::Receiver<AuthChange> {
        self.changes.subscribe()
    }

    /// The principal `credential` stands for now: what a request with it would get
    /// (an ended or expired session, a revoked token, a disabled account are refused). A
    /// session checked this way counts as active: an open monitor is being used.
    pub async fn revalidate(
        &self,
        engine: &EngineHandle,
        credential: &Credential,
    ) -> Result<Principal, ApiError> {
        match credential {
            Credential::Session(hash) => self.session_principal(engine, hash.clone()).await,
            Credential::Token(hash) => self.token_principal(hash.clone()).await,
        }
    }

    /// Now, in ms since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        self.clock.now().0
    }

    /// Runs `f` against the account store on the blocking pool.
    pub async fn store<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn AccountStore) -> Result<T, AccountError> + Send + 'static,
    {
        let accounts = Arc::clone(&self.accounts);
        tokio::task::spawn_blocking(move || f(accounts.as_ref()))
            .await
            .map_err(|e| ApiError::Internal(format!("account task failed: {e}")))?
            .map_err(ApiError::from)
    }

    /// `Err(seconds to wait)` when `key` is throttled now.
    pub fn throttled(&self, kind: ThrottleKey, key: &str) -> Result<(), AuthError> {
        let now = self.now_ms();
        let t = self
            .throttles
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let throttle = match kind {
            ThrottleKey::Account => &t.accounts,
            ThrottleKey::Address => &t.addresses,
        };
        throttle
            .check(key, now)
            .map_err(|ms| AuthError::TooManyAttempts(u64::try_from((ms + 999) / 1000).unwrap_or(1)))
    }

    /// Records a failure (or, with `success`, forgets the failures) of `key`.
    pub fn record_attempt(&self, kind: ThrottleKey, key: &str, success: bool) {
        let now = self.now_ms();
        let mut t = self
            .throttles
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let throttle = match kind {
            ThrottleKey::Account => &mut t.accounts,
            ThrottleKey::Address => &mut t.addresses,
        };
        if success {
            throttle.clear(key);
        } else {
            throttle.fail(key, now);
        }
    }

    /// Opens a new web session for `account` and returns the cookie value (the only place
    /// the secret exists; the store keeps its fingerprint).
    pub async fn open_session(
        &self,
        account: u64,
        addr: Option<String>,
    ) -> Result<String, ApiError> {
        let secret = secret::random_secret().map_err(ApiError::Internal)?;
        let now = self.now_ms();
        let session = WebSession {
            id_hash: secret::fingerprint(&secret),
            account,
            created_ms: now,
            last_seen_ms: now,
            addr,
        };
        self.store(move |s| s.insert_session(&session)).await?;
        Ok(secret)
    }

    /// Appends to the audit log. A failure to write is logged, never hidden: the
    /// caller's action already happened and is reported as it went.
    pub async fn audit(&self, entry: Audit<'_>) {
        let record = AuditEntry {
            id: 0,
            at_ms: self.now_ms(),
            actor: entry.actor.to_owned(),
            action: entry.action.to_owned(),
            target: entry.target.to_owned(),
            outcome: entry.outcome.to_owned(),
            addr: entry.addr.map(str::to_owned),
            team: entry.team.map(|t| t.0),
            detail: entry.detail.map(|d| d.to_string()),
        };
        if let Err(error) = self.store(move |s| s.append_audit(&record)).await {
            tracing::error!(
                ?error,
                action = entry.action,
                "could not write the audit log"
            );
        }
    }

    /// Records `action` by `principal` on `target` with `outcome` (`ok` or a refusal's
    /// code) from `addr`: the function every supervisor action (finish, transfer, pause,
    /// log-out, hide, follow, history, chat) and configuration change calls.
    #[allow(clippy::too_many_arguments)] // the audit record's fields, named at each call
    pub async fn audit_principal(
        &self,
        principal: &Principal,
        action: &str,
        target: &str,
        outcome: &str,
        addr: &str,
        team: Option<TeamId>,
        detail: Option<serde_json::Value>,
    ) {
        let actor = principal.audit_actor();
        self.audit(Audit {
            actor: &actor,
            action,
            target,
            outcome,
            addr: Some(addr),
            team,
            detail,
        })
        .await;
    }

    /// The principal of a web session, if the cookie names a live one; expired sessions
    /// are deleted. Activity is recorded at most once a minute.
    pub async fn principal_from_session(
        &self,
        engine: &EngineHandle,
        cookie: &str,
    ) -> Result<(Principal, String), ApiError> {
        let hash = secret::fingerprint(cookie);
        let principal = self.session_principal(engine, hash.clone()).await?;
        Ok((principal, hash))
    }

    /// The principal of the web session whose cookie fingerprint is `hash`.
    async fn session_principal(
        &self,
        engine: &EngineHandle,
        hash: String,
    ) -> Result<Principal, ApiError> {
        let lookup = hash.clone();
        let session = self
            .store(move |s| s.session(&lookup))
            .await?
            .ok_or(ApiError::Auth(AuthError::Unauthenticated))?;
        let now = self.now_ms();
        if !self
            .config
            .sessions
            .is_live(session.created_ms, session.last_seen_ms, now)
        {
            let gone = hash.clone();
            self.store(move |s| s.delete_session(&gone)).await?;
            return Err(ApiError::Auth(AuthError::Unauthenticated));
        }
        let account_id = session.account;
        let account = self
            .store(move |s| s.account(account_id))
            .await?
            .filter(|a| !a.disabled)
            .ok_or(ApiError::Auth(AuthError::Unauthenticated))?;
        if now - session.last_seen_ms >= 60_000 {
            self.store(move |s| s.touch_session(&hash, now)).await?;
        }
        self.principal_of(engine, &account).await
    }

    /// The principal of an API token (`Authorization: Bearer …`); revoked tokens and
    /// tokens whose creator is disabled or no longer an administrator are refused.
    pub async fn principal_from_token(&self, token: &str) -> Result<Principal, ApiError> {
        if !token.starts_with(secret::TOKEN_PREFIX) {
            return Err(ApiError::Auth(AuthError::Unauthenticated));
        }
        self.token_principal(secret::fingerprint(token)).await
    }

    /// The principal of the API token whose secret's fingerprint is `hash`.
    async fn token_principal(&self, hash: String) -> Result<Principal, ApiError> {
        let unauthenticated = || ApiError::Auth(AuthError::Unauthenticated);
        let record = self
            .store(move |s| s.token_by_hash(&hash))
            .await?
            .filter(|t| t.revoked_ms.is_none())
            .ok_or_else(unauthenticated)?;
        let creator = record.creator;
        let account = self
            .store(move |s| s.account(creator))
            .await?
            .filter(|a| !a.disabled)
            .ok_or_else(unauthenticated)?;
        let AccountKind::Admin { group } = account.kind else {
            return Err(unauthenticated());
        };
        let group = self.group(group).await?;
        let now = self.now_ms();
        let id = record.id;
        self.store(move |s| s.touch_token(id, now)).await?;
        Ok(token_principal(&account, &group, &record))
    }

    /// A user group as the rules see it (a missing group grants nothing).
    pub async fn group(&self, id: u64) -> Result<Group, ApiError> {
        let record = self.store(move |s| s.group(id)).await?;
        Ok(record.map_or_else(
            || Group {
                id: GroupId(id),
                name: String::new(),
                full: false,
                permissions: BTreeSet::new(),
                teams: Some(BTreeSet::new()),
            },
            |r| group_from_record(&r),
        ))
    }

    /// The principal of an account.
    pub async fn principal_of(
        &self,
        engine: &EngineHandle,
        account: &Account,
    ) -> Result<Principal, ApiError> {
        match account.kind {
            AccountKind::Admin { group } => {
                let group = self.group(group).await?;
                Ok(Principal::admin(AccountId(account.id), &group))
            }
            AccountKind::Agent { agent } => {
                let teams = agent_teams(engine, AgentId(agent))
                    .await?
                    .unwrap_or_default();
                Ok(Principal::agent(
                    AccountId(account.id),
                    AgentId(agent),
                    teams,
                ))
            }
        }
    }
}

/// One audit entry to write.
#[derive(Debug, Clone)]
pub struct Audit<'a> {
    /// Who (`admin:7`, `anonymous`, `cli`…).
    pub actor: &'a str,
    /// What (see `docs/permissions.md`).
    pub action: &'a str,
    /// On what.
    pub target: &'a str,
    /// `ok` or the refusal's code.
    pub outcome: &'a str,
    /// Source address.
    pub addr: Option<&'a str>,
    /// The target's team, if any.
    pub team: Option<TeamId>,
    /// Free detail.
    pub detail: Option<serde_json::Value>,
}

/// The teams of a core agent (`None` if it does not exist).
pub async fn agent_teams(
    engine: &EngineHandle,
    agent: AgentId,
) -> Result<Option<BTreeSet<TeamId>>, ApiError> {
    engine
        .read(move |core, _| {
            core.state()
                .agents
                .get(&agent)
                .map(|a| a.config.teams.clone())
        })
        .await
        .map_err(ApiError::from)
}

/// A stored group as the rules see it; unknown stored permission names are skipped.
pub fn group_from_record(r: &GroupRecord) -> Group {
    Group {
        id: GroupId(r.id),
        name: r.name.clone(),
        full: r.full,
        permissions: r
            .permissions
            .iter()
            .filter_map(|p| p.parse::<Permission>().ok())
            .collect(),
        teams: r
            .teams
            .as_ref()
            .map(|t| t.iter().map(|&i| TeamId(i)).collect()),
    }
}

/// The principal an API token acts as.
pub fn token_principal(creator: &Account, creator_group: &Group, token: &ApiToken) -> Principal {
    if let Some(channel) = token.channel {
        return Principal::channel_token(
            AccountId(creator.id),
            creator_group,
            TokenId(token.id),
            mirante_core::ChannelId(channel),
        );
    }
    let permissions: BTreeSet<Permission> = token
        .permissions
        .iter()
        .filter_map(|p| p.parse().ok())
        .collect();
    let teams = Scope::from_teams(
        token
            .teams
            .as_ref()
            .map(|t| t.iter().map(|&i| TeamId(i)).collect()),
    );
    Principal::token(
        AccountId(creator.id),
        creator_group,
        TokenId(token.id),
        &permissions,
        &teams,
    )
}

/// Creates an administrator (the CLI's `mirante admin create`); the password is hashed
/// here. Validation errors come back with their stable code.
pub fn create_admin(
    accounts: &dyn AccountStore,
    email: &str,
    name: &str,
    password: &str,
    group: u64,
    now_ms: i64,
) -> Result<u64, AdminError> {
    let email = mirante_auth::validate::email(email)?;
    let name = mirante_auth::validate::name("name", name, mirante_auth::validate::MAX_NAME_CHARS)?;
    mirante_auth::validate::password(password)?;
    if accounts.group(group)?.is_none() {
        return Err(AuthError::UnknownGroup.into());
    }
    let hash = secret::hash_password(password).map_err(AdminError::Hash)?;
    let account = Account {
        id: 0,
        email: email.clone(),
        name,
        nickname: None,
        kind: AccountKind::Admin { group },
        password_hash: Some(hash),
        disabled: false,
        created_ms: now_ms,
        updated_ms: now_ms,
    };
    let id = accounts.insert_account(&account)?;
    accounts.append_audit(&AuditEntry {
        id: 0,
        at_ms: now_ms,
        actor: "cli".into(),
        action: "user.create".into(),
        target: format!("user:{id}"),
        outcome: "ok".into(),
        addr: None,
        team: None,
        detail: Some(
            serde_json::json!({"email": email, "kind": "admin", "group": group}).to_string(),
        ),
    })?;
    Ok(id)
}

/// Sets a new password for the account with `email` and ends its sessions (the CLI's
/// `mirante admin reset-password`).
pub fn reset_password(
    accounts: &dyn AccountStore,
    email: &str,
    password: &str,
    now_ms: i64,
) -> Result<u64, AdminError> {
    let email = mirante_auth::validate::email(email)?;
    mirante_auth::validate::password(password)?;
    let mut account = accounts
        .account_by_email(&email)?
        .ok_or(AdminError::Auth(AuthError::NotFound))?;
    account.password_hash = Some(secret::hash_password(password).map_err(AdminError::Hash)?);
    account.updated_ms = now_ms;
    accounts.update_account(&account)?;
    accounts.delete_sessions_of(account.id)?;
    accounts.append_audit(&AuditEntry {
        id: 0,
        at_ms: now_ms,
        actor: "cli".into(),
        action: "auth.password_reset".into(),
        target: format!("user:{}", account.id),
        outcome: "ok".into(),
        addr: None,
        team: None,
        detail: None,
    })?;
    Ok(account.id)
}

/// Why a CLI account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A rule refused it.
    #[error("{}: {}", .0.code(), .0.message(mirante_core::Lang::En))]
    Auth(#[from] AuthError),
    /// The store refused it.
    #[error("{0}")]
    Store(#[from] AccountError),
    /// Hashing failed.
    #[error("{0}")]
    Hash(String),
}

/// Whether the database has at least one enabled administrator.
pub fn has_admin(accounts: &dyn AccountStore) -> Result<bool, AccountError> {
    Ok(accounts
        .accounts()?
        .iter()
        .any(|a| !a.disabled && matches!(a.kind, AccountKind::Admin { .. })))
}
