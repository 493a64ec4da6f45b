//! The one visibility decision. Every list, counter, filter option, stream, history,
//! report, error message and action asks the principal's [`Scope`] before it shows or
//! touches a team, an agent or a session; what is outside is absent (lists) or "not found"
//! (actions), never "forbidden", so nothing leaks that it exists.
//!
//! Rules (documented in `docs/permissions.md`):
//! - a **team** is visible iff it is in the scope;
//! - an **agent** is visible iff it belongs to at least one team of the scope (an agent in
//!   no team is visible only to unrestricted admins);
//! - a **session** is visible iff its *current* team is in the scope. A session still in
//!   the bot (*Navegando*) has no team yet, so a team-restricted admin does not see it until
//!   it is routed to one of its teams; the agent serving a session does not widen this
//!   (the session's team decides). Messages, history and follow-ups go with their session;
//! - **channels**, pause reasons and flows are not team-scoped (configuration shared by the
//!   whole contact center), so a scope never hides them.

use std::collections::BTreeSet;

use mirante_core::TeamId;
use serde::{Deserialize, Serialize};

/// What part of the contact center a principal sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "teams", rename_all = "snake_case")]
pub enum Scope {
    /// Everything.
    All,
    /// Only these teams (*visualização apenas por equipe*); may be empty (sees no team).
    Teams(BTreeSet<TeamId>),
}

impl Scope {
    /// Whether the scope is restricted to teams.
    pub fn is_restricted(&self) -> bool {
        matches!(self, Scope::Teams(_))
    }

    /// A team is visible iff it is in the scope.
    pub fn sees_team(&self, team: TeamId) -> bool {
        match self {
            Scope::All => true,
            Scope::Teams(teams) => teams.contains(&team),
        }
    }

    /// An agent is visible iff one of its teams is in the scope.
    pub fn sees_agent(&self, agent_teams: &BTreeSet<TeamId>) -> bool {
        match self {
            Scope::All => true,
            Scope::Teams(teams) => !teams.is_disjoint(agent_teams),
        }
    }

    /// A session is visible iff its current team is in the scope; a session without a team
    /// (still in the bot) is visible only to an unrestricted scope.
    pub fn sees_session(&self, session_team: Option<TeamId>) -> bool {
        match (self, session_team) {
            (Scope::All, _) => true,
            (Scope::Teams(_), None) => false,
            (Scope::Teams(teams), Some(team)) => teams.contains(&team),
        }
    }

    /// Whether everything `other` sees is visible here (granting `other` to someone does
    /// not widen what this scope's holder could see).
    pub fn covers(&self, other: &Scope) -> bool {
        match (self, other) {
            (Scope::All, _) => true,
            (Scope::Teams(_), Scope::All) => false,
            (Scope::Teams(mine), Scope::Teams(theirs)) => theirs.is_subset(mine),
        }
    }

    /// The part of both scopes (e.g. an API token's teams within its creator's scope).
    pub fn intersect(&self, other: &Scope) -> Scope {
        match (self, other) {
            (Scope::All, s) | (s, Scope::All) => s.clone(),
            (Scope::Teams(a), Scope::Teams(b)) => {
                Scope::Teams(a.intersection(b).copied().collect())
            }
        }
    }

    /// The scope of an optional team restriction (`None` = all).
    pub fn from_teams(teams: Option<BTreeSet<TeamId>>) -> Scope {
        teams.map_or(Scope::All, Scope::Teams)
    }

    /// The teams of a restricted scope, `None` for [`Scope::All`].
    pub fn teams(&self) -> Option<&BTreeSet<TeamId>> {
        match self {
            Scope::All => None,
            Scope::Teams(teams) => Some(teams),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn teams(ids: &[u64]) -> BTreeSet<TeamId> {
        ids.iter().map(|&i| TeamId(i)).collect()
    }

    #[test]
    fn restricted_scope_sees_only_its_teams() {
        let s = Scope::Teams(teams(&[1, 2]));
        assert!(s.sees_team(TeamId(1)) && !s.sees_team(TeamId(3)));
        assert!(s.sees_agent(&teams(&[2, 5])));
        assert!(!s.sees_agent(&teams(&[5])));
        assert!(!s.sees_agent(&teams(&[])), "an agent in no team");
        assert!(s.sees_session(Some(TeamId(1))));
        assert!(!s.sees_session(Some(TeamId(3))));
        assert!(!s.sees_session(None), "bot-phase sessions have no team yet");
        assert!(Scope::All.sees_session(None));
        assert!(Scope::All.sees_agent(&teams(&[])));
    }

    #[test]
    fn covers_and_intersect() {
        let a = Scope::Teams(teams(&[1, 2]));
        assert!(Scope::All.covers(&a) && !a.covers(&Scope::All));
        assert!(a.covers(&Scope::Teams(teams(&[2]))));
        assert!(!a.covers(&Scope::Teams(teams(&[2, 3]))));
        assert_eq!(
            a.intersect(&Scope::Teams(teams(&[2, 3]))),
            Scope::Teams(teams(&[2]))
        );
        assert_eq!(Scope::All.intersect(&a), a);
    }

    proptest! {
        /// Intersection never sees more than either side; `covers` agrees with `sees_team`.
        #[test]
        fn intersection_is_within_both(a in proptest::collection::btree_set(0u64..8, 0..5),
                                       b in proptest::option::of(proptest::collection::btree_set(0u64..8, 0..5)),
                                       t in 0u64..8) {
            let a = Scope::Teams(a.into_iter().map(TeamId).collect());
            let b = Scope::from_teams(b.map(|b| b.into_iter().map(TeamId).collect()));
            let i = a.intersect(&b);
            prop_assert!(a.covers(&i) && b.covers(&i));
            prop_assert_eq!(i.sees_team(TeamId(t)), a.sees_team(TeamId(t)) && b.sees_team(TeamId(t)));
            prop_assert_eq!(i.sees_session(Some(TeamId(t))), i.sees_team(TeamId(t)));
        }
    }
}
