//! The accounts port: administrators' and agents' logins, user groups, web sessions, API
//! tokens, password-reset tokens and the append-only audit log (issue 3, R-3).
//!
//! Records are plain data (ids, strings, milliseconds since the Unix epoch): the access
//! rules live in `mirante-auth`, the hashing and HTTP in `mirante-server`. Secrets are
//! never stored: sessions, API tokens and reset tokens are kept as a hash of their random
//! value, passwords as an Argon2id PHC string.
//!
//! Unlike [`crate::EventStore`], this port is **blocking and object-safe**: it serves a
//! low rate of small reads and writes (log-ins, admin screens, audit appends) that the
//! server runs on Tokio's blocking pool, and a `dyn AccountStore` keeps the HTTP state free
//! of backend generics. Every backend passes [`contract`].

pub mod contract;
mod memory;

pub use memory::MemoryAccounts;

use crate::StoreError;

/// The id of the default group, created with the schema ("Administrador", full).
pub const DEFAULT_GROUP_ID: u64 = 1;
/// The default group's name.
pub const DEFAULT_GROUP_NAME: &str = "Administrador";

/// What an account logs in as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    /// An administrator / supervisor, member of a user group.
    Admin {
        /// Its user group.
        group: u64,
    },
    /// An agent's login, linked to the core agent (one login per agent).
    Agent {
        /// The core agent's id.
        agent: u64,
    },
}

/// A login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Id (ignored by `insert_account`, which allocates one).
    pub id: u64,
    /// Login e-mail, normalized (lower case); unique.
    pub email: String,
    /// Full name.
    pub name: String,
    /// *Codinome* (agents).
    pub nickname: Option<String>,
    /// Administrator or agent.
    pub kind: AccountKind,
    /// Argon2id PHC string; `None` until a password is set.
    pub password_hash: Option<String>,
    /// Disabled accounts cannot log in.
    pub disabled: bool,
    /// Creation time (ms).
    pub created_ms: i64,
    /// Last change (ms).
    pub updated_ms: i64,
}

/// A user group (*Grupo de usuários*).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    /// Id (ignored by `insert_group`).
    pub id: u64,
    /// Name.
    pub name: String,
    /// *Permissão total*.
    pub full: bool,
    /// Permission names.
    pub permissions: Vec<String>,
    /// Team restriction (`None` = every team).
    pub teams: Option<Vec<u64>>,
}

/// A web (cookie) session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    /// Hash of the cookie's random value (hex); the value itself is never stored.
    pub id_hash: String,
    /// Whose session.
    pub account: u64,
    /// Log-in time (ms), for the absolute expiry.
    pub created_ms: i64,
    /// Last request (ms), for the idle expiry.
    pub last_seen_ms: i64,
    /// Source address at log-in.
    pub addr: Option<String>,
}

/// An API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Id (ignored by `insert_token`).
    pub id: u64,
    /// Label.
    pub name: String,
    /// Hash of the secret (hex); unique.
    pub secret_hash: String,
    /// The administrator who created it (it acts for them).
    pub creator: u64,
    /// Permission names.
    pub permissions: Vec<String>,
    /// Team restriction (`None` = the creator's whole scope).
    pub teams: Option<Vec<u64>>,
    /// A channel token: it authenticates only that channel's integration API
    /// (`/api/v1/channels/{channel}/…`) and carries no other permission.
    pub channel: Option<u64>,
    /// Creation time (ms).
    pub created_ms: i64,
    /// Last use (ms).
    pub last_used_ms: Option<i64>,
    /// Revocation time (ms); a revoked token never authenticates again.
    pub revoked_ms: Option<i64>,
}

/// A single-use password set/reset token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetToken {
    /// Hash of the token (hex).
    pub hash: String,
    /// Whose password it sets.
    pub account: u64,
    /// Creation time (ms).
    pub created_ms: i64,
    /// Invalid from this time on (ms).
    pub expires_ms: i64,
}

/// One audit entry. Append-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Id, increasing (ignored by `append_audit`).
    pub id: u64,
    /// When (ms).
    pub at_ms: i64,
    /// Who: `admin:7`, `agent:3`, `token:2`, `anonymous`, `cli`.
    pub actor: String,
    /// What, e.g. `auth.login`, `user.create` (see `docs/permissions.md`).
    pub action: String,
    /// On what, e.g. `user:4`, `session:91`, or the e-mail tried at log-in.
    pub target: String,
    /// Result: `ok`, or the refusal's code.
    pub outcome: String,
    /// Source address.
    pub addr: Option<String>,
    /// The team the target belongs to, when it has one (team-restricted readers see only
    /// their teams' entries).
    pub team: Option<u64>,
    /// Free detail (JSON text), e.g. the changed fields.
    pub detail: Option<String>,
}

