//! Who is asking: an administrator (cookie session), an agent (cookie session) or an API
//! token acting for the administrator who created it. The extractor in the server builds a
//! [`Principal`] for every request; handlers then call [`Principal::require`] for their
//! permission and ask [`Principal::scope`] what is visible.

use std::collections::BTreeSet;
use std::fmt;

use mirante_core::{AgentId, ChannelId, SupervisorId};
use serde::{Deserialize, Serialize};

use crate::{AuthError, Group, Permission, Scope};

/// An account's id (administrator or agent login).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(pub u64);

/// An API token's id (not its secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenId(pub u64);

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What kind of caller a principal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PrincipalKind {
    /// An administrator / supervisor; the core knows it as `SupervisorId(account id)`.
    Admin {
        /// The core's id for it.
        supervisor: SupervisorId,
    },
    /// An agent's login, linked to a core agent.
    Agent {
        /// The core agent.
        agent: AgentId,
    },
    /// An API token, acting for the administrator who created it.
    Token {
        /// The token.
        token: TokenId,
        /// Its creator, as the core knows it.
        supervisor: SupervisorId,
        /// A channel token: the one channel whose integration API it may use (and nothing
        /// else). `None` for ordinary tokens, and for a channel token whose creator no longer
        /// holds `config.manage` over every team.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        channel: Option<ChannelId>,
    },
}

/// The caller of a request, with what it may do and see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The account (for a token: its creator's).
    pub account: AccountId,
    /// What kind of caller.
    #[serde(flatten)]
    pub kind: PrincipalKind,
    /// *Permissão total* (administrators of a full group only; never agents or tokens).
    pub full: bool,
    /// Effective permissions.
    pub permissions: BTreeSet<Permission>,
    /// What it sees.
    pub scope: Scope,
}

impl Principal {
    /// An administrator in `group`.
    pub fn admin(account: AccountId, group: &Group) -> Principal {
        Principal {
            account,
            kind: PrincipalKind::Admin {
                supervisor: SupervisorId(account.0),
            },
            full: group.full,
            permissions: group.effective_permissions(),
            scope: group.scope(),
        }
    }

    /// An agent's login: no administrator permission; sees its own teams.
    pub fn agent(
        account: AccountId,
        agent: AgentId,
        teams: BTreeSet<mirante_core::TeamId>,
    ) -> Principal {
        Principal {
            account,
            kind: PrincipalKind::Agent { agent },
            full: false,
            permissions: BTreeSet::new(),
            scope: Scope::Teams(teams),
        }
    }

    /// An API token created by `creator` (an administrator in `creator_group`): its
    /// permissions and teams are cut down to what the creator holds *now*, so demoting the
    /// creator demotes its tokens.
    pub fn token(
        creator: AccountId,
        creator_group: &Group,
        token: TokenId,
        permissions: &BTreeSet<Permission>,
        teams: &Scope,
    ) -> Principal {
        let held = creator_group.effective_permissions();
        Principal {
            account: creator,
            kind: PrincipalKind::Token {
                token,
                supervisor: SupervisorId(creator.0),
                channel: None,
            },
            full: false,
            permissions: permissions.intersection(&held).copied().collect(),
            scope: creator_group.scope().intersect(teams),
        }
    }

    /// A channel token created by `creator`: no permission and no team; it may use only
    /// `channel`'s integration API, and only while its creator holds `config.manage` over
    /// every team (channels are shared configuration), so demoting the creator disarms it.
    pub fn channel_token(
        creator: AccountId,
        creator_group: &Group,
        token: TokenId,
        channel: ChannelId,
    ) -> Principal {
        let armed = creator_group
            .effective_permissions()
            .contains(&Permission::ConfigManage)
            && !creator_group.scope().is_restricted();
        Principal {
            account: creator,
            kind: PrincipalKind::Token {
                token,
                supervisor: SupervisorId(creator.0),
                channel: armed.then_some(channel),
            },
            full: false,
            permissions: BTreeSet::new(),
            scope: Scope::Teams(BTreeSet::new()),
        }
    }

    /// The channel a channel token may act for.
    pub fn channel(&self) -> Option<ChannelId> {
        match self.kind {
            PrincipalKind::Token { channel, .. } => channel,
            _ => None,
        }
    }

    /// The channel integration check: `Forbidden` unless a channel token; a token of
    /// another channel answers `NotFound`, exactly as a channel that does not exist.
    pub fn require_channel(&self, channel: ChannelId) -> Result<(), AuthError> {
        match self.channel() {
            Some(own) if own == channel => Ok(()),
            Some(_) => Err(AuthError::NotFound),
            None => Err(AuthError::Forbidden),
        }
    }

