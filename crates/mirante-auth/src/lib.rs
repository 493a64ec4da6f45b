//! Mirante's access rules, pure: who may see and do what, exact to the team (SPEC M-60,
//! §2 *Administrador* / *Grupo de usuários*).
//!
//! - [`Permission`]: the closed set of permission names (`monitor.view`, …), refused with a
//!   stable code when unknown.
//! - [`Group`]: *permissão total* or a set of permissions, plus an optional team
//!   restriction (*visualização apenas por equipe*).
//! - [`Principal`]: who is asking (an administrator, an agent or an API token), with its
//!   effective permissions and its [`Scope`]; [`Principal::require`] is the one permission
//!   check every handler makes.
//! - [`Scope`]: **the one visibility decision** ([`Scope::sees_team`],
//!   [`Scope::sees_agent`], [`Scope::sees_session`]); every read path and every action
//!   filters or refuses through it.
//! - [`validate`]: e-mail, names and password policy, with stable codes.
//! - [`Throttle`]: the login throttling policy, a pure sliding window over failures.
//!
//! No IO, no clock, no async: time comes in as milliseconds since the Unix epoch.

mod error;
mod group;
mod permission;
mod principal;
mod scope;
mod throttle;
pub mod validate;

pub use error::AuthError;
pub use group::{Group, GroupId};
pub use mirante_core::Lang;
pub use permission::Permission;
pub use principal::{AccountId, Principal, PrincipalKind, TokenId};
pub use scope::Scope;
pub use throttle::{Throttle, ThrottleRule};

/// How long a web session lives: idle and absolute limits (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Expires after this long without a request.
    pub idle_ms: i64,
    /// Expires this long after the log-in, whatever the activity.
    pub absolute_ms: i64,
}

impl Default for SessionPolicy {
    /// 8 hours idle, 7 days absolute.
    fn default() -> Self {
        Self {
            idle_ms: 8 * 3_600_000,
            absolute_ms: 7 * 24 * 3_600_000,
        }
    }
}

impl SessionPolicy {
    /// Whether a session created at `created_ms` and last used at `last_seen_ms` is still
    /// valid at `now_ms`.
    pub fn is_live(&self, created_ms: i64, last_seen_ms: i64, now_ms: i64) -> bool {
        now_ms < created_ms.saturating_add(self.absolute_ms)
            && now_ms < last_seen_ms.saturating_add(self.idle_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_expires_idle_or_absolute() {
        let p = SessionPolicy {
            idle_ms: 10,
            absolute_ms: 100,
        };
        assert!(p.is_live(0, 0, 9));
        assert!(!p.is_live(0, 0, 10), "idle expiry");
        assert!(p.is_live(0, 95, 99));
        assert!(!p.is_live(0, 95, 100), "absolute expiry despite activity");
    }
}