/// A filter over the audit log; entries come newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditQuery {
    /// From this time (ms, inclusive).
    pub from_ms: Option<i64>,
    /// Up to this time (ms, exclusive).
    pub to_ms: Option<i64>,
    /// Exact actor.
    pub actor: Option<String>,
    /// Exact action.
    pub action: Option<String>,
    /// Exact target.
    pub target: Option<String>,
    /// Only entries whose team is one of these (`None` = no team filter; entries without
    /// a team are then excluded when `Some`).
    pub teams: Option<Vec<u64>>,
    /// Only entries with an id below this (paging backwards).
    pub before_id: Option<u64>,
    /// At most this many.
    pub limit: usize,
}

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Another account has this e-mail.
    #[error("e-mail already in use")]
    EmailTaken,
    /// Another account is linked to this agent.
    #[error("agent already linked to an account")]
    AgentTaken,
    /// No such record.
    #[error("not found")]
    NotFound,
    /// The backend failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The accounts port (blocking, object-safe; see the module docs).
pub trait AccountStore: Send + Sync + 'static {
    /// Every user group, by id.
    fn groups(&self) -> Result<Vec<GroupRecord>, AccountError>;
    /// One group.
    fn group(&self, id: u64) -> Result<Option<GroupRecord>, AccountError>;
    /// Creates a group; returns its id.
    fn insert_group(&self, group: &GroupRecord) -> Result<u64, AccountError>;
    /// Replaces a group (`NotFound` if absent).
    fn update_group(&self, group: &GroupRecord) -> Result<(), AccountError>;

    /// Every account, by id.
    fn accounts(&self) -> Result<Vec<Account>, AccountError>;
    /// One account.
    fn account(&self, id: u64) -> Result<Option<Account>, AccountError>;
    /// The account with this (normalized) e-mail.
    fn account_by_email(&self, email: &str) -> Result<Option<Account>, AccountError>;
    /// Creates an account; `EmailTaken` / `AgentTaken` on a duplicate.
    fn insert_account(&self, account: &Account) -> Result<u64, AccountError>;
    /// Replaces an account; `NotFound`, `EmailTaken`.
    fn update_account(&self, account: &Account) -> Result<(), AccountError>;

    /// Stores a new web session.
    fn insert_session(&self, session: &WebSession) -> Result<(), AccountError>;
    /// The session with this id hash.
    fn session(&self, id_hash: &str) -> Result<Option<WebSession>, AccountError>;
    /// Records activity on a session.
    fn touch_session(&self, id_hash: &str, now_ms: i64) -> Result<(), AccountError>;
    /// Deletes one session; whether it existed.
    fn delete_session(&self, id_hash: &str) -> Result<bool, AccountError>;
    /// Deletes every session of an account; how many.
    fn delete_sessions_of(&self, account: u64) -> Result<u64, AccountError>;

    /// Stores a new API token; returns its id.
    fn insert_token(&self, token: &ApiToken) -> Result<u64, AccountError>;
    /// Every API token (revoked ones too), by id.
    fn tokens(&self) -> Result<Vec<ApiToken>, AccountError>;
    /// The token whose secret has this hash.
    fn token_by_hash(&self, secret_hash: &str) -> Result<Option<ApiToken>, AccountError>;
    /// Records a use of a token.
    fn touch_token(&self, id: u64, now_ms: i64) -> Result<(), AccountError>;
    /// Revokes a token (idempotent); `NotFound` if absent.
    fn revoke_token(&self, id: u64, now_ms: i64) -> Result<(), AccountError>;

    /// Stores a password set/reset token.
    fn insert_reset(&self, reset: &ResetToken) -> Result<(), AccountError>;
    /// Consumes a reset token: the account it belongs to if it exists and has not expired
    /// at `now_ms`; it can never be used again either way.
    fn take_reset(&self, hash: &str, now_ms: i64) -> Result<Option<u64>, AccountError>;

    /// Appends an audit entry; returns its id.
    fn append_audit(&self, entry: &AuditEntry) -> Result<u64, AccountError>;
    /// Audit entries matching `query`, newest first.
    fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, AccountError>;

    /// One preference of an account (a small JSON text, e.g. the monitor's hidden cards).
    fn preference(&self, account: u64, key: &str) -> Result<Option<String>, AccountError>;
    /// Sets (or, with `None`, removes) one preference of an account.
    fn set_preference(
        &self,
        account: u64,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), AccountError>;
}

impl AuditQuery {
    /// Whether `entry` passes the filter (used by the memory backend and the contract).
    pub fn matches(&self, entry: &AuditEntry) -> bool {
        self.from_ms.is_none_or(|from| entry.at_ms >= from)
            && self.to_ms.is_none_or(|to| entry.at_ms < to)
            && self.actor.as_ref().is_none_or(|a| &entry.actor == a)
            && self.action.as_ref().is_none_or(|a| &entry.action == a)
            && self.target.as_ref().is_none_or(|t| &entry.target == t)
            && self
                .teams
                .as_ref()
                .is_none_or(|teams| entry.team.is_some_and(|t| teams.contains(&t)))
            && self.before_id.is_none_or(|b| entry.id < b)
    }
}