    /// Whether it holds `permission`.
    pub fn has(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    /// The one permission check: `Err(Forbidden)` when `permission` is not held.
    pub fn require(&self, permission: Permission) -> Result<(), AuthError> {
        if self.has(permission) {
            Ok(())
        } else {
            Err(AuthError::Forbidden)
        }
    }

    /// Only an administrator of a full group (cookie session) passes (development tools).
    pub fn require_full_admin(&self) -> Result<(), AuthError> {
        match self.kind {
            PrincipalKind::Admin { .. } if self.full => Ok(()),
            _ => Err(AuthError::Forbidden),
        }
    }

    /// No privilege escalation: a principal may grant (to a group, a user or a token)
    /// only what it holds itself — `full` only if it is full, permissions it has, and a
    /// scope within its own.
    pub fn may_grant(
        &self,
        full: bool,
        permissions: &BTreeSet<Permission>,
        scope: &Scope,
    ) -> Result<(), AuthError> {
        if self.full {
            return Ok(());
        }
        if full || !permissions.is_subset(&self.permissions) || !self.scope.covers(scope) {
            return Err(AuthError::Forbidden);
        }
        Ok(())
    }

    /// The label written in the audit log: `admin:7`, `agent:3`, `token:2`.
    pub fn audit_actor(&self) -> String {
        match self.kind {
            PrincipalKind::Admin { .. } => format!("admin:{}", self.account),
            PrincipalKind::Agent { .. } => format!("agent:{}", self.account),
            PrincipalKind::Token { token, .. } => format!("token:{token}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GroupId;
    use mirante_core::TeamId;

    fn group(full: bool, perms: &[Permission], teams: Option<&[u64]>) -> Group {
        Group {
            id: GroupId(9),
            name: "g".into(),
            full,
            permissions: perms.iter().copied().collect(),
            teams: teams.map(|t| t.iter().map(|&i| TeamId(i)).collect()),
        }
    }

    #[test]
    fn require_checks_the_effective_permissions() {
        let full = Principal::admin(AccountId(1), &group(true, &[], None));
        assert!(full.require(Permission::AuditView).is_ok());
        assert!(full.require_full_admin().is_ok());
        let some = Principal::admin(
            AccountId(2),
            &group(false, &[Permission::MonitorView], None),
        );
        assert!(some.require(Permission::MonitorView).is_ok());
        assert_eq!(
            some.require(Permission::UsersManage),
            Err(AuthError::Forbidden)
        );
        assert!(some.require_full_admin().is_err());
        let agent = Principal::agent(AccountId(3), AgentId(1), Default::default());
        assert!(Permission::ALL.iter().all(|p| agent.require(*p).is_err()));
    }

    #[test]
    fn tokens_never_exceed_their_creator() {
        let creator = group(false, &[Permission::MonitorView], Some(&[1, 2]));
        let asked: BTreeSet<_> = [Permission::MonitorView, Permission::UsersManage].into();
        let t = Principal::token(
            AccountId(1),
            &creator,
            TokenId(5),
            &asked,
            &Scope::Teams([TeamId(2), TeamId(3)].into()),
        );
        assert_eq!(t.permissions, [Permission::MonitorView].into());
        assert_eq!(t.scope, Scope::Teams([TeamId(2)].into()));
        assert!(!t.full && t.require_full_admin().is_err());
        assert_eq!(t.audit_actor(), "token:5");
        assert_eq!(t.require_channel(ChannelId(1)), Err(AuthError::Forbidden));
    }

    #[test]
    fn channel_tokens_act_for_one_channel_only_while_their_creator_may() {
        let config = group(false, &[Permission::ConfigManage], None);
        let t = Principal::channel_token(AccountId(1), &config, TokenId(2), ChannelId(3));
        assert!(t.permissions.is_empty() && !t.scope.sees_team(TeamId(1)));
        assert_eq!(t.channel(), Some(ChannelId(3)));
        assert!(t.require_channel(ChannelId(3)).is_ok());
        assert_eq!(t.require_channel(ChannelId(4)), Err(AuthError::NotFound));
        assert!(Permission::ALL.iter().all(|p| t.require(*p).is_err()));
        let restricted = group(false, &[Permission::ConfigManage], Some(&[1]));
        let demoted = Principal::channel_token(AccountId(1), &restricted, TokenId(2), ChannelId(3));
        assert_eq!(
            demoted.require_channel(ChannelId(3)),
            Err(AuthError::Forbidden)
        );
        let monitor = group(false, &[Permission::MonitorView], None);
        let demoted = Principal::channel_token(AccountId(1), &monitor, TokenId(2), ChannelId(3));
        assert_eq!(demoted.channel(), None);
    }

    #[test]
    fn no_privilege_escalation() {
        let me = Principal::admin(
            AccountId(1),
            &group(
                false,
                &[Permission::UsersManage, Permission::MonitorView],
                Some(&[1]),
            ),
        );
        let mine: BTreeSet<_> = [Permission::MonitorView].into();
        let one = Scope::Teams([TeamId(1)].into());
        assert!(me.may_grant(false, &mine, &one).is_ok());
        assert!(me.may_grant(true, &mine, &one).is_err());
        assert!(
            me.may_grant(false, &[Permission::AuditView].into(), &one)
                .is_err()
        );
        assert!(me.may_grant(false, &mine, &Scope::All).is_err());
        assert!(
            me.may_grant(false, &mine, &Scope::Teams([TeamId(2)].into()))
                .is_err()
        );
    }
}
