//! What a supervisor asks to see: the funnel filter (M-50…M-55) and the scope it is allowed
//! and prefers to see (M-60 team restriction, M-14/M-23 hidden cards).

use mirante_core::{AgentId, ChannelId, TeamId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The funnel filter (M-50…M-55): OR within a kind, AND across kinds. An empty set (or `None`)
/// means "no condition of that kind".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// M-50: sessions served by any of these agents.
    #[serde(default)]
    pub agents: BTreeSet<AgentId>,
    /// M-51: sessions of any of these teams.
    #[serde(default)]
    pub teams: BTreeSet<TeamId>,
    /// M-52: sessions on any of these channels.
    #[serde(default)]
    pub channels: BTreeSet<ChannelId>,
    /// M-53: the contact's name exactly as registered (outer whitespace trimmed), or its
    /// number (`+55 (35) 99876-5432` is read as `5535998765432`).
    #[serde(default)]
    pub contact: Option<String>,
    /// M-54: a protocol number.
    #[serde(default)]
    pub protocol: Option<String>,
}

impl Filter {
    /// No condition at all: the view is unfiltered.
    pub fn is_empty(&self) -> bool {
        self.agents.is_empty()
            && self.teams.is_empty()
            && self.channels.is_empty()
            && self.contact_needle().is_none()
            && self.protocol_needle().is_none()
    }

    /// The contact text to match, trimmed; `None` when absent or blank.
    pub(crate) fn contact_needle(&self) -> Option<&str> {
        self.contact
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// The protocol to match, trimmed; `None` when absent or blank.
    pub(crate) fn protocol_needle(&self) -> Option<&str> {
        self.protocol
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// A condition that selects sessions by what they are rather than where they sit
    /// (contact or protocol): cards without a matching session are left out.
    pub(crate) fn has_needle(&self) -> bool {
        self.contact_needle().is_some() || self.protocol_needle().is_some()
    }
}

/// What one supervisor may see (M-60) and prefers not to see (M-14, M-23).
///
/// * `teams`: `None` = the whole contact center; `Some(set)` = an administrator restricted by
///   team: it sees only the sessions whose team is in the set (a session still in the bot has
///   no team yet, so it is outside every restricted scope), the agents that are members of at
///   least one of those teams, and those teams — in every counter, tab, filter option and
///   lookup ([`crate::Monitor::session_visible`] and friends).
/// * `hidden_agents` / `hidden_teams`: this supervisor's *Ocultar do painel*: the card is
///   left out of the Agentes / Equipes tab, and nothing else changes — the hidden agent's or
///   team's sessions still count in every counter, still appear in the Fases lists and still
///   match filters, and a hidden agent still counts in its teams' online / paused / available
///   figures. Hiding is a layout preference, never a permission.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visibility {
    /// `None` = every team; `Some` = only these teams.
    #[serde(default)]
    pub teams: Option<BTreeSet<TeamId>>,
    /// Agent cards hidden from this supervisor's Agentes tab.
    #[serde(default)]
    pub hidden_agents: BTreeSet<AgentId>,
    /// Team cards hidden from this supervisor's Equipes tab.
    #[serde(default)]
    pub hidden_teams: BTreeSet<TeamId>,
}

impl Visibility {
    /// The whole contact center, nothing hidden.
    pub fn all() -> Visibility {
        Visibility::default()
    }

    /// An administrator restricted to `teams`.
    pub fn teams(teams: impl IntoIterator<Item = TeamId>) -> Visibility {
        Visibility {
            teams: Some(teams.into_iter().collect()),
            ..Visibility::default()
        }
    }

    /// True when a session of `team` (None: still in the bot) is inside the scope.
    pub(crate) fn sees_team_of_session(&self, team: Option<TeamId>) -> bool {
        match &self.teams {
            None => true,
            Some(set) => team.is_some_and(|t| set.contains(&t)),
        }
    }

    /// True when `team` is inside the scope.
    pub(crate) fn sees_team(&self, team: TeamId) -> bool {
        self.teams.as_ref().is_none_or(|set| set.contains(&team))
    }

    /// True when an agent in `teams` is inside the scope.
    pub(crate) fn sees_member_of(&self, teams: &BTreeSet<TeamId>) -> bool {
        match &self.teams {
            None => true,
            Some(set) => teams.iter().any(|t| set.contains(t)),
        }
    }
}

/// The number normalisation of M-53 is the core's, so that a filter matches exactly what
/// the core registered.
pub use mirante_core::normalize_number;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m53_number_with_punctuation_is_digits() {
        assert_eq!(
            normalize_number("+55 (35) 99876-5432").as_deref(),
            Some("5535998765432")
        );
        assert_eq!(normalize_number("Maria"), None);
        assert_eq!(normalize_number(" - "), None);
    }

    #[test]
    fn m55_blank_needles_are_no_condition() {
        let f = Filter {
            contact: Some("   ".into()),
            protocol: Some(String::new()),
            ..Filter::default()
        };
        assert!(f.is_empty());
    }
}
